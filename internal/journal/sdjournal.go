//go:build cgo

package journal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"
	"github.com/sirupsen/logrus"
)

// ctxCheckEvery is how many entries Read passes between two looks at ctx:
// ctx.Err takes a lock, a Next+GetData pair costs ~2.5 µs, so 256 entries
// keep the check negligible and the reaction well under a millisecond.
const ctxCheckEvery = 256

// Open opens every journal file under dirs (*.journal and *.journal~ in
// each dir and in its 32-hex machine-id subdirectories, as sd_journal does)
// for reading the entries selected by m; empty Match fields mean
// DefaultMatch's.
//
// sd_journal silently skips missing, unreadable, truncated and
// foreign-format files, so Open checks them first: missing dirs or no files
// give an error wrapping ErrNoJournal; an active file that cannot be opened
// or whose header is bad or says it is longer than the file gives
// ErrUnreadable. libsystemd.so.0 that cannot be loaded gives ErrNoLibrary.
//
// Archives (name with '@', no longer written) are judged per query: each
// Read hands sd_journal only the active files and the archives whose last
// entry (header tail_entry_realtime; the mtime when the header is
// unreadable) is at or after the query's start (Since, or the cursor's t=
// time). So a damaged archive older than the query, whether the checks see
// the damage (it is then skipped with a warning) or not (damage in the
// middle, which sd_journal would trip over), cannot make the node Unknown
// until journald vacuums it; a damaged archive the query needs makes Read
// fail with ErrUnreadable. Fewer files also open faster (measured: 1.4 ms
// for 20 files, 0.09 ms for one).
//
// The Reader sees the files present at Open: open a new one to see files
// created later by rotation.
func Open(dirs []string, m Match) (Reader, error) {
	infos, err := scan(dirs)
	if err != nil {
		return nil, err
	}
	r := &sdReader{match: m, warned: map[string]bool{}}
	for _, info := range infos {
		switch {
		case info.err == nil:
			r.good = append(r.good, info)
		case info.archived:
			r.bad = append(r.bad, info)
		default:
			closeFiles(infos)
			return nil, info.err
		}
	}
	if len(r.good) > 0 {
		// Load libsystemd now, so that a missing library is an Open error;
		// one file is enough for that and cheap (~0.1 ms).
		j, err := sdjournal.NewJournalFromFiles(r.good[len(r.good)-1].path)
		if err != nil {
			closeFiles(infos)
			return nil, libError("open journal", err)
		}
		j.Close()
	}
	return r, nil
}

// openHandle replaces the sd_journal handle by one over the good files
// selected by want (indices into r.good).
func (r *sdReader) openHandle(want []int) error {
	r.closeHandle()
	if len(want) == 0 {
		return nil
	}
	paths := make([]string, len(want))
	for i, w := range want {
		paths[i] = r.good[w].path
	}
	j, err := sdjournal.NewJournalFromFiles(paths...)
	if err != nil {
		return libError(fmt.Sprintf("open %d journal files", len(paths)), err)
	}
	// The threshold is only a hint (a 105 KB MESSAGE came back in full with
	// the default 64 KiB), so 0 = "everything" and Read caps the length.
	if err := j.SetDataThreshold(0); err != nil {
		j.Close()
		return libError("set journal data threshold", err)
	}
	if err := addMatches(j, r.match); err != nil {
		j.Close()
		return err
	}
	r.j, r.cur = j, want
	return nil
}

func (r *sdReader) closeHandle() {
	if r.j != nil {
		r.j.Close()
	}
	r.j, r.cur = nil, nil
}

// libError tells a failing libsystemd call (an errno) from a library that
// could not be loaded or lacks a symbol (go-systemd's dlopen errors carry
// no errno).
func libError(what string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("%s: %w: %w", what, ErrUnreadable, err)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrNoLibrary, err)
}

// addMatches installs
//
//	[_SYSTEMD_UNIT=u1 _SYSTEMD_UNIT=u2 ...] OR
//	[(UNIT=u1 UNIT=u2 ...) AND _PID=1] OR
//	[SYSLOG_IDENTIFIER=i1 SYSLOG_IDENTIFIER=i2 ...]
//
// sd_journal ORs the values of one field within a group and ANDs different
// fields, and AddDisjunction ORs the groups; the middle group is what
// `journalctl -u` adds for systemd's own messages about the unit.
func addMatches(j *sdjournal.Journal, m Match) error {
	units := nonEmpty(m.Units)
	if len(units) == 0 {
		units = DefaultMatch.Units
	}
	idents := nonEmpty(m.Identifiers)
	if len(idents) == 0 {
		idents = DefaultMatch.Identifiers
	}
	var terms []string
	for _, u := range units {
		terms = append(terms, "_SYSTEMD_UNIT="+u)
	}
	terms = append(terms, "+")
	for _, u := range units {
		terms = append(terms, "UNIT="+u)
	}
	terms = append(terms, "_PID=1", "+")
	for _, i := range idents {
		terms = append(terms, "SYSLOG_IDENTIFIER="+i)
	}
	for _, t := range terms {
		var err error
		if t == "+" {
			err = j.AddDisjunction()
		} else {
			err = j.AddMatch(t)
		}
		if err != nil {
			return libError(fmt.Sprintf("add journal match %q", t), err)
		}
	}
	return nil
}

func nonEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// sdReader is the sd_journal Reader. Read and Close may be called from
// several goroutines; Reads are serialised.
type sdReader struct {
	mu     sync.Mutex
	match  Match
	good   []fileInfo // checked files, each with our own open descriptor
	bad    []fileInfo // damaged archives, checked per query
	j      *sdjournal.Journal
	cur    []int // the good files j reads
	warned map[string]bool
	closed bool
	// lastBoot is the previous entry's boot id: entries share one string
	// per boot instead of one each.
	lastBoot string
}

var _ Reader = (*sdReader)(nil)

// Read implements Reader. It reads only MESSAGE and the realtime stamp of
// each entry (GetEntry would cost 2.6x: it copies every field), and asks
// for the cursor once, after the last entry.
func (r *sdReader) Read(ctx context.Context, q Query, fn func(Entry) error) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return q.Cursor, errors.New("read journal: reader closed")
	}
	if err := ctx.Err(); err != nil {
		return q.Cursor, fmt.Errorf("read journal: %w", err)
	}
	start := queryStart(q)
	if err := r.checkBad(start); err != nil {
		return q.Cursor, err
	}
	if want := r.wanted(start); !slices.Equal(want, r.cur) || (r.j == nil && len(want) > 0) {
		if err := r.openHandle(want); err != nil {
			return q.Cursor, err
		}
	}
	if r.j == nil {
		return q.Cursor, nil // every file ends before the query starts
	}
	j := r.j

	// pending: positioned on an entry that fn has not seen yet; done: no
	// entry after the cursor.
	pending, done := false, false
	switch {
	case q.Cursor != "":
		if err := j.SeekCursor(q.Cursor); err != nil {
			if errors.Is(err, syscall.EINVAL) {
				return q.Cursor, fmt.Errorf("seek journal to cursor %q: %w", q.Cursor, ErrBadCursor)
			}
			return q.Cursor, fmt.Errorf("seek journal to cursor %q: %w", q.Cursor, err)
		}
		n, err := j.Next()
		if err != nil {
			return q.Cursor, fmt.Errorf("read journal after cursor: %w", err)
		}
		done = n == 0
		// TestCursor nil: we are on the entry the cursor names, seen last
		// time. Any error: that entry is gone and Next landed on the
		// nearest later one, which is new. Never Previous() here: at the
		// head of the journal it does not move and one entry is lost.
		pending = !done && j.TestCursor(q.Cursor) != nil
	case q.Since.After(time.Unix(0, 0)):
		us := q.Since.UnixMicro()
		if q.Since.Nanosecond()%1000 != 0 {
			us++ // entries have µs stamps: "at or after Since" rounds up
		}
		if err := j.SeekRealtimeUsec(uint64(us)); err != nil {
			return q.Cursor, fmt.Errorf("seek journal to %s: %w", q.Since.UTC().Format(time.RFC3339Nano), err)
		}
	default:
		if err := j.SeekHead(); err != nil {
			return q.Cursor, fmt.Errorf("seek journal head: %w", err)
		}
	}

	count := 0
	for i := 0; !done; i++ {
		if q.Limit > 0 && count >= q.Limit {
			break
		}
		if i%ctxCheckEvery == 0 && i > 0 {
			if err := ctx.Err(); err != nil {
				return r.cursor(q.Cursor, count, false), fmt.Errorf("read journal: %w", err)
			}
		}
		if !pending {
			n, err := j.Next()
			if err != nil {
				return r.cursor(q.Cursor, count, false), fmt.Errorf("read journal: %w: %w", ErrUnreadable, err)
			}
			if n == 0 {
				break
			}
		}
		pending = false
		msg, err := j.GetDataValue("MESSAGE")
		if err != nil {
			if !errors.Is(err, syscall.ENOENT) {
				// Not skipped: a systematic failure (say, a compression
				// this libsystemd lacks) would otherwise read as silence.
				return r.cursor(q.Cursor, count, true), fmt.Errorf("read journal entry MESSAGE: %w: %w", ErrUnreadable, err)
			}
			msg = "" // an entry without MESSAGE still moves the cursor
		}
		e, err := r.stamps(j)
		if err != nil {
			return r.cursor(q.Cursor, count, true), err
		}
		if len(msg) > MaxMessage {
			// Clone so that the rest of a huge value can be freed.
			msg = strings.Clone(msg[:MaxMessage])
		}
		e.Message = msg
		count++
		if err := fn(e); err != nil {
			return r.cursor(q.Cursor, count, false), err
		}
	}
	if err := r.checkDropped(); err != nil {
		return q.Cursor, err
	}
	if count == 0 {
		return q.Cursor, nil
	}
	c, err := j.GetCursor()
	if err != nil {
		return q.Cursor, fmt.Errorf("get journal cursor: %w: %w", ErrUnreadable, err)
	}
	return c, nil
}

