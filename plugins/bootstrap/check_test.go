package bootstrap

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

const (
	kubeletConf = "/etc/kubernetes/kubelet.conf"
	bootConf    = "/etc/kubernetes/bootstrap-kubelet.conf"
	current     = "/var/lib/kubelet/pki/kubelet-client-current.pem"
	goodToken   = "07401b.f395accd246ae52d"
	// A planted token of the wrong form: it must never be printed either.
	badToken = "SECRET.Zz9-planted-not-a-token"
	server   = "https://10.0.0.1:6443"
)

type fixture struct {
	t    *testing.T
	root string
	ca   *pkitest.Pair
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, root: t.TempDir(), ca: pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})}
	pkitest.Write(t, f.root, "/etc/kubernetes/pki/ca.crt", f.ca.CertPEM, 0o644)
	pkitest.Write(t, f.root, "/var/lib/kubelet/config.yaml", []byte("rotateCertificates: true\n"), 0o644)
	return f
}

// joined writes kubelet.conf and a client certificate valid until notAfter.
func (f *fixture) joined(notAfter time.Time) {
	pkitest.Write(f.t, f.root, kubeletConf, pkitest.KC{Server: server, CAPath: "/etc/kubernetes/pki/ca.crt", CertPath: current, KeyPath: current}.YAML(), 0o600)
	leaf := f.ca.Issue(f.t, pkitest.Leaf{CN: "system:node:n1", Orgs: []string{"system:nodes"}, Client: true,
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter})
	pkitest.Write(f.t, f.root, current, leaf.CombinedPEM(), 0o600)
}

func (f *fixture) boot(kc pkitest.KC) {
	pkitest.Write(f.t, f.root, bootConf, kc.YAML(), 0o600)
}

