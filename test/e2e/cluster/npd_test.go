package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// monitorConfig is the part of an NPD custom-plugin-monitor file the suite
// reads; rewriting goes through a generic map so unknown fields survive.
type monitorConfig struct {
	File       string // base name in config/npd
	Source     string `json:"source"`
	Conditions []struct {
		Type    string `json:"type"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"conditions"`
	Rules []monitorRule `json:"rules"`
}

type monitorRule struct {
	Type      string   `json:"type"` // permanent | temporary
	Condition string   `json:"condition"`
	Reason    string   `json:"reason"`
	Path      string   `json:"path"`
	Args      []string `json:"args"`
}

// about reports whether the rule decides or alerts on one of conds: a
// permanent rule names its condition, a temporary one (`kubelet-doctor
// alert CONDITION`) has it among its arguments.
func (r *monitorRule) about(conds []string) bool {
	for _, c := range conds {
		if r.Condition == c || slices.Contains(r.Args, c) {
			return true
		}
	}
	return false
}

// configSet is the shipped config/npd directory.
type configSet []*monitorConfig

// loadMonitorConfigs reads config/npd/*.json.
func loadMonitorConfigs(dir string) (configSet, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no NPD config files in %s", dir)
	}
	var set configSet
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read npd config: %w", err)
		}
		m := &monitorConfig{File: filepath.Base(f)}
		if err := json.Unmarshal(data, m); err != nil {
			return nil, fmt.Errorf("parse npd config %s: %w", f, err)
		}
		set = append(set, m)
	}
	return set, nil
}

// expectation is what the shipped configs say a condition looks like.
type expectation struct {
	File           string // the file declaring the condition
	Source         string // Events' source.component
	Problem        string // reason while True (the permanent rule's)
	Healthy        string // reason while False (the condition's default)
	HealthyMessage string
	Event          string // reason of the temporary rule's Events; "" when none
}

// expect looks the condition up, so scenarios name only the condition type
// and cannot drift from the deployed reasons.
func (cs configSet) expect(cond string) (expectation, error) {
	var e expectation
	for _, m := range cs {
		for _, c := range m.Conditions {
			if c.Type == cond {
				if e.File != "" {
					return e, fmt.Errorf("condition %s is in both %s and %s", cond, e.File, m.File)
				}
				e.File, e.Source, e.Healthy, e.HealthyMessage = m.File, m.Source, c.Reason, c.Message
			}
		}
		for _, r := range m.Rules {
			switch {
			case r.Type == "permanent" && r.Condition == cond:
				e.Problem = r.Reason
			case r.Type == "temporary" && r.about([]string{cond}):
				e.Event = r.Reason
			}
		}
	}
	switch {
	case e.File == "":
		return e, fmt.Errorf("no config/npd file declares condition %s", cond)
	case e.Problem == "" || e.Healthy == "":
		return e, fmt.Errorf("%s: condition %s needs a permanent rule and a default reason", e.File, cond)
	}
	return e, nil
}

// testNode is the on-disk side of one simulated node: the host root that
// kubelet-doctor inspects, and its state directory.
type testNode struct {
	Name  string
	Root  string // holds var/log/journal/<machine-id>/system.journal
	State string
	Args  []string // more plugin arguments (--reference=...)
}

// referenceDir stands for the DaemonSet's mount of kube-system/kubelet-config
// (the shipped rules' --reference): a directory of the node's own, beside
// its state, so that no scenario reads the machine's /etc.
func (n *testNode) referenceDir() string {
	return filepath.Join(filepath.Dir(n.State), "reference")
}

// journalFile is where the export helper appends the node's journal: the
// persistent journal, in the machine-id subdirectory journald itself uses.
func (n *testNode) journalFile(machineID string) string {
	return filepath.Join(n.Root, "var", "log", "journal", machineID, "system.journal")
}

