package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this very binary as kubelet-doctor (with
// KD_TEST_AS_MAIN=1), for what needs a process of its own: signals.
func TestMain(m *testing.M) {
	if os.Getenv("KD_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(benchRoot)
	}
	os.Exit(code)
}

// asMain is a command running this test binary as kubelet-doctor.
func asMain(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), "KD_TEST_AS_MAIN=1")
	return cmd
}

const unitDir = "../../config/systemd"

// execStart is the service's ExecStart command line.
func execStart(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(unitDir, "kubelet-doctor-metrics.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatal("no ExecStart")
	return nil
}

func TestSystemdUnitRunsAValidMetricsCommand(t *testing.T) {
	args := execStart(t)
	if args[0] != "/usr/local/bin/kubelet-doctor" || args[1] != "metrics" {
		t.Fatalf("ExecStart %v, want kubelet-doctor metrics", args)
	}
	// The unit's flags, with its textfile directory made here.
	dir := t.TempDir()
	for i, a := range args {
		if a == "/var/lib/node_exporter/textfile_collector" {
			args[i] = dir
		}
	}
	n := newNode(t)
	n.append(healthyNode(time.Now().Add(-time.Minute))...)
	code, _, errOut := runCmd(t, "", append(args[1:], "--root", n.root)...)
	if code != 0 {
		t.Fatalf("the unit's command exits %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "kubelet_doctor.prom")); err != nil {
		t.Errorf("no textfile written: %v", err)
	}
}

func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze (Debian package systemd)")
	}
	// systemd-analyze checks that ExecStart's binary exists: point it at
	// this test binary in a copy of the units.
	self, _ := os.Executable()
	dir := t.TempDir()
	for _, name := range []string{"kubelet-doctor-metrics.service", "kubelet-doctor-metrics.timer"} {
		b, err := os.ReadFile(filepath.Join(unitDir, name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "/usr/local/bin/kubelet-doctor", self)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", filepath.Join(dir, "kubelet-doctor-metrics.service"), filepath.Join(dir, "kubelet-doctor-metrics.timer"))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestMetricsEveryRewritesUntilStopped(t *testing.T) {
	n := newNode(t)
	n.append(healthyNode(time.Now().Add(-time.Minute))...)
	dir := t.TempDir()
	cmd := asMain(t, "metrics", "--root", n.root, "--textfile", dir, "--every", "100ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "kubelet_doctor.prom")
	var first os.FileInfo
	rewritten := false
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		fi, err := os.Stat(file)
		if err != nil {
			continue
		}
		if first == nil {
			first = fi
		} else if !os.SameFile(first, fi) {
			rewritten = true
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if !rewritten {
		t.Errorf("the textfile was not written again")
	}
	if err != nil {
		t.Errorf("stopped with SIGTERM: %v, want exit 0", err)
	}
}
