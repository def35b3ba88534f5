package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
	"github.com/kubelet-doctor/kubelet-doctor/internal/timeline"
)

// wait's exit codes: joined, a failure that will not resolve by itself, and
// a timeout (or a journal it could not read to the end).
const (
	waitJoined  = 0
	waitFailed  = 1
	waitTimeout = 2
)

// terminal are the conditions whose failure will not resolve by itself
// while a node joins: a CA the kubelet does not trust, a bootstrap token or
// CSR the API server rejects, a client certificate that expired, a kubelet
// that crash-loops on a fatal error or was stopped. An API server that is
// not up yet, a runtime that is still starting, a CNI not yet installed do
// resolve, and wait goes on waiting for them until its timeout.
var terminal = []string{condition.TypeCATrust, condition.TypeBootstrap, condition.TypeCertificate, condition.TypeStartup}

// defaultHealthz is the kubelet's healthz endpoint (healthzPort 10248).
const defaultHealthz = "http://127.0.0.1:10248/healthz"

type waitFlags struct {
	pluginFlags
	deadline time.Duration
	interval time.Duration
	stable   time.Duration
	healthz  string
	output   string
	lookback time.Duration
}

func (f *waitFlags) register(fs *flag.FlagSet) {
	f.registerShared(fs)
	fs.DurationVar(&f.deadline, "timeout", 10*time.Minute, "give up after this long (exit 2)")
	fs.DurationVar(&f.interval, "interval", 2*time.Second, "how often the journal and the node are looked at")
	fs.DurationVar(&f.stable, "stable", condition.Settle, "how long the registered kubelet must stay healthy")
	fs.StringVar(&f.healthz, "healthz-url", "", "the kubelet's healthz endpoint, asked once registered when it answers (default "+defaultHealthz+" when --root is /; \"-\": do not probe)")
	fs.DurationVar(&f.lookback, "lookback", 24*time.Hour, "how far back the kubelet's start and registration are looked for (never before this boot)")
	fs.StringVar(&f.output, "output", "text", "output format: text (progress lines) or json (one document at the end; progress on stderr)")
}

func parseWait(args []string, stderr io.Writer) (*waitFlags, error) {
	f := &waitFlags{}
	if err := parseNoArgs("wait", "usage: kubelet-doctor wait [--timeout 10m] [flags]\n\nWaits until the kubelet has registered its node and stays healthy (exit 0),\nstops early on a failure that will not resolve by itself (exit 1), or\ntimes out (exit 2), printing progress and the diagnosis.\n\nflags:", args, stderr, f.register); err != nil {
		return nil, err
	}
	switch {
	case f.output != "text" && f.output != "json":
		return nil, fmt.Errorf("unknown --output %q (text or json)", f.output)
	case f.deadline <= 0 || f.interval <= 0 || f.stable < 0 || f.lookback <= 0:
		return nil, errors.New("--timeout, --interval and --lookback must be positive, --stable not negative")
	case f.now != "":
		return nil, errors.New("wait follows the clock: --now does not apply")
	}
	switch {
	case f.healthz == "-":
		f.healthz = ""
	case f.healthz == "" && (f.root == "/" || f.root == ""):
		f.healthz = defaultHealthz
	}
	return f, f.validate()
}

// waitResult is wait's JSON document; its field names are stable.
type waitResult struct {
	// Outcome is "joined", "failed" or "timeout".
	Outcome string  `json:"outcome"`
	Seconds float64 `json:"seconds"`
	// Started and Registered are the running kubelet's start and
	// registration; RegisterSeconds the time between them.
	Started         time.Time              `json:"started,omitzero"`
	Registered      time.Time              `json:"registered,omitzero"`
	RegisterSeconds float64                `json:"registerSeconds,omitempty"`
	Diagnosis       string                 `json:"diagnosis,omitempty"`
	Conditions      []sink.ReportCondition `json:"conditions,omitempty"`
	Milestones      []timeline.Milestone   `json:"milestones"`
}

func runWait(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	f, err := parseWait(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "wait: %v\n", err)
		}
		return waitTimeout
	}
	progress := stdout
	if f.output == "json" {
		progress = stderr
	}
	dir, err := os.MkdirTemp("", "kubelet-doctor-wait-")
	if err != nil {
		fmt.Fprintf(stderr, "wait: private state: %v\n", err)
		return waitTimeout
	}
	defer os.RemoveAll(dir)
	store, err := state.Open(dir)
	if err != nil {
		fmt.Fprintf(stderr, "wait: %v\n", err)
		return waitTimeout
	}
	w := &waiter{f: f, store: store, out: progress, color: isTerminal(progress), start: time.Now(),
		seen: map[string]bool{}, log: quietLog(stderr, "wait")}
	res := w.run()
	if f.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "wait: %v\n", err)
		}
	}
	switch res.Outcome {
	case "joined":
		return waitJoined
	case "failed":
		return waitFailed
	}
	return waitTimeout
}

