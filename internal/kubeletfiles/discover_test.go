package kubeletfiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// write creates host files under root: path -> content.
func write(t *testing.T, root hostpath.Root, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := root.Path(p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// kubeadm's drop-in as its packages ship it.
const kubeadmDropin = `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`

func TestDiscover(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  Files // Flags compared only for the keys listed
		from  string
	}{
		{name: "running kubelet's command line wins and names no bootstrap file it was not given",
			files: map[string]string{
				"/proc/77/comm":     "bash\n",
				"/proc/77/cmdline":  "bash\x00--kubeconfig=/nope\x00",
				"/proc/120/comm":    "kubelet\n",
				"/proc/120/environ": "PATH=/usr/bin\x00AWS_SECRET_ACCESS_KEY=planted\x00HTTPS_PROXY=http://proxy:3128\x00",
				"/proc/120/cmdline": "/usr/bin/kubelet\x00--kubeconfig\x00/etc/kubernetes/kubelet.conf\x00" +
					"--config=/srv/kubelet.yaml\x00--rotate-certificates\x00--hostname-override\x00Node-1\x00--cert-dir=/srv/pki\x00",
				"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf": kubeadmDropin,
			},
			want: Files{Kubeconfig: "/etc/kubernetes/kubelet.conf", Config: "/srv/kubelet.yaml", CertDir: "/srv/pki",
				RootDir: DefaultRootDir,
				Flags:   map[string]string{"rotate-certificates": "true", "hostname-override": "Node-1"}},
			from: "process 120 command line"},
		{name: "kubeadm drop-in with its flags file",
			files: map[string]string{
				"/usr/lib/systemd/system/kubelet.service":                   "[Unit]\nDescription=kubelet\n[Service]\nExecStart=/usr/bin/kubelet\n",
				"/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": kubeadmDropin,
				"/var/lib/kubelet/kubeadm-flags.env":                        `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10"` + "\n",
				"/etc/default/kubelet":                                      "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.5\n",
			},
			want: Files{Kubeconfig: "/etc/kubernetes/kubelet.conf", BootstrapKubeconfig: "/etc/kubernetes/bootstrap-kubelet.conf",
				Config: "/var/lib/kubelet/config.yaml", CertDir: DefaultCertDir, RootDir: DefaultRootDir,
				Flags: map[string]string{"container-runtime-endpoint": "unix:///run/containerd/containerd.sock", "node-ip": "10.0.0.5"}},
			from: "systemd unit kubelet.service"},
		{name: "drop-in in /etc masks the same name below and a later ExecStart replaces",
			files: map[string]string{
				"/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": kubeadmDropin,
				"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf":     "[Service]\nExecStart=\nExecStart=/usr/local/bin/kubelet --kubeconfig=/etc/k/own.conf\n",
				"/etc/systemd/system/kubelet.service.d/20-extra.conf":       "[Service]\nEnvironment=\"X=--config-dir=/etc/kubelet.conf.d\" NO_PROXY=10.0.0.1\nExecStart=\nExecStart=-/usr/local/bin/kubelet --kubeconfig=/etc/k/own.conf \\\n  ${X} --root-dir=/data/kubelet\n",
			},
			want: Files{Kubeconfig: "/etc/k/own.conf",
				Config: "", ConfigDir: "/etc/kubelet.conf.d", RootDir: "/data/kubelet", CertDir: DefaultCertDir,
				Env: map[string]string{"NO_PROXY": "10.0.0.1"}},
			from: "systemd unit kubelet.service"},
		{name: "flags files alone, then the kubeadm layout",
			files: map[string]string{
				"/var/lib/kubelet/kubeadm-flags.env": "KUBELET_KUBEADM_ARGS=\"--hostname-override=w1\"\n",
				"/etc/kubernetes/kubelet.conf":       "x",
			},
			want: Files{Kubeconfig: "/etc/kubernetes/kubelet.conf", BootstrapKubeconfig: "/etc/kubernetes/bootstrap-kubelet.conf",
				Config: "/var/lib/kubelet/config.yaml", CertDir: DefaultCertDir, RootDir: DefaultRootDir,
				Flags: map[string]string{"hostname-override": "w1"}},
			from: "/var/lib/kubelet/kubeadm-flags.env, then kubeadm layout"},
		{name: "EKS layout",
			files: map[string]string{"/var/lib/kubelet/kubeconfig": "x", "/etc/kubernetes/kubelet/kubelet-config.json": "{}"},
			want: Files{Kubeconfig: "/var/lib/kubelet/kubeconfig", Config: "/etc/kubernetes/kubelet/kubelet-config.json",
				CertDir: DefaultCertDir, RootDir: DefaultRootDir},
			from: "eks layout"},
		{name: "EKS Amazon Linux 2023 layout",
			files: map[string]string{"/var/lib/kubelet/kubeconfig": "x", "/etc/kubernetes/kubelet/config.json": "{}"},
			want: Files{Kubeconfig: "/var/lib/kubelet/kubeconfig", Config: "/etc/kubernetes/kubelet/config.json",
				ConfigDir: "/etc/kubernetes/kubelet/config.json.d", CertDir: DefaultCertDir, RootDir: DefaultRootDir},
			from: "eks-al2023 layout"},
		{name: "k3s layout",
			files: map[string]string{"/var/lib/rancher/k3s/agent/client-kubelet.crt": "x"},
			want: Files{Kubeconfig: "/var/lib/rancher/k3s/agent/kubelet.kubeconfig", ConfigDir: "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d",
				CertDir: DefaultCertDir, RootDir: DefaultRootDir},
			from: "k3s layout"},
		{name: "rke2 layout",
			files: map[string]string{"/var/lib/rancher/rke2/agent/kubelet.kubeconfig": "x"},
			want: Files{Kubeconfig: "/var/lib/rancher/rke2/agent/kubelet.kubeconfig", ConfigDir: "/var/lib/rancher/rke2/agent/etc/kubelet.conf.d",
				CertDir: DefaultCertDir, RootDir: DefaultRootDir},
			from: "rke2 layout"},
		{name: "nothing at all gives kubeadm's paths and says so",
			files: map[string]string{"/etc/os-release": "ID=debian\n"},
			want: Files{Kubeconfig: "/etc/kubernetes/kubelet.conf", BootstrapKubeconfig: "/etc/kubernetes/bootstrap-kubelet.conf",
				Config: "/var/lib/kubelet/config.yaml", CertDir: DefaultCertDir, RootDir: DefaultRootDir},
			from: "kubeadm layout (no kubelet file found)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := hostpath.Root(t.TempDir())
			write(t, root, tt.files)
			got, err := Discover(root)
			if err != nil {
				t.Fatal(err)
			}
			g, w := got, tt.want
			g.Flags, w.Flags, g.Env, w.Env, g.From, g.Found = nil, nil, nil, nil, "", false
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("Discover =\n %+v\nwant\n %+v", g, w)
			}
			for k, v := range tt.want.Flags {
				if got.Flags[k] != v {
					t.Errorf("flag %s = %q, want %q", k, got.Flags[k], v)
				}
			}
			for k := range got.Env {
				if !slices.Contains(proxyVars, k) {
					t.Errorf("Env keeps %s: only the proxy variables may be kept", k)
				}
			}
			for k, v := range tt.want.Env {
				if got.Env[k] != v {
					t.Errorf("env %s = %q, want %q", k, got.Env[k], v)
				}
			}
			if wantFound := !strings.Contains(tt.from, "no kubelet file"); got.Found != wantFound {
				t.Errorf("Found = %v, want %v", got.Found, wantFound)
			}
			if !strings.HasPrefix(got.From, tt.from) {
				t.Errorf("From = %q, want prefix %q", got.From, tt.from)
			}
		})
	}
}

