//go:build cgo

package journal

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
	"github.com/sirupsen/logrus"
)

// The test binary doubles as a helper process (see runHelper): tests run as
// root, and "unreadable" needs another user, "no libsystemd" another mount
// namespace.
const (
	helperEnv     = "KD_JOURNAL_TEST_HELPER" // "open" or "nolib"
	helperDirsEnv = "KD_JOURNAL_TEST_DIRS"   // os.PathListSeparator-separated
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	// Warnings are asserted through a hook (see logged); keep output clean.
	logrus.SetOutput(io.Discard)
	code := m.Run()
	for _, d := range []string{benchDir, coldDir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

// helperResult is what a helper process reports on stdout.
type helperResult struct {
	Kind    string // sentinel the error wraps: "ErrUnreadable", ..., "" for none
	Err     string
	Entries int
	Skip    string // the helper could not set up its situation
}

func helperMain(mode string) int {
	var res helperResult
	defer func() { json.NewEncoder(os.Stdout).Encode(res) }()
	if mode == "nolib" {
		// In a fresh mount namespace (Unshareflags; Go makes / private):
		// hide every libsystemd the dynamic loader could find.
		var libs []string
		seen := map[string]bool{}
		for _, pat := range []string{"/usr/lib/*/libsystemd.so*", "/lib/*/libsystemd.so*", "/usr/lib/libsystemd.so*", "/lib/libsystemd.so*", "/usr/lib64/libsystemd.so*"} {
			ms, _ := filepath.Glob(pat)
			for _, m := range ms {
				if real, err := filepath.EvalSymlinks(m); err == nil && !seen[real] {
					seen[real] = true
					libs = append(libs, real)
				}
			}
		}
		if len(libs) == 0 {
			res.Skip = "no libsystemd found to hide"
			return 0
		}
		for _, l := range libs {
			if err := syscall.Mount("/dev/null", l, "", syscall.MS_BIND, ""); err != nil {
				res.Skip = fmt.Sprintf("bind-mount /dev/null over %s: %v", l, err)
				return 0
			}
		}
	}
	if spare, ok := strings.CutPrefix(mode, "emfile-"); ok {
		// Leave this many descriptors free: 0 fails the first open of a
		// journal file, 1 fails loading libsystemd after it. A pipe first:
		// Go's poller takes its descriptors at the first open.
		pr, pw, err := os.Pipe()
		if err != nil {
			res.Skip = err.Error()
			return 0
		}
		defer pr.Close()
		defer pw.Close()
		// The limit bounds descriptor numbers: fill the gaps below the
		// highest one first.
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			res.Skip = err.Error()
			return 0
		}
		high := 0
		for _, fd := range fds {
			if n, err := strconv.Atoi(fd.Name()); err == nil && n > high {
				high = n
			}
		}
		var fillers []*os.File
		defer func() { runtime.KeepAlive(fillers) }()
		for {
			f, err := os.Open(os.DevNull)
			if err != nil {
				res.Skip = err.Error()
				return 0
			}
			if int(f.Fd()) > high {
				f.Close()
				break
			}
			fillers = append(fillers, f)
		}
		n := uint64(high + 1 + int(spare[0]-'0'))
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
			res.Skip = err.Error()
			return 0
		}
	}
	dirs := filepath.SplitList(os.Getenv(helperDirsEnv))
	r, err := Open(dirs, DefaultMatch())
	if err == nil {
		_, err = r.Read(context.Background(), Query{}, func(Entry) error { res.Entries++; return nil })
		r.Close()
	}
	if err != nil {
		res.Err = err.Error()
		for _, s := range []struct {
			name string
			err  error
		}{{"ErrUnreadable", ErrUnreadable}, {"ErrNoJournal", ErrNoJournal}, {"ErrNoLibrary", ErrNoLibrary}, {"ErrBadCursor", ErrBadCursor}} {
			if errors.Is(err, s.err) {
				res.Kind = s.name
			}
		}
		if res.Kind == "" {
			res.Kind = "other"
		}
	}
	return 0
}

// runHelper runs the test binary in helper mode with the given process
// attributes. The binary is copied into a world-readable directory so that
// another user can run it.
func runHelper(t *testing.T, mode string, attr *syscall.SysProcAttr, dirs ...string) helperResult {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := worldDir(t)
	bin := filepath.Join(base, "journal.test")
	copyFile(t, self, bin, 0o755)
	cmd := exec.Command(bin)
	cmd.Dir = base
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirsEnv+"="+strings.Join(dirs, string(os.PathListSeparator)))
	cmd.SysProcAttr = attr
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper %s: %v\nstderr: %s", mode, err, stderr.String())
	}
	var res helperResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	if res.Skip != "" {
		t.Skipf("helper cannot set up: %s", res.Skip)
	}
	return res
}

