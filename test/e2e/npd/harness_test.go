// Package npd runs the real node-problem-detector v1.36.0 (KD_NPD) with the
// config files of config/npd/ against the real kubelet-doctor binary
// (KD_BIN) on real journal files, and asserts on what NPD itself reports:
// its Prometheus metrics and its log. `make e2e` sets both variables.
//
// One NPD runs every file, as deployed; each condition gets its own node
// root (journal) and state directory, so that one condition's lines cannot
// raise another, and all conditions go through each phase together: the
// suite takes about as long as one condition's walk (15-25s).
package npd

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/npdtest"
)

// interval replaces the files' invoke_interval: short enough that a phase
// takes a couple of seconds, long enough that 2 cores keep up with every
// scenario's NPD at once. The timeouts keep their production values: they
// only bound a stuck plugin, and shrinking them on a loaded test machine
// would turn slowness into spurious Unknowns.
const interval = time.Second

// hold replaces the shipped --hold (four intervals of 30s): a True
// condition stays True this long after the journal goes missing, then
// reads Unknown.
const hold = 3 * interval

// phaseTimeout bounds each wait for NPD to report a change: a few intervals
// plus the plugin's reuse of fresh state, with room for a loaded machine.
const phaseTimeout = 30 * time.Second

// binaries are the programs under test.
type binaries struct{ npd, bin string }

// needBinaries skips when KD_NPD or KD_BIN is unset and fails when a set
// one cannot be run: a typo in CI must not turn into a silent skip.
func needBinaries(t *testing.T) binaries {
	t.Helper()
	b := binaries{npd: os.Getenv("KD_NPD"), bin: os.Getenv("KD_BIN")}
	if b.npd == "" || b.bin == "" {
		t.Skip("KD_NPD (node-problem-detector v1.36.0, scripts/build-npd.sh) and KD_BIN (kubelet-doctor) must both be set; `make e2e` sets them")
	}
	for _, c := range []struct{ env, path, arg string }{{"KD_NPD", b.npd, "--version"}, {"KD_BIN", b.bin, "version"}} {
		out, err := exec.Command(c.path, c.arg).CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%s is not usable: %s %s: %v: %s", c.env, c.path, c.path, c.arg, err, out)
		}
	}
	return b
}

// configDir is config/npd relative to this package.
var configDir = filepath.Join("..", "..", "..", "config", "npd")

// layout is where one scenario puts things.
type layout struct {
	bin, root, stateDir string
}

// npdProc is one standalone NPD (test/npdtest) with what this suite
// reads from it: its -v=3 log records every plugin run and condition change.
type npdProc struct{ *npdtest.NPD }

// logTail is the end of the log, for failure messages: only the lines that
// contain one of words when there are any (one NPD serves every condition,
// and the other conditions' lines would bury the one that failed).
func (p *npdProc) logTail(words ...string) string {
	var kept []string
	for _, line := range strings.Split(p.ReadLog(), "\n") {
		if len(words) == 0 {
			kept = append(kept, line)
			continue
		}
		for _, w := range words {
			if w != "" && strings.Contains(line, w) {
				kept = append(kept, line)
				break
			}
		}
	}
	const maxLines = 40
	if len(kept) > maxLines {
		kept = append([]string{"..."}, kept[len(kept)-maxLines:]...)
	}
	return strings.Join(kept, "\n")
}

// metric is one Prometheus sample.
type metric struct {
	name   string
	labels map[string]string
	value  float64
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)`)
var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// metrics scrapes NPD's /metrics; an error means it is not serving (yet).
func (p *npdProc) metrics() ([]metric, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.Port))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	var out []metric
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		m := sampleRE.FindStringSubmatch(sc.Text())
		if m == nil || strings.HasPrefix(m[1], "#") {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
			labels[l[1]] = l[2]
		}
		out = append(out, metric{name: m[1], labels: labels, value: v})
	}
	return out, sc.Err()
}

// sample finds name{labels} in ms; ok is false when it is not exported.
func sample(ms []metric, name string, labels map[string]string) (float64, bool) {
next:
	for _, m := range ms {
		if m.name != name {
			continue
		}
		for k, v := range labels {
			if m.labels[k] != v {
				continue next
			}
		}
		return m.value, true
	}
	return 0, false
}

// gauge is problem_gauge{type,reason}.
func gauge(ms []metric, typ, reason string) (float64, bool) {
	return sample(ms, "problem_gauge", map[string]string{"type": typ, "reason": reason})
}

// counter is problem_counter{reason}.
func counter(ms []metric, reason string) (float64, bool) {
	return sample(ms, "problem_counter", map[string]string{"reason": reason})
}

// runs counts the completed runs of the rule with this type and condition
// (permanent) or reason (temporary), from NPD's -v=3 log line
// "Rule: &{Type:permanent Condition:C Reason:R ...".
func (p *npdProc) runs(ruleType, condition, reason string) int {
	return strings.Count(p.ReadLog(), fmt.Sprintf("Rule: &{Type:%s Condition:%s Reason:%s ", ruleType, condition, reason))
}

// change is one "Node condition T is now: S, reason: R, message: M" line.
type change struct{ status, reason, message string }

// changes returns every condition change NPD logged for typ, in order
// (NPD logs each twice, at V0 and V3; consecutive duplicates are folded).
func (p *npdProc) changes(typ string) []change {
	re := regexp.MustCompile(`Node condition ` + regexp.QuoteMeta(typ) + ` is now: (\w+), reason: (\w*), message: ("(?:[^"\\]|\\.)*")`)
	var out []change
	var lastLine string
	for _, line := range strings.Split(p.ReadLog(), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		msg, err := strconv.Unquote(m[3])
		if err != nil {
			msg = m[3]
		}
		// The V0 and V3 lines carry the same event timestamp.
		key := m[0] + timestampOf(line)
		if key == lastLine {
			continue
		}
		lastLine = key
		out = append(out, change{status: m[1], reason: m[2], message: msg})
	}
	return out
}

var eventTS = regexp.MustCompile(`Timestamp:(\S+ \S+)`)

func timestampOf(line string) string {
	if m := eventTS.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}

// waitFor polls cond until it returns "" (done) or the deadline passes; the
// last non-empty result says what was still missing. It fails t at once
// when NPD exits.
func (p *npdProc) waitFor(t *testing.T, what string, timeout time.Duration, cond func() string, logWords ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var missing string
	for {
		select {
		case <-p.Done():
			t.Fatalf("%s: NPD exited (%v); log:\n%s", what, p.Err(), p.logTail())
		default:
		}
		if missing = cond(); missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s\nNPD log:\n%s", what, timeout, missing, p.logTail(logWords...))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRuns waits until the rule has completed n more runs than before.
func (p *npdProc) waitRuns(t *testing.T, what, ruleType, condition, reason string, before, n int) {
	t.Helper()
	p.waitFor(t, what, phaseTimeout, func() string {
		if got := p.runs(ruleType, condition, reason); got < before+n {
			return fmt.Sprintf("%d of %d runs of the %s rule %s", got-before, n, ruleType, reason)
		}
		return ""
	}, reason)
}

// scrape returns the metrics or "" plus what went wrong, for waitFor.
func (p *npdProc) scrape() ([]metric, string) {
	ms, err := p.metrics()
	if err != nil {
		return nil, "metrics: " + err.Error()
	}
	return ms, ""
}
