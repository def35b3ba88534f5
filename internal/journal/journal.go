// Package journal reads the kubelet's entries from systemd journal files.
//
// The Reader interface keeps everything else compilable and testable without
// cgo; the sd_journal implementation (go-systemd's sdjournal, which dlopens
// libsystemd.so.0 at run time) lives behind the cgo build constraint.
package journal

import (
	"context"
	"errors"
	"time"
)

// Entry is one journal entry: what the classifier needs, and the fields
// that order it independently of the wall clock.
//
// BootID and Monotonic come from the entry object's header, which journald
// fills itself (from the kernel's boot id and CLOCK_MONOTONIC when it
// receives the entry); a client cannot set them, unlike MESSAGE. Within one
// BootID, Monotonic orders entries even when the wall clock steps; across
// boots it means nothing.
type Entry struct {
	Realtime  time.Time     // __REALTIME_TIMESTAMP
	Monotonic time.Duration // __MONOTONIC_TIMESTAMP: time since boot (µs precision)
	BootID    string        // _BOOT_ID: 32 lower-case hex digits
	Message   string        // MESSAGE, capped at MaxMessage bytes
}

// MaxMessage caps one MESSAGE; longer values are cut (a kubelet line that
// long is a dump, not a diagnosis).
const MaxMessage = 64 << 10

// Match selects the kubelet's entries by fields journald sets itself from
// the sender's kernel credentials and cgroup, which a logging client cannot
// forge (journald drops client fields starting with '_'). MESSAGE,
// SYSLOG_IDENTIFIER and UNIT are the client's own words: anyone can run
// `logger -t kubelet "Successfully registered node"`. An entry matches when
//
//   - its _SYSTEMD_UNIT is one of Units: journald derives it from the
//     sender's cgroup, which only root (systemd) places a process in; a
//     user's own units show as _SYSTEMD_USER_UNIT under user@UID.service;
//   - or it is systemd's own entry about one of Units ("Main process
//     exited", "Scheduled restart job"): UNIT=<unit> with _PID=1 and _UID=0;
//   - or, when Identifiers are given (none by default), its
//     SYSLOG_IDENTIFIER is one of them and it was sent by one of
//     IdentifierUIDs (_UID, default root only): a kubelet run outside a
//     unit of its own (a container, a script), whose identifier alone would
//     let any local user speak for it. Lines written to /dev/kmsg (root
//     only) carry no _UID and audit records no SYSLOG_IDENTIFIER, so
//     neither can pass this. It is not on by default: a kubelet run as a
//     unit is matched by its unit already, and sd_journal evaluates an AND
//     with _UID=0 (a field most entries have) at every step of every read
//     (measured: +650 ns per entry read, +36 %).
//
// Packagings that run the kubelet elsewhere set Units: k3s
// (k3s.service, k3s-agent.service), MicroK8s (snap.microk8s.daemon-kubelite
// .service); rke2 writes the kubelet's log to a file, not the journal. A
// rootless kubelet logging by identifier sets IdentifierUIDs to its user.
type Match struct {
	Units       []string // default: kubelet.service
	Identifiers []string // default: none
	// IdentifierUIDs are the _UID values whose Identifiers entries count
	// (default: 0, root). Entries matched by unit need no uid.
	IdentifierUIDs []string
}

// DefaultMatch is the match for a kubelet run by systemd as
// kubelet.service. A kubelet that logs as root under the identifier kubelet
// outside that unit needs Identifiers: []string{"kubelet"}.
func DefaultMatch() Match {
	return Match{Units: []string{"kubelet.service"}, IdentifierUIDs: []string{"0"}}
}

// Query says where to start reading.
type Query struct {
	// Cursor resumes after the entry it names. When the entry is gone (the
	// file was rotated away) reading starts at the nearest later entry; an
	// invalid cursor is an error wrapping ErrBadCursor.
	Cursor string
	// Since is used when Cursor is empty: the first entry read is the first
	// at or after Since.
	Since time.Time
	// Limit stops after this many entries (0: no limit); the returned cursor
	// then names the last entry read, so the next Read resumes there.
	Limit int
}

// Reader reads matching entries in time order.
type Reader interface {
	// Read calls fn for each matching entry of q, in order, until the end of
	// the journal, q.Limit, ctx is done or fn returns an error. It returns the
	// cursor of the last entry passed to fn (q.Cursor when there was none).
	Read(ctx context.Context, q Query, fn func(Entry) error) (cursor string, err error)
	Close() error
}

// Errors callers tell apart. "Cannot read the journal" must never look like
// "no kubelet lines": every failure to open or read is an error.
var (
	ErrNoJournal  = errors.New("no journal files")
	ErrBadCursor  = errors.New("invalid journal cursor")
	ErrNoLibrary  = errors.New("libsystemd.so.0 not loadable")
	ErrUnreadable = errors.New("journal file unreadable")
	// ErrDamaged and ErrNotRegular say why a file is unreadable; errors
	// that wrap them wrap ErrUnreadable too. Running out of descriptors
	// wraps syscall.EMFILE (or ENFILE) and ErrUnreadable.
	ErrDamaged    = errors.New("journal file damaged")
	ErrNotRegular = errors.New("not a regular file")
)
