package npdtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

func TestMonitorsArePermanentRulesSortedByCondition(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.json":      `{"rules":[{"type":"permanent","condition":"BProblem","reason":"BBroken"}]}`,
		"a.json":      `{"rules":[{"type":"permanent","condition":"AProblem","reason":"ABroken"}]}`,
		"alerts.json": `{"rules":[{"type":"temporary","reason":"SomethingHappened"}]}`,
		"notes.txt":   `not a monitor`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := []Monitor{
		{File: filepath.Join(dir, "a.json"), Condition: "AProblem", Reason: "ABroken"},
		{File: filepath.Join(dir, "b.json"), Condition: "BProblem", Reason: "BBroken"},
	}
	if got := Monitors(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestMonitorsOfTheShippedConfig(t *testing.T) {
	got := Monitors(t, filepath.Join("..", "..", "config", "npd"))
	if len(got) < 10 {
		t.Fatalf("%d permanent rules in config/npd, want one per condition", len(got))
	}
	for _, m := range got {
		if !strings.HasSuffix(m.Condition, "Problem") && !strings.HasSuffix(m.Condition, "Unreachable") || m.Reason == "" {
			t.Errorf("%s: condition %q reason %q", m.File, m.Condition, m.Reason)
		}
	}
}

func TestChildrenOfFindsDirectChildrenOnly(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range ChildrenOf(cmd.Process.Pid) {
			_ = exec.Command("kill", "-9", fmt.Sprint(c)).Run()
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	err := clustertest.Poll(10*time.Second, 20*time.Millisecond, func() error {
		if n := len(ChildrenOf(cmd.Process.Pid)); n != 2 {
			return fmt.Errorf("%d children, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if kids := ChildrenOf(os.Getpid()); !containsPid(kids, cmd.Process.Pid) {
		t.Errorf("the shell %d is not among the test's children %v", cmd.Process.Pid, kids)
	}
}

func containsPid(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

// TestStopLeavesNoPluginRunning runs the real NPD (KD_NPD) with a plugin
// that outlives the test unless Stop kills the plugin's own process group.
func TestStopLeavesNoPluginRunning(t *testing.T) {
	bin := os.Getenv("KD_NPD")
	if bin == "" {
		t.Skip("KD_NPD (node-problem-detector, scripts/build-npd.sh) is not set; `make test` sets it")
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "plugin-ran")
	config := fmt.Sprintf(`{"plugin":"custom","pluginConfig":{"invoke_interval":"1s","timeout":"60s","max_output_length":80,"concurrency":1},
	 "source":"npdtest","conditions":[{"type":"TestProblem","reason":"TestFine","message":"fine"}],
	 "rules":[{"type":"permanent","condition":"TestProblem","reason":"TestBroken","path":"/bin/sh",
	   "args":["-c","touch %s; sleep 50"],"timeout":"55s"}]}`, marker)
	cfg := filepath.Join(dir, "test.json")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	n := Start(t, bin, dir, []string{cfg})
	var plugins []int
	err := clustertest.Poll(30*time.Second, 100*time.Millisecond, func() error {
		select {
		case <-n.Done():
			return fmt.Errorf("NPD exited (%v): %s", n.Err(), n.ReadLog())
		default:
		}
		if plugins = ChildrenOf(n.cmd.Process.Pid); len(plugins) == 0 {
			return errors.New("no plugin running yet")
		}
		if _, err := os.Stat(marker); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Stop()
	select {
	case <-n.Done():
	default:
		t.Fatal("NPD still running after Stop")
	}
	// A killed run may stay a zombie for a moment until init reaps it.
	err = clustertest.Poll(5*time.Second, 50*time.Millisecond, func() error {
		for _, pid := range plugins {
			if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
				return fmt.Errorf("plugin run %d outlived NPD: %s", pid, stat)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	n.Stop() // a second Stop, as t.Cleanup makes it, returns at once
}
