package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ereCorpus mixes the generator's lines with lines made to probe the
// conversions (case folding, classes with ']' '-' '^' '\', repetitions of
// multi-byte runes).
func ereCorpus() []string {
	lines := []string{
		`E1125 13:50:00.000001    4242 x.go:1] x509: certificate has expired or is not yet valid`,
		`User \"system:anonymous\" cannot get resource`,
		`User \"system:anonymous\" cannot delete resource`,
		`nodes \"node-1\" is forbidden: x`,
		`node "w1" not found`, `node \"w1\" not found`, `node "" not found`,
		`pod-resources/kubelet.sock: bind: permission denied`,
		`pod-resources/kubelet.sock: no such file or directory`,
		`mkdir /var/lib/kubelet/pods: permission denied`,
		`Failed to load Kubelet config file`, `FAILED TO LOAD kubelet CONFIG FILE`,
		`a]b`, `a-b`, `a^b`, `a\b`, `ab`, `héé-x`, `hé-x`, `x{2}`, `xx`, `tab	here`,
		`word boundary`, `swordfish`, `123-456`, `1-2`, `.`, `$5`, `caret ^ here`,
	}
	for _, m := range benignMsgs {
		lines = append(lines, m.msg)
	}
	for _, m := range failureMsgs {
		lines = append(lines, m.msg)
	}
	return lines
}

var erePatterns = []string{
	`x509: certificate has expired or is not yet valid`,
	`x509: certificate is valid for [^,]+(, [^,]+)*, not [0-9a-zA-Z.:-]+`,
	`"Attempting to register node" node="[^"]+"`,
	`node \\?"[^"\\]+\\?" not found`,
	`(: |err=\\?")Unauthorized`,
	`nodes? \\?"?[a-z0-9.-]*\\?"? ?is forbidden`,
	`User \\"system:anonymous\\" cannot (create|get|patch) resource`,
	`bootstrap-kubelet\.conf: no such file or directory`,
	`dial tcp [0-9.]+:[0-9]+: connect: connection refused`,
	`misconfiguration: kubelet cgroup driver: \\?"[a-z]+\\?" is different from`,
	`Failed to load [Kk]ubelet config file`,
	`(?i)failed to load kubelet config file`,
	`pod-resources/kubelet\.sock: (bind: )?(permission denied|no such file or directory)`,
	`(mkdir|open|stat) /var/lib/kubelet[^ ]*: permission denied`,
	`(?:Container runtime network not ready|Failed to start ContainerManager)`,
	`\d+-\d+`, `\d{3}-\d{3}`, `x{2}`, `x\{2\}`, `a[\]\-^\\]b`, `a[-^]b`, `a[^\]]b`,
	`h(é)+-x`, `hé+-x`, `h[^-]+-x`, `\bword\b`, `\Bord`, `^\.$`, `\$\d`, `\s+here`, `caret \^`,
	`\Qa.b\E|x{2,}?`, `[[:alpha:]]+ boundary`, `(?i)[a-z]+ BOUNDARY`, `(?i)s\w+fish`, `[^[:space:]]+fish`,
}

func TestToEREMatchesLikeGo(t *testing.T) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	lines := ereCorpus()
	corpus := filepath.Join(t.TempDir(), "corpus")
	if err := os.WriteFile(corpus, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range erePatterns {
		ere, _, err := toERE(p)
		if err != nil {
			t.Errorf("toERE(%q): %v", p, err)
			continue
		}
		re := regexp.MustCompile(p)
		var want []string
		for i, l := range lines {
			if re.MatchString(l) {
				want = append(want, strconv.Itoa(i+1))
			}
		}
		cmd := exec.Command(grep, "-n", "-E", "-e", ere, corpus)
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out, err := cmd.Output()
		if err != nil && len(out) > 0 {
			t.Errorf("grep -E %q: %v", ere, err)
			continue
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if n, _, ok := strings.Cut(l, ":"); ok {
				got = append(got, n)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q -> ERE %q: grep matched lines %v, Go matched %v", p, ere, got, want)
		}
	}
}

func TestToERERefuses(t *testing.T) {
	for _, p := range []string{`[é-ü]x`, `(?i)é`, `\pL+`, `a\nb`} {
		if ere, _, err := toERE(p); err == nil {
			t.Errorf("toERE(%q) = %q, want an error", p, ere)
		}
	}
}
