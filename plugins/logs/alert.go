package logs

import (
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npd"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// Alert decides an NPD temporary rule for cond: NonOK, and so an Event, once
// per new failure episode or new cause, OK on every later run while the
// same failure goes on. NPD emits an Event on every non-zero exit, so the
// "once" must be remembered here, in the state's Alerted map.
func Alert(st *State, cond rules.Condition, now time.Time, w Window, maxLen int) Result {
	r := Decide(&st.Evidence, cond, now, w, maxLen)
	if r.Status != npd.NonOK {
		return r
	}
	key := r.Label
	if cond.Category == "" {
		key += "@" + st.Evidence.Lifecycle.LoopSince.UTC().Format(time.RFC3339Nano)
	} else {
		key += "@" + r.Since.UTC().Format(time.RFC3339Nano)
	}
	if st.Alerted[cond.Type] == key {
		return Result{Condition: cond.Type, Category: cond.Category, Status: npd.OK,
			Message: "already reported: " + r.Message}
	}
	if st.Alerted == nil {
		st.Alerted = make(map[string]string)
	}
	st.Alerted[cond.Type] = key
	return r
}
