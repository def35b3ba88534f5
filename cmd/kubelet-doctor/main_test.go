package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

const token = "abcdef.0123456789abcdef"

func TestExplainJSONIsOneObjectPerInputLineInOrder(t *testing.T) {
	in := strings.Join([]string{
		`Nov 25 10:00:08 worker-1 kubelet[1234]: E1125 10:00:08.000001    1234 kubelet_node_status.go:107] "Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`,
		``,
		`I1125 10:00:01.000000    1234 kubelet_node_status.go:75] "Attempting to register node" node="worker-1"`,
		"\x00\xff garbage \"unterminated",
		`E1125 10:00:06.000001    1234 certificate_manager.go:596] "Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Unauthorized" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError" token="` + token + `"`,
	}, "\n")
	code, out, _ := runCmd(t, in, "explain", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(out, token) || strings.Contains(out, "0123456789abcdef") {
		t.Errorf("a bootstrap token reached the output:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"ca-trust", "none", "none", "none", "bootstrap"}
	if len(lines) != len(want) {
		t.Fatalf("%d objects for %d input lines:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		var got explained
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i+1, err, l)
		}
		if got.Line != i+1 || got.Category != want[i] {
			t.Errorf("object %d = line %d category %q, want line %d category %q", i, got.Line, got.Category, i+1, want[i])
		}
		if got.Category == "none" && (got.Condition != "" || got.Hint != "") {
			t.Errorf("benign line %d carries a condition or hint: %s", i+1, l)
		}
		if got.Category != "none" && (got.Condition == "" || got.Rule == "" || got.Cause == "" || got.Hint == "") {
			t.Errorf("problem line %d lacks a field: %s", i+1, l)
		}
	}
}

func TestExplainTextSummarisesWithoutColourOffATerminal(t *testing.T) {
	in := `E1125 10:00:05.000001    1234 run.go:72] "command failed" err="failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory"` +
		"\nplain benign text\nNov 25 10:00:05 worker-1 systemd[1]: kubelet.service: Main process exited, code=exited, status=1/FAILURE\n"
	code, out, _ := runCmd(t, in, "explain")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"bootstrap", "KubeletBootstrapProblem", "cause:", "hint:", "kubelet exited",
		"3 lines, 1 problem lines: bootstrap 1; kubelet exits: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour escape codes off a terminal:\n%q", out)
	}
}

func TestExplainRejectsBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"explain", "--output", "yaml"},
		{"explain", "/nonexistent/file"},
		{"explain", "a", "b"},
	} {
		if code, _, _ := runCmd(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func klog(at time.Time, level byte, src, msg string) journalexport.Entry {
	return journalexport.Kubelet(at, fmt.Sprintf("%c%s %7d %s] %s", level, at.UTC().Format("0102 15:04:05.000000"), journalexport.KubeletPID, src, msg))
}

// node lays out a node root with a real journal.
type node struct {
	t     *testing.T
	root  string
	state string
	file  string
}

func newNode(t *testing.T) *node {
	if err := journalexport.Available(); err != nil {
		t.Skipf("no systemd-journal-remote: %v (scripts/deps.sh installs it)", err)
	}
	root := t.TempDir()
	return &node{t: t, root: root, state: t.TempDir(),
		file: filepath.Join(root, "var/log/journal", journalexport.MachineID, "system.journal")}
}

func (n *node) append(es ...journalexport.Entry) {
	n.t.Helper()
	if err := journalexport.Append(n.file, es); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) check(cmd, cond string) (int, string) {
	n.t.Helper()
	code, out, _ := runCmd(n.t, "", cmd, cond, "--root", n.root, "--state-dir", n.state, "--reuse-within=0s")
	if strings.Count(out, "\n") != 1 || len(strings.TrimSpace(out)) > 80 {
		n.t.Errorf("%s %s printed %q: want one line of at most 80 bytes", cmd, cond, out)
	}
	return code, strings.TrimSpace(out)
}

func TestCheckRaisesAndClearsFromARealJournal(t *testing.T) {
	n := newNode(t)
	now := time.Now()
	n.append(
		klog(now.Add(-3*time.Minute), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
		klog(now.Add(-2*time.Minute), 'E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`),
	)
	if code, out := n.check("check", "KubeletCATrustProblem"); code != 1 || !strings.HasPrefix(out, "x509 unknown authority: POST https://10.0.0.10:6443/api/v1/nodes") {
		t.Fatalf("failure: exit %d %q, want 1 naming the cause", code, out)
	}
	if code, out := n.check("check", "KubeletRegistrationProblem"); code != 0 {
		t.Errorf("another condition: exit %d %q, want 0", code, out)
	}
	if code, _ := n.check("alert", "KubeletCATrustProblem"); code != 1 {
		t.Errorf("first alert: exit %d, want 1", code)
	}
	if code, _ := n.check("alert", "KubeletCATrustProblem"); code != 0 {
		t.Errorf("second alert for the same failure: exit %d, want 0", code)
	}
	n.append(klog(now.Add(-time.Minute), 'I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`))
	if code, out := n.check("check", "KubeletCATrustProblem"); code != 0 {
		t.Fatalf("after recovery: exit %d %q, want 0", code, out)
	}
}

func TestCheckCannotTellIsUnknownNeverHealthy(t *testing.T) {
	n := newNode(t) // no journal written: the directory does not exist
	code, out := n.check("check", "KubeletCATrustProblem")
	if code != 2 || !strings.Contains(out, "journal") {
		t.Errorf("missing journal: exit %d %q, want 2 naming the journal", code, out)
	}
	// A temporary rule must not raise an Event for "cannot tell".
	if code, _ := n.check("alert", "KubeletCATrustProblem"); code != 0 {
		t.Errorf("alert on a missing journal: exit %d, want 0", code)
	}
}

func TestCheckRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"check"},
		{"check", "NoSuchCondition"},
		{"check", "KubeletCATrustProblem", "--window", "-1m"},
		{"check", "KubeletCATrustProblem", "--now", "yesterday"},
		{"check", "KubeletCATrustProblem", "extra"},
		{"frobnicate"},
	} {
		code, out, _ := runCmd(t, "", args...)
		if code != 2 {
			t.Errorf("%v: exit %d (%q), want 2", args, code, out)
		}
	}
}

func TestReferenceOptionalNeedsAReference(t *testing.T) {
	code, out, _ := runCmd(t, "", "check", "KubeletConfigProblem", "--root", t.TempDir(), "--reference-optional")
	if code != 2 || !strings.Contains(out, "--reference-optional needs --reference") {
		t.Errorf("exit %d %q, want 2 saying --reference-optional needs --reference", code, out)
	}
}

func TestCheckTakesFlagsBeforeTheCondition(t *testing.T) {
	n := newNode(t)
	n.append(klog(time.Now().Add(-time.Minute), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`))
	code, out, errOut := runCmd(t, "", "check", "--root", n.root, "--state-dir", n.state, "KubeletDNSProblem")
	if code != 0 {
		t.Errorf("exit %d %q (%s), want 0", code, out, errOut)
	}
}

// TestCheckOptionalReferenceAsTheShippedRulesPassIt: the DNS rule's
// --reference-optional reaches the check: an absent reference is no drift
// check (healthy), the same path without the flag cannot tell, and a
// reference that is there still finds drift.
func TestCheckOptionalReferenceAsTheShippedRulesPassIt(t *testing.T) {
	n := newNode(t)
	n.append(klog(time.Now().Add(-time.Minute), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`))
	for p, src := range map[string]string{
		"var/lib/kubelet/config.yaml":     "../../plugins/kubeletconfig/testdata/kubeadm-default.yaml",
		"run/systemd/resolve/resolv.conf": "../../plugins/dns/testdata/upstream-resolv.conf",
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(n.root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(n.root, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	absent := filepath.Join(t.TempDir(), "kubelet")
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"absent optional reference", []string{"--reference=" + absent, "--reference-optional"}, 0, ""},
		{"absent reference, not optional", []string{"--reference=" + absent}, 2, "reference unusable"},
		{"optional reference that is there", []string{"--reference=../../plugins/kubeletconfig/testdata/reference-corp.yaml", "--reference-optional"},
			1, "clusterDomain cluster.local!=corp.local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"check", "KubeletDNSProblem", "--root", n.root, "--state-dir", t.TempDir(), "--reuse-within=0s",
				"--kubelet-config=/var/lib/kubelet/config.yaml"}, tt.args...)
			code, out, errOut := runCmd(t, "", args...)
			if code != tt.code || !strings.Contains(out, tt.out) {
				t.Errorf("exit %d %q, want %d with %q (stderr %s)", code, out, tt.code, tt.out, errOut)
			}
		})
	}
}
