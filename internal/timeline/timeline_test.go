package timeline

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func klog(d time.Duration, msg string) journalexport.Entry {
	at := t0.Add(d)
	return journalexport.Kubelet(at, fmt.Sprintf("I%s %7d x.go:1] %s", at.Format("0102 15:04:05.000000"), journalexport.KubeletPID, msg))
}

func systemd(d time.Duration, msg string) journalexport.Entry {
	return journalexport.Systemd(t0.Add(d), "kubelet.service", msg)
}

const (
	started    = "Started kubelet.service - kubelet: The Kubernetes Node Agent."
	banner     = `"Kubelet version" kubeletVersion="v1.34.4"`
	attempt    = `"Attempting to register node" node="worker-1"`
	refused    = `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": dial tcp 10.0.0.10:6443: connect: connection refused" node="worker-1"`
	registered = `"Successfully registered node" node="worker-1"`
	exited     = "kubelet.service: Main process exited, code=exited, status=1/FAILURE"
	failed     = "kubelet.service: Failed with result 'exit-code'."
)

// fold observes the entries in memory, as the follower does.
func fold(es []journalexport.Entry) (Timeline, []Milestone) {
	var t Timeline
	var ms []Milestone
	c := rules.New()
	for _, e := range es {
		if m, ok := t.Observe(journal.Entry{Realtime: e.Time, Message: e.Message}, c.Classify(e.Message)); ok {
			ms = append(ms, m)
		}
	}
	return t, ms
}

func TestObserve(t *testing.T) {
	tests := []struct {
		name       string
		entries    []journalexport.Entry
		starts     int64
		exits      int64
		attempts   int
		failures   int
		registerIn time.Duration // 0: not registered
		kinds      []Kind
	}{
		{name: "systemd's start and the kubelet's banner are one start",
			entries: []journalexport.Entry{systemd(0, started), klog(400*time.Millisecond, banner)},
			starts:  1, kinds: []Kind{KindStarted}},
		{name: "a kubelet that registers after a refused attempt",
			entries: []journalexport.Entry{systemd(0, started), klog(time.Second, attempt), klog(1100*time.Millisecond, refused),
				klog(8*time.Second, attempt), klog(9*time.Second, registered)},
			starts: 1, attempts: 2, failures: 1, registerIn: 9 * time.Second,
			kinds: []Kind{KindStarted, KindAttempt, KindFailure, KindAttempt, KindRegistered}},
		{name: "one crash is one exit though systemd logs two lines",
			entries: []journalexport.Entry{systemd(0, started), systemd(time.Second, exited), systemd(1100*time.Millisecond, failed)},
			starts:  1, exits: 1, kinds: []Kind{KindStarted, KindExited}},
		{name: "a restart forgets the earlier kubelet's registration",
			entries: []journalexport.Entry{systemd(0, started), klog(time.Second, attempt), klog(2*time.Second, registered),
				systemd(60*time.Second, exited), systemd(70*time.Second, started), klog(71*time.Second, attempt)},
			starts: 2, exits: 1, attempts: 1,
			kinds: []Kind{KindStarted, KindAttempt, KindRegistered, KindExited, KindStarted, KindAttempt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl, ms := fold(tt.entries)
			if tl.Starts != tt.starts || tl.Exits != tt.exits || tl.Attempts != tt.attempts || tl.Failures != tt.failures {
				t.Errorf("starts %d exits %d attempts %d failures %d, want %d %d %d %d",
					tl.Starts, tl.Exits, tl.Attempts, tl.Failures, tt.starts, tt.exits, tt.attempts, tt.failures)
			}
			d, ok := tl.RegisterDuration()
			if ok != (tt.registerIn > 0) || d != tt.registerIn {
				t.Errorf("registered in %v (%v), want %v", d, ok, tt.registerIn)
			}
			var kinds []Kind
			for _, m := range ms {
				kinds = append(kinds, m.Kind)
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tt.kinds) {
				t.Errorf("milestones %v, want %v", kinds, tt.kinds)
			}
		})
	}
}

func TestFollowerReadsOnlyWhatIsNewAndKeepsCounting(t *testing.T) {
	if err := journalexport.Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "system.journal")
	if err := journalexport.Append(file, []journalexport.Entry{systemd(0, started), klog(time.Second, attempt), klog(2*time.Second, refused)}); err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := &dirSource{dir: dir, key: "test"}
	f := &Follower{Source: src, Store: store, Since: t0.Add(-time.Hour)}
	var ms []Milestone
	tl, err := f.Update(context.Background(), func(m Milestone) { ms = append(ms, m) })
	if err != nil || tl.Entries != 3 || len(ms) != 3 {
		t.Fatalf("first read: %v, %d entries, %d milestones; want 3 and 3", err, tl.Entries, len(ms))
	}
	if err := journalexport.Append(file, []journalexport.Entry{klog(10*time.Second, attempt), klog(11*time.Second, registered)}); err != nil {
		t.Fatal(err)
	}
	ms = nil
	tl, err = f.Update(context.Background(), func(m Milestone) { ms = append(ms, m) })
	if err != nil || tl.Entries != 5 || len(ms) != 2 {
		t.Fatalf("second read: %v, %d entries, %d new milestones; want 5 and 2", err, tl.Entries, len(ms))
	}
	if tl.AttemptsTotal != 2 || tl.FailuresTotal != 1 || tl.Registered.IsZero() {
		t.Errorf("attempts %d failures %d registered %v", tl.AttemptsTotal, tl.FailuresTotal, tl.Registered)
	}
	// Another journal (another key) starts again rather than trusting counts.
	src.key = "other"
	if tl, err = f.Update(context.Background(), nil); err != nil || tl.AttemptsTotal != 2 || tl.Entries != 5 {
		t.Errorf("rebuilt for another key: %v, attempts %d entries %d; want a fresh read of 5", err, tl.AttemptsTotal, tl.Entries)
	}
}

func TestFollowerRefusesACorruptTimeline(t *testing.T) {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{`{"version":1,"key":"k","attempts":-5}`, `not json`, `{"version":99,"key":"k"}`} {
		f := &Follower{Store: store}
		if got := f.load([]byte(raw), "k"); got.Attempts != 0 || got.Version != version {
			t.Errorf("%s loaded as %+v, want a fresh timeline", raw, got)
		}
	}
}

// dirSource reads one journal directory under a key the test can change.
type dirSource struct {
	dir, key string
}

func (d *dirSource) Open() (journal.Reader, error) {
	return journal.Open([]string{d.dir}, journal.DefaultMatch())
}
func (d *dirSource) Key() string { return d.key }