// worldDir returns a new directory that every user can traverse (t.TempDir
// is 0700 under a 0700 parent).
func worldDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "kd-journal-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func requireRemote(t testing.TB) {
	t.Helper()
	if err := journalexport.Available(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// write appends entries to a journal file, creating it.
func write(t testing.TB, file string, entries ...journalexport.Entry) {
	t.Helper()
	requireRemote(t)
	if err := journalexport.Append(file, entries); err != nil {
		t.Fatal(err)
	}
}

// kubelets returns n kubelet entries, one per second from start, named
// prefix0, prefix1...
func kubelets(start time.Time, prefix string, n int) []journalexport.Entry {
	es := make([]journalexport.Entry, n)
	for i := range es {
		es[i] = journalexport.Kubelet(start.Add(time.Duration(i)*time.Second), fmt.Sprintf("%s%d", prefix, i))
	}
	return es
}

func open(t *testing.T, m Match, dirs ...string) Reader {
	t.Helper()
	r, err := Open(dirs, m)
	if err != nil {
		t.Fatalf("Open(%v): %v", dirs, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readAll reads q and returns the messages joined by spaces.
func readAll(t *testing.T, r Reader, q Query) (string, string) {
	t.Helper()
	got, c, err := collect(t, r, q)
	if err != nil {
		t.Fatalf("Read(%+v): %v", q, err)
	}
	return strings.Join(got, " "), c
}

// header reads the little-endian integer at off in a journal file header.
func header(t *testing.T, file string, off, size int) []byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, int64(off)); err != nil {
		t.Fatal(err)
	}
	return b
}

// archive renames an active journal file the way journald names rotated
// files: system@<seqnum_id>-<head_seqnum>-<head_realtime>.journal.
func archive(t *testing.T, file string) string {
	t.Helper()
	seqID := hex.EncodeToString(header(t, file, 72, 16))
	headSeq := binary.LittleEndian.Uint64(header(t, file, 168, 8))
	headRT := binary.LittleEndian.Uint64(header(t, file, hdrHeadRealtime, 8))
	to := filepath.Join(filepath.Dir(file), fmt.Sprintf("system@%s-%016x-%016x.journal", seqID, headSeq, headRT))
	if err := os.Rename(file, to); err != nil {
		t.Fatal(err)
	}
	setMtime(t, to, archiveMtime(t, to))
	return to
}

// archiveMtime is the mtime journald's rotation leaves on an archive: a
// second after its last entry (tail_entry_realtime), when it was offlined.
func archiveMtime(t *testing.T, file string) time.Time {
	t.Helper()
	return time.UnixMicro(int64(binary.LittleEndian.Uint64(header(t, file, hdrTailRealtime, 8)))).Add(time.Second)
}

func setMtime(t *testing.T, file string, mtime time.Time) {
	t.Helper()
	if err := os.Chtimes(file, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

const machineID = "3d1219c7c4c5404aaa1f6d2a48adfda4"

func TestMatchSelectsKubeletEntries(t *testing.T) {
	dir := t.TempDir()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	userUnit := journalexport.Logger(at(13), 1000, "kubelet", "user-unit")
	userUnit.Unit = "user@1000.service"
	userUnit.Fields["_SYSTEMD_USER_UNIT"] = "kubelet.service"
	userUnit.Fields["_TRANSPORT"] = "stdout"
	write(t, filepath.Join(dir, machineID, "system.journal"),
		journalexport.Kubelet(at(0), "k-unit"),
		journalexport.Entry{Time: at(1), Message: "k-ident", Identifier: "kubelet", Unit: "session-3.scope", PID: 777},
		journalexport.Systemd(at(2), "kubelet.service", "pid1-kubelet"),
		journalexport.Unit(at(3), "containerd.service", "containerd", "containerd"),
		journalexport.Entry{Time: at(4), Message: "fake-pid1", Unit: "foo.service", Identifier: "foo", PID: 1000, AboutUnit: "kubelet.service"},
		journalexport.Systemd(at(5), "containerd.service", "pid1-containerd"),
		journalexport.Unit(at(6), "k3s.service", "k3s", "k3s-unit"),
		journalexport.Entry{Time: at(7), Message: "k3s-ident", Identifier: "k3s", Unit: "session-1.scope", PID: 55},
		journalexport.Systemd(at(8), "k3s.service", "pid1-k3s"),
		journalexport.Entry{Time: at(9), Message: "kernel", Identifier: "kernel", Fields: map[string]string{"_TRANSPORT": "kernel"}},
		// Forgeries: what a local user, a kmsg line or an audit record can make.
		journalexport.Logger(at(10), 1000, "kubelet", "logger-uid-1000"),
		journalexport.Entry{Time: at(11), Message: "kmsg-kubelet", Identifier: "kubelet", Fields: map[string]string{"_TRANSPORT": "kernel"}},
		journalexport.Entry{Time: at(12), Message: "pid1-not-root", Unit: "init.scope", PID: 1, AboutUnit: "kubelet.service", Fields: map[string]string{"_UID": "1000"}},
		userUnit,
	)
	tests := []struct {
		name  string
		match Match
		want  string
	}{
		{"default: the unit's and PID 1's entries about the unit", DefaultMatch(), "k-unit pid1-kubelet"},
		{"zero Match means DefaultMatch()", Match{}, "k-unit pid1-kubelet"},
		{"identifier, from root only", Match{Identifiers: []string{"kubelet"}}, "k-unit k-ident pid1-kubelet"},
		{"custom unit and identifier (k3s)", Match{Units: []string{"k3s.service"}, Identifiers: []string{"k3s"}}, "k3s-unit k3s-ident pid1-k3s"},
		{"custom unit alone", Match{Units: []string{"k3s.service"}}, "k3s-unit pid1-k3s"},
		{"several units", Match{Units: []string{"kubelet.service", "k3s.service"}, Identifiers: []string{"kubelet"}}, "k-unit k-ident pid1-kubelet k3s-unit pid1-k3s"},
		{"empty strings are ignored", Match{Units: []string{""}, Identifiers: []string{"", "k3s"}}, "k-unit pid1-kubelet k3s-unit k3s-ident"},
		{"a rootless kubelet's uid trusts its identifier entries, not root's", Match{Identifiers: []string{"kubelet"}, IdentifierUIDs: []string{"1000"}}, "k-unit pid1-kubelet logger-uid-1000 user-unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := readAll(t, open(t, tt.match, dir), Query{}); got != tt.want {
				t.Fatalf("read %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("agrees with journalctl -u for the unit part, which does not ask PID 1 for uid 0", func(t *testing.T) {
		if _, err := exec.LookPath("journalctl"); err != nil {
			t.Skip(err)
		}
		out, err := exec.Command("journalctl", "-D", dir, "-u", "kubelet.service", "-o", "cat", "--no-pager").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(strings.Fields(string(out)), " "); got != "k-unit pid1-kubelet pid1-not-root" {
			t.Fatalf("journalctl -u kubelet.service: %q", got)
		}
	})
}

func TestReadWindowEdges(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "k", 5)...)
	r := open(t, DefaultMatch(), dir)
	tests := []struct {
		name  string
		since time.Time
		want  string
	}{
		{"zero since reads from the head", time.Time{}, "k0 k1 k2 k3 k4"},
		{"since before the head", t0.Add(-time.Hour), "k0 k1 k2 k3 k4"},
		{"since exactly on an entry includes it", t0.Add(2 * time.Second), "k2 k3 k4"},
		{"since 1µs after an entry excludes it", t0.Add(2*time.Second + time.Microsecond), "k3 k4"},
		{"since 1ns after an entry excludes it", t0.Add(2*time.Second + time.Nanosecond), "k3 k4"},
		{"since 1µs before an entry includes it", t0.Add(2*time.Second - time.Microsecond), "k2 k3 k4"},
		{"since after the tail reads nothing", t0.Add(time.Hour), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, c := readAll(t, r, Query{Since: tt.since})
			if got != tt.want {
				t.Fatalf("read %q, want %q", got, tt.want)
			}
			if got == "" && c != "" {
				t.Fatalf("cursor %q after reading nothing, want empty", c)
			}
		})
	}
}

func TestCursorResumesAfterAppend(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "system.journal")
	write(t, file, kubelets(t0, "a", 5)...)
	got, c := readAll(t, open(t, DefaultMatch(), dir), Query{})
	if got != "a0 a1 a2 a3 a4" || c == "" {
		t.Fatalf("first read %q cursor %q", got, c)
	}
	write(t, file, kubelets(t0.Add(time.Minute), "b", 3)...)
	r := open(t, DefaultMatch(), dir)
	got, c2 := readAll(t, r, Query{Cursor: c})
	if got != "b0 b1 b2" {
		t.Fatalf("resumed read %q, want only the new entries", got)
	}
	got, c3 := readAll(t, r, Query{Cursor: c2})
	if got != "" || c3 != c2 {
		t.Fatalf("read at the tail: %q cursor %q, want nothing and the same cursor", got, c3)
	}
	// Pages of 3 give the whole journal once, in order.
	var pages []string
	cur := ""
	for i := 0; i < 10; i++ {
		page, next := readAll(t, r, Query{Cursor: cur, Limit: 3})
		if page == "" {
			break
		}
		pages = append(pages, page)
		cur = next
	}
	if all := strings.Join(pages, " "); all != "a0 a1 a2 a3 a4 b0 b1 b2" {
		t.Fatalf("paged read %q", all)
	}
}

func TestCursorOfRemovedEntryResumesAtNearestLater(t *testing.T) {
	dir := filepath.Join(t.TempDir(), machineID)
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "old", 5)...)
	archived := archive(t, filepath.Join(dir, "system.journal"))
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0.Add(time.Minute), "new", 3)...)

	r := open(t, DefaultMatch(), dir)
	_, c := readAll(t, r, Query{Limit: 3}) // cursor names old2, in the archive
	if got, _ := readAll(t, r, Query{Cursor: c}); got != "old3 old4 new0 new1 new2" {
		t.Fatalf("resume with the archive present: %q", got)
	}
	r.Close()
	if err := os.Remove(archived); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, open(t, DefaultMatch(), dir), Query{Cursor: c})
	if got != "new0 new1 new2" {
		t.Fatalf("resume after the cursor's file was removed: %q, want every remaining entry", got)
	}
}

