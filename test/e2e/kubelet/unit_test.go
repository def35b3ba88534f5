package kubelet_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// unitName and description are kubeadm's kubelet.service, as systemd names
// it in its own messages.
const (
	unitName    = "kubelet.service"
	unitStarted = "Started kubelet.service - kubelet: The Kubernetes Node Agent."
	unitStopped = "Stopped kubelet.service - kubelet: The Kubernetes Node Agent."
	// restartSec stands in for kubeadm's RestartSec=10: the suite needs a
	// few restarts within a scenario's minute.
	restartSec = 2 * time.Second
)

// record is one journal entry of a scenario: the kubelet's own output line
// (kind kubelet, its real PID) or systemd's entry about the unit (kind
// systemd, PID 1), stamped when it was received, as journald stamps it.
type record struct {
	at   time.Time
	kind string
	pid  int
	msg  string
}

// recorder collects a scenario's entries in arrival order, each strictly
// after the one before (a journal is read in time order).
type recorder struct {
	mu      sync.Mutex
	entries []record
	last    time.Time
	closed  bool
}

func (r *recorder) add(kind string, pid int, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	at := time.Now()
	if !at.After(r.last) {
		at = r.last.Add(time.Microsecond)
	}
	r.last = at
	r.entries = append(r.entries, record{at: at, kind: kind, pid: pid, msg: msg})
}

func (r *recorder) systemd(format string, args ...any) {
	r.add("systemd", 1, fmt.Sprintf(format, args...))
}

// close stops recording and returns the entries: what is logged after the
// scenario's end (the kubelet being stopped by the suite) is not part of it.
func (r *recorder) close() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return append([]record(nil), r.entries...)
}

// journalEntries turns records into what journald would have stored.
func journalEntries(recs []record) []journalexport.Entry {
	out := make([]journalexport.Entry, 0, len(recs))
	for _, r := range recs {
		if r.kind == "systemd" {
			out = append(out, journalexport.Systemd(r.at, unitName, r.msg))
			continue
		}
		out = append(out, journalexport.Entry{Time: r.at, Message: r.msg, Unit: unitName, Identifier: "kubelet", PID: r.pid})
	}
	return out
}

// lineWriter hands every complete line written to it to emit; the kubelet
// logs through klog to stderr, one entry per line as journald splits them.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.emit(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

// exitStatus is systemd's "status=" text for an exit code.
func exitStatus(code int) string {
	names := map[int]string{1: "FAILURE", 2: "INVALIDARGUMENT", 3: "NOTIMPLEMENTED", 4: "NOPERMISSION", 5: "NOTINSTALLED", 6: "NOTCONFIGURED", 7: "NOTRUNNING"}
	if n, ok := names[code]; ok {
		return fmt.Sprintf("%d/%s", code, n)
	}
	return fmt.Sprint(code)
}

// supervise runs argv as systemd runs kubelet.service with Restart=always:
// "Started", the process, its exit ("Main process exited", "Failed with
// result"), RestartSec, "Scheduled restart job, restart counter is at N",
// "Stopped", and again, until the deadline. At the deadline recording stops
// first and then the kubelet is killed by its PID (process group), so the
// journal shows the unit as it was at that moment. It returns the number
// of starts.
func supervise(rec *recorder, argv []string, deadline time.Time, errLog func(string, ...any)) int {
	starts := 0
	for restart := 0; time.Now().Before(deadline); restart++ {
		if restart > 0 {
			rec.systemd("%s: Scheduled restart job, restart counter is at %d.", unitName, restart)
			rec.systemd("%s", unitStopped)
		}
		rec.systemd("%s", unitStarted)
		starts++
		cmd := exec.Command(argv[0], argv[1:]...)
		var pid int
		lw := &lineWriter{emit: func(l string) { rec.add("kubelet", pid, l) }}
		cmd.Stdout, cmd.Stderr = lw, lw
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		// A child that keeps the output pipe open must not hold Wait forever.
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			errLog("start kubelet: %v", err)
			return starts
		}
		pid = cmd.Process.Pid
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			lw.flush()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code == 0 {
				rec.systemd("%s: Deactivated successfully.", unitName)
			} else {
				rec.systemd("%s: Main process exited, code=exited, status=%s", unitName, exitStatus(code))
				rec.systemd("%s: Failed with result 'exit-code'.", unitName)
			}
		case <-time.After(time.Until(deadline)):
			rec.close()
			_ = syscall.Kill(-pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				<-done
			}
			return starts
		}
		time.Sleep(min(restartSec, time.Until(deadline)))
	}
	rec.close()
	return starts
}

// writeJournal stores recs as the node's persistent journal file through
// systemd-journal-remote.
func writeJournal(file string, recs []record) error {
	if err := os.MkdirAll(strings.TrimSuffix(file, "/system.journal"), 0o755); err != nil {
		return err
	}
	return journalexport.Append(file, journalEntries(recs))
}
