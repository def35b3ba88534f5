// Package journalexport makes real systemd journal files without journald: it
// writes entries in the Journal Export Format
// (https://systemd.io/JOURNAL_EXPORT_FORMATS/) into the standard input of
// systemd-journal-remote, which stores them, trusted "_" fields and
// timestamps included, exactly as given.
//
// It is meant for tests, demos and benchmark generators; it needs the
// systemd-journal-remote binary (Debian package systemd-journal-remote) but
// no cgo and no journald.
package journalexport

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Entry is one journal entry to write.
type Entry struct {
	Time       time.Time // __REALTIME_TIMESTAMP (µs precision); required
	Message    string    // MESSAGE; may contain '\n' and other binary bytes
	Unit       string    // _SYSTEMD_UNIT (empty: not written)
	Identifier string    // SYSLOG_IDENTIFIER (empty: not written)
	PID        int       // _PID (0: not written)
	// AboutUnit is UNIT=: the unit a systemd (PID 1) message is about.
	AboutUnit string
	// BootID overrides the writer's _BOOT_ID (32 lower-case hex digits).
	BootID string
	// Monotonic overrides __MONOTONIC_TIMESTAMP (time since boot; zero: Time
	// - Writer.BootStart): with it a test writes a wall clock that steps
	// while the monotonic clock runs on.
	Monotonic time.Duration
	// Fields are extra fields (upper-case names), written in name order;
	// a name given here replaces the writer's default for it (_HOSTNAME,
	// _TRANSPORT, _UID, PRIORITY, _MACHINE_ID).
	Fields map[string]string
}

// KubeletPID is the _PID of the entries made by Kubelet.
const KubeletPID = 4242

// Kubelet returns an entry logged by a kubelet run as kubelet.service.
func Kubelet(t time.Time, msg string) Entry {
	return Entry{Time: t, Message: msg, Unit: "kubelet.service", Identifier: "kubelet", PID: KubeletPID}
}

// Systemd returns systemd's own (PID 1) entry about unit, e.g.
// "kubelet.service: Main process exited, code=exited, status=1/FAILURE".
func Systemd(t time.Time, unit, msg string) Entry {
	return Entry{Time: t, Message: msg, Unit: "init.scope", Identifier: "systemd", PID: 1, AboutUnit: unit}
}

// Logger returns what `logger -t ident msg` run by uid in a login session
// makes: the identifier is the client's to choose, _UID and _SYSTEMD_UNIT
// are journald's.
func Logger(t time.Time, uid int, ident, msg string) Entry {
	return Entry{Time: t, Message: msg, Unit: "session-1.scope", Identifier: ident, PID: 31337,
		Fields: map[string]string{"_UID": strconv.Itoa(uid), "_GID": strconv.Itoa(uid), "_TRANSPORT": "syslog", "_COMM": "logger"}}
}

// Unit returns an entry logged by another service (PID 1000).
func Unit(t time.Time, unit, ident, msg string) Entry {
	return Entry{Time: t, Message: msg, Unit: unit, Identifier: ident, PID: 1000}
}

// RemoteCandidates are the places systemd-journal-remote is looked for, in
// order (Debian ships it in /lib/systemd; merged-/usr systems also have it
// under /usr/lib/systemd).
var RemoteCandidates = []string{"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"}

// Available returns nil when systemd-journal-remote can be run.
func Available() error {
	_, err := remotePath()
	return err
}

func remotePath() (string, error) {
	for _, p := range RemoteCandidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("systemd-journal-remote not found in %v (install the Debian package systemd-journal-remote)", RemoteCandidates)
}

// MachineID is the _MACHINE_ID written into every entry.
const MachineID = "3d1219c7c4c5404aaa1f6d2a48adfda4"

var (
	bootOnce sync.Once
	bootID   string
)

// ProcessBootID is the _BOOT_ID used when neither the Writer nor the Entry
// gives one: random, fixed for the life of the process, so that everything a
// test writes looks like one boot.
func ProcessBootID() string {
	bootOnce.Do(func() {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			// crypto/rand does not fail on Linux; a constant keeps us going.
			bootID = "0123456789abcdef0123456789abcdef"
			return
		}
		bootID = hex.EncodeToString(b[:])
	})
	return bootID
}

// Writer streams entries into one journal file through
// systemd-journal-remote. Entries must be written in strictly increasing
// Time order: journal-remote accepts anything, but sd_journal's realtime
// seeks bisect on the assumption of order, so an out-of-order journal reads
// wrongly. Not safe for concurrent use.
type Writer struct {
	// BootID is the _BOOT_ID of entries that do not give one (default
	// ProcessBootID()). Set before the first Write.
	BootID string
	// BootStart is the boot's start: __MONOTONIC_TIMESTAMP is Time -
	// BootStart (clamped at 0). Zero means the Unix epoch, so monotonic
	// equals realtime, which keeps entries of one boot ordered the same way
	// by both clocks across files and runs. Set before the first Write.
	BootStart time.Time
	// Hostname is the default _HOSTNAME (default "node").
	Hostname string

	file   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	bw     *bufio.Writer
	stderr *tailBuffer
	buf    []byte
	keys   []string
	n      int
	err    error
	closed bool
}

