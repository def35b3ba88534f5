package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// Source reads the kubelet's journal entries.
type Source interface {
	Open() (journal.Reader, error)
	// Key identifies what is read (directories and match): evidence built
	// from another source is rebuilt.
	Key() string
}

// JournalSource reads journal files under Dirs with Match.
type JournalSource struct {
	Dirs  []string
	Match journal.Match
	// OpenFunc opens the reader; nil means journal.Open.
	OpenFunc func(dirs []string, m journal.Match) (journal.Reader, error)
}

var _ Source = JournalSource{}

// Open opens the journal.
func (s JournalSource) Open() (journal.Reader, error) {
	open := s.OpenFunc
	if open == nil {
		open = journal.Open
	}
	return open(s.Dirs, s.Match)
}

// Key identifies the directories and match.
func (s JournalSource) Key() string {
	return fmt.Sprintf("dirs=%s units=%s ids=%s", strings.Join(s.Dirs, ","),
		strings.Join(s.Match.Units, ","), strings.Join(s.Match.Identifiers, ","))
}

// Scanner keeps the shared state up to date with the journal.
type Scanner struct {
	Source Source
	// Classifier is made only when entries are read: a run that reuses a
	// fresh state never pays for it.
	Classifier func() rules.LineClassifier
	Store      *state.Store
	Window     Window
	Now        func() time.Time
	// ReuseWithin lets an invocation that follows another within this time
	// use the state as it is, without opening the journal: NPD starts all
	// conditions' plugins in the same instant, and one read serves them all.
	ReuseWithin time.Duration
	// MaxEntries bounds the entries read by one invocation (0: no bound).
	MaxEntries int
	// Boot is the running boot, for a "now" on the evidence's timeline;
	// zero: the wall clock (Now) alone.
	Boot doctor.Boot
	Log  logrus.FieldLogger
}

// ErrIncomplete means the journal was not read to its end (deadline or
// entry bound): the evidence is partial and the verdict cannot be trusted.
var ErrIncomplete = errors.New("journal scan incomplete")

// Update brings the state up to date with the journal under the state lock
// and calls fn with it; changes fn makes to the state are saved. When the
// scan stops early the progress is saved too, fn still runs on the partial
// evidence, and the error wraps ErrIncomplete.
func (s *Scanner) Update(ctx context.Context, fn func(st *State, now time.Time) error) error {
	var scanErr error
	err := s.Store.Update(ctx, Namespace, func(raw []byte) ([]byte, error) {
		wall := s.Now()
		st := s.load(raw, wall)
		scanErr = s.refresh(ctx, &st, st.Evidence.Now(s.Boot, wall))
		// The scan may have found the boot the evidence follows.
		now := st.Evidence.Now(s.Boot, wall)
		if scanErr != nil && !errors.Is(scanErr, ErrIncomplete) {
			return nil, scanErr
		}
		st.Evidence.Prune(now, s.Window)
		if err := fn(st, now); err != nil {
			return nil, err
		}
		b, err := json.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("encode state: %w", err)
		}
		return b, nil
	})
	if err != nil {
		return err
	}
	return scanErr
}

func (s *Scanner) key() string {
	return fmt.Sprintf("%s span=%s grace=%s", s.Source.Key(), s.Window.Span, s.Window.BootGrace)
}

// load decodes the stored state, or starts a new one when it is missing,
// bad, built with other settings or too old to be of use.
func (s *Scanner) load(raw []byte, wall time.Time) *State {
	st, err := decodeState(raw)
	why := ""
	var now time.Time
	if err == nil {
		now = st.Evidence.Now(s.Boot, wall)
	}
	switch {
	case err != nil:
		why = err.Error()
	case st.Key != s.key():
		why = "settings changed"
	case st.Scanned.After(now):
		why = "clock went back"
	case now.Sub(st.Scanned) > s.Window.Span:
		// Older evidence than the window is worthless and reading every
		// entry since would be unbounded: start again from the window.
		why = "state older than the window"
	}
	if why == "" {
		return st
	}
	s.Log.WithField("reason", why).Info("building state from a window scan")
	return &State{Version: stateVersion, Key: s.key()}
}

// refresh reads what is new in the journal unless the state is fresh
// enough to reuse.
func (s *Scanner) refresh(ctx context.Context, st **State, now time.Time) error {
	if (*st).Cursor != "" && !(*st).Partial && now.Sub((*st).Scanned) < s.ReuseWithin {
		return nil
	}
	err := s.scan(ctx, *st, now)
	if errors.Is(err, journal.ErrBadCursor) {
		s.Log.WithError(err).Warn("rebuilding state: journal cursor rejected")
		*st = &State{Version: stateVersion, Key: s.key()}
		err = s.scan(ctx, *st, now)
	}
	return err
}

func (s *Scanner) scan(ctx context.Context, st *State, now time.Time) error {
	r, err := s.Source.Open()
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	defer r.Close()

	// One entry past the bound tells a journal of exactly MaxEntries new
	// entries (complete) from one with more (partial).
	q := journal.Query{Cursor: st.Cursor}
	if s.MaxEntries > 0 {
		q.Limit = s.MaxEntries + 1
	}
	if q.Cursor == "" {
		q.Since = now.Add(-s.Window.Span)
	}
	n := 0
	var f *rules.Folder[journal.Entry]
	cursor, err := r.Read(ctx, q, func(e journal.Entry) error {
		if f == nil {
			f = rules.NewFolder(s.Classifier(), func(e journal.Entry, v rules.Verdict) {
				at := st.Evidence.Stamp(e.BootID, e.Realtime, e.Monotonic)
				st.Evidence.Observe(at, e.Message, v, s.Window)
			})
		}
		n++
		f.Push(e, e.Message)
		return nil
	})
	if f != nil {
		f.Flush()
	}
	if cursor != "" {
		st.Cursor = cursor
	}
	s.Log.WithFields(logrus.Fields{"entries": n, "resumed": q.Cursor != ""}).Debug("journal read")
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("read journal: %w", err)
	}
	// Progress is kept even when the scan stops early, so that a backlog
	// larger than one invocation can read is caught up over several.
	st.Scanned = now
	st.Partial = err != nil || (s.MaxEntries > 0 && n > s.MaxEntries)
	switch {
	case err != nil:
		return fmt.Errorf("%w: stopped after %d entries: %v", ErrIncomplete, n, err)
	case st.Partial:
		return fmt.Errorf("%w: read the bound of %d entries", ErrIncomplete, n)
	}
	return nil
}
