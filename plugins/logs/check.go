package logs

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// CheckName names the journal check in outputs and the state.
const CheckName = "journal"

// Check is the journal's evidence as a check: it reads what is new in the
// kubelet's journal into the shared state and decides every condition from
// the evidence.
type Check struct {
	Journal Source
	// Classifier is made only when entries are read.
	Classifier  func() rules.LineClassifier
	Window      Window
	ReuseWithin time.Duration
	MaxEntries  int
}

var (
	_ doctor.Check   = (*Check)(nil)
	_ doctor.Sourced = (*Check)(nil)
)

// Name implements doctor.Check.
func (c *Check) Name() string { return CheckName }

// Conditions implements doctor.Check: the journal speaks for every condition.
func (c *Check) Conditions() []string { return condition.Types() }

// Source implements doctor.Sourced.
func (c *Check) Source() doctor.Source { return doctor.SourceJournal }

// Run implements doctor.Check. A scan that stopped early (deadline, entry
// bound) keeps its progress for the next run and reports every condition
// Unknown with what it saw so far: a partial read is not the whole truth.
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	if env.Store == nil {
		return nil, errors.New("journal check needs the state store")
	}
	s := &Scanner{Source: c.Journal, Classifier: c.Classifier, Store: env.Store, Window: c.Window,
		Now: func() time.Time { return env.Now }, ReuseWithin: c.ReuseWithin, MaxEntries: c.MaxEntries, Boot: env.Boot, Log: env.Log}
	var fs []doctor.Finding
	err := s.Update(ctx, func(st *State, now time.Time) error {
		fs = Findings(&st.Evidence, now, c.Window)
		return nil
	})
	if errors.Is(err, ErrIncomplete) {
		for i := range fs {
			f := &fs[i]
			f.Detail = "so far: " + f.Label
			f.Label, f.Status = "incomplete scan", doctor.Unknown
			f.Evidence = append(f.Evidence, doctor.Evidence{At: env.Now, Text: err.Error()})
		}
		return fs, nil
	}
	if err != nil {
		return nil, cannotRead{err}
	}
	return fs, nil
}

// cannotRead names why the journal could not be read, the fact an operator
// acts on, before the details.
type cannotRead struct{ err error }

func (e cannotRead) Error() string { return e.err.Error() }
func (e cannotRead) Unwrap() error { return e.err }

// CannotTell is the label of the Unknown findings (doctor.CannotTell).
func (e cannotRead) CannotTell() string {
	switch {
	case errors.Is(e.err, journal.ErrNoLibrary):
		return "cannot read journal: libsystemd.so.0 not loadable"
	case errors.Is(e.err, journal.ErrNoJournal):
		return "cannot read journal: no journal files"
	case errors.Is(e.err, fs.ErrPermission):
		return "cannot read journal: permission denied"
	case errors.Is(e.err, journal.ErrUnreadable):
		return "cannot read journal: file damaged or unreadable"
	case errors.Is(e.err, state.ErrUntrusted):
		return "state not trusted"
	case errors.Is(e.err, context.DeadlineExceeded):
		return "deadline reached"
	}
	return "cannot tell"
}
