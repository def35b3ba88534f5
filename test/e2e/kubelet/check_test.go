package kubelet_test

import (
	"bufio"
	"encoding/json"
	"errors"
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

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
	"github.com/kubelet-doctor/kubelet-doctor/test/npdtest"
)

// configDir is config/npd relative to this package: the shipped monitors
// name the conditions and their problem reasons.
var configDir = filepath.Join("..", "..", "..", "config", "npd")

// verdict is a condition's status: "True", "False" or "Unknown".
type verdict struct {
	status, message string
}

// checkAll runs `kubelet-doctor check` for every condition on the node's
// journal as of now, all on one state directory as NPD would.
func checkAll(t *testing.T, bin, journalDir, stateDir string, now time.Time, grace time.Duration, conds []npdtest.Monitor) map[string]verdict {
	t.Helper()
	out := map[string]verdict{}
	root := emptyRoot(t, stateDir)
	for _, m := range conds {
		cmd := exec.Command(bin, "check", m.Condition, "--root", root, "--healthz-url", "-",
			"--journal-dir", journalDir, "--state-dir", stateDir,
			"--now", now.UTC().Format(time.RFC3339Nano), "--boot-grace", grace.String())
		stdout, err := cmd.Output()
		status := "False"
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee) && ee.ExitCode() == 1:
			status = "True"
		case errors.As(err, &ee) && ee.ExitCode() == 2:
			status = "Unknown"
		default:
			t.Fatalf("kubelet-doctor check %s: %v: %s", m.Condition, err, stdout)
		}
		out[m.Condition] = verdict{status: status, message: strings.TrimSpace(string(stdout))}
	}
	return out
}

// npdCheck runs the real NPD with the shipped monitor files, pointed at the
// node's journal (the rule path, --root and --state-dir rewritten, and
// --now/--boot-grace added so that NPD evaluates the recorded moment), and
// returns each condition's status from NPD's problem_gauge once every rule
// has run twice.
func npdCheck(t *testing.T, npdBin, bin, dir, journalDir string, now time.Time, grace time.Duration, conds []npdtest.Monitor) map[string]string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, m := range conds {
		src, err := os.ReadFile(m.File)
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := json.Unmarshal(src, &cfg); err != nil {
			t.Fatal(err)
		}
		cfg["pluginConfig"].(map[string]any)["invoke_interval"] = "1s"
		for _, r := range cfg["rules"].([]any) {
			rule := r.(map[string]any)
			rule["path"] = bin
			var args []any
			for _, a := range rule["args"].([]any) {
				s := a.(string)
				switch {
				case strings.HasPrefix(s, "--root="):
					continue
				case strings.HasPrefix(s, "--state-dir="):
					s = "--state-dir=" + filepath.Join(dir, "state")
				}
				args = append(args, s)
			}
			args = append(args, "--root="+emptyRoot(t, dir), "--healthz-url=-",
				"--journal-dir="+journalDir, "--now="+now.UTC().Format(time.RFC3339Nano), "--boot-grace="+grace.String())
			rule["args"] = args
		}
		out, _ := json.MarshalIndent(cfg, "", "  ")
		f := filepath.Join(dir, filepath.Base(m.File))
		if err := os.WriteFile(f, out, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	npd := npdtest.Start(t, npdBin, dir, files)
	// Stopped as soon as the verdicts are read (t.Cleanup's Stop then does
	// nothing): an NPD running every rule each second would load the cores
	// while the other scenarios still run.
	defer npd.Stop()
	err := clustertest.Poll(90*time.Second, 250*time.Millisecond, func() error {
		select {
		case <-npd.Done():
			return fmt.Errorf("NPD exited: %s", clustertest.Tail(npd.Log, 10))
		default:
		}
		log, _ := os.ReadFile(npd.Log)
		for _, m := range conds {
			if n := strings.Count(string(log), "Rule: &{Type:permanent Condition:"+m.Condition+" "); n < 2 {
				return fmt.Errorf("%s: %d runs", m.Condition, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("NPD: %v", err)
	}
	gauges, err := scrapeGauges(npd.Port)
	if err != nil {
		t.Fatalf("NPD metrics: %v", err)
	}
	out := map[string]string{}
	for _, m := range conds {
		out[m.Condition] = "False"
		if gauges[m.Condition+"/"+m.Reason] == 1 {
			out[m.Condition] = "True"
		}
	}
	return out
}

// emptyRoot is an empty --root next to dir: the verdicts come from the
// journal alone. With the machine's / the node-state checks would find the
// other scenarios' live kubelets in /proc, read their files and probe their
// API server from outside the suite's namespace.
func emptyRoot(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(filepath.Dir(dir), "empty-root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

var gaugeRE = regexp.MustCompile(`^problem_gauge\{reason="([^"]*)",type="([^"]*)"\} (\S+)`)

// scrapeGauges reads problem_gauge{reason,type} from NPD's /metrics.
func scrapeGauges(port int) (map[string]float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		if m := gaugeRE.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[3], 64)
			out[m[2]+"/"+m[1]] = v
		}
	}
	return out, sc.Err()
}
