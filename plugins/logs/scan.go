package logs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
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

// Classifier classifies one log line.
type Classifier interface {
	Classify(line string) rules.Verdict
}

var _ Classifier = (*rules.Classifier)(nil)

// Scanner keeps the shared state up to date with the journal.
type Scanner struct {
	Source Source
	// Classifier is made only when entries are read: a run that reuses a
	// fresh state never pays for it.
	Classifier func() Classifier
	StateDir   string
	Window     Window
	Now        func() time.Time
	// ReuseWithin lets an invocation that follows another within this time
	// use the state as it is, without opening the journal: NPD starts all
	// conditions' plugins in the same instant, and one read serves them all.
	ReuseWithin time.Duration
	// MaxEntries bounds the entries read by one invocation (0: no bound).
	MaxEntries int
	Log        logrus.FieldLogger
}

// ErrIncomplete means the journal was not read to its end (deadline or
// entry bound): the evidence is partial and the verdict cannot be trusted.
var ErrIncomplete = errors.New("journal scan incomplete")

// Update brings the state up to date with the journal under the state lock
// and calls fn with it; changes fn makes to the state are saved. When the
// scan stops early the progress is saved too, fn still runs on the partial
// evidence, and the error wraps ErrIncomplete.
func (s *Scanner) Update(ctx context.Context, fn func(st *State, now time.Time) error) error {
	unlock, err := lock(ctx, s.StateDir)
	if err != nil {
		return err
	}
	defer unlock()

	now := s.Now()
	key := fmt.Sprintf("%s span=%s grace=%s", s.Source.Key(), s.Window.Span, s.Window.BootGrace)
	st, raw, why := loadStateBytes(s.StateDir)
	switch {
	case st == nil:
	case st.Key != key:
		st, why = nil, "settings changed"
	case st.Scanned.After(now):
		st, why = nil, "clock went back"
	case now.Sub(st.Scanned) > s.Window.Span:
		// Older evidence than the window is worthless and reading every
		// entry since would be unbounded: start again from the window.
		st, why = nil, "state older than the window"
	}
	if st == nil {
		s.Log.WithField("reason", why).Info("building state from a window scan")
		st = &State{Version: stateVersion, Key: key}
	}

	var scanErr error
	if st.Cursor == "" || st.Partial || now.Sub(st.Scanned) >= s.ReuseWithin {
		scanErr = s.scan(ctx, st, now)
		if errors.Is(scanErr, journal.ErrBadCursor) {
			s.Log.WithError(scanErr).Warn("rebuilding state: journal cursor rejected")
			alerted := st.Alerted
			st = &State{Version: stateVersion, Key: key, Alerted: alerted}
			scanErr = s.scan(ctx, st, now)
		}
		if scanErr != nil && !errors.Is(scanErr, ErrIncomplete) {
			return scanErr
		}
	}
	st.Evidence.Prune(now, s.Window)
	if err := fn(st, now); err != nil {
		return err
	}
	if err := saveStateUnlessSame(s.StateDir, st, raw); err != nil {
		return err
	}
	return scanErr
}

func (s *Scanner) scan(ctx context.Context, st *State, now time.Time) error {
	r, err := s.Source.Open()
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	defer r.Close()

	q := journal.Query{Cursor: st.Cursor, Limit: s.MaxEntries}
	if q.Cursor == "" {
		q.Since = now.Add(-s.Window.Span)
	}
	n := 0
	var c Classifier
	cursor, err := r.Read(ctx, q, func(e journal.Entry) error {
		if c == nil {
			c = s.Classifier()
		}
		n++
		st.Evidence.Observe(e.Realtime, e.Message, c.Classify(e.Message), s.Window)
		return nil
	})
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
	st.Partial = err != nil || (s.MaxEntries > 0 && n >= s.MaxEntries)
	switch {
	case err != nil:
		return fmt.Errorf("%w: stopped after %d entries: %v", ErrIncomplete, n, err)
	case st.Partial:
		return fmt.Errorf("%w: read the bound of %d entries", ErrIncomplete, n)
	}
	return nil
}
