package kubelet_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/npdtest"
)

// The helpers below run without any binary: a broken recorder or recording
// shows up in a plain `go test`, not only in the slow suite.

func TestLineWriterSplitsLinesAcrossWrites(t *testing.T) {
	var got []string
	w := &lineWriter{emit: func(l string) { got = append(got, l) }}
	for _, p := range []string{"I1201 a", "\nE1201 b\nW12", "01 c"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	w.flush()
	if want := []string{"I1201 a", "E1201 b", "W1201 c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRecorderOrdersEntriesAndStopsAtClose(t *testing.T) {
	r := &recorder{}
	for range 100 {
		r.add("kubelet", 7, "x")
	}
	r.systemd("%s: Main process exited, code=exited, status=%s", unitName, exitStatus(1))
	got := r.close()
	r.add("kubelet", 7, "after the end")
	if len(got) != 101 || len(r.entries) != 101 {
		t.Fatalf("got %d entries (%d kept), want 101", len(got), len(r.entries))
	}
	for i := 1; i < len(got); i++ {
		if !got[i].at.After(got[i-1].at) {
			t.Fatalf("entry %d at %v is not after %v", i, got[i].at, got[i-1].at)
		}
	}
	if last := got[100]; last.kind != "systemd" || last.pid != 1 || last.msg != "kubelet.service: Main process exited, code=exited, status=1/FAILURE" {
		t.Errorf("systemd entry = %+v", last)
	}
}

func TestRecordingEncodesOffsetsAndEscapes(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := recording{
		version: "v1.36.3", scenario: "s", want: []string{"A", "B"}, pending: []string{"C"},
		start: start, now: start.Add(45 * time.Second), grace: 20 * time.Second,
		entries: []record{
			{at: start, kind: "systemd", pid: 1, msg: unitStarted},
			{at: start.Add(1500 * time.Millisecond), kind: "kubelet", pid: 42, msg: "E1201 x\tpath=/tmp/kdk1/s/config.yaml \\n"},
		},
	}
	got := r.encode("/tmp/kdk1")
	want := strings.Join([]string{
		"# kubelet-doctor recording of the real kubelet (test/e2e/kubelet)",
		"# kubelet: v1.36.3", "# scenario: s", "# true: A,B", "# pending: C", "# now: 45.000000", "# boot-grace: 20s",
		"0.000000\tsystemd\t1\t" + unitStarted,
		`1.500000	kubelet	42	E1201 x\tpath=/srv/kd-e2e/s/config.yaml \\n`,
	}, "\n") + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestScenarioTable checks the table itself: at least 15 scenarios with a
// healthy start, names usable as directories, and conditions that exist.
func TestScenarioTable(t *testing.T) {
	known := map[string]bool{}
	for _, m := range npdtest.Monitors(t, configDir) {
		known[m.Condition] = true
	}
	if len(scenarios) < 15 {
		t.Errorf("%d scenarios, want at least 15", len(scenarios))
	}
	seen := map[string]bool{}
	healthy := false
	for _, sc := range scenarios {
		if seen[sc.name] || sc.name == "" || strings.ContainsAny(sc.name, "/ ") {
			t.Errorf("scenario name %q is empty, repeated or not a directory name", sc.name)
		}
		seen[sc.name] = true
		if sc.evidence == "" {
			t.Errorf("%s: no evidence text", sc.name)
		}
		healthy = healthy || (len(sc.want) == 0 && len(sc.pending) == 0 && sc.registered)
		for _, c := range sc.want {
			if !known[c] {
				t.Errorf("%s: unknown condition %s", sc.name, c)
			}
		}
		for c := range sc.pending {
			if !known[c] {
				t.Errorf("%s: unknown pending condition %s", sc.name, c)
			}
		}
	}
	if !healthy {
		t.Error("no healthy scenario (registered, nothing True, nothing pending)")
	}
}

func TestStaleCgroupNames(t *testing.T) {
	for name, want := range map[string]string{
		"kd-healthy-1234": "1234", "kd-client-cert-expired-99": "99", "kdsd4242.slice": "4242",
		"kubepods": "", "kd-x": "", "kdsd.slice": "", "other-12": "",
	} {
		got := ""
		if m := staleCgroup.FindStringSubmatch(name); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("%s: pid %q, want %q", name, got, want)
		}
	}
}
