// Package state is kubelet-doctor's store between invocations: a directory of
// namespaces (the journal cursor and evidence, alert marks, cached findings of
// expensive checks), each a JSON file with a lock of its own.
//
// The store is a cache and is never trusted more than the facts it caches:
//   - the directory and every file must belong to this user and be writable by
//     no one else (sshd's StrictModes): another user who could rewrite the
//     evidence could make a failing node read healthy. A store that fails this
//     is refused with ErrUntrusted, and the verdict is Unknown with the reason;
//   - no path is followed through a symlink (O_NOFOLLOW, O_EXCL temp files),
//     and nothing but a regular file is opened (a FIFO would hang the reader);
//   - writes are atomic (temp, fsync, rename, fsync dir): a SIGKILL from NPD's
//     timeout leaves the old file or the new one, never half of one; temp files
//     a killed writer left are removed by the next holder of the lock;
//   - what a namespace holds is decoded and validated by its owner, and
//     rebuilt on anything unexpected.
//
// Locks are per namespace and only ever held around local file work: a check
// that probes the network holds only its own cache namespace's lock, so a slow
// probe never stalls the journal's readers.
package state

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// MaxSize bounds one namespace's file: anything larger is not ours.
const MaxSize = 8 << 20

// ErrUntrusted means the store or one of its files could be written by
// someone else, or is not what it should be (a symlink, a FIFO).
var ErrUntrusted = errors.New("state not trusted")

// validName is a namespace name: [a-z0-9][a-z0-9.-]{0,63}. Checked by hand:
// a regexp compiled at start would cost every plugin run.
func validName(ns string) bool {
	if ns == "" || len(ns) > 64 {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// tempSep separates a namespace from the random part of its temp files; no
// namespace name contains it, so one namespace never removes another's.
const tempSep = "~"

// Store is an open state directory.
type Store struct {
	dir string
	uid int
}

// Open opens the state directory, creating it (0700) when missing, and
// refuses one that is a symlink, not a directory, owned by another user or
// writable by group or others.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir %q: %w", dir, err)
	}
	s := &Store{dir: dir, uid: os.Geteuid()}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("stat state dir %q: %w", dir, err)
	}
	if err := s.trusted(fi, true); err != nil {
		return nil, fmt.Errorf("state dir %q: %w", dir, err)
	}
	// File times are the kernel's wall clock: compared with the same
	// clock, not with a replay's --now.
	s.removeOldTemps(time.Now().Add(-staleTemp))
	return s, nil
}

// staleTemp is the age past which a temp file is a killed writer's: a
// live one renames its file within milliseconds of creating it. Lock
// removes its namespace's at once; Open removes every namespace's old
// ones, as some namespaces are only read on most runs.
const staleTemp = 30 * time.Second

func (s *Store) removeOldTemps(before time.Time) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, ".") || !strings.Contains(n, tempSep) || !strings.HasSuffix(n, ".tmp") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(before) {
			_ = os.Remove(filepath.Join(s.dir, n))
		}
	}
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) trusted(fi os.FileInfo, dir bool) error {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%w: a symlink", ErrUntrusted)
	case dir && !fi.IsDir():
		return fmt.Errorf("%w: not a directory", ErrUntrusted)
	case !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: not a regular file (%s)", ErrUntrusted, fi.Mode().Type())
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: writable by group or others (mode %04o)", ErrUntrusted, fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != s.uid {
		return fmt.Errorf("%w: owned by uid %d, not %d", ErrUntrusted, st.Uid, s.uid)
	}
	return nil
}

func (s *Store) path(ns, ext string) (string, error) {
	if !validName(ns) {
		return "", fmt.Errorf("state namespace %q: not a valid name", ns)
	}
	return filepath.Join(s.dir, ns+ext), nil
}

// Update runs fn with the namespace's current bytes (nil when there are
// none) under the namespace's lock, and saves what fn returns when it
// differs, durably (the file and the directory synced). fn returning nil
// bytes leaves the file as it is.
func (s *Store) Update(ctx context.Context, ns string, fn func(old []byte) ([]byte, error)) error {
	return s.update(ctx, ns, fn, true)
}

