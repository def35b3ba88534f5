package sink

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/timeline"
)

func lint(t *testing.T, text string) {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(text)); err != nil {
		t.Fatalf("not the text format: %v\n%s", err, text)
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint %s: %s", p.Metric, p.Text)
	}
}

func TestTextfileEscapesLabelValues(t *testing.T) {
	v := rverdict(t, condition.TypeCertificate, doctor.Problem, doctor.Finding{Status: doctor.Problem, Reason: "Odd\"Reason\\\nX"})
	v.Checks = []doctor.CheckRun{{Name: "a\"check", Duration: 1500 * time.Millisecond}}
	var b bytes.Buffer
	if err := (Metrics{At: time.Unix(1, 0), Verdicts: []doctor.Verdict{v}}).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lint(t, b.String())
	if !strings.Contains(b.String(), `reason="Odd\"Reason\\\nX"`) || !strings.Contains(b.String(), `kubelet_doctor_check_duration_seconds{check="a\"check"} 1.5`) {
		t.Errorf("labels not escaped or durations not in seconds:\n%s", b.String())
	}
}

func TestTextfileLeavesOutWhatCannotBeTold(t *testing.T) {
	unk := rverdict(t, condition.TypeStartup, doctor.Unknown, doctor.Finding{})
	tests := []struct {
		name    string
		m       Metrics
		present []string
		absent  []string
	}{
		{name: "no timeline: no registration or restart metrics",
			m:       Metrics{At: time.Unix(1, 0), Verdicts: []doctor.Verdict{unk}, TimelineErr: errors.New("no journal")},
			present: []string{`kubelet_doctor_check_success{check="timeline"} 0`},
			absent:  []string{"kubelet_doctor_registration_attempts_total", "kubelet_doctor_kubelet_crash_looping"}},
		{name: "no start in view: counters but no start or registration gauges",
			m:       Metrics{At: time.Unix(1, 0), Timeline: &timeline.Timeline{AttemptsTotal: 3}},
			present: []string{"kubelet_doctor_registration_attempts_total 3"},
			absent:  []string{"kubelet_doctor_node_registered", "kubelet_doctor_kubelet_start_time_seconds"}},
		{name: "registered: the time it took",
			m: Metrics{At: time.Unix(1, 0), Timeline: &timeline.Timeline{Started: time.Unix(100, 0), Registered: time.Unix(112, 500_000_000)}},
			present: []string{"kubelet_doctor_node_registered 1", "kubelet_doctor_registration_duration_seconds 12.5",
				"kubelet_doctor_kubelet_start_time_seconds 100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.m.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			lint(t, b.String())
			for _, p := range tt.present {
				if !strings.Contains(b.String(), p+"\n") {
					t.Errorf("lacks %q:\n%s", p, b.String())
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(b.String(), a) {
					t.Errorf("has %q:\n%s", a, b.String())
				}
			}
		})
	}
}

func TestWriteTextfileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, TextfileName)
	if err := os.WriteFile(old, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader holding the old file keeps reading the old content: the new
	// file is another inode renamed over it, never rewritten in place.
	held, err := os.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := (Metrics{At: time.Unix(1, 0)}).WriteTextfile(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(old)
	heldBytes := make([]byte, 16)
	n, _ := held.Read(heldBytes)
	if string(heldBytes[:n]) != "old\n" || !strings.Contains(string(b), "kubelet_doctor_last_run_timestamp_seconds 1\n") {
		t.Errorf("held reader saw %q, file now %q", heldBytes[:n], b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind %v", entries)
	}
	if err := (Metrics{}).WriteTextfile(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("writing into a missing directory succeeded")
	}
}

func TestTextfileHasCertificateExpiry(t *testing.T) {
	c, _ := condition.ByType(condition.TypeCertificate)
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	f := doctor.Finding{Condition: c.Type, Status: doctor.OK, Expires: map[string]time.Time{"client": at}}
	m := Metrics{At: at, Verdicts: []doctor.Verdict{{Condition: c, Status: doctor.OK, Lead: f, Findings: []doctor.Finding{f}}}}
	var b bytes.Buffer
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `kubelet_doctor_certificate_expiry_timestamp_seconds{certificate="client"} 1.798859045e+09`
	if !strings.Contains(b.String(), want) {
		t.Errorf("no %s in\n%s", want, b.String())
	}
	lint(t, b.String())
}
