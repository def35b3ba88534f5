package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// procSelfExe is the running binary as the kernel knows it: it opens the
// executed inode even when the path it was started from has changed since.
const procSelfExe = "/proc/self/exe"

// runInstall copies the running binary to DEST. The image's init container
// runs it to put kubelet-doctor where NPD's configs expect it, so the image
// needs neither a shell nor cp. DEST is a path in the caller's own mount
// namespace (an emptyDir in the pod), not a host path, hence no --root.
func runInstall(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kubelet-doctor install DEST")
		fmt.Fprintln(stderr, "\nCopies this binary to DEST (a file, or a directory to put kubelet-doctor in),")
		fmt.Fprintln(stderr, "atomically: a reader of DEST sees the old file or the whole new one, never a part.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		fs.Usage()
		return 2
	}
	src, err := openSelf(procSelfExe, os.Args[0])
	if err != nil {
		fmt.Fprintf(stderr, "kubelet-doctor install: %v\n", err)
		return 1
	}
	defer src.Close()
	dest, n, err := install(src, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "kubelet-doctor install: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "installed %s (%d bytes)\n", dest, n)
	return 0
}

// openSelf opens the running binary: procExe first, argv0 when /proc is not
// mounted (argv0 without a slash was found on PATH, as the shell did).
func openSelf(procExe, argv0 string) (*os.File, error) {
	f, procErr := os.Open(procExe)
	if procErr == nil {
		return f, nil
	}
	p := argv0
	if p == "" {
		return nil, fmt.Errorf("open the running binary: %w, and argv[0] is empty", procErr)
	}
	if !strings.Contains(p, "/") {
		found, err := exec.LookPath(p)
		if err != nil {
			return nil, fmt.Errorf("open the running binary: %w; find argv[0] %q: %w", procErr, p, err)
		}
		p = found
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open the running binary: %w; open argv[0]: %w", procErr, err)
	}
	return f, nil
}

// install copies src to dest (dest/kubelet-doctor when dest is a
// directory) through a temporary file in the same directory: written,
// chmod 0755, fsynced, renamed over dest, then the directory fsynced so the
// rename survives a crash. It returns the path written and its size.
func install(src io.Reader, dest string) (string, int64, error) {
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		dest = filepath.Join(dest, "kubelet-doctor")
	}
	dir := filepath.Dir(dest)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return "", 0, fmt.Errorf("create a temporary file beside %q: %w", dest, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, src)
	if err != nil {
		return "", 0, fmt.Errorf("copy the binary to %q: %w", tmp.Name(), err)
	}
	if n == 0 {
		return "", 0, errors.New("the running binary reads as empty")
	}
	if err := tmp.Chmod(0o755); err != nil {
		return "", 0, fmt.Errorf("chmod %q: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("fsync %q: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("close %q: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return "", 0, fmt.Errorf("rename %q to %q: %w", tmp.Name(), dest, err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return "", 0, err
	}
	return dest, n, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %q to fsync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %q: %w", dir, err)
	}
	return nil
}