func TestMalformedCursor(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "k", 2)...)
	r := open(t, DefaultMatch(), dir)
	for _, c := range []string{"garbage", "memory;i=3;t=64bb72f01a800"} {
		t.Run(c, func(t *testing.T) {
			n := 0
			got, err := r.Read(context.Background(), Query{Cursor: c}, func(Entry) error { n++; return nil })
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("err = %v, want ErrBadCursor", err)
			}
			if n != 0 || got != c {
				t.Fatalf("read %d entries, cursor %q", n, got)
			}
		})
	}
}

func TestFilesAndDirsMergeInTimeOrder(t *testing.T) {
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	e := func(i int) journalexport.Entry { return journalexport.Kubelet(at(i), fmt.Sprint(i)) }
	persistent := t.TempDir()
	volatile := t.TempDir()
	pm := filepath.Join(persistent, machineID)
	write(t, filepath.Join(pm, "system.journal"), e(1), e(4), e(7))
	archive(t, filepath.Join(pm, "system.journal"))
	write(t, filepath.Join(pm, "system.journal"), e(2), e(5), e(8))
	write(t, filepath.Join(volatile, "0123456789abcdef0123456789abcdef", "system.journal"), e(3), e(6), e(9))
	// journald's name for a file it found corrupt and set aside: still read.
	write(t, filepath.Join(volatile, "tmp.journal"), e(10))
	if err := os.Rename(filepath.Join(volatile, "tmp.journal"), filepath.Join(volatile, "system@0000-0000.journal~")); err != nil {
		t.Fatal(err)
	}
	// Not where sd_journal looks: ignored.
	write(t, filepath.Join(persistent, "foo", "system.journal"), e(11))

	got, _ := readAll(t, open(t, DefaultMatch(), persistent, volatile), Query{})
	if got != "1 2 3 4 5 6 7 8 9 10" {
		t.Fatalf("merged read %q", got)
	}
	// The same files reached twice are read once.
	got, _ = readAll(t, open(t, DefaultMatch(), persistent, volatile, pm, volatile+"/."), Query{})
	if got != "1 2 3 4 5 6 7 8 9 10" {
		t.Fatalf("read with dirs given twice %q", got)
	}
	if got, _ := readAll(t, open(t, DefaultMatch(), persistent, volatile), Query{Since: at(5)}); got != "5 6 7 8 9 10" {
		t.Fatalf("merged read since 5: %q", got)
	}
}

// fileOffset returns the offset of the first occurrence of s in file.
func fileOffset(t *testing.T, file, s string) int64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), s)
	if i < 0 {
		t.Fatalf("%q not in %s", s, file)
	}
	return int64(i)
}

// corrupt overwrites n bytes at off with seeded random bytes.
func corrupt(t *testing.T, file string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesWhatSdJournalWouldSilentlySkip(t *testing.T) {
	requireRemote(t)
	good := func(t *testing.T, dir string) string {
		f := filepath.Join(dir, "system.journal")
		write(t, f, kubelets(t0, "k", 3)...)
		return f
	}
	truncate := func(t *testing.T, f string, size int64) {
		if err := os.Truncate(f, size); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) []string // returns the dirs to open
		want    error
		mention string
	}{
		{"missing directory", func(t *testing.T, dir string) []string {
			return []string{filepath.Join(dir, "var/log/journal"), filepath.Join(dir, "run/log/journal")}
		}, ErrNoJournal, "var/log/journal"},
		{"one of two directories missing", func(t *testing.T, dir string) []string {
			good(t, dir)
			return []string{dir, filepath.Join(dir, "nope")}
		}, ErrNoJournal, "nope"},
		{"no directories", func(t *testing.T, dir string) []string { return nil }, ErrNoJournal, ""},
		{"empty directory", func(t *testing.T, dir string) []string { return []string{dir} }, ErrNoJournal, "no *.journal files"},
		{"only files sd_journal ignores", func(t *testing.T, dir string) []string {
			f := good(t, filepath.Join(dir, "foo"))
			copyFile(t, f, filepath.Join(dir, "x.log"), 0o640)
			return []string{dir}
		}, ErrNoJournal, ""},
		{"path is a file", func(t *testing.T, dir string) []string { return []string{good(t, dir)} }, ErrNoJournal, "not a directory"},
		{"truncated to half", func(t *testing.T, dir string) []string {
			f := good(t, dir)
			truncate(t, f, 4<<20)
			return []string{dir}
		}, ErrUnreadable, "truncated"},
		{"truncated file next to a good one", func(t *testing.T, dir string) []string {
			good(t, filepath.Join(dir, machineID))
			f := good(t, dir)
			truncate(t, f, 4<<20)
			return []string{dir}
		}, ErrUnreadable, "truncated"},
		{"shorter than a header", func(t *testing.T, dir string) []string {
			truncate(t, good(t, dir), 200)
			return []string{dir}
		}, ErrUnreadable, "header"},
		{"empty file", func(t *testing.T, dir string) []string {
			truncate(t, good(t, dir), 0)
			return []string{dir}
		}, ErrUnreadable, "header"},
		{"bad signature", func(t *testing.T, dir string) []string {
			corrupt(t, good(t, dir), 0, 8)
			return []string{dir}
		}, ErrUnreadable, "signature"},
		{"unknown incompatible flag", func(t *testing.T, dir string) []string {
			f := good(t, dir)
			w, _ := os.OpenFile(f, os.O_WRONLY, 0)
			w.WriteAt([]byte{0x1c | 0x40, 0, 0, 0}, hdrIncompatible)
			w.Close()
			return []string{dir}
		}, ErrUnreadable, "incompatible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs := tt.setup(t, t.TempDir())
			r, err := Open(dirs, DefaultMatch())
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want one wrapping %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.mention)
			}
		})
	}
}

