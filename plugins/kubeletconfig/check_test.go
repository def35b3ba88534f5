package kubeletconfig

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// node is a host root for one test: a 4-CPU 8 GiB node without swap, a
// listening containerd socket, the kubeadm CA and manifests directory.
type node struct {
	t    *testing.T
	root string
}

func newNode(t *testing.T) *node {
	t.Helper()
	// A short root: a unix socket path is at most 108 bytes.
	root, err := os.MkdirTemp("", "kc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	n := &node{t: t, root: root}
	n.write("/proc/meminfo", "MemTotal:        8388608 kB\nMemFree:         4000000 kB\n")
	n.write("/proc/cpuinfo", strings.Repeat("processor\t: 0\nmodel name\t: x\n\n", 4))
	n.write("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
	n.write("/etc/kubernetes/pki/ca.crt", "not checked here\n")
	n.mkdir("/etc/kubernetes/manifests")
	n.socket("/run/containerd/containerd.sock")
	return n
}

func (n *node) path(p string) string { return hostpath.Root(n.root).Path(p) }

func (n *node) write(p, content string) {
	n.t.Helper()
	if err := os.MkdirAll(filepath.Dir(n.path(p)), 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(n.path(p), []byte(content), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) copy(p, testdata string) {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", testdata))
	if err != nil {
		n.t.Fatal(err)
	}
	n.write(p, string(b))
}

func (n *node) mkdir(p string) {
	n.t.Helper()
	if err := os.MkdirAll(n.path(p), 0o755); err != nil {
		n.t.Fatal(err)
	}
}

// socket leaves a real unix socket with a listener for the test's life.
func (n *node) socket(p string) {
	n.t.Helper()
	n.mkdir(filepath.Dir(p))
	l, err := net.Listen("unix", n.path(p))
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { l.Close() })
}

func (n *node) run(c *Check) []doctor.Finding {
	n.t.Helper()
	env := &doctor.Env{Root: hostpath.Root(n.root), Now: time.Now(), Log: logrus.New()}
	fs, err := c.Run(context.Background(), env)
	if err != nil {
		n.t.Fatalf("Run: %v", err)
	}
	return fs
}

// only returns the one finding of status s, failing otherwise.
func only(t *testing.T, fs []doctor.Finding, s doctor.Status) doctor.Finding {
	t.Helper()
	var got []doctor.Finding
	for _, f := range fs {
		if f.Status == s {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one %s finding, got %d: %+v", s, len(got), fs)
	}
	return got[0]
}

func atConfig(p string) *Check { return &Check{Locate: FixedLocator(p, "")} }

func TestRealConfigsValidate(t *testing.T) {
	tests := []struct {
		name, file, at string
	}{
		{"kubeadm default", "kubeadm-default.yaml", "/var/lib/kubelet/config.yaml"},
		{"EKS JSON config", "eks.json", "/etc/kubernetes/kubelet/kubelet-config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			n.copy(tt.at, tt.file)
			f := only(t, n.run(atConfig(tt.at)), doctor.OK)
			if !strings.Contains(f.Evidence[0].Text, tt.at) {
				t.Errorf("evidence %q does not name the file", f.Evidence[0].Text)
			}
		})
	}
}

func TestDefaultPathIsFoundWithoutFlags(t *testing.T) {
	n := newNode(t)
	n.copy(hostpath.KubeletConfig, "kubeadm-default.yaml")
	n.write("/proc/swaps", "Filename Type Size Used Priority\n/swap.img file 4194300 0 -2\n")
	f := only(t, n.run(&Check{}), doctor.Problem)
	if f.Label != "swap on with failSwapOn" || !strings.Contains(f.Detail, "/swap.img") {
		t.Errorf("got %q: %q", f.Label, f.Detail)
	}
}

func TestBrokenConfigIsAProblem(t *testing.T) {
	tests := []struct {
		name, content, label, detail string
	}{
		{"misspelt and miscased fields", "", "unknown field", "ClusterDomain, evictonHard in /k/config.yaml"},
		{"not YAML", "apiVersion: [unclosed\n\tkind: x", "not YAML", ""},
		{"a YAML list", "- a\n- b\n", "not a mapping", ""},
		{"wrong kind", "apiVersion: v1\nkind: ConfigMap\n", "wrong apiVersion/kind", `"ConfigMap"`},
		{"no kind", "clusterDomain: cluster.local\n", "wrong apiVersion/kind", ""},
		{"wrong type", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nclusterDNS: 10.96.0.10\n",
			"does not decode", "clusterDNS"},
		{"duration not a duration", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nsyncFrequency: 1 minute\n",
			"does not decode", "syncFrequency"},
		{"duplicate key", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nrotateCertificates: true\n" +
			"cgroupDriver: systemd\ncgroupDriver: cgroupfs\n", "duplicate field", "cgroupDriver"},
		{"binary junk", "\x00\x01\x02\xff\xfe", "not YAML", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			if tt.content == "" {
				n.copy("/k/config.yaml", "misspelt.yaml")
			} else {
				n.write("/k/config.yaml", tt.content)
			}
			f := only(t, n.run(atConfig("/k/config.yaml")), doctor.Problem)
			if f.Label != tt.label || !strings.Contains(f.Detail, tt.detail) {
				t.Errorf("got %q: %q; want %q containing %q", f.Label, f.Detail, tt.label, tt.detail)
			}
		})
	}
}

func TestMisspeltFieldsAreAllNamed(t *testing.T) {
	b, err := os.ReadFile("testdata/misspelt.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, strict, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(strict, "; ")
	for _, want := range []string{`unknown field "evictonHard"`, `unknown field "ClusterDomain"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("strict errors %q lack %q", joined, want)
		}
	}
}

func TestMissingConfigTheKubeletWasToldAbout(t *testing.T) {
	n := newNode(t)
	f := only(t, n.run(atConfig("/var/lib/kubelet/config.yaml")), doctor.Problem)
	if f.Label != "config missing" || !strings.Contains(f.Detail, "/var/lib/kubelet/config.yaml") {
		t.Errorf("got %q: %q", f.Label, f.Detail)
	}
}

func TestNoKubeletOnTheRootIsNotJudged(t *testing.T) {
	n := newNode(t)
	if fs := n.run(&Check{}); len(fs) != 0 {
		t.Errorf("findings %+v, want none", fs)
	}
}

func TestUnitWithoutConfigFileCannotTell(t *testing.T) {
	n := newNode(t)
	// kubeadm's kubeadm-flags.env alone: the kubelet is there, its --config
	// is not named and no config file is at the default path.
	n.write("/var/lib/kubelet/kubeadm-flags.env", `KUBELET_KUBEADM_ARGS="--node-ip=10.0.0.5"`+"\n")
	f := only(t, n.run(&Check{}), doctor.Unknown)
	if f.Label != "kubelet config not found" {
		t.Errorf("got %q", f.Label)
	}
}

// kubeadm's config with one line changed, then one problem expected.
func TestValidationRules(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		prepare func(n *node)
		label   string
	}{
		{"unknown cgroup driver", sub("cgroupDriver: systemd", "cgroupDriver: system"), nil, "cgroupDriver invalid"},
		{"clusterDNS a name", sub("- 10.96.0.10", "- kube-dns"), nil, "clusterDNS not an IP"},
		{"clusterDomain with underscore", sub("clusterDomain: cluster.local", "clusterDomain: my_cluster.local"), nil, "clusterDomain invalid"},
		{"staticPodPath a file", nil, func(n *node) {
			os.Remove(n.path("/etc/kubernetes/manifests"))
			n.write("/etc/kubernetes/manifests", "x")
		}, "staticPodPath not a directory"},
		{"anonymous with AlwaysAllow", func(s string) string {
			return strings.NewReplacer("enabled: false", "enabled: true", "mode: Webhook", "mode: AlwaysAllow").Replace(s)
		}, nil, "kubelet API open to anyone"},
		{"unknown authorization mode", sub("mode: Webhook", "mode: RBAC"), nil, "authorization mode invalid"},
		{"client CA missing", nil, func(n *node) { os.Remove(n.path("/etc/kubernetes/pki/ca.crt")) }, "clientCAFile missing"},
		{"swap on", nil, func(n *node) {
			n.write("/proc/swaps", "Filename Type Size Used Priority\n/dev/sda2 partition 1000 0 -2\n")
		}, "swap on with failSwapOn"},
		{"rotation off with a rotated cert", sub("rotateCertificates: true", "rotateCertificates: false"), func(n *node) {
			n.write("/var/lib/kubelet/pki/kubelet-client-current.pem", "x")
		}, "rotateCertificates off"},
		{"server bootstrap with its gate off", sub("rotateCertificates: true",
			"rotateCertificates: true\nserverTLSBootstrap: true\nfeatureGates: {RotateKubeletServerCertificate: false}"), nil,
			"serverTLSBootstrap disabled by gate"},
		{"serving cert missing", sub("rotateCertificates: true", "rotateCertificates: true\ntlsCertFile: /x.crt"), nil,
			"serving certificate file missing"},
		{"runtime socket missing", sub(`containerRuntimeEndpoint: ""`, "containerRuntimeEndpoint: unix:///run/crio/crio.sock"), nil,
			"runtime socket missing"},
		{"evictionHard unparsable", sub("rotateCertificates: true", "rotateCertificates: true\nevictionHard: {memory.available: 100MB}"), nil,
			"evictionHard invalid"},
		{"evictionHard unknown signal", sub("rotateCertificates: true", "rotateCertificates: true\nevictionHard: {memory.free: 1Gi}"), nil,
			"evictionHard invalid"},
		{"reserved memory above the node's", sub("rotateCertificates: true",
			"rotateCertificates: true\nkubeReserved: {memory: 4Gi}\nsystemReserved: {memory: 4Gi}"), nil, "reserved memory above node's"},
		{"reserved CPU above the node's", sub("rotateCertificates: true",
			"rotateCertificates: true\nkubeReserved: {cpu: 2500m}\nsystemReserved: {cpu: '2'}"), nil, "reserved CPU above node's"},
		{"enforced reservation without its cgroup", sub("rotateCertificates: true",
			"rotateCertificates: true\nenforceNodeAllocatable: [pods, system-reserved]\nsystemReservedCgroup: /system.slice"), nil,
			"system-reserved cgroup missing"},
		{"containerd 1.7 on cgroupfs, kubelet on systemd", nil, func(n *node) {
			n.copy("/etc/containerd/config.toml", "containerd-1.7.toml")
		}, "cgroup driver mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			b, err := os.ReadFile("testdata/kubeadm-default.yaml")
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			if tt.edit != nil {
				if s = tt.edit(s); s == string(b) {
					t.Fatal("edit changed nothing")
				}
			}
			n.write("/var/lib/kubelet/config.yaml", s)
			if tt.prepare != nil {
				tt.prepare(n)
			}
			f := only(t, n.run(atConfig("/var/lib/kubelet/config.yaml")), doctor.Problem)
			if f.Label != tt.label {
				t.Errorf("got %q: %q, want %q", f.Label, f.Detail, tt.label)
			}
		})
	}
}

func sub(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

func TestRuntimesThatReportTheirDriverAreNotCompared(t *testing.T) {
	tests := []struct{ name, file, at string }{
		{"containerd 2 config", "containerd-2.toml", "/etc/containerd/config.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			n.copy("/var/lib/kubelet/config.yaml", "kubeadm-default.yaml")
			n.copy(tt.at, tt.file)
			only(t, n.run(atConfig("/var/lib/kubelet/config.yaml")), doctor.OK)
		})
	}
	t.Run("CRI-O", func(t *testing.T) {
		n := newNode(t)
		n.write("/var/lib/kubelet/config.yaml", strings.Replace(readTestdata(t, "kubeadm-default.yaml"),
			`containerRuntimeEndpoint: ""`, "containerRuntimeEndpoint: unix:///var/run/crio/crio.sock", 1))
		n.socket("/var/run/crio/crio.sock")
		n.copy("/etc/crio/crio.conf", "crio.conf")
		only(t, n.run(atConfig("/var/lib/kubelet/config.yaml")), doctor.OK)
		rd, ok, err := DetectRuntimeDriver(hostpath.Root(n.root), "unix:///var/run/crio/crio.sock")
		if err != nil || !ok || rd.Driver != "cgroupfs" {
			t.Errorf("CRI-O driver = %+v %v %v, want cgroupfs from crio.conf", rd, ok, err)
		}
	})
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDropInsMergeInOrder(t *testing.T) {
	n := newNode(t)
	n.copy("/var/lib/kubelet/config.yaml", "kubeadm-default.yaml")
	for _, f := range []string{"10-domain.conf", "20-misspelt.conf", "30-not-read.yaml"} {
		n.copy("/etc/kubernetes/kubelet.conf.d/"+f, "config.d/"+f)
	}
	l, err := Load(hostpath.Root(n.root), Files{Config: "/var/lib/kubelet/config.yaml", ConfigDir: "/etc/kubernetes/kubelet.conf.d"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Config.ClusterDomain != "corp.local" {
		t.Errorf("clusterDomain = %q, want the drop-in's corp.local", l.Config.ClusterDomain)
	}
	if len(l.DropIns) != 2 || len(l.Skipped) != 1 {
		t.Errorf("drop-ins %v, skipped %v", l.DropIns, l.Skipped)
	}
	c := &Check{Locate: FixedLocator("/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet.conf.d")}
	f := only(t, n.run(c), doctor.Problem)
	if f.Label != "unknown field" || !strings.Contains(f.Detail, "20-misspelt.conf") || !strings.Contains(f.Detail, "maxPod in") {
		t.Errorf("got %q: %q", f.Label, f.Detail)
	}
}

func TestDrift(t *testing.T) {
	tests := []struct {
		name, config, ref, want string
		status                  doctor.Status
	}{
		{"node matches the kubeadm ConfigMap", "kubeadm-default.yaml", "kubelet-config-configmap.yaml", "", doctor.OK},
		{"node differs from a raw reference", "kubeadm-default.yaml", "reference-corp.yaml",
			"drift: clusterDomain cluster.local!=corp.local, cgroupDriver", doctor.Problem},
		{"EKS node against the kubeadm reference", "eks.json", "kubelet-config-configmap.yaml",
			"drift: clusterDNS 172.20.0.10!=10.96.0.10, serverTLSBootstrap, staticPodPath, cgroupRoot, " +
				"featureGates.RotateKubeletServerCertificate, hairpinMode, protectKernelDefaults, serializeImagePulls, tlsCipherSuites",
			doctor.Problem},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			n.copy("/var/lib/kubelet/config.yaml", tt.config)
			c := &Check{Locate: FixedLocator("/var/lib/kubelet/config.yaml", ""), Reference: filepath.Join("testdata", tt.ref)}
			f := only(t, n.run(c), tt.status)
			if tt.want != "" && f.Label+": "+f.Detail != tt.want {
				t.Errorf("got %q, want %q", f.Label+": "+f.Detail, tt.want)
			}
		})
	}
}

func TestDriftIgnoresNodeSpecificFields(t *testing.T) {
	node := map[string]any{"maxPods": 29.0, "providerID": "aws:///i-1", "clusterDomain": "cluster.local", "syncFrequency": "60s"}
	ref := map[string]any{"maxPods": 110.0, "clusterDomain": "cluster.local"}
	if ds := Drift(node, ref, IgnoreList(nil)); len(ds) != 0 {
		t.Errorf("drift %+v, want none (maxPods, providerID ignored; 60s is the default 1m)", ds)
	}
	if ds := Drift(node, ref, nil); len(ds) != 2 {
		t.Errorf("without the ignore list: %+v, want maxPods and providerID", ds)
	}
	ds := Drift(map[string]any{"clusterDomain": "a.local"}, map[string]any{"clusterDomain": "b.local"}, IgnoreList([]string{"clusterDomain"}))
	if len(ds) != 0 {
		t.Errorf("--drift-ignore clusterDomain: %+v", ds)
	}
}

func TestDefaultIgnoreListNamesRealFields(t *testing.T) {
	for _, d := range defaultIgnore {
		doc := map[string]any{"apiVersion": APIVersion, "kind": Kind, d.Field: nil}
		b, _ := yamlOf(doc)
		if _, strict, err := Decode(b); err != nil || len(strict) != 0 {
			t.Errorf("ignore entry %q is not a KubeletConfiguration field: %v %v", d.Field, err, strict)
		}
		if d.Why == "" {
			t.Errorf("ignore entry %q has no reason", d.Field)
		}
	}
}

func TestBadReferenceCannotTellDrift(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"wrong kind", "apiVersion: apps/v1\nkind: Deployment\n", `kind "apps/v1" "Deployment"`},
		{"ConfigMap without the kubelet key", "apiVersion: v1\nkind: ConfigMap\ndata: {other: x}\n", "no data.kubelet"},
		{"not YAML", "{{{", "not YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			n.copy("/var/lib/kubelet/config.yaml", "kubeadm-default.yaml")
			ref := filepath.Join(t.TempDir(), "ref.yaml")
			if err := os.WriteFile(ref, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			c := &Check{Locate: FixedLocator("/var/lib/kubelet/config.yaml", ""), Reference: ref}
			f := only(t, n.run(c), doctor.Unknown)
			if f.Label != "reference unusable" || !strings.Contains(f.Detail, tt.want) {
				t.Errorf("got %q: %q, want detail with %q", f.Label, f.Detail, tt.want)
			}
		})
	}
}

// kubeadmUnit installs kubeadm's kubelet unit and drop-in, with or
// without its KUBELET_CONFIG_ARGS line.
func (n *node) kubeadmUnit(withConfig bool) {
	n.copy("/usr/lib/systemd/system/kubelet.service", "systemd/kubelet.service")
	dropin := readTestdata(n.t, "systemd/10-kubeadm.conf")
	if !withConfig {
		dropin = strings.Replace(dropin, "Environment=\"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml\"\n", "", 1)
	}
	n.write("/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", dropin)
	n.write("/var/lib/kubelet/kubeadm-flags.env", `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --node-ip=10.0.0.5"`+"\n")
}

func TestConfigNotPropagated(t *testing.T) {
	ref := filepath.Join("testdata", "kubelet-config-configmap.yaml")
	t.Run("kubelet unit without --config", func(t *testing.T) {
		n := newNode(t)
		n.kubeadmUnit(false)
		f := only(t, n.run(&Check{Reference: ref}), doctor.Problem)
		if f.Label != "config not propagated" || !strings.Contains(f.Detail, "no --config") {
			t.Errorf("got %q: %q", f.Label, f.Detail)
		}
	})
	t.Run("on defaults with no reference is fine", func(t *testing.T) {
		n := newNode(t)
		n.kubeadmUnit(false)
		if fs := n.run(&Check{}); len(fs) != 0 {
			t.Errorf("findings %+v, want none", fs)
		}
	})
	t.Run("unit with --config, file there", func(t *testing.T) {
		n := newNode(t)
		n.kubeadmUnit(true)
		n.copy("/var/lib/kubelet/config.yaml", "kubeadm-default.yaml")
		f := only(t, n.run(&Check{Reference: ref}), doctor.OK)
		if !strings.Contains(f.Evidence[0].Text, "systemd unit kubelet.service") {
			t.Errorf("evidence %q", f.Evidence[0].Text)
		}
	})
	t.Run("drop-in directory the kubelet is not told about", func(t *testing.T) {
		n := newNode(t)
		n.kubeadmUnit(true)
		n.copy("/var/lib/kubelet/config.yaml", "kubeadm-default.yaml")
		n.copy("/etc/kubernetes/kubelet.conf.d/10-domain.conf", "config.d/10-domain.conf")
		f := only(t, n.run(&Check{Reference: ref}), doctor.Problem)
		if f.Label != "drop-ins ignored" || !strings.Contains(f.Detail, "/etc/kubernetes/kubelet.conf.d") {
			t.Errorf("got %q: %q", f.Label, f.Detail)
		}
	})
	t.Run("flags override the file", func(t *testing.T) {
		n := newNode(t)
		n.kubeadmUnit(true)
		n.copy("/var/lib/kubelet/config.yaml", "kubeadm-default.yaml")
		n.write("/etc/default/kubelet", `KUBELET_EXTRA_ARGS="--cluster-domain=corp.local"`+"\n")
		f := only(t, n.run(&Check{Reference: ref}), doctor.Problem)
		if f.Label+": "+f.Detail != "drift: clusterDomain corp.local!=cluster.local" {
			t.Errorf("got %q: %q", f.Label, f.Detail)
		}
	})
}

// configMapVolume lays out dir as the kubelet mounts a ConfigMap volume:
// each key a link into ..data, itself a link to a timestamped directory.
// It returns the key's path.
func configMapVolume(t *testing.T, dir, key, testdata string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", testdata))
	if err != nil {
		t.Fatal(err)
	}
	ts := filepath.Join(dir, "..2026_12_02_00_00_00.000000001")
	if err := os.MkdirAll(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, key), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", key), filepath.Join(dir, key)); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, key)
}

func TestOptionalReference(t *testing.T) {
	tests := []struct {
		name     string
		optional bool
		mount    func(t *testing.T, dir string) string // fills the mount directory, returns --reference
		status   doctor.Status
		want     string // in the label, detail or evidence of the one finding
	}{
		{"absent optional reference is healthy and says drift was not checked", true,
			func(_ *testing.T, dir string) string { return filepath.Join(dir, "kubelet") }, doctor.OK, "drift not checked: no reference at"},
		{"absent reference without --reference-optional cannot tell", false,
			func(_ *testing.T, dir string) string { return filepath.Join(dir, "kubelet") }, doctor.Unknown, "no such file or directory"},
		{"optional reference as the kubelet mounts it still finds drift", true,
			func(t *testing.T, dir string) string {
				return configMapVolume(t, dir, "kubelet", "reference-corp.yaml")
			},
			doctor.Problem, "drift: clusterDomain cluster.local!=corp.local, cgroupDriver"},
		{"optional reference that matches says what it was compared with", true,
			func(t *testing.T, dir string) string {
				return configMapVolume(t, dir, "kubelet", "kubelet-config-configmap.yaml")
			},
			doctor.OK, "no drift from ConfigMap kube-system/kubelet-config"},
		{"optional reference that is a directory cannot tell", true,
			func(t *testing.T, dir string) string {
				return made(t, filepath.Join(dir, "kubelet"), os.MkdirAll(filepath.Join(dir, "kubelet"), 0o755))
			},
			doctor.Unknown, "is a directory"},
		{"optional reference that is a loop of links cannot tell", true,
			func(t *testing.T, dir string) string {
				return made(t, filepath.Join(dir, "kubelet"), os.Symlink("kubelet", filepath.Join(dir, "kubelet")))
			},
			doctor.Unknown, "too many levels of symbolic links"},
		{"optional reference under a file cannot tell", true,
			func(t *testing.T, dir string) string {
				return made(t, filepath.Join(dir, "file", "kubelet"), os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))
			},
			doctor.Unknown, "not a directory"},
		{"optional reference that is not a kubelet config cannot tell", true,
			func(t *testing.T, dir string) string {
				return made(t, filepath.Join(dir, "kubelet"), os.WriteFile(filepath.Join(dir, "kubelet"), []byte("{{{"), 0o644))
			},
			doctor.Unknown, "not YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			n.copy("/var/lib/kubelet/config.yaml", "kubeadm-default.yaml")
			dir := filepath.Join(t.TempDir(), "reference")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			ref := tt.mount(t, dir)
			c := &Check{Locate: FixedLocator("/var/lib/kubelet/config.yaml", ""), Reference: ref, ReferenceOptional: tt.optional}
			fs := n.run(c)
			if len(fs) != 1 {
				t.Fatalf("want one finding, got %+v", fs)
			}
			f := fs[0]
			text := f.Label + ": " + f.Detail
			for _, e := range f.Evidence {
				text += "\n" + e.Text
			}
			if f.Status != tt.status || !strings.Contains(text, tt.want) {
				t.Errorf("got %s %s, want %s with %q", f.Status, text, tt.status, tt.want)
			}
			if tt.status == doctor.Unknown && f.Label != "reference unusable" {
				t.Errorf("label %q, want reference unusable", f.Label)
			}
		})
	}
}

// made returns path once the step that made it succeeded.
func made(t *testing.T, path string, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return path
}
