// Package clustertest runs a real Kubernetes control plane for the
// end-to-end suites: etcd and kube-apiserver from the multi-call kapi binary
// (test/tools/kube, built by scripts/build-kapi.sh), with a certificate
// authority made for the run, and the process handling around it (process
// groups stopped in t.Cleanup, log tails on failure, free ports, polling).
// The real-cluster suite (test/e2e/cluster) runs it on loopback; the
// real-kubelet suite (test/e2e/kubelet) runs it inside its own network
// namespace and adds what kubeadm adds for joining nodes.
package clustertest

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

// Config is what differs between the suites' control planes.
type Config struct {
	Kapi string // the multi-call binary: etcd, kube-apiserver, kubectl, ...
	Dir  string // each start attempt gets a directory below it
	PKI  *PKI   // its serving certificate must name Host

	// Host is the address kube-apiserver binds and advertises; empty means
	// 127.0.0.1. etcd always listens on 127.0.0.1.
	Host string
	// Command turns an argv into the argv to run, e.g. nsenter into a
	// network namespace; nil runs it as it is. With a Command the test
	// process may not reach Host, so readiness is asked through kubectl.
	Command func(argv ...string) []string
	// APIServerArgs are flags kube-apiserver gets besides the common ones.
	APIServerArgs []string
	// ReadyTimeout bounds the wait for /readyz and kube-system; zero: 90 s.
	ReadyTimeout time.Duration
}

// ControlPlane is a running etcd + kube-apiserver.
type ControlPlane struct {
	Kapi  string
	Dir   string // this attempt's directory: logs, etcd data, kubeconfigs
	PKI   *PKI
	Port  int    // kube-apiserver's secure port
	URL   string // https://HOST:PORT
	Admin string // kubeconfig of a system:masters user

	Etcd, APIServer *Proc

	cfg Config
}

// StartControlPlane brings up etcd and kube-apiserver with free ports and
// waits for /readyz and the kube-system namespace. A port taken between
// FreePort and the bind makes a process exit early; that attempt is thrown
// away and retried with new ports. The processes stop in t.Cleanup.
func StartControlPlane(t *testing.T, cfg Config) *ControlPlane {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 90 * time.Second
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		dir := filepath.Join(cfg.Dir, "attempt-"+strconv.Itoa(attempt))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatalf("create control-plane dir: %v", err)
		}
		cp := &ControlPlane{Kapi: cfg.Kapi, Dir: dir, PKI: cfg.PKI, cfg: cfg}
		if lastErr = cp.start(t); lastErr == nil {
			return cp
		}
		t.Logf("control plane attempt %d failed: %v", attempt, lastErr)
		cp.Stop()
	}
	t.Fatalf("start control plane: %v", lastErr)
	return nil
}

// command is argv as Config.Command makes it.
func (cp *ControlPlane) command(argv ...string) []string {
	if cp.cfg.Command == nil {
		return argv
	}
	return cp.cfg.Command(argv...)
}

