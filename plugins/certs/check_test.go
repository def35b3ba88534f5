package certs

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

const (
	pki     = "/var/lib/kubelet/pki"
	current = pki + "/kubelet-client-current.pem"
	dated   = pki + "/kubelet-client-2026-01-01-00-00-00.pem"
)

// node is a kubeadm node under a temp root: CA, the client certificate for
// node-1 behind the kubelet-client-current.pem symlink, kubelet.conf
// pointing at it, and a config with rotation on. Each case changes a piece.
type node struct {
	t    *testing.T
	root string
	ca   *pkitest.Pair
	now  time.Time
}

func newNode(t *testing.T) *node {
	n := &node{t: t, root: t.TempDir(), now: time.Now()}
	n.ca = pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
	pkitest.Write(t, n.root, "/etc/hostname", []byte("node-1\n"), 0o644)
	pkitest.Write(t, n.root, "/etc/kubernetes/pki/ca.crt", n.ca.CertPEM, 0o644)
	pkitest.Write(t, n.root, "/etc/kubernetes/kubelet.conf", pkitest.KC{Server: "https://127.0.0.1:6443",
		CAPath: "/etc/kubernetes/pki/ca.crt", CertPath: current, KeyPath: current}.YAML(), 0o600)
	n.config("rotateCertificates: true\n")
	n.client(pkitest.Leaf{CN: "system:node:node-1", Orgs: []string{"system:nodes"}, Client: true}, 0o600)
	return n
}

func (n *node) config(body string) {
	pkitest.Write(n.t, n.root, "/var/lib/kubelet/config.yaml",
		[]byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"+body), 0o644)
}

// client writes a client certificate as the kubelet's rotation does: a
// dated file and an absolute symlink to it.
func (n *node) client(l pkitest.Leaf, mode os.FileMode) *pkitest.Pair {
	p := n.ca.Issue(n.t, l)
	pkitest.Write(n.t, n.root, dated, p.CombinedPEM(), mode)
	os.Remove(filepath.Join(n.root, current))
	pkitest.Symlink(n.t, n.root, current, dated)
	return p
}

func (n *node) run() []doctor.Finding {
	n.t.Helper()
	fs, err := (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(n.root), Now: n.now})
	if err != nil {
		n.t.Fatalf("Run: %v", err)
	}
	return fs
}

