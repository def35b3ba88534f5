package logs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/klog"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// The decision logic is tested with a table classifier so that these tests
// say what the evidence does with verdicts, whatever the registry's rules
// are; the registry has its own tests, and the end-to-end suites run both.
var verdicts = map[string]rules.Verdict{
	"register-x509": {Category: rules.CATrust, Condition: "KubeletCATrustProblem", Rule: "register-node",
		Label: "x509 unknown authority", Cause: "POST https://10.0.0.1:6443/api/v1/nodes", Hint: "compare CAs"},
	"lease-refused": {Category: rules.APIServerConnectivity, Condition: "KubeletAPIServerUnreachable", Rule: "lease",
		Label: "apiserver connection refused", Cause: "GET https://10.0.0.1:6443/apis/coordination.k8s.io/v1/leases", BootTransient: true},
	"node-not-found": {Category: rules.Registration, Condition: "KubeletRegistrationProblem", Rule: "node-not-found",
		Label: "node not registered", Cause: `node "w1" not found`, BootTransient: true},
	"registered": {Category: rules.None, Recovers: []rules.Category{rules.Registration, rules.CATrust, rules.APIServerConnectivity}},
	"config-missing": {Category: rules.KubeletConfig, Condition: "KubeletConfigProblem", Rule: "config-file",
		Label: "kubelet config file missing", Cause: "/var/lib/kubelet/config.yaml", Fatal: true},
	"lenient": {Category: rules.KubeletConfig, Condition: "KubeletConfigProblem", Rule: "lenient-decoding",
		Label: "unknown config field", Cause: `unknown field "cgroupDrivr"`},
	"exited":     {Category: rules.None, Lifecycle: rules.LifecycleExited},
	"started":    {Category: rules.None, Lifecycle: rules.LifecycleStarted},
	"sd-started": {Category: rules.None, Lifecycle: rules.LifecycleStarted, Rule: "systemd-started"},
	"stopped":    {Category: rules.None, Lifecycle: rules.LifecycleStopped},
}

type tableClassifier struct{ calls atomic.Int64 }

func (c *tableClassifier) ClassifyParsed(l *klog.Line) rules.Verdict { return c.Classify(l.Msg) }

func (c *tableClassifier) Classify(line string) rules.Verdict {
	c.calls.Add(1)
	key, _, _ := strings.Cut(line, " ")
	if v, ok := verdicts[key]; ok {
		return v
	}
	return rules.Verdict{Category: rules.None}
}

var (
	t0      = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	window  = Window{Span: 10 * time.Minute, BootGrace: 5 * time.Minute}
	caTrust = named(condition.TypeCATrust, "CA trusted")
	regCond = named(condition.TypeRegistration, "registered")
	apiCond = named(condition.TypeAPIServer, "reachable")
	startup = named(condition.TypeStartup, "kubelet running")
	cfgCond = named(condition.TypeConfig, "config ok")
)

// named is a condition of the table with a short healthy message, so that
// the tables below read well.
func named(typ, healthy string) condition.Condition {
	c, _ := condition.ByType(typ)
	c.HealthyMessage = healthy
	return c
}

// message is the NPD line of a finding, as the sink renders it.
func message(f doctor.Finding) string {
	if f.Status == doctor.OK {
		return f.Label
	}
	return sink.Compose(f, sink.MaxMessage)
}

type line struct {
	at  time.Duration // after t0
	msg string
}

func fold(lines ...line) *Evidence {
	e := &Evidence{}
	c := &tableClassifier{}
	for _, l := range lines {
		e.Observe(t0.Add(l.at), l.msg, c.Classify(l.msg), window)
	}
	return e
}

func repeat(msg string, from, every time.Duration, n int) []line {
	var out []line
	for i := 0; i < n; i++ {
		out = append(out, line{from + time.Duration(i)*every, msg})
	}
	return out
}

