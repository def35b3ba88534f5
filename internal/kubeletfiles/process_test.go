package kubeletfiles

import (
	"os"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

func kubeletProc(pid, kubeconfig string) map[string]string {
	return map[string]string{
		"/proc/" + pid + "/comm":    "kubelet\n",
		"/proc/" + pid + "/cmdline": "/usr/bin/kubelet\x00--kubeconfig=" + kubeconfig + "\x00",
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestStoredProcess(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// before: the processes when the cache is filled; after: those of
		// the second run (files of before not in after are removed);
		// record: a state file written instead of the first run's.
		before, after map[string]string
		record        string
		at            time.Time // the second run's clock
		want          string    // the kubeconfig the second run finds ("" none)
	}{
		{name: "the remembered kubelet is used though a lower pid became a kubelet too",
			before: kubeletProc("300", "/a"), after: merge(kubeletProc("300", "/a"), kubeletProc("200", "/b")),
			at: now.Add(time.Hour), want: "/a"},
		{name: "a remembered kubelet that is gone is looked for anew",
			before: kubeletProc("300", "/a"), after: map[string]string{"/proc/300/comm": "bash\n", "/proc/400/comm": "kubelet\n",
				"/proc/400/cmdline": "kubelet\x00--kubeconfig=/c\x00"}, at: now, want: "/c"},
		{name: "none is believed within the age",
			after: kubeletProc("200", "/b"), at: now.Add(ProcessMaxAge - time.Second), want: ""},
		{name: "none is looked for anew after the age",
			after: kubeletProc("200", "/b"), at: now.Add(ProcessMaxAge), want: "/b"},
		{name: "none from the future (the clock stepped back) is looked for anew",
			after: kubeletProc("200", "/b"), at: now.Add(-time.Minute), want: "/b"},
		{name: "a forged pid that is not a number is not opened",
			record: `{"pid":"../200","at":"2026-12-02T01:00:00Z"}`, after: kubeletProc("200", "/b"), at: now, want: "/b"},
		{name: "a pid with a sign is not opened",
			record: `{"pid":"+200","at":"2026-12-02T01:00:00Z"}`, after: kubeletProc("300", "/c"), at: now, want: "/c"},
		{name: "an undecodable record is looked past",
			record: `{"pid":`, after: kubeletProc("200", "/b"), at: now, want: "/b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := hostpath.Root(t.TempDir())
			store, err := state.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			write(t, root, tc.before)
			if tc.record != "" {
				if err := store.Write(ProcessNamespace, []byte(tc.record)); err != nil {
					t.Fatal(err)
				}
			} else if _, err := discover(root, StoredProcess{Store: store, Now: now, MaxAge: ProcessMaxAge}); err != nil {
				t.Fatal(err)
			}
			for p := range tc.before {
				if _, ok := tc.after[p]; !ok {
					os.Remove(root.Path(p))
				}
			}
			write(t, root, tc.after)
			f, err := discover(root, StoredProcess{Store: store, Now: tc.at, MaxAge: ProcessMaxAge})
			if err != nil {
				t.Fatal(err)
			}
			got := f.Flags["kubeconfig"]
			if got != tc.want {
				t.Errorf("kubeconfig %q (from %s), want %q", got, f.From, tc.want)
			}
		})
	}
}

// TestStoredProcessRemembersOnlyChanges: a run that finds what is
// remembered writes nothing (no fsync on every plugin run).
func TestStoredProcessRemembersOnlyChanges(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	write(t, root, kubeletProc("300", "/a"))
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	pc := StoredProcess{Store: store, Now: now, MaxAge: ProcessMaxAge}
	if _, err := discover(root, pc); err != nil {
		t.Fatal(err)
	}
	p := store.Dir() + "/" + ProcessNamespace + ".json"
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	pc.Now = now.Add(time.Hour)
	if _, err := discover(root, pc); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the record was rewritten though the kubelet's pid did not change")
	}
}

// BenchmarkDiscoverHostRemembered is BenchmarkDiscoverHost as the second
// and later plugin runs of an interval do it.
func BenchmarkDiscoverHostRemembered(b *testing.B) {
	store, err := state.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	pc := StoredProcess{Store: store, Now: time.Now(), MaxAge: ProcessMaxAge}
	for b.Loop() {
		if _, err := discover(hostpath.Default, pc); err != nil {
			b.Fatal(err)
		}
	}
}