// NewWriter starts systemd-journal-remote appending to journalFile (which
// must end in ".journal"; parent directories are created). Re-running on
// the same file appends to it. Call Close to finish the file.
func NewWriter(journalFile string) (*Writer, error) {
	if !strings.HasSuffix(journalFile, ".journal") {
		return nil, fmt.Errorf("journal file %q: name must end in .journal", journalFile)
	}
	bin, err := remotePath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(journalFile), 0o755); err != nil {
		return nil, fmt.Errorf("create journal directory: %w", err)
	}
	w := &Writer{file: journalFile, stderr: &tailBuffer{max: 8 << 10}, buf: make([]byte, 0, 64)}
	w.cmd = exec.Command(bin, "--output="+journalFile, "-")
	w.cmd.Stdout = w.stderr
	w.cmd.Stderr = w.stderr
	stdin, err := w.cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("pipe to systemd-journal-remote: %w", err)
	}
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start systemd-journal-remote: %w", err)
	}
	w.stdin = stdin
	w.bw = bufio.NewWriterSize(stdin, 256<<10)
	return w, nil
}

// Write queues one entry. After an error every later Write returns it.
func (w *Writer) Write(e Entry) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("write journal entry: writer closed")
	}
	if e.Time.IsZero() {
		w.err = fmt.Errorf("write journal entry %d: zero Time", w.n)
		return w.err
	}
	for k := range e.Fields {
		if !validField(k) {
			w.err = fmt.Errorf("write journal entry %d: invalid field name %q", w.n, k)
			return w.err
		}
	}
	rt := e.Time.UnixMicro()
	mono := rt - w.BootStart.UnixMicro()
	if w.BootStart.IsZero() {
		mono = rt
	}
	if e.Monotonic > 0 {
		mono = e.Monotonic.Microseconds()
	}
	if mono < 0 {
		mono = 0
	}
	w.num("__REALTIME_TIMESTAMP", rt)
	w.num("__MONOTONIC_TIMESTAMP", mono)
	boot := e.BootID
	if boot == "" {
		boot = w.BootID
	}
	if boot == "" {
		boot = ProcessBootID()
	}
	w.field("_BOOT_ID", boot)
	w.dflt(e, "_MACHINE_ID", MachineID)
	host := w.Hostname
	if host == "" {
		host = "node"
	}
	w.dflt(e, "_HOSTNAME", host)
	w.dflt(e, "_TRANSPORT", "stdout")
	if e.Fields["_TRANSPORT"] != "kernel" {
		// journald sets no _UID on /dev/kmsg records.
		w.dflt(e, "_UID", "0")
	}
	w.dflt(e, "PRIORITY", "6")
	if e.PID != 0 {
		w.num("_PID", int64(e.PID))
	}
	if e.Unit != "" {
		w.field("_SYSTEMD_UNIT", e.Unit)
	}
	if e.Identifier != "" {
		w.field("SYSLOG_IDENTIFIER", e.Identifier)
	}
	if e.AboutUnit != "" {
		w.field("UNIT", e.AboutUnit)
	}
	if len(e.Fields) > 0 {
		// Sorted so that the same input makes the same file.
		w.keys = w.keys[:0]
		for k := range e.Fields {
			w.keys = append(w.keys, k)
		}
		sort.Strings(w.keys)
		for _, k := range w.keys {
			w.field(k, e.Fields[k])
		}
	}
	w.field("MESSAGE", e.Message)
	if err := w.bw.WriteByte('\n'); err != nil {
		w.err = w.pipeErr(err)
		return w.err
	}
	w.n++
	return nil
}

// dflt writes a writer default unless the entry's Fields give the field.
func (w *Writer) dflt(e Entry, name, value string) {
	if _, ok := e.Fields[name]; ok {
		return
	}
	w.field(name, value)
}

func (w *Writer) num(name string, v int64) {
	w.buf = append(w.buf[:0], name...)
	w.buf = append(w.buf, '=')
	w.buf = strconv.AppendInt(w.buf, v, 10)
	w.buf = append(w.buf, '\n')
	w.bw.Write(w.buf) // a write error sticks in bufio.Writer; seen at the entry's end
}

// field writes NAME=value, or the binary-safe form (NAME\n, le64 length,
// bytes, \n) when the value has control bytes: a '\n' would end the field
// early in the text form.
func (w *Writer) field(name, value string) {
	if needsBinary(value) {
		w.bw.WriteString(name)
		w.bw.WriteByte('\n')
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(value)))
		w.bw.Write(n[:])
		w.bw.WriteString(value)
		w.bw.WriteByte('\n')
		return
	}
	w.bw.WriteString(name)
	w.bw.WriteByte('=')
	w.bw.WriteString(value)
	w.bw.WriteByte('\n')
}

