// Package replay replays the real kubelet's output recorded by the
// real-kubelet suite (test/e2e/kubelet/testdata/VERSION/SCENARIO.tsv) into
// real journal files and checks every condition with the kubelet-doctor
// binary, asserting the verdicts the suite asserts: fast, and without
// building or running a kubelet. KD_BIN is used when set; otherwise the
// binary is built once from ./cmd/kubelet-doctor.
package replay

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
	"github.com/kubelet-doctor/kubelet-doctor/test/npdtest"
)

var (
	recordings = filepath.Join("..", "e2e", "kubelet", "testdata")
	configDir  = filepath.Join("..", "..", "config", "npd")
)

// recording is one parsed .tsv file (format: test/e2e/kubelet/record_test.go).
type recording struct {
	version, scenario string
	want, pending     []string
	now               time.Duration // after the first entry
	grace             string
	entries           []entry
}

type entry struct {
	offset time.Duration
	kind   string
	pid    int
	msg    string
}

var unescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r")

func parseRecording(path string) (*recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &recording{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if h, ok := strings.CutPrefix(text, "# "); ok {
			k, v, _ := strings.Cut(h, ": ")
			list := func() []string {
				if v == "" {
					return nil
				}
				return strings.Split(v, ",")
			}
			switch k {
			case "kubelet":
				r.version = v
			case "scenario":
				r.scenario = v
			case "true":
				r.want = list()
			case "pending":
				r.pending = list()
			case "now":
				s, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: now: %w", path, line, err)
				}
				r.now = time.Duration(s * float64(time.Second))
			case "boot-grace":
				r.grace = v
			}
			continue
		}
		f := strings.SplitN(text, "\t", 4)
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 tab-separated fields, got %d", path, line, len(f))
		}
		s, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: offset: %w", path, line, err)
		}
		pid, err := strconv.Atoi(f[2])
		if err != nil || (f[1] != "kubelet" && f[1] != "systemd") {
			return nil, fmt.Errorf("%s:%d: bad kind %q or pid %q", path, line, f[1], f[2])
		}
		r.entries = append(r.entries, entry{offset: time.Duration(s*1e6) * time.Microsecond, kind: f[1], pid: pid, msg: unescaper.Replace(f[3])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if r.scenario == "" || r.grace == "" || r.now == 0 || len(r.entries) == 0 {
		return nil, fmt.Errorf("%s: incomplete recording (scenario, now, boot-grace and entries are required)", path)
	}
	return r, nil
}

// klogHeader is the time in a klog text header, restamped on replay so that
// the line says what the entry's own time says, as when it was logged.
var klogHeader = regexp.MustCompile(`^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d{6}`)

// journal returns the entries as journald stores them, the first at start.
func (r *recording) journal(start time.Time) []journalexport.Entry {
	out := make([]journalexport.Entry, 0, len(r.entries))
	for _, e := range r.entries {
		at := start.Add(e.offset)
		if e.kind == "systemd" {
			out = append(out, journalexport.Systemd(at, "kubelet.service", e.msg))
			continue
		}
		msg := klogHeader.ReplaceAllString(e.msg, "${1}"+at.UTC().Format("0102 15:04:05.000000"))
		out = append(out, journalexport.Entry{Time: at, Message: msg, Unit: "kubelet.service", Identifier: "kubelet", PID: e.pid})
	}
	return out
}

// conditions are the permanent conditions of config/npd, sorted.
func conditions(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range npdtest.Monitors(t, configDir) {
		out = append(out, m.Condition)
	}
	return out
}

// binary is KD_BIN, or kubelet-doctor built into a temp dir.
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("KD_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "kubelet-doctor")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/kubelet-doctor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build kubelet-doctor: %v: %s", err, out)
	}
	return bin
}

