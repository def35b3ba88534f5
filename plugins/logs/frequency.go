package logs

import (
	"fmt"
	"time"
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
