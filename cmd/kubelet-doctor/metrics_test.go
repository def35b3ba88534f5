package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
)

// parseMetrics parses the text format as Prometheus does and lints it with
// promtool's rules.
func parseProm(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, text)
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	return mfs
}

// value is the value of the sample of name whose labels include want.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range mf.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			match = match && labels[want[i]] == want[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		}
	}
	t.Fatalf("no sample of %s with %v", name, want)
	return 0
}

func TestMetricsTextfileOfAFailingNode(t *testing.T) {
	n := newNode(t)
	n.append(failingNode(t0)...)
	dir := t.TempDir()
	code, out, errOut := runCmd(t, "", "metrics", "--root", n.root, "--textfile", dir, nowFlag(2*time.Minute))
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != sink.TextfileName {
		t.Fatalf("textfile dir holds %v, want only %s (no temp file left)", entries, sink.TextfileName)
	}
	fi, _ := os.Stat(filepath.Join(dir, sink.TextfileName))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 for the collector", fi.Mode().Perm())
	}
	b, err := os.ReadFile(filepath.Join(dir, sink.TextfileName))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	mfs := parseProm(t, text)
	golden(t, "metrics-failing.prom", blankDurations(text))

	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"the untrusted CA is a problem", "kubelet_doctor_condition_status", []string{"condition", "KubeletCATrustProblem", "status", "problem"}, 1},
		{"with its reason", "kubelet_doctor_condition_reason", []string{"condition", "KubeletCATrustProblem", "reason", "KubeletCAUntrusted"}, 1},
		{"a healthy condition is ok", "kubelet_doctor_condition_status", []string{"condition", "KubeletDNSProblem", "status", "ok"}, 1},
		{"the crash loop shows", "kubelet_doctor_kubelet_crash_looping", nil, 1},
		{"one registration attempt", "kubelet_doctor_registration_attempts_total", nil, 1},
		{"which failed", "kubelet_doctor_registration_failures_total", nil, 1},
		{"four starts", "kubelet_doctor_kubelet_starts_total", nil, 4},
		{"three failed exits", "kubelet_doctor_kubelet_exits_total", nil, 3},
		{"not registered", "kubelet_doctor_node_registered", nil, 0},
		{"the journal check looked", "kubelet_doctor_check_success", []string{"check", "journal"}, 1},
		{"the timeline was read", "kubelet_doctor_check_success", []string{"check", "timeline"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := value(t, mfs, tt.metric, tt.labels...); got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	if _, ok := mfs["kubelet_doctor_registration_duration_seconds"]; ok {
		t.Errorf("a registration duration for a kubelet that never registered")
	}
}

func TestMetricsRegistrationTimeAndCountersGrowAcrossRuns(t *testing.T) {
	n := newNode(t)
	n.append(healthyNode(t0)...)
	state := t.TempDir()
	args := []string{"metrics", "--root", n.root, "--state-dir", state}
	code, out, errOut := runCmd(t, "", append(args, nowFlag(time.Minute))...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mfs := parseProm(t, out)
	if got := value(t, mfs, "kubelet_doctor_registration_duration_seconds"); got != 4 {
		t.Errorf("start to registration %vs, want 4s", got)
	}
	if got := value(t, mfs, "kubelet_doctor_node_registered"); got != 1 {
		t.Errorf("registered = %v, want 1", got)
	}
	// The kubelet restarts and registers again; the next run reads only
	// what is new and the counters go on from where they were.
	n.append(healthyNode(t0.Add(2 * time.Minute))...)
	code, out, errOut = runCmd(t, "", append(args, nowFlag(3*time.Minute))...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	mfs = parseProm(t, out)
	for name, want := range map[string]float64{
		"kubelet_doctor_kubelet_starts_total":          2,
		"kubelet_doctor_registration_attempts_total":   2,
		"kubelet_doctor_registrations_total":           2,
		"kubelet_doctor_registration_current_attempts": 1,
		"kubelet_doctor_kubelet_start_time_seconds":    float64(t0.Add(2 * time.Minute).Unix()),
	} {
		if got := value(t, mfs, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestMetricsCannotTellLeavesTheTimelineOut(t *testing.T) {
	n := newNode(t) // no journal at all
	code, out, errOut := runCmd(t, "", "metrics", "--root", n.root, "--state-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mfs := parseProm(t, out)
	if got := value(t, mfs, "kubelet_doctor_condition_status", "condition", "KubeletCATrustProblem", "status", "unknown"); got != 1 {
		t.Errorf("unreadable journal: CA trust unknown = %v, want 1", got)
	}
	if got := value(t, mfs, "kubelet_doctor_check_success", "check", "timeline"); got != 0 {
		t.Errorf("timeline success = %v, want 0", got)
	}
	for _, name := range []string{"kubelet_doctor_registration_attempts_total", "kubelet_doctor_node_registered", "kubelet_doctor_kubelet_crash_looping"} {
		if _, ok := mfs[name]; ok {
			t.Errorf("%s reported although the journal could not be read", name)
		}
	}
}

func TestMetricsRejectsBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"metrics", "--textfile", "/nonexistent/dir"},
		{"metrics", "--lookback", "0s"},
		{"metrics", "extra"},
	} {
		if code, _, errOut := runCmd(t, "", args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, errOut)
		}
	}
}

func TestMetricsLabelValuesAreEscaped(t *testing.T) {
	var b bytes.Buffer
	m := sink.Metrics{At: t0}
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	parseProm(t, b.String())
}