func TestDamagedArchiveMattersOnlyInsideTheQuery(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "old", 5)...) // t0 .. t0+4s
	archived := archive(t, filepath.Join(dir, "system.journal"))              // mtime t0+5s
	mtime := t0.Add(5 * time.Second)
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0.Add(time.Hour), "new", 2)...)
	_, newCursor := readAll(t, open(t, DefaultMatch(), dir), Query{Since: t0.Add(time.Hour), Limit: 1})
	if err := os.Truncate(archived, 4<<20); err != nil {
		t.Fatal(err)
	}
	setMtime(t, archived, mtime)
	r := open(t, DefaultMatch(), dir)
	tests := []struct {
		name string
		q    Query
		want string // messages, or "error"
	}{
		{"since more than the slack after the archive's mtime: skipped", Query{Since: mtime.Add(ArchiveSlack + time.Microsecond)}, "new0 new1"},
		{"since exactly the slack after the mtime: error", Query{Since: mtime.Add(ArchiveSlack)}, "error"},
		{"since after the archive's last entry, within the slack: error", Query{Since: t0.Add(time.Minute)}, "error"},
		{"since before the archive: error", Query{Since: t0.Add(-time.Hour)}, "error"},
		{"from the head: error", Query{}, "error"},
		{"cursor later than the archive: skipped", Query{Cursor: newCursor}, "new1"},
		{"cursor without a time: error", Query{Cursor: "s=0123456789abcdef0123456789abcdef;i=1"}, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := collect(t, r, tt.q)
			if tt.want == "error" {
				if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), archived) {
					t.Fatalf("err = %v, want ErrUnreadable naming %s", err, archived)
				}
				if len(got) != 0 {
					t.Fatalf("read %v before failing", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Fatalf("read %q, want %q", g, tt.want)
			}
		})
	}
	t.Run("only a damaged old archive: nothing to read, no error", func(t *testing.T) {
		only := t.TempDir()
		f := filepath.Join(only, filepath.Base(archived))
		copyFile(t, archived, f, 0o640)
		setMtime(t, f, mtime)
		got, _ := readAll(t, open(t, DefaultMatch(), only), Query{Since: t0.Add(time.Hour)})
		if got != "" {
			t.Fatalf("read %q", got)
		}
	})
	t.Run("active file with an unreadable header: error at Open", func(t *testing.T) {
		bad := t.TempDir()
		f := filepath.Join(bad, "system.journal")
		copyFile(t, archived, f, 0o640)
		if _, err := Open([]string{bad}, DefaultMatch()); !errors.Is(err, ErrUnreadable) {
			t.Fatalf("err = %v, want ErrUnreadable", err)
		}
	})
}

// TestArchiveWithAnOldTailInItsHeaderIsRead: a header field is no proof
// that an archive ends before the query. Damage that sets
// tail_entry_realtime back a day must not hide the failures it holds.
func TestArchiveWithAnOldTailInItsHeaderIsRead(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "in-window", 3)...)
	archived := archive(t, filepath.Join(dir, "system.journal"))
	w, err := os.OpenFile(archived, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(t0.Add(-24*time.Hour).UnixMicro()))
	if _, err := w.WriteAt(b[:], hdrTailRealtime); err != nil {
		t.Fatal(err)
	}
	w.Close()
	setMtime(t, archived, t0.Add(3*time.Second))
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0.Add(time.Minute), "new", 1)...)
	if got, _ := readAll(t, open(t, DefaultMatch(), dir), Query{Since: t0.Add(-time.Minute)}); got != "in-window0 in-window1 in-window2 new0" {
		t.Fatalf("read %q", got)
	}
}

// TestDamageInTheMiddle covers what the header checks cannot see: bytes
// overwritten among the entry objects. sd_journal_next then drops the file
// from its set without an error (journalctl likewise stops early and exits
// 0); measured: 182..1739 of 2000 entries came back depending on where the
// damage was, also when a good file was read along. Read notices the drop
// (sd_journal_get_usage falls) and returns ErrUnreadable after passing the
// prefix it read; an archive that ends before the query is not opened.
func TestDamageInTheMiddle(t *testing.T) {
	requireRemote(t)
	src := filepath.Join(t.TempDir(), "system.journal")
	const n = 2000
	write(t, src, kubelets(t0, "k", n)...) // t0 .. t0+1999s
	// Objects (entries, data, entry arrays) are appended as entries come:
	// damage the 16 KiB around the middle entry's MESSAGE.
	at := (fileOffset(t, src, "MESSAGE=k1000") - 8<<10) &^ 7
	corrupt(t, src, at, 16<<10)
	later := t0.Add(time.Hour)

	tests := []struct {
		name     string
		archived bool // the damaged file is a rotated archive
		withGood bool // a good file with 3 entries from t0+1h is read along
		since    time.Time
		wantErr  bool
		wantGood int // entries of the good file expected (when no error)
	}{
		{"damaged file alone", false, false, time.Time{}, true, 0},
		{"damaged file next to a good one", false, true, time.Time{}, true, 0},
		{"damaged archive inside the query", true, true, t0.Add(time.Minute), true, 0},
		{"damaged archive older than the query is not opened", true, true, later, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := filepath.Join(dir, "system.journal")
			copyFile(t, src, f, 0o640)
			if tt.archived {
				archive(t, f)
			}
			if tt.withGood {
				write(t, filepath.Join(dir, machineID, "system.journal"), kubelets(later, "g", 3)...)
			}
			r := open(t, DefaultMatch(), dir)
			var got []string
			_, err := r.Read(context.Background(), Query{Since: tt.since}, func(e Entry) error {
				got = append(got, e.Message)
				return nil
			})
			t.Logf("16 KiB damaged at byte %d: %d entries passed, err %v", at, len(got), err)
			if !tt.wantErr {
				if err != nil || len(got) != tt.wantGood {
					t.Fatalf("read %d entries, err %v; want %d and no error", len(got), err, tt.wantGood)
				}
				return
			}
			if !errors.Is(err, ErrUnreadable) {
				t.Fatalf("err = %v, want ErrUnreadable", err)
			}
			if len(got) >= n {
				t.Fatalf("read %d entries: the damage was not hit", len(got))
			}
			first := 0
			if !tt.since.IsZero() {
				first = int(tt.since.Sub(t0) / time.Second)
			}
			i := 0
			for _, m := range got {
				if strings.HasPrefix(m, "g") {
					continue // the good file's, merged in
				}
				if want := fmt.Sprintf("k%d", first+i); m != want {
					t.Fatalf("damaged file's entry %d is %q, want %q: not a prefix", i, m, want)
				}
				i++
			}
		})
	}
}

