// Package cluster_test runs kubelet-doctor end to end against a real
// cluster control plane: a real etcd and kube-apiserver (Node,RBAC
// authorization, NodeRestriction), the real node-problem-detector v1.36.0
// with its k8s exporter, our shipped NPD configs and RBAC, and node roots
// whose journals are real journal files. What it asserts is what a cluster
// operator sees: node.status.conditions, `kubectl describe node`, Events.
//
// Binaries come from the environment (docs/cli.md):
//
//	KD_KAPI  kube-apiserver/etcd/kubectl multi-call binary (scripts/build-kapi.sh)
//	KD_NPD   node-problem-detector v1.36.0 (scripts/build-npd.sh)
//	KD_BIN   kubelet-doctor
//
// The suite skips when one is unset and fails when one is set but unusable.
package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// Timing. Every wait is a poll with a deadline; the deadlines are generous
// because the machine running the suite may be busy with builds, and a
// poll returns as soon as its condition holds.
const (
	// interval replaces the shipped invoke_interval: each step then takes
	// a second or two instead of minutes.
	interval = time.Second
	// settle covers a plugin run, NPD's 1s condition-manager tick and one
	// PATCH, several times over.
	settle = 60 * time.Second
	// registerWait covers NPD's 10s resync after a failed status PATCH.
	registerWait = 60 * time.Second
	// stable is how long a True condition is watched for a moving
	// lastTransitionTime: several plugin runs.
	stable = 4 * interval
	// maxParallel bounds the scenarios running at once: each is one NPD
	// running two plugin rules a second.
	maxParallel = 12
)

// suite is what every scenario shares: one control plane, the binaries,
// the shipped NPD configs and NPD's credentials.
type suite struct {
	repo          string
	kapi, npd     string
	bin           string
	interval      time.Duration
	cp            *clustertest.ControlPlane
	configs       configSet // config/npd as shipped
	npdKubeconfig string    // kubelet-doctor service account token
}

// binaries reads KD_KAPI, KD_NPD and KD_BIN: unset skips the suite (it needs
// minutes of builds), set but unusable fails it (a CI typo must not turn
// into a silently skipped suite).
func binaries(t *testing.T) (kapi, npd, bin string) {
	t.Helper()
	vars := []string{"KD_KAPI", "KD_NPD", "KD_BIN"}
	var missing []string
	vals := map[string]string{}
	for _, v := range vars {
		vals[v] = os.Getenv(v)
		if vals[v] == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		t.Skipf("cluster e2e needs %s: KD_KAPI=$(scripts/build-kapi.sh) KD_NPD=$(scripts/build-npd.sh) KD_BIN=<built kubelet-doctor> go test ./test/e2e/cluster",
			strings.Join(missing, ", "))
	}
	for _, v := range vars {
		p, err := filepath.Abs(vals[v])
		if err != nil {
			t.Fatalf("%s=%q: %v", v, vals[v], err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s=%q is unusable: %v", v, vals[v], err)
		}
		if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			t.Fatalf("%s=%q is not an executable file", v, vals[v])
		}
		vals[v] = p
	}
	if err := journalexport.Available(); err != nil {
		t.Fatalf("the binaries are set but node journals cannot be written: %v", err)
	}
	return vals["KD_KAPI"], vals["KD_NPD"], vals["KD_BIN"]
}

