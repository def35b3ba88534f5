package clustertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Proc is a process a suite started, in its own process group so that
// stopping it also stops whatever it forked.
type Proc struct {
	Name string
	Log  string // file with its combined stdout+stderr

	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, valid after done is closed
}

// StartProc starts argv, output to DIR/NAME.log, and registers its stop in
// t.Cleanup: no test leaves a control plane, a runtime or an NPD behind,
// even when it fails half-way. argv may come from a wrapper such as nsenter
// that execs the program in place, so that the PID is the program's own.
//
// On failure the last tailLines lines of its output go to the test log: the
// log file itself is in a temp dir that the test removes.
func StartProc(t testing.TB, dir, name string, tailLines int, env []string, argv ...string) (*Proc, error) {
	t.Helper()
	if len(argv) == 0 {
		return nil, fmt.Errorf("start %s: no command", name)
	}
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log for %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// A killed test binary (timeout, ^C) cannot run its cleanups; the
		// kernel then kills the child instead of leaving etcd or the
		// apiserver listening.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("last lines of %s:\n%s", name, Tail(logPath, tailLines))
		}
	})
	return p, nil
}

// Pid is the process's ID, which is also its process group's.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the process group, waits a little for a clean exit
// (etcd flushes, NPD stops its monitors) and then SIGKILLs the group.
func (p *Proc) Stop() {
	pgid := p.cmd.Process.Pid
	if done, _ := p.Exited(); done {
		// The leader is gone but a child may still hold the group.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// Tail returns the last n lines of a file, for failure reports.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort asks the kernel for an unused loopback port. The port is
// released before the caller binds it, so a collision is possible but
// unlikely; fixed ports would collide with parallel runs every time.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Poll calls fn every interval until it returns nil or timeout passes; the
// error then carries fn's last error, which says what was still missing.
func Poll(timeout, interval time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(interval)
	}
}
