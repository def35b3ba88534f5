package dns

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/kubeletconfig"
)

// kubeadm's config uses /run/systemd/resolve/resolv.conf, as kubeadm writes
// it on a systemd-resolved host.
const kubeadmConfig = "../kubeletconfig/testdata/kubeadm-default.yaml"

func setup(t *testing.T, config string, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	b, err := os.ReadFile(kubeadmConfig)
	if err != nil {
		t.Fatal(err)
	}
	if config == "" {
		config = string(b)
	}
	files["/var/lib/kubelet/config.yaml"] = config
	for p, content := range files {
		full := hostpath.Root(root).Path(p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(content, "testdata/") {
			if b, err = os.ReadFile(content); err != nil {
				t.Fatal(err)
			}
			content = string(b)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func run(t *testing.T, root, ref string) []doctor.Finding {
	t.Helper()
	c := &Check{Locate: kubeletconfig.FixedLocator("/var/lib/kubelet/config.yaml", ""), Reference: ref}
	fs, err := c.Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now(), Log: logrus.New()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return fs
}

func TestDNS(t *testing.T) {
	upstream := "/run/systemd/resolve/resolv.conf"
	manySearch := "search " + strings.Repeat("a.example.com ", 30) + "\nnameserver 10.0.0.2\n"
	longSearch := "search " + strings.Repeat(strings.Repeat("x", 60)+".example.com ", 28) + "\nnameserver 10.0.0.2\n"
	tests := []struct {
		name   string
		config string // "" kubeadm's
		files  map[string]string
		status doctor.Status
		label  string
	}{
		{"kubeadm node on systemd-resolved", "", map[string]string{upstream: "testdata/upstream-resolv.conf"}, doctor.OK, "kubelet's resolv.conf"},
		{"resolvConf missing", "", map[string]string{}, doctor.Problem, "resolv.conf missing"},
		{"resolvConf is the loopback stub", "", map[string]string{upstream: "testdata/stub-resolv.conf"}, doctor.Problem, "loopback nameserver 127.0.0.53"},
		{"four nameservers", "", map[string]string{upstream: "testdata/four-nameservers.conf"}, doctor.Problem, "4 nameservers > 3"},
		{"too many search domains", "", map[string]string{upstream: manySearch}, doctor.Problem, "33 search domains > 32"},
		{"search list too long", "", map[string]string{upstream: longSearch}, doctor.Problem, "search list"},
		{"binary junk", "", map[string]string{upstream: "nameserver 10.0.0.2\n\x00\x01\xff\xfe junk"}, doctor.Problem, "resolv.conf not text"},
		{"clusterDNS unset", strings.Replace(readKubeadm(t), "clusterDNS:\n- 10.96.0.10\n", "", 1),
			map[string]string{upstream: "testdata/upstream-resolv.conf"}, doctor.Problem, "clusterDNS unset"},
		{"clusterDomain unset", strings.Replace(readKubeadm(t), "clusterDomain: cluster.local\n", "", 1),
			map[string]string{upstream: "testdata/upstream-resolv.conf"}, doctor.Problem, "clusterDomain unset"},
		{"resolvConf disabled", strings.Replace(readKubeadm(t), "resolvConf: "+upstream, `resolvConf: ""`, 1),
			map[string]string{}, doctor.OK, "kubelet's resolv.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := run(t, setup(t, tt.config, tt.files), "")
			if len(fs) != 1 || fs[0].Status != tt.status || !strings.HasPrefix(fs[0].Label, tt.label) {
				t.Fatalf("got %+v, want one %s %q", fs, tt.status, tt.label)
			}
		})
	}
}

func TestResolvConfFollowsSymlinkInsideRoot(t *testing.T) {
	root := setup(t, strings.Replace(readKubeadm(t), "resolvConf: /run/systemd/resolve/resolv.conf", "resolvConf: /etc/resolv.conf", 1),
		map[string]string{"/run/systemd/resolve/stub-resolv.conf": "testdata/stub-resolv.conf"})
	// The host's absolute link: outside a --root it would name the
	// machine's own file.
	os.MkdirAll(hostpath.Root(root).Path("/etc"), 0o755)
	if err := os.Symlink("/run/systemd/resolve/stub-resolv.conf", hostpath.Root(root).Path("/etc/resolv.conf")); err != nil {
		t.Fatal(err)
	}
	fs := run(t, root, "")
	if len(fs) != 1 || fs[0].Label != "loopback nameserver 127.0.0.53" {
		t.Fatalf("got %+v", fs)
	}
}

func TestAgainstReference(t *testing.T) {
	tests := []struct{ name, ref, want string }{
		{"kubeadm ConfigMap agrees", "../kubeletconfig/testdata/kubelet-config-configmap.yaml", ""},
		{"reference on corp.local", "../kubeletconfig/testdata/reference-corp.yaml", "clusterDomain cluster.local!=corp.local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := setup(t, "", map[string]string{"/run/systemd/resolve/resolv.conf": "testdata/upstream-resolv.conf"})
			fs := run(t, root, tt.ref)
			got := fmt.Sprint(fs[0].Status, " ", fs[0].Label)
			if tt.want == "" && (len(fs) != 1 || fs[0].Status != doctor.OK) || tt.want != "" && got != "problem "+tt.want {
				t.Fatalf("got %+v, want %q", fs, tt.want)
			}
		})
	}
	t.Run("clusterDNS differs", func(t *testing.T) {
		root := setup(t, "", map[string]string{"/run/systemd/resolve/resolv.conf": "testdata/upstream-resolv.conf"})
		ref := filepath.Join(t.TempDir(), "ref.yaml")
		os.WriteFile(ref, []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nclusterDNS: [10.100.0.10]\nclusterDomain: cluster.local\n"), 0o644)
		fs := run(t, root, ref)
		if len(fs) != 1 || fs[0].Label != "clusterDNS 10.96.0.10!=10.100.0.10" {
			t.Fatalf("got %+v", fs)
		}
	})
}

func TestOptionalReference(t *testing.T) {
	tests := []struct {
		name     string
		ref      func(t *testing.T, dir string) string // the --reference path, made in dir
		optional bool
		status   doctor.Status
		want     string // in the label, detail or evidence of the one finding
	}{
		{"absent optional reference is healthy and says drift was not checked",
			func(_ *testing.T, dir string) string { return filepath.Join(dir, "kubelet") }, true,
			doctor.OK, "drift not checked: no reference at"},
		{"absent reference without --reference-optional cannot tell",
			func(_ *testing.T, dir string) string { return filepath.Join(dir, "kubelet") }, false,
			doctor.Unknown, "no such file or directory"},
		{"present optional reference on another domain is a problem",
			func(t *testing.T, dir string) string {
				return write(t, filepath.Join(dir, "kubelet"), "../kubeletconfig/testdata/reference-corp.yaml")
			}, true, doctor.Problem, "clusterDomain cluster.local!=corp.local"},
		{"present optional reference that agrees says what it was compared with",
			func(t *testing.T, dir string) string {
				return write(t, filepath.Join(dir, "kubelet"), "../kubeletconfig/testdata/kubelet-config-configmap.yaml")
			}, true, doctor.OK, "clusterDomain and clusterDNS match ConfigMap kube-system/kubelet-config"},
		{"optional reference that is a directory cannot tell",
			func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "kubelet")
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
				return p
			}, true, doctor.Unknown, "is a directory"},
		{"optional reference that is a loop of links cannot tell",
			func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "kubelet")
				if err := os.Symlink("kubelet", p); err != nil {
					t.Fatal(err)
				}
				return p
			}, true, doctor.Unknown, "too many levels of symbolic links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := setup(t, "", map[string]string{"/run/systemd/resolve/resolv.conf": "testdata/upstream-resolv.conf"})
			c := &Check{Locate: kubeletconfig.FixedLocator("/var/lib/kubelet/config.yaml", ""),
				Reference: tt.ref(t, t.TempDir()), ReferenceOptional: tt.optional}
			fs, err := c.Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now(), Log: logrus.New()})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(fs) != 1 {
				t.Fatalf("want one finding, got %+v", fs)
			}
			text := fs[0].Label + ": " + fs[0].Detail
			for _, e := range fs[0].Evidence {
				text += "\n" + e.Text
			}
			if fs[0].Status != tt.status || !strings.Contains(text, tt.want) {
				t.Errorf("got %s %s, want %s with %q", fs[0].Status, text, tt.status, tt.want)
			}
		})
	}
}

