package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
)

// stateVersion changes whenever State's meaning changes; a state of another
// version is rebuilt from a window scan, never trusted.
const stateVersion = 3

// Namespace is the journal's namespace in the state store.
const Namespace = "journal"

// State is what one invocation leaves for the next: where the journal was
// read up to, and the evidence folded in so far.
type State struct {
	Version int `json:"version"`
	// Key fingerprints the settings the evidence was built with (journal
	// dirs, match, window); evidence built with other settings is rebuilt.
	Key string `json:"key"`
	// Cursor is the journal position after the last entry folded in.
	Cursor string `json:"cursor,omitempty"`
	// Scanned is when the journal was last read.
	Scanned time.Time `json:"scanned"`
	// Partial is set when that read stopped before the journal's end: the
	// next invocation must read on, not reuse the state.
	Partial  bool     `json:"partial,omitempty"`
	Evidence Evidence `json:"evidence"`
}

// decodeState decodes and validates a stored state. Anything unexpected is
// an error and the caller rebuilds: the state is a cache of the journal and
// is never trusted beyond what it can be checked for.
func decodeState(b []byte) (*State, error) {
	if b == nil {
		return nil, errors.New("no state yet")
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("corrupt state: %w", err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state version %d, want %d", s.Version, stateVersion)
	}
	if err := s.Evidence.validate(); err != nil {
		return nil, fmt.Errorf("invalid state: %w", err)
	}
	return &s, nil
}

// validate checks what decoding cannot: no nil where the code dereferences,
// only known categories, bounded sizes, counts that are counts.
func (e *Evidence) validate() error {
	if e.Entries < 0 {
		return errors.New("negative entry count")
	}
	known := map[condition.Category]bool{}
	for _, c := range condition.LineCategories() {
		known[c] = true
	}
	for cat, t := range e.Tallies {
		if !known[cat] {
			return fmt.Errorf("unknown category %q", cat)
		}
		if t == nil {
			return fmt.Errorf("category %q: null tally", cat)
		}
		if len(t.Failures) > maxFailures || t.Held < 0 {
			return fmt.Errorf("category %q: %d failures, held %d", cat, len(t.Failures), t.Held)
		}
		for _, c := range t.Failures {
			if c == nil {
				return fmt.Errorf("category %q: null cause", cat)
			}
			if err := validBins(c.Minutes); err != nil {
				return fmt.Errorf("category %q cause %q: %w", cat, c.Rule, err)
			}
		}
	}
	l := &e.Process
	for _, bins := range [][]MinuteBin{l.Exits, l.Fatals} {
		if err := validBins(bins); err != nil {
			return fmt.Errorf("lifecycle: %w", err)
		}
	}
	if l.Restarts < 0 {
		return errors.New("negative restart counter")
	}
	return nil
}

// maxBins bounds a per-minute series: a day of minutes is more than any
// window the plugin is run with.
const maxBins = 24 * 60

func validBins(bins []MinuteBin) error {
	if len(bins) > maxBins {
		return fmt.Errorf("%d minute bins", len(bins))
	}
	for i, b := range bins {
		if b.N <= 0 {
			return fmt.Errorf("minute bin %d: n=%d", i, b.N)
		}
	}
	return nil
}
