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
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// criDown is what the kubelet logs while containerd's socket is gone.
const criDown = `"rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or directory\""`

func TestRuntimeDownThenRestarted(t *testing.T) {
	n := newJoinedNode(t)
	t0 := base()
	n.log(healthy(t0)...)

	// containerd dies: its socket is gone and every CRI call fails.
	n.stopRuntime()
	fail := t0.Add(20 * time.Minute)
	for i := range 3 {
		n.log(kubelet(fail.Add(time.Duration(i)*10*time.Second), 'E', "remote_runtime.go:633",
			`"ListContainers with filter from runtime service failed" err=`+criDown))
	}
	n.log(kubelet(fail.Add(35*time.Second), 'E', "kubelet.go:2993",
		`"Container runtime not ready" runtimeReady="RuntimeReady=false reason:ContainerdNotReady message:runtime is not ready"`))
	seen := fail.Add(time.Minute)
	n.want("KubeletRuntimeProblem", seen, 1, "runtime socket missing")

	// The documented fix: restart containerd (its socket listens again),
	// then the kubelet, which asks the runtime for its configuration.
	runbookLine(t, "KubeletRuntimeProblem", "systemctl restart containerd")
	n.startRuntime()
	runbookLine(t, "KubeletRuntimeProblem", "crictl info >/dev/null && systemctl restart kubelet")
	fixed := seen.Add(time.Minute)
	n.log(append(started(fixed),
		kubelet(fixed.Add(time.Second), 'I', "server.go:1423", `"Using cgroup driver setting received from the CRI runtime" cgroupDriver="systemd"`),
		kubelet(fixed.Add(2*time.Second), 'I', "kubelet.go:2488", `"Starting kubelet main sync loop"`),
	)...)
	n.want("KubeletRuntimeProblem", fixed.Add(5*time.Second), 0, "container runtime answers the kubelet")
}

// pki is the kubelet's certificate directory on a kubeadm node.
const pki = "/var/lib/kubelet/pki"

func TestClientCertExpiredThenRenewed(t *testing.T) {
	n := newNode(t)
	ca := newAuthority(t, "kubernetes")
	server := newAPIServer(t, ca)
	n.baseline(ca)
	n.write("/var/lib/kubelet/config.yaml", kubeletConfig("/etc/resolv.conf"), 0o644)
	// A year after the join: the client certificate expired (rotation
	// failed), and kubeadm deleted the bootstrap kubeconfig long ago.
	n.installClientCert(ca.issueClient(t, "system:node:worker-1", -366*24*time.Hour, -24*time.Hour), "kubelet-client-2025-11-30-10-00-00.pem")
	n.write("/etc/kubernetes/kubelet.conf", kubeconfig(server.URL, ca.certPEM,
		"client-certificate: "+pki+"/kubelet-client-current.pem\n    client-key: "+pki+"/kubelet-client-current.pem"), 0o600)
	t0 := base()
	n.log(healthy(t0)...)

	fail := t0.Add(20 * time.Minute)
	n.log(kubelet(fail, 'E', "transport.go:130", `"The currently active client certificate has expired and the server is responsive, exiting."`))
	n.log(exited(fail.Add(time.Second), 1)...)
	for i := 1; i < 3; i++ {
		at := fail.Add(time.Duration(i) * 10 * time.Second)
		n.log(append(append(started(at),
			kubelet(at.Add(time.Second), 'E', "run.go:72", `"command failed" err="failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory"`)),
			exited(at.Add(1100*time.Millisecond), i+1)...)...)
	}
	seen := fail.Add(40 * time.Second)
	// The kubelet cannot re-bootstrap: that is the condition, and its
	// runbook sends the reader to the certificate's recovery.
	n.want("KubeletBootstrapProblem", seen, 1, "bootstrap kubeconfig missing|no bootstrap file")
	n.want("KubeletStartupProblem", seen, 1, "crash-loop")
	runbookProse(t, "KubeletBootstrapProblem", "[KubeletCertificateProblem](KubeletCertificateProblem.md) (a new kubelet.conf from `kubeadm kubeconfig user`)")

	fixed := seen.Add(5 * time.Minute)
	n.renewClientCert(ca, server.URL, fixed)
	n.want("KubeletBootstrapProblem", fixed.Add(5*time.Second), 0)
	n.want("KubeletCertificateProblem", fixed.Add(5*time.Second), 0, "kubelet client and serving certificates are valid")
	n.want("KubeletStartupProblem", fixed.Add(time.Minute+40*time.Second), 0, "kubelet is running")
}