// rewriteConfig returns the shipped config src with the test's paths: the
// rule path becomes bin, --root the node's root (any argument under the
// shipped root moves along), --state-dir the node's state directory,
// --reference the node's referenceDir, and
// invoke_interval short enough that every step of a scenario takes seconds.
// Rules about other conditions than conds are dropped (nil keeps all): the
// shared alerts file would otherwise run six alerts a second per scenario
// on a 2-core machine. Everything else (timeouts, message length, windows,
// skip_initial_status, message-change updates) stays as shipped, so the
// suite tests the configuration users deploy. kept is the number of rules left.
func rewriteConfig(src []byte, bin string, node *testNode, interval time.Duration, conds []string) (out []byte, kept int, err error) {
	var cfg map[string]any
	if err := json.Unmarshal(src, &cfg); err != nil {
		return nil, 0, fmt.Errorf("parse config: %w", err)
	}
	pc, _ := cfg["pluginConfig"].(map[string]any)
	if pc == nil {
		pc = map[string]any{}
		cfg["pluginConfig"] = pc
	}
	pc["invoke_interval"] = interval.String()
	rules, _ := cfg["rules"].([]any)
	var keep []any
	for i, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok {
			return nil, 0, fmt.Errorf("rule %d is not an object", i)
		}
		var args []string
		if raw, ok := rule["args"].([]any); ok {
			for _, a := range raw {
				s, ok := a.(string)
				if !ok {
					return nil, 0, fmt.Errorf("rule %d: argument %v is not a string", i, a)
				}
				args = append(args, s)
			}
		}
		cond, _ := rule["condition"].(string)
		if conds != nil && !(&monitorRule{Condition: cond, Args: args}).about(conds) {
			continue
		}
		rule["path"] = bin
		rule["args"] = append(rewriteArgs(args, node), node.Args...)
		keep = append(keep, rule)
	}
	cfg["rules"] = keep
	out, err = json.MarshalIndent(cfg, "", "  ")
	return out, len(keep), err
}

// rewriteArgs points --root and --state-dir at the test node, adding them
// when the shipped args rely on defaults: a test must never read the real
// host's journal or write the real /var/lib/kubelet-doctor.
func rewriteArgs(args []string, node *testNode) []string {
	shippedRoot := ""
	for i, a := range args {
		if a == "--root" && i+1 < len(args) {
			shippedRoot = args[i+1]
		} else if v, ok := strings.CutPrefix(a, "--root="); ok {
			shippedRoot = v
		}
	}
	shippedRoot = strings.TrimRight(shippedRoot, "/")
	move := func(v string) string {
		if shippedRoot != "" && strings.HasPrefix(v, shippedRoot+"/") {
			return node.Root + strings.TrimPrefix(v, shippedRoot)
		}
		return v
	}
	var out []string
	seenRoot, seenState := false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "--root" || a == "--state-dir") && i+1 < len(args):
			v := node.Root
			if a == "--state-dir" {
				v, seenState = node.State, true
			} else {
				seenRoot = true
			}
			out = append(out, a, v)
			i++
		case strings.HasPrefix(a, "--root="):
			out, seenRoot = append(out, "--root="+node.Root), true
		case strings.HasPrefix(a, "--state-dir="):
			out, seenState = append(out, "--state-dir="+node.State), true
		case strings.HasPrefix(a, "--reference="):
			// The DaemonSet's kubelet-config mount: the node's own directory
			// (node.referenceDir), empty unless the scenario fills it.
			out = append(out, "--reference="+filepath.Join(node.referenceDir(), filepath.Base(strings.TrimPrefix(a, "--reference="))))
		default:
			if name, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(name, "--") {
				out = append(out, name+"="+move(v))
			} else {
				out = append(out, move(a))
			}
		}
	}
	if !seenRoot {
		out = append(out, "--root", node.Root)
	}
	if !seenState {
		out = append(out, "--state-dir", node.State)
	}
	return out
}

// npdRun is one real node-problem-detector serving one test node.
type npdRun struct {
	proc    *clustertest.Proc
	metrics string // http://127.0.0.1:PORT/metrics
}