func TestDiscoverFailsOnUnreadableUnit(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	// A drop-in that is a directory cannot be read: say so, do not guess.
	if err := os.MkdirAll(root.Path("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(root); err == nil || !strings.Contains(err.Error(), "10-kubeadm.conf") {
		t.Errorf("Discover = %v, want an error naming the drop-in", err)
	}
}

func TestParseFlags(t *testing.T) {
	got := ParseFlags([]string{"--a=1", "-b", "2", "--rotate-certificates", "--c", "--d=x=y", "stray", "--a=3", "--last"})
	want := map[string]string{"a": "3", "b": "2", "rotate-certificates": "true", "c": "true", "d": "x=y", "last": "true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ParseFlags = %v, want %v", got, want)
	}
}

func TestSplitWords(t *testing.T) {
	tests := map[string][]string{
		`a b  c`:                 {"a", "b", "c"},
		`"A=x y" 'B=$z' C=\"q\"`: {"A=x y", "B=$z", `C="q"`},
		``:                       nil,
		`"unterminated x`:        {"unterminated x"},
	}
	for in, want := range tests {
		if got := SplitWords(in); fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
			t.Errorf("SplitWords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadConfigMergesDropinsAndFlags(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	write(t, root, map[string]string{
		"/var/lib/kubelet/config.yaml": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" +
			"rotateCertificates: true\nauthentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\ntlsCertFile: serving.crt\n",
		"/etc/kubelet.conf.d/10-a.conf": "serverTLSBootstrap: true\n",
		"/etc/kubelet.conf.d/20-b.conf": "rotateCertificates: false\n",
		"/etc/kubelet.conf.d/ignored":   "not: [yaml",
	})
	f := Files{Config: "/var/lib/kubelet/config.yaml", ConfigDir: "/etc/kubelet.conf.d", Flags: map[string]string{"tls-private-key-file": "/k.key"}}
	c, err := LoadConfig(root, f)
	if err != nil {
		t.Fatal(err)
	}
	if c.RotateCertificates == nil || *c.RotateCertificates || !c.ServerTLSBootstrap {
		t.Errorf("rotate %v, serverTLSBootstrap %v: want drop-ins applied in order", c.RotateCertificates, c.ServerTLSBootstrap)
	}
	if c.TLSCertFile != "/var/lib/kubelet/serving.crt" || c.ClientCAFile != "/etc/kubernetes/pki/ca.crt" || c.TLSPrivateKeyFile != "/k.key" {
		t.Errorf("paths = %q %q %q", c.TLSCertFile, c.ClientCAFile, c.TLSPrivateKeyFile)
	}
	f.Flags["rotate-certificates"] = "true"
	if c, _ := LoadConfig(root, f); c.RotateCertificates == nil || !*c.RotateCertificates {
		t.Error("--rotate-certificates does not override the config")
	}
	write(t, root, map[string]string{"/bad.yaml": "rotateCertificates: [1"})
	if _, err := LoadConfig(root, Files{Config: "/bad.yaml"}); !errors.Is(err, ErrMalformedConfig) {
		t.Errorf("malformed config: %v", err)
	}
	if c, err := LoadConfig(root, Files{Config: "/missing.yaml"}); err != nil || c.RotateCertificates != nil {
		t.Errorf("missing config: %+v, %v; want no values and no error", c, err)
	}
}