func TestDecideCategoryConditions(t *testing.T) {
	tests := []struct {
		name    string
		lines   []line
		cond    condition.Condition
		now     time.Duration
		want    doctor.Status
		message string
	}{
		{"no evidence is healthy", nil, caTrust, time.Minute, doctor.OK, "CA trusted"},
		{"one x509 failure is enough", []line{{0, "register-x509"}}, caTrust, time.Minute, doctor.Problem,
			"x509 unknown authority: POST https://10.0.0.1:6443/api/v1/nodes (1 in 10m)"},
		{"count is bucketed so the message is stable", repeat("register-x509", 0, 10*time.Second, 7), caTrust, 2 * time.Minute, doctor.Problem,
			"x509 unknown authority: POST https://10.0.0.1:6443/api/v1/nodes (3+ in 10m)"},
		{"failures age out of the window", []line{{0, "register-x509"}}, caTrust, 12 * time.Minute, doctor.OK, "CA trusted"},
		{"a recovery marker clears earlier failures", []line{{0, "register-x509"}, {time.Minute, "registered"}}, caTrust, 2 * time.Minute, doctor.OK, "CA trusted"},
		{"failures after a recovery count again", []line{{0, "register-x509"}, {time.Minute, "registered"}, {2 * time.Minute, "register-x509"}},
			caTrust, 3 * time.Minute, doctor.Problem, "x509 unknown authority: POST https://10.0.0.1:6443/api/v1/nodes (1 in 10m)"},
		{"registration needs three failures", repeat("node-not-found", 0, time.Second, 2), regCond, time.Minute, doctor.OK, "registered"},
		{"three registration failures are a problem", repeat("node-not-found", 0, time.Second, 3), regCond, time.Minute, doctor.Problem,
			`node not registered: node "w1" not found (3+ in 10m)`},
		{"boot-transient errors inside the grace are held",
			append([]line{{0, "started"}}, repeat("node-not-found", time.Second, 10*time.Second, 20)...), regCond, 4 * time.Minute, doctor.OK, "registered"},
		{"boot-transient errors that outlast the grace count",
			append([]line{{0, "started"}}, repeat("node-not-found", time.Second, 10*time.Second, 40)...), regCond, 7 * time.Minute, doctor.Problem,
			`node not registered: node "w1" not found (10+ in 10m)`},
		{"boot-transient errors with no start in view count", repeat("lease-refused", 0, time.Second, 3), apiCond, time.Minute, doctor.Problem,
			"apiserver connection refused: GET https://10.0.0.1:6443/apis/coordin (3+ in 10m)"},
		{"another category's failures do not leak", []line{{0, "register-x509"}}, regCond, time.Minute, doctor.OK, "registered"},
	}
	for _, tt := range tests {
		checkDecide(t, tt.name, tt.lines, tt.cond, tt.now, tt.want, tt.message)
	}
}

// checkDecide folds lines, decides cond at t0+at and compares.
func checkDecide(t *testing.T, name string, lines []line, cond condition.Condition, at time.Duration, want doctor.Status, msg string) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		e := fold(lines...)
		now := t0.Add(at)
		e.Prune(now, window)
		r := Decide(e, cond, now, window)
		if got := message(r); r.Status != want || got != msg {
			t.Errorf("Decide = %v %q, want %v %q", r.Status, got, want, msg)
		}
	})
}

// crash is one kubelet start that dies on a missing config file.
func crash(at time.Duration) []line {
	return []line{{at, "started"}, {at + time.Second, "config-missing"}, {at + time.Second, "exited"}}
}

// crashLoop is n crashes 11s apart, as systemd's RestartSec=10s makes them.
func crashLoop(n int) []line {
	var loop []line
	for i := 0; i < n; i++ {
		loop = append(loop, crash(time.Duration(i)*11*time.Second)...)
	}
	return loop
}

// decideCase is one row of a table of one condition's verdicts.
type decideCase struct {
	name    string
	lines   []line
	now     time.Duration
	want    doctor.Status
	message string
}

func TestDecideOncePerStartAndFatalCauses(t *testing.T) {
	loop := crashLoop(4)
	tests := []decideCase{
		{"a once-per-start finding holds past the window", []line{{0, "lenient"}, {time.Second, "started"}}, time.Hour, doctor.Problem,
			`unknown config field: unknown field "cgroupDrivr" (since kubelet start)`},
		{"a new start without the finding clears it", []line{{0, "lenient"}, {time.Second, "started"}, {20 * time.Minute, "started"}},
			21 * time.Minute, doctor.OK, "config ok"},
		{"a fatal error holds while the crash loop goes on", loop, 50 * time.Second, doctor.Problem,
			"kubelet config file missing: /var/lib/kubelet/config.yaml (3+ in 10m)"},
		{"a fatal error holds just after a new start", append(loop, line{45 * time.Second, "started"}), 50 * time.Second, doctor.Problem,
			"kubelet config file missing: /var/lib/kubelet/config.yaml (3+ in 10m)"},
		{"a start that stays up clears a fatal error", append(loop, line{45 * time.Second, "started"}), 80 * time.Second, doctor.OK, "config ok"},
		{"systemd's start alone is not recovery", append(loop, line{45 * time.Second, "sd-started"}), 100 * time.Second, doctor.Problem,
			"kubelet config file missing: /var/lib/kubelet/config.yaml (3+ in 10m)"},
	}
	for _, tt := range tests {
		checkDecide(t, tt.name, tt.lines, cfgCond, tt.now, tt.want, tt.message)
	}
}

