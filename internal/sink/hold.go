package sink

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// HoldNamespace keeps the last verdict published per condition.
const HoldNamespace = "published"

// published is the last verdict reported to NPD for one condition.
type published struct {
	Status  doctor.Status `json:"status"`
	Message string        `json:"message"`
	At      time.Time     `json:"at"`
}

// Hold keeps a True condition True through a short spell of "cannot tell":
// a journal rotated under the reader or a lock that timed out would
// otherwise flip it True -> Unknown -> True, and NPD would move its
// lastTransitionTime each time, restarting every repair controller's
// timeout. The last problem is repeated for at most hold after it was last
// recorded (a steady problem is recorded again every hold/2, so the bound is
// between hold/2 and hold after it was last seen); past that, Unknown is
// told as it is. It returns the status and
// message to publish. Only changes are written, so a steady condition costs
// a read.
func Hold(ctx context.Context, store *state.Store, v doctor.Verdict, line string, now time.Time, hold time.Duration) (doctor.Status, string) {
	status, msg := v.Status, line
	_ = store.Update(ctx, HoldNamespace, func(old []byte) ([]byte, error) {
		marks := map[string]published{}
		if old != nil && json.Unmarshal(old, &marks) != nil {
			marks = map[string]published{}
		}
		last, ok := marks[v.Condition.Type]
		if status == doctor.Unknown && ok && last.Status == doctor.Problem && !last.At.After(now) && now.Sub(last.At) <= hold {
			status, msg = last.Status, last.Message
			return nil, nil // held: the problem's time is when it was last seen
		}
		if ok && last.Status == status && last.Message == msg && status != doctor.Problem {
			return nil, nil
		}
		if ok && last.Status == status && last.Message == msg && now.Sub(last.At) < hold/2 {
			return nil, nil // refreshed often enough to hold
		}
		marks[v.Condition.Type] = published{Status: status, Message: msg, At: now}
		return json.Marshal(marks)
	})
	return status, msg
}
