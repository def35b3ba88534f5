package hostpath

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// MaxSymlinks bounds the links one Resolve follows, as the kernel's
// MAXSYMLINKS does: more is a loop.
const MaxSymlinks = 40

// ErrSymlinkLoop is returned when a path has more than MaxSymlinks links.
var ErrSymlinkLoop = errors.New("too many levels of symbolic links")

// Resolve returns the real path of host path p under the root, following
// symlinks component by component as if the root were "/": an absolute link
// target starts again at the root, and ".." never climbs above it. kubeadm's
// pki/kubelet-client-current.pem is an absolute link, and filepath.EvalSymlinks
// would follow it out of a container's --root to the container's own files.
//
// A component that does not exist ends the walk: the rest is appended
// unresolved, so that opening the result fails with the missing path.
func (r Root) Resolve(p string) (string, error) {
	rest := strings.Split(p, "/")
	resolved := "/" // host path, free of symlinks
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, c)
		fi, err := os.Lstat(r.Path(next))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return r.Path(path.Join(append([]string{next}, rest...)...)), nil
		}
		if err != nil {
			return "", fmt.Errorf("resolve %q: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > MaxSymlinks {
			return "", fmt.Errorf("resolve %q: %w", p, ErrSymlinkLoop)
		}
		target, err := os.Readlink(r.Path(next))
		if err != nil {
			return "", fmt.Errorf("resolve %q: %w", p, err)
		}
		if strings.HasPrefix(target, "/") {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return r.Path(resolved), nil
}

// MaxFile is the largest file ReadFile reads: the kubelet's kubeconfigs,
// configs and certificates are a few KiB, and a check must not be made to
// read a huge file by a misplaced path.
const MaxFile = 4 << 20

// ReadFile reads host file p, resolving symlinks inside the root.
func (r Root) ReadFile(p string) ([]byte, error) {
	real, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(b) > MaxFile {
		return nil, fmt.Errorf("read %s: larger than %d bytes", p, MaxFile)
	}
	return b, nil
}

// Stat is os.Stat of host path p, symlinks resolved inside the root.
func (r Root) Stat(p string) (fs.FileInfo, error) {
	real, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	return os.Stat(real)
}
