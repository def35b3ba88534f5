//go:build !cgo

package journal

import (
	"errors"
	"testing"
)

func TestOpenWithoutCgoIsErrNoLibrary(t *testing.T) {
	r, err := Open([]string{t.TempDir()}, DefaultMatch())
	if r != nil || !errors.Is(err, ErrNoLibrary) {
		t.Fatalf("Open = %v, %v; want nil and ErrNoLibrary", r, err)
	}
}
