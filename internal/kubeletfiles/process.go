package kubeletfiles

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// ProcessCache remembers between invocations which process was the
// kubelet. NPD starts a plugin process per condition every interval, and a
// scan of a busy node's /proc is hundreds of opens each time; the kubelet's
// pid changes only when it restarts.
type ProcessCache interface {
	// Recall returns the pid last found ("" when none ran) and whether the
	// record can be used: a pid is always checked again in /proc before
	// use, "none" only within the cache's age.
	Recall() (pid string, ok bool)
	// Remember records a scan's answer ("" for none).
	Remember(pid string)
}

const (
	// ProcessNamespace is the state namespace of StoredProcess.
	ProcessNamespace = "kubelet-process"
	// ProcessMaxAge is how long "no kubelet runs" is believed: under one
	// NPD interval (30s), like the probes' caches.
	ProcessMaxAge = 25 * time.Second
)

// StoredProcess is a ProcessCache in the state store. A kubelet that
// starts while "none" is remembered is found within MaxAge (one NPD
// interval); until then its unit and flag files stand in for its command
// line, which name the same files on every packaging we know.
type StoredProcess struct {
	Store  *state.Store
	Now    time.Time
	MaxAge time.Duration
	// Timeout bounds waiting for the namespace's lock when remembering: a
	// cache must never hold an invocation up.
	Timeout time.Duration
}

var _ ProcessCache = StoredProcess{}

type processRecord struct {
	PID string    `json:"pid"`
	At  time.Time `json:"at"`
}

// Recall implements ProcessCache.
func (s StoredProcess) Recall() (string, bool) {
	if s.Store == nil {
		return "", false
	}
	b, err := s.Store.Read(ProcessNamespace)
	if err != nil || b == nil {
		return "", false
	}
	var r processRecord
	if json.Unmarshal(b, &r) != nil {
		return "", false
	}
	if r.PID != "" {
		// Only a positive decimal number names a /proc entry.
		n, err := strconv.Atoi(r.PID)
		return r.PID, err == nil && n > 0 && strconv.Itoa(n) == r.PID
	}
	// A record from the future (the clock stepped back) is stale.
	return "", !r.At.After(s.Now) && s.Now.Sub(r.At) < s.MaxAge
}

// Remember implements ProcessCache. Failing to remember costs the next run
// a scan and nothing else: it is not reported.
func (s StoredProcess) Remember(pid string) {
	if s.Store == nil {
		return
	}
	b, err := json.Marshal(processRecord{PID: pid, At: s.Now})
	if err != nil {
		return
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = s.Store.UpdateCache(ctx, ProcessNamespace, func([]byte) ([]byte, error) { return b, nil })
}
