package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// Dirs returns the journal directories to read: override when it is not
// empty, else those of ROOT/var/log/journal (persistent) and
// ROOT/run/log/journal (volatile) that exist; both when neither exists, so
// that Open's error names them.
func Dirs(root hostpath.Root, override []string) []string {
	if len(override) > 0 {
		return override
	}
	all := []string{root.Path(hostpath.PersistentJournal), root.Path(hostpath.VolatileJournal)}
	var dirs []string
	for _, d := range all {
		// A dir that cannot be stat'ed (permission) is kept: Open then
		// says why, where dropping it would read as "no journal".
		if fi, err := os.Stat(d); (err == nil && fi.IsDir()) || (err != nil && !errors.Is(err, fs.ErrNotExist)) {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		return all
	}
	return dirs
}

// Offsets in the journal file header (systemd src/libsystemd/sd-journal/
// journal-def.h, struct Header; checked against files written by systemd
// 252). All integers are little-endian.
const (
	hdrSignature        = 0   // 8 bytes "LPKSHHRH"
	hdrIncompatible     = 12  // le32 incompatible_flags
	hdrHeaderSize       = 88  // le64 header_size
	hdrArenaSize        = 96  // le64 arena_size
	hdrHeadRealtime     = 184 // le64 head_entry_realtime (µs)
	hdrTailRealtime     = 192 // le64 tail_entry_realtime (µs)
	hdrMinSize          = 208 // offsetof(Header, n_data): the oldest header sd_journal accepts
	signature           = "LPKSHHRH"
	knownIncompatFlags  = 0x1f // XZ, LZ4, KEYED_HASH, ZSTD, COMPACT (systemd <= 256)
	maxDiscoveryRetries = 3
)

// fileInfo is what Open learned about one journal file: from stat at Open,
// from its header once checkFile ran.
type fileInfo struct {
	path     string
	archived bool        // name has '@': rotated away, no longer written
	mtime    time.Time   // from stat at Open
	tail     time.Time   // tail_entry_realtime, for messages only
	checked  bool        // checkFile ran: err, f and tail are set
	err      error       // nil: the file passed the checks
	f        *os.File    // open when checked and err is nil; Close closes it
	stat     os.FileInfo // to spot one file listed twice
}

// isJournalName reports whether sd_journal would pick up a file of this
// name from a directory: *.journal and *.journal~ (journald's name for a
// file it found corrupt and renamed).
func isJournalName(name string) bool {
	return strings.HasSuffix(name, ".journal") || strings.HasSuffix(name, ".journal~")
}

// isMachineID reports whether name is 32 lower- or upper-case hex digits:
// the <machine-id> subdirectories sd_journal descends into.
func isMachineID(name string) bool {
	if len(name) != 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// findFiles lists the journal files of dirs the way sd_journal_open_directory
// does: files in each dir and in its 32-hex machine-id subdirectories.
func findFiles(dirs []string) ([]string, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no journal directory given: %w", ErrNoJournal)
	}
	var missing []string
	var files []string
	for _, d := range dirs {
		fi, err := os.Stat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, d)
			continue
		case err != nil:
			return nil, fmt.Errorf("stat journal directory %q: %w: %w", d, ErrUnreadable, err)
		case !fi.IsDir():
			return nil, fmt.Errorf("journal directory %q is not a directory: %w", d, ErrNoJournal)
		}
		top, err := os.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("list journal directory %q: %w: %w", d, ErrUnreadable, err)
		}
		for _, e := range top {
			p := filepath.Join(d, e.Name())
			sub, err := isDir(p, e)
			if err != nil {
				return nil, fmt.Errorf("stat journal directory %q: %w: %w", p, ErrUnreadable, err)
			}
			if isMachineID(e.Name()) && sub {
				sub, err := os.ReadDir(p)
				if err != nil {
					return nil, fmt.Errorf("list journal directory %q: %w: %w", p, ErrUnreadable, err)
				}
				for _, s := range sub {
					if isJournalName(s.Name()) {
						files = append(files, filepath.Join(p, s.Name()))
					}
				}
				continue
			}
			if isJournalName(e.Name()) {
				files = append(files, p)
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("journal directories %s do not exist: %w", strings.Join(quoteAll(missing), ", "), ErrNoJournal)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.journal files in %s: %w", strings.Join(quoteAll(dirs), ", "), ErrNoJournal)
	}
	sort.Strings(files)
	return files, nil
}

// isDir reports whether the directory entry e at p is a directory or a
// symlink to one; only a failure other than absence is an error.
func isDir(p string, e fs.DirEntry) (bool, error) {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir(), nil
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return q
}

