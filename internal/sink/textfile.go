package sink

// textfile.go renders `kubelet-doctor metrics`: the Prometheus text format
// for node_exporter's textfile collector, and writes it atomically (a temp
// file in the same directory, renamed over the old one), so that the
// collector never reads half a file.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/timeline"
)

// TextfileName is the file metrics writes into the collector's directory.
const TextfileName = "kubelet_doctor.prom"

// Metrics is what one metrics run exports.
type Metrics struct {
	At       time.Time
	Verdicts []doctor.Verdict
	// Timeline is the kubelet's history; nil when it could not be read
	// (TimelineErr says why), and its metrics are then left out rather
	// than reported as zero.
	Timeline        *timeline.Timeline
	TimelineErr     error
	TimelineSeconds float64
}

type family struct {
	name, typ, help string
	samples         []sample
}

type sample struct {
	labels [][2]string
	value  float64
}

func (f *family) add(v float64, labels ...string) {
	s := sample{value: v}
	for i := 0; i+1 < len(labels); i += 2 {
		s.labels = append(s.labels, [2]string{labels[i], labels[i+1]})
	}
	f.samples = append(f.samples, s)
}

// statuses are the values of the status label, in output order.
var statuses = []doctor.Status{doctor.OK, doctor.Problem, doctor.Unknown}

// families builds every metric family, in a stable order.
func (m Metrics) families() []*family {
	status := &family{name: "kubelet_doctor_condition_status", typ: "gauge",
		help: "Status of each kubelet-doctor condition: 1 for the current status (ok, problem, unknown), 0 for the others."}
	reason := &family{name: "kubelet_doctor_condition_reason", typ: "gauge",
		help: "Always 1: the NodeCondition reason of each condition's current status."}
	for _, v := range m.Verdicts {
		for _, s := range statuses {
			status.add(b2f(v.Status == s), "condition", v.Condition.Type, "status", s.String())
		}
		reason.add(1, "condition", v.Condition.Type, "reason", Reason(v), "status", v.Status.String())
	}
	fs := []*family{status, reason}
	if e := m.expiry(); len(e.samples) > 0 {
		fs = append(fs, e)
	}
	fs = append(fs, m.lifecycle()...)
	fs = append(fs, m.checks()...)
	last := &family{name: "kubelet_doctor_last_run_timestamp_seconds", typ: "gauge",
		help: "When kubelet-doctor metrics last evaluated the node (Unix time)."}
	last.add(unix(m.At))
	return append(fs, last)
}

// expiry is each certificate's end of validity, as the checks that read
// them report it (node state; absent when no check could read one).
func (m Metrics) expiry() *family {
	f := &family{name: "kubelet_doctor_certificate_expiry_timestamp_seconds", typ: "gauge",
		help: "When the kubelet's client or serving certificate expires (Unix time), as read from the node."}
	seen := map[string]bool{}
	for _, v := range m.Verdicts {
		for _, fd := range append([]doctor.Finding{v.Lead}, v.Findings...) {
			kinds := make([]string, 0, len(fd.Expires))
			for k := range fd.Expires {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				if !seen[k] {
					seen[k] = true
					f.add(unix(fd.Expires[k]), "certificate", k)
				}
			}
		}
	}
	return f
}

