// Package unit reads the kubelet's systemd unit over D-Bus and its healthz
// endpoint (KubeletStartupProblem): whether it runs, fails or crash-loops,
// from what systemd itself counts. The journal check names the fatal error
// the kubelet logged; this one speaks only for what D-Bus and healthz
// prove, and says nothing when the system bus cannot be reached.
package unit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/kubeletconfig"
)

// CheckName names the check in outputs and the state.
const CheckName = "kubelet-unit"

const (
	// SystemBus is the system bus socket under the root.
	SystemBus = "/run/dbus/system_bus_socket"
	// DefaultHealthz is the kubelet's default healthz endpoint.
	DefaultHealthz = "http://127.0.0.1:10248/healthz"
	// MaxAge: the unit is read at most once per NPD interval (30s).
	MaxAge = 25 * time.Second
	// DefaultTimeout bounds the D-Bus calls and the healthz GET.
	DefaultTimeout = 3 * time.Second
	// HealthzGrace: a kubelet up for less than this may still be starting
	// its healthz server.
	HealthzGrace = time.Minute
)

// Check reads the kubelet unit.
type Check struct {
	Unit    string // default kubelet.service
	Healthz string // "" : DefaultHealthz; "-": no healthz probe
	Timeout time.Duration
	// Restarts at or above it, with the kubelet not settled, are a crash loop.
	Restarts int
}

var (
	_ doctor.Cacheable = (*Check)(nil)
	_ doctor.Sourced   = (*Check)(nil)
)

// Name implements doctor.Check.
func (c *Check) Name() string { return CheckName }

// Conditions implements doctor.Check.
func (c *Check) Conditions() []string { return []string{condition.TypeStartup} }

// MaxAge implements doctor.Cacheable.
func (c *Check) MaxAge() time.Duration { return MaxAge }

// Source implements doctor.Sourced.
func (c *Check) Source() doctor.Source { return doctor.SourceProbe }

// State is what systemd says of the unit.
type State struct {
	LoadState, ActiveState, SubState, Result string
	NRestarts                                uint32
	ExecMainStatus                           int32
	ExecMainCode                             int32 // CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3
	ActiveEnter, InactiveEnter               time.Time
}

// Run implements doctor.Check. No system bus, or no kubelet unit on it: no
// finding, the journal speaks.
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	sock := kubeletconfig.HostPath(env.Root, SystemBus)
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		return nil, nil
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	unit := c.Unit
	if unit == "" {
		unit = "kubelet.service"
	}
	st, err := Read(pctx, sock, unit)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		env.Log.WithError(err).WithField("unit", unit).Info("system bus cannot tell the kubelet unit's state")
		return nil, nil
	}
	if st.LoadState != "loaded" {
		return nil, nil
	}
	f, ok := c.judge(unit, st, env.Now)
	if !ok {
		return nil, nil
	}
	if f.Status == doctor.OK && c.Healthz != "-" && env.Now.Sub(st.ActiveEnter) >= HealthzGrace {
		if err := c.healthz(pctx); err != nil {
			f = finding(doctor.Problem, "healthz", "kubelet healthz failing", err.Error(),
				"the kubelet runs but reports itself unhealthy: kubelet-doctor explain --journal shows why")
		}
	}
	if f.Since.IsZero() {
		f.Since = episode(pctx, env, f)
	}
	return []doctor.Finding{f}, nil
}

// episodeNS keeps when the current problem was first seen: D-Bus tells a
// crash loop's restarts but not when it began, and alerts key on Since.
const episodeNS = "unit-episode"

type episodeRecord struct {
	Label string    `json:"label"`
	Since time.Time `json:"since"`
}

// episode is the start of f's problem: kept while the same problem goes
// on, cleared by a healthy state. Zero without a store.
func episode(ctx context.Context, env *doctor.Env, f doctor.Finding) time.Time {
	if env.Store == nil {
		return time.Time{}
	}
	var since time.Time
	err := env.Store.Update(ctx, episodeNS, func(old []byte) ([]byte, error) {
		var rec episodeRecord
		_ = json.Unmarshal(old, &rec) // unreadable: a new episode
		switch {
		case f.Status != doctor.Problem:
			rec = episodeRecord{}
		case rec.Label != f.Label || rec.Since.IsZero() || rec.Since.After(env.Now):
			rec = episodeRecord{Label: f.Label, Since: env.Now}
		}
		since = rec.Since
		return json.Marshal(rec)
	})
	if err != nil {
		env.Log.WithError(err).Warn("cannot keep the unit's problem episode")
		return time.Time{}
	}
	return since
}

