//go:build !cgo

package journal

import (
	"context"
	"fmt"
)

// Open needs go-systemd's sdjournal, which needs cgo: in a CGO_ENABLED=0
// build it always fails with an error wrapping ErrNoLibrary.
func Open(dirs []string, m Match) (Reader, error) {
	return nil, fmt.Errorf("open journal: built without cgo: %w", ErrNoLibrary)
}

// OpenContext is Open; without cgo there is nothing to wait for.
func OpenContext(_ context.Context, dirs []string, m Match) (Reader, error) { return Open(dirs, m) }