func setup(t *testing.T) *suite {
	t.Helper()
	kapi, npd, bin := binaries(t)
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{repo: repo, kapi: kapi, npd: npd, bin: bin, interval: interval}
	if s.configs, err = loadMonitorConfigs(filepath.Join(repo, "config", "npd")); err != nil {
		t.Fatalf("load shipped NPD configs: %v", err)
	}

	start := time.Now()
	s.cp = startControlPlane(t, kapi)
	t.Logf("control plane ready in %v at %s", time.Since(start).Round(time.Millisecond), s.cp.URL)

	ctx := context.Background()
	// The shipped RBAC, for real: NPD below runs with exactly these rights.
	if out, err := s.cp.Kubectl(ctx, "apply", "-f", filepath.Join(repo, "config", "kubernetes", "rbac.yaml")); err != nil {
		t.Fatalf("apply rbac.yaml: %v\n%s", err, out)
	}
	sa, err := serviceAccountName(filepath.Join(repo, "config", "kubernetes", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.cp.Kubectl(ctx, "create", "token", sa, "--namespace", "kube-system", "--duration", "2h")
	if err != nil {
		t.Fatalf("get a token for service account %s: %v", sa, err)
	}
	s.npdKubeconfig = filepath.Join(s.cp.Dir, "npd.kubeconfig")
	if err := clustertest.WriteKubeconfig(s.npdKubeconfig, s.cp.URL, s.cp.PKI.CACert, clustertest.KubeUser{Token: strings.TrimSpace(token)}); err != nil {
		t.Fatal(err)
	}
	return s
}

// serviceAccountName finds the ServiceAccount rbac.yaml declares, so the
// suite follows the manifest instead of repeating its names.
func serviceAccountName(rbac string) (string, error) {
	data, err := os.ReadFile(rbac)
	if err != nil {
		return "", fmt.Errorf("read rbac manifest: %w", err)
	}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if !regexp.MustCompile(`(?m)^kind:\s*ServiceAccount\s*$`).MatchString(doc) {
			continue
		}
		if m := regexp.MustCompile(`(?m)^  name:\s*(\S+)\s*$`).FindStringSubmatch(doc); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("no ServiceAccount in %s", rbac)
}

func TestCluster(t *testing.T) {
	s := setup(t)

	t.Run("manifests", s.testManifests)
	t.Run("kustomize", s.testKustomize)
	t.Run("helm values", s.testHelmValues)
	t.Run("rbac", s.testRBAC)

	// Scenarios wait on NPD far more than they compute (the whole suite
	// uses under one core), so they all run side by side whatever -parallel
	// says (it defaults to the CPU count): the suite then takes as long as
	// its slowest scenario, the crash loop, whose recovery needs the kubelet
	// up for 30s.
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	run := func(name string, fn func(*testing.T)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(name, fn)
		}()
	}
	run("before-registration", s.testBeforeRegistration)
	run("repair", s.testRepair)
	run("config-drift", s.testDrift)
	for _, sc := range scenarios {
		run("scenario/"+sc.name, func(t *testing.T) { s.testScenario(t, sc) })
	}
	for _, sc := range nodeStateScenarios {
		run("nodestate/"+sc.name, func(t *testing.T) { s.testNodeState(t, sc) })
	}
	wg.Wait()
}

// newNode lays out an empty host root and state dir for a simulated node.
func (s *suite) newNode(t *testing.T, name string) *testNode {
	t.Helper()
	dir := t.TempDir()
	n := &testNode{Name: name, Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}
	for _, d := range []string{n.Root, n.State} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func (s *suite) appendJournal(t *testing.T, n *testNode, tl *timeline) {
	t.Helper()
	if err := journalexport.Append(n.journalFile(journalexport.MachineID), tl.entries); err != nil {
		t.Fatalf("write journal of %s: %v", n.Name, err)
	}
	tl.entries = nil
}

// createNode registers the Node object as the admin: no kubelet runs here,
// the Node only has to exist for NPD to patch.
func (s *suite) createNode(t *testing.T, name string) {
	t.Helper()
	node := map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": name, "labels": map[string]string{"kubernetes.io/hostname": name}},
	}
	data, _ := json.Marshal(node)
	if out, err := s.cp.KubectlAs(context.Background(), s.cp.Admin, data, "create", "-f", "-"); err != nil {
		t.Fatalf("create node %s: %v\n%s", name, err, out)
	}
}

// nodeCondition is one entry of node.status.conditions.
type nodeCondition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason"`
	Message            string    `json:"message"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
	LastHeartbeatTime  time.Time `json:"lastHeartbeatTime"`
}

// condition reads the condition from the Node as kubectl returns it;
// found is false while NPD has not published it.
func (s *suite) condition(name, typ string) (c nodeCondition, found bool, err error) {
	out, err := s.cp.Kubectl(context.Background(), "get", "node", name, "-o", "json")
	if err != nil {
		return c, false, err
	}
	var node struct {
		Status struct {
			Conditions []nodeCondition `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &node); err != nil {
		return c, false, fmt.Errorf("decode node %s: %w", name, err)
	}
	for _, c := range node.Status.Conditions {
		if c.Type == typ {
			return c, true, nil
		}
	}
	return c, false, nil
}

