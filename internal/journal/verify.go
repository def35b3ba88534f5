package journal

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
	"unsafe"
)

// sd_journal does not check data objects' hashes when it reads: MESSAGE
// bytes damaged in place come back as another message, with no error (a
// failure would read as a different failure, or as none). dataIndex checks
// what Read passes on: the payload's hash must name a data object in the
// file's data hash table, which is what journald itself looks up before it
// stores a field. Damage to the payload, to the object's stored hash, to the
// bucket or to the chain all make the look-up fail.

// Offsets in the header and in objects (journal-def.h).
const (
	hdrFileID         = 24  // sd_id128 file_id: the SipHash key
	hdrDataHashOffset = 104 // le64 data_hash_table_offset (of the items)
	hdrDataHashSize   = 112 // le64 data_hash_table_size (bytes)
	flagKeyedHash     = 0x4
	objectData        = 1
	objDataHash       = 16 // le64 hash in a data object
	objDataNextHash   = 24 // le64 next_hash_offset
	hashItemSize      = 16 // le64 head_hash_offset, le64 tail_hash_offset
	// maxChain bounds a walk along a hash chain: a damaged next pointer can
	// make a loop. Chains are short (the table is sized for the file).
	maxChain = 1 << 16
)

// dataIndex looks data objects up by hash in one journal file, through a
// read-only mapping of it.
type dataIndex struct {
	f      *os.File
	keyed  bool
	key    [16]byte
	htOff  uint64
	htSize uint64
	mem    []byte
}

// newDataIndex maps f (a checked journal file) and reads what a look-up
// needs from its header.
func newDataIndex(f *os.File) (*dataIndex, error) {
	d := &dataIndex{f: f}
	if err := d.remap(); err != nil {
		return nil, err
	}
	if len(d.mem) < hdrMinSize {
		d.close()
		return nil, fmt.Errorf("journal file %q: %d bytes, shorter than a header: %w: %w", f.Name(), len(d.mem), ErrUnreadable, ErrDamaged)
	}
	le := binary.LittleEndian
	d.keyed = le.Uint32(d.mem[hdrIncompatible:])&flagKeyedHash != 0
	copy(d.key[:], d.mem[hdrFileID:hdrFileID+16])
	d.htOff = le.Uint64(d.mem[hdrDataHashOffset:])
	d.htSize = le.Uint64(d.mem[hdrDataHashSize:])
	if d.htSize < hashItemSize || d.htOff > uint64(len(d.mem)) || d.htSize > uint64(len(d.mem))-d.htOff {
		d.close()
		return nil, fmt.Errorf("journal file %q: data hash table at %d+%d outside the file: %w: %w", f.Name(), d.htOff, d.htSize, ErrUnreadable, ErrDamaged)
	}
	return d, nil
}

// remap maps the file as long as it is now: journald appends to an active
// file while we read it.
func (d *dataIndex) remap() error {
	fi, err := d.f.Stat()
	if err != nil {
		return fmt.Errorf("stat journal file %q: %w: %w", d.f.Name(), ErrUnreadable, err)
	}
	size := fi.Size()
	if size <= int64(len(d.mem)) {
		return nil
	}
	mem, err := syscall.Mmap(int(d.f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map journal file %q: %w: %w", d.f.Name(), ErrUnreadable, err)
	}
	d.close()
	d.mem = mem
	return nil
}

func (d *dataIndex) close() {
	if d.mem != nil {
		syscall.Munmap(d.mem)
		d.mem = nil
	}
}

// errDamaged marks a look-up that met something no intact file holds.
var errDamaged = fmt.Errorf("damaged data hash table: %w: %w", ErrUnreadable, ErrDamaged)

// has reports whether the file holds a data object whose hash is that of
// payload ("FIELD=value"). A fault on the mapping (the file truncated under
// us) is an error, not a crash.
func (d *dataIndex) has(payload string) (found bool, err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			found, err = false, fmt.Errorf("journal file %q: fault reading its mapping (truncated?): %v: %w: %w", d.f.Name(), r, ErrUnreadable, ErrDamaged)
		}
	}()
	b := unsafe.Slice(unsafe.StringData(payload), len(payload))
	var h uint64
	if d.keyed {
		h = siphash24(b, &d.key)
	} else {
		h = jenkinsHash64(b)
	}
	le := binary.LittleEndian
	p := d.htOff + h%(d.htSize/hashItemSize)*hashItemSize
	if p+8 > uint64(len(d.mem)) {
		return false, fmt.Errorf("journal file %q: %w", d.f.Name(), errDamaged)
	}
	p = le.Uint64(d.mem[p:])
	for steps := 0; p != 0; steps++ {
		if steps == maxChain || p%8 != 0 {
			return false, fmt.Errorf("journal file %q: %w: bad chain at %d", d.f.Name(), errDamaged, p)
		}
		if p+objDataNextHash+8 > uint64(len(d.mem)) {
			if err := d.remap(); err != nil {
				return false, err
			}
			if p+objDataNextHash+8 > uint64(len(d.mem)) {
				return false, fmt.Errorf("journal file %q: %w: object at %d past the end", d.f.Name(), errDamaged, p)
			}
		}
		if d.mem[p] != objectData {
			return false, fmt.Errorf("journal file %q: %w: object at %d has type %d", d.f.Name(), errDamaged, p, d.mem[p])
		}
		if le.Uint64(d.mem[p+objDataHash:]) == h {
			return true, nil
		}
		p = le.Uint64(d.mem[p+objDataNextHash:])
	}
	return false, nil
}
