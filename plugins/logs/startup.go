package logs

import (
	"fmt"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npd"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

const (
	// crashLoopExits in the window make a crash loop: one crash is a
	// restart, three within the window are a kubelet that cannot stay up.
	crashLoopExits = 3
	// settle is how long a kubelet must stay up after a start, with no exit,
	// to count as recovered. A kubelet that fails on its config exits within
	// a second or two of starting; systemd restarts it within RestartSec
	// (10s on kubeadm nodes), so a kubelet down longer than this after an
	// exit is not being restarted.
	settle = 30 * time.Second
)

// decideStartup decides KubeletStartupProblem: the kubelet is crash-looping
// or not running, with the last fatal error it logged.
func decideStartup(e *Evidence, cond rules.Condition, now time.Time, w Window, maxLen int) Result {
	l := &e.Lifecycle
	r := Result{Condition: cond.Type, Status: npd.OK, Message: cond.HealthyMessage}
	exits := countBins(l.Exits, now, w.Span)
	if exits == 0 {
		// A kubelet not run by systemd leaves no exit entries: its fatal
		// errors are the crashes.
		exits = countBins(l.Fatals, now, w.Span)
	}
	r.Count = exits
	upSinceExit := l.Started.After(l.Exited) && l.Started.After(l.Stopped)
	stayedUp := upSinceExit && now.Sub(l.Started) >= settle

	var head string
	switch {
	case exits >= crashLoopExits && !stayedUp:
		head = fmt.Sprintf("crash-loop, %s restarts in %s", bucket(exits), span(w.Span))
	case !l.Exited.IsZero() && l.Exited.After(l.Started) && now.Sub(l.Exited) >= settle:
		head = "kubelet not running, exited"
	case !l.Stopped.IsZero() && l.Stopped.After(l.Started) && now.Sub(l.Stopped) >= settle:
		head = "kubelet not running, stopped"
	default:
		return r
	}
	r.Status = npd.NonOK
	excerpt := ""
	if f := l.Fatal; f != nil && now.Sub(f.Last) <= w.Span {
		r.Rule, r.Label, r.Excerpt, r.Hint = f.Rule, f.Label, f.Excerpt, f.Hint
		excerpt = f.Label
		if f.Excerpt != "" {
			excerpt += ": " + f.Excerpt
		}
	}
	r.Message = compose(head, excerpt, "", maxLen)
	if excerpt == "" {
		r.Message = npd.Fit(head, maxLen)
	}
	return r
}