// startNPD runs NPD for node with the k8s exporter against the test cluster
// (as the kubelet-doctor service account, through kubeconfig) and the
// Prometheus exporter on a free loopback port.
func startNPD(t *testing.T, s *suite, node *testNode, conditions ...string) *npdRun {
	t.Helper()
	dir := filepath.Join(node.State, "..", "npd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create npd dir: %v", err)
	}
	var files []string
	for _, m := range s.configs {
		src, err := os.ReadFile(filepath.Join(s.repo, "config", "npd", m.File))
		if err != nil {
			t.Fatalf("read npd config: %v", err)
		}
		out, kept, err := rewriteConfig(src, s.bin, node, s.interval, conditions)
		if err != nil {
			t.Fatalf("rewrite %s: %v", m.File, err)
		}
		if kept == 0 {
			continue // nothing about these conditions
		}
		dst := filepath.Join(dir, m.File)
		if err := os.WriteFile(dst, out, 0o644); err != nil {
			t.Fatalf("write npd config: %v", err)
		}
		files = append(files, dst)
	}
	sort.Strings(files)
	port, err := clustertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// The host install's form (config/systemd/kubelet-doctor-npd.service of
	// `make dist`): no server in the URL, NPD takes it from the kubeconfig.
	override := "?inClusterConfig=false&auth=" + url.QueryEscape(s.npdKubeconfig)
	p, err := clustertest.StartProc(t, dir, "node-problem-detector", 40, []string{"NODE_NAME=" + node.Name}, s.npd,
		"--hostname-override", node.Name,
		"--apiserver-override", override,
		// /healthz and /conditions are not needed: conditions are read from
		// the Node object, which is what consumers see.
		"--port", "0",
		"--prometheus-address", "127.0.0.1",
		"--prometheus-port", strconv.Itoa(port),
		"--config.custom-plugin-monitor", strings.Join(files, ","),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after startProc's own cleanup, so it runs first (LIFO):
	// stop NPD, then wait for plugin runs it left behind before the temp
	// dirs are removed.
	t.Cleanup(func() {
		p.Stop()
		if err := waitGone(s.bin, node.Root, 15*time.Second); err != nil {
			t.Errorf("plugin runs outlived NPD: %v", err)
		}
		// A permission rbac.yaml lacks shows nowhere else: client-go's event
		// recorder and NPD's condition manager log the 403 and retry. The
		// API server names NPD's ServiceAccount in it; the plugin's own
		// lines in this log quote the kubelet's denials (system:node,
		// system:anonymous) and rule names such as forbidden-anonymous.
		if data, err := os.ReadFile(p.Log); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if strings.Contains(line, `forbidden: User "system:serviceaccount:`) || strings.Contains(line, `forbidden: User \"system:serviceaccount:`) {
					t.Errorf("NPD was denied by the API server (rbac.yaml): %s", line)
					break
				}
			}
		}
	})
	return &npdRun{proc: p, metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", port)}
}

// alive fails the test when NPD has exited: every later wait would only
// time out and hide the reason.
func (r *npdRun) alive(t *testing.T) {
	t.Helper()
	if done, err := r.proc.Exited(); done {
		t.Fatalf("node-problem-detector exited (%v):\n%s", err, clustertest.Tail(r.proc.Log, 30))
	}
}

// gauge returns problem_gauge{type,reason} from NPD's Prometheus endpoint;
// ok is false when the series is absent.
func (r *npdRun) gauge(ctx context.Context, typ, reason string) (value float64, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.metrics, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("scrape npd metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("scrape npd metrics: %s", resp.Status)
	}
	return findGauge(resp.Body, typ, reason)
}

// findGauge parses the Prometheus text format just enough for
// problem_gauge, whose labels NPD writes in sorted order (reason, type).
func findGauge(r io.Reader, typ, reason string) (float64, bool, error) {
	want := fmt.Sprintf(`problem_gauge{reason=%q,type=%q}`, reason, typ)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, want); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return 0, false, fmt.Errorf("parse %q: %w", line, err)
			}
			return v, true, nil
		}
	}
	return 0, false, sc.Err()
}
