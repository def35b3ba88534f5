//go:build cgo

package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

// maxBuffers bounds the addresses verify remembers as not in place.
const maxBuffers = 16

// ctxCheckEvery is how many entries Read passes between two looks at ctx:
// ctx.Err takes a lock, a Next+GetData pair costs ~2.5 µs, so 256 entries
// keep the check negligible and the reaction well under a millisecond.
const ctxCheckEvery = 256

// Open is OpenContext without a deadline.
func Open(dirs []string, m Match) (Reader, error) {
	return OpenContext(context.Background(), dirs, m)
}

// OpenContext opens every journal file under dirs (*.journal and
// *.journal~ in each dir and in its 32-hex machine-id subdirectories, as
// sd_journal does) for reading the entries selected by m; empty Match
// fields mean DefaultMatch's. ctx bounds the work of opening: a deadline
// reached while looking at the files gives an error wrapping ctx.Err()
// that says how far it got.
//
// sd_journal silently skips missing, unreadable, truncated and
// foreign-format files, so OpenContext checks them first: missing dirs or
// no files give an error wrapping ErrNoJournal; an active file that cannot
// be opened, is not a regular file, or whose header is bad or says it is
// longer than the file gives ErrUnreadable. libsystemd.so.0 that cannot be
// loaded gives ErrNoLibrary.
//
// Archives (name with '@', no longer written) are judged per query by
// their mtime, which the kernel sets when journald writes them and which
// damage to their contents cannot move (a header field can be damaged
// too): each Read checks and hands sd_journal only the active files and
// the archives whose mtime is less than ArchiveSlack before the query's
// start (Since, or the cursor's t= time). A damaged archive the query
// needs makes Read fail with ErrUnreadable; one older than the query is
// never opened, so it cannot make the node Unknown until journald vacuums
// it. Fewer files also open faster (measured: 1.4 ms for 20 files, 0.09 ms
// for one), and a cold directory of thousands of archives costs a stat
// each instead of a disk read each.
//
// The Reader sees the files present at Open: open a new one to see files
// created later by rotation.
func OpenContext(ctx context.Context, dirs []string, m Match) (Reader, error) {
	infos, err := scan(ctx, dirs)
	if err != nil {
		return nil, err
	}
	for _, info := range infos {
		if info.err != nil && !info.archived {
			closeFiles(infos)
			return nil, info.err
		}
	}
	// Load libsystemd now, so that a missing library is an Open error: a
	// journal over no file is enough for that.
	j, err := sdjournal.NewJournalFromFiles()
	if err != nil {
		err = libError("open journal", err) // before closing: it probes for free descriptors
		closeFiles(infos)
		return nil, err
	}
	j.Close()
	return &sdReader{match: m, files: infos}, nil
}

// ArchiveSlack is how long before a query's start an archive's mtime may
// be and still be read: journald writes through mmap, and the kernel
// updates the mtime of an mmap'ed file only when a page clean since the
// last writeback is written again, so the mtime can lag the last entry by
// the writeback interval (30 s) until journald's periodic sync (5 min) or
// the rotation's offlining writes the header.
const ArchiveSlack = 10 * time.Minute