func needsBinary(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' {
			return true
		}
	}
	return false
}

// validField follows journald's rule for field names: upper-case letters,
// digits and '_', not starting with a digit, at most 64 bytes.
func validField(k string) bool {
	if k == "" || len(k) > 64 || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Flush hands the queued entries to systemd-journal-remote now, which
// writes them to the file as they arrive: a way to make a live (ONLINE)
// journal file for tests of readers that follow one.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("flush journal writer: writer closed")
	}
	if err := w.bw.Flush(); err != nil {
		w.err = w.pipeErr(err)
	}
	return w.err
}

// Count returns the number of entries written so far.
func (w *Writer) Count() int { return w.n }

// Close flushes the entries and waits for systemd-journal-remote to finish
// the file. It returns the first error seen, with journal-remote's output.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = w.pipeErr(err)
		}
	}
	cerr := w.stdin.Close()
	werr := w.cmd.Wait()
	switch {
	case w.err != nil:
	case werr != nil:
		w.err = fmt.Errorf("systemd-journal-remote --output=%s: %w: %s", w.file, werr, w.stderr.String())
	case cerr != nil:
		w.err = fmt.Errorf("close pipe to systemd-journal-remote: %w", cerr)
	}
	return w.err
}

// pipeErr explains a failed write: usually journal-remote exited early, and
// its own output says why.
func (w *Writer) pipeErr(err error) error {
	w.stdin.Close()
	werr := w.cmd.Wait()
	w.closed = true
	return fmt.Errorf("write to systemd-journal-remote --output=%s: %w (exit: %v): %s", w.file, err, werr, w.stderr.String())
}

// Append writes entries (in increasing Time order) to journalFile and
// finishes it.
func Append(journalFile string, entries []Entry) error {
	i := 0
	return AppendFunc(journalFile, func() (Entry, bool) {
		if i >= len(entries) {
			return Entry{}, false
		}
		i++
		return entries[i-1], true
	})
}

// AppendFunc streams the entries that next yields (until it returns false)
// to journalFile and finishes it; for generators of millions of entries.
func AppendFunc(journalFile string, next func() (Entry, bool)) error {
	w, err := NewWriter(journalFile)
	if err != nil {
		return err
	}
	for {
		e, ok := next()
		if !ok {
			break
		}
		if err := w.Write(e); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// tailBuffer keeps the last max bytes written to it: journal-remote's
// diagnostics for error messages, bounded however much it prints.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// Header offsets used by Archive (systemd journal-def.h, struct Header).
const (
	hdrSeqnumID     = 72  // sd_id128
	hdrHeadSeqnum   = 168 // le64
	hdrHeadRealtime = 184 // le64
	hdrTailRealtime = 192 // le64
)

// Archive renames a finished journal file the way journald's rotation does,
// system@<seqnum_id>-<head_seqnum>-<head_realtime>.journal in the same
// directory, and sets its mtime a second after its last entry, as the
// rotation's final header write leaves it. It returns the new path.
func Archive(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	var h [hdrTailRealtime + 8]byte
	_, err = io.ReadFull(f, h[:])
	f.Close()
	if err != nil {
		return "", fmt.Errorf("read journal header of %q: %w", file, err)
	}
	le := binary.LittleEndian
	to := filepath.Join(filepath.Dir(file), fmt.Sprintf("system@%s-%016x-%016x.journal",
		hex.EncodeToString(h[hdrSeqnumID:hdrSeqnumID+16]), le.Uint64(h[hdrHeadSeqnum:]), le.Uint64(h[hdrHeadRealtime:])))
	if err := os.Rename(file, to); err != nil {
		return "", err
	}
	mtime := time.UnixMicro(int64(le.Uint64(h[hdrTailRealtime:]))).Add(time.Second)
	return to, os.Chtimes(to, mtime, mtime)
}

// SparseCopy copies a journal file to new files (each must not exist),
// leaving holes where the source has zero blocks: journald preallocates
// 8 MiB per file, and a test that needs thousands of archives needs them
// small on disk. The source is read once.
func SparseCopy(from string, to ...string) error {
	src, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	for _, t := range to {
		if err := sparseWrite(src, t); err != nil {
			return err
		}
	}
	return nil
}

func sparseWrite(src []byte, to string) error {
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	const block = 4096
	var zero [block]byte
	for off := 0; off < len(src); off += block {
		end := min(off+block, len(src))
		if bytes.Equal(src[off:end], zero[:end-off]) {
			continue
		}
		if _, err := dst.WriteAt(src[off:end], int64(off)); err != nil {
			dst.Close()
			return err
		}
	}
	if err := dst.Truncate(int64(len(src))); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
