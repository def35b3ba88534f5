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
// failure would read as a different failure, or as none). Read checks each
// payload it passes on against the hash journald computed when it stored
// the field:
//
//   - in place: sd_journal_get_data returns a pointer into its mapping of
//     the data object, just past the object's header; for an uncompressed
//     object that header holds the stored hash. Hashing the payload and
//     comparing costs a hash and no page fault (sd_journal has just read
//     that header), about 130 ns for a kubelet line.
//   - else through the file's data hash table (dataIndex.has): the payload's
//     hash must name a data object there, which is what journald itself
//     looks up before it stores a field. Compressed objects, payloads read
//     through go-systemd and every payload the in-place check refuses come
//     here, so that damage is always judged by the table: damage to the
//     payload, to the object's stored hash, to the bucket or to the chain
//     all make the look-up fail. The file is mapped on the first look-up
//     only. (Every payload through the table cost a cold 24-hour check
//     +10 to 14 % CPU, mostly page faults and cache misses of the table.)

// Offsets in the header and in objects (journal-def.h).
const (
	hdrFileID         = 24  // sd_id128 file_id: the SipHash key
	hdrDataHashOffset = 104 // le64 data_hash_table_offset (of the items)
	hdrDataHashSize   = 112 // le64 data_hash_table_size (bytes)
	flagKeyedHash     = 0x4
	hdrReadSize       = 120 // the header up to the data hash table's size
	flagCompact       = 0x10
	objectData        = 1
	objCompressedMask = 0x7 // XZ, LZ4, ZSTD
	objSize           = 8   // le64 size of an object, header included
	objDataHash       = 16  // le64 hash in a data object
	objDataNextHash   = 24  // le64 next_hash_offset
	hashItemSize      = 16  // le64 head_hash_offset, le64 tail_hash_offset
	// payloadRegular and payloadCompact are offsetof(DataObject, payload)
	// in regular and compact files (journal-def.h).
	payloadRegular = 64
	payloadCompact = 72
	// maxChain bounds a walk along a hash chain: a damaged next pointer can
	// make a loop. Chains are short (the table is sized for the file).
	maxChain = 1 << 16
)

// dataIndex verifies payloads of one journal file: in place from the
// object sd_journal read, or by a look-up in the file's data hash table
// through a read-only mapping made on first use.
type dataIndex struct {
	f          *os.File
	keyed      bool
	key        [16]byte
	payloadOff uintptr // payloadRegular or payloadCompact
	htOff      uint64
	htSize     uint64
	mem        []byte // nil until the first look-up
}

// newDataIndex reads what verifying needs from the header of f (a checked
// journal file).
func newDataIndex(f *os.File) (*dataIndex, error) {
	var h [hdrReadSize]byte
	if n, err := f.ReadAt(h[:], 0); n < len(h) {
		return nil, fmt.Errorf("read journal file header %q (%d bytes): %w: %w: %v", f.Name(), n, ErrUnreadable, ErrDamaged, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat journal file %q: %w: %w", f.Name(), ErrUnreadable, err)
	}
	le := binary.LittleEndian
	flags := le.Uint32(h[hdrIncompatible:])
	d := &dataIndex{f: f, keyed: flags&flagKeyedHash != 0, payloadOff: payloadRegular,
		htOff: le.Uint64(h[hdrDataHashOffset:]), htSize: le.Uint64(h[hdrDataHashSize:])}
	if flags&flagCompact != 0 {
		d.payloadOff = payloadCompact
	}
	copy(d.key[:], h[hdrFileID:hdrFileID+16])
	size := uint64(fi.Size())
	if d.htSize < hashItemSize || d.htOff > size || d.htSize > size-d.htOff {
		return nil, fmt.Errorf("journal file %q: data hash table at %d+%d outside the file: %w: %w", f.Name(), d.htOff, d.htSize, ErrUnreadable, ErrDamaged)
	}
	return d, nil
}

// hash is the file's hash of a payload ("FIELD=value").
func (d *dataIndex) hash(b []byte) uint64 {
	if d.keyed {
		return siphash24(b, &d.key)
	}
	return jenkinsHash64(b)
}

// inPlace reports whether the data object header before at (where
// sd_journal_get_data found payload) is that of an uncompressed object of
// this file holding exactly payload. A pointer into a decompression buffer
// has no such header: false, and a fault reading before it is caught.
func (d *dataIndex) inPlace(payload []byte, at unsafe.Pointer) (ok bool) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if recover() != nil {
			ok = false
		}
	}()
	h := unsafe.Slice((*byte)(unsafe.Add(at, -int(d.payloadOff))), objDataHash+8)
	le := binary.LittleEndian
	return h[0] == objectData && h[1]&objCompressedMask == 0 &&
		le.Uint64(h[objSize:]) == uint64(d.payloadOff)+uint64(len(payload)) &&
		le.Uint64(h[objDataHash:]) == d.hash(payload)
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
	if d.mem == nil {
		if err := d.remap(); err != nil {
			return false, err
		}
	}
	h := d.hash(unsafe.Slice(unsafe.StringData(payload), len(payload)))
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
