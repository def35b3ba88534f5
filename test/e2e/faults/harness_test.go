// Package faults is the fault matrix: the real kubelet-doctor binary
// (KD_BIN) on real journal files (systemd-journal-remote, through
// test/journalexport) and a real state directory, made to lie, hang,
// crash or leak the ways a hostile or unlucky node would try. Each row
// asserts the exit code, that the message names the cause, and that no
// later run is wrong.
//
// Rows marked pending name work not merged yet: they run, and while they
// fail they skip with the failure (set KD_FAULTS_STRICT=1 to fail
// instead); once one holds, it fails until its mark is removed, so the
// marks cannot go stale.
package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// needBin returns KD_BIN: skips when unset, fails when it cannot be run.
func needBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("KD_BIN")
	if bin == "" {
		t.Skip("KD_BIN (the kubelet-doctor binary) is not set; `make test` sets it")
	}
	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
		t.Fatalf("KD_BIN=%s is not usable: %v: %s", bin, err, out)
	}
	if err := journalexport.Available(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	return bin
}

// F is a row's view of the test: failures are recorded, so that a pending
// row can report them as a skip.
type F struct {
	*testing.T
	mu       sync.Mutex
	failures []string
}

func (f *F) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
}

// Fatalf records the failure and ends the row (the row runs in a goroutine
// of its own, see runRow).
func (f *F) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

func (f *F) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// runRow runs body and reports its failures: as errors, or for a pending
// row as a skip while it fails and as an error once it holds.
func runRow(t *testing.T, pending string, body func(f *F)) {
	f := &F{T: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
	strict := os.Getenv("KD_FAULTS_STRICT") != ""
	switch {
	case pending == "" || strict:
		for _, msg := range f.failures {
			t.Error(msg)
		}
		if pending != "" && len(f.failures) > 0 {
			t.Errorf("pending: %s", pending)
		}
	case len(f.failures) > 0:
		t.Skipf("PENDING (%s); fails today: %s", pending, strings.Join(f.failures, "; "))
	default:
		t.Errorf("row holds now: remove its pending mark (%s)", pending)
	}
}

// node is one node's host root: its journal and kubelet-doctor's state.
type node struct {
	f     *F
	bin   string
	root  string // host root, traversable by every user
	jdir  string // ROOT/var/log/journal/<machine-id>
	file  string // the active journal file
	state string // ROOT/var/lib/kubelet-doctor
	last  time.Time
	boot  string
	// bootStart, when set, stamps entries' monotonic time as since then.
	bootStart time.Time
}

// thisBoot makes the node's entries this machine's boot's: its boot id, and
// monotonic stamps on its CLOCK_MONOTONIC.
func (n *node) thisBoot(f *F) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		f.Skipf("no boot id: %v", err)
	}
	n.boot = strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
	var ts syscall.Timespec
	const clockMonotonic = 1
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		f.Fatalf("clock_gettime: %v", errno)
	}
	n.bootStart = time.Now().Add(-time.Duration(ts.Nano()))
}

func newNode(f *F, bin string) *node {
	root, err := os.MkdirTemp("", "kd-faults-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		f.Fatal(err)
	}
	jdir := filepath.Join(root, "var", "log", "journal", journalexport.MachineID)
	if err := os.MkdirAll(jdir, 0o755); err != nil {
		f.Fatal(err)
	}
	return &node{f: f, bin: bin, root: root, jdir: jdir, file: filepath.Join(jdir, "system.journal"),
		state: filepath.Join(root, "var", "lib", "kubelet-doctor"), boot: journalexport.ProcessBootID()}
}

// entry makes a journal entry dated at.
type entry func(at time.Time) journalexport.Entry

// klog formats a kubelet klog line dated at.
func klog(at time.Time, level byte, src, msg string) string {
	return fmt.Sprintf("%c%s %7d %s] %s", level, at.UTC().Format("0102 15:04:05.000000"), journalexport.KubeletPID, src, msg)
}

// kubelet is the kubelet's own entry (kubelet.service, root).
func kubelet(level byte, src, msg string) entry {
	return func(at time.Time) journalexport.Entry { return journalexport.Kubelet(at, klog(at, level, src, msg)) }
}

// systemd is PID 1's entry about kubelet.service.
func systemd(msg string) entry {
	return func(at time.Time) journalexport.Entry { return journalexport.Systemd(at, "kubelet.service", msg) }
}

// forged is what `logger -t kubelet` by uid 1000 makes: the kubelet's
// identifier and text, journald's own fields say who sent it.
func forged(level byte, src, msg string) entry {
	return func(at time.Time) journalexport.Entry {
		return journalexport.Logger(at, 1000, "kubelet", klog(at, level, src, msg))
	}
}