func TestUnreadableForNonRootUser(t *testing.T) {
	requireRemote(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a helper as uid 65534")
	}
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	base := worldDir(t)
	tests := []struct {
		name     string
		fileMode os.FileMode
		dirMode  os.FileMode
		wantKind string
	}{
		{"readable file (control)", 0o644, 0o755, ""},
		{"file 0640 root", 0o640, 0o755, "ErrUnreadable"},
		{"directory 0700 root", 0o644, 0o700, "ErrUnreadable"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(base, fmt.Sprint(i))
			f := filepath.Join(dir, "system.journal")
			write(t, f, kubelets(t0, "k", 3)...)
			os.Chmod(f, tt.fileMode)
			os.Chmod(dir, tt.dirMode)
			res := runHelper(t, "open", nobody, dir)
			if res.Kind != tt.wantKind {
				t.Fatalf("helper as uid 65534: kind %q err %q, want kind %q", res.Kind, res.Err, tt.wantKind)
			}
			if tt.wantKind == "" && res.Entries != 3 {
				t.Fatalf("control read %d entries, want 3", res.Entries)
			}
			if tt.wantKind != "" && !strings.Contains(res.Err, "permission denied") {
				t.Fatalf("error does not say permission denied: %s", res.Err)
			}
		})
	}
}

func TestUnreadableMachineIDDirForNonRootUser(t *testing.T) {
	requireRemote(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a helper as uid 65534")
	}
	dir := worldDir(t)
	sub := filepath.Join(dir, machineID)
	write(t, filepath.Join(sub, "system.journal"), kubelets(t0, "k", 1)...)
	os.Chmod(sub, 0o700)
	res := runHelper(t, "open", &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}, dir)
	if res.Kind != "ErrUnreadable" || !strings.Contains(res.Err, "permission denied") || !strings.Contains(res.Err, machineID) {
		t.Fatalf("kind %q err %q, want ErrUnreadable: permission denied naming the machine-id dir", res.Kind, res.Err)
	}
}

// TestOutOfFileDescriptorsIsSaidSo: EMFILE is neither "no journal files"
// nor "libsystemd not loadable" (dlopen fails for want of a descriptor).
func TestOutOfFileDescriptorsIsSaidSo(t *testing.T) {
	requireRemote(t)
	dir := worldDir(t)
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "k", 1)...)
	for _, spare := range []string{"0", "1"} {
		t.Run(spare+" descriptors spare", func(t *testing.T) {
			res := runHelper(t, "emfile-"+spare, nil, dir)
			if res.Kind != "ErrUnreadable" || !strings.Contains(res.Err, "too many open files") {
				t.Fatalf("kind %q err %q, want ErrUnreadable: too many open files", res.Kind, res.Err)
			}
		})
	}
}

// TestNonRegularFilesAreRefusedWithoutBlocking: a FIFO named like a journal
// file would block open(2) until a writer comes, past any deadline.
func TestNonRegularFilesAreRefusedWithoutBlocking(t *testing.T) {
	requireRemote(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		q     Query
	}{
		{"FIFO as the active file", func(t *testing.T, dir string) {
			mkfifo(t, filepath.Join(dir, "system.journal"))
		}, Query{}},
		{"symlink to a FIFO", func(t *testing.T, dir string) {
			mkfifo(t, filepath.Join(dir, "fifo"))
			os.Symlink("fifo", filepath.Join(dir, "system.journal"))
		}, Query{}},
		{"FIFO as an archive the query needs", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "k", 1)...)
			mkfifo(t, filepath.Join(dir, "system@0123-0001-0002.journal"))
		}, Query{}},
		{"character device as the active file", func(t *testing.T, dir string) {
			os.Symlink(os.DevNull, filepath.Join(dir, "system.journal"))
		}, Query{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			done := make(chan error, 1)
			go func() {
				r, err := Open([]string{dir}, DefaultMatch())
				if err == nil {
					_, _, err = collect(t, r, tt.q)
					r.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "not a regular file") {
					t.Fatalf("err = %v, want ErrUnreadable: not a regular file", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("Open or Read blocked on a FIFO")
			}
		})
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestOpenContextSaysHowFarItGot(t *testing.T) {
	requireRemote(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "k", 1)...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := OpenContext(ctx, []string{dir}, DefaultMatch())
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "0 of 1 files") {
		t.Fatalf("err = %v, want context.Canceled saying 0 of 1 files", err)
	}
}

func TestMissingLibsystemdIsErrNoLibrary(t *testing.T) {
	requireRemote(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace")
	}
	dir := worldDir(t)
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "k", 1)...)
	res := runHelper(t, "nolib", &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}, dir)
	if res.Kind != "ErrNoLibrary" {
		t.Fatalf("without libsystemd: kind %q err %q, want ErrNoLibrary", res.Kind, res.Err)
	}
}

func TestReadStopsAtLimitContextAndFnError(t *testing.T) {
	dir := t.TempDir()
	const n = 1000
	write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "k", n)...)
	r := open(t, DefaultMatch(), dir)
	count := func(q Query) int {
		got, _, err := collect(t, r, q)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}

	t.Run("limit", func(t *testing.T) {
		if got := count(Query{Limit: 10}); got != 10 {
			t.Fatalf("read %d, want 10", got)
		}
	})
	t.Run("context done before reading", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c, err := r.Read(ctx, Query{Cursor: ""}, func(Entry) error { t.Fatal("fn called"); return nil })
		if !errors.Is(err, context.Canceled) || c != "" {
			t.Fatalf("err %v cursor %q", err, c)
		}
	})
	t.Run("context cancelled while reading; the cursor resumes without loss", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		c, err := r.Read(ctx, Query{}, func(Entry) error {
			if seen++; seen == 300 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if seen < 300 || seen >= n {
			t.Fatalf("read %d entries after cancelling at 300", seen)
		}
		if rest := count(Query{Cursor: c}); seen+rest != n {
			t.Fatalf("read %d then %d after resuming, want %d in all", seen, rest, n)
		}
	})
	t.Run("fn error is returned and the cursor names the entry passed", func(t *testing.T) {
		stop := errors.New("stop")
		c, err := r.Read(context.Background(), Query{}, func(Entry) error { return stop })
		if !errors.Is(err, stop) {
			t.Fatalf("err = %v", err)
		}
		if rest := count(Query{Cursor: c}); rest != n-1 {
			t.Fatalf("resume after fn error read %d, want %d", rest, n-1)
		}
	})
	t.Run("closed reader", func(t *testing.T) {
		r2 := open(t, DefaultMatch(), dir)
		r2.Close()
		if err := r2.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, _, err := collect(t, r2, Query{}); err == nil {
			t.Fatal("Read after Close succeeded")
		}
	})
}

func TestMessagesComeBackWhole(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("0123456789", 10_000) // 100 KB
	msgs := []string{"first line\nsecond line", "nul\x00and\x01binary\xff", big, ""}
	var es []journalexport.Entry
	for i, m := range msgs {
		es = append(es, journalexport.Kubelet(t0.Add(time.Duration(i)*time.Second+123*time.Microsecond), m))
	}
	write(t, filepath.Join(dir, "system.journal"), es...)
	var got []Entry
	if _, err := open(t, DefaultMatch(), dir).Read(context.Background(), Query{}, func(e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("read %d entries, want %d", len(got), len(msgs))
	}
	tests := []struct {
		name string
		i    int
		want string
	}{
		{"embedded newline", 0, msgs[0]},
		{"binary bytes", 1, msgs[1]},
		{"100 KB capped at MaxMessage", 2, big[:MaxMessage]},
		{"empty message", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got[tt.i].Message != tt.want {
				t.Fatalf("message %d: %d bytes %.40q, want %d bytes %.40q", tt.i, len(got[tt.i].Message), got[tt.i].Message, len(tt.want), tt.want)
			}
			if want := es[tt.i].Time; !got[tt.i].Realtime.Equal(want) {
				t.Fatalf("time %v, want %v", got[tt.i].Realtime, want)
			}
		})
	}
}

