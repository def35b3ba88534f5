package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeCompletion(t *testing.T, shell, name string) string {
	t.Helper()
	code, out, errOut := runCmd(t, "", "completion", shell)
	if code != 0 {
		t.Fatalf("completion %s: exit %d: %s", shell, code, errOut)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBashCompletionCompletesCommandsFlagsAndValues(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := writeCompletion(t, "bash", "kubelet-doctor.bash")
	tests := []struct {
		name  string
		words []string
		want  string
	}{
		{"a command", []string{"rep"}, "report"},
		{"a flag of that command", []string{"metrics", "--text"}, "--textfile"},
		{"a flag another command lacks", []string{"report", "--textf"}, ""},
		{"a condition for check", []string{"check", "KubeletCA"}, "KubeletCATrustProblem"},
		{"an output format", []string{"wait", "--output", "j"}, "json"},
		{"a shell", []string{"completion", "z"}, "zsh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words := append([]string{"kubelet-doctor"}, tt.words...)
			quoted := make([]string, len(words))
			for i, w := range words {
				quoted[i] = "'" + w + "'"
			}
			prog := "source " + script + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
				itoa(len(words)-1) + "; _kubelet_doctor; printf '%s\\n' \"${COMPREPLY[@]}\""
			out, err := exec.Command(bash, "--norc", "-c", prog).CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("completing %v = %q, want %q", tt.words, got, tt.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestZshCompletionInARealShell types into an interactive zsh under tmux
// and reads what its completion system offers.
func TestZshCompletionInARealShell(t *testing.T) {
	zsh, err1 := exec.LookPath("zsh")
	tmux, err2 := exec.LookPath("tmux")
	if err1 != nil || err2 != nil {
		t.Skip("zsh or tmux missing (scripts/deps.sh installs zsh)")
	}
	script := writeCompletion(t, "zsh", "_kubelet-doctor")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	home := t.TempDir()
	rc := "fpath=(" + filepath.Dir(script) + " $fpath)\nautoload -U compinit && compinit -u\nPS1='zsh-ready> '\n"
	if err := os.WriteFile(filepath.Join(home, ".zshrc"), []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	sess := "kd-zsh-" + filepath.Base(home)
	tm := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-L", sess}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tm("new-session", "-d", "-s", sess, "-x", "200", "-y", "50", "env", "HOME="+home, "ZDOTDIR="+home, "TERM=xterm", zsh, "-i")
	defer exec.Command(tmux, "-L", sess, "kill-server").Run()
	screenHas := func(want string) bool {
		for range 50 {
			if strings.Contains(tm("capture-pane", "-p", "-t", sess), want) {
				return true
			}
			time.Sleep(100 * time.Millisecond)
		}
		return false
	}
	if !screenHas("zsh-ready>") {
		t.Fatalf("no zsh prompt:\n%s", tm("capture-pane", "-p", "-t", sess))
	}
	tm("send-keys", "-t", sess, "kubelet-doctor rep", "Tab")
	if !screenHas("kubelet-doctor report") {
		t.Errorf("zsh did not complete the command:\n%s", tm("capture-pane", "-p", "-t", sess))
	}
	tm("send-keys", "-t", sess, " --o", "Tab")
	if !screenHas("kubelet-doctor report --output") {
		t.Errorf("zsh did not complete report's flag:\n%s", tm("capture-pane", "-p", "-t", sess))
	}
	tm("send-keys", "-t", sess, "C-u", "kubelet-doctor check KubeletCA", "Tab")
	if !screenHas("kubelet-doctor check KubeletCATrustProblem") {
		t.Errorf("zsh did not complete a condition:\n%s", tm("capture-pane", "-p", "-t", sess))
	}
}

func TestCompletionRejectsOtherShells(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "fish"}, {"completion", "bash", "zsh"}} {
		if code, _, errOut := runCmd(t, "", args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, want 2 with usage", args, code)
		}
	}
}
