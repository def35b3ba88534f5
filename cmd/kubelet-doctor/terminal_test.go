package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// onTerminal runs kubelet-doctor with stdout and stderr on a real pseudo
// terminal and returns the exit code and everything the terminal received.
func onTerminal(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 200}); err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(&screen, ptmx) // ends with EIO once the tty is closed
	}()
	code := run(args, strings.NewReader(""), tty, tty)
	tty.Close()
	wg.Wait()
	return code, screen.String()
}

func TestReportOnATerminalIsColouredAndShowsProgress(t *testing.T) {
	n := newNode(t)
	n.append(failingNode(t0)...)
	oldDelay, oldEvery := progressDelay, progressEvery
	progressDelay, progressEvery = 0, time.Millisecond
	defer func() { progressDelay, progressEvery = oldDelay, oldEvery }()

	code, screen := onTerminal(t, "report", "--root", n.root, nowFlag(2*time.Minute))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, screen)
	}
	for _, want := range []string{
		"\x1b[31m\x1b[1mproblem",                  // a problem in bold red
		"\x1b[32mok",                              // ok in green
		"reading the kubelet's journal: ",         // the progress line on stderr
		"\r\x1b[K",                                // cleared before the table
		"crash-loop: kubelet config file missing", // the table itself
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("terminal lacks %q:\n%q", want, screen)
		}
	}
	if i, j := strings.LastIndex(screen, "reading the kubelet's journal"), strings.Index(screen, "CONDITION"); i > j {
		t.Errorf("progress line after the table began:\n%q", screen)
	}
}

func TestWaitOnATerminalShowsColouredProgress(t *testing.T) {
	n := newNode(t)
	n.append(healthyNode(time.Now().Add(-time.Minute))...)
	code, screen := onTerminal(t, "wait", "--root", n.root, "--interval", "100ms", "--stable", "0s", "--timeout", "20s")
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, screen)
	}
	for _, want := range []string{"kubelet started", "attempting to register node (attempt 1)", "node registered",
		"\x1b[32mjoined: kubelet registered and healthy after", "(kubelet start to registration 4.0s)"} {
		if !strings.Contains(screen, want) {
			t.Errorf("terminal lacks %q:\n%q", want, screen)
		}
	}
}