// waitCondition polls the Node until the condition has status, failing
// early when NPD dies.
func (s *suite) waitCondition(t *testing.T, npd *npdRun, node, typ, status string, timeout time.Duration) nodeCondition {
	t.Helper()
	var got nodeCondition
	err := clustertest.Poll(timeout, 250*time.Millisecond, func() error {
		npd.alive(t)
		c, found, err := s.condition(node, typ)
		switch {
		case err != nil:
			return err
		case !found:
			return fmt.Errorf("node %s has no condition %s", node, typ)
		case c.Status != status:
			return fmt.Errorf("condition %s is %s (%s: %q), want %s", typ, c.Status, c.Reason, c.Message, status)
		}
		got = c
		return nil
	})
	if err != nil {
		t.Fatalf("wait for %s=%s on node %s: %v\nNPD log:\n%s", typ, status, node, err, clustertest.Tail(npd.proc.Log, 20))
	}
	return got
}

// event is the part of a core/v1 Event the suite checks.
type event struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Count   int    `json:"count"`
	Source  struct {
		Component string `json:"component"`
		Host      string `json:"host"`
	} `json:"source"`
}

// events lists the Events source (the configs' "source") wrote about node
// with reason. They live in namespace default and carry no node UID, so
// `kubectl describe node` does not show them: a field
// selector finds them, the one config/kubernetes/README.md documents.
func (s *suite) events(node, reason, source string) ([]event, error) {
	out, err := s.cp.Kubectl(context.Background(), "get", "events", "--namespace", "default",
		"--field-selector", "involvedObject.kind=Node,involvedObject.name="+node+",reason="+reason+",source="+source, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []event `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("decode events: %w", err)
	}
	return list.Items, nil
}

// eventCount sums the counts of the matching Events: client-go's recorder
// bumps count on an existing Event instead of creating another for a repeat.
func eventCount(evs []event) int {
	n := 0
	for _, e := range evs {
		n += max(e.Count, 1)
	}
	return n
}

// testScenario walks one failure through what an operator sees: True with
// the cause, the describe row, Events, a stable lastTransitionTime while it
// lasts, and False again once the journal shows the fix.
func (s *suite) testScenario(t *testing.T, sc scenario) {
	want, err := s.configs.expect(sc.condition)
	if err != nil {
		t.Fatal(err)
	}
	also := map[string]expectation{}
	for _, c := range sc.also {
		if also[c], err = s.configs.expect(c); err != nil {
			t.Fatal(err)
		}
	}

	node := s.newNode(t, "e2e-"+sc.name)
	tl := newTimeline(node.Name, time.Time{})
	sc.fail(tl, time.Now())
	s.appendJournal(t, node, tl)
	s.createNode(t, node.Name)
	npd := startNPD(t, s, node, append([]string{sc.condition}, sc.also...)...)

	// 1. The condition turns True, with the problem reason and the cause.
	start := time.Now()
	got := s.waitCondition(t, npd, node.Name, sc.condition, "True", settle)
	t.Logf("%s True after %v: %s: %q", sc.condition, time.Since(start).Round(time.Millisecond), got.Reason, got.Message)
	if got.Reason != want.Problem {
		t.Errorf("reason = %q, want %q (the permanent rule of %s)", got.Reason, want.Problem, want.File)
	}
	if !sc.message.MatchString(got.Message) {
		t.Errorf("message %q does not name the cause (want match for %s)", got.Message, sc.message)
	}
	for c, w := range also {
		a := s.waitCondition(t, npd, node.Name, c, "True", settle)
		t.Logf("also %s True: %s: %q", c, a.Reason, a.Message)
		if a.Reason != w.Problem {
			t.Errorf("%s reason = %q, want %q", c, a.Reason, w.Problem)
		}
	}

	// 2. kubectl describe node shows it, as an operator would look.
	out, err := s.cp.Kubectl(context.Background(), "describe", "node", node.Name)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(sc.condition) + `\s+True\s+.*\s` + regexp.QuoteMeta(want.Problem) + `\s`)
	if !row.MatchString(out) {
		t.Errorf("kubectl describe node %s has no %s True %s row:\n%s", node.Name, sc.condition, want.Problem, out)
	}

	// 3. Events. NPD reports the transition itself (reason = problem
	// reason), and the temporary rule, where the config has one, reports
	// the new failures.
	s.waitEvents(t, node.Name, want.Problem, want.Source, 1)
	before := 0
	if want.Event == "" {
		t.Logf("%s has no temporary rule (config/README.md: no alert for this category): no failure Events to check", sc.condition)
	} else {
		before = s.waitEvents(t, node.Name, want.Event, want.Source, 1)
	}

	// 4. More of the same failure, as a kubelet keeps retrying: the
	// condition stays True with the same lastTransitionTime (repair timers
	// measure from it), and the alert does not turn the retries into an
	// Event per run (config/README.md: one Event per failure episode or new
	// cause; at most one more here, should a newer line count as new).
	sc.again(tl)
	s.appendJournal(t, node, tl)
	deadline := time.Now().Add(stable)
	var last nodeCondition
	for time.Now().Before(deadline) {
		npd.alive(t)
		c, _, err := s.condition(node.Name, sc.condition)
		if err != nil {
			t.Fatal(err)
		}
		last = c
		if c.Status != "True" {
			t.Fatalf("while still failing, the condition went %s: %s: %q", c.Status, c.Reason, c.Message)
		}
		if !c.LastTransitionTime.Equal(got.LastTransitionTime) {
			// NPD moves lastTransitionTime whenever the message of a True
			// condition changes (enable_message_change_based_condition_update),
			// which restarts every remediation timer.
			t.Fatalf("while still failing, lastTransitionTime moved from %v to %v; message %q -> %q",
				got.LastTransitionTime, c.LastTransitionTime, got.Message, c.Message)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("still True after more failures, same lastTransitionTime: %q", last.Message)
	if want.Event != "" {
		evs, err := s.events(node.Name, want.Event, want.Source)
		if err != nil {
			t.Fatal(err)
		}
		if n := eventCount(evs); n > before+1 {
			t.Errorf("%d %s Events after %v of the same failure (was %d): an Event per plugin run", n, want.Event, stable, before)
		}
	}

	// 5. Recovery: the condition goes back to False with the healthy reason.
	tl.at(time.Now())
	sc.recover(tl)
	s.appendJournal(t, node, tl)
	start = time.Now()
	ok := s.waitCondition(t, npd, node.Name, sc.condition, "False", settle)
	t.Logf("%s False after %v: %s: %q", sc.condition, time.Since(start).Round(time.Millisecond), ok.Reason, ok.Message)
	if ok.Reason != want.Healthy || ok.Message != want.HealthyMessage {
		t.Errorf("after recovery: %s: %q, want %s: %q", ok.Reason, ok.Message, want.Healthy, want.HealthyMessage)
	}
	if !ok.LastTransitionTime.After(got.LastTransitionTime) {
		t.Errorf("lastTransitionTime %v did not move past %v on recovery", ok.LastTransitionTime, got.LastTransitionTime)
	}
}

// waitEvents waits until at least n Events (counting repeats) with reason
// exist for node, checks who wrote them, and returns the count.
func (s *suite) waitEvents(t *testing.T, node, reason, source string, n int) int {
	t.Helper()
	var count int
	err := clustertest.Poll(settle, 500*time.Millisecond, func() error {
		evs, err := s.events(node, reason, source)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Type != "Warning" || e.Source.Component != source || e.Source.Host != node {
				return fmt.Errorf("event %+v: want type Warning, source %s, host %s", e, source, node)
			}
		}
		if count = eventCount(evs); count < n {
			return fmt.Errorf("%d %s Events for node %s, want at least %d", count, reason, node, n)
		}
		return nil
	})
	if err != nil {
		t.Errorf("events: %v", err)
	}
	return count
}

// testBeforeRegistration: a node whose kubelet cannot register has no Node
// object. NPD must keep running, the problem must be on its Prometheus
// endpoint, and once the Node appears the condition must be published on it.
func (s *suite) testBeforeRegistration(t *testing.T) {
	// An untrusted CA is a classic reason never to register.
	i := slices.IndexFunc(scenarios, func(sc scenario) bool { return sc.name == "ca-untrusted" })
	if i < 0 {
		t.Fatal("no ca-untrusted scenario")
	}
	sc := scenarios[i]
	want, err := s.configs.expect(sc.condition)
	if err != nil {
		t.Fatal(err)
	}

	node := s.newNode(t, "e2e-unregistered")
	tl := newTimeline(node.Name, time.Time{})
	sc.fail(tl, time.Now())
	s.appendJournal(t, node, tl)
	npd := startNPD(t, s, node, sc.condition)

	ctx := context.Background()
	err = clustertest.Poll(settle, 250*time.Millisecond, func() error {
		npd.alive(t)
		v, found, err := npd.gauge(ctx, sc.condition, want.Problem)
		switch {
		case err != nil:
			return err
		case !found:
			return fmt.Errorf("no problem_gauge{type=%q,reason=%q}", sc.condition, want.Problem)
		case v != 1:
			return fmt.Errorf("problem_gauge{type=%q,reason=%q} = %v, want 1", sc.condition, want.Problem, v)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("problem not on NPD's metrics without a Node: %v\nNPD log:\n%s", err, clustertest.Tail(npd.proc.Log, 20))
	}
	// Several more plugin runs and failed PATCHes: NPD must not give up.
	time.Sleep(3 * interval)
	npd.alive(t)

	s.createNode(t, node.Name)
	start := time.Now()
	c := s.waitCondition(t, npd, node.Name, sc.condition, "True", registerWait)
	t.Logf("%s on the new Node after %v: %s: %q", sc.condition, time.Since(start).Round(time.Millisecond), c.Reason, c.Message)
	if c.Reason != want.Problem {
		t.Errorf("reason = %q, want %q", c.Reason, want.Problem)
	}
}

// testManifests: every manifest we ship passes server-side validation and
// admission (a dry run changes nothing).
func (s *suite) testManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(s.repo, "config", "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in config/kubernetes (%v)", err)
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue // kustomize's input, not an object: testKustomize applies it
		}
		out, err := s.cp.Kubectl(context.Background(), "apply", "--dry-run=server", "-f", f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		t.Logf("%s: %s", filepath.Base(f), strings.TrimSpace(out))
	}

	// The ConfigMap is generated YAML: check that what the API server
	// stores is byte for byte what NPD is meant to read.
	out, err := s.cp.Kubectl(context.Background(), "apply", "--dry-run=server", "-o", "json",
		"-f", filepath.Join(s.repo, "config", "kubernetes", "configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &cm); err != nil {
		t.Fatalf("decode configmap: %v", err)
	}
	want := map[string]bool{}
	for _, m := range s.configs {
		want[m.File] = true
	}
	if len(cm.Data) == 0 {
		t.Error("configmap.yaml has no data")
	}
	for file := range want {
		src, err := os.ReadFile(filepath.Join(s.repo, "config", "npd", file))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := cm.Data[file]; !ok {
			t.Errorf("configmap.yaml has no key %s: run go generate ./config/kubernetes/gen", file)
		} else if got != string(src) {
			t.Errorf("configmap.yaml key %s differs from config/npd/%s as the API server reads it", file, file)
		}
	}
	for key := range cm.Data {
		if !want[key] {
			t.Errorf("configmap.yaml key %s has no config/npd file", key)
		}
	}
}

// testRBAC asks the API server, as NPD's own token, what rbac.yaml grants:
// what the k8s exporter calls, and nothing next to it.
func (s *suite) testRBAC(t *testing.T) {
	tests := []struct {
		verb, resource, namespace string
		want                      bool
	}{
		{"get", "nodes", "", true},
		{"patch", "nodes/status", "", true},
		{"create", "events", "default", true},
		{"patch", "events", "default", true},
		{"update", "events", "default", true},
		{"list", "nodes", "", false},
		{"watch", "nodes", "", false},
		{"patch", "nodes", "", false},
		{"update", "nodes/status", "", false},
		{"delete", "nodes", "", false},
		{"delete", "events", "default", false},
		{"get", "secrets", "kube-system", false},
		{"create", "pods", "default", false},
	}
	for _, tt := range tests {
		args := []string{"auth", "can-i", tt.verb}
		res, sub, _ := strings.Cut(tt.resource, "/")
		args = append(args, res)
		if sub != "" {
			args = append(args, "--subresource", sub)
		}
		if tt.namespace != "" {
			args = append(args, "--namespace", tt.namespace)
		}
		// can-i exits 1 for "no": the answer is on stdout either way.
		out, _ := s.cp.KubectlAs(context.Background(), s.npdKubeconfig, nil, args...)
		got := strings.TrimSpace(out) == "yes"
		if strings.TrimSpace(out) != "yes" && strings.TrimSpace(out) != "no" {
			t.Errorf("can-i %s %s: unexpected answer %q", tt.verb, tt.resource, out)
			continue
		}
		if got != tt.want {
			t.Errorf("service account can %s %s (namespace %q): %v, want %v", tt.verb, tt.resource, tt.namespace, got, tt.want)
		}
	}
}