// waiter follows the journal and the node until an outcome. Like report it
// keeps its journal cursor and evidence in a private store: each look
// reads only what is new, and the NPD plugin's state is left alone.
type waiter struct {
	f      *waitFlags
	store  *state.Store
	out    io.Writer
	color  bool
	start  time.Time
	log    logrus.FieldLogger
	seen   map[string]bool // progress lines already printed
	res    waitResult
	tl     timeline.Timeline
	tlErr  error
	vs     []doctor.Verdict
	since  time.Time // healthy since, zero while not
	looked bool      // a look completed before the deadline
	health string    // the last healthz state printed
}

func (w *waiter) run() waitResult {
	ctx, cancel := context.WithDeadline(context.Background(), w.start.Add(w.f.deadline))
	defer cancel()
	w.printf("waiting up to %s for the kubelet to register and stay healthy\n", w.f.deadline)
	fol := w.f.follower(w.store, w.since0())
	w.res.Milestones = []timeline.Milestone{}
	for {
		if done := w.look(ctx, fol); done {
			return w.res
		}
		select {
		case <-ctx.Done():
			w.timeout()
			return w.res
		case <-time.After(w.f.interval):
		}
	}
}

// since0 is where the timeline starts: --lookback ago, but never before
// this boot, whose kubelet is the one that must register (a journal kept
// from an earlier boot, or from the image's build, may hold a registration
// of another life of the node).
func (w *waiter) since0() time.Time {
	since := w.start.Add(-w.f.lookback)
	if b := doctor.ReadBoot(); b.Monotonic > 0 {
		if boot := time.Now().Add(-b.Monotonic); boot.After(since) {
			since = boot
		}
	}
	return since
}

// look reads what is new and decides; true when there is an outcome.
func (w *waiter) look(ctx context.Context, fol *timeline.Follower) bool {
	tl, tlErr := fol.Update(ctx, w.milestone)
	vs, err := w.f.evaluateWith(ctx, w.store, nil, w.log)
	if ctx.Err() != nil {
		// The deadline, not the node: timeout goes by the last whole look.
		return false
	}
	w.tl, w.tlErr, w.looked = tl, tlErr, true
	if err != nil {
		w.log.WithError(err).Warn("cannot evaluate")
		return false
	}
	w.vs = vs
	for _, v := range vs {
		if v.Status == doctor.Problem && slices.Contains(terminal, v.Condition.Type) && w.current(v) {
			w.finish("failed", fmt.Sprintf("%s: %s", v.Condition.Type, sink.Compose(v.Lead, 0)))
			return true
		}
		if v.Status == doctor.Problem {
			w.once("problem "+v.Condition.Type+sink.Compose(v.Lead, 0), "%s %s: %s\n",
				sink.Paint(w.color, sink.StatusStyle("problem"), "problem"), v.Condition.Type, sink.Compose(v.Lead, 0))
		}
	}
	if !w.healthy(ctx) {
		w.since = time.Time{}
		return false
	}
	if w.since.IsZero() {
		w.since = time.Now()
		w.once("healthy", "registered and healthy; making sure it stays so for %s\n", w.f.stable)
	}
	if time.Since(w.since) >= w.f.stable {
		w.finish("joined", "")
		return true
	}
	return false
}

// current reports whether a problem is the running kubelet's: an earlier
// kubelet's bootstrap or CA failure, before the operator fixed it and
// restarted the kubelet, is no reason to stop now. The evidence's newest
// time tells; node-state findings carry none and are current. A crash loop
// spans starts by nature and is always current.
func (w *waiter) current(v doctor.Verdict) bool {
	if v.Condition.Type == condition.TypeStartup || w.tl.Started.IsZero() {
		return true
	}
	var newest time.Time
	for _, e := range v.Lead.Evidence {
		if e.At.After(newest) {
			newest = e.At
		}
	}
	return newest.IsZero() || !newest.Before(w.tl.Started.Add(-startSlack))
}

// startSlack is how long before the kubelet's start banner its own first
// lines may come (systemd's "Started" and the banner are a moment apart).
const startSlack = 5 * time.Second

// healthy: the running kubelet registered, no condition is a problem or
// cannot be told, and its healthz (when it answers) says ok.
func (w *waiter) healthy(ctx context.Context) bool {
	if w.tlErr != nil || w.tl.Registered.IsZero() || sink.Worst(w.vs) != doctor.OK {
		return false
	}
	if w.f.healthz == "" {
		return true
	}
	h := probeHealthz(ctx, w.f.healthz)
	if h != w.health {
		w.health = h
		w.printf("healthz: %s\n", h)
	}
	return h == "ok" || strings.HasPrefix(h, "unreachable")
}

// probeHealthz asks the kubelet's healthz: "ok", "unreachable: ..." (no
// kubelet listening there, e.g. healthzPort 0: it cannot say) or the
// failure it answered.
func probeHealthz(ctx context.Context, url string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "unreachable: " + err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "unreachable: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode == http.StatusOK {
		return "ok"
	}
	return fmt.Sprintf("%s: %s", resp.Status, sink.Fit(string(body), 120))
}

