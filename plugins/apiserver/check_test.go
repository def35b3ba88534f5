package apiserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

// node writes a kubeadm node whose kubelet.conf names server, and a kubelet
// unit whose environment is env (KEY=value words for Environment=).
func node(t *testing.T, server, env string) string {
	root := t.TempDir()
	ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
	pkitest.Write(t, root, "/etc/kubernetes/kubelet.conf", pkitest.KC{Server: server, CAData: ca.CertPEM, Token: "abcdef.0123456789abcdef"}.YAML(), 0o600)
	unit := "[Service]\nExecStart=/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf\n"
	if env != "" {
		unit += "Environment=" + env + "\n"
	}
	pkitest.Write(t, root, "/etc/systemd/system/kubelet.service", []byte(unit), 0o644)
	return root
}

func run(t *testing.T, root string, timeout time.Duration) []doctor.Finding {
	t.Helper()
	fs, err := (&Check{Timeout: timeout}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return fs
}

func TestReachability(t *testing.T) {
	ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
	other := pkitest.NewCA(t, "other", time.Time{}, time.Time{})
	serving := ca.Issue(t, pkitest.Leaf{CN: "kube-apiserver", DNS: []string{"localhost"}, Server: true})
	tests := []struct {
		name   string
		server string
		status doctor.Status
		label  string // prefix
		detail string
	}{
		{"forbidden anonymous request is reachable", "https://" + pkitest.ServeTLS(t, serving, 403), doctor.OK, "", "403 Forbidden"},
		{"unauthorized is reachable", "https://" + pkitest.ServeTLS(t, serving, 401), doctor.OK, "", "401"},
		{"healthy livez", "https://" + pkitest.ServeTLS(t, serving, 200), doctor.OK, "", "200 OK"},
		{"untrusted certificate is still reachable", "https://" + pkitest.ServeTLS(t, other.Issue(t, pkitest.Leaf{CN: "x", Server: true}), 403), doctor.OK, "", "403"},
		{"refused port", "https://" + pkitest.Refused(t), doctor.Problem, "connection refused", "nothing listens"},
		{"connect that never completes", "https://" + pkitest.Blackhole(t), doctor.Problem, "connect timeout", ""},
		{"handshake that never finishes", "https://" + pkitest.Stall(t), doctor.Problem, "TLS handshake timeout", ""},
		{"plain HTTP where TLS is expected", "https://" + pkitest.ServePlain(t), doctor.Problem, "TLS handshake failed", ""},
		{"TLS but no HTTP answer", "https://" + pkitest.StallHTTP(t, serving), doctor.Problem, "API server does not answer HTTP", ""},
		{"name that does not resolve", "https://apiserver.kubelet-doctor.invalid:6443", doctor.Problem, "DNS", "apiserver.kubelet-doctor.invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := run(t, node(t, tt.server, ""), 700*time.Millisecond)
			if len(fs) != 1 {
				t.Fatalf("want one finding, got %+v", fs)
			}
			f := fs[0]
			if f.Status != tt.status || !strings.HasPrefix(f.Label, tt.label) || !strings.Contains(f.Detail, tt.detail) || f.Source != doctor.SourceProbe {
				t.Errorf("got %s %q (%q), want %s %q (%q)", f.Status, f.Label, f.Detail, tt.status, tt.label, tt.detail)
			}
			if f.Status == doctor.Problem && (f.Reason == "" || f.Hint == "") {
				t.Errorf("problem without reason or hint: %+v", f)
			}
		})
	}
}

