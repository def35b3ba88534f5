package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 2, 26, 10, 0, 0, 0, time.UTC)

func memEntries(n int) []Entry {
	es := make([]Entry, n)
	for i := range es {
		es[i] = Entry{Realtime: t0.Add(time.Duration(i) * time.Second), Message: "m" + string(rune('a'+i))}
	}
	return es
}

func collect(t *testing.T, r Reader, q Query) ([]string, string, error) {
	t.Helper()
	var got []string
	c, err := r.Read(context.Background(), q, func(e Entry) error {
		got = append(got, e.Message)
		return nil
	})
	return got, c, err
}

func TestMemoryQueries(t *testing.T) {
	m := NewMemory(memEntries(5)...)
	_, c1, _ := collect(t, m, Query{Limit: 1}) // cursor of "ma"
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"zero query reads everything", Query{}, "ma mb mc md me"},
		{"since exactly on an entry includes it", Query{Since: t0.Add(2 * time.Second)}, "mc md me"},
		{"since 1µs after an entry excludes it", Query{Since: t0.Add(2*time.Second + time.Microsecond)}, "md me"},
		{"since after the tail reads nothing", Query{Since: t0.Add(time.Hour)}, ""},
		{"limit stops early", Query{Limit: 2}, "ma mb"},
		{"cursor resumes after its entry", Query{Cursor: c1}, "mb mc md me"},
		{"cursor wins over since", Query{Cursor: c1, Since: t0.Add(4 * time.Second)}, "mb mc md me"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := collect(t, m, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Fatalf("read %q, want %q", g, tt.want)
			}
		})
	}
}

func TestMemoryCursorResumeAndDrop(t *testing.T) {
	m := NewMemory(memEntries(3)...)
	got, c, err := collect(t, m, Query{})
	if err != nil || len(got) != 3 {
		t.Fatalf("first read: %v %v", got, err)
	}
	if again, c2, _ := collect(t, m, Query{Cursor: c}); len(again) != 0 || c2 != c {
		t.Fatalf("read at the tail: %v cursor %q, want nothing and %q", again, c2, c)
	}
	m.Append(Entry{Realtime: t0.Add(10 * time.Second), Message: "new"})
	if got, _, _ := collect(t, m, Query{Cursor: c}); strings.Join(got, " ") != "new" {
		t.Fatalf("after append: %v, want [new]", got)
	}
	_, cFirst, _ := collect(t, m, Query{Limit: 1})
	m.Drop(2) // the cursor's entry and the next are gone
	if got, _, _ := collect(t, m, Query{Cursor: cFirst}); strings.Join(got, " ") != "mc new" {
		t.Fatalf("cursor of a dropped entry: %v, want the nearest later entries [mc new]", got)
	}
}

func TestMemoryErrors(t *testing.T) {
	m := NewMemory(memEntries(600)...)
	if _, _, err := collect(t, m, Query{Cursor: "s=abc;i=1"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("foreign cursor: %v, want ErrBadCursor", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	c, err := m.Read(ctx, Query{}, func(Entry) error {
		if n++; n == 300 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 300 {
		t.Errorf("cancel: err %v after %d entries", err, n)
	}
	rest, _, _ := collect(t, m, Query{Cursor: c})
	if len(rest) != 300 {
		t.Errorf("resume after cancel: %d entries, want 300", len(rest))
	}
	stop := errors.New("stop")
	c, err = m.Read(context.Background(), Query{}, func(Entry) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("fn error not returned: %v", err)
	}
	if rest, _, _ := collect(t, m, Query{Cursor: c}); len(rest) != 599 {
		t.Errorf("cursor after fn error names the entry passed: %d left, want 599", len(rest))
	}
	m.Err = ErrUnreadable
	if _, _, err := collect(t, m, Query{}); !errors.Is(err, ErrUnreadable) {
		t.Errorf("injected error: %v", err)
	}
	m.Err = nil
	m.Close()
	if _, _, err := collect(t, m, Query{}); err == nil {
		t.Error("Read after Close succeeded")
	}
}

func TestMemoryCapsMessage(t *testing.T) {
	m := NewMemory(Entry{Realtime: t0, Message: strings.Repeat("x", MaxMessage+10)})
	got, _, _ := collect(t, m, Query{})
	if len(got[0]) != MaxMessage {
		t.Fatalf("message length %d, want %d", len(got[0]), MaxMessage)
	}
}

func TestMemoryPassesBootAndMonotonicThrough(t *testing.T) {
	in := Entry{Realtime: t0, Monotonic: 90 * time.Second, BootID: "0123456789abcdef0123456789abcdef", Message: "m"}
	var got Entry
	c, err := NewMemory(in).Read(context.Background(), Query{}, func(e Entry) error { got = e; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got != in {
		t.Fatalf("read %+v, want %+v", got, in)
	}
	if !strings.Contains(c, ";b=0123456789abcdef0123456789abcdef;m=55d4a80;") {
		t.Fatalf("cursor %q lacks the b= and m= fields", c)
	}
}