// quietLog is the checks' logger for a command that evaluates again and
// again: a check that cannot look would warn on every look, and the
// outcome names it anyway. --log-level info or debug shows everything.
func quietLog(stderr io.Writer, command string) logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(stderr)
	l.SetLevel(logrus.ErrorLevel)
	if logrus.GetLevel() >= logrus.InfoLevel {
		l.SetLevel(logrus.GetLevel())
	}
	return l.WithField("command", command)
}

func (w *waiter) milestone(m timeline.Milestone) {
	w.res.Milestones = append(w.res.Milestones, m)
	key := string(m.Kind) + m.Text
	if m.Kind == timeline.KindStarted || m.Kind == timeline.KindExited || m.Kind == timeline.KindRegistered {
		key += m.At.String() // every start, exit and registration is news
	}
	w.once(key, "%s  %s\n", sink.Paint(w.color, "\x1b[2m", m.At.UTC().Format("15:04:05")), sink.Clean(m.Text))
}

// once prints a progress line the first time its key is seen: a kubelet
// logs the same failure every few hundred milliseconds.
func (w *waiter) once(key, format string, a ...any) {
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	w.printf(format, a...)
}

func (w *waiter) printf(format string, a ...any) {
	fmt.Fprintf(w.out, "[%6.1fs] "+format, append([]any{time.Since(w.start).Seconds()}, a...)...)
}

// timeout names what was still missing when the time was up.
func (w *waiter) timeout() {
	tl := w.tl
	var why string
	switch {
	case !w.looked:
		why = "cannot tell: no read of the journal completed in time"
	case tl.Started.IsZero() && errors.Is(w.tlErr, journal.ErrNoJournal):
		why = "kubelet never started (no journal files yet)"
	case tl.Started.IsZero() && w.tlErr != nil:
		why = "cannot tell whether the kubelet started: " + w.tlErr.Error()
	case tl.Started.IsZero() && tl.Entries > 0:
		why = fmt.Sprintf("no kubelet start since %s (it started earlier: its registration is not in view; --lookback)",
			w.since0().UTC().Format(time.RFC3339))
	case tl.Started.IsZero():
		why = "kubelet never started"
	case tl.Registered.IsZero():
		why = fmt.Sprintf("kubelet started at %s but did not register", tl.Started.UTC().Format(time.RFC3339))
		if tl.LastFailure != "" {
			why += fmt.Sprintf(" (%d attempts; last failure: %s)", tl.Attempts, tl.LastFailure)
		}
	case w.health != "" && w.health != "ok" && !strings.HasPrefix(w.health, "unreachable"):
		why = "kubelet registered but its healthz says " + w.health
	default:
		why = "kubelet registered but did not stay healthy"
	}
	if probs := w.problems(); len(probs) > 0 {
		why += "; " + strings.Join(probs, "; ")
	}
	w.finish("timeout", "timed out after "+w.f.deadline.String()+": "+why)
}

// problems are the conditions that are problems, as "Type: cause", and
// one line for those that cannot be told (they share their cause, the
// check that could not look).
func (w *waiter) problems() []string {
	var out []string
	unknown, why := 0, ""
	for _, v := range w.vs {
		switch v.Status {
		case doctor.Problem:
			out = append(out, fmt.Sprintf("%s: %s", v.Condition.Type, sink.Compose(v.Lead, 0)))
		case doctor.Unknown:
			unknown++
			why = v.Lead.Label
		}
	}
	if unknown > 0 {
		out = append(out, fmt.Sprintf("%d conditions cannot be told (%s)", unknown, why))
	}
	return out
}

// finish records the outcome and prints it with, for a failure, the hint
// and the runbook of the conditions that are not ok.
func (w *waiter) finish(outcome, diagnosis string) {
	r := &w.res
	r.Outcome, r.Seconds, r.Diagnosis = outcome, time.Since(w.start).Seconds(), diagnosis
	r.Started, r.Registered = w.tl.Started.UTC(), w.tl.Registered.UTC()
	if d, ok := w.tl.RegisterDuration(); ok {
		r.RegisterSeconds = d.Seconds()
	}
	for _, c := range sink.NewReport(w.vs, time.Now(), w.f.root).Conditions {
		if c.Status != doctor.OK.String() {
			r.Conditions = append(r.Conditions, c)
		}
	}
	if outcome == "joined" {
		line := fmt.Sprintf("joined: kubelet registered and healthy after %.1fs", r.Seconds)
		if r.RegisterSeconds > 0 {
			line += fmt.Sprintf(" (kubelet start to registration %.1fs)", r.RegisterSeconds)
		}
		w.printf("%s\n", sink.Paint(w.color, sink.StatusStyle("ok"), line))
		return
	}
	w.printf("%s %s\n", sink.Paint(w.color, sink.StatusStyle("problem"), outcome+":"), diagnosis)
	for _, c := range r.Conditions {
		if c.Status != doctor.Problem.String() {
			continue
		}
		if c.Hint != "" {
			w.printf("  %s hint:    %s\n", c.Type, c.Hint)
		}
		w.printf("  %s runbook: %s\n", c.Type, c.Runbook)
	}
}