// benchDir holds the benchmark journal across the calls Go makes to a
// benchmark function (generating it takes seconds); removed by TestMain.
var benchDir string

// benchJournal makes a 100k-entry journal, 20 % kubelet, like a busy node.
func benchJournal(b *testing.B) (string, int) {
	requireRemote(b)
	const total = 100_000
	kubelet := 0
	for i := 0; i < total; i++ {
		if i%5 == 0 || i%100 == 1 {
			kubelet++
		}
	}
	if benchDir != "" {
		return benchDir, kubelet
	}
	d, err := os.MkdirTemp("", "kd-journal-bench-")
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	msg := `I0226 10:00:00.000000    4242 kubelet.go:2400] "SyncLoop (PLEG): event for pod" pod="kube-system/kube-proxy-abcde" event={"ID":"0f0f","Type":"ContainerStarted"}`
	err = journalexport.AppendFunc(filepath.Join(d, "system.journal"), func() (journalexport.Entry, bool) {
		if i == total {
			return journalexport.Entry{}, false
		}
		t := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		var e journalexport.Entry
		switch {
		case i%5 == 0:
			e = journalexport.Kubelet(t, msg)
		case i%100 == 1:
			e = journalexport.Systemd(t, "kubelet.service", "kubelet.service: Scheduled restart job, restart counter is at 3.")
		case i%5 == 1 || i%5 == 2:
			e = journalexport.Unit(t, "containerd.service", "containerd", `time="2026-02-26T10:00:00Z" level=info msg="StartContainer returns successfully"`)
		case i%5 == 3:
			e = journalexport.Unit(t, "ssh.service", "sshd", "Accepted publickey for admin from 192.0.2.1 port 50000 ssh2")
		default:
			e = journalexport.Entry{Time: t, Message: "eth0: link becomes ready", Identifier: "kernel", Fields: map[string]string{"_TRANSPORT": "kernel"}}
		}
		i++
		return e, true
	})
	if err != nil {
		os.RemoveAll(d)
		b.Fatal(err)
	}
	benchDir = d
	return d, kubelet
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// measures our work where wall time also measures the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRead reads every kubelet entry of a 100k-entry journal from the
// head (Open included); entries/s counts entries passed to fn, cpu-ns/entry
// the process's CPU time per entry (steadier than wall time on a shared
// machine).
func BenchmarkRead(b *testing.B) {
	dir, want := benchJournal(b)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		r, err := Open([]string{dir}, DefaultMatch())
		if err != nil {
			b.Fatal(err)
		}
		n, bytes := 0, 0
		if _, err := r.Read(context.Background(), Query{}, func(e Entry) error { n++; bytes += len(e.Message); return nil }); err != nil {
			b.Fatal(err)
		}
		r.Close()
		if n != want || bytes == 0 {
			b.Fatalf("read %d entries (%d bytes), want %d", n, bytes, want)
		}
	}
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(want*b.N), "cpu-ns/entry")
}

// BenchmarkResume reads the last 100 kubelet entries from a cursor, the
// steady-state cost of a periodic check.
func BenchmarkResume(b *testing.B) {
	dir, want := benchJournal(b)
	r, err := Open([]string{dir}, DefaultMatch())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	c, err := r.Read(context.Background(), Query{Limit: want - 100}, func(Entry) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if _, err := r.Read(context.Background(), Query{Cursor: c}, func(Entry) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 100 {
			b.Fatalf("read %d, want 100", n)
		}
	}
}

// TestReadWhileWritten reads a file that systemd-journal-remote is still
// writing (state ONLINE, growing): the header checks and the dropped-file
// check must not mistake a live file for a damaged one, and every read must
// see a growing prefix.
func TestReadWhileWritten(t *testing.T) {
	requireRemote(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "system.journal")
	write(t, file, kubelets(t0, "k", 1)...) // the file exists before the first Open
	w, err := journalexport.NewWriter(file)
	if err != nil {
		t.Fatal(err)
	}
	const total = 3000
	done := make(chan error, 1)
	go func() {
		for i := 1; i < total; i++ {
			if err := w.Write(journalexport.Kubelet(t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("k%d", i))); err != nil {
				done <- err
				return
			}
			if i%20 == 0 {
				if err := w.Flush(); err != nil {
					done <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}
		done <- w.Close()
	}()
	last, reads := 0, 0
	for finished := false; !finished; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		r, err := Open([]string{dir}, DefaultMatch())
		if err != nil {
			t.Fatalf("read %d: Open: %v", reads, err)
		}
		got, _, err := collect(t, r, Query{})
		r.Close()
		if err != nil {
			t.Fatalf("read %d of a live file: %v", reads, err)
		}
		if len(got) < last {
			t.Fatalf("read %d: %d entries after %d before", reads, len(got), last)
		}
		for i, m := range got {
			if m != fmt.Sprintf("k%d", i) {
				t.Fatalf("read %d: entry %d is %q", reads, i, m)
			}
		}
		last = len(got)
	}
	if last != total {
		t.Fatalf("final read: %d entries, want %d", last, total)
	}
	t.Logf("%d reads while the file was written", reads)
}

func TestEmptyFiles(t *testing.T) {
	requireRemote(t)
	t.Run("a new active file with no entries next to an archive", func(t *testing.T) {
		dir := t.TempDir()
		f := filepath.Join(dir, "system.journal")
		write(t, f, kubelets(t0, "k", 2)...)
		archive(t, f)
		write(t, f) // journald's fresh system.journal right after rotation
		if got, _ := readAll(t, open(t, DefaultMatch(), dir), Query{Since: t0}); got != "k0 k1" {
			t.Fatalf("read %q", got)
		}
	})
	t.Run("only an empty file: no entries, no error", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "system.journal"))
		if got, c := readAll(t, open(t, DefaultMatch(), dir), Query{}); got != "" || c != "" {
			t.Fatalf("read %q cursor %q", got, c)
		}
	})
}