// renewClientCert follows KubeletCertificateProblem's kubeadm recovery; the
// kubelet restarts at at (step 3) and at+1m (step 4).
func (n *node) renewClientCert(ca *authority, server string, at time.Time) {
	t := n.t
	t.Helper()
	dir := t.TempDir()
	// 1. Move away the kubeconfig and the client certificates.
	n.apply(runbookLine(t, "KubeletCertificateProblem", "mkdir -p /var/backups/kubelet && mv "), dir)
	if _, err := os.Lstat(n.path(pki + "/kubelet-client-current.pem")); err == nil {
		t.Fatal("step 1 left kubelet-client-current.pem in place")
	}
	if _, err := os.Stat(n.path("/var/backups/kubelet/kubelet.conf")); err != nil {
		t.Fatalf("step 1 did not keep a backup: %v", err)
	}
	// 2. and 3. What `kubeadm kubeconfig user --org system:nodes
	// --client-name system:node:NODE` prints: a kubeconfig with the
	// credentials embedded, copied to the node with mode 0600.
	runbookProse(t, "KubeletCertificateProblem", "kubeadm kubeconfig user --org system:nodes --client-name system:node:NODE")
	certPEM, keyPEM := ca.issueClientParts(t, "system:node:worker-1", -2*time.Hour, 365*24*time.Hour)
	n.write("/etc/kubernetes/kubelet.conf", kubeconfig(server, ca.certPEM,
		"client-certificate-data: "+base64.StdEncoding.EncodeToString(certPEM)+
			"\n    client-key-data: "+base64.StdEncoding.EncodeToString(keyPEM)), 0o600)
	// The restarted kubelet uses the embedded credentials, requests a
	// certificate of its own and stores it as kubelet-client-current.pem.
	n.installClientCert(ca.issueClient(t, "system:node:worker-1", -2*time.Hour, 365*24*time.Hour), "kubelet-client-2026-12-01-10-00-00.pem")
	n.log(append(started(at),
		kubelet(at.Add(time.Second), 'I', "csr.go:299", `"Certificate signing request is issued" csr="csr-7qv2m"`),
		kubelet(at.Add(2*time.Second), 'I', "transport.go:147", `"Certificate rotation detected, shutting down client connections to start using new credentials"`),
		kubelet(at.Add(3*time.Second), 'I', "kubelet.go:2488", `"Starting kubelet main sync loop"`),
		kubelet(at.Add(4*time.Second), 'I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`),
	)...)
	// 4. Point kubelet.conf at the rotated file.
	n.apply(runbookLine(t, "KubeletCertificateProblem", "sed -i -e 's|client-certificate-data: .*|"), dir)
	conf := n.read("/etc/kubernetes/kubelet.conf")
	for _, want := range []string{"client-certificate: " + pki + "/kubelet-client-current.pem", "client-key: " + pki + "/kubelet-client-current.pem"} {
		if !strings.Contains(conf, want) {
			t.Fatalf("kubelet.conf after step 4 lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "client-certificate-data") || strings.Contains(conf, "client-key-data") {
		t.Fatalf("kubelet.conf after step 4 still embeds credentials:\n%s", conf)
	}
	n.verifyClientCert(ca, pki+"/kubelet-client-current.pem")
	n.log(healthy(at.Add(time.Minute))...)
}

// installClientCert writes a cert+key PEM into the pki directory and points
// kubelet-client-current.pem at it, as the kubelet's certificate store does.
func (n *node) installClientCert(pair []byte, name string) {
	n.t.Helper()
	n.write(pki+"/"+name, pair, 0o600)
	cur := n.path(pki + "/kubelet-client-current.pem")
	os.Remove(cur)
	if err := os.Symlink(pki+"/"+name, cur); err != nil {
		n.t.Fatal(err)
	}
}

// verifyClientCert proves the file the kubeconfig names is a working
// client credential for the node: it resolves (symlinks inside the root),
// its key matches, and it is a valid client certificate of the cluster's
// CA for system:node:worker-1 in system:nodes.
func (n *node) verifyClientCert(ca *authority, p string) {
	t := n.t
	t.Helper()
	full := n.path(p)
	for range 8 {
		target, err := os.Readlink(full)
		if err != nil {
			break
		}
		if filepath.IsAbs(target) {
			full = n.path(target)
		} else {
			full = filepath.Join(filepath.Dir(full), target)
		}
	}
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(data, data)
	if err != nil {
		t.Fatalf("%s: not a matching certificate and key: %v", p, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("%s does not verify as a client certificate of the cluster's CA: %v", p, err)
	}
	if cert.Subject.CommonName != "system:node:worker-1" || len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] != "system:nodes" {
		t.Fatalf("%s is for %s, want CN=system:node:worker-1, O=system:nodes", p, cert.Subject)
	}
}

// exited is systemd's record of a failed kubelet exit and the restart it
// schedules.
func exited(at time.Time, restart int) []journalexport.Entry {
	return []journalexport.Entry{
		systemd(at, "kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
		systemd(at.Add(100*time.Millisecond), "kubelet.service: Failed with result 'exit-code'."),
		systemd(at.Add(200*time.Millisecond), fmt.Sprintf("kubelet.service: Scheduled restart job, restart counter is at %d.", restart)),
	}
}

// issueClientParts signs a client certificate for cn in system:nodes, valid
// from now+from to now+to (the scenarios' clock is an hour in the past: a
// certificate "issued at the fix" starts before it), and returns its
// certificate and key PEM.
func (a *authority) issueClientParts(t *testing.T, cn string, from, to time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}},
		NotBefore: time.Now().Add(from), NotAfter: time.Now().Add(to),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// issueClient is issueClientParts as one file, as the kubelet stores it.
func (a *authority) issueClient(t *testing.T, cn string, from, to time.Duration) []byte {
	c, k := a.issueClientParts(t, cn, from, to)
	return append(c, k...)
}

func TestNodeNameMismatchThenOverrideDropped(t *testing.T) {
	n := newJoinedNode(t)
	// Someone set an override: the kubelet now registers as worker-2, but
	// its certificate is system:node:worker-1, and NodeRestriction refuses.
	n.write("/etc/hostname", []byte("worker-1\n"), 0o644)
	const flags = `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10`
	n.write("/var/lib/kubelet/kubeadm-flags.env", []byte(flags+` --hostname-override=worker-2"`+"\n"), 0o644)
	t0 := base()
	n.log(healthy(t0)...)
	fail := t0.Add(20 * time.Minute)
	n.log(append(started(fail),
		kubelet(fail.Add(time.Second), 'E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="nodes \"worker-2\" is forbidden: node \"worker-1\" is not allowed to modify node \"worker-2\"" node="worker-2"`),
	)...)
	seen := fail.Add(time.Minute)
	// The journal sees NodeRestriction refuse (authorization); the
	// certificate check, where it runs, sees the override itself and names
	// the certificate, which then explains the refusal.
	n.wantOne([]string{"KubeletCertificateProblem", "KubeletAuthorizationProblem"}, seen, "node name mismatch|this node is worker-2")
	n.want("KubeletRegistrationProblem", seen, 0) // refused by the authorizer: not a registration fault of its own

	// The documented fix: drop the override, restart; the kubelet registers
	// under the name its certificate has.
	n.apply(runbookLine(t, "KubeletAuthorizationProblem", `sed -i 's| --hostname-override=`), t.TempDir())
	if got := n.read("/var/lib/kubelet/kubeadm-flags.env"); got != flags+`"`+"\n" {
		t.Fatalf("kubeadm-flags.env after the documented step:\n%s", got)
	}
	runbookLine(t, "KubeletAuthorizationProblem", "systemctl restart kubelet")
	fixed := seen.Add(time.Minute)
	n.log(healthy(fixed)...)
	n.want("KubeletAuthorizationProblem", fixed.Add(5*time.Second), 0, "API server accepts the kubelet's identity")
	n.want("KubeletCertificateProblem", fixed.Add(5*time.Second), 0)
}
