package doctor

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// fixed is a check that reports what it is told.
type fixed struct {
	name  string
	conds []string
	fs    []Finding
	err   error
	runs  atomic.Int64
	age   time.Duration
	delay time.Duration
}

func (c *fixed) Name() string         { return c.name }
func (c *fixed) Conditions() []string { return c.conds }
func (c *fixed) Run(ctx context.Context, _ *Env) ([]Finding, error) {
	c.runs.Add(1)
	time.Sleep(c.delay)
	return c.fs, c.err
}

type cacheable struct{ *fixed }

func (c cacheable) MaxAge() time.Duration { return c.age }

var _ Cacheable = cacheable{}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func env(t *testing.T) *Env {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	return &Env{Now: t0, Store: st, Log: log}
}

func problem(cond string, src Source, label string, n int) Finding {
	return Finding{Condition: cond, Status: Problem, Source: src, Label: label, Count: n}
}

func evaluate(t *testing.T, e *Env, checks []Check, want ...string) map[string]Verdict {
	t.Helper()
	vs, err := Evaluate(context.Background(), e, checks, want)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Verdict{}
	for _, v := range vs {
		out[v.Condition.Type] = v
	}
	if len(out) != len(want) {
		t.Fatalf("got %d verdicts for %d wanted conditions", len(out), len(want))
	}
	return out
}

func TestMergePrecedence(t *testing.T) {
	cert := condition.TypeCertificate
	tests := []struct {
		name      string
		findings  [][]Finding // per check
		errs      []error
		want      Status
		wantLabel string
	}{
		{"no finding from a check that looked is healthy", [][]Finding{nil}, []error{nil}, OK, "kubelet client and serving certificates are valid"},
		{"a problem beats ok", [][]Finding{{{Condition: cert, Status: OK}}, {problem(cert, SourceJournal, "rotation failed", 1)}}, []error{nil, nil}, Problem, "rotation failed"},
		{"a problem beats a check that cannot tell", [][]Finding{{problem(cert, SourceJournal, "rotation failed", 1)}, nil}, []error{nil, errors.New("boom")}, Problem, "rotation failed"},
		{"cannot tell beats ok", [][]Finding{{{Condition: cert, Status: OK}}, nil}, []error{nil, errors.New("read cert: boom")}, Unknown, "cannot tell: read cert: boom"},
		{"node state leads over the journal", [][]Finding{{problem(cert, SourceJournal, "rotation failed", 30)}, {problem(cert, SourceNodeState, "client certificate expired", 1)}}, []error{nil, nil}, Problem, "client certificate expired"},
		{"the larger count leads within a source", [][]Finding{{problem(cert, SourceJournal, "a", 1), problem(cert, SourceJournal, "b", 5)}}, []error{nil}, Problem, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var checks []Check
			for i, fs := range tt.findings {
				checks = append(checks, &fixed{name: string(rune('a' + i)), conds: []string{cert}, fs: fs, err: tt.errs[i]})
			}
			v := evaluate(t, env(t), checks, cert)[cert]
			if v.Status != tt.want || v.Lead.Label != tt.wantLabel {
				t.Errorf("verdict %v %q, want %v %q", v.Status, v.Lead.Label, tt.want, tt.wantLabel)
			}
		})
	}
}

// For the kubelet process, the fatal error it logged is the cause; the unit's
// restart count over D-Bus only confirms the loop.
func TestTheFatalErrorLeadsTheStartupCondition(t *testing.T) {
	st := condition.TypeStartup
	unit := &fixed{name: "unit", conds: []string{st}, fs: []Finding{problem(st, SourceProbe, "kubelet crash loop: 7 restarts", 7)}}
	fatal := problem(st, SourceJournal, "crash-loop", 3)
	fatal.Detail = "kubelet config file missing: /var/lib/kubelet/config.yaml"
	j := &fixed{name: "journal", conds: []string{st}, fs: []Finding{fatal}}
	v := evaluate(t, env(t), []Check{j, unit}, st)[st]
	if v.Lead.Source != SourceJournal || v.Lead.Detail == "" {
		t.Errorf("lead %+v, want the journal's fatal error", v.Lead)
	}
	// Without a fatal error in view the unit's evidence leads.
	bare := problem(st, SourceJournal, "crash-loop", 3)
	v = evaluate(t, env(t), []Check{&fixed{name: "journal", conds: []string{st}, fs: []Finding{bare}}, unit}, st)[st]
	if v.Lead.Source != SourceProbe {
		t.Errorf("lead %+v, want the unit's", v.Lead)
	}
}

