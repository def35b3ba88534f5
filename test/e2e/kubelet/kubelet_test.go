// Package kubelet runs the REAL kubelet (built from k8s.io/kubernetes with
// the API server, KD_KAPI's "kubelet" command, or KD_KUBELET) against a real
// etcd, kube-apiserver and kube-controller-manager, with Debian's containerd
// as its runtime, and drives it into real failures. The kubelet's own
// output, with systemd's entries as a restarting kubelet.service would make
// them, goes into a real journal file; then every condition is checked with
// `kubelet-doctor check` (KD_BIN), and through the real NPD (KD_NPD) for a
// few scenarios. Each scenario asserts which conditions are True and that
// every other condition is False.
//
// Everything runs in a network and mount namespace the suite creates: the
// node address 192.0.2.10 (TEST-NET-1) lives on the namespace's loopback,
// the kernel tunables the kubelet writes are bind mounts of files, each
// kubelet has its own cgroup root (removed afterwards) and directories.
// Every process is stopped by its PID.
//
// KD_RECORD=1 writes each scenario's journal to testdata/VERSION/ for the
// fast replay in test/replay; KD_STRICT=1 fails the pending assertions too.
package kubelet_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
	"github.com/kubelet-doctor/kubelet-doctor/test/npdtest"
)

// tools are the programs the suite runs.
type tools struct {
	bin, kapi, npd string
	kubelet        []string // argv prefix of the kubelet
	version        string   // the kubelet's, e.g. v1.36.3
}

// needTools skips when KD_BIN or KD_KAPI is unset and fails when a set one
// cannot be run. KD_KUBELET (optional) is a kubelet of another version.
func needTools(t *testing.T) tools {
	t.Helper()
	tl := tools{bin: os.Getenv("KD_BIN"), kapi: os.Getenv("KD_KAPI"), npd: os.Getenv("KD_NPD")}
	if tl.bin == "" || tl.kapi == "" {
		t.Skip("KD_BIN (kubelet-doctor) and KD_KAPI (kube-apiserver+etcd+kubectl+kube-controller-manager+kubelet, scripts/build-kapi.sh) must both be set; `make test` sets them")
	}
	if os.Geteuid() != 0 {
		t.Skip("the real kubelet needs root: namespaces, cgroups and bind mounts")
	}
	if err := journalexport.Available(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"containerd", "runc", "unshare", "nsenter", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s not found (scripts/deps.sh installs it): %v", p, err)
		}
	}
	tl.kubelet = []string{tl.kapi, "kubelet"}
	if k := os.Getenv("KD_KUBELET"); k != "" {
		tl.kubelet = []string{k}
	}
	out, err := exec.Command(tl.kubelet[0], append(tl.kubelet[1:], "--version")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v --version: %v: %s", tl.kubelet, err, out)
	}
	// "Kubernetes v1.36.3"
	f := strings.Fields(string(out))
	if len(f) < 2 || !strings.HasPrefix(f[len(f)-1], "v1.") {
		t.Fatalf("%v --version: unexpected %q", tl.kubelet, out)
	}
	tl.version = f[len(f)-1]
	if out, err := exec.Command(tl.bin, "version").CombinedOutput(); err != nil {
		t.Fatalf("KD_BIN=%s is not usable: %v: %s", tl.bin, err, out)
	}
	return tl
}

