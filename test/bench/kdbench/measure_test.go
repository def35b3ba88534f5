package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMeasureExitCodeOutputAndMemory(t *testing.T) {
	p, err := Measure(Cmd{Name: "sh", Path: "/bin/sh", Observe: true,
		Args: []string{"sh", "-c", `head -c 4194304 /dev/zero | tr '\0' x >/dev/null; echo out; exit 3`}})
	if err != nil {
		t.Fatal(err)
	}
	if p.ExitCode != 3 || strings.TrimSpace(p.Stdout) != "out" {
		t.Errorf("exit %d stdout %q, want 3 and \"out\"", p.ExitCode, p.Stdout)
	}
	if p.Wall <= 0 || p.CPU <= 0 || p.MaxRSS <= 0 {
		t.Errorf("wall %s cpu %s maxrss %d: want all positive", p.Wall, p.CPU, p.MaxRSS)
	}
}

func TestMeasureAnonPeak(t *testing.T) {
	// The exit reading (or the sampler) must see 48 MiB of touched
	// anonymous memory that lives until the process ends.
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("skipping: no python3")
	}
	p, err := Measure(Cmd{Name: "python3", Path: python, Observe: true,
		Args: []string{"python3", "-c", "import time; x = bytearray(48 << 20); time.sleep(0.05); print(len(x))"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.PeakAnon < 40<<10 {
		t.Errorf("peak anonymous RSS %d KiB, want >= 40 MiB", p.PeakAnon)
	}
}

func TestMeasureTimeout(t *testing.T) {
	p, err := Measure(Cmd{Name: "sleep", Path: "/bin/sleep", Args: []string{"sleep", "5"}, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !p.TimedOut || p.ExitCode != -1 || p.Wall > 2*time.Second {
		t.Errorf("timed out %v exit %d wall %s: want a kill at ~50ms", p.TimedOut, p.ExitCode, p.Wall)
	}
}

func TestMeasurePipeline(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := MeasureAll(
		Cmd{Name: "seq", Path: "/usr/bin/seq", Args: []string{"seq", "100000"}, Stdout: pw, CloseAfterStart: []*os.File{pw}},
		Cmd{Name: "wc", Path: "/usr/bin/wc", Args: []string{"wc", "-l"}, Stdin: pr, CloseAfterStart: []*os.File{pr}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(ps[1].Stdout); got != "100000" {
		t.Errorf("wc -l said %q, want 100000", got)
	}
}