func TestNoCheckForAConditionIsUnknown(t *testing.T) {
	v := evaluate(t, env(t), nil, condition.TypeDNS)[condition.TypeDNS]
	if v.Status != Unknown {
		t.Fatalf("status %v with no check, want unknown", v.Status)
	}
}

func TestASymptomStaysFalseWhileItsCauseIsTrue(t *testing.T) {
	reg, ca := condition.TypeRegistration, condition.TypeCATrust
	both := &fixed{name: "journal", conds: condition.Types(), fs: []Finding{
		problem(ca, SourceJournal, "x509 unknown authority", 3),
		problem(reg, SourceJournal, "node not registered", 240),
	}}
	vs := evaluate(t, env(t), []Check{both}, reg, ca)
	if v := vs[reg]; v.Status != OK || v.SymptomOf != ca {
		t.Errorf("registration %v symptom of %q, want ok as a symptom of %s", v.Status, v.SymptomOf, ca)
	}
	if v := vs[ca]; v.Status != Problem || len(v.Symptoms) != 1 || v.Symptoms[0].Count != 240 {
		t.Errorf("CA trust %v with symptoms %+v, want the problem naming 240 registration errors", v.Status, v.Symptoms)
	} else if ev := v.Lead.Evidence; len(ev) == 0 || !strings.Contains(ev[len(ev)-1].Text, "node not registered (240, KubeletRegistrationProblem)") {
		t.Errorf("the cause's evidence does not name its symptoms: %+v", ev)
	}
	// Asked alone, the symptom still sees its cause: NPD runs one
	// condition per process.
	alone := evaluate(t, env(t), []Check{both}, reg)[reg]
	if alone.Status != OK || alone.SymptomOf != ca {
		t.Errorf("registration alone: %v symptom of %q", alone.Status, alone.SymptomOf)
	}
	// Without the cause it is a problem of its own.
	onlyReg := &fixed{name: "journal", conds: condition.Types(), fs: []Finding{problem(reg, SourceJournal, "node not registered", 240)}}
	if v := evaluate(t, env(t), []Check{onlyReg}, reg)[reg]; v.Status != Problem {
		t.Errorf("registration with no cause: %v, want problem", v.Status)
	}
	// A cause that cannot be told does not hide a real problem.
	unk := &fixed{name: "journal", conds: condition.Types(), fs: []Finding{
		{Condition: ca, Status: Unknown, Label: "cannot tell"}, problem(reg, SourceJournal, "node not registered", 240)}}
	if v := evaluate(t, env(t), []Check{unk}, reg)[reg]; v.Status != Problem {
		t.Errorf("registration with an unknown cause: %v, want problem", v.Status)
	}
}

func TestOnlyChecksForWantedConditionsAndTheirCausesRun(t *testing.T) {
	dns := &fixed{name: "dns", conds: []string{condition.TypeDNS}}
	ca := &fixed{name: "ca", conds: []string{condition.TypeCATrust}}
	evaluate(t, env(t), []Check{dns, ca}, condition.TypeRegistration)
	if dns.runs.Load() != 0 || ca.runs.Load() != 1 {
		t.Errorf("dns ran %d, ca ran %d; want 0 and 1 (CA trust can explain registration)", dns.runs.Load(), ca.runs.Load())
	}
}

// An expensive check runs once per interval however many conditions'
// plugins ask at once: the others wait for it and reuse its findings.
func TestCacheableChecksRunOncePerInterval(t *testing.T) {
	e := env(t)
	probe := &fixed{name: "probe", conds: []string{condition.TypeAPIServer}, age: 25 * time.Second, delay: 20 * time.Millisecond,
		fs: []Finding{problem(condition.TypeAPIServer, SourceProbe, "connection refused", 1)}}
	var wg sync.WaitGroup
	for i := 0; i < 11; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := evaluate(t, e, []Check{cacheable{probe}}, condition.TypeAPIServer)[condition.TypeAPIServer]
			if v.Status != Problem {
				t.Errorf("status %v, want the probe's problem", v.Status)
			}
		}()
	}
	wg.Wait()
	if n := probe.runs.Load(); n != 1 {
		t.Errorf("probe ran %d times for 11 evaluations in one interval, want 1", n)
	}
	later := *e
	later.Now = t0.Add(30 * time.Second)
	evaluate(t, &later, []Check{cacheable{probe}}, condition.TypeAPIServer)
	if n := probe.runs.Load(); n != 2 {
		t.Errorf("probe ran %d times after its max age, want 2", n)
	}
	// A clock that went back does not make an old result fresh.
	back := *e
	back.Now = t0.Add(-time.Hour)
	evaluate(t, &back, []Check{cacheable{probe}}, condition.TypeAPIServer)
	if n := probe.runs.Load(); n != 3 {
		t.Errorf("probe ran %d times after the clock went back, want 3", n)
	}
}

