// Package runbooks tries the runbooks' recovery steps: each test drives a
// failure on a node root (real journal files under a temp directory, the
// kubelet's files beside them), checks with the real binary (KD_BIN) that
// the condition is True, applies the fix the runbook documents (running its
// own shell lines, with their host paths moved under the root), and checks
// that the condition is False again. What the kubelet logs after the fix is
// written into the journal as the kubelet logs it; no kubelet runs here.
package runbooks

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// node is one node root with its journal and kubelet-doctor's state.
type node struct {
	t       *testing.T
	bin     string
	root    string
	state   string
	file    string       // the journal file
	runtime net.Listener // the container runtime's socket, while it runs
}

// newNode skips when KD_BIN is unset and fails when it is set but unusable:
// a typo in CI must not turn into a silent skip.
func newNode(t *testing.T) *node {
	t.Helper()
	bin := os.Getenv("KD_BIN")
	if bin == "" {
		t.Skip("KD_BIN (the kubelet-doctor binary) is not set; `make test` sets it")
	}
	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
		t.Fatalf("KD_BIN=%s is not usable: %v: %s", bin, err, out)
	}
	if err := journalexport.Available(); err != nil {
		t.Fatalf("systemd-journal-remote is needed to write the node's journal: %v", err)
	}
	root := t.TempDir()
	return &node{t: t, bin: bin, root: root, state: t.TempDir(),
		file: filepath.Join(root, "var", "log", "journal", journalexport.MachineID, "system.journal")}
}

// log appends entries to the node's journal, in time order.
func (n *node) log(entries ...journalexport.Entry) {
	n.t.Helper()
	if err := journalexport.Append(n.file, entries); err != nil {
		n.t.Fatalf("append to the node's journal: %v", err)
	}
}

// path is a node path under the root.
func (n *node) path(p string) string { return filepath.Join(n.root, p) }

// write puts a file on the node.
func (n *node) write(p string, data []byte, mode os.FileMode) {
	n.t.Helper()
	full := n.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(full, data, mode); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) read(p string) string {
	n.t.Helper()
	b, err := os.ReadFile(n.path(p))
	if err != nil {
		n.t.Fatal(err)
	}
	return string(b)
}

// verdict is one run of `kubelet-doctor check`.
type verdict struct {
	code        int
	line, diags string
}

func (v verdict) String() string { return fmt.Sprintf("exit %d: %q", v.code, v.line) }

// check runs the NPD plugin for cond as of at, with the info log that NPD
// keeps (where the runbook is named).
func (n *node) check(cond string, at time.Time) verdict {
	n.t.Helper()
	cmd := exec.Command(n.bin, "check", cond, "--root", n.root, "--state-dir", n.state,
		"--now", at.UTC().Format(time.RFC3339Nano), "--reuse-within", "0s", "--log-level", "info")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	v := verdict{line: strings.TrimSpace(stdout.String()), diags: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		v.code = exit.ExitCode()
	case err != nil:
		n.t.Fatalf("run %s: %v", cmd, err)
	}
	return v
}

// want asserts the condition's state at a moment, with words its message
// must contain; "a|b" accepts either (the journal's label, or a node-state
// check's, which leads the message when it sees the same fault).
func (n *node) want(cond string, at time.Time, code int, words ...string) verdict {
	n.t.Helper()
	v := n.check(cond, at)
	if v.code != code {
		n.t.Fatalf("%s at %s: %s, want exit %d\nstderr:\n%s\nevery condition then:\n%s",
			cond, at.Format(time.TimeOnly), v, code, v.diags, n.all(at))
	}
	for _, w := range words {
		if !slices.ContainsFunc(strings.Split(w, "|"), func(alt string) bool { return strings.Contains(v.line, alt) }) {
			n.t.Errorf("%s at %s: %s lacks %q", cond, at.Format(time.TimeOnly), v, w)
		}
	}
	if code == 1 && !strings.Contains(v.diags, "runbook=docs/runbooks/"+cond+".md") {
		n.t.Errorf("%s: the plugin's log does not name the runbook:\n%s", cond, v.diags)
	}
	return v
}

// all is every condition's line at a moment: what a failure report needs
// to show which condition took the evidence instead.
func (n *node) all(at time.Time) string {
	var b strings.Builder
	for _, c := range conditionTypes {
		fmt.Fprintf(&b, "  %-30s %s\n", c, n.check(c, at))
	}
	return b.String()
}

