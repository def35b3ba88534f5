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
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// configDir is config/npd relative to this package: the shipped monitors
// name the conditions and their problem reasons.
var configDir = filepath.Join("..", "..", "..", "config", "npd")

// monitor is one shipped NPD file's permanent condition.
type monitor struct {
	file, condition, reason string
}

// monitors reads config/npd: one file per condition (the alerts file has
// only temporary rules and is skipped).
func monitors(t *testing.T) []monitor {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(configDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no NPD config in %s: %v", configDir, err)
	}
	var out []monitor
	for _, f := range files {
		var cfg struct {
			Rules []struct{ Type, Condition, Reason string }
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range cfg.Rules {
			if r.Type == "permanent" {
				out = append(out, monitor{file: f, condition: r.Condition, reason: r.Reason})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].condition < out[j].condition })
	return out
}

// verdict is a condition's status: "True", "False" or "Unknown".
type verdict struct {
	status, message string
}

// checkAll runs `kubelet-doctor check` for every condition on the node's
// journal as of now, all on one state directory as NPD would.
func checkAll(t *testing.T, bin, journalDir, stateDir string, now time.Time, grace time.Duration, conds []monitor) map[string]verdict {
	t.Helper()
	out := map[string]verdict{}
	root := emptyRoot(t, stateDir)
	for _, m := range conds {
		cmd := exec.Command(bin, "check", m.condition, "--root", root, "--healthz-url", "-",
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
			t.Fatalf("kubelet-doctor check %s: %v: %s", m.condition, err, stdout)
		}
		out[m.condition] = verdict{status: status, message: strings.TrimSpace(string(stdout))}
	}
	return out
}

// npdCheck runs the real NPD with the shipped monitor files, pointed at the
// node's journal (the rule path, --root and --state-dir rewritten, and
// --now/--boot-grace added so that NPD evaluates the recorded moment), and
// returns each condition's status from NPD's problem_gauge once every rule
// has run twice.
func npdCheck(t *testing.T, npdBin, bin, dir, journalDir string, now time.Time, grace time.Duration, conds []monitor) map[string]string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, m := range conds {
		src, err := os.ReadFile(m.file)
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
		f := filepath.Join(dir, filepath.Base(m.file))
		if err := os.WriteFile(f, out, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	port, err := clustertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "npd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(npdBin, "--enable-k8s-exporter=false", "--prometheus-address=127.0.0.1",
		"--prometheus-port="+strconv.Itoa(port), "--config.custom-plugin-monitor="+strings.Join(files, ","), "-v=3")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start NPD: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		// NPD runs each plugin in a process group of its own: freeze NPD,
		// kill its children's groups, then NPD's.
		pid := cmd.Process.Pid
		_ = syscall.Kill(pid, syscall.SIGSTOP)
		for _, c := range childrenOf(pid) {
			_ = syscall.Kill(-c, syscall.SIGKILL)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}()
	err = clustertest.Poll(90*time.Second, 250*time.Millisecond, func() error {
		select {
		case <-done:
			return fmt.Errorf("NPD exited: %s", clustertest.Tail(logPath, 10))
		default:
		}
		log, _ := os.ReadFile(logPath)
		for _, m := range conds {
			if n := strings.Count(string(log), "Rule: &{Type:permanent Condition:"+m.condition+" "); n < 2 {
				return fmt.Errorf("%s: %d runs", m.condition, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("NPD: %v", err)
	}
	gauges, err := scrapeGauges(port)
	if err != nil {
		t.Fatalf("NPD metrics: %v", err)
	}
	out := map[string]string{}
	for _, m := range conds {
		out[m.condition] = "False"
		if gauges[m.condition+"/"+m.reason] == 1 {
			out[m.condition] = "True"
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

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(s))); err == nil {
				kids = append(kids, child)
			}
		}
	}
	return kids
}
