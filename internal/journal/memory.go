package journal

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Memory is an in-memory Reader over entries that all match, for tests that
// must not need cgo or journal files. It follows the sd_journal Reader's
// rules: Since, Limit, ctx, MaxMessage, and cursors that resume after their
// entry, or at the nearest later entry once Drop has removed it. Entries
// must be added in time order; BootID and Monotonic are passed through as
// given (tests set them to model boots and clock steps). The zero value is
// an empty journal; it is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	entries []Entry
	dropped uint64 // sequence number of entries[0]
	closed  bool
	// Err, when set, is returned by every Read before reading anything:
	// a journal that cannot be read.
	Err error
}

var _ Reader = (*Memory)(nil)

// NewMemory returns a Memory holding entries.
func NewMemory(entries ...Entry) *Memory {
	m := &Memory{}
	m.Append(entries...)
	return m
}

// Append adds entries at the end, as journald would.
func (m *Memory) Append(entries ...Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, entries...)
}

// Drop removes the n oldest entries, as rotation plus vacuuming would.
func (m *Memory) Drop(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n = min(max(n, 0), len(m.entries))
	m.entries = append([]Entry(nil), m.entries[n:]...)
	m.dropped += uint64(n)
}

// Len returns the number of entries held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Cursor format: "memory;i=<seq>;b=<boot id>;m=<monotonic µs, hex>;t=<realtime
// µs, hex>", mimicking the i=, b=, m= and t= fields of sd_journal cursors.
const memCursorPrefix = "memory;i="

func memCursor(seq uint64, e Entry) string {
	return memCursorPrefix + strconv.FormatUint(seq, 10) +
		";b=" + e.BootID +
		";m=" + strconv.FormatInt(e.Monotonic.Microseconds(), 16) +
		";t=" + strconv.FormatInt(e.Realtime.UnixMicro(), 16)
}

func parseMemCursor(c string) (uint64, error) {
	rest, ok := strings.CutPrefix(c, memCursorPrefix)
	if !ok {
		return 0, fmt.Errorf("memory journal cursor %q: %w", c, ErrBadCursor)
	}
	seq, _, _ := strings.Cut(rest, ";")
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("memory journal cursor %q: %w", c, ErrBadCursor)
	}
	return n, nil
}

// Read implements Reader.
func (m *Memory) Read(ctx context.Context, q Query, fn func(Entry) error) (string, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return q.Cursor, errors.New("read memory journal: reader closed")
	}
	if m.Err != nil {
		err := m.Err
		m.mu.Unlock()
		return q.Cursor, err
	}
	// Copy the slice header: fn may call Append on the same Memory.
	entries, base := m.entries, m.dropped
	m.mu.Unlock()

	start := 0
	if q.Cursor != "" {
		seq, err := parseMemCursor(q.Cursor)
		if err != nil {
			return q.Cursor, err
		}
		// Entries after the cursor's; when it was dropped, the first left.
		if seq+1 > base {
			start = int(min(seq+1-base, uint64(len(entries))))
		}
	} else if !q.Since.IsZero() {
		start = sort.Search(len(entries), func(i int) bool { return !entries[i].Realtime.Before(q.Since) })
	}
	cursor := q.Cursor
	count := 0
	for i := start; i < len(entries); i++ {
		if q.Limit > 0 && count >= q.Limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return cursor, fmt.Errorf("read memory journal: %w", err)
		}
		e := entries[i]
		if len(e.Message) > MaxMessage {
			e.Message = e.Message[:MaxMessage]
		}
		cursor = memCursor(base+uint64(i), e)
		count++
		if err := fn(e); err != nil {
			return cursor, err
		}
	}
	return cursor, nil
}

// Close makes later Reads fail, like a closed sd_journal handle.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
