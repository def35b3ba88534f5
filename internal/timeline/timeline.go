// Package timeline keeps what the conditions do not: when the kubelet
// started, tried to register and registered, and how often it exited. The
// conditions say what is wrong now; the timeline says how the node got here,
// which is what `wait` prints as progress and `metrics` exports as the
// registration and restart metrics.
//
// Like the journal's evidence it is folded incrementally: the cursor and the
// counts live in one namespace of a state store, so that each run reads only
// the entries that are new.
package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// Namespace is the timeline's namespace in a state store.
const Namespace = "timeline"

// version changes whenever Timeline's meaning changes; another version is
// rebuilt, never trusted.
const version = 1

// Registration wordings. The registry classifies failures by their cause;
// the attempt itself is an info line no rule needs, so it is matched here.
const (
	attemptLiteral = "Attempting to register node"
	failureLiteral = "Unable to register node"
)

// sameStart is how close the kubelet's own start banner follows systemd's
// "Started" for one start: both mark it, and the earlier one is kept.
const sameStart = 5 * time.Second

// Timeline is the kubelet's history as folded from its journal.
type Timeline struct {
	Version int    `json:"version"`
	Key     string `json:"key"`
	Cursor  string `json:"cursor,omitempty"`
	// Entries counts the kubelet entries folded in.
	Entries int64     `json:"entries"`
	Latest  time.Time `json:"latest,omitzero"`

	// Started is the newest kubelet start; zero when none is in view.
	Started time.Time `json:"started,omitzero"`
	// Registered is the first registration after Started (a recovery
	// marker of the registration category: "Successfully registered node",
	// the API server saying the node exists); zero while the running
	// kubelet has not registered.
	Registered time.Time `json:"registered,omitzero"`
	// Attempts and Failures are the registration attempts and failures of
	// the running kubelet (since Started).
	Attempts int `json:"attempts,omitempty"`
	Failures int `json:"failures,omitempty"`
	// LastFailure is the cause of the newest registration failure.
	LastFailure string `json:"lastFailure,omitempty"`

	// The totals only grow while the store keeps the timeline: counters.
	Starts          int64 `json:"starts,omitempty"`
	Exits           int64 `json:"exits,omitempty"`
	AttemptsTotal   int64 `json:"attemptsTotal,omitempty"`
	FailuresTotal   int64 `json:"failuresTotal,omitempty"`
	Registrations   int64 `json:"registrations,omitempty"`
	SystemdRestarts int   `json:"systemdRestarts,omitempty"`
	// ExitedAt is the newest failed exit.
	ExitedAt time.Time `json:"exitedAt,omitzero"`
}

// Kind is a milestone's kind.
type Kind string

// Milestones, in the order a healthy bootstrap passes them.
const (
	KindStarted     Kind = "started"
	KindAttempt     Kind = "register-attempt"
	KindFailure     Kind = "register-failed"
	KindRegistered  Kind = "registered"
	KindExited      Kind = "exited"
	KindFatal       Kind = "fatal"
	KindProblemLine Kind = "problem"
)

// Milestone is one step worth telling a person who waits.
type Milestone struct {
	At   time.Time `json:"at"`
	Kind Kind      `json:"kind"`
	Text string    `json:"text"`
}

// RegisterDuration is the time from the running kubelet's start to its
// registration, when both are in view.
func (t *Timeline) RegisterDuration() (time.Duration, bool) {
	if t.Started.IsZero() || t.Registered.IsZero() {
		return 0, false
	}
	return t.Registered.Sub(t.Started), true
}

// Observe folds one classified kubelet entry in and returns the milestone
// it is, if any. Entries must come in journal order.
func (t *Timeline) Observe(e journal.Entry, v rules.Verdict) (Milestone, bool) {
	t.Entries++
	if e.Realtime.After(t.Latest) {
		t.Latest = e.Realtime
	}
	m := Milestone{At: e.Realtime}
	switch {
	case v.Lifecycle == rules.LifecycleStarted:
		if !t.Started.IsZero() && e.Realtime.Sub(t.Started) < sameStart && !t.ExitedAt.After(t.Started) {
			return m, false // the banner of the start systemd announced
		}
		t.Started, t.Registered, t.Attempts, t.Failures, t.LastFailure = e.Realtime, time.Time{}, 0, 0, ""
		t.Starts++
		m.Kind, m.Text = KindStarted, "kubelet started"
	case v.Lifecycle == rules.LifecycleExited:
		// systemd logs "Main process exited" and "Failed with result" for
		// one crash: count one exit per second at most.
		if e.Realtime.Sub(t.ExitedAt) < time.Second {
			t.ExitedAt = e.Realtime
			return m, false
		}
		t.ExitedAt = e.Realtime
		t.Exits++
		m.Kind, m.Text = KindExited, "kubelet exited"
	case v.Lifecycle == rules.LifecycleRestart:
		if n, ok := rules.RestartCounter(e.Message); ok {
			t.SystemdRestarts = n
		}
		return m, false
	case slices.Contains(v.Recovers, rules.Registration):
		// The registry's recovery markers that prove the node registered:
		// "Successfully registered node", "Node was previously
		// registered", a status update once it became ready.
		if !t.Registered.IsZero() {
			return m, false
		}
		t.Registered = e.Realtime
		t.Registrations++
		m.Kind, m.Text = KindRegistered, v.Label
	case strings.Contains(e.Message, attemptLiteral):
		t.Attempts++
		t.AttemptsTotal++
		m.Kind, m.Text = KindAttempt, fmt.Sprintf("attempting to register node (attempt %d)", t.Attempts)
	case strings.Contains(e.Message, failureLiteral):
		t.Failures++
		t.FailuresTotal++
		t.LastFailure = cause(v)
		m.Kind, m.Text = KindFailure, "registration failed: "+t.LastFailure
	case v.Fatal:
		m.Kind, m.Text = KindFatal, "fatal: "+cause(v)
	case v.Category != rules.None && v.Category != "":
		m.Kind, m.Text = KindProblemLine, string(v.Category)+": "+cause(v)
	default:
		return m, false
	}
	return m, true
}