// checkFile opens path and checks its header: sd_journal skips unreadable,
// truncated and foreign-format files without any error, which would look
// exactly like "no kubelet lines". The returned fileInfo has err set (wrapping
// ErrUnreadable) when the file fails; a file that vanished (rotation or
// vacuuming between listing and opening) gives an fs.ErrNotExist error. A
// good file is returned open (see sdReader.checkDropped).
//
// Anything but a regular file is refused without being opened for real: a
// FIFO named *.journal would block an open(2) until a writer comes, a
// device could act on an open. The open is O_NONBLOCK besides, for a file
// swapped between the stat and the open, and fstat checks again.
func checkFile(path string) (info fileInfo) {
	info = fileInfo{path: path, archived: strings.Contains(filepath.Base(path), "@"), checked: true}
	if fi, err := os.Stat(path); err == nil {
		info.mtime = fi.ModTime()
		if !fi.Mode().IsRegular() {
			info.err = notRegular(path, fi)
			return info
		}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			info.err = err
			return info
		}
		info.err = fmt.Errorf("open journal file %q: %w: %w", path, ErrUnreadable, err)
		return info
	}
	defer func() {
		if info.err != nil {
			f.Close()
		} else {
			info.f = f
		}
	}()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		info.err = notRegular(path, fi)
		return info
	}
	var h [hdrMinSize]byte
	n, err := io.ReadFull(f, h[:])
	if err != nil {
		info.err = fmt.Errorf("read journal file header %q (%d bytes): %w: %w: %w", path, n, ErrUnreadable, ErrDamaged, err)
		return info
	}
	if string(h[hdrSignature:hdrSignature+8]) != signature {
		info.err = fmt.Errorf("journal file %q: bad signature %q: %w: %w", path, h[:8], ErrUnreadable, ErrDamaged)
		return info
	}
	le := binary.LittleEndian
	// The header is readable from here on: record the tail so that a bad
	// old archive can be told apart from a bad file in the query window.
	if rt := le.Uint64(h[hdrTailRealtime:]); rt > 0 && rt < 1<<62 {
		info.tail = time.UnixMicro(int64(rt))
	}
	headerSize := le.Uint64(h[hdrHeaderSize:])
	arenaSize := le.Uint64(h[hdrArenaSize:])
	if headerSize < hdrMinSize {
		info.err = fmt.Errorf("journal file %q: header size %d below %d: %w: %w", path, headerSize, hdrMinSize, ErrUnreadable, ErrDamaged)
		return info
	}
	if flags := le.Uint32(h[hdrIncompatible:]); flags&^knownIncompatFlags != 0 {
		info.err = fmt.Errorf("journal file %q: unknown incompatible flags %#x (written by a newer systemd): %w", path, flags, ErrUnreadable)
		return info
	}
	// Stat after reading the header: journald grows the file before it
	// raises arena_size, so a live file never looks truncated this way.
	fi, err := f.Stat()
	if err != nil {
		info.err = fmt.Errorf("stat journal file %q: %w: %w", path, ErrUnreadable, err)
		return info
	}
	info.stat = fi
	size := uint64(fi.Size())
	if arenaSize > size || headerSize > size-arenaSize {
		info.err = fmt.Errorf("journal file %q is truncated: %d bytes, header says %d+%d: %w: %w", path, size, headerSize, arenaSize, ErrUnreadable, ErrDamaged)
		return info
	}
	return info
}

// scan finds the journal files of dirs, checks the active ones (checkFile)
// and stats the archives, whose headers Read checks only when a query
// needs them: on a cold page cache each header costs a disk read, and a
// node keeps thousands of archives. Files that vanish while being checked
// make it list the directories again, since journald renames
// system.journal on rotation. ctx bounds the whole scan.
func scan(ctx context.Context, dirs []string) ([]fileInfo, error) {
	for attempt := 1; ; attempt++ {
		paths, err := findFiles(dirs)
		if err != nil {
			return nil, err
		}
		infos := make([]fileInfo, 0, len(paths))
		ids := make(map[fileID]bool, len(paths))
		vanished := false
		for n, p := range paths {
			if err := ctx.Err(); err != nil {
				closeFiles(infos)
				return nil, fmt.Errorf("open journal: %d of %d files in %s looked at before the deadline: %w",
					n, len(paths), strings.Join(quoteAll(dirs), ", "), err)
			}
			var info fileInfo
			if strings.Contains(filepath.Base(p), "@") {
				info = statFile(p)
			} else {
				info = checkFile(p)
			}
			if errors.Is(info.err, fs.ErrNotExist) && !errors.Is(info.err, ErrUnreadable) {
				vanished = true
				break
			}
			if id, ok := idOf(info.stat); ok {
				if ids[id] {
					if info.f != nil {
						info.f.Close()
					}
					continue
				}
				ids[id] = true
			}
			infos = append(infos, info)
		}
		if !vanished {
			return infos, nil
		}
		closeFiles(infos)
		if attempt == maxDiscoveryRetries {
			return nil, fmt.Errorf("journal files in %s keep vanishing while being opened: %w", strings.Join(quoteAll(dirs), ", "), ErrUnreadable)
		}
	}
}

// statFile learns an archive's mtime without opening it; anything but a
// regular file is marked bad (see checkFile).
func statFile(path string) fileInfo {
	info := fileInfo{path: path, archived: true}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		info.err = err
	case err != nil:
		info.err, info.checked = fmt.Errorf("stat journal file %q: %w: %w", path, ErrUnreadable, err), true
	case !fi.Mode().IsRegular():
		info.err, info.checked, info.mtime = notRegular(path, fi), true, fi.ModTime()
	default:
		info.mtime, info.stat = fi.ModTime(), fi
	}
	return info
}

func notRegular(path string, fi os.FileInfo) error {
	return fmt.Errorf("journal file %q (%s): %w: %w", path, fi.Mode().Type(), ErrNotRegular, ErrUnreadable)
}

// fileID is a file's identity: one file reached under two names (a dir
// given twice, a dir and its machine-id subdir, a symlink) must be read
// once, or its entries come twice.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) (fileID, bool) {
	if fi == nil {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

// cursorRealtime returns the realtime (t=) field of an sd_journal cursor,
// zero when it has none.
func cursorRealtime(cursor string) time.Time {
	for _, part := range strings.Split(cursor, ";") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			if us, err := strconv.ParseUint(v, 16, 64); err == nil && us > 0 && us < 1<<62 {
				return time.UnixMicro(int64(us))
			}
		}
	}
	return time.Time{}
}

// closeFiles closes the files that checkFile left open.
func closeFiles(infos []fileInfo) {
	for _, i := range infos {
		if i.f != nil {
			i.f.Close()
		}
	}
}
