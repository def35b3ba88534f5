package logs

import (
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
)

// The journal's wall-clock stamps move when the clock steps; its monotonic
// stamps, set by journald from the kernel per boot, do not. Evidence is kept
// on one timeline per boot: the boot's start (realtime minus monotonic of the
// first entry seen from it) plus each entry's monotonic stamp. A clock step
// in either direction then neither ages evidence out early nor keeps it
// longer, and the window is measured on the same timeline (Boot below).

// Stamp returns the time of an entry on the evidence's timeline, and starts a
// new timeline when the entry comes from another boot. Entries without a boot
// id (other readers) keep their wall-clock time.
func (e *Evidence) Stamp(boot string, realtime time.Time, mono time.Duration) time.Time {
	if boot == "" {
		return realtime
	}
	switch {
	case e.Boot == "":
		e.Boot, e.Base = boot, realtime.Add(-mono)
	case boot != e.Boot:
		base := realtime.Add(-mono)
		e.rebooted(base)
		e.Boot, e.Base = boot, base
	}
	return e.Base.Add(mono)
}

// Now is the time on the evidence's timeline: the boot's start plus the
// monotonic clock, when the evidence is of the running boot; else the wall
// clock (a journal of another machine, a replay with --now).
func (e *Evidence) Now(b doctor.Boot, wall time.Time) time.Time {
	if b.ID != "" && b.ID == e.Boot && !e.Base.IsZero() && b.Monotonic > 0 {
		return e.Base.Add(b.Monotonic)
	}
	return wall
}

// rebooted ends the previous boot's story. Its kubelet processes are gone,
// so their starts, exits and crash loop are forgotten: a crash loop before a
// reboot is not one after it. Its failures still happened, but no later than
// the new boot started, whatever the new clock says: they are moved back to
// that instant at the latest, so that a clock behind the previous boot's
// cannot make them current.
func (e *Evidence) rebooted(base time.Time) {
	e.Process = Process{}
	clamp := func(t *time.Time) {
		if t.After(base) {
			*t = base
		}
	}
	for _, t := range e.Tallies {
		clamp(&t.Since)
		clamp(&t.Last)
		clamp(&t.Recovered)
		for _, c := range t.Failures {
			clamp(&c.Last)
			c.Minutes = clampBins(c.Minutes, base)
		}
	}
	clamp(&e.Latest)
}

// clampBins moves counts of minutes after base into base's minute.
func clampBins(bins []MinuteBin, base time.Time) []MinuteBin {
	m := base.Unix() / 60
	moved := 0
	kept := bins[:0]
	for _, b := range bins {
		if b.Minute > m {
			moved += b.N
			continue
		}
		kept = append(kept, b)
	}
	if moved > 0 {
		if n := len(kept); n > 0 && kept[n-1].Minute == m {
			kept[n-1].N += moved
		} else {
			kept = append(kept, MinuteBin{Minute: m, N: moved})
		}
	}
	return kept
}
