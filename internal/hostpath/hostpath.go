// Package hostpath resolves host paths under a configurable root, so that the
// same binary works on the host (root "/") and in a container that mounts the
// host's filesystem elsewhere (like node_exporter's --path.rootfs).
package hostpath

import (
	"path/filepath"
	"strings"
)

// Root is the directory under which host paths are resolved.
type Root string

// Default is the root of a program that runs on the host itself.
const Default Root = "/"

// Path returns the host path p resolved under the root. p is always taken as
// absolute: "var/log" and "/var/log" name the same host directory.
func (r Root) Path(p string) string {
	root := string(r)
	if root == "" {
		root = "/"
	}
	// Clean the host path on its own first so that ".." stops at the root.
	return filepath.Join(root, filepath.Clean("/"+strings.TrimPrefix(p, "/")))
}

// Well-known host locations; every other package asks the Root for these
// instead of spelling out the paths.
const (
	PersistentJournal = "/var/log/journal"
	VolatileJournal   = "/run/log/journal"
	KubeletDir        = "/var/lib/kubelet"
	KubeletConfig     = "/var/lib/kubelet/config.yaml"
	StateDir          = "/var/lib/kubelet-doctor"
)
