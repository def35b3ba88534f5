package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// AlertNamespace keeps, per condition, the failure episode already raised.
const AlertNamespace = "alerts"

// Alert is the NPD temporary rule: exit 1, and so one Event, once per new
// failure episode or new cause; exit 0 on every later run while the same
// failure goes on, and when it cannot tell (NPD turns every non-zero exit of
// a temporary rule into an Event: "cannot tell" must not read as a new
// failure on every run; the condition's own check says Unknown).
//
// Delivery is at least once: the line is printed before the episode is
// recorded, so a run killed between the two raises the Event again on the
// next run rather than never.
func Alert(ctx context.Context, store *state.Store, v doctor.Verdict, max int, w io.Writer) (int, error) {
	if v.Status != doctor.Problem {
		fmt.Fprintln(w, Line(v, max))
		return ExitOK, nil
	}
	// The episode (its start) and the cause (label and rule) key the Event.
	key := v.Lead.Label + "|" + v.Lead.Rule + "@" + v.Lead.Since.UTC().Format(time.RFC3339Nano)
	code := ExitProblem
	err := store.Update(ctx, AlertNamespace, func(old []byte) ([]byte, error) {
		marks := map[string]string{}
		if old != nil && json.Unmarshal(old, &marks) != nil {
			marks = map[string]string{} // a bad record costs one repeated Event, never a lost one
		}
		if marks[v.Condition.Type] == key {
			code = ExitOK
			fmt.Fprintln(w, Fit("already reported: "+Line(v, 0), max))
			return nil, nil
		}
		fmt.Fprintln(w, Line(v, max))
		if f, ok := w.(interface{ Sync() error }); ok {
			_ = f.Sync()
		}
		marks[v.Condition.Type] = key
		return json.Marshal(marks)
	})
	if err != nil && code == ExitProblem {
		// Printed or not, a failure to record must not swallow the Event.
		return ExitProblem, err
	}
	return code, err
}