func TestDecideStartup(t *testing.T) {
	loop := crashLoop(4)
	tests := []decideCase{
		{"a kubelet that stays up is healthy", []line{{0, "started"}}, time.Minute, doctor.OK, "kubelet running"},
		{"a crash loop names the fatal error", loop, time.Minute, doctor.Problem,
			"crash-loop: kubelet config file missing: /var/lib/kubelet/conf (3+ exits in 10m)"},
		{"a crash loop right after a new start is still a crash loop", append(loop, line{45 * time.Second, "started"}), 50 * time.Second, doctor.Problem,
			"crash-loop: kubelet config file missing: /var/lib/kubelet/conf (3+ exits in 10m)"},
		{"a start that stays up ends the crash loop", append(loop, line{45 * time.Second, "started"}), 2 * time.Minute, doctor.OK, "kubelet running"},
		{"a start that logs nothing of its own does not end it", append(loop, line{45 * time.Second, "sd-started"}), 2 * time.Minute, doctor.Problem,
			"crash-loop: kubelet config file missing: /var/lib/kubelet/conf (3+ exits in 10m)"},
		{"an exit not followed by a start is not running", crash(0), time.Minute, doctor.Problem,
			"kubelet not running, exited: kubelet config file missing: /var/lib/kubelet/confi"},
		{"a deliberate stop is not running", []line{{0, "started"}, {time.Minute, "stopped"}}, 2 * time.Minute, doctor.Problem, "kubelet not running, stopped"},
		{"fatal errors count as crashes without systemd", repeat("config-missing", 0, 10*time.Second, 3), 40 * time.Second, doctor.Problem,
			"crash-loop: kubelet config file missing: /var/lib/kubelet/conf (3+ exits in 10m)"},
	}
	for _, tt := range tests {
		checkDecide(t, tt.name, tt.lines, startup, tt.now, tt.want, tt.message)
	}
}

// memSource serves one in-memory journal to every invocation.
type memSource struct {
	mem *journal.Memory
	err error
}

func (s memSource) Open() (journal.Reader, error) {
	if s.err != nil {
		return nil, s.err
	}
	return nopClose{s.mem}, nil
}
func (s memSource) Key() string { return "memory" }

type nopClose struct{ *journal.Memory }

func (nopClose) Close() error { return nil }