// openHandle replaces the sd_journal handle by one over the files selected
// by want (indices into r.files).
func (r *sdReader) openHandle(want []int) error {
	r.closeHandle()
	if len(want) == 0 {
		return nil
	}
	paths := make([]string, len(want))
	for i, w := range want {
		paths[i] = r.files[w].path
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
	r.j, r.cur, r.fast = j, want, newFastEntry(j)
	for _, w := range want {
		d, err := newDataIndex(r.files[w].f)
		if err != nil {
			r.closeHandle()
			return err
		}
		r.idx = append(r.idx, d)
	}
	return nil
}

func (r *sdReader) closeHandle() {
	if r.j != nil {
		r.j.Close()
	}
	for _, d := range r.idx {
		d.close()
	}
	r.j, r.cur, r.idx, r.lastIdx, r.fast, r.buffers = nil, nil, nil, 0, nil, nil
}

// verify checks that the MESSAGE payload read ("MESSAGE=...") is what
// journald stored (see dataIndex): in place when sd_journal said where it
// read it (at, else nil), else by its hash naming a data object in one of
// the files read. The file of the previous entry is tried first.
func (r *sdReader) verify(payload string, at unsafe.Pointer, usec uint64) error {
	b := unsafe.Slice(unsafe.StringData(payload), len(payload))
	if at != nil && !slices.Contains(r.buffers, uintptr(at)) {
		for k := range r.idx {
			i := (r.lastIdx + k) % len(r.idx)
			if r.idx[i].inPlace(b, at) {
				r.lastIdx = i
				return nil
			}
		}
		// sd_journal decompresses every compressed payload of a file into
		// one buffer: once refused, its address is not tried again (a
		// buffer at the start of its own mapping faults on each try).
		if len(r.buffers) == maxBuffers {
			r.buffers = r.buffers[1:]
		}
		r.buffers = append(r.buffers, uintptr(at))
	}
	for k := range r.idx {
		i := (r.lastIdx + k) % len(r.idx)
		found, err := r.idx[i].has(payload)
		if err != nil {
			return fmt.Errorf("read journal entry MESSAGE: %w", err)
		}
		if found {
			r.lastIdx = i
			return nil
		}
	}
	return fmt.Errorf("read journal: the MESSAGE of the entry at %s matches no data object's hash in the %d files read: damaged in place (`journalctl --verify` names the file): %w: %w",
		time.UnixMicro(int64(usec)).UTC().Format(time.RFC3339Nano), len(r.idx), ErrUnreadable, ErrDamaged)
}

// libError tells a failing libsystemd call (an errno) from a library that
// could not be loaded or lacks a symbol (go-systemd's dlopen errors carry
// no errno).
//
// A process out of file descriptors cannot dlopen either: that is told
// apart by trying to open /dev/null, so that it is not reported as a
// missing library.
func libError(what string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("%s: %w: %w", what, ErrUnreadable, err)
	}
	if f, ferr := os.Open(os.DevNull); ferr != nil {
		if errors.Is(ferr, syscall.EMFILE) || errors.Is(ferr, syscall.ENFILE) {
			return fmt.Errorf("%s: %w: out of file descriptors: %w (%v)", what, ErrUnreadable, ferr, err)
		}
	} else {
		f.Close()
	}
	return fmt.Errorf("%s: %w: %w", what, ErrNoLibrary, err)
}

