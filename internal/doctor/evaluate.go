package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
)

// Verdict is the merged statement on one condition.
type Verdict struct {
	Condition condition.Condition
	Status    Status
	// Lead is the finding the verdict's message comes from: the strongest
	// problem, else the first reason it cannot tell, else the healthy state.
	Lead Finding
	// Findings are all findings about the condition, the lead first.
	Findings []Finding
	// SymptomOf names the condition that explains this one's failures: this
	// one is then OK, its findings kept for the record.
	SymptomOf string
	// Symptoms are the findings of other conditions this one explains.
	Symptoms []Finding
	// Checks are the checks that spoke for the condition, with how they did.
	Checks []CheckRun
}

// CheckRun records one check's run, for metrics and report.
type CheckRun struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration"`
	Cached   bool          `json:"cached,omitempty"`
	Err      string        `json:"error,omitempty"`
}

// Evaluate runs the checks that speak for the wanted conditions (and for
// the conditions that could explain them) and merges their findings into
// one verdict per wanted condition, in table order. It is the only thing
// every command calls. A check that fails makes its conditions Unknown with
// the failure as the cause; it never makes them healthy.
func Evaluate(ctx context.Context, env *Env, checks []Check, want []string) ([]Verdict, error) {
	need, err := closure(want)
	if err != nil {
		return nil, err
	}
	if env.Log == nil {
		env.Log = logrus.StandardLogger()
	}
	byCond := map[string][]Finding{}
	spoken := map[string][]CheckRun{}
	for _, c := range checks {
		if !slices.ContainsFunc(c.Conditions(), func(t string) bool { return need[t] }) {
			continue
		}
		fs, run := runCheck(ctx, env, c)
		for _, f := range fs {
			if need[f.Condition] {
				byCond[f.Condition] = append(byCond[f.Condition], f)
			}
		}
		for _, t := range c.Conditions() {
			spoken[t] = append(spoken[t], run)
		}
	}
	raw := map[string]*Verdict{}
	for _, cond := range condition.All() {
		if need[cond.Type] {
			raw[cond.Type] = merge(cond, byCond[cond.Type], spoken[cond.Type])
		}
	}
	var out []Verdict
	for _, cond := range condition.All() {
		if !slices.Contains(want, cond.Type) {
			continue
		}
		v := raw[cond.Type]
		if v.Status == Problem {
			v.SymptomOf = causeOf(v, raw)
		}
		out = append(out, *v)
	}
	// Symptoms are named in their cause's verdict, and the symptom itself
	// reads healthy with the cause named.
	for i := range out {
		v := &out[i]
		for _, t := range condition.Types() {
			if sv := raw[t]; sv != nil && sv.Status == Problem && causeOf(sv, raw) == v.Condition.Type {
				v.Symptoms = append(v.Symptoms, sv.Lead)
				v.Lead.Evidence = append(v.Lead.Evidence, Evidence{At: sv.Lead.Since,
					Text: fmt.Sprintf("and %s (%d, %s), symptoms of this", sv.Lead.Label, max(sv.Lead.Count, 1), sv.Condition.Type)})
			}
		}
		if v.SymptomOf != "" {
			v.Status = OK
			v.Lead = Finding{Condition: v.Condition.Type, Status: OK, Source: v.Lead.Source, Check: v.Lead.Check,
				Label: v.Condition.HealthyMessage, Detail: "symptoms explained by " + v.SymptomOf + ": " + v.Lead.Label}
		}
	}
	return out, nil
}

// causeOf is the True condition that explains sv, or "".
func causeOf(sv *Verdict, raw map[string]*Verdict) string {
	// What the node's files or a probe show is the condition's own state
	// (an expired certificate is expired whatever the API server does):
	// only log errors are symptoms another condition explains. The lead is
	// the strongest problem, so a journal lead means no other evidence.
	if sv.Lead.Source == SourceNodeState || sv.Lead.Source == SourceProbe {
		return ""
	}
	for _, cause := range sv.Condition.CausedBy {
		cv := raw[cause]
		if cv == nil || cv.Status != Problem {
			continue
		}
		// Two conditions that can explain each other (an expired client
		// certificate sends the kubelet to a bootstrap file kubeadm deleted;
		// a rejected bootstrap leaves the certificate manager backing off):
		// the one whose episode began first is the cause.
		if slices.Contains(cv.Condition.CausedBy, sv.Condition.Type) && !cv.Lead.Since.IsZero() &&
			!sv.Lead.Since.IsZero() && !cv.Lead.Since.Before(sv.Lead.Since) {
			continue
		}
		return cause
	}
	return ""
}

