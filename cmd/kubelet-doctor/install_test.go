package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// self is the running test binary: what install must copy.
func self(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(procSelfExe)
	if err != nil {
		t.Fatalf("read %s: %v", procSelfExe, err)
	}
	return b
}

// entries lists dir, to catch a temporary file left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestInstallCopiesTheRunningBinary(t *testing.T) {
	for _, tc := range []struct {
		name, arg, want string
	}{
		{"to a file path", "plugin", "plugin"},
		{"into a directory as kubelet-doctor", ".", "kubelet-doctor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code, out, errOut := runCmd(t, "", "install", filepath.Join(dir, tc.arg))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			dest := filepath.Join(dir, tc.want)
			if !strings.Contains(out, "installed "+dest) {
				t.Errorf("stdout %q does not name %s", out, dest)
			}
			got, err := os.ReadFile(dest)
			if err != nil || !bytes.Equal(got, self(t)) {
				t.Fatalf("%s is not a copy of the running binary (err %v)", dest, err)
			}
			st, _ := os.Stat(dest)
			if st.Mode().Perm() != 0o755 {
				t.Errorf("mode %v, want 0755", st.Mode().Perm())
			}
			if names := entries(t, dir); len(names) != 1 {
				t.Errorf("directory holds %v, want only %s", names, tc.want)
			}
		})
	}
}

func TestInstallReplacesByRenameNeverInPlace(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "kubelet-doctor")
	if err := os.WriteFile(dest, []byte("old binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A process running the old file keeps its inode: truncating it in place
	// would change what that reader sees (ETXTBSY for a running binary).
	old, err := os.Open(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if code, _, errOut := runCmd(t, "", "install", dest); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, _ := io.ReadAll(old); string(b) != "old binary" {
		t.Errorf("the old file's open handle now reads %d other bytes: it was rewritten in place", len(b))
	}
	if b, _ := os.ReadFile(dest); !bytes.Equal(b, self(t)) {
		t.Error("dest is not the new binary")
	}
}

func TestInstallRejectsBadArguments(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no destination", nil, 2, "usage: kubelet-doctor install DEST"},
		{"two destinations", []string{"a", "b"}, 2, "usage: kubelet-doctor install DEST"},
		{"empty destination", []string{""}, 2, "usage: kubelet-doctor install DEST"},
		{"missing parent directory", []string{filepath.Join(dir, "no", "such", "kubelet-doctor")}, 1, "create a temporary file beside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "", append([]string{"install"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(errOut, tc.wantErr) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tc.wantCode, tc.wantErr)
			}
		})
	}
}

// failingReader fails after some bytes, as a read of a vanished file would.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("read error")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestInstallFailureLeavesDestAndNoTemporary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     io.Reader
		wantErr string
	}{
		{"read error midway", &failingReader{n: 4096}, "read error"},
		{"empty source", strings.NewReader(""), "reads as empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "kubelet-doctor")
			if err := os.WriteFile(dest, []byte("previous"), 0o755); err != nil {
				t.Fatal(err)
			}
			_, _, err := install(tc.src, dest)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if b, _ := os.ReadFile(dest); string(b) != "previous" {
				t.Errorf("dest changed to %d bytes after a failed install", len(b))
			}
			if names := entries(t, dir); len(names) != 1 {
				t.Errorf("directory holds %v after a failed install", names)
			}
		})
	}
}

func TestOpenSelfFallsBackToArgv0(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kd")
	if err := os.WriteFile(bin, []byte("argv0 binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	noProc := filepath.Join(dir, "proc-not-mounted", "exe")
	for _, tc := range []struct {
		name, procExe, argv0, want, wantErr string
	}{
		{"/proc/self/exe when it opens", procSelfExe, bin, "", ""},
		{"argv[0] as a path without /proc", noProc, bin, "argv0 binary", ""},
		{"argv[0] looked up on PATH without /proc", noProc, "kd", "argv0 binary", ""},
		{"neither", noProc, filepath.Join(dir, "gone"), "", "open argv[0]"},
		{"neither and argv[0] empty", noProc, "", "", "argv[0] is empty"},
		{"neither and argv[0] not on PATH", noProc, "gone", "", `find argv[0] "gone"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := openSelf(tc.procExe, tc.argv0)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, _ := io.ReadAll(f)
			want := []byte(tc.want)
			if tc.want == "" {
				want = self(t)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("opened %d bytes that are not %s", len(got), tc.name)
			}
		})
	}
}