func TestCachedFailureStaysUnknown(t *testing.T) {
	e := env(t)
	probe := &fixed{name: "probe", conds: []string{condition.TypeAPIServer}, age: time.Minute, err: errors.New("no kubeconfig yet")}
	for i := 0; i < 2; i++ {
		v := evaluate(t, e, []Check{cacheable{probe}}, condition.TypeAPIServer)[condition.TypeAPIServer]
		if v.Status != Unknown || v.Lead.Label != "cannot tell: no kubeconfig yet" {
			t.Fatalf("run %d: %v %q", i, v.Status, v.Lead.Label)
		}
	}
	if probe.runs.Load() != 1 {
		t.Errorf("a failing probe ran %d times in one interval", probe.runs.Load())
	}
}

func TestUnknownConditionIsAnError(t *testing.T) {
	if _, err := Evaluate(context.Background(), env(t), nil, []string{"NoSuchProblem"}); err == nil {
		t.Fatal("no error for an unknown condition")
	}
}

// What the node's files or a probe show is the condition's own state: an
// expired client certificate is expired whatever explains the bootstrap
// failing, so it is never hidden as a symptom; the same condition's log
// errors alone still are.
func TestNodeStateIsNeverASymptom(t *testing.T) {
	cert, boot := condition.TypeCertificate, condition.TypeBootstrap
	for _, src := range []Source{SourceNodeState, SourceProbe} {
		c := &fixed{name: "files", conds: []string{cert, boot}, fs: []Finding{
			problem(boot, SourceNodeState, "client cert expired, no bootstrap file", 0),
			problem(cert, src, "client certificate expired", 0),
		}}
		if v := evaluate(t, env(t), []Check{c}, cert)[cert]; v.Status != Problem || v.SymptomOf != "" {
			t.Errorf("%s evidence: %v symptom of %q, want a problem of its own", src, v.Status, v.SymptomOf)
		}
	}
	logs := &fixed{name: "journal", conds: condition.Types(), fs: []Finding{
		problem(boot, SourceNodeState, "no kubeconfig and no bootstrap kubeconfig", 0),
		problem(cert, SourceJournal, "certificate rotation failing", 3),
	}}
	if v := evaluate(t, env(t), []Check{logs}, cert)[cert]; v.Status != OK || v.SymptomOf != boot {
		t.Errorf("journal evidence: %v symptom of %q, want ok as a symptom of %s", v.Status, v.SymptomOf, boot)
	}
}

// Certificate and bootstrap explain each other; the episode that began
// first is the cause, the later one its symptom.
func TestOfTwoConditionsThatExplainEachOtherTheEarlierIsTheCause(t *testing.T) {
	cert, boot := condition.TypeCertificate, condition.TypeBootstrap
	at := func(f Finding, d time.Duration) Finding { f.Since = t0.Add(d); return f }
	for _, tt := range []struct {
		name             string
		certAt, bootAt   time.Duration
		wantTrue, wantOK string
	}{
		{"an expired certificate, then the bootstrap file it falls back to is missing", 0, time.Second, cert, boot},
		{"a rejected bootstrap, then the certificate manager backs off", time.Minute, 0, boot, cert},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j := &fixed{name: "journal", conds: condition.Types(), fs: []Finding{
				at(problem(cert, SourceJournal, "client cert expired", 3), tt.certAt),
				at(problem(boot, SourceJournal, "bootstrap kubeconfig missing", 3), tt.bootAt),
			}}
			vs := evaluate(t, env(t), []Check{j}, cert, boot)
			if vs[tt.wantTrue].Status != Problem || vs[tt.wantOK].Status != OK || vs[tt.wantOK].SymptomOf != tt.wantTrue {
				t.Errorf("%s=%v, %s=%v (symptom of %q); want %s the cause", tt.wantTrue, vs[tt.wantTrue].Status,
					tt.wantOK, vs[tt.wantOK].Status, vs[tt.wantOK].SymptomOf, tt.wantTrue)
			}
		})
	}
}
