package cluster_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// controlPlane is a real etcd + kube-apiserver on loopback, both run from
// the multi-call kapi binary (test/tools/kube).
type controlPlane struct {
	kapi  string
	dir   string
	pki   *pki
	url   string // https://127.0.0.1:PORT
	admin string // kubeconfig of a system:masters user

	etcd, apiserver *proc
}

// startControlPlane brings up etcd and kube-apiserver with free ports and
// waits for /readyz. A port taken between freePort and the bind makes a
// process exit early; that attempt is thrown away and retried with new ports.
func startControlPlane(t *testing.T, kapi string) *controlPlane {
	t.Helper()
	base := t.TempDir()
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
		cp := &controlPlane{kapi: kapi, dir: dir, pki: p}
		if lastErr = cp.start(t); lastErr == nil {
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
	cp.etcd, err = startProc(t, cp.dir, "etcd", 10, nil, cp.kapi, "etcd",
		"--name", "e2e",
		"--data-dir", filepath.Join(cp.dir, "etcd"),
		"--log-level", "warn",
		"--listen-client-urls", etcdClient, "--advertise-client-urls", etcdClient,
		"--listen-peer-urls", etcdPeer, "--initial-advertise-peer-urls", etcdPeer,
		"--initial-cluster", "e2e="+etcdPeer,
		// A test cluster lives for a minute: no need for fsync-heavy durability.
		"--unsafe-no-fsync",
	)
	if err != nil {
		return err
	}
	cp.url = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	cp.apiserver, err = startProc(t, cp.dir, "kube-apiserver", 10, nil, cp.kapi, "kube-apiserver",
		"--etcd-servers", etcdClient,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(ports[2]),
		"--tls-cert-file", cp.pki.ServingCert, "--tls-private-key-file", cp.pki.ServingKey,
		// Certificates a kubeconfig's tls-server-name selects: the CA trust
		// scenarios meet an expired and a wrong-name certificate for real.
		"--tls-sni-cert-key", cp.pki.ExpiredCert+","+cp.pki.ExpiredKey+":"+ExpiredName,
		"--tls-sni-cert-key", cp.pki.WrongNameCert+","+cp.pki.WrongNameKey+":"+WrongNameName,
		"--client-ca-file", cp.pki.CACert,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", cp.pki.SAPub,
		"--service-account-signing-key-file", cp.pki.SAKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		// The apiserver refuses to publish a loopback address as the
		// "kubernetes" endpoint and would log that every 10 s.
		"--endpoint-reconciler-type", "none",
		// What a real cluster runs: the node identity is confined to its
		// own Node, and NPD's service account gets only what rbac.yaml grants.
		"--authorization-mode", "Node,RBAC",
		"--enable-admission-plugins", "NodeRestriction",
		"--cert-dir", filepath.Join(cp.dir, "apiserver-certs"),
	)
	if err != nil {
		return err
	}
	cp.admin = filepath.Join(cp.dir, "admin.kubeconfig")
	if err := writeKubeconfig(cp.admin, cp.url, cp.pki.CACert, kubeUser{
		ClientCertificate: cp.pki.AdminCert, ClientKey: cp.pki.AdminKey,
	}); err != nil {
		return err
	}
	return cp.waitReady(90 * time.Second)
}

// waitReady polls /readyz with the admin identity, failing fast when etcd
// or the apiserver exits (port clash, bad flag) instead of waiting out the
// deadline.
func (cp *controlPlane) waitReady(timeout time.Duration) error {
	client, err := cp.httpClient()
	if err != nil {
		return err
	}
	start := time.Now()
	err = poll(timeout, 250*time.Millisecond, func() error {
		for _, p := range []*proc{cp.etcd, cp.apiserver} {
			if done, perr := p.exited(); done {
				return fmt.Errorf("%s exited (%v): %s", p.name, perr, tail(p.log, 5))
			}
		}
		resp, err := client.Get(cp.url + "/readyz")
		if err != nil {
			return fmt.Errorf("get /readyz: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Namespaces kube-system etc. are made by a controller shortly after
	// /readyz; rbac.yaml lives in kube-system.
	return poll(timeout-time.Since(start), 250*time.Millisecond, func() error {
		_, err := cp.kubectl(context.Background(), "get", "namespace", "kube-system", "-o", "name")
		return err
	})
}

// httpClient authenticates as the admin user, for /readyz without forking
// kubectl four times a second.
func (cp *controlPlane) httpClient() (*http.Client, error) {
	caPEM, err := os.ReadFile(cp.pki.CACert)
	if err != nil {
		return nil, fmt.Errorf("read ca: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(cp.pki.AdminCert, cp.pki.AdminKey)
	if err != nil {
		return nil, fmt.Errorf("load admin certificate: %w", err)
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		}},
	}, nil
}

func (cp *controlPlane) stop() {
	// The apiserver first: stopping etcd under it makes it log storms of errors.
	for _, p := range []*proc{cp.apiserver, cp.etcd} {
		if p != nil {
			p.stop()
		}
	}
}

// kubectl runs the real kubectl as the admin user and returns its stdout;
// the error carries stderr, which is where kubectl explains itself.
func (cp *controlPlane) kubectl(ctx context.Context, args ...string) (string, error) {
	return cp.kubectlAs(ctx, cp.admin, nil, args...)
}

func (cp *controlPlane) kubectlAs(ctx context.Context, kubeconfig string, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	full := append([]string{"kubectl", "--kubeconfig", kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, cp.kapi, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	// kubectl would otherwise write its discovery cache into $HOME.
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

// writeKubeconfig writes a one-context kubeconfig. It is JSON: kubeconfig
// is YAML, YAML is a superset of JSON, and encoding/json needs no
// dependency and quotes every path correctly.
func writeKubeconfig(path, server, caFile string, user kubeUser) error {
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "e2e",
		"clusters": []any{map[string]any{"name": "e2e", "cluster": map[string]any{
			"server": server, "certificate-authority": caFile,
		}}},
		"users":    []any{map[string]any{"name": "e2e", "user": user}},
		"contexts": []any{map[string]any{"name": "e2e", "context": map[string]any{"cluster": "e2e", "user": "e2e"}}},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
