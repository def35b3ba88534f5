package runbooks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// base is when each scenario's healthy kubelet starts: an hour ago, so that
// every moment the scenario evaluates (--now) is in the past.
func base() time.Time { return time.Now().Add(-time.Hour).Truncate(time.Second) }

// kubeletConfig is a kubeadm-style KubeletConfiguration.
func kubeletConfig(resolvConf string) []byte {
	return []byte(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
clusterDomain: cluster.local
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
resolvConf: ` + resolvConf + `
rotateCertificates: true
staticPodPath: /etc/kubernetes/manifests
`)
}

// baseline gives the node what a healthy kubeadm worker has besides the
// file under test: a cluster CA, the kubelet's directories, a runtime
// socket that listens, swap off, a resolv.conf.
func (n *node) baseline(ca *authority) {
	n.t.Helper()
	n.write("/etc/kubernetes/pki/ca.crt", ca.certPEM, 0o644)
	for _, d := range []string{"/var/lib/kubelet/pki", "/var/lib/kubelet/pods", "/var/lib/kubelet/plugins",
		"/var/lib/kubelet/plugins_registry", "/var/lib/kubelet/pod-resources", "/var/log/pods"} {
		if err := os.MkdirAll(n.path(d), 0o750); err != nil {
			n.t.Fatal(err)
		}
	}
	// The node's /proc as the kubelet-config check reads it: 4 CPUs, 8 GiB,
	// no swap.
	n.write("/proc/swaps", []byte("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"), 0o444)
	n.write("/proc/meminfo", []byte("MemTotal:        8388608 kB\nMemFree:         4194304 kB\nMemAvailable:    6291456 kB\n"), 0o444)
	n.write("/proc/cpuinfo", []byte("processor\t: 0\n\nprocessor\t: 1\n\nprocessor\t: 2\n\nprocessor\t: 3\n"), 0o444)
	n.write("/etc/resolv.conf", []byte("nameserver 10.0.0.2\nsearch example.internal\n"), 0o644)
	n.startRuntime()
}

// runtimeSocket is containerRuntimeEndpoint's socket on the node.
const runtimeSocket = "/run/containerd/containerd.sock"

// startRuntime makes the runtime's socket listen, as a started containerd.
func (n *node) startRuntime() {
	n.t.Helper()
	if err := os.MkdirAll(filepath.Dir(n.path(runtimeSocket)), 0o755); err != nil {
		n.t.Fatal(err)
	}
	l, err := net.Listen("unix", n.path(runtimeSocket))
	if err != nil {
		n.t.Fatalf("runtime socket: %v", err)
	}
	n.runtime = l
	n.t.Cleanup(func() { l.Close() })
}

// stopRuntime closes and removes the socket, as a containerd that died.
func (n *node) stopRuntime() {
	n.t.Helper()
	n.runtime.Close() // a unix listener removes its socket file on Close
	if _, err := os.Stat(n.path(runtimeSocket)); err == nil {
		n.t.Fatalf("the runtime's socket is still there after it stopped")
	}
}

// joined makes the node a joined kubeadm worker of the cluster behind
// server: a client certificate for system:node:worker-1 signed by ca, and
// kubelet.conf naming it.
func (n *node) joined(ca *authority, server string) {
	n.t.Helper()
	n.installClientCert(ca.issueClient(n.t, "system:node:worker-1", -30*24*time.Hour, 335*24*time.Hour), "kubelet-client-2026-11-01-10-00-00.pem")
	n.write("/etc/kubernetes/kubelet.conf", kubeconfig(server, ca.certPEM,
		"client-certificate: "+pki+"/kubelet-client-current.pem\n    client-key: "+pki+"/kubelet-client-current.pem"), 0o600)
}

// newJoinedNode is a healthy joined worker with its kubelet config, the
// cluster's CA and API server: what each scenario breaks one thing of.
func newJoinedNode(t *testing.T) *node {
	t.Helper()
	n := newNode(t)
	ca := newAuthority(t, "kubernetes")
	n.baseline(ca)
	n.joined(ca, newAPIServer(t, ca).URL)
	n.write("/var/lib/kubelet/config.yaml", kubeletConfig("/etc/resolv.conf"), 0o644)
	return n
}

// configMissing is the kubelet's fatal error when its --config file is gone.
const configMissing = `failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory`

func TestConfigFileMissingThenRestored(t *testing.T) {
	n := newJoinedNode(t)
	if os.Geteuid() != 0 {
		t.Skip("the documented step installs the file owned by root (install -o root): run as root, as CI does")
	}
	if err := os.Remove(n.path("/var/lib/kubelet/config.yaml")); err != nil {
		t.Fatal(err)
	}
	t0 := base()
	n.log(healthy(t0)...)

	// The config file is deleted; the kubelet, restarted, dies on it three
	// times, 10s apart, as systemd restarts it.
	fail := t0.Add(20 * time.Minute)
	for i := range 3 {
		at := fail.Add(time.Duration(i) * 10 * time.Second)
		n.log(append(started(at),
			kubelet(at.Add(time.Second), 'E', "run.go:72", `"command failed" err="`+configMissing+`"`),
			systemd(at.Add(1100*time.Millisecond), "kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
			systemd(at.Add(1200*time.Millisecond), "kubelet.service: Failed with result 'exit-code'."),
			systemd(at.Add(1300*time.Millisecond), fmt.Sprintf("kubelet.service: Scheduled restart job, restart counter is at %d.", i+1)),
		)...)
	}
	seen := fail.Add(25 * time.Second)
	n.want("KubeletConfigProblem", seen, 1, "kubelet config file missing")
	n.want("KubeletStartupProblem", seen, 1, "crash-loop")

	// The documented fix: the file from the cluster's ConfigMap, installed
	// 0644 root:root, then a restart.
	dir := t.TempDir()
	writeFile(t, dir+"/config.yaml", kubeletConfig("/etc/resolv.conf"))
	n.apply(runbookLine(t, "KubeletConfigProblem", "install -m 0644"), dir)
	if got := n.read("/var/lib/kubelet/config.yaml"); got != string(kubeletConfig("/etc/resolv.conf")) {
		t.Fatalf("config.yaml after the documented step:\n%s", got)
	}
	runbookLine(t, "KubeletConfigProblem", "systemctl restart kubelet")
	fixed := seen.Add(time.Minute)
	n.log(healthy(fixed)...)

	n.want("KubeletConfigProblem", fixed.Add(5*time.Second), 0, "kubelet configuration loads and validates")
	// A crash loop is over only once a start stays up for 30s.
	n.want("KubeletStartupProblem", fixed.Add(5*time.Second), 1, "crash-loop")
	n.want("KubeletStartupProblem", fixed.Add(40*time.Second), 0, "kubelet is running")
}

func TestUntrustedCAThenFixed(t *testing.T) {
	n := newNode(t)
	oldCA, newCA := newAuthority(t, "old-kubernetes-ca"), newAuthority(t, "kubernetes")
	server := newAPIServer(t, newCA)
	// The node still has the old CA, in its kubeconfig and as its client
	// CA file; the cluster signed its client certificate with the new one.
	n.baseline(oldCA)
	n.joined(newCA, server.URL)
	n.write("/etc/kubernetes/kubelet.conf", kubeconfig(server.URL, oldCA.certPEM,
		"client-certificate: "+pki+"/kubelet-client-current.pem\n    client-key: "+pki+"/kubelet-client-current.pem"), 0o600)
	n.write("/var/lib/kubelet/config.yaml", kubeletConfig("/etc/resolv.conf"), 0o644)
	t0 := base()
	n.log(healthy(t0)...)

	// The cluster's CA was rotated: the API server's certificate no longer
	// verifies with the kubelet's CA. The error is the one a real
	// handshake with the kubelet's kubeconfig gives.
	tlsErr := request(t, n.read("/etc/kubernetes/kubelet.conf"), server.URL+"/api/v1/nodes")
	if tlsErr == nil || !strings.Contains(tlsErr.Error(), "x509: certificate signed by unknown authority") {
		t.Fatalf("the node's CA should not verify the server: %v", tlsErr)
	}
	fail := t0.Add(20 * time.Minute)
	n.log(
		kubelet(fail, 'E', "kubelet_node_status.go:107", `"Unable to register node with API server" err=`+strconv.Quote(tlsErr.Error())+` node="worker-1"`),
		kubelet(fail.Add(time.Second), 'E', "controller.go:145", `"Failed to ensure lease exists, will retry" err=`+strconv.Quote(tlsErr.Error())+` interval="200ms"`),
	)
	seen := fail.Add(time.Minute)
	n.want("KubeletCATrustProblem", seen, 1, "unknown authority|client CA")
	n.want("KubeletRegistrationProblem", seen, 0) // a symptom of the CA, not its own problem

	// The documented fix: the cluster's CA (copied from a control-plane
	// node) into /etc/kubernetes/pki/ca.crt and into kubelet.conf.
	n.write("/etc/kubernetes/pki/ca.crt", newCA.certPEM, 0o644)
	n.apply(runbookLine(t, "KubeletCATrustProblem", `sed -i "s|certificate-authority-data: .*|`), t.TempDir())
	if err := request(t, n.read("/etc/kubernetes/kubelet.conf"), server.URL+"/livez"); err != nil {
		t.Fatalf("after the documented step the node's CA still does not verify the API server: %v", err)
	}
	fixed := seen.Add(time.Minute)
	n.log(healthy(fixed)...)
	n.want("KubeletCATrustProblem", fixed.Add(5*time.Second), 0, "kubelet trusts the API server's CA")
}

func TestBootstrapTokenRejectedThenReplaced(t *testing.T) {
	const oldToken, newToken = "abcdef.0123456789abcdef", "k8sfix.0a1b2c3d4e5f6a7b"
	n := newNode(t)
	ca := newAuthority(t, "kubernetes")
	server := newAPIServer(t, ca)
	n.baseline(ca)
	n.write("/var/lib/kubelet/config.yaml", kubeletConfig("/etc/resolv.conf"), 0o644)
	n.write("/etc/kubernetes/bootstrap-kubelet.conf", kubeconfig(server.URL, ca.certPEM, "token: "+oldToken), 0o600)
	t0 := base()
	n.log(started(t0)...)

	// The token expired before the node joined: the API server answers 401
	// to the kubelet's CSR.
	fail := t0.Add(20 * time.Second)
	n.log(kubelet(fail, 'E', "certificate_manager.go:596", `"Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Unauthorized" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"`))
	seen := fail.Add(time.Minute)
	v := n.want("KubeletBootstrapProblem", seen, 1, "bootstrap token rejected")
	noSecret(t, v, oldToken)

	// The documented fix: a new token into the bootstrap kubeconfig, then a
	// restart; the CSR is issued and the node registers.
	n.apply(runbookLine(t, "KubeletBootstrapProblem", `sed -i "s|token: .*|token: $TOKEN|"`), t.TempDir(), "TOKEN="+newToken)
	if conf := n.read("/etc/kubernetes/bootstrap-kubelet.conf"); !strings.Contains(conf, "token: "+newToken) || strings.Contains(conf, oldToken) {
		t.Fatalf("bootstrap kubeconfig after the documented step:\n%s", conf)
	}
	fixed := seen.Add(time.Minute)
	n.log(append(started(fixed),
		kubelet(fixed.Add(time.Second), 'I', "csr.go:299", `"Certificate signing request is issued" csr="csr-8x2kq"`),
		kubelet(fixed.Add(2*time.Second), 'I', "transport.go:147", `"Certificate rotation detected, shutting down client connections to start using new credentials"`),
		kubelet(fixed.Add(3*time.Second), 'I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`),
	)...)
	v = n.want("KubeletBootstrapProblem", fixed.Add(5*time.Second), 0, "kubelet TLS bootstrap is not failing")
	noSecret(t, v, newToken)
}

func TestResolvConfOverLimitsThenReduced(t *testing.T) {
	n := newJoinedNode(t)
	n.write("/etc/resolv.conf", []byte("nameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\nnameserver 10.0.0.5\nnameserver 10.0.0.6\nsearch example.internal\n"), 0o644)
	t0 := base()
	n.log(healthy(t0)...)

	// Each pod the kubelet creates gets only the first 3 nameservers.
	fail := t0.Add(10 * time.Minute)
	for i := range 3 {
		n.log(kubelet(fail.Add(time.Duration(i)*time.Minute), 'E', "dns.go:153", `"Nameserver limits exceeded" err="Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4"`))
	}
	last := fail.Add(2 * time.Minute)
	n.want("KubeletDNSProblem", last.Add(time.Minute), 1, "too many nameservers|nameservers > 3")

	// The documented fix: a resolv.conf of the kubelet's own within the
	// limits, resolvConf pointing at it, a restart.
	dir := t.TempDir()
	n.apply(runbookLine(t, "KubeletDNSProblem", "awk '!/^nameserver/ || ++n <= 3'"), dir)
	n.apply(runbookLine(t, "KubeletDNSProblem", "sed -i 's|^resolvConf: .*|"), dir)
	if got := strings.Count(n.read("/etc/kubernetes/resolv.conf"), "nameserver "); got != 3 {
		t.Fatalf("the kubelet's resolv.conf has %d nameservers after the documented step", got)
	}
	if !strings.Contains(n.read("/var/lib/kubelet/config.yaml"), "\nresolvConf: /etc/kubernetes/resolv.conf\n") {
		t.Fatalf("resolvConf not set by the documented step:\n%s", n.read("/var/lib/kubelet/config.yaml"))
	}
	fixed := last.Add(2 * time.Minute)
	n.log(healthy(fixed)...)
	// No log line marks the recovery: the condition holds until the last
	// failure's minute leaves the 10-minute window, as the runbook says.
	n.want("KubeletDNSProblem", fixed.Add(time.Minute), 1, "too many nameservers")
	n.want("KubeletDNSProblem", last.Add(11*time.Minute), 0, "resolv.conf and cluster DNS settings are usable")
}

// noSecret fails when a token's secret part reached any output.
func noSecret(t *testing.T, v verdict, token string) {
	t.Helper()
	secret := token[strings.IndexByte(token, '.')+1:]
	if strings.Contains(v.line, secret) || strings.Contains(v.diags, secret) {
		t.Errorf("a bootstrap token's secret reached the output:\n%s\n%s", v.line, v.diags)
	}
}

// authority is a CA generated for the test.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newAuthority(t *testing.T, cn string) *authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Lifetimes as kubeadm gives them (CA ten years, leaves one year). The
	// cluster was made two years ago: before every certificate the CA signs
	// (the expired client certificate is from last year) and before the
	// scenarios' clock, which is an hour in the past.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-2 * 365 * 24 * time.Hour), NotAfter: time.Now().Add(8 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &authority{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// newAPIServer is a TLS server on 127.0.0.1 whose certificate ca signed.
func newAPIServer(t *testing.T, ca *authority) *httptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized) // as an API server answers a client without credentials
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// kubeconfig is a kubeadm-style kubeconfig for server with the CA embedded;
// user is the indented body of the user entry.
func kubeconfig(server string, caPEM []byte, user string) []byte {
	return []byte(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ` + base64.StdEncoding.EncodeToString(caPEM) + `
    server: ` + server + `
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: system:node:worker-1
  name: system:node:worker-1@kubernetes
current-context: system:node:worker-1@kubernetes
users:
- name: system:node:worker-1
  user:
    ` + user + `
`)
}

var caData = regexp.MustCompile(`(?m)^\s*certificate-authority-data: (\S+)$`)

// request makes a real HTTPS request to url trusting only the CA embedded
// in the kubeconfig, as the kubelet does; nil means the server was
// verified (any HTTP status).
func request(t *testing.T, kubeconfig, url string) error {
	t.Helper()
	m := caData.FindStringSubmatch(kubeconfig)
	if m == nil {
		t.Fatalf("no certificate-authority-data in the kubeconfig:\n%s", kubeconfig)
	}
	caPEM, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatalf("certificate-authority-data is not base64: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("certificate-authority-data holds no PEM certificate")
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