// parallelism is how many scenarios run at once: they mostly wait on the
// kubelet, so more than the cores.
func parallelism() int {
	if n, err := strconv.Atoi(os.Getenv("KD_KUBELET_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return 6
}

func TestRealKubelet(t *testing.T) {
	tl := needTools(t)
	// Short: containerd's socket path must fit in sun_path (108 bytes).
	base, err := os.MkdirTemp("", "kdk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	removeStaleCgroups(t)
	before := machineTunables(t)
	ns := newNetns(t, base)
	cp := startControlPlane(t, tl.kapi, ns, filepath.Join(base, "cp"))
	conds := npdtest.Monitors(t, configDir)
	if len(conds) != 11 {
		t.Fatalf("config/npd has %d conditions, the suite asserts 11", len(conds))
	}
	t.Logf("kubelet %s, %d scenarios, %d at a time", tl.version, len(scenarios), parallelism())

	sem := make(chan struct{}, parallelism())
	var wg sync.WaitGroup
	var healthyRan atomic.Bool
	for _, sc := range scenarios {
		wg.Add(1)
		// t.Run may be called from several goroutines at once; the
		// scenarios mostly wait on the kubelet.
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(sc.name, func(t *testing.T) {
				runScenario(t, tl, cp, base, conds, sc)
				if sc.name == "healthy" {
					healthyRan.Store(true)
				}
			})
		}()
	}
	wg.Wait()

	// Nothing left behind in the machine's cgroups (each node's cleanup
	// removed its root with what the kubelet made under it).
	for _, h := range cgroupHierarchies() {
		if left, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", h, fmt.Sprintf("kd*%d*", os.Getpid()))); len(left) > 0 {
			t.Errorf("cgroups left behind: %v", left)
		}
	}
	// The machine's own kernel settings are untouched; the kubelets wrote
	// into the namespace's files instead.
	if after := machineTunables(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the machine's tunables changed: before %v, after %v", before, after)
	}
	// (Only a kubelet that got as far as its container manager writes them.)
	if w := ns.written(t); healthyRan.Load() && (w["vm/overcommit_memory"] != "1" || w["kernel/panic"] != "10") {
		t.Errorf("the healthy kubelet did not write its tunables into the namespace's files: %v", w)
	}
}

// runScenario sets one node up, runs its kubelet under the supervisor for
// runFor, writes the journal and asserts every condition.
func runScenario(t *testing.T, tl tools, cp *controlPlane, base string, conds []npdtest.Monitor, sc scenario) {
	n := newNode(t, cp, base, sc.name)
	if sc.setup != nil {
		sc.setup(t, n)
	}
	n.writeConfig(t)
	n.makeCgroupRoot(t)
	if n.runtime {
		n.startRuntime(t)
	}
	run := sc.run
	if run == 0 {
		run = runFor
	}
	rec := &recorder{}
	deadline := time.Now().Add(run)
	argv := cp.ns.command(append(append([]string(nil), tl.kubelet...), n.kubeletArgs()...)...)
	starts := supervise(rec, argv, deadline, t.Errorf)
	entries := rec.close()
	if len(entries) == 0 {
		t.Fatal("nothing recorded")
	}
	if sc.registered {
		if err := nodeRegistered(cp, n.name); err != nil {
			t.Errorf("node %s is not registered: %v", n.name, err)
		}
	}
	var all strings.Builder
	for _, e := range entries {
		all.WriteString(e.msg + "\n")
	}
	if sc.evidence != "" && !strings.Contains(all.String(), sc.evidence) {
		t.Errorf("the kubelet's output does not contain %q: the scenario did not fail as intended; last lines:\n%s", sc.evidence, lastLines(entries, 15))
	}

	journalDir := filepath.Join(n.dir, "var/log/journal", journalexport.MachineID)
	if err := writeJournal(filepath.Join(journalDir, "system.journal"), entries); err != nil {
		t.Fatalf("write journal: %v", err)
	}
	now := deadline
	got := checkAll(t, tl.bin, journalDir, filepath.Join(n.dir, "kubelet-doctor"), now, bootGrace, conds)
	var table []string
	for _, m := range conds {
		table = append(table, fmt.Sprintf("%s=%s", m.Condition, got[m.Condition].status))
	}
	t.Logf("%s: %d starts, %d entries; verdicts: %s", sc.name, starts, len(entries), strings.Join(table, " "))
	assertVerdicts(t, "check", sc, conds, func(c string) (string, string) { return got[c].status, got[c].message })

	if sc.npd && tl.npd != "" {
		viaNPD := npdCheck(t, tl.npd, tl.bin, filepath.Join(n.dir, "npd"), journalDir, now, bootGrace, conds)
		assertVerdicts(t, "NPD", sc, conds, func(c string) (string, string) { return viaNPD[c], "" })
	}

	if os.Getenv("KD_RECORD") == "1" {
		r := recording{version: tl.version, scenario: sc.name, want: sc.want, pending: sortedKeys(sc.pending),
			start: entries[0].at, now: now, grace: bootGrace, entries: entries}
		path, err := r.save(base)
		if err != nil {
			t.Errorf("record: %v", err)
		} else {
			t.Logf("recorded %s", path)
		}
	}
}

// assertVerdicts checks that exactly the scenario's conditions are True.
// A pending condition (a known product defect, see scenarios_test.go) is
// reported, and fails only under KD_STRICT=1.
func assertVerdicts(t *testing.T, via string, sc scenario, conds []npdtest.Monitor, get func(string) (string, string)) {
	t.Helper()
	strict := os.Getenv("KD_STRICT") == "1"
	for _, m := range conds {
		want := "False"
		if slices.Contains(sc.want, m.Condition) {
			want = "True"
		}
		status, msg := get(m.Condition)
		if status == want {
			if why, ok := sc.pending[m.Condition]; ok {
				t.Logf("%s: %s is %s as it should be: the pending mark (%s) can go", via, m.Condition, status, why)
			}
			continue
		}
		if why, ok := sc.pending[m.Condition]; ok && !strict {
			t.Logf("PENDING %s: %s is %s, want %s (%q): %s", via, m.Condition, status, want, msg, why)
			continue
		}
		t.Errorf("%s: %s is %s, want %s (%q)", via, m.Condition, status, want, msg)
	}
}

func lastLines(entries []record, n int) string {
	if len(entries) > n {
		entries = entries[len(entries)-n:]
	}
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s %s\n", e.kind, e.msg)
	}
	return b.String()
}