// Lines every row uses.
var (
	caFailure  = kubelet('E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`)
	registered = kubelet('I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`)
	started    = []entry{
		systemd("Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		kubelet('I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
	}
)

// healthy is a kubelet started 9 minutes before now, registered and
// serving: inside the 10m window, past the 5m boot grace.
func (n *node) healthy() {
	n.append(-9*time.Minute, append(append([]entry{}, started...),
		kubelet('I', "kubelet.go:2488", `"Starting kubelet main sync loop"`),
		kubelet('I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
		registered)...)
}

// caFailures appends k CA failures at ago.
func (n *node) caFailures(ago time.Duration, k int) {
	es := make([]entry, k)
	for i := range es {
		es[i] = caFailure
	}
	n.append(ago, es...)
}

// append writes es to the active file, dated now+offset (a millisecond
// apart, never before what was written already).
func (n *node) append(offset time.Duration, es ...entry) {
	n.appendTo(n.file, time.Now().Add(offset), es...)
}

func (n *node) appendTo(file string, at time.Time, es ...entry) {
	n.f.Helper()
	out := make([]journalexport.Entry, 0, len(es))
	for _, e := range es {
		if !at.After(n.last) {
			at = n.last.Add(time.Millisecond)
		}
		n.last = at
		x := e(at)
		if x.BootID == "" {
			x.BootID = n.boot
		}
		if !n.bootStart.IsZero() && x.Monotonic == 0 {
			x.Monotonic = at.Sub(n.bootStart)
		}
		out = append(out, x)
	}
	if err := journalexport.Append(file, out); err != nil {
		n.f.Fatalf("append to the node's journal: %v", err)
	}
}

// result is one run of the binary.
type result struct {
	args           []string
	code           int
	stdout, stderr string
	killed         bool // did not end within the run's bound
}

func (r result) String() string {
	return fmt.Sprintf("`kubelet-doctor %s`: exit %d, stdout %q, stderr %q", strings.Join(r.args, " "), r.code, r.stdout, tail(r.stderr, 600))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// runBound ends a run that hangs: five times the default --timeout, so
// that it catches a hang, not slowness.
const runBound = 20 * time.Second

// flags are the flags of every plugin run: this node's root and state,
// and no reuse of a fresh state, so that every run reads the journal.
func (n *node) flags() []string {
	return []string{"--root", n.root, "--state-dir", n.state, "--reuse-within", "0s"}
}

// check runs `check COND` with the node's flags and extra.
func (n *node) check(cond string, extra ...string) result {
	return n.run(nil, append(append([]string{"check", cond}, n.flags()...), extra...)...)
}

// alert runs `alert COND`.
func (n *node) alert(cond string, extra ...string) result {
	return n.run(nil, append(append([]string{"alert", cond}, n.flags()...), extra...)...)
}

// run runs the binary with args; attr sets the process attributes (e.g.
// another uid).
func (n *node) run(attr *syscall.SysProcAttr, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.bin, args...)
	cmd.SysProcAttr = attr
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String(), killed: ctx.Err() != nil}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	if err != nil && cmd.ProcessState == nil {
		n.f.Fatalf("run %v: %v", args, err)
	}
	return r
}

// expect asserts the exit code and that stdout or stderr names the cause
// (each of causes, case-insensitively).
func (n *node) expect(r result, code int, causes ...string) {
	n.f.Helper()
	if r.killed {
		n.f.Fatalf("hung past %s: %s", runBound, r)
	}
	if r.code != code {
		n.f.Errorf("exit %d, want %d: %s", r.code, code, r)
	}
	all := strings.ToLower(r.stdout + r.stderr)
	for _, c := range causes {
		if !strings.Contains(all, strings.ToLower(c)) {
			n.f.Errorf("output does not name the cause %q: %s", c, r)
		}
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		n.f.Errorf("crashed: %s", r)
	}
}

// stateFiles returns the contents of every file under the state directory.
func (n *node) stateFiles() map[string][]byte {
	out := map[string][]byte{}
	filepath.WalkDir(n.state, func(p string, e os.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil {
			out[p] = b
		}
		return nil
	})
	return out
}

// printable reports whether s is valid UTF-8 with only printable runes and
// line breaks.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != '\n' && !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// dropCache evicts the files under dir from the page cache (fsync, then
// POSIX_FADV_DONTNEED): cold reads without dropping the machine's caches.
func dropCache(f *F, dir string) {
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		fh, err := os.Open(p)
		if err != nil {
			return err
		}
		defer fh.Close()
		fh.Sync()
		const fadvDontneed = 4
		if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, fh.Fd(), 0, 0, fadvDontneed, 0, 0); errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
}

// copyBin copies the binary where another user can run it.
func copyBin(f *F, bin, dir string) string {
	src, err := os.Open(bin)
	if err != nil {
		f.Fatal(err)
	}
	defer src.Close()
	to := filepath.Join(dir, "kubelet-doctor")
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		f.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		f.Fatal(err)
	}
	return to
}
