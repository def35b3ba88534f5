package sink

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
)

func rverdict(t *testing.T, typ string, s doctor.Status, fs ...doctor.Finding) doctor.Verdict {
	t.Helper()
	c, ok := condition.ByType(typ)
	if !ok {
		t.Fatalf("no condition %s", typ)
	}
	v := doctor.Verdict{Condition: c, Status: s, Findings: fs}
	if len(fs) > 0 {
		v.Lead = fs[0]
	}
	return v
}

func TestWorst(t *testing.T) {
	ok, prob, unk := doctor.Verdict{Status: doctor.OK}, doctor.Verdict{Status: doctor.Problem}, doctor.Verdict{Status: doctor.Unknown}
	tests := []struct {
		name string
		vs   []doctor.Verdict
		want doctor.Status
	}{
		{"nothing evaluated cannot be told", nil, doctor.Unknown},
		{"all ok is ok", []doctor.Verdict{ok, ok}, doctor.OK},
		{"unknown beats ok", []doctor.Verdict{ok, unk}, doctor.Unknown},
		{"a problem beats unknown", []doctor.Verdict{unk, prob, ok}, doctor.Problem},
	}
	for _, tt := range tests {
		if got := Worst(tt.vs); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReasonIsWhatNPDShows(t *testing.T) {
	tests := []struct {
		name string
		v    doctor.Verdict
		want string
	}{
		{"healthy", rverdict(t, condition.TypeCATrust, doctor.OK), "KubeletCATrusted"},
		{"a problem without a specific reason", rverdict(t, condition.TypeCATrust, doctor.Problem, doctor.Finding{Status: doctor.Problem}), "KubeletCAUntrusted"},
		{"a specific reason", rverdict(t, condition.TypeCertificate, doctor.Problem, doctor.Finding{Status: doctor.Problem, Reason: "KubeletClientCertExpired"}), "KubeletClientCertExpired"},
		{"unknown keeps the problem reason, as NPD does", rverdict(t, condition.TypeCATrust, doctor.Unknown, doctor.Finding{}), "KubeletCAUntrusted"},
	}
	for _, tt := range tests {
		if got := Reason(tt.v); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestReportEvidenceAndHints(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	node := doctor.Finding{Status: doctor.Problem, Label: "client cert expired", Detail: "/var/lib/kubelet/pki/kubelet-client-current.pem expired 2026-11-20",
		Source: doctor.SourceNodeState, Check: "certs"}
	logged := doctor.Finding{Status: doctor.Problem, Label: "client cert expired", Source: doctor.SourceJournal, Check: "journal",
		Evidence: []doctor.Evidence{{At: at, Text: "client cert expired\x1b[31m"}}}
	healthy := doctor.Finding{Status: doctor.OK, Check: "other", Detail: "fine", Evidence: []doctor.Evidence{{Text: "not evidence"}}}
	v := rverdict(t, condition.TypeCertificate, doctor.Problem, node, logged, healthy)
	v.Checks = []doctor.CheckRun{{Name: "certs", Duration: time.Second}, {Name: "journal", Err: "boom"}}
	v2 := rverdict(t, condition.TypeCATrust, doctor.Unknown, doctor.Finding{Status: doctor.Unknown, Label: "cannot tell: boom"})
	v2.Checks = []doctor.CheckRun{{Name: "journal", Err: "boom"}}
	r := NewReport([]doctor.Verdict{v, v2}, at, "/")

	c := r.Conditions[0]
	if len(c.Evidence) != 2 {
		t.Fatalf("evidence %+v, want the node fact and the log line, not the healthy check's", c.Evidence)
	}
	if c.Evidence[0].Text != node.Detail || c.Evidence[1].At.Location() != time.UTC || strings.Contains(c.Evidence[1].Text, "\x1b") {
		t.Errorf("evidence %+v: want the node fact first, times in UTC, control characters escaped", c.Evidence)
	}
	if c.Hint != condition.All()[0].Hint {
		t.Errorf("hint %q, want the condition's when no finding has one", c.Hint)
	}
	if r.Conditions[1].Hint != "" {
		t.Errorf("unknown condition got the problem's hint %q", r.Conditions[1].Hint)
	}
	if len(r.Checks) != 2 || r.Checks[1].Succeeded || !r.Checks[0].Succeeded {
		t.Errorf("checks %+v, want each once with its success", r.Checks)
	}
	if r.Status != "problem" || r.ExitCode() != ExitProblem || r.Summary != (ReportSummary{Problem: 1, Unknown: 1}) {
		t.Errorf("status %q exit %d summary %+v", r.Status, r.ExitCode(), r.Summary)
	}
}

func TestReportTextColourOnlyWhenAsked(t *testing.T) {
	v := rverdict(t, condition.TypeCATrust, doctor.Problem, doctor.Finding{Status: doctor.Problem, Label: "x509 unknown authority"})
	r := NewReport([]doctor.Verdict{v}, time.Now(), "/")
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := r.WriteText(&b, color); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "\x1b["); got != color {
			t.Errorf("colour %v: escape codes present %v:\n%q", color, got, b.String())
		}
		for _, want := range []string{"KubeletCATrustProblem", "x509 unknown authority", "runbook: docs/runbooks/KubeletCATrustProblem.md"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("colour %v: lacks %q", color, want)
			}
		}
	}
}

// TestReportHealthyConditionSaysWhatWasSeen: a healthy condition lists
// each check's fact (the probe's answer), not an empty row.
func TestReportHealthyConditionSaysWhatWasSeen(t *testing.T) {
	cond, _ := condition.ByType(condition.TypeResources)
	ok := doctor.Finding{Condition: cond.Type, Status: doctor.OK, Check: "pod-resources", Source: doctor.SourceProbe,
		Label: "pod-resources answers", Detail: "/var/lib/kubelet/pod-resources/kubelet.sock: 3 pods"}
	v := doctor.Verdict{Condition: cond, Status: doctor.OK, Lead: ok, Findings: []doctor.Finding{ok}}
	r := NewReport([]doctor.Verdict{v}, time.Unix(0, 0), "/")
	if c := r.Conditions[0]; len(c.Evidence) != 1 || c.Evidence[0].Text != ok.Detail || c.Evidence[0].Check != "pod-resources" {
		t.Errorf("evidence %+v, want the probe's answer", c.Evidence)
	}
}