// UpdateCache is Update for what can be found again (a probe's answer, the
// kubelet's pid): nothing is synced, so a cache costs no disk flush on
// every interval. A crash may leave the old version or, on a new file, an
// empty one, which reads as no cache.
func (s *Store) UpdateCache(ctx context.Context, ns string, fn func(old []byte) ([]byte, error)) error {
	return s.update(ctx, ns, fn, false)
}

func (s *Store) update(ctx context.Context, ns string, fn func(old []byte) ([]byte, error), durable bool) error {
	unlock, err := s.Lock(ctx, ns)
	if err != nil {
		return err
	}
	defer unlock()
	old, err := s.read(ns)
	if err != nil {
		return err
	}
	b, err := fn(old)
	if err != nil || b == nil || bytes.Equal(b, old) {
		return err
	}
	return s.write(ns, b, durable)
}

// Read returns the namespace's bytes without taking its lock: the file is
// replaced atomically, so a reader sees a whole version.
func (s *Store) Read(ns string) ([]byte, error) { return s.read(ns) }

func (s *Store) read(ns string) ([]byte, error) {
	p, err := s.path(ns, ".json")
	if err != nil {
		return nil, err
	}
	f, err := openFile(p, os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := s.checkOpen(f); err != nil {
		return nil, fmt.Errorf("state %q: %w", p, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read state %q: %w", p, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("state %q: %w: larger than %d bytes", p, ErrUntrusted, MaxSize)
	}
	return b, nil
}

// openFile opens p never through a symlink and never blocking on a FIFO.
func openFile(p string, flag int) (*os.File, error) {
	f, err := os.OpenFile(p, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("open %q: %w: a symlink", p, ErrUntrusted)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open %q: %w", p, err)
	}
	return f, err
}

func (s *Store) checkOpen(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return s.trusted(fi, false)
}

// Write replaces the namespace's bytes durably; the caller holds its Lock.
func (s *Store) Write(ns string, b []byte) error { return s.write(ns, b, true) }

// WriteCache is Write without syncing (see UpdateCache).
func (s *Store) WriteCache(ns string, b []byte) error { return s.write(ns, b, false) }

func (s *Store) write(ns string, b []byte, durable bool) error {
	p, err := s.path(ns, ".json")
	if err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(s.dir, "."+ns+tempSep+hex.EncodeToString(rnd[:])+".tmp")
	// O_EXCL: a name planted in advance (a symlink included) is never written through.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create state file in %q: %w", s.dir, err)
	}
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write state %q: %w", tmp, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("sync state %q: %w", tmp, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close state %q: %w", tmp, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("replace state %q: %w", p, err)
	}
	if !durable {
		return nil
	}
	// The rename is durable only once the directory is synced.
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Lock takes the namespace's exclusive lock, waiting until ctx is done. The
// lock dies with the process, so a SIGKILL frees it. Temp files of the
// namespace found while holding it were left by a killed writer: removed.
func (s *Store) Lock(ctx context.Context, ns string) (unlock func(), err error) {
	p, err := s.path(ns, ".lock")
	if err != nil {
		return nil, err
	}
	f, err := openFile(p, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := s.checkOpen(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %q: %w", p, err)
	}
	// A holder usually needs a few milliseconds: poll often at first, so
	// that the conditions NPD starts together do not queue up in 5 ms steps.
	wait := 250 * time.Microsecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			s.removeStaleTemps(ns)
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %q: %w", p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %q: %w", p, ctx.Err())
		case <-time.After(wait):
			wait = min(2*wait, 5*time.Millisecond)
		}
	}
}

func (s *Store) removeStaleTemps(ns string) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	prefix := "." + ns + tempSep
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".tmp") {
			_ = os.Remove(filepath.Join(s.dir, n))
		}
	}
}
