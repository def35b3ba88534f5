package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s *Store, ns, v string) {
	t.Helper()
	if err := s.Update(context.Background(), ns, func([]byte) ([]byte, error) { return []byte(v), nil }); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateSeesWhatTheLastUpdateSaved(t *testing.T) {
	s := open(t)
	put(t, s, "journal", "one")
	var seen string
	err := s.Update(context.Background(), "journal", func(old []byte) ([]byte, error) {
		seen = string(old)
		return nil, nil // nil: leave as it is
	})
	if err != nil || seen != "one" {
		t.Fatalf("Update saw %q, %v; want one", seen, err)
	}
	if b, _ := s.Read("journal"); string(b) != "one" {
		t.Errorf("Read = %q after a no-op update", b)
	}
	if b, _ := s.Read("alerts"); b != nil {
		t.Errorf("an unwritten namespace reads %q, want nil", b)
	}
}

func TestConcurrentUpdatesAreSerialised(t *testing.T) {
	s := open(t)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(context.Background(), "n", func(old []byte) ([]byte, error) {
				return append(old, 'x'), nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if b, _ := s.Read("n"); len(b) != 20 {
		t.Errorf("20 appends under the lock left %d bytes", len(b))
	}
}

// The store refuses what another user could have written: such a file
// could make a failing node read healthy.
func TestUntrustedStoresAreRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) error // returns the error of the operation under test
	}{
		{"directory writable by others", func(t *testing.T, dir string) error {
			must(t, os.MkdirAll(dir, 0o700))
			must(t, os.Chmod(dir, 0o777))
			_, err := Open(dir)
			return err
		}},
		{"state file owned by another user", func(t *testing.T, dir string) error {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a file to another user")
			}
			s := mustOpen(t, dir)
			p := filepath.Join(dir, "journal.json")
			must(t, os.WriteFile(p, []byte("{}"), 0o600))
			must(t, os.Chown(p, 65534, 65534))
			_, err := s.Read("journal")
			return err
		}},
		{"directory is a symlink", func(t *testing.T, dir string) error {
			real := dir + ".real"
			must(t, os.MkdirAll(real, 0o700))
			must(t, os.Symlink(real, dir))
			_, err := Open(dir)
			return err
		}},
		{"state file writable by group", func(t *testing.T, dir string) error {
			s := mustOpen(t, dir)
			must(t, os.WriteFile(filepath.Join(dir, "journal.json"), []byte("{}"), 0o600))
			must(t, os.Chmod(filepath.Join(dir, "journal.json"), 0o620))
			_, err := s.Read("journal")
			return err
		}},
		{"state file is a symlink", func(t *testing.T, dir string) error {
			s := mustOpen(t, dir)
			must(t, os.WriteFile(filepath.Join(dir, "elsewhere"), []byte("{}"), 0o600))
			must(t, os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "journal.json")))
			_, err := s.Read("journal")
			return err
		}},
		{"state file is a FIFO", func(t *testing.T, dir string) error {
			s := mustOpen(t, dir)
			must(t, syscall.Mkfifo(filepath.Join(dir, "journal.json"), 0o600))
			_, err := s.Read("journal") // must not block
			return err
		}},
		{"lock is a symlink", func(t *testing.T, dir string) error {
			s := mustOpen(t, dir)
			target := filepath.Join(t.TempDir(), "created-by-us")
			must(t, os.Symlink(target, filepath.Join(dir, "journal.lock")))
			_, err := s.Lock(context.Background(), "journal")
			if _, statErr := os.Stat(target); statErr == nil {
				t.Error("the lock's symlink target was created")
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.setup(t, filepath.Join(t.TempDir(), "state"))
			if !errors.Is(err, ErrUntrusted) {
				t.Fatalf("error = %v, want ErrUntrusted", err)
			}
		})
	}
}

func TestLockHonoursTheDeadline(t *testing.T) {
	s := open(t)
	unlock, err := s.Lock(context.Background(), "journal")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, "journal"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock = %v, want the deadline", err)
	}
	// Another namespace is not held up by this one.
	if u, err := s.Lock(context.Background(), "cache-probe"); err != nil {
		t.Fatalf("other namespace: %v", err)
	} else {
		u()
	}
}

func TestTempFilesOfKilledWritersAreRemoved(t *testing.T) {
	s := open(t)
	stale := filepath.Join(s.Dir(), ".journal~deadbeef.tmp")
	other := filepath.Join(s.Dir(), ".journal-x~cafe.tmp") // another namespace's
	must(t, os.WriteFile(stale, []byte("half"), 0o600))
	must(t, os.WriteFile(other, []byte("half"), 0o600))
	put(t, s, "journal", "whole")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a temp file left by a killed writer survived")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("another namespace's temp file was removed")
	}
}

// TestOldTempFilesOfAnyNamespaceAreRemovedOnOpen: a namespace most runs
// only read (never lock) still loses what a killed writer left, but a
// writer's fresh temp file is not taken from under it.
func TestOldTempFilesOfAnyNamespaceAreRemovedOnOpen(t *testing.T) {
	dir := open(t).Dir()
	old := filepath.Join(dir, ".kubelet-process~deadbeef.tmp")
	fresh := filepath.Join(dir, ".cache-probe~cafe.tmp")
	mine := filepath.Join(dir, ".notes.tmp") // no namespace separator: not the store's
	for _, p := range []string{old, fresh, mine} {
		must(t, os.WriteFile(p, []byte("half"), 0o600))
	}
	then := time.Now().Add(-2 * staleTemp)
	must(t, os.Chtimes(old, then, then))
	must(t, os.Chtimes(mine, then, then))
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("an old temp file of a namespace that was not locked survived Open")
	}
	for _, p := range []string{fresh, mine} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
}

func TestBadNamespaceNamesAreRejected(t *testing.T) {
	s := open(t)
	for _, ns := range []string{"", "../x", "a/b", "UPPER", strings.Repeat("a", 70), "a~b"} {
		if _, err := s.Read(ns); err == nil {
			t.Errorf("namespace %q accepted", ns)
		}
	}
}

func TestOversizedStateIsRefused(t *testing.T) {
	s := open(t)
	must(t, os.WriteFile(filepath.Join(s.Dir(), "journal.json"), make([]byte, MaxSize+1), 0o600))
	if _, err := s.Read("journal"); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("error = %v, want ErrUntrusted", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUpdateCacheReplacesLikeUpdate: a cache is written whole and atomically
// like any namespace (only not synced), and read back by Read.
func TestUpdateCacheReplacesLikeUpdate(t *testing.T) {
	s := open(t)
	for _, v := range []string{"first", "second"} {
		if err := s.UpdateCache(context.Background(), "cache-probe", func([]byte) ([]byte, error) { return []byte(v), nil }); err != nil {
			t.Fatal(err)
		}
		if b, err := s.Read("cache-probe"); err != nil || string(b) != v {
			t.Fatalf("read %q, %v; want %q", b, err, v)
		}
	}
	if tmps, _ := filepath.Glob(filepath.Join(s.Dir(), ".*tmp")); len(tmps) > 0 {
		t.Errorf("temp files left: %v", tmps)
	}
}