func cause(v rules.Verdict) string {
	switch {
	case v.Label == "":
		return v.Cause
	case v.Cause == "":
		return v.Label
	}
	return v.Label + ": " + v.Cause
}

// Source is the journal a follower reads (logs.JournalSource is one).
type Source interface {
	Open() (journal.Reader, error)
	// Key identifies what is read: a timeline of another key is rebuilt.
	Key() string
}

// Follower keeps a timeline in a store up to date with a journal.
type Follower struct {
	Source Source
	Store  *state.Store
	// Since is where a new timeline starts reading.
	Since time.Time
	// Limit bounds the entries one Update reads (0: none).
	Limit      int
	Classifier *rules.Classifier
}

// ErrIncomplete means an Update stopped before the journal's end; the
// progress is kept and the next Update reads on.
var ErrIncomplete = errors.New("journal read incomplete")

// Update reads what is new, calls fn for each milestone, saves the
// timeline and returns it.
func (f *Follower) Update(ctx context.Context, fn func(Milestone)) (Timeline, error) {
	var out Timeline
	var readErr error
	err := f.Store.Update(ctx, Namespace, func(raw []byte) ([]byte, error) {
		t := f.load(raw, f.Source.Key())
		readErr = f.read(ctx, &t, fn)
		if readErr != nil && !errors.Is(readErr, ErrIncomplete) {
			return nil, readErr
		}
		out = t
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("encode timeline: %w", err)
		}
		return b, nil
	})
	if err != nil {
		return out, err
	}
	return out, readErr
}

// load decodes the stored timeline, or starts a new one when it is
// missing, of another version or journal, or not what it should be.
func (f *Follower) load(raw []byte, key string) Timeline {
	var t Timeline
	if raw != nil && json.Unmarshal(raw, &t) == nil && t.Version == version && t.Key == key && t.valid() {
		return t
	}
	return Timeline{Version: version, Key: key}
}

// valid refuses counts that are not counts: the store is a cache, never
// trusted beyond what can be checked.
func (t *Timeline) valid() bool {
	return t.Entries >= 0 && t.Attempts >= 0 && t.Failures >= 0 && t.Starts >= 0 && t.Exits >= 0 &&
		t.AttemptsTotal >= 0 && t.FailuresTotal >= 0 && t.Registrations >= 0 && t.SystemdRestarts >= 0
}

func (f *Follower) read(ctx context.Context, t *Timeline, fn func(Milestone)) error {
	r, err := f.Source.Open()
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	defer r.Close()
	q := journal.Query{Cursor: t.Cursor}
	if q.Cursor == "" {
		q.Since = f.Since
	}
	if f.Limit > 0 {
		q.Limit = f.Limit
	}
	var c rules.LineClassifier = f.Classifier
	if f.Classifier == nil {
		c = rules.New()
	}
	// A `key=<` block is folded into its head line, as the journal check
	// does: the registration failure's cause is in the block.
	fold := rules.NewFolder(c, func(e journal.Entry, v rules.Verdict) {
		if m, ok := t.Observe(e, v); ok && fn != nil {
			fn(m)
		}
	})
	n := 0
	cursor, err := r.Read(ctx, q, func(e journal.Entry) error {
		n++
		fold.Push(e, e.Message)
		return nil
	})
	fold.Flush()
	if errors.Is(err, journal.ErrBadCursor) {
		*t = Timeline{Version: version, Key: t.Key}
		return f.read(ctx, t, fn)
	}
	if cursor != "" {
		t.Cursor = cursor
	}
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
		return fmt.Errorf("%w: stopped after %d entries: %v", ErrIncomplete, n, err)
	case err != nil:
		return fmt.Errorf("read journal: %w", err)
	case f.Limit > 0 && n >= f.Limit:
		return fmt.Errorf("%w: read the bound of %d entries", ErrIncomplete, n)
	}
	return nil
}
