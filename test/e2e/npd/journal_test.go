package npd

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// line is one journal entry of a scenario, dated ago before the moment it
// is appended (but never before the entry written before it: a journal is
// written in time order).
type line struct {
	ago   time.Duration
	entry func(at time.Time) journalexport.Entry
}

// kubelet is a kubelet entry with a klog text header dated like the entry:
// level I/W/E/F, src "file.go:line", msg the rest of the klog line.
func kubelet(level byte, src, msg string) line {
	return line{entry: func(at time.Time) journalexport.Entry {
		return journalexport.Kubelet(at, fmt.Sprintf("%c%s %7d %s] %s", level, at.UTC().Format("0102 15:04:05.000000"), journalexport.KubeletPID, src, msg))
	}}
}

// systemd is PID 1's entry about kubelet.service.
func systemd(msg string) line {
	return line{entry: func(at time.Time) journalexport.Entry {
		return journalexport.Systemd(at, "kubelet.service", msg)
	}}
}

// ago dates lines d before the append (each later one 1ms after).
func ago(d time.Duration, ls ...line) []line {
	out := make([]line, len(ls))
	for i, l := range ls {
		l.ago = d
		out[i] = l
	}
	return out
}

// repeat is n copies of ls: categories whose errors a healthy kubelet also
// logs now and then need a few in the window before they count.
func repeat(n int, ls ...line) []line {
	var out []line
	for range n {
		out = append(out, ls...)
	}
	return out
}

// cat concatenates line lists.
func cat(lists ...[]line) []line {
	var out []line
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// nodeJournal is the node's persistent journal: ROOT/var/log/journal/
// <machine-id>/system.journal, as journald lays it out.
type nodeJournal struct {
	t    *testing.T
	dir  string // ROOT/var/log/journal
	file string
	last time.Time
}

func newNodeJournal(t *testing.T, root string) *nodeJournal {
	dir := filepath.Join(root, "var", "log", "journal")
	return &nodeJournal{t: t, dir: dir, file: filepath.Join(dir, journalexport.MachineID, "system.journal")}
}

// append writes ls, dated relative to now, after everything written so far.
func (j *nodeJournal) append(ls []line) {
	j.t.Helper()
	now := time.Now()
	entries := make([]journalexport.Entry, 0, len(ls))
	for _, l := range ls {
		at := now.Add(-l.ago)
		if !at.After(j.last) {
			at = j.last.Add(time.Millisecond)
		}
		j.last = at
		entries = append(entries, l.entry(at))
	}
	if err := journalexport.Append(j.file, entries); err != nil {
		j.t.Fatalf("append to the node's journal: %v", err)
	}
}

// started is a kubelet start as systemd and the kubelet log it.
func started() []line {
	return []line{
		systemd("Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		kubelet('I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
	}
}

// healthy is a kubelet that started 9 minutes ago (past the 5m boot grace,
// inside the 10m window), registered and serves: the baseline of every
// scenario, on which no condition may be raised.
func healthy() []line {
	return ago(9*time.Minute, cat(
		[]line{systemd("Starting kubelet.service - kubelet: The Kubernetes Node Agent...")},
		started(),
		[]line{
			kubelet('I', "certificate_manager.go:422", `"Certificate rotation is enabled" logger="kubernetes.io/kube-apiserver-client-kubelet"`),
			kubelet('I', "kubelet.go:2488", `"Starting kubelet main sync loop"`),
			kubelet('I', "server.go:249", `"Starting to serve the podresources API" endpoint="unix:/var/lib/kubelet/pod-resources/kubelet.sock"`),
			kubelet('I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
			kubelet('I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`),
		},
	)...)
}

// crashLoop is three starts that each die on fatal (a klog message of
// run.go's "command failed"), with systemd's exit and restart entries, the
// first one first seconds ago and 10s apart.
func crashLoop(first time.Duration, fatal string) []line {
	var out []line
	for i := range 3 {
		out = append(out, ago(first-time.Duration(i)*10*time.Second, cat(
			started(),
			[]line{
				kubelet('E', "run.go:72", `"command failed" err="`+fatal+`"`),
				systemd("kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
				systemd("kubelet.service: Failed with result 'exit-code'."),
				systemd(fmt.Sprintf("kubelet.service: Scheduled restart job, restart counter is at %d.", i+1)),
			},
		)...)...)
	}
	return out
}
