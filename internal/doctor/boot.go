package doctor

import (
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ReadBoot reads the running kernel's boot id and monotonic clock. Both are
// the kernel's, not the host root's files: a container shares its node's
// kernel, so its own /proc tells the node's boot. Unknown parts stay zero and
// the journal falls back to the wall clock.
func ReadBoot() Boot {
	var b Boot
	if id, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		b.ID = strings.ReplaceAll(strings.TrimSpace(string(id)), "-", "")
	}
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
		b.Monotonic = time.Duration(ts.Nano())
	}
	return b
}
