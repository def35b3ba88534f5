package hostpaths

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// kubeadmNode lays out a kubeadm worker's kubelet paths with their real
// modes.
func kubeadmNode(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"/var/lib/kubelet/pki", "/var/lib/kubelet/pods", "/var/lib/kubelet/plugins", "/var/log/pods", "/etc/kubernetes"} {
		if err := os.MkdirAll(hostpath.Root(root).Path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, mode := range map[string]os.FileMode{
		"/etc/kubernetes/kubelet.conf":                          0o600,
		"/var/lib/kubelet/config.yaml":                          0o644,
		"/var/lib/kubelet/pki/kubelet.crt":                      0o644,
		"/var/lib/kubelet/pki/kubelet.key":                      0o600,
		"/var/lib/kubelet/pki/kubelet-client-2026-12-01-10.pem": 0o600,
	} {
		full := hostpath.Root(root).Path(p)
		if err := os.WriteFile(full, []byte("apiVersion: v1\n"), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(full, mode) // past the umask
	}
	link := hostpath.Root(root).Path("/var/lib/kubelet/pki/kubelet-client-current.pem")
	if err := os.Symlink("/var/lib/kubelet/pki/kubelet-client-2026-12-01-10.pem", link); err != nil {
		t.Fatal(err)
	}
	return root
}

func run(t *testing.T, root string) []doctor.Finding {
	t.Helper()
	fs, err := (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now(), Log: logrus.New()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return fs
}

func TestHostPaths(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(root hostpath.Root) error
		label  string
	}{
		{"kubeadm node", func(hostpath.Root) error { return nil }, ""},
		{"pods dir missing", func(r hostpath.Root) error { return os.Remove(r.Path("/var/lib/kubelet/pods")) }, "missing /var/lib/kubelet/pods"},
		{"pod logs dir a file", func(r hostpath.Root) error {
			os.Remove(r.Path("/var/log/pods"))
			return os.WriteFile(r.Path("/var/log/pods"), nil, 0o644)
		}, "not a directory: /var/log/pods"},
		{"plugins world-writable", func(r hostpath.Root) error { return os.Chmod(r.Path("/var/lib/kubelet/plugins"), 0o777) },
			"world-writable: /var/lib/kubelet/plugins"},
		{"pki owned by a user", func(r hostpath.Root) error { return os.Chown(r.Path("/var/lib/kubelet/pki"), 1000, 1000) },
			"owner uid 1000: /var/lib/kubelet/pki"},
		{"kubelet.conf readable by all", func(r hostpath.Root) error { return os.Chmod(r.Path("/etc/kubernetes/kubelet.conf"), 0o644) },
			"readable by others"},
		{"rotated client key readable by all", func(r hostpath.Root) error {
			return os.Chmod(r.Path("/var/lib/kubelet/pki/kubelet-client-2026-12-01-10.pem"), 0o644)
		}, "readable by others"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := kubeadmNode(t)
			if err := tt.break_(hostpath.Root(root)); err != nil {
				t.Fatal(err)
			}
			fs := run(t, root)
			want := doctor.Problem
			if tt.label == "" {
				want = doctor.OK
			}
			if len(fs) == 0 || fs[0].Status != want || !strings.HasPrefix(fs[0].Label, tt.label) {
				t.Fatalf("got %+v, want %s %q", fs, want, tt.label)
			}
		})
	}
}

// A real read-only mount (tmpfs, ro): needs CAP_SYS_ADMIN, as CI's root has.
func TestReadOnlyFilesystem(t *testing.T) {
	root := kubeadmNode(t)
	pods := hostpath.Root(root).Path("/var/lib/kubelet/pods")
	if err := unix.Mount("tmpfs", pods, "tmpfs", unix.MS_RDONLY, "mode=0755"); err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("mount needs CAP_SYS_ADMIN: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(pods, unix.MNT_DETACH) })
	fs := run(t, root)
	if len(fs) != 1 || fs[0].Label != "read-only fs: /var/lib/kubelet/pods" {
		t.Fatalf("got %+v", fs)
	}
}

func TestNoKubeletNoFinding(t *testing.T) {
	if fs := run(t, t.TempDir()); len(fs) != 0 {
		t.Fatalf("got %+v, want nothing on a root without a kubelet", fs)
	}
}
