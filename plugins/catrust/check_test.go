package catrust

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

const day = 24 * time.Hour

// kubeadmNode writes a kubeadm node trusting ca, with a client certificate
// from clientCA and a kubelet config whose clientCAFile is ca.crt.
func kubeadmNode(t *testing.T, ca, clientCA *pkitest.Pair, server string) string {
	root := t.TempDir()
	pkitest.Write(t, root, "/etc/kubernetes/pki/ca.crt", ca.CertPEM, 0o644)
	cur := "/var/lib/kubelet/pki/kubelet-client-current.pem"
	pkitest.Write(t, root, "/etc/kubernetes/kubelet.conf", pkitest.KC{Server: server, CAPath: "pki/ca.crt", CertPath: cur, KeyPath: cur}.YAML(), 0o600)
	pkitest.Write(t, root, "/var/lib/kubelet/config.yaml", []byte("authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n"), 0o644)
	leaf := clientCA.Issue(t, pkitest.Leaf{CN: "system:node:n1", Orgs: []string{"system:nodes"}, Client: true})
	pkitest.Write(t, root, cur, leaf.CombinedPEM(), 0o600)
	return root
}

func runCheck(t *testing.T, c doctor.Check, root string) []doctor.Finding {
	t.Helper()
	fs, err := c.Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return fs
}

func TestKubeconfigCAAndClientChain(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		setup  func(t *testing.T) string
		status doctor.Status
		label  string
		reason string
	}{
		{"valid CA and chained client certificate", func(t *testing.T) string {
			ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
			return kubeadmNode(t, ca, ca, "https://127.0.0.1:6443")
		}, doctor.OK, "", ""},
		{"expired CA", func(t *testing.T) string {
			ca := pkitest.NewCA(t, "kubernetes", now.Add(-400*day), now.Add(-time.Hour))
			return kubeadmNode(t, ca, ca, "https://127.0.0.1:6443")
		}, doctor.Problem, "cluster CA expired", "KubeletCAExpired"},
		{"CA about to expire", func(t *testing.T) string {
			ca := pkitest.NewCA(t, "kubernetes", now.Add(-400*day), now.Add(10*day+time.Hour))
			return kubeadmNode(t, ca, ca, "https://127.0.0.1:6443")
		}, doctor.Problem, "cluster CA expires in 10d", "KubeletCAExpiring"},
		{"CA from the future says clock skew", func(t *testing.T) string {
			ca := pkitest.NewCA(t, "kubernetes", now.Add(time.Hour), now.Add(400*day))
			return kubeadmNode(t, ca, ca, "https://127.0.0.1:6443")
		}, doctor.Problem, "cluster CA not yet valid: clock skew?", "KubeletCANotYetValid"},
		{"bundle in rotation: one valid CA is enough", func(t *testing.T) string {
			old := pkitest.NewCA(t, "old", now.Add(-400*day), now.Add(-time.Hour))
			ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
			root := kubeadmNode(t, ca, ca, "https://127.0.0.1:6443")
			pkitest.Write(t, root, "/etc/kubernetes/pki/ca.crt", append(old.CertPEM, ca.CertPEM...), 0o644)
			return root
		}, doctor.OK, "", ""},
		{"client certificate from another cluster's CA", func(t *testing.T) string {
			ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
			other := pkitest.NewCA(t, "other-cluster", time.Time{}, time.Time{})
			return kubeadmNode(t, ca, other, "https://127.0.0.1:6443")
		}, doctor.Problem, "client cert not signed by the cluster's client CA", "KubeletClientCertUntrusted"},
		{"CA file missing", func(t *testing.T) string {
			ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
			root := kubeadmNode(t, ca, ca, "https://127.0.0.1:6443")
			os.Remove(filepath.Join(root, "/etc/kubernetes/pki/ca.crt"))
			return root
		}, doctor.Problem, "kubeconfig CA file missing", "KubeletCAMissing"},
		{"CA file is a directory", func(t *testing.T) string {
			ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
			root := kubeadmNode(t, ca, ca, "https://127.0.0.1:6443")
			os.Remove(filepath.Join(root, "/etc/kubernetes/pki/ca.crt"))
			os.Mkdir(filepath.Join(root, "/etc/kubernetes/pki/ca.crt"), 0o755)
			return root
		}, doctor.Problem, "kubeconfig CA file a directory", "KubeletCAMissing"},
		{"embedded CA that is garbage", func(t *testing.T) string {
			ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
			root := kubeadmNode(t, ca, ca, "https://127.0.0.1:6443")
			pkitest.Write(t, root, "/etc/kubernetes/kubelet.conf", pkitest.KC{Server: "https://127.0.0.1:6443", CAData: []byte("garbage")}.YAML(), 0o600)
			return root
		}, doctor.Problem, "kubeconfig CA is not a PEM certificate", "KubeletCAInvalid"},
		{"no kubeconfig yet", func(t *testing.T) string {
			root := t.TempDir()
			pkitest.Write(t, root, "/var/lib/kubelet/config.yaml", []byte("{}"), 0o644)
			return root
		}, doctor.Unknown, "no kubeconfig yet", ""},
		{"kubeconfig not YAML", func(t *testing.T) string {
			root := t.TempDir()
			pkitest.Write(t, root, "/etc/kubernetes/kubelet.conf", []byte("\x00\x01 not: [yaml"), 0o600)
			return root
		}, doctor.Unknown, "cannot tell: kubeconfig unusable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := runCheck(t, &Check{}, tt.setup(t))
			if len(fs) == 0 {
				t.Fatal("no finding")
			}
			f := fs[0]
			if f.Status != tt.status || f.Label != tt.label || f.Reason != tt.reason {
				t.Errorf("finding %s %q (%s), want %s %q (%s); all %+v", f.Status, f.Label, f.Reason, tt.status, tt.label, tt.reason, fs)
			}
		})
	}
}