func TestNodeName(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	if n := NodeName(root, Files{}); n != "" {
		t.Errorf("no hostname: %q", n)
	}
	write(t, root, map[string]string{"/proc/sys/kernel/hostname": "Kernel-Name\n"})
	if n := NodeName(root, Files{}); n != "kernel-name" {
		t.Errorf("kernel hostname: %q", n)
	}
	write(t, root, map[string]string{"/etc/hostname": "etc-name\n"})
	if n := NodeName(root, Files{}); n != "etc-name" {
		t.Errorf("/etc/hostname: %q", n)
	}
	if n := NodeName(root, Files{Flags: map[string]string{"hostname-override": "Over"}}); n != "over" {
		t.Errorf("override: %q", n)
	}
}

func TestKubeconfig(t *testing.T) {
	const token = "abcdef.0123456789abcdef"
	const keyPEM = "-----BEGIN EC PRIVATE KEY-----\nplanted-key-material\n-----END EC PRIVATE KEY-----\n"
	b64 := func(s string) string { return base64(s) }
	root := hostpath.Root(t.TempDir())
	write(t, root, map[string]string{
		"/etc/kubernetes/kubelet.conf": `apiVersion: v1
kind: Config
current-context: system:node:w1@kubernetes
clusters:
- name: other
  cluster: {server: "https://other:6443"}
- name: kubernetes
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: pki/ca.crt
contexts:
- name: system:node:w1@kubernetes
  context: {cluster: kubernetes, user: system:node:w1}
users:
- name: system:node:w1
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: ../../var/lib/kubelet/pki/kubelet-client-current.pem
`,
		"/etc/kubernetes/bootstrap-kubelet.conf": `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ` + b64("CA PEM") + `
    server: https://cp.example:6443
  name: kubernetes
contexts:
- context: {cluster: kubernetes, user: tls-bootstrap-token-user}
  name: tls-bootstrap-token-user@kubernetes
users:
- name: tls-bootstrap-token-user
  user:
    token: ` + token + `
    client-key-data: ` + b64(keyPEM) + `
`,
		"/notyaml":   "clusters: [ {\n\tbroken " + token,
		"/nocontext": "clusters: [{name: a, cluster: {server: https://a}}, {name: b, cluster: {server: https://b}}]\n",
	})
	k, err := LoadKubeconfig(root, "/etc/kubernetes/kubelet.conf")
	if err != nil {
		t.Fatal(err)
	}
	if k.Cluster.Server != "https://10.0.0.1:6443" || k.Cluster.CertificateAuthority != "/etc/kubernetes/pki/ca.crt" ||
		k.User.ClientCertificate != "/var/lib/kubelet/pki/kubelet-client-current.pem" ||
		k.User.ClientKey != "/var/lib/kubelet/pki/kubelet-client-current.pem" {
		t.Errorf("kubelet.conf = %+v", k)
	}
	b, err := LoadKubeconfig(root, "/etc/kubernetes/bootstrap-kubelet.conf")
	if err != nil {
		t.Fatal(err)
	}
	if string(b.Cluster.CertificateAuthorityData) != "CA PEM" || b.User.Token.Reveal() != token || b.User.ClientKeyData.Reveal() != keyPEM {
		t.Errorf("embedded data not decoded: %q", b.Cluster.CertificateAuthorityData)
	}
	j, _ := json.Marshal(b)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s %q %x", b, b, b, b.User.Token, b.User.Token, b.User.ClientKeyData), string(j)} {
		if strings.Contains(out, token) || strings.Contains(out, "planted-key-material") {
			t.Errorf("secret printed: %s", out)
		}
	}
	for p, want := range map[string]string{"/notyaml": "not valid YAML", "/nocontext": "no current-context"} {
		_, err := LoadKubeconfig(root, p)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), token) {
			t.Errorf("LoadKubeconfig(%s) = %v, want ErrMalformed saying %q", p, err, want)
		}
	}
	if _, err := LoadKubeconfig(root, "/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing kubeconfig: %v", err)
	}
}