func TestBootstrap(t *testing.T) {
	now := time.Now()
	good := func(f *fixture) pkitest.KC { return pkitest.KC{Server: server, CAData: f.ca.CertPEM, Token: goodToken} }
	tests := []struct {
		name   string
		setup  func(f *fixture)
		status doctor.Status
		label  string
		reason string
	}{
		{"joined node with a valid certificate", func(f *fixture) { f.joined(now.Add(200 * 24 * time.Hour)) }, doctor.OK, "", ""},
		{"joined node with a leftover bootstrap file holding a bad token", func(f *fixture) {
			f.joined(now.Add(200 * 24 * time.Hour))
			f.boot(pkitest.KC{Server: server, CAData: f.ca.CertPEM, Token: badToken})
		}, doctor.OK, "", ""},
		{"neither kubeconfig: the node cannot join", func(f *fixture) {}, doctor.Problem, "no kubeconfig and no bootstrap kubeconfig", "KubeletNoKubeconfig"},
		{"certificate expired and the bootstrap file gone: the kubeadm trap", func(f *fixture) { f.joined(now.Add(-time.Hour)) },
			doctor.Problem, "client cert expired, no bootstrap file", "KubeletCannotRebootstrap"},
		{"certificate link dangling and the bootstrap file gone", func(f *fixture) {
			pkitest.Write(t, f.root, kubeletConf, pkitest.KC{Server: server, CAData: f.ca.CertPEM, CertPath: current, KeyPath: current}.YAML(), 0o600)
			pkitest.Symlink(t, f.root, current, "/var/lib/kubelet/pki/kubelet-client-2025.pem")
		}, doctor.Problem, "client cert symlink to a missing file, no bootstrap file", "KubeletCannotRebootstrap"},
		{"kubeconfig not YAML and the bootstrap file gone", func(f *fixture) {
			pkitest.Write(t, f.root, kubeletConf, []byte("{{{ token: "+badToken), 0o600)
		}, doctor.Problem, "kubeconfig malformed, no bootstrap file", "KubeletCannotRebootstrap"},
		{"not joined yet with a valid bootstrap kubeconfig", func(f *fixture) { f.boot(good(f)) }, doctor.OK, "", ""},
		{"expired certificate with a valid bootstrap kubeconfig re-bootstraps", func(f *fixture) {
			f.joined(now.Add(-time.Hour))
			f.boot(good(f))
		}, doctor.OK, "", ""},
		{"bootstrap kubeconfig not YAML", func(f *fixture) {
			pkitest.Write(t, f.root, bootConf, []byte("users: [ token: "+badToken+"\n\t- ]"), 0o600)
		}, doctor.Problem, "bootstrap kubeconfig malformed", "KubeletBootstrapKubeconfigInvalid"},
		{"bootstrap kubeconfig without server", func(f *fixture) { f.boot(pkitest.KC{CAData: f.ca.CertPEM, Token: goodToken}) },
			doctor.Problem, "bootstrap kubeconfig has no server", "KubeletBootstrapKubeconfigInvalid"},
		{"bootstrap kubeconfig with a plain http server", func(f *fixture) {
			f.boot(pkitest.KC{Server: "http://10.0.0.1:8080", CAData: f.ca.CertPEM, Token: goodToken})
		}, doctor.Problem, "bootstrap server is not an https URL", "KubeletBootstrapKubeconfigInvalid"},
		{"bootstrap kubeconfig without CA", func(f *fixture) { f.boot(pkitest.KC{Server: server, Token: goodToken}) },
			doctor.Problem, "bootstrap kubeconfig has no CA", "KubeletBootstrapKubeconfigInvalid"},
		{"bootstrap kubeconfig with a garbage CA", func(f *fixture) {
			f.boot(pkitest.KC{Server: server, CAData: []byte("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"), Token: goodToken})
		}, doctor.Problem, "bootstrap kubeconfig CA unusable", "KubeletBootstrapKubeconfigInvalid"},
		{"bootstrap token of the wrong form", func(f *fixture) { f.boot(pkitest.KC{Server: server, CAData: f.ca.CertPEM, Token: badToken}) },
			doctor.Problem, "bootstrap token malformed", "KubeletBootstrapTokenInvalid"},
		{"bootstrap token with capitals", func(f *fixture) {
			f.boot(pkitest.KC{Server: server, CAData: f.ca.CertPEM, Token: strings.ToUpper(goodToken)})
		}, doctor.Problem, "bootstrap token malformed", "KubeletBootstrapTokenInvalid"},
		{"bootstrap without any credential", func(f *fixture) { f.boot(pkitest.KC{Server: server, CAData: f.ca.CertPEM}) },
			doctor.Problem, "bootstrap kubeconfig has no credential", "KubeletBootstrapTokenInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f)
			fs, err := (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(f.root), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 {
				t.Fatalf("want one finding, got %+v", fs)
			}
			g := fs[0]
			if g.Status != tt.status || g.Label != tt.label || g.Reason != tt.reason {
				t.Errorf("got %s %q (%s), want %s %q (%s); detail %q", g.Status, g.Label, g.Reason, tt.status, tt.label, tt.reason, g.Detail)
			}
			if g.Status == doctor.Problem && (g.Hint == "" || g.Detail == "") {
				t.Errorf("problem without hint or detail: %+v", g)
			}
			out, _ := json.Marshal(fs)
			for _, secret := range []string{goodToken, badToken, "planted", strings.ToUpper(goodToken)} {
				if strings.Contains(string(out), secret) {
					t.Errorf("token %q in the findings: %s", secret, out)
				}
			}
		})
	}
}

func TestTokenFile(t *testing.T) {
	f := newFixture(t)
	pkitest.Write(t, f.root, "/etc/kubernetes/bootstrap-token", []byte(badToken+"\n"), 0o600)
	pkitest.Write(t, f.root, bootConf, []byte(strings.Replace(string(pkitest.KC{Server: server, CAData: f.ca.CertPEM}.YAML()),
		"  user: {}", "  user:\n    tokenFile: bootstrap-token", 1)), 0o600)
	fs, err := (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(f.root), Now: time.Now()})
	if err != nil || len(fs) != 1 || fs[0].Label != "bootstrap token malformed" {
		t.Fatalf("token file: %+v, %v", fs, err)
	}
	if out, _ := json.Marshal(fs); strings.Contains(string(out), "planted") {
		t.Errorf("token in output: %s", out)
	}
	os.Remove(filepath.Join(f.root, "/etc/kubernetes/bootstrap-token"))
	fs, _ = (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(f.root), Now: time.Now()})
	if len(fs) != 1 || fs[0].Label != "bootstrap token file unreadable" {
		t.Errorf("missing token file: %+v", fs)
	}
}

func TestNoKubeletNoFinding(t *testing.T) {
	fs, err := (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(t.TempDir()), Now: time.Now()})
	if err != nil || len(fs) != 0 {
		t.Errorf("empty root: %+v, %v", fs, err)
	}
}
