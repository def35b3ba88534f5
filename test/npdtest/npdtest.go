// Package npdtest runs the real node-problem-detector standalone, as the
// end-to-end suites that need no API server run it: the Kubernetes exporter
// off, the Prometheus exporter on a free loopback port as its one output,
// and klog at -v=3, which logs every plugin run and every condition change,
// into a file the suites read. Stopping it leaves no plugin run behind.
package npdtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// NPD is one running node-problem-detector.
type NPD struct {
	Port int    // its Prometheus exporter's, on 127.0.0.1
	Log  string // DIR/npd.log: stdout and stderr

	cmd  *exec.Cmd
	done chan struct{}
	err  error // NPD's exit, valid after done
}

// Start runs bin (NPD) with the custom plugin monitor files configs,
// logging into dir, and stops it in t.Cleanup.
func Start(t testing.TB, bin, dir string, configs []string) *NPD {
	t.Helper()
	port, err := clustertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	n := &NPD{Port: port, Log: filepath.Join(dir, "npd.log"), done: make(chan struct{})}
	logFile, err := os.Create(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin,
		"--enable-k8s-exporter=false",
		"--prometheus-address=127.0.0.1",
		"--prometheus-port="+strconv.Itoa(port),
		"--config.custom-plugin-monitor="+strings.Join(configs, ","),
		"-v=3",
	)
	n.cmd.Stdout, n.cmd.Stderr = logFile, logFile
	// NPD must not outlive a test binary killed by `go test -timeout`.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start NPD: %v", err)
	}
	go func() {
		n.err = n.cmd.Wait()
		logFile.Close()
		close(n.done)
	}()
	t.Cleanup(n.Stop)
	return n
}

// Done is closed when NPD has exited.
func (n *NPD) Done() <-chan struct{} { return n.done }

// Err is how NPD exited; valid once Done is closed.
func (n *NPD) Err() error { return n.err }

// ReadLog returns NPD's log so far, or why it cannot be read.
func (n *NPD) ReadLog() string {
	b, err := os.ReadFile(n.Log)
	if err != nil {
		return fmt.Sprintf("(read NPD log: %v)", err)
	}
	return string(b)
}

// Stop kills NPD and the plugins it is running. NPD starts every plugin in
// a process group of its own, so killing NPD alone would leave them running
// into directories the test removes: NPD is frozen first (no new plugins),
// its children's groups are killed, then NPD's. Stopping a stopped NPD does
// nothing.
func (n *NPD) Stop() {
	select {
	case <-n.done:
		return
	default:
	}
	pid := n.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	for _, child := range ChildrenOf(pid) {
		_ = syscall.Kill(-child, syscall.SIGKILL)
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-n.done
}

// ChildrenOf lists the processes whose parent is pid, from /proc.
func ChildrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces, so parse
		// after its closing parenthesis.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(s))); err == nil {
				kids = append(kids, child)
			}
		}
	}
	return kids
}
