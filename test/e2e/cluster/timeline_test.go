package cluster_test

import (
	"fmt"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// timeline builds a node's journal in time order (sd_journal's realtime
// seeks assume order). Kubelet lines get a klog header stamped with the
// entry's own time, as the real kubelet writes them.
type timeline struct {
	node    string
	t       time.Time
	entries []journalexport.Entry
}

func newTimeline(node string, start time.Time) *timeline {
	return &timeline{node: node, t: start}
}

// at moves the clock to t; entries are never stamped before the last one,
// so a scenario cannot build an out-of-order journal by mistake.
func (tl *timeline) at(t time.Time) *timeline {
	if t.After(tl.t) {
		tl.t = t
	}
	return tl
}

// after moves the clock forward by d.
func (tl *timeline) after(d time.Duration) *timeline { return tl.at(tl.t.Add(d)) }

// kubelet appends a klog line from the kubelet: sev is I, W, E or F, src the
// "file.go:line" of the call site, msg the rest (structured or not).
func (tl *timeline) kubelet(sev byte, src, msg string) *timeline {
	line := fmt.Sprintf("%c%s %7d %s] %s", sev, tl.t.UTC().Format("0102 15:04:05.000000"), journalexport.KubeletPID, src, msg)
	return tl.add(journalexport.Kubelet(tl.t, line))
}

// kubeletf is kubelet with the node name substituted for every %[1]s.
func (tl *timeline) kubeletf(sev byte, src, format string) *timeline {
	return tl.kubelet(sev, src, fmt.Sprintf(format, tl.node))
}

// systemd appends PID 1's own entry about kubelet.service.
func (tl *timeline) systemd(msg string) *timeline {
	return tl.add(journalexport.Systemd(tl.t, "kubelet.service", msg))
}

func (tl *timeline) add(e journalexport.Entry) *timeline {
	tl.entries = append(tl.entries, e)
	// Strictly increasing timestamps keep the order unambiguous for readers.
	tl.t = tl.t.Add(time.Millisecond)
	return tl
}

// kubeletStarted is what the journal holds when systemd starts the kubelet.
func (tl *timeline) kubeletStarted() *timeline {
	tl.systemd("Started kubelet.service - kubelet: The Kubernetes Node Agent.")
	return tl.kubelet('I', "server.go:529", `"Kubelet version" kubeletVersion="v1.36.3"`)
}

// kubeletRestarted is an operator's (or a config-management run's)
// restart after fixing the node: a clean stop and a new start.
func (tl *timeline) kubeletRestarted() *timeline {
	tl.systemd("Stopping kubelet.service - kubelet: The Kubernetes Node Agent...")
	tl.systemd("kubelet.service: Deactivated successfully.")
	tl.systemd("Stopped kubelet.service - kubelet: The Kubernetes Node Agent.")
	return tl.kubeletStarted()
}

// registered is the healthy end of a kubelet start: the Node exists and the
// kubelet owns it.
func (tl *timeline) registered() *timeline {
	tl.kubeletf('I', "kubelet_node_status.go:75", `"Attempting to register node" node="%[1]s"`)
	return tl.kubeletf('I', "kubelet_node_status.go:78", `"Successfully registered node" node="%[1]s"`)
}

// repeat calls fn every step from the current time until end. The clock
// stays after the last call (not a step later): a journal built "until
// now" must not continue into the future.
func (tl *timeline) repeat(end time.Time, step time.Duration, fn func(*timeline)) *timeline {
	for !tl.t.After(end) {
		next := tl.t.Add(step)
		fn(tl)
		if next.After(end) {
			break
		}
		tl.at(next)
	}
	return tl
}
