package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// benchEntries is the size of the benchmarks' journal: an hour of a busy
// kubelet (one line every 36 ms), one in a hundred lines a failure.
const benchEntries = 100_000

var (
	benchOnce sync.Once
	benchRoot string
	benchTail time.Time
	benchErr  error
)

// benchNode writes the benchmarks' journal once per process.
func benchNode(b *testing.B) (root string, now time.Time) {
	b.Helper()
	if err := journalexport.Available(); err != nil {
		b.Skip(err)
	}
	benchOnce.Do(func() {
		// Shared by every benchmark of the process; TestMain removes it.
		benchRoot, benchErr = os.MkdirTemp("", "kd-bench-")
		if benchErr != nil {
			return
		}
		step := time.Hour / benchEntries
		start := time.Now().Add(-time.Hour).Truncate(time.Second)
		i := 0
		benchErr = journalexport.AppendFunc(filepath.Join(benchRoot, "var/log/journal", journalexport.MachineID, "system.journal"),
			func() (journalexport.Entry, bool) {
				if i == benchEntries {
					return journalexport.Entry{}, false
				}
				at := start.Add(time.Duration(i) * step)
				i++
				benchTail = at
				switch {
				case i%1000 == 1:
					return journalexport.Systemd(at, "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."), true
				case i%100 == 0:
					return klog(at, 'E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": dial tcp 10.0.0.10:6443: connect: connection refused" node="worker-1"`), true
				case i%100 == 50:
					return klog(at, 'I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`), true
				}
				return klog(at, 'I', "kubelet.go:2500", `"SyncLoop (PLEG): event for pod" pod="kube-system/kube-proxy-x" event={"ID":"1","Type":"ContainerStarted"}`), true
			})
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchRoot, benchTail
}

// benchRun runs the command in a loop; an exit code above max (a usage
// error or "cannot tell") fails the benchmark.
func benchRun(b *testing.B, max int, args ...string) {
	b.Helper()
	for b.Loop() {
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code > max {
			b.Fatalf("%v: exit %d", args, code)
		}
	}
}

// BenchmarkReport: report reads its window of the journal into a fresh
// private store on every run. Whether the window holds a problem (exit 1)
// depends on it; that it can tell (not 2) does not.
func BenchmarkReport(b *testing.B) {
	root, now := benchNode(b)
	for _, w := range []string{"10m", "1h"} {
		b.Run("window="+w, func(b *testing.B) {
			benchRun(b, 1, "report", "--root", root, "--window", w, "--now", now.Format(time.RFC3339Nano))
		})
	}
}

// BenchmarkMetrics: the first run reads the lookback for the timeline; a
// timer's later runs read only what is new (here nothing).
func BenchmarkMetrics(b *testing.B) {
	root, now := benchNode(b)
	at := "--now=" + now.Format(time.RFC3339Nano)
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			if code := run([]string{"metrics", "--root", root, "--state-dir", b.TempDir(), at}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
				b.Fatalf("exit %d", code)
			}
		}
	})
	b.Run("incremental", func(b *testing.B) {
		args := []string{"metrics", "--root", root, "--state-dir", b.TempDir(), at}
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("first run: exit %d", code)
		}
		benchRun(b, 0, args...) // each reads only what is new: nothing
	})
}

// BenchmarkExplainJournalSummary groups the whole journal by cause.
func BenchmarkExplainJournalSummary(b *testing.B) {
	root, _ := benchNode(b)
	benchRun(b, 0, "explain", "--journal", "--root", root, "--since", "0", "--summary")
}
