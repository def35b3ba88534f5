package logs

import (
	"fmt"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npd"
)

// bucket turns a count into a label that stays the same from run to run
// while a problem goes on: NPD republishes a condition whose message
// changes, so an exact counter would flap it.
func bucket(n int) string {
	switch {
	case n >= 100:
		return "100+"
	case n >= 30:
		return "30+"
	case n >= 10:
		return "10+"
	case n >= 3:
		return "3+"
	default:
		return fmt.Sprint(n)
	}
}

// span renders a window as people write it: 10m, 1h, 90s.
func span(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return d.String()
	}
}

// compose builds "<label>: <excerpt> (<suffix>)" in at most max bytes. The
// label, the most useful part, always comes first; the excerpt gives way.
func compose(label, excerpt, suffix string, max int) string {
	tail := ""
	if suffix != "" {
		tail = " (" + suffix + ")"
	}
	if excerpt == "" {
		return npd.Fit(label+tail, max)
	}
	head := label + ": "
	room := max - len(head) - len(tail)
	if max <= 0 {
		room = len(excerpt)
	}
	if room < 8 {
		// Too little room for a useful excerpt: keep label and count.
		return npd.Fit(label+tail, max)
	}
	excerpt = npd.Fit(excerpt, room)
	return strings.TrimSpace(head + excerpt + tail)
}
