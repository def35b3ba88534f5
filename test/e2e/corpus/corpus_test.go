// Package corpus runs the real start-up sequences of the development corpus
// (internal/rules/testdata/corpus/sequences) through the built binary: each
// sequence is written into a real journal file with systemd-journal-remote,
// dated so that it ends seconds before --now, and `kubelet-doctor check` must
// raise (exit 1) or keep quiet (exit 0) the conditions expected.tsv lists.
package corpus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

const seqDir = "../../../internal/rules/testdata/corpus/sequences"

// expectation is one row of expected.tsv.
type expectation struct {
	file, condition string
	exit            int
	note            string
}

func loadExpected(t *testing.T) []expectation {
	t.Helper()
	f, err := os.Open(filepath.Join(seqDir, "expected.tsv"))
	if err != nil {
		t.Fatalf("open expected.tsv: %v", err)
	}
	defer f.Close()
	var out []expectation
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan(); n++ {
		if n == 0 {
			continue
		}
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 5 {
			t.Fatalf("expected.tsv:%d: %d fields, want 5", n+1, len(fs))
		}
		exit, err := strconv.Atoi(fs[2])
		if err != nil || (exit != 0 && exit != 1) {
			t.Fatalf("expected.tsv:%d: expected_exit %q", n+1, fs[2])
		}
		out = append(out, expectation{file: fs[0], condition: fs[1], exit: exit, note: fs[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// entries reads a sequence (seconds_ago, kind, message) as journal entries
// dated from now; equal or backward times are moved 1µs after the previous
// entry, since a journal file is written in time order.
func entries(t *testing.T, file string, now time.Time) []journalexport.Entry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seqDir, file))
	if err != nil {
		t.Fatalf("read sequence: %v", err)
	}
	var out []journalexport.Entry
	var last time.Time
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		fs := strings.SplitN(line, "\t", 3)
		if len(fs) != 3 {
			t.Fatalf("%s:%d: want seconds_ago, kind, message", file, i+1)
		}
		ago, err := strconv.ParseFloat(fs[0], 64)
		if err != nil {
			t.Fatalf("%s:%d: seconds_ago %q: %v", file, i+1, fs[0], err)
		}
		at := now.Add(-time.Duration(ago * float64(time.Second)))
		if !at.After(last) {
			at = last.Add(time.Microsecond)
		}
		last = at
		switch fs[1] {
		case "kubelet":
			out = append(out, journalexport.Kubelet(at, fs[2]))
		case "systemd":
			out = append(out, journalexport.Systemd(at, "kubelet.service", fs[2]))
		default:
			t.Fatalf("%s:%d: kind %q", file, i+1, fs[1])
		}
	}
	return out
}

func binary(t *testing.T) string {
	bin := os.Getenv("KD_BIN")
	if bin == "" {
		t.Skip("KD_BIN (the built kubelet-doctor, make build) is not set; `make e2e` and `make test` set it")
	}
	if err := journalexport.Available(); err != nil {
		t.Fatalf("systemd-journal-remote is needed to write real journal files (make deps): %v", err)
	}
	return bin
}

// TestSequences writes each sequence into its own node root and asks check
// about every condition expected.tsv lists for it.
func TestSequences(t *testing.T) {
	bin := binary(t)
	byFile := map[string][]expectation{}
	var order []string
	for _, e := range loadExpected(t) {
		if byFile[e.file] == nil {
			order = append(order, e.file)
		}
		byFile[e.file] = append(byFile[e.file], e)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, file := range order {
		t.Run(strings.TrimSuffix(file, ".tsv"), func(t *testing.T) {
			root := t.TempDir()
			journal := filepath.Join(root, "var", "log", "journal", journalexport.MachineID, "system.journal")
			if err := journalexport.Append(journal, entries(t, file, now)); err != nil {
				t.Fatalf("write journal: %v", err)
			}
			state := t.TempDir()
			for _, e := range byFile[file] {
				t.Run(fmt.Sprintf("%s=%d", e.condition, e.exit), func(t *testing.T) {
					code, out := check(t, bin, root, state, e.condition, now)
					if code != e.exit {
						t.Errorf("check %s: exit %d, want %d\n  output: %s\n  sequence: %s", e.condition, code, e.exit, out, e.note)
					}
				})
			}
		})
	}
}

// check runs `kubelet-doctor check CONDITION` as NPD would and returns its
// exit code and output line.
func check(t *testing.T, bin, root, state, condition string, now time.Time) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, "check", condition, "--root", root, "--state-dir", state,
		"--now", now.Format(time.RFC3339), "--timeout", "30s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, strings.TrimSpace(stdout.String())
	case errors.As(err, &ee):
		return ee.ExitCode(), strings.TrimSpace(stdout.String() + " " + stderr.String())
	}
	t.Fatalf("run %s: %v", bin, err)
	return -1, ""
}
