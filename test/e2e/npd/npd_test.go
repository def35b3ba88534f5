package npd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/npdconfig"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
	"github.com/kubelet-doctor/kubelet-doctor/test/npdtest"
)

// scenario is what raises and clears one condition, built from the
// kubelet's own messages (docs/kubelet-messages.md).
type scenario struct {
	failure []line
	// recovery are lines that prove the condition healthy again; nil when
	// the kubelet logs none, and noRecovery says how it clears instead.
	recovery   []line
	noRecovery string
	// cause is text the True condition's message must contain (any of
	// the alternatives, case-insensitively): the message names the cause.
	cause []string
	// failureAgain and recoveryAgain are a second, new failure and its
	// recovery, for the startup alert that must fire again (nil: the same
	// lines as the first time).
	failureAgain, recoveryAgain []line
}

// registered is the kubelet's proof that it reached the API server with a
// trusted, authorised identity and registered.
func registered() []line {
	return []line{
		kubelet('I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
		kubelet('I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`),
	}
}

// scenarios has one entry per condition, by category (condition.Startup is the kubelet
// startup condition, which has no line category).
var scenarios = map[rules.Category]scenario{
	rules.Certificate: {
		failure: repeat(3, kubelet('E', "transport.go:133",
			`"The currently active client certificate has expired, but the server is not responsive. A restart may be necessary to retrieve new initial credentials."`)),
		recovery: []line{
			kubelet('I', "certificate_store.go:147", `"Loading cert/key pair from a file" filePath="/var/lib/kubelet/pki/kubelet-client-current.pem"`),
			kubelet('I', "transport.go:147", `"Certificate rotation detected, shutting down client connections to start using new credentials"`),
		},
		cause: []string{"expired"},
	},
	rules.CATrust: {
		failure: repeat(3, kubelet('E', "kubelet_node_status.go:107",
			`"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`)),
		recovery: registered(),
		cause:    []string{"unknown authority"},
	},
	rules.Bootstrap: {
		failure: repeat(3, kubelet('E', "run.go:72",
			`"command failed" err="failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory"`)),
		recovery: cat(
			[]line{kubelet('I', "csr.go:299", `"Certificate signing request is issued" csr="csr-8x2kq"`)},
			registered(),
		),
		cause: []string{"bootstrap"},
	},
	rules.Authorization: {
		failure: repeat(3, kubelet('E', "kubelet_node_status.go:113",
			`"Unable to register node with API server, error getting existing node" err="nodes \"worker-1\" is forbidden: User \"system:anonymous\" cannot get resource \"nodes\" in API group \"\" at the cluster scope" node="worker-1"`)),
		recovery: registered(),
		cause:    []string{"anonymous", "forbidden"},
	},
	rules.Registration: {
		failure: repeat(3, kubelet('E', "kubelet_node_status.go:107",
			`"Unable to register node with API server" err="Node \"worker-1\" is invalid: metadata.labels: Invalid value: \"-bad-\": name part must consist of alphanumeric characters" node="worker-1"`)),
		recovery: registered(),
		cause:    []string{"registration"},
	},
	rules.APIServerConnectivity: {
		failure: repeat(3, kubelet('E', "controller.go:145",
			`"Failed to ensure lease exists, will retry" err="Get \"https://10.0.0.10:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s\": dial tcp 10.0.0.10:6443: connect: connection refused" interval="7s"`)),
		recovery: registered(),
		cause:    []string{"refused"},
	},
	rules.KubeletConfig: {
		failure: repeat(3, kubelet('E', "run.go:72",
			`"command failed" err="failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory"`)),
		// A kubelet that reaches its main sync loop has loaded and
		// validated its configuration.
		recovery: cat(started(), []line{kubelet('I', "kubelet.go:2488", `"Starting kubelet main sync loop"`)}),
		cause:    []string{"config"},
	},
	rules.Runtime: {
		failure: repeat(3, kubelet('E', "run.go:72",
			`"command failed" err="failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint \"unix:///run/containerd/containerd.sock\": rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or directory\""`)),
		recovery: cat(started(), []line{
			kubelet('I', "server.go:1423", `"Using cgroup driver setting received from the CRI runtime" cgroupDriver="systemd"`),
		}, registered()),
		cause: []string{"containerd", "runtime", "cri"},
	},
	rules.Resources: {
		failure: repeat(3, kubelet('E', "server.go:245",
			`"Failed to create listener for podResources endpoint" err="listen unix /var/lib/kubelet/pod-resources/kubelet.sock: bind: no such file or directory"`)),
		recovery: []line{
			kubelet('I', "server.go:249", `"Starting to serve the podresources API" endpoint="unix:/var/lib/kubelet/pod-resources/kubelet.sock"`),
		},
		cause: []string{"pod-resources", "podresources", "listener"},
	},
	rules.DNS: {
		failure: repeat(3, kubelet('E', "dns.go:153",
			`"Nameserver limits exceeded" err="Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4"`)),
		noRecovery: "the kubelet logs nothing when its DNS settings become usable: the condition clears when the errors leave the 10m window",
		cause:      []string{"nameserver"},
	},
	condition.Startup: {
		failure:  crashLoop(150*time.Second, "failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false"),
		recovery: ago(60*time.Second, started()...),
		cause:    []string{"swap"},
		// A crash loop that starts again within the window is the same
		// episode; a new fatal cause is what makes it a new failure.
		failureAgain:  crashLoop(58*time.Second, "failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: open /var/lib/kubelet/config.yaml: no such file or directory"),
		recoveryAgain: ago(35*time.Second, started()...),
	},
}

func TestEveryConditionHasAScenario(t *testing.T) {
	seen := map[rules.Category]bool{}
	for _, c := range rules.Conditions() {
		seen[c.Category] = true
		if _, ok := scenarios[c.Category]; !ok {
			t.Errorf("condition %s (category %q) has no end-to-end scenario", c.Type, c.Category)
		}
	}
	for category := range scenarios {
		if !seen[category] {
			t.Errorf("scenario for category %q matches no condition of the registry", category)
		}
	}
}

// TestScenarioLinesMeanWhatTheySay checks the scenarios against the
// classifier alone, in milliseconds: failure lines are failures of the
// condition's category and recovery lines prove it healthy. A miss here
// names the line or the missing recovery marker that the NPD run would
// only report as a timeout.
func TestScenarioLinesMeanWhatTheySay(t *testing.T) {
	for _, c := range rules.Conditions() {
		sc, ok := scenarios[c.Category]
		if !ok {
			continue
		}
		t.Run(c.Type, func(t *testing.T) {
			for _, fail := range [][]line{sc.failure, sc.failureAgain} {
				for _, m := range unmatchedFailures(c, fail) {
					t.Errorf("failure line is not a %q failure: %s", c.Category, m)
				}
			}
			for _, rec := range [][]line{sc.recovery, sc.recoveryAgain} {
				if rec != nil && !recovers(c, rec) {
					t.Errorf("no recovery line proves %s healthy: %s", c.Type, recoveryGap(c))
				}
			}
		})
	}
}

// messages returns the MESSAGE of each line.
func messages(ls []line) []string {
	at := time.Now()
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.entry(at).Message
	}
	return out
}

// unmatchedFailures returns the failure lines the classifier does not put
// in c's category. For the startup condition the failures are kubelet
// exits and fatal errors, whatever their category.
func unmatchedFailures(c rules.Condition, ls []line) []string {
	cl := rules.New()
	var bad []string
	exits := 0
	for _, m := range messages(ls) {
		v := cl.Classify(m)
		switch {
		case c.Category == condition.Startup:
			if v.Lifecycle == rules.LifecycleExited {
				exits++
			}
		case v.Category != c.Category:
			bad = append(bad, fmt.Sprintf("%q is %q (rule %q)", m, v.Category, v.Rule))
		}
	}
	if c.Category == condition.Startup && len(ls) > 0 && exits == 0 {
		bad = append(bad, "no kubelet exit among the lines")
	}
	return bad
}

// recovers reports whether a line of ls proves c healthy: a recovery
// marker for its category, or a kubelet start for the startup condition.
func recovers(c rules.Condition, ls []line) bool {
	cl := rules.New()
	for _, m := range messages(ls) {
		v := cl.Classify(m)
		if c.Category == condition.Startup && v.Lifecycle == rules.LifecycleStarted {
			return true
		}
		for _, r := range v.Recovers {
			if r == c.Category {
				return true
			}
		}
	}
	return false
}

func recoveryGap(c rules.Condition) string {
	return fmt.Sprintf("the registry has no recovery marker (KindRecovery with Recovers: %q) matching these lines", c.Category)
}

// condRun is one condition's part of the end-to-end run: its own node root,
// journal and state directory, so that its lines cannot raise another
// condition, under the one NPD that runs every config file.
type condRun struct {
	c      rules.Condition
	sc     scenario
	l      layout
	j      *nodeJournal
	alerts bool // has a startup alert rule
	broken bool // a phase stopped: later phases would only repeat it
	// recoverable: the classifier says the recovery lines clear the
	// condition; when not, waiting for NPD to clear it is pointless.
	recoverable bool
	// run counts taken when a phase starts, for "N more runs" waits.
	permBefore, alertBefore int
}

// phase is one step of every condition's walk: act changes the node (for
// all conditions first, so that NPD works on them at once), check then
// waits for NPD's verdict on each.
type phase struct {
	name  string
	skip  func(r *condRun) bool // nil: every condition
	act   func(t *testing.T, p *npdProc, r *condRun)
	check func(t *testing.T, p *npdProc, r *condRun)
}

// TestNPDRaisesAndClearsEveryCondition runs the real NPD with every config
// file of config/npd/ (one NPD, as deployed) and walks every condition of
// the registry through: healthy journal → False; failures → True with a
// message naming the cause, published once while unchanged, and one alert;
// recovery → False; a new failure → a second alert; no journal → Unknown.
func TestNPDRaisesAndClearsEveryCondition(t *testing.T) {
	b := needBinaries(t)
	if err := journalexport.Available(); err != nil {
		t.Fatalf("making journal files: %v", err)
	}
	dir := t.TempDir()
	var runs []*condRun
	var configs []string
	for _, c := range rules.Conditions() {
		sc, ok := scenarios[c.Category]
		if !ok {
			continue // reported by TestEveryConditionHasAScenario
		}
		cdir := filepath.Join(dir, c.Type)
		r := &condRun{c: c, sc: sc, alerts: npdconfig.Alerts(c), recoverable: recovers(c, sc.recovery),
			l: layout{bin: b.bin, root: filepath.Join(cdir, "root"), stateDir: filepath.Join(cdir, "state")}}
		if err := os.MkdirAll(r.l.stateDir, 0o755); err != nil {
			t.Fatal(err)
		}
		r.j = newNodeJournal(t, r.l.root)
		r.j.append(healthy())
		configs = append(configs, writeConfig(t, cdir, npdconfig.FileName(c), npdconfig.FileName(c), r.l, nil))
		if r.alerts {
			configs = append(configs, writeConfig(t, cdir, npdconfig.AlertsFile, "alerts.json", r.l, func(_, _, reason string) bool {
				return reason == c.EventReason
			}))
		}
		runs = append(runs, r)
	}
	p := &npdProc{npdtest.Start(t, b.npd, dir, configs)}

	for _, ph := range phases {
		for _, r := range runs {
			if !r.broken && (ph.skip == nil || !ph.skip(r)) && ph.act != nil {
				ph.act(t, p, r)
			}
		}
		t.Run(ph.name, func(t *testing.T) {
			for _, r := range runs {
				if r.broken || (ph.skip != nil && ph.skip(r)) {
					continue
				}
				// A check that stopped (t.Fatal) leaves the condition in an
				// unknown state for the next phase; one that only reported
				// an error (a message wording) or skipped does not.
				finished := false
				ok := t.Run(r.c.Type, func(t *testing.T) {
					ph.check(t, p, r)
					finished = true
				})
				r.broken = r.broken || (!ok && !finished)
			}
		})
	}
}

// noAlerts skips the second-episode phases: they need an alert rule and a
// first recovery.
func noAlerts(r *condRun) bool { return !r.alerts || !r.recoverable }

var phases = []phase{{
	// The plugin runs and NPD changes nothing: the default is False, and
	// an Unknown would be a logged change.
	name: "healthy journal is False",
	check: func(t *testing.T, p *npdProc, r *condRun) {
		p.waitRuns(t, "healthy journal", "permanent", r.c.Type, r.c.ProblemReason, 0, 2)
		if r.alerts {
			p.waitRuns(t, "healthy journal", "temporary", "", r.c.EventReason, 0, 2)
		}
		ms := r.expect(t, p, "healthy journal", 0, 0)
		if g, _ := gauge(ms, r.c.Type, r.c.HealthyReason); g != 0 {
			t.Errorf("problem_gauge{reason=%q} = %v, want 0", r.c.HealthyReason, g)
		}
		if ch := p.changes(r.c.Type); len(ch) != 0 {
			t.Fatalf("a healthy journal changed the condition: %+v\nNPD log:\n%s", ch, p.logTail(r.c.Type))
		}
	},
}, {
	name: "failure is True naming the cause, with one alert",
	act:  func(t *testing.T, p *npdProc, r *condRun) { r.j.append(r.sc.failure) },
	check: func(t *testing.T, p *npdProc, r *condRun) {
		r.expect(t, p, "failure entries", 1, 1)
		p.waitFor(t, "failure logged", phaseTimeout, r.lastChange(p, "True", r.c.ProblemReason), r.c.Type)
		ch := p.changes(r.c.Type)
		msg := ch[len(ch)-1].message
		if !containsAny(msg, r.sc.cause) {
			t.Errorf("True message %q names none of %q", msg, r.sc.cause)
		}
		t.Logf("True: %q", msg)
	},
}, {
	// Messages are stable while the problem is unchanged, so although
	// message-change updates are on NPD publishes nothing new, and the
	// alert does not fire again.
	name: "unchanged failure is published once",
	act: func(t *testing.T, p *npdProc, r *condRun) {
		r.permBefore = p.runs("permanent", r.c.Type, r.c.ProblemReason)
		r.alertBefore = p.runs("temporary", "", r.c.EventReason)
	},
	check: func(t *testing.T, p *npdProc, r *condRun) {
		p.waitRuns(t, "failure persists", "permanent", r.c.Type, r.c.ProblemReason, r.permBefore, 3)
		if r.alerts {
			p.waitRuns(t, "failure persists", "temporary", "", r.c.EventReason, r.alertBefore, 3)
		}
		ms := r.expect(t, p, "failure persists", 1, 1)
		if n, _ := counter(ms, r.c.ProblemReason); n != 1 {
			t.Errorf("problem_counter{reason=%q} = %v after 3 more runs of an unchanged failure, want 1: the message changed while the problem did not: %+v",
				r.c.ProblemReason, n, p.changes(r.c.Type))
		}
	},
}, {
	name: "recovery is False",
	act: func(t *testing.T, p *npdProc, r *condRun) {
		if r.sc.recovery != nil {
			r.j.append(r.sc.recovery)
		}
	},
	check: func(t *testing.T, p *npdProc, r *condRun) {
		if r.sc.recovery == nil {
			t.Skip(r.sc.noRecovery)
		}
		if !r.recoverable {
			// Reported (with the lines) by TestScenarioLinesMeanWhatTheySay.
			t.Errorf("recovery not attempted: %s", recoveryGap(r.c))
			return
		}
		r.expect(t, p, "recovery entries", 0, 1)
		p.waitFor(t, "recovery logged", phaseTimeout, r.lastChange(p, "False", r.c.HealthyReason), r.c.Type)
	},
}, {
	name: "new failure alerts again",
	skip: noAlerts,
	act: func(t *testing.T, p *npdProc, r *condRun) {
		r.j.append(or(r.sc.failureAgain, r.sc.failure))
	},
	check: func(t *testing.T, p *npdProc, r *condRun) {
		r.expect(t, p, "a new failure after recovery", 1, 2)
	},
}, {
	name: "second recovery is False",
	skip: noAlerts,
	act: func(t *testing.T, p *npdProc, r *condRun) {
		r.j.append(or(r.sc.recoveryAgain, r.sc.recovery))
	},
	check: func(t *testing.T, p *npdProc, r *condRun) {
		r.expect(t, p, "second recovery", 0, 2)
		p.waitFor(t, "second recovery logged", phaseTimeout, r.lastChange(p, "False", r.c.HealthyReason), r.c.Type)
	},
}, {
	// The plugin cannot tell; NPD says Unknown with the default reason
	// (its rule for Unknown) and no gauge is 1. The alert counter is not
	// asserted: `alert` exits 2 when it cannot tell (docs/cli.md), and NPD
	// turns every exit >= 1 of a temporary rule into an Event, so it grows
	// on each run while the journal is missing; it is logged for the record.
	name: "missing journal is Unknown",
	act: func(t *testing.T, p *npdProc, r *condRun) {
		if err := os.Rename(r.j.dir, r.j.dir+".gone"); err != nil {
			t.Fatal(err)
		}
	},
	check: func(t *testing.T, p *npdProc, r *condRun) {
		p.waitFor(t, "journal missing", phaseTimeout, r.lastChange(p, "Unknown", r.c.HealthyReason), r.c.Type)
		ms := r.expect(t, p, "journal missing", 0, -1)
		if g, _ := gauge(ms, r.c.Type, r.c.HealthyReason); g != 0 {
			t.Errorf("problem_gauge{reason=%q} = %v, want 0", r.c.HealthyReason, g)
		}
		ch := p.changes(r.c.Type)
		t.Logf("Unknown: %q", ch[len(ch)-1].message)
		if r.alerts {
			n, _ := counter(ms, r.c.EventReason)
			t.Logf("alert counter %s = %v with the journal missing (2 before)", r.c.EventReason, n)
		}
	},
}}

// expect waits until the metrics show wantGauge for the condition's
// problem gauge and (when it alerts, and wantAlerts >= 0) wantAlerts for
// its alert counter.
func (r *condRun) expect(t *testing.T, p *npdProc, what string, wantGauge, wantAlerts float64) []metric {
	t.Helper()
	var ms []metric
	p.waitFor(t, what, phaseTimeout, func() string {
		var miss string
		if ms, miss = p.scrape(); miss != "" {
			return miss
		}
		if g, ok := gauge(ms, r.c.Type, r.c.ProblemReason); !ok || g != wantGauge {
			return fmt.Sprintf("problem_gauge{type=%q,reason=%q} = %v (exported: %v), want %v", r.c.Type, r.c.ProblemReason, g, ok, wantGauge)
		}
		if r.alerts && wantAlerts >= 0 {
			if n, ok := counter(ms, r.c.EventReason); !ok || n != wantAlerts {
				return fmt.Sprintf("problem_counter{reason=%q} = %v (exported: %v), want %v", r.c.EventReason, n, ok, wantAlerts)
			}
		}
		return ""
	}, r.c.Type, r.c.EventReason)
	return ms
}

// lastChange is a waitFor condition: NPD's last logged change of the
// condition has this status and reason.
func (r *condRun) lastChange(p *npdProc, status, reason string) func() string {
	return func() string {
		ch := p.changes(r.c.Type)
		if len(ch) == 0 {
			return "no condition change logged"
		}
		if last := ch[len(ch)-1]; last.status != status || last.reason != reason {
			return fmt.Sprintf("last change is %s/%s %q, want %s/%s", last.status, last.reason, last.message, status, reason)
		}
		return ""
	}
}

func or(a, b []line) []line {
	if a != nil {
		return a
	}
	return b
}

// writeConfig writes the test's version of the committed config file name
// as dir/as.
func writeConfig(t *testing.T, dir, name, as string, l layout, keep func(typ, cond, reason string) bool) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(configDir, name))
	if err != nil {
		t.Fatalf("read config: %v (run make generate)", err)
	}
	out, err := npdconfig.Rewrite(data, npdconfig.Local{Bin: l.bin, Root: l.root, StateDir: l.stateDir, Interval: interval, Hold: hold, Keep: keep})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p := filepath.Join(dir, as)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func containsAny(s string, subs []string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(s, strings.ToLower(sub)) {
			return true
		}
	}
	return false
}
