// Package logs turns the kubelet's journal into per-condition verdicts: it
// folds classified lines into a small Evidence record (kept between runs in
// the state directory) and decides each NPD condition from it.
package logs

import (
	"sort"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// maxFailures bounds the distinct failures remembered per category, so that a
// kubelet logging ever-new URLs cannot grow the state file.
const maxFailures = 8

// Evidence is everything the conditions are decided from: what was seen in
// the journal, folded in time order. It is the content of the state file.
type Evidence struct {
	// Tallies holds the failures per category since its last recovery.
	Tallies map[rules.Category]*Tally `json:"tallies,omitempty"`
	// Lifecycle is the kubelet process history for KubeletStartupProblem.
	Process Process `json:"process"`
	// Entries counts kubelet entries folded in since the state was built.
	Entries int64 `json:"entries"`
	// Latest is the time of the newest entry folded in.
	Latest time.Time `json:"latest,omitzero"`
	// Boot and Base are the boot the evidence's timeline follows and that
	// boot's start (clock.go).
	Boot string    `json:"boot,omitempty"`
	Base time.Time `json:"base,omitzero"`
}

// Tally is the failure history of one category.
type Tally struct {
	Failures []*Failure `json:"failures,omitempty"`
	// Since is the first failure of the current episode: the first after a
	// recovery or after a gap longer than the window. Alerts key on it.
	Since time.Time `json:"since,omitzero"`
	// Last is the newest counted failure.
	Last time.Time `json:"last,omitzero"`
	// Recovered is the newest recovery marker.
	Recovered time.Time `json:"recovered,omitzero"`
	// Held counts boot-transient failures not counted because they came
	// within the boot grace: explain why a condition stays False.
	Held int `json:"held,omitempty"`
}

// Failure is one distinct failure of a category (rule, label and excerpt),
// with per-minute counts.
type Failure struct {
	Rule    string      `json:"rule"`
	Label   string      `json:"label"`
	Excerpt string      `json:"excerpt,omitempty"`
	Hint    string      `json:"hint,omitempty"`
	Last    time.Time   `json:"last"`
	Minutes []MinuteBin `json:"minutes"`
	// Fatal failures made the kubelet exit: a later start that stays up
	// clears them, however recent they are.
	Fatal bool `json:"fatal,omitempty"`
	// PerStart failures are logged once per kubelet start and hold until the
	// next start, not for a window: a lenient decoding of the config file
	// is as true an hour after the start as a second after it.
	PerStart bool `json:"perStart,omitempty"`
}

// perStart tells the failures a kubelet logs once when it starts and that then
// stay true for the life of the process: the non-fatal config findings
// (lenient decoding of an unknown field, standalone mode with no API
// server, a cgroup driver not taken from the runtime).
func perStart(v rules.Verdict) bool {
	return v.Category == rules.KubeletConfig && !v.Fatal
}

// MinuteBin counts occurrences within one minute (Unix minutes).
type MinuteBin struct {
	Minute int64 `json:"m"`
	N      int   `json:"n"`
}

// Lifecycle is the kubelet process history seen in the journal.
type Process struct {
	Started time.Time `json:"started,omitzero"` // newest start
	// Progress is the newest line by which the kubelet itself showed it got
	// past start-up (its version banner, a recovery marker).
	Progress time.Time   `json:"progress,omitzero"`
	Exited   time.Time   `json:"exited,omitzero"`  // newest failed exit
	Stopped  time.Time   `json:"stopped,omitzero"` // newest deliberate stop
	Exits    []MinuteBin `json:"exits,omitempty"`  // failed exits per minute
	// LoopSince is the first exit after a quiet window: alerts key on it.
	LoopSince time.Time `json:"loopSince,omitzero"`
	// Restarts is systemd's restart counter as last reported.
	Restarts int `json:"restarts,omitempty"`
	// Fatal is the newest fatal error, the reason the kubelet exits.
	Fatal *Failure `json:"fatal,omitempty"`
	// Fatals counts fatal lines per minute: crash evidence for a kubelet not
	// run by systemd, whose exits leave no PID-1 entries.
	Fatals []MinuteBin `json:"fatals,omitempty"`
}

// Window settings for folding and deciding.
type Window struct {
	Span      time.Duration // failures older than this no longer count
	BootGrace time.Duration // boot-transient failures count only after this
}

// Observe folds one classified entry into the evidence. Entries must come in
// journal order; v is the classifier's verdict on msg.
func (e *Evidence) Observe(at time.Time, msg string, v rules.Verdict, w Window) {
	e.Entries++
	if at.After(e.Latest) {
		e.Latest = at
	}
	e.observeLifecycle(at, msg, v, w)
	for _, c := range v.Recovers {
		e.tally(c).recover(at, &e.Process)
	}
	if len(v.Recovers) > 0 {
		e.Process.Progress = at
	}
	// One pod's failure (an image pull from a registry this node does not
	// trust) is explained, but says nothing about the node.
	if v.Category == rules.None || v.Category == "" || v.NotNode {
		return
	}
	t := e.tally(v.Category)
	// Errors that are normal while a kubelet starts (node not found before it
	// registers, lease errors, PLEG and CNI not ready) count only once they
	// outlast the grace; with no start in view the kubelet has been up longer
	// than the window, so they count.
	if v.BootTransient && !e.Process.Started.IsZero() && at.Sub(e.Process.Started) < w.BootGrace {
		t.Held++
		return
	}
	if t.Since.IsZero() || at.Sub(t.Last) > w.Span {
		t.Since = at
	}
	t.Last = at
	t.add(at, v)
}

func (e *Evidence) observeLifecycle(at time.Time, msg string, v rules.Verdict, w Window) {
	l := &e.Process
	switch v.Lifecycle {
	case rules.LifecycleStarted:
		l.Started = at
		if !strings.HasPrefix(v.Rule, "systemd-") {
			// The kubelet's own banner: it got past parsing its flags and
			// loading its config. systemd's "Started" proves nothing.
			l.Progress = at
		}
	case rules.LifecycleExited:
		// systemd logs "Main process exited" and then "Failed with result"
		// for one crash: count exits at most once per second.
		if at.Sub(l.Exited) >= time.Second {
			l.Exits = addBin(l.Exits, at)
		}
		// A new episode starts after a quiet window, or after a start that
		// stayed up: a crash loop after a recovery is a new failure.
		if l.LoopSince.IsZero() || at.Sub(l.Exited) > w.Span ||
			(l.Started.After(l.Exited) && at.Sub(l.Started) >= condition.Settle) {
			l.LoopSince = at
		}
		l.Exited = at
	case rules.LifecycleRestart:
		if n, ok := rules.RestartCounter(msg); ok {
			l.Restarts = n
		}
	case rules.LifecycleStopped:
		l.Stopped = at
	}
	if v.Fatal {
		l.Fatal = &Failure{Rule: v.Rule, Label: v.Label, Excerpt: v.Cause, Hint: v.Hint, Last: at}
		l.Fatals = addBin(l.Fatals, at)
	}
}

func (e *Evidence) tally(c rules.Category) *Tally {
	if e.Tallies == nil {
		e.Tallies = make(map[rules.Category]*Tally)
	}
	t := e.Tallies[c]
	if t == nil {
		t = &Tally{}
		e.Tallies[c] = t
	}
	return t
}

// recover forgets the failures a recovery marker proves over. What the
// running kubelet logged once at its start stays: "Starting kubelet main
// sync loop" proves the config loaded, not that it had no unknown field.
func (t *Tally) recover(at time.Time, l *Process) {
	kept := t.Failures[:0]
	for _, c := range t.Failures {
		if c.PerStart && l.current(c) {
			kept = append(kept, c)
		}
	}
	t.Failures = kept
	if len(kept) == 0 {
		t.Since = time.Time{}
	}
	t.Recovered = at
	t.Held = 0
}

func (t *Tally) add(at time.Time, v rules.Verdict) {
	for _, c := range t.Failures {
		if c.Rule == v.Rule && c.Label == v.Label && c.Excerpt == v.Cause {
			c.Last = at
			c.Minutes = addBin(c.Minutes, at)
			return
		}
	}
	if len(t.Failures) >= maxFailures {
		// Forget the cause seen least recently.
		sort.Slice(t.Failures, func(i, j int) bool { return t.Failures[i].Last.After(t.Failures[j].Last) })
		t.Failures = t.Failures[:maxFailures-1]
	}
	t.Failures = append(t.Failures, &Failure{
		Rule: v.Rule, Label: v.Label, Excerpt: v.Cause, Hint: v.Hint, Last: at,
		Minutes: addBin(nil, at), Fatal: v.Fatal, PerStart: perStart(v),
	})
}

// Prune drops counts older than the window before now, so that the state
// stays small and a rebuilt state equals an incrementally kept one.
func (e *Evidence) Prune(now time.Time, w Window) {
	for cat, t := range e.Tallies {
		kept := t.Failures[:0]
		for _, c := range t.Failures {
			c.Minutes = pruneBins(c.Minutes, now, w.Span)
			if len(c.Minutes) > 0 || c.PerStart && e.Process.current(c) {
				kept = append(kept, c)
			}
		}
		t.Failures = kept
		if len(t.Failures) == 0 && now.Sub(t.Recovered) > w.Span {
			delete(e.Tallies, cat)
		}
	}
	e.Process.Exits = pruneBins(e.Process.Exits, now, w.Span)
	e.Process.Fatals = pruneBins(e.Process.Fatals, now, w.Span)
}

// startSlack is how long before a kubelet's start banner its own first lines
// may come: the config file is read and judged before the kubelet logs its
// version. A line older than that belongs to an earlier process.
const startSlack = 5 * time.Second

// current reports whether c was logged by the kubelet process now running
// (or by any, when no start is in view).
func (l *Process) current(c *Failure) bool {
	return l.Started.IsZero() || !c.Last.Before(l.Started.Add(-startSlack))
}

// stableSince reports whether a kubelet started after t and has stayed up
// for the settle time: what was fatal before that start is over.
func (l *Process) stableSince(t, now time.Time) bool {
	return l.Started.After(t) && l.upAndProgressed(now)
}

// upAndProgressed reports whether the newest start has stayed up for the
// settle time with no exit or stop, and the kubelet itself logged progress
// since: its banner or a recovery marker. A systemd "Started" alone is not
// recovery: a kubelet that dies on its flags logs nothing of its own, and a
// journal cut (or a slow disk) right after a start would read as healthy.
func (l *Process) upAndProgressed(now time.Time) bool {
	return l.Started.After(l.Exited) && l.Started.After(l.Stopped) && now.Sub(l.Started) >= condition.Settle &&
		!l.Progress.Before(l.Started)
}

func addBin(bins []MinuteBin, at time.Time) []MinuteBin {
	m := at.Unix() / 60
	if n := len(bins); n > 0 && bins[n-1].Minute == m {
		bins[n-1].N++
		return bins
	}
	return append(bins, MinuteBin{Minute: m, N: 1})
}

// inWindow reports whether a minute bin overlaps (now-span, now].
func inWindow(b MinuteBin, now time.Time, span time.Duration) bool {
	end := time.Unix((b.Minute+1)*60, 0)
	return end.After(now.Add(-span)) && time.Unix(b.Minute*60, 0).Compare(now) <= 0
}

func pruneBins(bins []MinuteBin, now time.Time, span time.Duration) []MinuteBin {
	kept := bins[:0]
	for _, b := range bins {
		if inWindow(b, now, span) {
			kept = append(kept, b)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

func countBins(bins []MinuteBin, now time.Time, span time.Duration) int {
	n := 0
	for _, b := range bins {
		if inWindow(b, now, span) {
			n += b.N
		}
	}
	return n
}
