package journalexport

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 2, 26, 10, 0, 0, 0, time.UTC)

func requireRemote(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// exported reads a journal file back with journalctl (tests only) as JSON
// objects, one per entry.
func exported(t *testing.T, file string) []map[string]any {
	t.Helper()
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skipf("skipping cross-check: %v", err)
	}
	out, err := exec.Command("journalctl", "--file", file, "-o", "json", "--all", "--no-pager").Output()
	if err != nil {
		t.Fatalf("journalctl --file %s: %v", file, err)
	}
	var entries []map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decode journalctl output: %v", err)
		}
		entries = append(entries, m)
	}
	return entries
}

// jsonString returns a journalctl -o json value as a string: binary values
// come as arrays of byte numbers.
func jsonString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		b := make([]byte, len(v))
		for i, x := range v {
			b[i] = byte(x.(float64))
		}
		return string(b)
	}
	return ""
}

func TestAppendWritesFieldsAsGiven(t *testing.T) {
	requireRemote(t)
	file := filepath.Join(t.TempDir(), "new", "sub", "system.journal") // parent dirs created
	entries := []Entry{
		Kubelet(t0, "E0226 10:00:00.000000 4242 x.go:1] plain"),
		Systemd(t0.Add(time.Second), "kubelet.service", "kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
		Unit(t0.Add(2*time.Second), "containerd.service", "containerd", "line one\nline two\x00nul"),
		{Time: t0.Add(3 * time.Second), Message: "custom", Identifier: "kubelet", Fields: map[string]string{"_HOSTNAME": "w1", "CODE_FILE": "a.go"}},
	}
	if err := Append(file, entries); err != nil {
		t.Fatal(err)
	}
	got := exported(t, file)
	if len(got) != len(entries) {
		t.Fatalf("read back %d entries, want %d", len(got), len(entries))
	}
	checks := []map[string]string{
		{"MESSAGE": entries[0].Message, "_SYSTEMD_UNIT": "kubelet.service", "SYSLOG_IDENTIFIER": "kubelet", "_PID": "4242", "__REALTIME_TIMESTAMP": "1772100000000000", "_BOOT_ID": ProcessBootID()},
		{"_PID": "1", "_SYSTEMD_UNIT": "init.scope", "UNIT": "kubelet.service", "SYSLOG_IDENTIFIER": "systemd"},
		{"MESSAGE": "line one\nline two\x00nul", "_SYSTEMD_UNIT": "containerd.service", "_PID": "1000"},
		{"_HOSTNAME": "w1", "CODE_FILE": "a.go", "__REALTIME_TIMESTAMP": "1772100003000000"},
	}
	for i, want := range checks {
		for k, v := range want {
			if g := jsonString(got[i][k]); g != v {
				t.Errorf("entry %d field %s = %q, want %q", i, k, g, v)
			}
		}
	}
	if _, ok := got[3]["_SYSTEMD_UNIT"]; ok {
		t.Errorf("entry without Unit has _SYSTEMD_UNIT %v", got[3]["_SYSTEMD_UNIT"])
	}
}

func TestAppendAppendsToExistingFile(t *testing.T) {
	requireRemote(t)
	file := filepath.Join(t.TempDir(), "system.journal")
	for i := 0; i < 2; i++ {
		if err := Append(file, []Entry{Kubelet(t0.Add(time.Duration(i)*time.Second), "m")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(exported(t, file)); n != 2 {
		t.Fatalf("after two appends: %d entries, want 2", n)
	}
}

func TestAppendFuncStreams(t *testing.T) {
	requireRemote(t)
	file := filepath.Join(t.TempDir(), "system.journal")
	const n = 5000
	i := 0
	err := AppendFunc(file, func() (Entry, bool) {
		if i == n {
			return Entry{}, false
		}
		i++
		return Kubelet(t0.Add(time.Duration(i)*time.Millisecond), "streamed"), true
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(exported(t, file)); got != n {
		t.Fatalf("streamed %d entries, read back %d", n, got)
	}
}

func TestWriterRejects(t *testing.T) {
	requireRemote(t)
	dir := t.TempDir()
	tests := []struct {
		name    string
		file    string
		entries []Entry
		want    string
	}{
		{"name without .journal suffix", filepath.Join(dir, "x.log"), nil, "must end in .journal"},
		{"zero time", filepath.Join(dir, "a", "system.journal"), []Entry{{Message: "x"}}, "zero Time"},
		{"lower-case field name", filepath.Join(dir, "b", "system.journal"), []Entry{{Time: t0, Fields: map[string]string{"bad": "x"}}}, "invalid field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Append(tt.file, tt.entries)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Append error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWriterReportsJournalRemoteFailure(t *testing.T) {
	requireRemote(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "system.journal")
	// A directory where the file should be: fails even for root.
	if err := os.Mkdir(file, 0o755); err != nil {
		t.Fatal(err)
	}
	err := Append(file, []Entry{Kubelet(t0, "x")})
	if err == nil {
		t.Fatal("Append into a directory succeeded")
	}
	if !strings.Contains(err.Error(), "systemd-journal-remote") {
		t.Fatalf("error does not name journal-remote: %v", err)
	}
}

func TestAvailableHonoursCandidates(t *testing.T) {
	saved := RemoteCandidates
	defer func() { RemoteCandidates = saved }()
	RemoteCandidates = []string{filepath.Join(t.TempDir(), "nope")}
	if err := Available(); err == nil {
		t.Fatal("Available() = nil for a missing binary")
	}
}

func BenchmarkWrite(b *testing.B) {
	requireRemote(b)
	file := filepath.Join(b.TempDir(), "system.journal")
	w, err := NewWriter(file)
	if err != nil {
		b.Fatal(err)
	}
	e := Kubelet(t0, "I0226 10:00:00.000000    4242 kubelet.go:1] \"Some ordinary kubelet line\" pod=\"kube-system/x\"")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Time = t0.Add(time.Duration(i) * time.Microsecond)
		if err := w.Write(e); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
