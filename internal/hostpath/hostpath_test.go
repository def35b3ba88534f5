package hostpath

import "testing"

func TestPathResolvesUnderRoot(t *testing.T) {
	tests := []struct {
		name string
		root Root
		in   string
		want string
	}{
		{"host root keeps the path", "/", "/var/log/journal", "/var/log/journal"},
		{"empty root is the host root", "", "/var/lib/kubelet", "/var/lib/kubelet"},
		{"container root prefixes", "/host", "/var/log/journal", "/host/var/log/journal"},
		{"relative input is taken as absolute", "/host", "run/log/journal", "/host/run/log/journal"},
		{"dot-dot cannot escape the root", "/host", "/../etc/shadow", "/host/etc/shadow"},
		{"trailing slash on root", "/host/", "/x", "/host/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.root.Path(tt.in); got != tt.want {
				t.Errorf("Root(%q).Path(%q) = %q, want %q", tt.root, tt.in, got, tt.want)
			}
		})
	}
}
