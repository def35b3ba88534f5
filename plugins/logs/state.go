package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// stateVersion changes whenever State's meaning changes; a state file of
// another version is rebuilt from a window scan, never trusted.
const stateVersion = 1

const (
	stateFile = "state.json"
	lockFile  = "lock"
)

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
	// Alerted remembers, per condition, the failure episode already
	// reported as an Event, so that each new occurrence is raised once.
	Alerted map[string]string `json:"alerted,omitempty"`
}

// loadState reads the state file. A missing, unreadable, corrupt or
// other-version file yields a nil state and the reason, never an error:
// the state is a cache of the journal and can always be rebuilt.
func loadState(dir string) (*State, string) {
	s, _, why := loadStateBytes(dir)
	return s, why
}

// loadStateBytes is loadState that also returns the file's bytes, so that
// an unchanged state is not written again.
func loadStateBytes(dir string) (*State, []byte, string) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, "no state yet"
	}
	if err != nil {
		return nil, nil, fmt.Sprintf("read state: %v", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil, fmt.Sprintf("corrupt state: %v", err)
	}
	if s.Version != stateVersion {
		return nil, nil, fmt.Sprintf("state version %d, want %d", s.Version, stateVersion)
	}
	return &s, b, ""
}

// saveState writes the state atomically: a crash or a SIGKILL from NPD's
// timeout leaves either the old file or the new one, never half of one.
func saveState(dir string, s *State) error {
	return saveStateUnlessSame(dir, s, nil)
}

// saveStateUnlessSame writes s unless it encodes to old: most invocations
// reuse a fresh state and change nothing, and an fsync costs them more
// than all their other work.
func saveStateUnlessSame(dir string, s *State, old []byte) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if old != nil && bytes.Equal(b, old) {
		return nil
	}
	tmp, err := os.CreateTemp(dir, ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("create state file in %q: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write state %q: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync state %q: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close state %q: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("replace state in %q: %w", dir, err)
	}
	// The rename is durable only once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// lock takes an exclusive flock on the state directory, waiting until ctx
// is done: NPD runs several plugins at once and each reads and rewrites the
// shared state. The lock dies with the process, so a SIGKILL frees it.
func lock(ctx context.Context, dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir %q: %w", dir, err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %q: %w", path, err)
	}
	// A holder usually needs a few milliseconds: poll often at first, so
	// that the conditions NPD starts together do not queue up in 5 ms steps.
	wait := 250 * time.Microsecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %q: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %q: %w", path, ctx.Err())
		case <-time.After(wait):
			wait = min(2*wait, 5*time.Millisecond)
		}
	}
}