// check runs `kubelet-doctor check` and maps its exit code to the status.
func check(t *testing.T, bin, cond, journalDir, stateDir string, now time.Time, grace string) (string, string) {
	t.Helper()
	// An empty --root: the verdict comes from the journal alone, never from
	// this machine's files, processes or network (the node-state checks
	// find nothing there and the healthz probe is off).
	root := filepath.Join(filepath.Dir(stateDir), "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check", cond, "--root", root, "--healthz-url", "-",
		"--journal-dir", journalDir, "--state-dir", stateDir,
		"--now", now.UTC().Format(time.RFC3339Nano), "--boot-grace", grace).Output()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "False", strings.TrimSpace(string(out))
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return "True", strings.TrimSpace(string(out))
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		return "Unknown", strings.TrimSpace(string(out))
	}
	t.Fatalf("kubelet-doctor check %s: %v: %s", cond, err, out)
	return "", ""
}

func TestReplayRealKubelet(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(recordings, "*", "*.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no recordings in %s (KD_RECORD=1 make e2e writes them)", recordings)
	}
	if err := journalexport.Available(); err != nil {
		t.Fatal(err)
	}
	bin := binary(t)
	conds := conditions(t)
	strict := os.Getenv("KD_STRICT") == "1"
	for _, path := range files {
		rec, err := parseRecording(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(rec.version+"/"+rec.scenario, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			// An hour ago: inside any window once --now is applied, and
			// never in the future of the machine's clock.
			start := time.Now().Add(-time.Hour).Truncate(time.Second)
			journalDir := filepath.Join(dir, "journal")
			if err := journalexport.Append(filepath.Join(journalDir, "system.journal"), rec.journal(start)); err != nil {
				t.Fatal(err)
			}
			now := start.Add(rec.now)
			for _, c := range conds {
				want := "False"
				if slices.Contains(rec.want, c) {
					want = "True"
				}
				got, msg := check(t, bin, c, journalDir, filepath.Join(dir, "state"), now, rec.grace)
				switch {
				case got == want:
				case slices.Contains(rec.pending, c) && !strict:
					t.Logf("PENDING %s is %s, want %s (%q)", c, got, want, msg)
				default:
					t.Errorf("%s is %s, want %s (%q)", c, got, want, msg)
				}
			}
		})
	}
}

func TestParseRecordingRestampsAndUnescapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.tsv")
	data := "# kubelet: v1.36.3\n# scenario: s\n# true: A\n# pending: \n# now: 2.500000\n# boot-grace: 20s\n" +
		"0.000000\tsystemd\t1\tStarted kubelet.service\n" +
		"1.250000\tkubelet\t42\tE1201 23:59:59.000001    42 run.go:72] \"command failed\" err=\"a\\tb\"\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := parseRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.scenario != "s" || r.now != 2500*time.Millisecond || r.grace != "20s" || !slices.Equal(r.want, []string{"A"}) || r.pending != nil {
		t.Fatalf("parsed %+v", r)
	}
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	es := r.journal(start)
	if len(es) != 2 || es[0].PID != 1 || es[1].PID != 42 || !es[1].Time.Equal(start.Add(1250*time.Millisecond)) {
		t.Fatalf("entries %+v", es)
	}
	if want := "E0304 05:06:08.250000    42 run.go:72] \"command failed\" err=\"a\tb\""; es[1].Message != want {
		t.Errorf("message %q, want %q", es[1].Message, want)
	}
}

func TestParseRecordingRejectsBrokenFiles(t *testing.T) {
	for name, data := range map[string]string{
		"no header":  "0.000000\tsystemd\t1\tStarted\n",
		"bad kind":   "# scenario: s\n# now: 1\n# boot-grace: 1s\n0.000000\tother\t1\tx\n",
		"bad offset": "# scenario: s\n# now: 1\n# boot-grace: 1s\nx\tkubelet\t1\tx\n",
		"few fields": "# scenario: s\n# now: 1\n# boot-grace: 1s\n0.1\tkubelet\n",
		"no entries": "# scenario: s\n# now: 1\n# boot-grace: 1s\n",
	} {
		path := filepath.Join(t.TempDir(), "x.tsv")
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := parseRecording(path); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}