func (cp *ControlPlane) start(t *testing.T) error {
	ports := make([]int, 3)
	for i := range ports {
		port, err := FreePort()
		if err != nil {
			return err
		}
		ports[i] = port
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	var err error
	cp.Etcd, err = StartProc(t, cp.Dir, "etcd", 10, nil, cp.command(cp.Kapi, "etcd",
		"--name", "e2e",
		"--data-dir", filepath.Join(cp.Dir, "etcd"),
		"--log-level", "warn",
		"--listen-client-urls", etcdClient, "--advertise-client-urls", etcdClient,
		"--listen-peer-urls", etcdPeer, "--initial-advertise-peer-urls", etcdPeer,
		"--initial-cluster", "e2e="+etcdPeer,
		// A test cluster lives for minutes: no need for fsync-heavy durability.
		"--unsafe-no-fsync",
	)...)
	if err != nil {
		return err
	}
	cp.Port = ports[2]
	cp.URL = fmt.Sprintf("https://%s:%d", cp.cfg.Host, cp.Port)
	args := []string{cp.Kapi, "kube-apiserver",
		"--etcd-servers", etcdClient,
		"--bind-address", cp.cfg.Host, "--advertise-address", cp.cfg.Host,
		"--secure-port", strconv.Itoa(cp.Port),
		"--tls-cert-file", cp.PKI.ServingCert, "--tls-private-key-file", cp.PKI.ServingKey,
		"--client-ca-file", cp.PKI.CACert,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", cp.PKI.SAPub,
		"--service-account-signing-key-file", cp.PKI.SAKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		// The apiserver refuses to publish a loopback address as the
		// "kubernetes" endpoint and would log that every 10 s.
		"--endpoint-reconciler-type", "none",
		// What a real cluster runs: the node identity is confined to its
		// own Node, and NPD's service account gets only what rbac.yaml grants.
		"--authorization-mode", "Node,RBAC",
		"--enable-admission-plugins", "NodeRestriction",
		"--cert-dir", filepath.Join(cp.Dir, "apiserver-certs"),
	}
	args = append(args, cp.cfg.APIServerArgs...)
	if cp.APIServer, err = StartProc(t, cp.Dir, "kube-apiserver", 10, nil, cp.command(args...)...); err != nil {
		return err
	}
	cp.Admin = filepath.Join(cp.Dir, "admin.kubeconfig")
	if err := WriteKubeconfig(cp.Admin, cp.URL, cp.PKI.CACert, KubeUser{
		ClientCertificate: cp.PKI.AdminCert, ClientKey: cp.PKI.AdminKey,
	}); err != nil {
		return err
	}
	return cp.waitReady(cp.cfg.ReadyTimeout)
}

// waitReady polls /readyz, failing fast when etcd or the apiserver exits
// (port clash, bad flag) instead of waiting out the deadline, and then waits
// for kube-system, which a controller makes shortly after /readyz.
func (cp *ControlPlane) waitReady(timeout time.Duration) error {
	ready, interval, err := cp.readyz()
	if err != nil {
		return err
	}
	start := time.Now()
	err = Poll(timeout, interval, func() error {
		for _, p := range []*Proc{cp.Etcd, cp.APIServer} {
			if done, perr := p.Exited(); done {
				return fmt.Errorf("%s exited (%v): %s", p.Name, perr, Tail(p.Log, 5))
			}
		}
		return ready()
	})
	if err != nil {
		return err
	}
	return Poll(timeout-time.Since(start), interval, func() error {
		_, err := cp.Kubectl(context.Background(), "get", "namespace", "kube-system", "-o", "name")
		return err
	})
}

// readyz returns the /readyz probe and how often to run it: over HTTPS as
// the admin user when the test process reaches the apiserver, which spares
// forking kubectl four times a second; through kubectl (and Command) when
// it may not, less often.
func (cp *ControlPlane) readyz() (func() error, time.Duration, error) {
	if cp.cfg.Command != nil {
		return func() error {
			_, err := cp.Kubectl(context.Background(), "get", "--raw", "/readyz")
			return err
		}, 500 * time.Millisecond, nil
	}
	client, err := cp.httpClient()
	if err != nil {
		return nil, 0, err
	}
	return func() error {
		resp, err := client.Get(cp.URL + "/readyz")
		if err != nil {
			return fmt.Errorf("get /readyz: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	}, 250 * time.Millisecond, nil
}

// httpClient authenticates as the admin user.
func (cp *ControlPlane) httpClient() (*http.Client, error) {
	caPEM, err := os.ReadFile(cp.PKI.CACert)
	if err != nil {
		return nil, fmt.Errorf("read ca: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(cp.PKI.AdminCert, cp.PKI.AdminKey)
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

// Stop stops the apiserver, then etcd: stopping etcd under the apiserver
// makes it log storms of errors.
func (cp *ControlPlane) Stop() {
	for _, p := range []*Proc{cp.APIServer, cp.Etcd} {
		if p != nil {
			p.Stop()
		}
	}
}

// Kubectl runs the real kubectl as the admin user and returns its stdout;
// the error carries stderr, which is where kubectl explains itself.
func (cp *ControlPlane) Kubectl(ctx context.Context, args ...string) (string, error) {
	return cp.KubectlAs(ctx, cp.Admin, nil, args...)
}

// KubectlAs runs the real kubectl (through Config.Command) with kubeconfig
// and stdin, at most a minute.
func (cp *ControlPlane) KubectlAs(ctx context.Context, kubeconfig string, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	argv := cp.command(append([]string{cp.Kapi, "kubectl", "--kubeconfig", kubeconfig}, args...)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Env = append(os.Environ(), cp.KubectlEnv()...)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// KubectlEnv is what kubectl's environment adds to the test's: its
// discovery cache in the control plane's directory, not in $HOME.
func (cp *ControlPlane) KubectlEnv() []string {
	return []string{"KUBECACHEDIR=" + filepath.Join(cp.Dir, "kubectl-cache")}
}

// KubeUser is the user half of a kubeconfig: a client certificate or a
// bearer token.
type KubeUser struct {
	ClientCertificate string `json:"client-certificate,omitempty"`
	ClientKey         string `json:"client-key,omitempty"`
	Token             string `json:"token,omitempty"`
}

// WriteKubeconfig writes a one-context kubeconfig, creating its directory.
// It is JSON: kubeconfig is YAML, YAML is a superset of JSON, and
// encoding/json needs no dependency and quotes every path correctly.
func WriteKubeconfig(path, server, caFile string, user KubeUser) error {
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
