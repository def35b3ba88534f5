package logs

import (
	"fmt"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
)

// Findings decides every condition from the evidence at now: one finding
// each, in table order.
func Findings(e *Evidence, now time.Time, w Window) []doctor.Finding {
	all := condition.All()
	out := make([]doctor.Finding, 0, len(all))
	for _, c := range all {
		out = append(out, Decide(e, c, now, w))
	}
	return out
}

// Decide returns the journal's finding on cond from the evidence at now.
func Decide(e *Evidence, cond condition.Condition, now time.Time, w Window) doctor.Finding {
	if cond.Counting == condition.Lifecycle {
		return decideStartup(e, cond, now, w)
	}
	f := doctor.Finding{Condition: cond.Type, Status: doctor.OK, Label: cond.HealthyMessage, Source: doctor.SourceJournal, Check: CheckName}
	t := e.Tallies[cond.Category]
	if t == nil {
		return f
	}
	var top *Failure
	topN, count := 0, 0
	perStartOnly := true
	for _, c := range t.Failures {
		var n int
		switch {
		case c.Fatal && e.Process.stableSince(c.Last, now):
			continue // a kubelet started since and stayed up
		case c.PerStart && cond.PerStart:
			if !e.Process.current(c) {
				continue // logged by an earlier kubelet process
			}
			n = max(countBins(c.Minutes, now, w.Span), 1)
		default:
			n = countBins(c.Minutes, now, w.Span)
			perStartOnly = perStartOnly && n == 0
		}
		count += n
		// The most frequent cause names the problem, the newest breaks a
		// tie: the message then stays put while the problem goes on.
		if n > topN || (n == topN && n > 0 && c.Last.After(top.Last)) {
			top, topN = c, n
		}
	}
	if top == nil || count < cond.Threshold {
		if count > 0 {
			f.Detail = fmt.Sprintf("%d below the threshold of %d in %s", count, cond.Threshold, span(w.Span))
		}
		return f
	}
	f.Status, f.Count, f.Since = doctor.Problem, count, t.Since
	f.Rule, f.Label, f.Detail, f.Hint = top.Rule, top.Label, top.Excerpt, top.Hint
	f.Frequency = fmt.Sprintf("%s in %s", bucket(count), span(w.Span))
	if perStartOnly {
		f.Frequency = "since kubelet start"
	}
	for _, c := range t.Failures {
		f.Evidence = append(f.Evidence, doctor.Evidence{At: c.Last, Text: failureText(c)})
	}
	return f
}

func failureText(c *Failure) string {
	if c.Excerpt == "" {
		return c.Label
	}
	return c.Label + ": " + c.Excerpt
}

// decideStartup decides the lifecycle condition: the kubelet is
// crash-looping or not running, with the last fatal error it logged.
func decideStartup(e *Evidence, cond condition.Condition, now time.Time, w Window) doctor.Finding {
	l := &e.Process
	f := doctor.Finding{Condition: cond.Type, Status: doctor.OK, Label: cond.HealthyMessage, Source: doctor.SourceJournal, Check: CheckName}
	exits := countBins(l.Exits, now, w.Span)
	if exits == 0 {
		// A kubelet not run by systemd leaves no exit entries: its fatal
		// errors are the crashes.
		exits = countBins(l.Fatals, now, w.Span)
	}
	stayedUp := l.upAndProgressed(now)
	switch {
	case exits >= condition.CrashLoopExits && !stayedUp:
		f.Label = "crash-loop"
		f.Frequency = fmt.Sprintf("%s exits in %s", bucket(exits), span(w.Span))
	case !l.Exited.IsZero() && l.Exited.After(l.Started) && now.Sub(l.Exited) >= condition.Settle:
		f.Label = "kubelet not running, exited"
	case !l.Stopped.IsZero() && l.Stopped.After(l.Started) && now.Sub(l.Stopped) >= condition.Settle:
		f.Label = "kubelet not running, stopped"
	default:
		return f
	}
	f.Status, f.Count, f.Since = doctor.Problem, exits, l.LoopSince
	if fc := l.Fatal; fc != nil && now.Sub(fc.Last) <= w.Span {
		f.Rule, f.Detail, f.Hint = fc.Rule, failureText(fc), fc.Hint
		f.Evidence = append(f.Evidence, doctor.Evidence{At: fc.Last, Text: "last fatal error: " + failureText(fc)})
	}
	if !l.Exited.IsZero() {
		f.Evidence = append(f.Evidence, doctor.Evidence{At: l.Exited, Text: "last failed exit"})
	}
	return f
}