func TestProxyInTheKubeletsEnvironment(t *testing.T) {
	refused := pkitest.Refused(t)
	_, port, _ := strings.Cut(refused, ":")
	tests := []struct {
		name    string
		server  string
		env     string
		proxied bool
	}{
		{"proxy without NO_PROXY catches the server", "https://10.96.0.1:6443", `"HTTPS_PROXY=http://user:pw-planted@proxy.corp:3128"`, true},
		{"lower-case proxy too", "https://10.96.0.1:6443", "https_proxy=http://proxy.corp:3128", true},
		{"NO_PROXY with the address", "https://10.96.0.1:6443", `"HTTPS_PROXY=http://proxy.corp:3128" "NO_PROXY=localhost,10.96.0.1"`, false},
		{"NO_PROXY with the CIDR", "https://10.96.0.1:6443", `"HTTPS_PROXY=http://proxy.corp:3128" "NO_PROXY=10.96.0.0/12"`, false},
		{"NO_PROXY with the domain", "https://api.cluster.corp:6443", `"HTTPS_PROXY=http://proxy.corp:3128" "NO_PROXY=.cluster.corp"`, false},
		{"loopback is never proxied", "https://127.0.0.1:" + port, `"HTTPS_PROXY=http://proxy.corp:3128"`, false},
		{"no proxy", "https://10.96.0.1:6443", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := node(t, tt.server, tt.env)
			n, err := kubeletfiles.Load(hostpath.Root(root), kubeletfiles.Files{})
			if err != nil {
				t.Fatal(err)
			}
			f := proxied(n.Kubeconfig, n.Files.Env, time.Now())
			if (f != nil) != tt.proxied {
				t.Fatalf("proxied = %+v, want %v (env %v)", f, tt.proxied, n.Files.Env)
			}
			if f == nil {
				return
			}
			if f.Label != "HTTPS_PROXY catches the API server" || !strings.Contains(f.Detail, "proxy.corp:3128") {
				t.Errorf("finding %+v", f)
			}
			if b, _ := json.Marshal(f); strings.Contains(string(b), "pw-planted") {
				t.Errorf("proxy password in the finding: %s", b)
			}
		})
	}
}

func TestProxyFindingLeadsTheProbe(t *testing.T) {
	// The kubelet goes through the proxy whatever the direct path does. A
	// name that cannot resolve keeps the test from connecting anywhere.
	fs := run(t, node(t, "https://apiserver.kubelet-doctor.invalid:6443", `"HTTPS_PROXY=http://proxy.corp:3128"`), time.Second)
	if len(fs) != 2 || fs[0].Label != "HTTPS_PROXY catches the API server" || fs[1].Status != doctor.Problem {
		t.Errorf("want the proxy problem then the probe's, got %+v", fs)
	}
}

func TestCannotProbe(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		label string
	}{
		{"not bootstrapped", map[string]string{"/etc/kubernetes/bootstrap-kubelet.conf.missing": "", "/var/lib/kubelet/config.yaml": "{}"}, "no kubeconfig yet"},
		{"kubeconfig not YAML", map[string]string{"/etc/kubernetes/kubelet.conf": "\t{ nope"}, "cannot tell: kubeconfig unusable"},
		{"server not https", map[string]string{"/etc/kubernetes/kubelet.conf": string(pkitest.KC{Server: "10.0.0.1:6443"}.YAML())}, "cannot tell: no usable server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, body := range tt.files {
				pkitest.Write(t, root, p, []byte(body), 0o600)
			}
			fs := run(t, root, time.Second)
			if len(fs) != 1 || fs[0].Status != doctor.Unknown || fs[0].Label != tt.label {
				t.Errorf("got %+v, want Unknown %q", fs, tt.label)
			}
		})
	}
	if fs := run(t, t.TempDir(), time.Second); len(fs) != 0 {
		t.Errorf("empty root: %+v", fs)
	}
}

func TestCallerDeadlineIsNotAFinding(t *testing.T) {
	root := node(t, "https://"+pkitest.Stall(t), "")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if fs, err := (&Check{Timeout: time.Minute}).Run(ctx, &doctor.Env{Root: hostpath.Root(root), Now: time.Now()}); err == nil {
		t.Errorf("caller's deadline: %+v, want an error", fs)
	}
}

func TestNameFromTheNodesHostsFile(t *testing.T) {
	ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
	addr := pkitest.ServeTLS(t, ca.Issue(t, pkitest.Leaf{CN: "kube-apiserver", Server: true}), 403)
	_, port, _ := strings.Cut(addr, ":")
	// The name is only in the node's /etc/hosts, not this process's: the
	// probe must find it there, as the kubelet on the node does.
	root := node(t, "https://control-plane.kubelet-doctor.invalid:"+port, "")
	pkitest.Write(t, root, "/etc/hosts", []byte("# kubeadm endpoint\n127.0.0.1 localhost\n127.0.0.1\tCONTROL-PLANE.kubelet-doctor.invalid cp # the API server\n"), 0o644)
	fs := run(t, root, time.Second)
	if len(fs) != 1 || fs[0].Status != doctor.OK || !strings.Contains(fs[0].Detail, "403") {
		t.Errorf("got %+v, want reachable through the node's hosts file", fs)
	}
}
