package sink

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

func TestComposeFitsAndKeepsTheLabelFirst(t *testing.T) {
	long := "POST https://very-long-load-balancer-name.example.internal:6443/api/v1/nodes/worker-with-a-long-name"
	got := Compose(doctor.Finding{Label: "x509 unknown authority", Detail: long, Frequency: "10+ in 10m"}, 80)
	if len(got) > 80 {
		t.Fatalf("Compose = %q (%d bytes), over 80", got, len(got))
	}
	if !strings.HasPrefix(got, "x509 unknown authority: POST https://") || !strings.HasSuffix(got, "(10+ in 10m)") {
		t.Errorf("Compose = %q: label first, frequency last", got)
	}
	if got := Compose(doctor.Finding{Label: "client certificate expired"}, 80); got != "client certificate expired" {
		t.Errorf("label alone = %q", got)
	}
}

func TestLineIsOnePrintableUTF8LineWithinMax(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"terminal escapes", "x509 \x1b[31mred\x1b[0m \x1b]0;title\x07 done"},
		{"NUL, DEL and C1", "a\x00b\x7fc\u0085d\u009be"},
		{"invalid UTF-8", "bad \xff\xfe bytes"},
		{"newlines and tabs fold", "one\ntwo\tthree\r\nfour"},
		{"bidi override", "safe \u202eevil"},
		{"multibyte at the cut", strings.Repeat("é", 60)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compose(doctor.Finding{Label: "label", Detail: tt.in}, 80)
			if len(got) > 80 || !utf8.ValidString(got) || strings.ContainsAny(got, "\n\r\t") {
				t.Fatalf("%q: not one valid line of <= 80 bytes", got)
			}
			for _, r := range got {
				if control(r) {
					t.Fatalf("%q keeps control character %U", got, r)
				}
			}
		})
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[2J", "\xff", "a\u202eb", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Fit(s, 80)
		if len(got) > 80 || !utf8.ValidString(got) {
			t.Fatalf("Fit(%q) = %q", s, got)
		}
		for _, r := range got {
			if control(r) || r == '\n' || r == '\r' || r == '\t' {
				t.Fatalf("Fit(%q) = %q keeps %U", s, got, r)
			}
		}
	})
}

func TestExitCodesAreNPDs(t *testing.T) {
	for s, want := range map[doctor.Status]int{doctor.OK: 0, doctor.Problem: 1, doctor.Unknown: 2} {
		if got := ExitCode(s); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", s, got, want)
		}
	}
}

func store(t *testing.T) *state.Store {
	t.Helper()
	s, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verdict(status doctor.Status, label string, since time.Time) doctor.Verdict {
	c, _ := condition.ByType(condition.TypeCATrust)
	return doctor.Verdict{Condition: c, Status: status,
		Lead: doctor.Finding{Condition: c.Type, Status: status, Label: label, Since: since}}
}

func TestAlertOncePerEpisode(t *testing.T) {
	s := store(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		v    doctor.Verdict
		want int
		why  string
	}{
		{verdict(doctor.Problem, "x509 unknown authority", t0), 1, "first failure"},
		{verdict(doctor.Problem, "x509 unknown authority", t0), 0, "same episode again"},
		{verdict(doctor.OK, "", time.Time{}), 0, "recovered"},
		{verdict(doctor.Problem, "x509 unknown authority", t0.Add(time.Hour)), 1, "new episode"},
		{verdict(doctor.Problem, "x509 certificate expired", t0.Add(time.Hour)), 1, "new cause"},
		{verdict(doctor.Unknown, "cannot read journal", time.Time{}), 0, "cannot tell is no Event"},
	}
	for _, st := range steps {
		var out bytes.Buffer
		code, err := Alert(context.Background(), s, st.v, 80, &out)
		if err != nil || code != st.want {
			t.Fatalf("%s: exit %d (%v), want %d", st.why, code, err, st.want)
		}
		if out.Len() == 0 || !strings.HasSuffix(out.String(), "\n") {
			t.Fatalf("%s: output %q, want one line", st.why, out.String())
		}
	}
}

func TestHoldKeepsAProblemThroughBriefUnknowns(t *testing.T) {
	s := store(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	hold := 2 * time.Minute
	steps := []struct {
		at     time.Duration
		v      doctor.Verdict
		want   doctor.Status
		msgHas string
		why    string
	}{
		{0, verdict(doctor.Problem, "x509 unknown authority", t0), doctor.Problem, "x509", "a problem is published"},
		{30 * time.Second, verdict(doctor.Unknown, "deadline reached", time.Time{}), doctor.Problem, "x509", "a brief unknown keeps it"},
		{time.Minute, verdict(doctor.Problem, "x509 unknown authority", t0), doctor.Problem, "x509", "seen again"},
		{time.Minute + 90*time.Second, verdict(doctor.Unknown, "deadline reached", time.Time{}), doctor.Problem, "x509", "within the hold of the last sighting"},
		{time.Minute + 3*time.Minute, verdict(doctor.Unknown, "deadline reached", time.Time{}), doctor.Unknown, "deadline", "past the hold, unknown is told"},
		{5 * time.Minute, verdict(doctor.OK, "", time.Time{}), doctor.OK, "trusts", "healthy is told at once"},
		{5*time.Minute + 10*time.Second, verdict(doctor.Unknown, "deadline reached", time.Time{}), doctor.Unknown, "deadline", "no problem to hold"},
	}
	for _, st := range steps {
		line := Line(st.v, 80)
		got, msg := Hold(context.Background(), s, st.v, line, t0.Add(st.at), hold)
		if got != st.want || !strings.Contains(msg, st.msgHas) {
			t.Fatalf("%s: %v %q, want %v containing %q", st.why, got, msg, st.want, st.msgHas)
		}
	}
}
