package kubelet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Bootstrap token of the cluster, as `kubeadm token create` makes one
// (id.secret, [a-z0-9]{6}.[a-z0-9]{16}). A test-only cluster that lives for
// minutes in a private network namespace: the value protects nothing.
const (
	tokenID     = "kdboot"
	tokenSecret = "0123456789abcdef"
	// rejectedToken has the right shape but no Secret behind it.
	rejectedToken = "kdnone.fedcba9876543210"
)

// controlPlane is a real etcd, kube-apiserver and kube-controller-manager
// (CSR approving and signing, as kubeadm runs them), all from the
// multi-call kapi binary, inside the suite's network namespace.
type controlPlane struct {
	kapi  string
	ns    *netns
	dir   string
	pki   *pki
	port  int
	url   string // https://192.0.2.10:PORT
	admin string // kubeconfig of a system:masters user

	etcd, apiserver, controllers *proc
}

// startControlPlane brings the control plane up and makes the cluster
// kubeadm-like: a bootstrap token whose group may create node CSRs that are
// approved automatically, and renewals by the nodes themselves.
func startControlPlane(t *testing.T, kapi string, ns *netns, base string) *controlPlane {
	t.Helper()
	p, err := newPKI(filepath.Join(base, "pki"))
	if err != nil {
		t.Fatalf("make certificates: %v", err)
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		dir := filepath.Join(base, "attempt-"+strconv.Itoa(attempt))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatalf("create control-plane dir: %v", err)
		}
		cp := &controlPlane{kapi: kapi, ns: ns, dir: dir, pki: p}
		if lastErr = cp.start(t); lastErr == nil {
			if err := cp.bootstrapObjects(); err != nil {
				t.Fatalf("bootstrap token and RBAC: %v", err)
			}
			return cp
		}
		t.Logf("control plane attempt %d failed: %v", attempt, lastErr)
		cp.stop()
	}
	t.Fatalf("start control plane: %v", lastErr)
	return nil
}