// BenchmarkDiscoverHost is discovery on this machine's own root: a scan of
// every process in /proc for a kubelet, then the unit and layout files.
func BenchmarkDiscoverHost(b *testing.B) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	b.ReportMetric(float64(len(procs)), "processes")
	for b.Loop() {
		if _, err := Discover(hostpath.Default); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDiscoverThroughSymlinkedDirectories(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	// /etc/kubernetes is an absolute link inside the root (a config
	// management layout); outside the root the same path does not exist.
	write(t, root, map[string]string{"/srv/k8s/kubelet.conf": "x", "/etc/hostname": "n1"})
	if err := os.Symlink("/srv/k8s", root.Path("/etc/kubernetes")); err != nil {
		t.Fatal(err)
	}
	f, err := Discover(root)
	if err != nil || !f.Found || !strings.HasPrefix(f.From, "kubeadm layout") {
		t.Fatalf("Discover = %+v, %v; want the kubeadm layout found through the link", f, err)
	}
	if err := os.Symlink("/srv/k8s/gone.pem", root.Path("/srv/k8s/current.pem")); err != nil {
		t.Fatal(err)
	}
	_, err = root.ReadFile("/etc/kubernetes/current.pem")
	if got := Fault(root, "/etc/kubernetes/current.pem", err); got != FaultDangling {
		t.Errorf("dangling link under a linked directory: %q", got)
	}
}