// lifecycle is the crash loop (from the startup condition) and, when the
// timeline was read, the registration and restart metrics.
func (m Metrics) lifecycle() []*family {
	var fs []*family
	for _, v := range m.Verdicts {
		if v.Condition.Type == condition.TypeStartup && v.Status != doctor.Unknown {
			f := &family{name: "kubelet_doctor_kubelet_crash_looping", typ: "gauge",
				help: "1 while the kubelet crash-loops (KubeletStartupProblem with a crash loop), else 0."}
			f.add(b2f(v.Status == doctor.Problem && v.Lead.Label == "crash-loop"))
			fs = append(fs, f)
		}
	}
	t := m.Timeline
	if t == nil {
		return fs
	}
	counter := func(name, help string, v int64) {
		f := &family{name: name, typ: "counter", help: help}
		f.add(float64(v))
		fs = append(fs, f)
	}
	counter("kubelet_doctor_registration_attempts_total", "Node registration attempts the kubelet logged (\"Attempting to register node\").", t.AttemptsTotal)
	counter("kubelet_doctor_registration_failures_total", "Node registration failures the kubelet logged (\"Unable to register node\").", t.FailuresTotal)
	counter("kubelet_doctor_registrations_total", "Kubelet starts that registered the node (\"Successfully registered node\" or already registered).", t.Registrations)
	counter("kubelet_doctor_kubelet_starts_total", "Kubelet starts seen in the journal.", t.Starts)
	counter("kubelet_doctor_kubelet_exits_total", "Failed kubelet exits seen in the journal.", t.Exits)
	counter("kubelet_doctor_kubelet_systemd_restarts_total", "systemd's restart counter of the kubelet unit, as last logged.", int64(t.SystemdRestarts))
	if t.Started.IsZero() {
		return fs // no start in view: when it started and whether it registered cannot be told
	}
	gauge := func(name, help string, v float64) {
		f := &family{name: name, typ: "gauge", help: help}
		f.add(v)
		fs = append(fs, f)
	}
	gauge("kubelet_doctor_kubelet_start_time_seconds", "When the running kubelet started (Unix time).", unix(t.Started))
	gauge("kubelet_doctor_node_registered", "1 when the running kubelet has registered its node, else 0.", b2f(!t.Registered.IsZero()))
	gauge("kubelet_doctor_registration_current_attempts", "Registration attempts of the running kubelet.", float64(t.Attempts))
	if d, ok := t.RegisterDuration(); ok {
		gauge("kubelet_doctor_registration_duration_seconds", "Time from the running kubelet's start to its node's registration.", d.Seconds())
	}
	return fs
}

// checks are each check's success and duration, as node_exporter reports
// its collectors'; the timeline read is one of them.
func (m Metrics) checks() []*family {
	ok := &family{name: "kubelet_doctor_check_success", typ: "gauge", help: "1 when the check could look, 0 when it could not (its conditions are unknown)."}
	dur := &family{name: "kubelet_doctor_check_duration_seconds", typ: "gauge", help: "How long the check took in this run."}
	cached := &family{name: "kubelet_doctor_check_cached", typ: "gauge", help: "1 when the check's findings came from its cache."}
	seen := map[string]doctor.CheckRun{}
	for _, v := range m.Verdicts {
		for _, c := range v.Checks {
			seen[c.Name] = c
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := seen[n]
		ok.add(b2f(c.Err == ""), "check", n)
		dur.add(c.Duration.Seconds(), "check", n)
		cached.add(b2f(c.Cached), "check", n)
	}
	ok.add(b2f(m.TimelineErr == nil && m.Timeline != nil), "check", "timeline")
	dur.add(m.TimelineSeconds, "check", "timeline")
	return []*family{ok, dur, cached}
}

// WriteText writes the metrics in the Prometheus text format.
func (m Metrics) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	for _, f := range m.families() {
		if len(f.samples) == 0 {
			continue
		}
		ew.printf("# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		for _, s := range f.samples {
			ew.printf("%s%s %s\n", f.name, labelText(s.labels), strconv.FormatFloat(s.value, 'g', -1, 64))
		}
	}
	return ew.err
}

// WriteTextfile writes the metrics to dir/TextfileName atomically.
func (m Metrics) WriteTextfile(dir string) error {
	tmp, err := os.CreateTemp(dir, "."+TextfileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file in %q: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	err = m.WriteText(tmp)
	if err == nil {
		err = tmp.Chmod(0o644) // the collector runs as another user
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", tmp.Name(), err)
	}
	dst := filepath.Join(dir, TextfileName)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("rename to %q: %w", dst, err)
	}
	return nil
}

func labelText(ls [][2]string) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l[0] + `="` + escapeLabel(l[1]) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
