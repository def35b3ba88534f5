//go:build cgo

package journal

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

typedef int (*kd_realtime_fn)(void *j, uint64_t *usec);
typedef int (*kd_monotonic_fn)(void *j, uint64_t *usec, uint8_t *boot_id);
typedef int (*kd_data_fn)(void *j, const char *field, const void **data, size_t *length);

// kd_entry reads the current entry's realtime, monotonic time and boot id
// (sd_id128_t is 16 bytes, passed by address) and then its MESSAGE in one
// call into C. get_data comes last: the pointer it returns is into
// sd_journal's memory and valid only until the next sd_journal call.
// *msg_r is get_data's result (-ENOENT: the entry has no MESSAGE).
static int kd_entry(void *rt, void *mono, void *data, void *j, uint64_t *realtime, uint64_t *monotonic,
		uint8_t *boot, const void **msg, size_t *len, int *msg_r) {
	int r = ((kd_realtime_fn)rt)(j, realtime);
	if (r < 0)
		return r;
	r = ((kd_monotonic_fn)mono)(j, monotonic, boot);
	if (r < 0)
		return r;
	*msg_r = ((kd_data_fn)data)(j, "MESSAGE", msg, len);
	return 0;
}

// kd_sym finds a symbol of the libsystemd go-systemd already loaded: the
// handle comes from dlopen with RTLD_NOLOAD, so nothing new is loaded.
static void *kd_sym(const char *lib, const char *name) {
	void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	if (h == NULL)
		return NULL;
	void *f = dlsym(h, name);
	dlclose(h); // go-systemd keeps its own reference
	return f;
}
*/
import "C"

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"syscall"
	"time"
	"unsafe"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

// fastEntry reads an entry's stamps and MESSAGE with one cgo call instead
// of four: go-systemd's GetMonotonicUsec drops the boot id that
// sd_journal_get_monotonic_usec returns, so the boot id would cost a
// GetData("_BOOT_ID") (measured: realtime + monotonic + _BOOT_ID through
// go-systemd 490 ns per entry, one call about 100), and go-systemd's
// GetData hides where sd_journal keeps the payload, which lets Read verify
// it in place (see inPlace). It needs go-systemd's sd_journal pointer, an
// unexported field found by name; when that or a symbol is missing,
// newFastEntry returns nil and Read uses go-systemd's methods.
type fastEntry struct {
	j              unsafe.Pointer // sd_journal *
	rt, mono, data unsafe.Pointer
	lastRaw        [16]byte
	last           string
}

var entrySyms struct {
	rt, mono, data unsafe.Pointer
}

func newFastEntry(j *sdjournal.Journal) *fastEntry {
	v := reflect.ValueOf(j).Elem().FieldByName("cjournal")
	if !v.IsValid() || v.Kind() != reflect.Pointer {
		return nil
	}
	p := v.UnsafePointer()
	if p == nil {
		return nil
	}
	if entrySyms.rt == nil {
		for _, lib := range []string{"libsystemd.so.0", "libsystemd.so"} {
			rt, mono, data := sym(lib, "sd_journal_get_realtime_usec"), sym(lib, "sd_journal_get_monotonic_usec"),
				sym(lib, "sd_journal_get_data")
			if rt != nil && mono != nil && data != nil {
				entrySyms.rt, entrySyms.mono, entrySyms.data = rt, mono, data
				break
			}
		}
	}
	if entrySyms.rt == nil {
		return nil
	}
	return &fastEntry{j: p, rt: entrySyms.rt, mono: entrySyms.mono, data: entrySyms.data}
}

func sym(lib, name string) unsafe.Pointer {
	clib, cname := C.CString(lib), C.CString(name)
	defer C.free(unsafe.Pointer(clib))
	defer C.free(unsafe.Pointer(cname))
	return C.kd_sym(clib, cname)
}

// read returns the current entry's stamps and its MESSAGE field as stored
// ("MESSAGE=..."; "" when the entry has none), copied, with the address
// sd_journal read it from, valid until the next sd_journal call.
func (s *fastEntry) read() (Entry, string, unsafe.Pointer, error) {
	var rt, mono C.uint64_t
	var boot [16]byte
	var data unsafe.Pointer
	var n C.size_t
	var dr C.int
	if r := C.kd_entry(s.rt, s.mono, s.data, s.j, &rt, &mono, (*C.uint8_t)(unsafe.Pointer(&boot[0])), &data, &n, &dr); r < 0 {
		return Entry{}, "", nil, fmt.Errorf("read journal entry stamps: %w: %w", ErrUnreadable, syscall.Errno(-r))
	}
	if boot != s.lastRaw || s.last == "" {
		s.lastRaw, s.last = boot, hex.EncodeToString(boot[:])
	}
	e := Entry{Realtime: time.UnixMicro(int64(rt)), Monotonic: time.Duration(mono) * time.Microsecond, BootID: s.last}
	switch {
	case dr == -C.ENOENT:
		return e, "", nil, nil
	case dr < 0:
		return e, "", nil, fmt.Errorf("read journal entry MESSAGE: %w: %w", ErrUnreadable, syscall.Errno(-dr))
	case n > 1<<30:
		// journald stores no field this large (DATA_SIZE_MAX is 768 MiB).
		return e, "", nil, fmt.Errorf("read journal entry MESSAGE: %d bytes: %w: %w", n, ErrUnreadable, ErrDamaged)
	}
	return e, C.GoStringN((*C.char)(data), C.int(n)), data, nil
}