func newScanner(t *testing.T, src Source, c rules.LineClassifier, now *time.Time) *Scanner {
	t.Helper()
	log := logrus.New()
	log.SetOutput(testWriter{t})
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &Scanner{Source: src, Classifier: func() rules.LineClassifier { return c }, Store: store, Window: window,
		Now: func() time.Time { return *now }, ReuseWithin: 2 * time.Second, Log: log}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func entries(from time.Time, msgs ...string) []journal.Entry {
	var out []journal.Entry
	for i, m := range msgs {
		out = append(out, journal.Entry{Realtime: from.Add(time.Duration(i) * time.Second), Message: m})
	}
	return out
}

func check(t *testing.T, s *Scanner, cond condition.Condition) doctor.Finding {
	t.Helper()
	var r doctor.Finding
	err := s.Update(context.Background(), func(st *State, now time.Time) error {
		r = Decide(&st.Evidence, cond, now, s.Window)
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return r
}

func TestScannerReadsOnlyNewEntries(t *testing.T) {
	mem := journal.NewMemory(entries(t0, "started", "noise", "register-x509")...)
	c := &tableClassifier{}
	now := t0.Add(time.Minute)
	s := newScanner(t, memSource{mem: mem}, c, &now)

	if r := check(t, s, caTrust); r.Status != doctor.Problem {
		t.Fatalf("first run: %v %q, want NonOK", r.Status, message(r))
	}
	if got := c.calls.Load(); got != 3 {
		t.Fatalf("first run classified %d entries, want 3", got)
	}
	mem.Append(entries(t0.Add(2*time.Minute), "registered")...)
	now = t0.Add(3 * time.Minute)
	if r := check(t, s, caTrust); r.Status != doctor.OK {
		t.Fatalf("after recovery: %v %q, want OK", r.Status, message(r))
	}
	if got := c.calls.Load(); got != 4 {
		t.Errorf("second run classified %d entries in all, want 4 (only the new one)", got)
	}
}

func TestScannerReusesAFreshState(t *testing.T) {
	mem := journal.NewMemory(entries(t0, "register-x509")...)
	c := &tableClassifier{}
	now := t0.Add(time.Minute)
	s := newScanner(t, memSource{mem: mem}, c, &now)
	check(t, s, caTrust)
	mem.Append(entries(t0.Add(61*time.Second), "registered")...)
	now = now.Add(time.Second) // within ReuseWithin: the journal is not opened
	if r := check(t, s, caTrust); r.Status != doctor.Problem {
		t.Fatalf("within reuse: %v, want the state's NonOK", r.Status)
	}
	now = now.Add(2 * time.Second)
	if r := check(t, s, caTrust); r.Status != doctor.OK {
		t.Fatalf("after reuse: %v, want OK from the new entry", r.Status)
	}
}

func TestScannerRebuildsBadState(t *testing.T) {
	tests := []struct {
		name  string
		state string
	}{
		{"corrupt json", "{not json"},
		{"other version", `{"version": 99, "cursor": "memory;i=0;t=0"}`},
		{"empty file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := journal.NewMemory(entries(t0, "register-x509")...)
			now := t0.Add(time.Minute)
			s := newScanner(t, memSource{mem: mem}, &tableClassifier{}, &now)
			if err := os.WriteFile(filepath.Join(s.Store.Dir(), Namespace+".json"), []byte(tt.state), 0o600); err != nil {
				t.Fatal(err)
			}
			if r := check(t, s, caTrust); r.Status != doctor.Problem {
				t.Fatalf("got %v %q, want NonOK from a window scan", r.Status, message(r))
			}
			if _, err := decodeState(readState(t, s)); err != nil {
				t.Fatalf("state not rewritten: %v", err)
			}
		})
	}
}

func TestScannerRebuildsAfterABadCursor(t *testing.T) {
	mem := journal.NewMemory(entries(t0, "register-x509")...)
	now := t0.Add(time.Minute)
	s := newScanner(t, memSource{mem: mem}, &tableClassifier{}, &now)
	check(t, s, caTrust)
	st, err := decodeState(readState(t, s))
	if err != nil {
		t.Fatal(err)
	}
	st.Cursor = "garbage"
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(s.Store.Dir(), Namespace+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Second)
	if r := check(t, s, caTrust); r.Status != doctor.Problem || r.Count != 1 {
		t.Fatalf("got %v count %d, want NonOK from one rebuilt failure", r.Status, r.Count)
	}
}

func TestScannerUnreadableJournalIsAnError(t *testing.T) {
	now := t0
	s := newScanner(t, memSource{err: journal.ErrUnreadable}, &tableClassifier{}, &now)
	err := s.Update(context.Background(), func(*State, time.Time) error {
		t.Error("decided on evidence from a journal that could not be read")
		return nil
	})
	if !errors.Is(err, journal.ErrUnreadable) {
		t.Fatalf("Update error = %v, want ErrUnreadable", err)
	}
}

func TestScannerDeadlineKeepsProgress(t *testing.T) {
	mem := journal.NewMemory(entries(t0, "register-x509", "noise", "noise")...)
	now := t0.Add(time.Minute)
	s := newScanner(t, memSource{mem: mem}, &tableClassifier{}, &now)
	s.MaxEntries = 2
	var r doctor.Finding
	err := s.Update(context.Background(), func(st *State, now time.Time) error {
		r = Decide(&st.Evidence, caTrust, now, s.Window)
		return nil
	})
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("error = %v, want ErrIncomplete", err)
	}
	if r.Status != doctor.Problem {
		t.Errorf("partial verdict %v, want what it knows (NonOK)", r.Status)
	}
	now = now.Add(5 * time.Second)
	if err := s.Update(context.Background(), func(*State, time.Time) error { return nil }); err != nil {
		t.Fatalf("second run resumes and completes: %v", err)
	}
}

func TestConcurrentInvocationsReadEachEntryOnce(t *testing.T) {
	var msgs []string
	for i := 0; i < 200; i++ {
		msgs = append(msgs, "noise")
	}
	mem := journal.NewMemory(entries(t0, msgs...)...)
	c := &tableClassifier{}
	now := t0.Add(5 * time.Minute)
	s := newScanner(t, memSource{mem: mem}, c, &now)
	var wg sync.WaitGroup
	for i := 0; i < 11; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := *s
			if err := sc.Update(context.Background(), func(*State, time.Time) error { return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := c.calls.Load(); got != 200 {
		t.Errorf("eleven invocations classified %d entries, want each of 200 once", got)
	}
	left, _ := filepath.Glob(filepath.Join(s.Store.Dir(), ".*.tmp"))
	if len(left) != 0 {
		t.Errorf("temporary state files left behind: %v", left)
	}
}

func readState(t *testing.T, s *Scanner) []byte {
	t.Helper()
	b, err := s.Store.Read(Namespace)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at is a journal entry with the boot stamps journald sets itself.
func at(boot string, wall time.Time, mono time.Duration, msg string) journal.Entry {
	return journal.Entry{Realtime: wall, Monotonic: mono, BootID: boot, Message: msg}
}

const (
	boot1 = "11111111111111111111111111111111"
	boot2 = "22222222222222222222222222222222"
)

// A clock step moves neither the evidence nor the window: both are on the
// boot's monotonic timeline.
func TestClockStepsNeitherLoseNorResurrectEvidence(t *testing.T) {
	up := time.Hour // the boot's age at t0
	t.Run("clock steps back after a failure", func(t *testing.T) {
		mem := journal.NewMemory(
			at(boot1, t0, up, "register-x509"),
			at(boot1, t0.Add(-time.Hour+time.Minute), up+time.Minute, "noise"), // the clock went back an hour
		)
		now := t0.Add(-time.Hour + 2*time.Minute)
		s := newScanner(t, memSource{mem: mem}, &tableClassifier{}, &now)
		s.Boot = doctor.Boot{ID: boot1, Monotonic: up + 2*time.Minute}
		if r := check(t, s, caTrust); r.Status != doctor.Problem {
			t.Fatalf("two minutes after the failure, behind a clock step: %v %q, want the failure", r.Status, message(r))
		}
		// It still ages out after the window, on the monotonic timeline.
		now = now.Add(10 * time.Minute)
		s.Boot.Monotonic += 10 * time.Minute
		if r := check(t, s, caTrust); r.Status != doctor.OK {
			t.Fatalf("twelve minutes after: %v, want healthy", r.Status)
		}
	})
	t.Run("clock steps forward after a failure", func(t *testing.T) {
		mem := journal.NewMemory(at(boot1, t0, up, "register-x509"))
		now := t0.Add(10 * time.Second)
		s := newScanner(t, memSource{mem: mem}, &tableClassifier{}, &now)
		s.Boot = doctor.Boot{ID: boot1, Monotonic: up + 10*time.Second}
		check(t, s, caTrust)
		now = t0.Add(2 * time.Hour) // an hour ahead, a minute later
		s.Boot.Monotonic = up + time.Minute
		if r := check(t, s, caTrust); r.Status != doctor.Problem {
			t.Fatalf("a minute after the failure, past a forward step: %v, want the failure", r.Status)
		}
	})
	t.Run("a reboot with an earlier clock does not resurrect a crash loop", func(t *testing.T) {
		var es []journal.Entry
		for i := 0; i < 4; i++ {
			d := time.Duration(i) * 11 * time.Second
			es = append(es, at(boot1, t0.Add(d), up+d, "started"), at(boot1, t0.Add(d+time.Second), up+d+time.Second, "config-missing"),
				at(boot1, t0.Add(d+time.Second), up+d+time.Second, "exited"))
		}
		es = append(es, at(boot1, t0.Add(50*time.Second), up+50*time.Second, "register-x509"))
		// The new boot's clock is an hour behind the old one's.
		b2 := t0.Add(-time.Hour)
		es = append(es, at(boot2, b2.Add(10*time.Second), 10*time.Second, "started"))
		mem := journal.NewMemory(es...)
		now := b2.Add(15 * time.Second)
		s := newScanner(t, memSource{mem: mem}, &tableClassifier{}, &now)
		s.Boot = doctor.Boot{ID: boot2, Monotonic: 15 * time.Second}
		if r := check(t, s, startup); r.Status != doctor.OK {
			t.Errorf("after a reboot: %v %q, want no crash loop from the previous boot", r.Status, message(r))
		}
		if r := check(t, s, caTrust); r.Status != doctor.Problem {
			t.Errorf("a failure just before the reboot: %v, want still counted in the window", r.Status)
		}
	})
}