// judge turns the unit's state into a finding; ok is false while systemd is
// mid-transition (starting, stopping) and the state proves nothing.
func (c *Check) judge(unit string, st State, now time.Time) (doctor.Finding, bool) {
	limit := c.Restarts
	if limit <= 0 {
		limit = condition.CrashLoopExits
	}
	exit := exitText(st)
	switch {
	case st.ActiveState == "active" && st.SubState == "running":
		up := now.Sub(st.ActiveEnter)
		if int(st.NRestarts) >= limit && up < condition.Settle {
			return finding(doctor.Problem, "crash-loop", "kubelet crash loop",
				fmt.Sprintf("%d restarts, up %s, last %s", st.NRestarts, up.Round(time.Second), exit), ""), true
		}
		f := finding(doctor.OK, "running", "kubelet is running",
			fmt.Sprintf("%s active since %s, %d restarts", unit, st.ActiveEnter.UTC().Format(time.RFC3339), st.NRestarts), "")
		return f, true
	case st.ActiveState == "activating" && st.SubState == "auto-restart" && int(st.NRestarts) >= limit:
		return finding(doctor.Problem, "crash-loop", "kubelet crash loop",
			fmt.Sprintf("%d restarts, last %s", st.NRestarts, exit), ""), true
	case st.ActiveState == "failed":
		f := finding(doctor.Problem, "failed", "kubelet failed",
			fmt.Sprintf("%s, %s, %d restarts", st.Result, exit, st.NRestarts),
			"systemd gave up restarting it: fix the cause, then systemctl restart "+unit)
		f.Since = st.InactiveEnter
		return f, true
	case st.ActiveState == "inactive":
		f := finding(doctor.Problem, "inactive", "kubelet not running",
			unit+" inactive since "+st.InactiveEnter.UTC().Format(time.RFC3339), "systemctl enable --now "+unit)
		f.Since = st.InactiveEnter
		return f, true
	}
	return doctor.Finding{}, false
}

func exitText(st State) string {
	switch st.ExecMainCode {
	case 2, 3:
		return "killed by signal " + strconv.Itoa(int(st.ExecMainStatus))
	}
	return "exit status " + strconv.Itoa(int(st.ExecMainStatus))
}

// healthz GETs the kubelet's healthz: 200 "ok" is healthy.
func (c *Check) healthz(ctx context.Context) error {
	url := c.Healthz
	if url == "" {
		url = DefaultHealthz
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthz URL %q: %w", url, err)
	}
	// No proxy: healthz is the node's own loopback.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s from %s: %s", resp.Status, url, body)
	}
	return nil
}

// Read asks systemd over the bus at socket (a real path) for the unit's
// state, with go-systemd's client; ctx bounds the dial and the calls.
func Read(ctx context.Context, socket, unit string) (State, error) {
	dial := func() (*dbus.Conn, error) {
		conn, err := dbus.Dial("unix:path="+socket, dbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			conn.Close()
			return nil, err
		}
		if err := conn.Hello(); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	conn, err := sddbus.NewConnection(dial)
	if err != nil {
		return State{}, fmt.Errorf("connect to the system bus %s: %w", socket, err)
	}
	defer conn.Close()
	u, err := conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return State{}, fmt.Errorf("read unit %s: %w", unit, err)
	}
	var st State
	st.LoadState, _ = u["LoadState"].(string)
	st.ActiveState, _ = u["ActiveState"].(string)
	st.SubState, _ = u["SubState"].(string)
	st.ActiveEnter = usec(u["ActiveEnterTimestamp"])
	st.InactiveEnter = usec(u["InactiveEnterTimestamp"])
	if st.LoadState != "loaded" {
		return st, nil
	}
	s, err := conn.GetUnitTypePropertiesContext(ctx, unit, "Service")
	if err != nil {
		return State{}, fmt.Errorf("read service %s: %w", unit, err)
	}
	st.NRestarts, _ = s["NRestarts"].(uint32)
	st.ExecMainStatus, _ = s["ExecMainStatus"].(int32)
	st.ExecMainCode, _ = s["ExecMainCode"].(int32)
	st.Result, _ = s["Result"].(string)
	return st, nil
}

// usec is systemd's microseconds since the epoch; 0 is never.
func usec(v any) time.Time {
	u, ok := v.(uint64)
	if !ok || u == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(u))
}

func finding(s doctor.Status, rule, label, detail, hint string) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeStartup, Status: s, Source: doctor.SourceProbe, Check: CheckName,
		Rule: rule, Label: label, Detail: detail, Hint: hint}
}