var conditionTypes = []string{
	"KubeletCertificateProblem", "KubeletCATrustProblem", "KubeletBootstrapProblem", "KubeletAuthorizationProblem",
	"KubeletRegistrationProblem", "KubeletAPIServerUnreachable", "KubeletConfigProblem", "KubeletRuntimeProblem",
	"KubeletResourceAccessProblem", "KubeletDNSProblem", "KubeletStartupProblem",
}

// wantOne asserts that exactly one of conds is True at a moment, with
// words in its message, and returns it: for a fault that either of two
// conditions may own, depending on which checks run.
func (n *node) wantOne(conds []string, at time.Time, words ...string) string {
	n.t.Helper()
	var owner string
	for _, c := range conds {
		if v := n.check(c, at); v.code == 1 {
			if owner != "" {
				n.t.Fatalf("both %s and %s are True at %s: one fault, one condition\n%s", owner, c, at.Format(time.TimeOnly), n.all(at))
			}
			owner = c
		}
	}
	if owner == "" {
		n.t.Fatalf("none of %q is True at %s\n%s", conds, at.Format(time.TimeOnly), n.all(at))
	}
	n.want(owner, at, 1, words...)
	return owner
}

// kubelet is a kubelet entry with a klog text header dated like the entry.
func kubelet(at time.Time, level byte, src, msg string) journalexport.Entry {
	return journalexport.Kubelet(at, fmt.Sprintf("%c%s %7d %s] %s", level, at.UTC().Format("0102 15:04:05.000000"), journalexport.KubeletPID, src, msg))
}

// systemd is PID 1's entry about kubelet.service.
func systemd(at time.Time, msg string) journalexport.Entry {
	return journalexport.Systemd(at, "kubelet.service", msg)
}

// started is a kubelet start, as systemd and the kubelet log it.
func started(at time.Time) []journalexport.Entry {
	return []journalexport.Entry{
		systemd(at, "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		kubelet(at.Add(time.Millisecond), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
	}
}

// healthy is a kubelet that starts at at, loads its config and registers.
func healthy(at time.Time) []journalexport.Entry {
	return append(started(at),
		kubelet(at.Add(2*time.Millisecond), 'I', "kubelet.go:2488", `"Starting kubelet main sync loop"`),
		kubelet(at.Add(3*time.Millisecond), 'I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
		kubelet(at.Add(4*time.Millisecond), 'I', "kubelet_node_status.go:124", `"Node was previously registered" node="worker-1"`),
		kubelet(at.Add(5*time.Millisecond), 'I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`),
	)
}

// repoFile is a file of the repository, from this package's directory.
func repoFile(p string) string { return filepath.Join("..", "..", "..", p) }

// runbookLine returns the line of cond's runbook that starts with prefix
// (leading blanks ignored), inside a shell code block: the step the test
// is about to apply, so that a runbook edit that changes it is noticed.
func runbookLine(t *testing.T, cond, prefix string) string {
	t.Helper()
	f, err := os.Open(repoFile("docs/runbooks/" + cond + ".md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inCode := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
			continue
		}
		if inCode && strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("docs/runbooks/%s.md has no shell line starting with %q: the test follows the runbook; update both", cond, prefix)
	return ""
}

// apply runs one documented shell line on the node: its host paths are
// moved under the root (see rooted), in dir, with env added.
func (n *node) apply(line, dir string, env ...string) {
	n.t.Helper()
	r := rooted(line, n.root)
	if e := escapes(r, n.root); len(e) > 0 {
		n.t.Fatalf("the documented step would touch %q outside the node root; not run: %s", e, line)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", r)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("the documented step failed: %s\n(as run: %s)\n%v: %s", line, cmd.Args[3], err, out)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runbookProse fails unless cond's runbook says text (joined across line
// breaks): a step the test follows that has no shell line of its own.
func runbookProse(t *testing.T, cond, text string) {
	t.Helper()
	data, err := os.ReadFile(repoFile("docs/runbooks/" + cond + ".md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(data)), " "), text) {
		t.Fatalf("docs/runbooks/%s.md no longer says %q: the test follows the runbook; update both", cond, text)
	}
}