func (cp *controlPlane) start(t *testing.T) error {
	ports := make([]int, 3)
	for i := range ports {
		port, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = port
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	var err error
	cp.etcd, err = startProc(t, cp.dir, "etcd", 10, nil, cp.ns.command(cp.kapi, "etcd",
		"--name", "e2e",
		"--data-dir", filepath.Join(cp.dir, "etcd"),
		"--log-level", "warn",
		"--listen-client-urls", etcdClient, "--advertise-client-urls", etcdClient,
		"--listen-peer-urls", etcdPeer, "--initial-advertise-peer-urls", etcdPeer,
		"--initial-cluster", "e2e="+etcdPeer,
		"--unsafe-no-fsync",
	)...)
	if err != nil {
		return err
	}
	cp.port = ports[2]
	cp.url = fmt.Sprintf("https://%s:%d", nodeIP, cp.port)
	cp.apiserver, err = startProc(t, cp.dir, "kube-apiserver", 10, nil, cp.ns.command(cp.kapi, "kube-apiserver",
		"--etcd-servers", etcdClient,
		"--bind-address", nodeIP, "--advertise-address", nodeIP,
		"--secure-port", strconv.Itoa(cp.port),
		"--tls-cert-file", cp.pki.ServingCert, "--tls-private-key-file", cp.pki.ServingKey,
		"--client-ca-file", cp.pki.CACert,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", cp.pki.SAPub,
		"--service-account-signing-key-file", cp.pki.SAKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--endpoint-reconciler-type", "none",
		// kubeadm's: node identities confined to their own Node, bootstrap
		// tokens from kube-system Secrets.
		"--authorization-mode", "Node,RBAC",
		"--enable-admission-plugins", "NodeRestriction",
		"--enable-bootstrap-token-auth",
		"--cert-dir", filepath.Join(cp.dir, "apiserver-certs"),
	)...)
	if err != nil {
		return err
	}
	cp.admin = filepath.Join(cp.dir, "admin.kubeconfig")
	if err := writeKubeconfig(cp.admin, cp.url, cp.pki.CACert, kubeUser{
		ClientCertificate: cp.pki.AdminCert, ClientKey: cp.pki.AdminKey,
	}); err != nil {
		return err
	}
	if err := cp.waitReady(120 * time.Second); err != nil {
		return err
	}
	// The controllers that turn a bootstrap CSR into a client certificate;
	// leader election and serving are off: one instance, nobody scrapes it.
	cp.controllers, err = startProc(t, cp.dir, "kube-controller-manager", 10, nil, cp.ns.command(cp.kapi, "kube-controller-manager",
		"--kubeconfig", cp.admin,
		"--controllers", "csrapproving,csrsigning",
		"--cluster-signing-cert-file", cp.pki.CACert,
		"--cluster-signing-key-file", cp.pki.CAKey,
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
	)...)
	return err
}

// waitReady polls /readyz through kubectl inside the namespace, failing
// fast when etcd or the apiserver exits.
func (cp *controlPlane) waitReady(timeout time.Duration) error {
	return poll(timeout, 500*time.Millisecond, func() error {
		for _, p := range []*proc{cp.etcd, cp.apiserver} {
			if done, perr := p.exited(); done {
				return fmt.Errorf("%s exited (%v): %s", p.name, perr, tail(p.log, 5))
			}
		}
		if _, err := cp.kubectl(context.Background(), nil, "get", "--raw", "/readyz"); err != nil {
			return err
		}
		_, err := cp.kubectl(context.Background(), nil, "get", "namespace", "kube-system", "-o", "name")
		return err
	})
}

// bootstrapObjects are what kubeadm init creates for joining nodes.
func (cp *controlPlane) bootstrapObjects() error {
	const group = "system:bootstrappers:kubeadm:default-node-token"
	secret := map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
		"metadata": map[string]any{"name": "bootstrap-token-" + tokenID, "namespace": "kube-system"},
		"stringData": map[string]string{
			"token-id": tokenID, "token-secret": tokenSecret,
			"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
			"auth-extra-groups": group,
			"expiration":        time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339),
		},
	}
	binding := func(name, role, subject string) map[string]any {
		return map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
			"metadata": map[string]any{"name": name},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
			"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": subject}},
		}
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{
		secret,
		binding("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", group),
		binding("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", group),
		binding("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"),
	}}
	data, err := json.Marshal(list)
	if err != nil {
		return err
	}
	_, err = cp.kubectl(context.Background(), data, "apply", "-f", "-")
	return err
}

func (cp *controlPlane) stop() {
	for _, p := range []*proc{cp.controllers, cp.apiserver, cp.etcd} {
		if p != nil {
			p.stop()
		}
	}
}

// kubectl runs the real kubectl as the admin user inside the namespace and
// returns its stdout; the error carries stderr.
func (cp *controlPlane) kubectl(ctx context.Context, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	argv := cp.ns.command(append([]string{cp.kapi, "kubectl", "--kubeconfig", cp.admin}, args...)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Env = append(os.Environ(), "KUBECACHEDIR="+filepath.Join(cp.dir, "kubectl-cache"))
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// kubeUser is the user half of a kubeconfig: a client certificate or a
// bearer token.
type kubeUser struct {
	ClientCertificate string `json:"client-certificate,omitempty"`
	ClientKey         string `json:"client-key,omitempty"`
	Token             string `json:"token,omitempty"`
}

// writeKubeconfig writes a one-context kubeconfig (JSON, which is YAML).
func writeKubeconfig(path, server, caFile string, user kubeUser) error {
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "default",
		"clusters": []any{map[string]any{"name": "default", "cluster": map[string]any{
			"server": server, "certificate-authority": caFile,
		}}},
		"users":    []any{map[string]any{"name": "default", "user": user}},
		"contexts": []any{map[string]any{"name": "default", "context": map[string]any{"cluster": "default", "user": "default"}}},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
