package nodestate

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

// BenchmarkInterval measures one NPD interval: all eleven conditions
// checked, three at a time as NPD's custom-plugin monitors overlap, each
// interval with a fresh state directory (so the journal is scanned and the
// probes run: the most an interval costs). "log-only" is a node root with
// the journal alone (the node-state checks find no kubelet and stop there);
// "node-state" adds a kubeadm node whose kubeconfig names a real HTTPS
// server on 127.0.0.1, so both probes (CA trust handshake, reachability) run.
// Reported: wall and CPU (user+sys of the eleven processes) per interval.
//
//	KD_BIN=bin/kubelet-doctor go test -run '^$' -bench Interval -benchtime 10x ./test/e2e/nodestate
func BenchmarkInterval(b *testing.B) {
	bin := os.Getenv("KD_BIN")
	if bin == "" {
		b.Skip("KD_BIN must name the kubelet-doctor binary")
	}
	ca := pkitest.NewCA(b, "kubernetes", time.Time{}, time.Time{})
	server := "https://" + pkitest.ServeTLS(b, ca.Issue(b, pkitest.Leaf{CN: "kube-apiserver", Server: true, IPs: pkitest.Loopback()}), 403)
	logOnly := b.TempDir()
	healthyJournal(b, logOnly)
	full := b.TempDir()
	healthyJournal(b, full)
	n := &node{t: b, root: full, ca: ca}
	n.write("/etc/hostname", []byte("worker-1\n"), 0o644)
	n.write("/etc/kubernetes/pki/ca.crt", ca.CertPEM, 0o644)
	n.write("/var/lib/kubelet/config.yaml", []byte("rotateCertificates: true\n"), 0o644)
	n.joined(server, time.Now().Add(-time.Hour), time.Now().Add(300*24*time.Hour))
	for _, v := range []struct{ name, root string }{{"log-only", logOnly}, {"node-state", full}} {
		b.Run(v.name, func(b *testing.B) {
			var cpu, wall time.Duration
			for i := 0; b.Loop(); i++ {
				state := filepath.Join(b.TempDir(), fmt.Sprint(i))
				c, w := oneInterval(b, bin, v.root, state)
				cpu += c
				wall += w
			}
			b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "wall-ms/interval")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/interval")
		})
	}
}

// oneInterval runs the eleven checks three at a time and returns their CPU
// time and the wall time of the whole.
func oneInterval(b *testing.B, bin, root, state string) (cpu, wall time.Duration) {
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	start := time.Now()
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	for _, c := range condition.Types() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			// Exit 0/1/2 are all answers; only a failure to run counts.
			err := exec.Command(bin, "check", c, "--root="+root, "--state-dir="+state).Run()
			if _, ok := err.(*exec.ExitError); err != nil && !ok {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	wall = time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	tv := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return tv(after) - tv(before), wall
}
