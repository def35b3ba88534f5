package hostpath

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// layout builds a root with a kubeadm-like pki directory and a file outside
// the root that an escaping link would reach.
func layout(t *testing.T) (Root, string) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	pki := filepath.Join(root, "var/lib/kubelet/pki")
	must(os.MkdirAll(pki, 0o755))
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(pki, "kubelet-client-2026.pem"), []byte("inside"), 0o600))
	must(os.WriteFile(filepath.Join(root, "etc/secret"), []byte("inside etc"), 0o600))
	must(os.WriteFile(filepath.Join(base, "secret"), []byte("outside"), 0o600))
	must(os.Mkdir(filepath.Join(base, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(base, "etc/secret"), []byte("outside etc"), 0o600))
	links := map[string]string{
		"var/lib/kubelet/pki/kubelet-client-current.pem": "/var/lib/kubelet/pki/kubelet-client-2026.pem",
		"var/lib/kubelet/pki/relative.pem":               "kubelet-client-2026.pem",
		"var/lib/kubelet/pki/loop-a":                     "loop-b",
		"var/lib/kubelet/pki/loop-b":                     "/var/lib/kubelet/pki/loop-a",
		"var/lib/kubelet/pki/self":                       "self",
		"var/lib/kubelet/pki/escape-dotdot":              "../../../../../../secret",
		"var/lib/kubelet/pki/escape-abs-dotdot":          "/../../etc/secret",
		"var/lib/kubelet/pki/dangling.pem":               "/var/lib/kubelet/pki/kubelet-client-gone.pem",
		"var/lib/kubelet/pkidir":                         "/var/lib/kubelet/pki",
		"etc/kubelet-link":                               "../var/lib/kubelet/pkidir/relative.pem",
	}
	for name, target := range links {
		must(os.Symlink(target, filepath.Join(root, name)))
	}
	return Root(root), base
}

func TestResolveFollowsLinksInsideRoot(t *testing.T) {
	root, _ := layout(t)
	tests := []struct {
		name string
		in   string
		want string // host path the result must be under the root
		body string // file content expected, "" for no read
	}{
		{"absolute link starts again at the root", "/var/lib/kubelet/pki/kubelet-client-current.pem", "/var/lib/kubelet/pki/kubelet-client-2026.pem", "inside"},
		{"relative link is relative to its directory", "/var/lib/kubelet/pki/relative.pem", "/var/lib/kubelet/pki/kubelet-client-2026.pem", "inside"},
		{"link to a directory in the middle of the path", "/var/lib/kubelet/pkidir/relative.pem", "/var/lib/kubelet/pki/kubelet-client-2026.pem", "inside"},
		{"chain of links through a directory link", "/etc/kubelet-link", "/var/lib/kubelet/pki/kubelet-client-2026.pem", "inside"},
		{"dot-dot in a relative link stops at the root", "/var/lib/kubelet/pki/escape-dotdot", "/secret", ""},
		{"dot-dot in an absolute link stops at the root", "/var/lib/kubelet/pki/escape-abs-dotdot", "/etc/secret", "inside etc"},
		{"dot-dot in the input stops at the root", "/../../etc/secret", "/etc/secret", "inside etc"},
		{"dot-dot after a directory link climbs from the link's target", "/var/lib/kubelet/pkidir/../pki/relative.pem", "/var/lib/kubelet/pki/kubelet-client-2026.pem", "inside"},
		{"dangling link resolves to its missing target", "/var/lib/kubelet/pki/dangling.pem", "/var/lib/kubelet/pki/kubelet-client-gone.pem", ""},
		{"missing component keeps the rest", "/nope/a/b", "/nope/a/b", ""},
		{"relative input is taken as absolute", "var/lib/kubelet/pki/relative.pem", "/var/lib/kubelet/pki/kubelet-client-2026.pem", "inside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := root.Resolve(tt.in)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.in, err)
			}
			if want := root.Path(tt.want); got != want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.in, got, want)
			}
			if tt.body != "" {
				b, err := root.ReadFile(tt.in)
				if err != nil || string(b) != tt.body {
					t.Errorf("ReadFile(%q) = %q, %v; want %q", tt.in, b, err, tt.body)
				}
			}
		})
	}
}

func TestResolveNeverReadsOutsideRoot(t *testing.T) {
	root, _ := layout(t)
	// The escaping link's target does not exist inside the root: reading it
	// must fail rather than return the file outside.
	if b, err := root.ReadFile("/var/lib/kubelet/pki/escape-dotdot"); err == nil {
		t.Fatalf("read through an escaping link returned %q", b)
	}
}

func TestResolveRefusesLoops(t *testing.T) {
	root, _ := layout(t)
	for _, p := range []string{"/var/lib/kubelet/pki/loop-a", "/var/lib/kubelet/pki/self", "/var/lib/kubelet/pki/loop-b/x"} {
		if got, err := root.Resolve(p); !errors.Is(err, ErrSymlinkLoop) {
			t.Errorf("Resolve(%q) = %q, %v; want a symlink loop error", p, got, err)
		}
	}
}

func TestReadFileRefusesDirectoryAndHugeFile(t *testing.T) {
	root, _ := layout(t)
	if _, err := root.ReadFile("/var/lib/kubelet/pki"); err == nil {
		t.Error("reading a directory succeeded")
	}
	big := root.Path("/big")
	if err := os.WriteFile(big, make([]byte, MaxFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := root.ReadFile("/big"); err == nil {
		t.Error("reading a file over MaxFile succeeded")
	}
}
