//go:build cgo

package journal

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

typedef int (*kd_realtime_fn)(void *j, uint64_t *usec);
typedef int (*kd_monotonic_fn)(void *j, uint64_t *usec, uint8_t *boot_id);

// kd_stamps reads the current entry's realtime, monotonic time and boot id
// in one call into C (sd_id128_t is 16 bytes, passed by address).
static int kd_stamps(void *rt, void *mono, void *j, uint64_t *realtime, uint64_t *monotonic, uint8_t *boot) {
	int r = ((kd_realtime_fn)rt)(j, realtime);
	if (r < 0)
		return r;
	return ((kd_monotonic_fn)mono)(j, monotonic, boot);
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

// fastStamps reads an entry's stamps with one cgo call instead of three:
// go-systemd's GetMonotonicUsec drops the boot id that
// sd_journal_get_monotonic_usec returns, so the boot id would cost a
// GetData("_BOOT_ID") (measured: realtime + monotonic + _BOOT_ID through
// go-systemd 490 ns per entry, one call here about 100). It needs
// go-systemd's sd_journal pointer, an unexported field found by name; when
// that or a symbol is missing, newFastStamps returns nil and Read uses
// go-systemd's methods.
type fastStamps struct {
	j        unsafe.Pointer // sd_journal *
	rt, mono unsafe.Pointer
	lastRaw  [16]byte
	last     string
}

var stampSyms struct {
	rt, mono unsafe.Pointer
}

func newFastStamps(j *sdjournal.Journal) *fastStamps {
	v := reflect.ValueOf(j).Elem().FieldByName("cjournal")
	if !v.IsValid() || v.Kind() != reflect.Pointer {
		return nil
	}
	p := v.UnsafePointer()
	if p == nil {
		return nil
	}
	if stampSyms.rt == nil || stampSyms.mono == nil {
		for _, lib := range []string{"libsystemd.so.0", "libsystemd.so"} {
			clib := C.CString(lib)
			rtName, monoName := C.CString("sd_journal_get_realtime_usec"), C.CString("sd_journal_get_monotonic_usec")
			rt, mono := C.kd_sym(clib, rtName), C.kd_sym(clib, monoName)
			C.free(unsafe.Pointer(clib))
			C.free(unsafe.Pointer(rtName))
			C.free(unsafe.Pointer(monoName))
			if rt != nil && mono != nil {
				stampSyms.rt, stampSyms.mono = rt, mono
				break
			}
		}
	}
	if stampSyms.rt == nil || stampSyms.mono == nil {
		return nil
	}
	return &fastStamps{j: p, rt: stampSyms.rt, mono: stampSyms.mono}
}

func (s *fastStamps) read() (Entry, error) {
	var rt, mono C.uint64_t
	var boot [16]byte
	if r := C.kd_stamps(s.rt, s.mono, s.j, &rt, &mono, (*C.uint8_t)(unsafe.Pointer(&boot[0]))); r < 0 {
		return Entry{}, fmt.Errorf("read journal entry stamps: %w: %w", ErrUnreadable, syscall.Errno(-r))
	}
	if boot != s.lastRaw || s.last == "" {
		s.lastRaw, s.last = boot, hex.EncodeToString(boot[:])
	}
	return Entry{Realtime: time.UnixMicro(int64(rt)), Monotonic: time.Duration(mono) * time.Microsecond, BootID: s.last}, nil
}