func TestClientAndServingCertificates(t *testing.T) {
	day := 24 * time.Hour
	node1 := func(nb, na time.Duration) pkitest.Leaf {
		now := time.Now()
		return pkitest.Leaf{CN: "system:node:node-1", Orgs: []string{"system:nodes"}, Client: true,
			NotBefore: now.Add(nb), NotAfter: now.Add(na)}
	}
	tests := []struct {
		name   string
		change func(n *node)
		status doctor.Status
		label  string // prefix of the lead finding's label
		reason string
		detail string // substring of some finding's detail
	}{
		{"valid rotated certificate is healthy", func(n *node) {}, doctor.OK, "", "", "system:node:node-1 in system:nodes"},
		{"expired certificate", func(n *node) { n.client(node1(-40*day, -2*day), 0o600) },
			doctor.Problem, "client certificate expired", "KubeletClientCertExpired", "2d ago"},
		{"certificate from the future says clock skew", func(n *node) { n.client(node1(2*time.Hour, 40*day), 0o600) },
			doctor.Problem, "client certificate not yet valid: clock skew?", "KubeletClientCertNotYetValid", "node clock"},
		{"expiring with rotation off is a problem and says so", func(n *node) {
			n.config("rotateCertificates: false\n")
			n.client(node1(-day, 3*day+time.Hour), 0o600)
		}, doctor.Problem, "client certificate expires in 3d, rotation off", "KubeletClientCertExpiring", "rotateCertificates is off"},
		{"expiring with rotation unset is rotation off", func(n *node) {
			n.config("")
			n.client(node1(-day, 3*day+time.Hour), 0o600)
		}, doctor.Problem, "client certificate expires in 3d, rotation off", "KubeletClientCertExpiring", ""},
		{"expiring with rotation on is healthy", func(n *node) { n.client(node1(-day, 3*day+time.Hour), 0o600) },
			doctor.OK, "", "", "expires in 3d, rotateCertificates renews it"},
		{"rotation flag overrides the config", func(n *node) {
			n.config("rotateCertificates: false\n")
			pkitest.Write(t, n.root, "/var/lib/kubelet/kubeadm-flags.env", []byte(`KUBELET_KUBEADM_ARGS="--rotate-certificates=true"`), 0o644)
			n.client(node1(-day, 3*day+time.Hour), 0o600)
		}, doctor.OK, "", "", "rotateCertificates renews it"},
		{"certificate and key of different pairs", func(n *node) {
			a := n.ca.Issue(t, node1(-day, 30*day))
			b := n.ca.Issue(t, node1(-day, 30*day))
			pkitest.Write(t, n.root, dated, append(a.CertPEM, b.KeyPEM...), 0o600)
		}, doctor.Problem, "client cert and key do not match", "KubeletClientKeyMismatch", ""},
		{"certificate copied from another node", func(n *node) {
			n.client(pkitest.Leaf{CN: "system:node:node-2", Orgs: []string{"system:nodes"}, Client: true}, 0o600)
		}, doctor.Problem, "client cert is for system:node:node-2", "KubeletClientCertWrongNode", "this node is node-1"},
		{"hostname override names the node", func(n *node) {
			pkitest.Write(t, n.root, "/var/lib/kubelet/kubeadm-flags.env", []byte(`KUBELET_KUBEADM_ARGS="--hostname-override=Node-2"`), 0o644)
			n.client(pkitest.Leaf{CN: "system:node:node-2", Orgs: []string{"system:nodes"}, Client: true}, 0o600)
		}, doctor.OK, "", "", "system:node:node-2"},
		{"certificate outside system:nodes", func(n *node) {
			n.client(pkitest.Leaf{CN: "system:node:node-1", Orgs: []string{"devs"}, Client: true}, 0o600)
		}, doctor.Problem, "client cert not in group system:nodes", "KubeletClientCertWrongIdentity", ""},
		{"serving-only certificate as client", func(n *node) {
			n.client(pkitest.Leaf{CN: "system:node:node-1", Orgs: []string{"system:nodes"}, Server: true}, 0o600)
		}, doctor.Problem, "client cert lacks client auth usage", "KubeletClientCertWrongIdentity", ""},
		{"current symlink to a missing file", func(n *node) { os.Remove(filepath.Join(n.root, dated)) },
			doctor.Problem, "client certificate symlink to a missing file", "KubeletClientCertMissing", current},
		{"certificate path is a directory", func(n *node) {
			os.Remove(filepath.Join(n.root, dated))
			os.Mkdir(filepath.Join(n.root, dated), 0o700)
		}, doctor.Problem, "client certificate a directory", "KubeletClientCertMissing", ""},
		{"certificate is a symlink loop", func(n *node) {
			os.Remove(filepath.Join(n.root, dated))
			pkitest.Symlink(t, n.root, dated, current)
		}, doctor.Problem, "client certificate a symlink loop", "KubeletClientCertMissing", ""},
		{"garbage PEM", func(n *node) {
			pkitest.Write(t, n.root, dated, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600)
		},
			doctor.Problem, "client certificate is not a PEM certificate", "KubeletClientCertInvalid", ""},
		{"text that is no PEM at all", func(n *node) { pkitest.Write(t, n.root, dated, []byte("hello"), 0o600) },
			doctor.Problem, "client certificate is not a PEM certificate", "KubeletClientCertInvalid", ""},
		{"private key readable by others", func(n *node) { os.Chmod(filepath.Join(n.root, dated), 0o644) },
			doctor.Problem, "private key readable by others", "KubeletPrivateKeyExposed", "mode 0644"},
		{"serverTLSBootstrap without a serving certificate", func(n *node) { n.config("rotateCertificates: true\nserverTLSBootstrap: true\n") },
			doctor.Problem, "no serving certificate: CSR never approved", "KubeletServingCertMissing", "kubelet-server-current.pem missing"},
		{"expired serving certificate", func(n *node) {
			n.config("rotateCertificates: true\nserverTLSBootstrap: true\n")
			s := n.ca.Issue(t, pkitest.Leaf{CN: "system:node:node-1", Server: true, NotBefore: time.Now().Add(-9 * day), NotAfter: time.Now().Add(-day)})
			pkitest.Write(t, n.root, pki+"/kubelet-server-current.pem", s.CombinedPEM(), 0o600)
		}, doctor.Problem, "serving certificate expired", "KubeletServingCertExpired", ""},
		{"valid serving certificate from tlsCertFile", func(n *node) {
			n.config("rotateCertificates: true\ntlsCertFile: /etc/kubelet/serving.crt\ntlsPrivateKeyFile: /etc/kubelet/serving.key\n")
			s := n.ca.Issue(t, pkitest.Leaf{CN: "node-1", Server: true, NotAfter: time.Now().Add(30 * day)})
			pkitest.Write(t, n.root, "/etc/kubelet/serving.crt", s.CertPEM, 0o644)
			pkitest.Write(t, n.root, "/etc/kubelet/serving.key", s.KeyPEM, 0o600)
		}, doctor.OK, "", "", "serving certificate valid until"},
		{"embedded client certificate and key", func(n *node) {
			p := n.ca.Issue(t, node1(-day, 30*day))
			pkitest.Write(t, n.root, "/etc/kubernetes/kubelet.conf", pkitest.KC{Server: "https://127.0.0.1:6443",
				CAData: n.ca.CertPEM, CertData: p.CertPEM, KeyData: p.KeyPEM}.YAML(), 0o600)
		}, doctor.OK, "", "", "system:node:node-1"},
		{"not bootstrapped yet cannot tell", func(n *node) {
			os.Remove(filepath.Join(n.root, "/etc/kubernetes/kubelet.conf"))
			os.Remove(filepath.Join(n.root, current))
		}, doctor.Unknown, "no client certificate yet", "", ""},
		{"kubeconfig that is not YAML cannot tell", func(n *node) {
			pkitest.Write(t, n.root, "/etc/kubernetes/kubelet.conf", []byte("clusters: [\n\t{"), 0o600)
		}, doctor.Unknown, "cannot tell: kubeconfig unusable", "", "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			tt.change(n)
			fs := n.run()
			if len(fs) == 0 {
				t.Fatal("no finding")
			}
			v := lead(fs)
			if v.Status != tt.status || !strings.HasPrefix(v.Label, tt.label) || v.Reason != tt.reason {
				t.Fatalf("lead = %s %q (%s), want %s %q (%s)\nall: %+v", v.Status, v.Label, v.Reason, tt.status, tt.label, tt.reason, fs)
			}
			if len(v.Label) > 60 {
				t.Errorf("label %q is too long for the 80-byte message", v.Label)
			}
			if tt.detail != "" && !strings.Contains(details(fs), tt.detail) {
				t.Errorf("no detail mentions %q: %s", tt.detail, details(fs))
			}
			for _, f := range fs {
				if f.Condition != condition.TypeCertificate || f.Source != doctor.SourceNodeState {
					t.Errorf("finding %+v: wrong condition or source", f)
				}
			}
		})
	}
}