func TestNoKubeletNoFinding(t *testing.T) {
	for _, c := range []doctor.Check{&Check{}, &Probe{}} {
		if fs := runCheck(t, c, t.TempDir()); len(fs) != 0 {
			t.Errorf("%s on an empty root: %+v", c.Name(), fs)
		}
	}
}

// TestHandshake drives the probe against real TLS servers on 127.0.0.1.
func TestHandshake(t *testing.T) {
	now := time.Now()
	ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
	lo := []net.IP{net.ParseIP("127.0.0.1")}
	serve := func(issuer *pkitest.Pair, l pkitest.Leaf) string {
		l.Server = true
		return "https://" + pkitest.ServeTLS(t, issuer.Issue(t, l), 403)
	}
	tests := []struct {
		name   string
		server string
		status doctor.Status // 0 (Unknown) with none: no finding
		label  string
		none   bool
	}{
		{"server signed by the kubeconfig's CA", serve(ca, pkitest.Leaf{CN: "kube-apiserver", IPs: lo}), doctor.OK, "", false},
		{"server signed by another CA", serve(pkitest.NewCA(t, "impostor", time.Time{}, time.Time{}), pkitest.Leaf{CN: "kube-apiserver", IPs: lo}),
			doctor.Problem, "x509 unknown authority", false},
		{"expired server certificate", serve(ca, pkitest.Leaf{CN: "kube-apiserver", IPs: lo, NotBefore: now.Add(-10 * day), NotAfter: now.Add(-day)}),
			doctor.Problem, "x509 expired: API server certificate", false},
		{"server certificate from the future", serve(ca, pkitest.Leaf{CN: "kube-apiserver", IPs: lo, NotBefore: now.Add(time.Hour), NotAfter: now.Add(day)}),
			doctor.Problem, "API server cert not yet valid: clock skew?", false},
		{"server certificate for another name", serve(ca, pkitest.Leaf{CN: "kube-apiserver", DNS: []string{"api.example"}}),
			doctor.Problem, "x509 wrong name: 127.0.0.1", false},
		{"handshake that never finishes says nothing", "https://" + pkitest.Stall(t), 0, "", true},
		{"refused port says nothing", "https://" + pkitest.Refused(t), 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := kubeadmNode(t, ca, ca, tt.server)
			// A stalled handshake that ignored the deadline would hang here.
			fs := runCheck(t, &Probe{Timeout: 500 * time.Millisecond}, root)
			if tt.none {
				if len(fs) != 0 {
					t.Errorf("want no finding, got %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Status != tt.status || fs[0].Label != tt.label || fs[0].Source != doctor.SourceProbe {
				t.Fatalf("got %+v, want %s %q", fs, tt.status, tt.label)
			}
			if tt.status == doctor.Problem && (fs[0].Detail == "" || fs[0].Hint == "" || fs[0].Reason == "") {
				t.Errorf("problem without detail, hint or reason: %+v", fs[0])
			}
			if tt.label == "x509 wrong name: 127.0.0.1" && !strings.Contains(fs[0].Detail, "api.example") {
				t.Errorf("wrong-name detail does not say the certificate's names: %q", fs[0].Detail)
			}
		})
	}
}

func TestHandshakeHonoursCallerDeadline(t *testing.T) {
	ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
	root := kubeadmNode(t, ca, ca, "https://"+pkitest.Stall(t))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := (&Probe{Timeout: time.Minute}).Run(ctx, &doctor.Env{Root: hostpath.Root(root), Now: time.Now()})
	if err == nil {
		t.Fatal("a probe cut by its caller's deadline must say it could not look")
	}
}

func TestHandshakeByNameFromTheNodesHostsFile(t *testing.T) {
	ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
	const name = "cp.kubelet-doctor.invalid"
	addr := pkitest.ServeTLS(t, ca.Issue(t, pkitest.Leaf{CN: "kube-apiserver", DNS: []string{name}, Server: true}), 403)
	_, port, _ := strings.Cut(addr, ":")
	root := kubeadmNode(t, ca, ca, "https://"+name+":"+port)
	pkitest.Write(t, root, "/etc/hosts", []byte("127.0.0.1 "+name+"\n"), 0o644)
	fs := runCheck(t, &Probe{Timeout: time.Second}, root)
	if len(fs) != 1 || fs[0].Status != doctor.OK || !strings.Contains(fs[0].Detail, "verified for "+name) {
		t.Errorf("got %+v, want the server verified for %s", fs, name)
	}
}