// addMatches installs (see Match)
//
//	[_SYSTEMD_UNIT=u1 _SYSTEMD_UNIT=u2 ...] OR
//	[(UNIT=u1 UNIT=u2 ...) AND _PID=1 AND _UID=0] OR
//	[(SYSLOG_IDENTIFIER=i1 ...) AND (_UID=0 ...)]   (only with Identifiers)
//
// sd_journal ORs the values of one field within a group and ANDs different
// fields, and AddDisjunction ORs the groups; the middle group is what
// `journalctl -u` adds for systemd's own messages about the unit, with the
// uid as well. The matches select by data objects, so nothing is read per
// entry; but sd_journal evaluates every group at every step, and an AND
// with a field most entries have (_UID=0) costs a bisection of its long
// entry array each time. sd_journal walks the fields of an AND from the
// last added to the first, and starting from the rare field (UNIT=,
// SYSLOG_IDENTIFIER=) is cheaper, so the uid is added first: measured
// 2270 against 2588 ns per entry read.
func addMatches(j *sdjournal.Journal, m Match) error {
	for _, t := range matchTerms(m) {
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

// matchTerms returns the sd_journal match terms of m, "+" between groups.
func matchTerms(m Match) []string {
	or := func(v []string, dflt []string) []string {
		if v = nonEmpty(v); len(v) == 0 {
			return dflt
		}
		return v
	}
	dflt := DefaultMatch()
	units := or(m.Units, dflt.Units)
	idents := or(m.Identifiers, dflt.Identifiers)
	uids := or(m.IdentifierUIDs, dflt.IdentifierUIDs)
	var terms []string
	for _, u := range units {
		terms = append(terms, "_SYSTEMD_UNIT="+u)
	}
	terms = append(terms, "+", "_UID=0", "_PID=1")
	for _, u := range units {
		terms = append(terms, "UNIT="+u)
	}
	if len(idents) == 0 {
		return terms
	}
	terms = append(terms, "+")
	for _, u := range uids {
		terms = append(terms, "_UID="+u)
	}
	for _, i := range idents {
		terms = append(terms, "SYSLOG_IDENTIFIER="+i)
	}
	return terms
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
	mu    sync.Mutex
	match Match
	// files are the active files, checked at Open, and the archives,
	// checked when a query first needs them; a checked good file holds our
	// own open descriptor.
	files []fileInfo
	j     *sdjournal.Journal
	cur   []int        // the files j reads
	idx   []*dataIndex // for each of cur, to verify what is read
	// lastIdx is the index in idx of the file that held the previous
	// entry's MESSAGE: entries come in runs from one file.
	lastIdx int
	// buffers are addresses the in-place check refused: sd_journal's
	// decompression buffers, one per file (see verify).
	buffers []uintptr
	fast    *fastEntry // nil: entries through go-systemd
	closed  bool
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
	want, err := r.wanted(ctx, queryStart(q))
	if err != nil {
		return q.Cursor, err
	}
	if !slices.Equal(want, r.cur) || (r.j == nil && len(want) > 0) {
		if err := r.openHandle(want); err != nil {
			return q.Cursor, err
		}
	}
	if r.j == nil {
		return q.Cursor, nil // every file ends before the query starts
	}
	j := r.j

	pending, done, err := seek(j, q)
	if err != nil {
		return q.Cursor, err
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
		e, err := r.entry(j)
		if err != nil {
			return r.cursor(q.Cursor, count, true), err
		}
		msg := e.Message
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

// seek positions j for q: after its cursor, at its Since, or at the head.
// pending: positioned on an entry that fn has not seen yet; done: no entry
// after the cursor.
func seek(j *sdjournal.Journal, q Query) (pending, done bool, err error) {
	switch {
	case q.Cursor != "":
		if err := j.SeekCursor(q.Cursor); err != nil {
			if errors.Is(err, syscall.EINVAL) {
				return false, false, fmt.Errorf("seek journal to cursor %q: %w", q.Cursor, ErrBadCursor)
			}
			return false, false, fmt.Errorf("seek journal to cursor %q: %w", q.Cursor, err)
		}
		n, err := j.Next()
		if err != nil {
			return false, false, fmt.Errorf("read journal after cursor: %w", err)
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
			return false, false, fmt.Errorf("seek journal to %s: %w", q.Since.UTC().Format(time.RFC3339Nano), err)
		}
	default:
		if err := j.SeekHead(); err != nil {
			return false, false, fmt.Errorf("seek journal head: %w", err)
		}
	}
	return pending, done, nil
}

// entry reads the current entry: its stamps and its MESSAGE, verified
// against the data object journald stored (see verify). Entries without
// MESSAGE have "".
func (r *sdReader) entry(j *sdjournal.Journal) (Entry, error) {
	var e Entry
	var msg string
	var at unsafe.Pointer
	var err error
	if r.fast != nil {
		e, msg, at, err = r.fast.read()
	} else {
		e, msg, err = r.slowEntry(j)
	}
	if err != nil {
		return Entry{}, err
	}
	if msg == "" {
		// An entry without MESSAGE still moves the cursor, but every entry
		// journald writes has _BOOT_ID among its fields: without either,
		// its item array is damaged (the stamps come from the entry's
		// header and would not show it).
		if _, err := j.GetData("_BOOT_ID"); err != nil {
			return Entry{}, fmt.Errorf("read journal entry: neither MESSAGE nor _BOOT_ID: %w: %w: %w", ErrUnreadable, ErrDamaged, err)
		}
		return e, nil
	}
	if err := r.verify(msg, at, uint64(e.Realtime.UnixMicro())); err != nil {
		return Entry{}, err
	}
	e.Message = msg[len("MESSAGE="):]
	return e, nil
}

// slowEntry is entry's read through go-systemd, four calls into C.
func (r *sdReader) slowEntry(j *sdjournal.Journal) (Entry, string, error) {
	msg, err := j.GetData("MESSAGE")
	if err != nil {
		if !errors.Is(err, syscall.ENOENT) {
			// Not skipped: a systematic failure (say, a compression this
			// libsystemd lacks) would otherwise read as silence.
			return Entry{}, "", fmt.Errorf("read journal entry MESSAGE: %w: %w", ErrUnreadable, err)
		}
		msg = ""
	}
	e, err := r.stamps(j)
	return e, msg, err
}

// stamps reads the current entry's realtime, monotonic time and boot id
// through go-systemd.
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
		f := r.files[i].f
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
		return fmt.Errorf("read journal: sd_journal dropped a damaged file among %d while reading (%d of %d bytes still open; `journalctl --verify` names it): %w: %w",
			len(r.cur), used, own, ErrUnreadable, ErrDamaged)
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

// wanted returns the indices of the files a query from start needs,
// checking the archives among them that were not checked yet. A needed
// file that fails its checks is the error; one that vanished since Open
// (vacuumed) is left out, as sd_journal would.
func (r *sdReader) wanted(ctx context.Context, start time.Time) ([]int, error) {
	var want []int
	for i := range r.files {
		f := &r.files[i]
		if f.archived && !start.IsZero() && f.mtime.Before(start.Add(-ArchiveSlack)) {
			continue
		}
		if !f.checked {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read journal: checking archived journal files: %w", err)
			}
			mtime, stat := f.mtime, f.stat
			*f = checkFile(f.path)
			f.mtime, f.stat = mtime, stat
		}
		if errors.Is(f.err, fs.ErrNotExist) && !errors.Is(f.err, ErrUnreadable) {
			continue
		}
		if f.err != nil {
			return nil, f.err
		}
		want = append(want, i)
	}
	return want, nil
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
	closeFiles(r.files)
	return nil
}