func TestEKSTokenUserHasNoClientCertificate(t *testing.T) {
	root := t.TempDir()
	ca := pkitest.NewCA(t, "eks", time.Time{}, time.Time{})
	pkitest.Write(t, root, "/etc/kubernetes/pki/ca.crt", ca.CertPEM, 0o644)
	pkitest.Write(t, root, "/var/lib/kubelet/kubeconfig", []byte(`apiVersion: v1
kind: Config
clusters:
- cluster: {certificate-authority: /etc/kubernetes/pki/ca.crt, server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com"}
  name: kubernetes
contexts:
- context: {cluster: kubernetes, user: kubelet}
  name: kubelet
current-context: kubelet
users:
- name: kubelet
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: /usr/bin/aws-iam-authenticator
      args: [token, -i, my-cluster]
`), 0o600)
	pkitest.Write(t, root, "/etc/kubernetes/kubelet/kubelet-config.json", []byte(`{"kind":"KubeletConfiguration","serverTLSBootstrap":true}`), 0o644)
	s := ca.Issue(t, pkitest.Leaf{CN: "system:node:ip-10-0-0-1", Server: true, NotAfter: time.Now().Add(30 * 24 * time.Hour)})
	pkitest.Write(t, root, "/var/lib/kubelet/pki/kubelet-server-current.pem", s.CombinedPEM(), 0o600)
	fs, err := (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if v := lead(fs); v.Status != doctor.OK || !strings.Contains(v.Detail, "exec plugin") || !strings.Contains(v.Detail, "serving certificate valid") {
		t.Errorf("EKS node: %+v", fs)
	}
}

func TestNoKeyMaterialInFindings(t *testing.T) {
	n := newNode(t)
	// A mismatched, world-readable key: the findings talk about it at length.
	a := n.ca.Issue(t, pkitest.Leaf{CN: "system:node:node-1", Orgs: []string{"system:nodes"}, Client: true})
	b := n.ca.Issue(t, pkitest.Leaf{CN: "system:node:node-1", Orgs: []string{"system:nodes"}, Client: true})
	pkitest.Write(t, n.root, dated, append(a.CertPEM, b.KeyPEM...), 0o644)
	pkitest.Write(t, n.root, "/etc/kubernetes/kubelet.conf", pkitest.KC{Server: "https://127.0.0.1:6443",
		CAData: n.ca.CertPEM, CertData: a.CertPEM, KeyData: []byte("-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n")}.YAML(), 0o600)
	out, _ := json.Marshal(n.run())
	for _, secret := range []string{string(b.KeyPEM[40:80]), "bm90IGEga2V5", "not a key"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("key material %q in findings: %s", secret, out)
		}
	}
}

// lead is the finding Evaluate would lead with: the first problem, else the
// first unknown, else the first.
func lead(fs []doctor.Finding) doctor.Finding {
	for _, st := range []doctor.Status{doctor.Problem, doctor.Unknown} {
		for _, f := range fs {
			if f.Status == st {
				return f
			}
		}
	}
	return fs[0]
}

func details(fs []doctor.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Detail)
	}
	return strings.Join(s, " | ")
}

// The end of each certificate's validity is a value for metrics, on a
// healthy finding and a problem alike.
func TestFindingsCarryTheCertificatesExpiry(t *testing.T) {
	for _, expired := range []bool{false, true} {
		n := newNode(t)
		na := n.now.Add(30 * 24 * time.Hour).Truncate(time.Second)
		if expired {
			na = n.now.Add(-time.Hour).Truncate(time.Second)
		}
		n.client(pkitest.Leaf{CN: "system:node:node-1", Orgs: []string{"system:nodes"}, Client: true,
			NotBefore: n.now.Add(-48 * time.Hour), NotAfter: na}, 0o600)
		for _, f := range n.run() {
			if got := f.Expires["client"]; !got.Equal(na) {
				t.Errorf("expired=%v: finding %q expires[client] = %v, want %v", expired, f.Label, got, na)
			}
		}
	}
}
