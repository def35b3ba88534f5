package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestExplainTextNamesTheRunbookOfEachProblemLine(t *testing.T) {
	in := strings.Join([]string{
		`E1125 10:00:08.000001    1234 kubelet_node_status.go:107] "Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`,
		`I1125 10:00:01.000000    1234 kubelet_node_status.go:75] "Attempting to register node" node="worker-1"`,
		`E1125 10:00:09.000001    1234 run.go:72] "command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false"`,
		`Nov 25 10:00:05 worker-1 systemd[1]: kubelet.service: Main process exited, code=exited, status=1/FAILURE`,
	}, "\n")
	code, out, _ := runCmd(t, in, "explain", "--all")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	got := regexp.MustCompile(`(?m)^ +runbook: (\S+)$`).FindAllStringSubmatch(out, -1)
	want := []string{"docs/runbooks/KubeletCATrustProblem.md", "docs/runbooks/KubeletConfigProblem.md"}
	if len(got) != len(want) {
		t.Fatalf("%d runbook lines, want one per problem line (%d):\n%s", len(got), len(want), out)
	}
	for i, m := range got {
		if m[1] != want[i] {
			t.Errorf("problem line %d: runbook %s, want %s", i+1, m[1], want[i])
		}
		if _, err := os.Stat(filepath.Join("..", "..", m[1])); err != nil {
			t.Errorf("explain names a runbook that does not exist: %v", err)
		}
	}
}

// TestExplainAllNamesWhyALineIsBenign: a line that reads like a failure but
// is harmless names the guard that decided so, in text and in JSON; a line
// nothing matched says only "none".
func TestExplainAllNamesWhyALineIsBenign(t *testing.T) {
	in := strings.Join([]string{
		`E1125 10:00:08.000001    1234 kubelet.go:1000] "Failed to ApplyOOMScoreAdj" err="write /proc/self/oom_score_adj: permission denied"`,
		`I1125 10:00:09.000001    1234 kubelet.go:1001] "Hello"`,
	}, "\n")
	code, out, _ := runCmd(t, in, "explain", "--all")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.HasSuffix(lines[0], "none  oom-score-apply: OOM score not adjusted") ||
		!strings.Contains(lines[1], "why:  harmless") || strings.TrimSpace(lines[2]) != "2  none" {
		t.Errorf("explain --all:\n%s", out)
	}
	code, out, _ = runCmd(t, in, "explain", "--output", "json")
	if code != 0 || !strings.Contains(out, `"category":"none","condition":"","rule":"oom-score-apply"`) ||
		!strings.Contains(out, `"line":2,"category":"none","condition":"","rule":"",`) {
		t.Errorf("explain --output json (exit %d):\n%s", code, out)
	}
}