// write copies the file from into p and returns p.
func write(t *testing.T, p, from string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnloadableConfigCannotTell(t *testing.T) {
	root := setup(t, "not: [yaml", map[string]string{})
	c := &Check{Locate: kubeletconfig.FixedLocator("/var/lib/kubelet/config.yaml", "")}
	_, err := c.Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now(), Log: logrus.New()})
	if err == nil || doctor.CannotTell(err) != "kubelet config unusable" {
		t.Fatalf("err %v (%q), want kubelet config unusable", err, doctor.CannotTell(err))
	}
}

func readKubeadm(t *testing.T) string {
	b, err := os.ReadFile(kubeadmConfig)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func FuzzParseResolvConf(f *testing.F) {
	for _, p := range []string{"testdata/stub-resolv.conf", "testdata/upstream-resolv.conf", "testdata/four-nameservers.conf"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rc, err := ParseResolvConf(b)
		if err != nil {
			return
		}
		// As the kubelet: a lone "." is dropped and one trailing dot is
		// trimmed, so only "search .." keeps "." (found by this target).
		for _, s := range rc.Searches {
			if s == "" || (s == "." && !strings.Contains(string(b), "..")) {
				t.Fatalf("search kept %q", s)
			}
		}
		_ = limits("/etc/resolv.conf", rc, "cluster.local")
	})
}
