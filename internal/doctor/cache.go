package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// cached is what the store keeps of an expensive check's run.
type cached struct {
	At       time.Time `json:"at"`
	Findings []Finding `json:"findings"`
	Err      string    `json:"error,omitempty"`
}

// errCached is a failure remembered from an earlier run: the check could not
// look then and is not asked again before MaxAge.
type errCached struct{ msg string }

func (e errCached) Error() string { return e.msg }

// runCached runs c at most once per MaxAge across processes: the check's own
// namespace lock makes every other invocation that wants it wait for the one
// run and then read its result. That lock is the check's alone; the journal's
// state is never locked while a probe runs.
func runCached(ctx context.Context, env *Env, c Cacheable) ([]Finding, bool, error) {
	ns := "cache-" + c.Name()
	unlock, err := env.Store.Lock(ctx, ns)
	if err != nil {
		return nil, false, fmt.Errorf("cache of %s: %w", c.Name(), err)
	}
	defer unlock()
	if b, err := env.Store.Read(ns); err == nil && b != nil {
		var old cached
		fresh := json.Unmarshal(b, &old) == nil && !old.At.After(env.Now) && env.Now.Sub(old.At) < c.MaxAge() &&
			validFindings(old.Findings, c)
		if fresh {
			if old.Err != "" {
				return nil, true, errCached{old.Err}
			}
			return old.Findings, true, nil
		}
	}
	fs, runErr := c.Run(ctx, env)
	if errors.Is(runErr, context.DeadlineExceeded) || errors.Is(runErr, context.Canceled) {
		// Our own deadline says nothing about the check: do not remember it.
		return fs, false, runErr
	}
	rec := cached{At: env.Now, Findings: fs}
	if runErr != nil {
		rec.Err = runErr.Error()
	}
	if b, err := json.Marshal(rec); err == nil {
		if err := env.Store.WriteCache(ns, b); err != nil {
			env.Log.WithError(err).WithField("check", c.Name()).Warn("cannot cache findings")
		}
	}
	return fs, false, runErr
}

// validFindings refuses cached findings that name conditions the check does
// not speak for or carry a status outside the three.
func validFindings(fs []Finding, c Check) bool {
	ok := map[string]bool{}
	for _, t := range c.Conditions() {
		ok[t] = true
	}
	for _, f := range fs {
		if !ok[f.Condition] || f.Status > Problem {
			return false
		}
	}
	return true
}