// closure adds to want every condition that could explain one of them.
func closure(want []string) (map[string]bool, error) {
	need := map[string]bool{}
	var add func(t string) error
	add = func(t string) error {
		if need[t] {
			return nil // seen (two conditions may explain each other)
		}
		c, ok := condition.ByType(t)
		if !ok {
			return fmt.Errorf("unknown condition %q", t)
		}
		need[t] = true
		for _, cause := range c.CausedBy {
			if err := add(cause); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range want {
		if err := add(t); err != nil {
			return nil, err
		}
	}
	return need, nil
}

func runCheck(ctx context.Context, env *Env, c Check) ([]Finding, CheckRun) {
	start := time.Now()
	var fs []Finding
	var err error
	cached := false
	if cc, ok := c.(Cacheable); ok && env.Store != nil {
		fs, cached, err = runCached(ctx, env, cc)
	} else {
		fs, err = c.Run(ctx, env)
	}
	run := CheckRun{Name: c.Name(), Duration: time.Since(start), Cached: cached}
	if err != nil {
		run.Err = err.Error()
		env.Log.WithError(err).WithField("check", c.Name()).Warn("check cannot tell")
		fs = fs[:0]
		for _, t := range c.Conditions() {
			fs = append(fs, Finding{Condition: t, Status: Unknown, Source: sourceOf(c), Check: c.Name(),
				Label: CannotTell(err), Detail: err.Error()})
		}
	}
	for i := range fs {
		if fs[i].Check == "" {
			fs[i].Check = c.Name()
		}
	}
	return fs, run
}

// Sourced is implemented by checks that say what their source is, so that
// their "cannot tell" findings carry it too.
type Sourced interface{ Source() Source }

func sourceOf(c Check) Source {
	if s, ok := c.(Sourced); ok {
		return s.Source()
	}
	return SourceNodeState
}

// CannotTell puts the fact an operator acts on first: messages are cut at 80
// bytes, and the paths that follow are the least of it.
func CannotTell(err error) string {
	var lab interface{ CannotTell() string }
	if errors.As(err, &lab) {
		return lab.CannotTell()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline reached"
	}
	return "cannot tell: " + strings.TrimSpace(err.Error())
}

// merge decides one condition from its findings: a problem beats unknown
// beats ok; among problems the strongest source leads (node state, then
// probes, then the journal), then the larger count.
func merge(cond condition.Condition, fs []Finding, runs []CheckRun) *Verdict {
	v := &Verdict{Condition: cond, Checks: runs}
	if len(fs) == 0 {
		if len(runs) == 0 {
			v.Status = Unknown
			v.Lead = Finding{Condition: cond.Type, Status: Unknown, Label: "cannot tell: no check speaks for it"}
			return v
		}
		v.Status = OK
		v.Lead = Finding{Condition: cond.Type, Status: OK, Label: cond.HealthyMessage}
		return v
	}
	sorted := slices.Clone(fs)
	slices.SortStableFunc(sorted, func(a, b Finding) int {
		if d := rank(b.Status) - rank(a.Status); d != 0 {
			return d
		}
		if d := strength(cond, b) - strength(cond, a); d != 0 {
			return d
		}
		return b.Count - a.Count
	})
	v.Findings, v.Lead, v.Status = sorted, sorted[0], sorted[0].Status
	if v.Status == OK && v.Lead.Label == "" {
		v.Lead.Label = cond.HealthyMessage
	}
	return v
}

// strength orders problems of one condition for the lead. What the node
// shows now beats what the journal recorded, except for the kubelet process
// itself: a unit that restarts is the symptom there, and the fatal error the
// kubelet logged before each exit is the cause the message must name.
func strength(cond condition.Condition, f Finding) int {
	if cond.Counting == condition.Lifecycle && f.Source == SourceJournal && f.Detail != "" {
		return SourceNodeState.strength() + 1
	}
	return f.Source.strength()
}

func rank(s Status) int {
	switch s {
	case Problem:
		return 2
	case Unknown:
		return 1
	}
	return 0
}
