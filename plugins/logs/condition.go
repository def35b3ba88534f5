package logs

import (
	"fmt"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npd"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// Result is the verdict on one condition, as data: the command layer turns
// it into NPD's line and exit code, a report or metrics.
type Result struct {
	Condition string
	Status    npd.Status
	Message   string
	Category  rules.Category
	Rule      string
	Label     string
	Excerpt   string
	Hint      string
	Count     int       // failures counted in the window
	Since     time.Time // first failure of the current episode
}

// Thresholds are the failures in the window that make a category's
// condition True. Categories whose errors a healthy kubelet also logs now
// and then (a blip of the API server, a slow runtime call) need a few;
// one is enough for the rest, which never happen on a healthy node.
var Thresholds = map[rules.Category]int{
	rules.Registration:          3,
	rules.APIServerConnectivity: 3,
	rules.Runtime:               3,
}

func threshold(c rules.Category) int {
	if n, ok := Thresholds[c]; ok {
		return n
	}
	return 1
}

// Decide returns the verdict on cond from the evidence at now.
func Decide(e *Evidence, cond rules.Condition, now time.Time, w Window, maxLen int) Result {
	if cond.Category == "" {
		return decideStartup(e, cond, now, w, maxLen)
	}
	r := Result{Condition: cond.Type, Category: cond.Category, Status: npd.OK, Message: cond.HealthyMessage}
	t := e.Tallies[cond.Category]
	if t == nil {
		return r
	}
	var top *Cause
	topN := 0
	perStartOnly := true
	for _, c := range t.Causes {
		var n int
		switch {
		case c.Fatal && e.Lifecycle.stableSince(c.Last, now):
			continue // a kubelet started since and stayed up
		case c.PerStart:
			if !e.Lifecycle.current(c) {
				continue // logged by an earlier kubelet process
			}
			n = max(countBins(c.Minutes, now, w.Span), 1)
		default:
			n = countBins(c.Minutes, now, w.Span)
			perStartOnly = perStartOnly && n == 0
		}
		r.Count += n
		// The most frequent cause names the problem, the newest breaks a
		// tie: the message then stays put while the problem goes on.
		if n > topN || (n == topN && n > 0 && c.Last.After(top.Last)) {
			top, topN = c, n
		}
	}
	if top == nil || r.Count < threshold(cond.Category) {
		return r
	}
	r.Status = npd.NonOK
	r.Rule, r.Label, r.Excerpt, r.Hint, r.Since = top.Rule, top.Label, top.Excerpt, top.Hint, t.Since
	suffix := fmt.Sprintf("%s in %s", bucket(r.Count), span(w.Span))
	if perStartOnly {
		suffix = "since kubelet start"
	}
	r.Message = compose(top.Label, top.Excerpt, suffix, maxLen)
	return r
}