// TestBootIDAndMonotonicTime reads the stamps journald sets itself: the boot
// id and the time since boot, which order entries when the wall clock
// steps. The second boot's wall clock is set back behind the first's.
func TestBootIDAndMonotonicTime(t *testing.T) {
	requireRemote(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "system.journal")
	const bootA, bootB = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	write(t, file,
		journalexport.Entry{Time: t0, Monotonic: 5 * time.Second, BootID: bootA, Message: "a0", Unit: "kubelet.service", PID: 10},
		// The wall clock steps back an hour; the monotonic clock runs on.
		journalexport.Entry{Time: t0.Add(time.Second), Monotonic: 3*time.Hour + 250*time.Microsecond, BootID: bootA, Message: "a1", Unit: "kubelet.service", PID: 10},
		journalexport.Entry{Time: t0.Add(2 * time.Second), BootID: bootB, Monotonic: 7 * time.Second, Message: "b0", Unit: "kubelet.service", PID: 10},
	)
	read := func(t *testing.T, slow bool) []Entry {
		r := open(t, DefaultMatch(), dir).(*sdReader)
		var got []Entry
		_, err := r.Read(context.Background(), Query{Limit: 1}, func(e Entry) error { got = append(got, e); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if r.fast == nil {
			t.Fatal("no one-call stamps with this go-systemd and libsystemd: Read pays three cgo calls per entry")
		}
		if slow {
			r.fast = nil
		}
		if _, err := r.Read(context.Background(), Query{Cursor: "", Since: t0.Add(time.Second)}, func(e Entry) error { got = append(got, e); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, slow := range []bool{false, true} {
		t.Run(map[bool]string{false: "one call", true: "through go-systemd"}[slow], func(t *testing.T) {
			checkStamps(t, read(t, slow))
		})
	}
}

func checkStamps(t *testing.T, got []Entry) {
	const bootA, bootB = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	want := []Entry{
		{Realtime: t0, Monotonic: 5 * time.Second, BootID: bootA, Message: "a0"},
		{Realtime: t0.Add(time.Second), Monotonic: 3*time.Hour + 250*time.Microsecond, BootID: bootA, Message: "a1"},
		{Realtime: t0.Add(2 * time.Second), Monotonic: 7 * time.Second, BootID: bootB, Message: "b0"},
	}
	if len(got) != len(want) {
		t.Fatalf("read %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Realtime.Equal(w.Realtime) || g.Monotonic != w.Monotonic || g.BootID != w.BootID || g.Message != w.Message {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestMessageDamagedInPlaceIsUnreadable: sd_journal returns a MESSAGE whose
// bytes were overwritten in place as if journald had stored it (measured:
// "unknown authority" read back as "unknown authoritx", no error). Read
// checks each payload against the data hash table, in every layout
// journald writes: keyed SipHash (systemd >= 246) or Jenkins hashes,
// compact (>= 252) or regular objects.
func TestMessageDamagedInPlaceIsUnreadable(t *testing.T) {
	requireRemote(t)
	const bad = "x509: certificate signed by unknown authority"
	layouts := []struct {
		name  string
		env   map[string]string
		flags uint32 // incompatible flags the file must (not) have
		want  bool
	}{
		{"keyed hash, compact", nil, flagKeyedHash, true},
		{"Jenkins hash", map[string]string{"SYSTEMD_JOURNAL_KEYED_HASH": "0"}, flagKeyedHash, false},
		{"keyed hash, regular objects", map[string]string{"SYSTEMD_JOURNAL_COMPACT": "0"}, 0x10, false},
	}
	damages := []struct {
		name   string
		damage func(t *testing.T, file string)
	}{
		{"payload byte", func(t *testing.T, file string) {
			overwrite(t, file, fileOffset(t, file, bad)+int64(len(bad))-1, "x")
		}},
		{"stored hash", func(t *testing.T, file string) {
			// The object header (16 bytes) and hash (8) precede the
			// payload's field name; the payload starts at 64 or 72.
			off := fileOffset(t, file, "MESSAGE="+bad)
			for _, start := range []int64{72, 64} {
				if header(t, file, int(off-start), 1)[0] == objectData {
					overwrite(t, file, off-start+objDataHash, "\xde\xad")
					return
				}
			}
			t.Fatal("no data object header before the payload")
		}},
	}
	for _, l := range layouts {
		for _, d := range damages {
			t.Run(l.name+": "+d.name, func(t *testing.T) {
				for k, v := range l.env {
					t.Setenv(k, v)
				}
				dir := t.TempDir()
				f := filepath.Join(dir, "system.journal")
				write(t, f, journalexport.Kubelet(t0, "before"), journalexport.Kubelet(t0.Add(time.Second), bad), journalexport.Kubelet(t0.Add(2*time.Second), "after"))
				if got := binary.LittleEndian.Uint32(header(t, f, hdrIncompatible, 4))&l.flags != 0; got != l.want {
					t.Skipf("this journal-remote ignores %v (incompatible flags %#x)", l.env, binary.LittleEndian.Uint32(header(t, f, hdrIncompatible, 4)))
				}
				if got, _ := readAll(t, open(t, DefaultMatch(), dir), Query{}); got != "before "+bad+" after" {
					t.Fatalf("intact file read %q", got)
				}
				d.damage(t, f)
				got, _, err := collect(t, open(t, DefaultMatch(), dir), Query{})
				if !errors.Is(err, ErrUnreadable) {
					t.Fatalf("read %q, err %v: want ErrUnreadable", got, err)
				}
				if strings.Join(got, " ") != "before" {
					t.Fatalf("read %q before failing, want only the intact entry before", got)
				}
			})
		}
	}
}

// overwrite writes s at off in file.
func overwrite(t *testing.T, file string, off int64, s string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(s), off); err != nil {
		t.Fatal(err)
	}
}

// coldDir holds the many-archives directory across benchmark calls.
var coldDir string

const coldArchives = 3000

// manyArchives makes a directory like a node that keeps a long journal:
// coldArchives small archives from a month before t0 (sparse copies of one
// real archive, renamed and dated as rotation leaves them) and an active
// file with the kubelet's last entries.
func manyArchives(b *testing.B) string {
	requireRemote(b)
	if coldDir != "" {
		return coldDir
	}
	d, err := os.MkdirTemp("", "kd-journal-cold-")
	if err != nil {
		b.Fatal(err)
	}
	tmpl := filepath.Join(d, "template", "system.journal")
	if err := journalexport.Append(tmpl, kubelets(t0.Add(-30*24*time.Hour), "old", 20)); err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(filepath.Join(d, machineID), 0o755)
	paths := make([]string, coldArchives)
	for i := range paths {
		at := t0.Add(-30*24*time.Hour + time.Duration(i)*10*time.Minute)
		paths[i] = filepath.Join(d, machineID, fmt.Sprintf("system@%032x-%016x-%016x.journal", 1, i*20+1, at.UnixMicro()))
	}
	if err := journalexport.SparseCopy(tmpl, paths...); err != nil {
		b.Fatal(err)
	}
	for i, p := range paths {
		at := t0.Add(-30*24*time.Hour + time.Duration(i+1)*10*time.Minute)
		os.Chtimes(p, at, at)
	}
	os.RemoveAll(filepath.Dir(tmpl))
	if err := journalexport.Append(filepath.Join(d, machineID, "system.journal"), kubelets(t0, "k", 10)); err != nil {
		b.Fatal(err)
	}
	coldDir = d
	return d
}

// dropCache evicts the files' pages from the page cache (fsync, then
// POSIX_FADV_DONTNEED): a cold read of the files without dropping every
// cache of the machine. Inodes and directory entries stay cached.
func dropCache(b *testing.B, dir string) {
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		f.Sync()
		const fadvDontneed = 4
		if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontneed, 0, 0); errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkColdArchives opens a directory of 3,000 archives whose pages
// are not cached and reads the last ten minutes, under the plugin's 4 s
// deadline; "headers" is what reading every archive's header costs, the
// work Open did for each file before archives were judged by mtime.
func BenchmarkColdArchives(b *testing.B) {
	dir := manyArchives(b)
	b.Run("window", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dropCache(b, dir)
			b.StartTimer()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			r, err := OpenContext(ctx, []string{dir}, DefaultMatch())
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			if _, err := r.Read(ctx, Query{Since: t0.Add(-10 * time.Minute)}, func(Entry) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			r.Close()
			cancel()
			if n != 10 {
				b.Fatalf("read %d entries, want 10", n)
			}
		}
	})
	b.Run("headers", func(b *testing.B) {
		paths, err := findFiles([]string{dir})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dropCache(b, dir)
			b.StartTimer()
			for _, p := range paths {
				info := checkFile(p)
				if info.err != nil {
					b.Fatal(info.err)
				}
				info.f.Close()
			}
		}
	})
}

// TestErrorsSayWhy: the causes an operator acts on differently are told
// apart with errors.Is, and all of them are still ErrUnreadable.
func TestErrorsSayWhy(t *testing.T) {
	requireRemote(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  error
	}{
		{"truncated", func(t *testing.T, dir string) {
			f := filepath.Join(dir, "system.journal")
			write(t, f, kubelets(t0, "k", 3)...)
			os.Truncate(f, 4<<20)
		}, ErrDamaged},
		{"damaged in place", func(t *testing.T, dir string) {
			f := filepath.Join(dir, "system.journal")
			write(t, f, kubelets(t0, "k", 3)...)
			overwrite(t, f, fileOffset(t, f, "MESSAGE=k1")+9, "x")
		}, ErrDamaged},
		{"FIFO", func(t *testing.T, dir string) { mkfifo(t, filepath.Join(dir, "system.journal")) }, ErrNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			r, err := Open([]string{dir}, DefaultMatch())
			if err == nil {
				_, _, err = collect(t, r, Query{})
				r.Close()
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrUnreadable) {
				t.Fatalf("err = %v, want %v and ErrUnreadable", err, tt.want)
			}
		})
	}
}

// TestPayloadsAreVerifiedInPlaceWhenUncompressed: an intact uncompressed
// MESSAGE is checked against its own object's stored hash, and the file is
// never mapped for the hash table; a payload the in-place check cannot take
// (a compressed object: sd_journal hands out its decompression buffer)
// still reads whole, through the table, in every layout journald writes.
func TestPayloadsAreVerifiedInPlaceWhenUncompressed(t *testing.T) {
	requireRemote(t)
	long := strings.Repeat("x509: certificate signed by unknown authority ", 200) // well past the compression threshold
	layouts := []struct {
		name string
		env  map[string]string
	}{
		{"keyed hash, compact", nil},
		{"Jenkins hash", map[string]string{"SYSTEMD_JOURNAL_KEYED_HASH": "0"}},
		{"keyed hash, regular objects", map[string]string{"SYSTEMD_JOURNAL_COMPACT": "0"}},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			for k, v := range l.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			write(t, filepath.Join(dir, "system.journal"), kubelets(t0, "line ", 50)...)
			r := open(t, DefaultMatch(), dir).(*sdReader)
			got, _ := readAll(t, r, Query{})
			if !strings.HasPrefix(got, "line 0 line 1 ") || r.fast == nil {
				t.Fatalf("read %.40q (one-call reads: %v)", got, r.fast != nil)
			}
			for _, d := range r.idx {
				if d.mem != nil {
					t.Errorf("%s mapped: an intact uncompressed payload was not verified in place", d.f.Name())
				}
			}

			var longs []journalexport.Entry
			for i := range 5 {
				longs = append(longs, journalexport.Kubelet(t0.Add(time.Hour+time.Duration(i)*time.Second), fmt.Sprint(i, long)))
			}
			write(t, filepath.Join(dir, "system.journal"), longs...)
			r = open(t, DefaultMatch(), dir).(*sdReader)
			var msgs []string
			if _, err := r.Read(context.Background(), Query{Since: t0.Add(time.Hour)}, func(e Entry) error { msgs = append(msgs, e.Message); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(msgs) != len(longs) || msgs[4] != fmt.Sprint(4, long) {
				t.Fatalf("long messages read: %d, want %d whole", len(msgs), len(longs))
			}
			// One decompression buffer per file: refused once, not each time.
			if n := len(r.buffers); n == 0 || n >= len(longs) {
				t.Errorf("%d addresses refused in place for %d compressed payloads", n, len(longs))
			}
			mapped := false
			for _, d := range r.idx {
				mapped = mapped || d.mem != nil
			}
			if !mapped {
				t.Error("a compressed payload passed the in-place check: it has no object header before it")
			}
		})
	}
}

// TestCompressedMessageDamagedInPlaceIsUnreadable: a MESSAGE long enough
// to be stored compressed is not checked in place (sd_journal hands out its
// decompression buffer), so damage to its compressed bytes must be caught
// by the look-up in the data hash table, or by the decompressor: never read
// as another message.
func TestCompressedMessageDamagedInPlaceIsUnreadable(t *testing.T) {
	requireRemote(t)
	long := strings.Repeat("x509: certificate signed by unknown authority ", 200)
	dir := t.TempDir()
	f := filepath.Join(dir, "system.journal")
	write(t, f, journalexport.Kubelet(t0, "before"), journalexport.Kubelet(t0.Add(time.Second), long), journalexport.Kubelet(t0.Add(2*time.Second), "after"))
	off, size := compressedObject(t, f)
	if off == 0 {
		t.Skip("this journal-remote stored the long MESSAGE uncompressed")
	}
	// The middle of the compressed payload; the object's header and hash
	// are left alone.
	overwrite(t, f, off+size-(size-payloadCompact)/2, "\x00\xff\x00\xff")
	got, _, err := collect(t, open(t, DefaultMatch(), dir), Query{})
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("read %d entries, err %v: want ErrUnreadable", len(got), err)
	}
	if strings.Join(got, " ") != "before" {
		t.Fatalf("read %.60q before failing, want only the intact entry before", got)
	}
}

// compressedObject walks the objects of a journal file and returns the
// offset and size of its first compressed data object (0, 0: none).
func compressedObject(t *testing.T, file string) (int64, int64) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	off := le.Uint64(b[hdrHeaderSize:])
	end := off + le.Uint64(b[hdrArenaSize:])
	for off+16 <= end && off+16 <= uint64(len(b)) {
		typ, flags, size := b[off], b[off+1], le.Uint64(b[off+objSize:])
		if size == 0 {
			break // the unused rest of the arena
		}
		if typ == objectData && flags&objCompressedMask != 0 {
			return int64(off), int64(size)
		}
		off += (size + 7) &^ 7
	}
	return 0, 0
}