// stamps reads the current entry's realtime, monotonic time and boot id.
func (r *sdReader) stamps(j *sdjournal.Journal) (Entry, error) {
	us, err := j.GetRealtimeUsec()
	if err != nil {
		return Entry{}, fmt.Errorf("read journal entry time: %w: %w", ErrUnreadable, err)
	}
	mono, err := j.GetMonotonicUsec()
	if err != nil {
		return Entry{}, fmt.Errorf("read journal entry monotonic time: %w: %w", ErrUnreadable, err)
	}
	boot, err := j.GetData("_BOOT_ID")
	if err != nil {
		return Entry{}, fmt.Errorf("read journal entry _BOOT_ID: %w: %w", ErrUnreadable, err)
	}
	boot = strings.TrimPrefix(boot, "_BOOT_ID=")
	if boot == r.lastBoot {
		boot = r.lastBoot
	} else {
		r.lastBoot = boot
	}
	return Entry{Realtime: time.UnixMicro(int64(us)), Monotonic: time.Duration(mono) * time.Microsecond, BootID: boot}, nil
}

// cursor returns, on an error path, the cursor of the last entry passed to
// fn: the current entry, or the previous matching one when the current
// entry is one that failed (back is true). With no entry passed it is the
// query's cursor.
func (r *sdReader) cursor(old string, count int, back bool) string {
	if count == 0 {
		return old
	}
	if back {
		if n, err := r.j.Previous(); err != nil || n == 0 {
			return old
		}
	}
	c, err := r.j.GetCursor()
	if err != nil {
		// Already failing: the caller gets that error, and the old cursor
		// only makes the next read repeat entries.
		return old
	}
	return c
}

// checkDropped detects files that sd_journal gave up on while reading: on a
// damaged object sd_journal_next drops the file from its set, logs at debug
// level and goes on with the other files (measured: a file damaged in the
// middle next to a good one reads as a shorter journal, with no error). The
// drop shows in sd_journal_get_usage, the st_blocks of the files still in
// its set, falling below the same sum over our own descriptors. Ours is
// taken first: a live file that grows in between only raises sd_journal's.
func (r *sdReader) checkDropped() error {
	var own uint64
	for _, i := range r.cur {
		f := r.good[i].f
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("stat journal file %q: %w: %w", f.Name(), ErrUnreadable, err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			own += uint64(st.Blocks) * 512
		}
	}
	used, err := r.j.GetUsage()
	if err != nil {
		return fmt.Errorf("get journal usage: %w: %w", ErrUnreadable, err)
	}
	if used < own {
		return fmt.Errorf("read journal: sd_journal dropped a damaged file among %d while reading (%d of %d bytes still open; `journalctl --verify` names it): %w",
			len(r.cur), used, own, ErrUnreadable)
	}
	return nil
}

// queryStart is the earliest time a query can need: Since, or with a
// cursor the cursor's own time (reading resumes after that entry). Zero
// (from the head, or a cursor without t=) means every file is needed.
func queryStart(q Query) time.Time {
	if q.Cursor != "" {
		return cursorRealtime(q.Cursor)
	}
	return q.Since
}

// endsBefore reports whether every entry of the file is older than start,
// judged by its header: only archives qualify, since an active file gets
// new entries.
func endsBefore(f fileInfo, start time.Time) bool {
	return f.archived && !f.tail.IsZero() && !start.IsZero() && f.tail.Before(start)
}

// wanted returns the indices of the good files a query from start needs.
func (r *sdReader) wanted(start time.Time) []int {
	var want []int
	for i, f := range r.good {
		if !endsBefore(f, start) {
			want = append(want, i)
		}
	}
	return want
}

// checkBad returns the error of a damaged archive the query needs, and warns
// once about each one it skips.
func (r *sdReader) checkBad(start time.Time) error {
	for _, b := range r.bad {
		if !endsBefore(b, start) {
			return b.err
		}
		if r.warned[b.path] {
			continue
		}
		r.warned[b.path] = true
		logrus.WithFields(logrus.Fields{
			"file":      b.path,
			"lastEntry": b.tail.UTC().Format(time.RFC3339),
			"start":     start.UTC().Format(time.RFC3339),
		}).Warnf("skipping damaged archived journal file older than the query: %v", b.err)
	}
	return nil
}

// Close releases the sd_journal handle and its mmaps.
func (r *sdReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.closeHandle()
	closeFiles(r.good)
	return nil
}
