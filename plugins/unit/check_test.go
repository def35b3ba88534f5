package unit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
	"github.com/kubelet-doctor/kubelet-doctor/test/dbustest"
)

// startBus runs a real dbus-daemon for the test and returns the root whose
// run/dbus/system_bus_socket it listens on.
func startBus(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "bus") // short: a socket path has 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	dbustest.StartBus(t, hostpath.Root(root).Path(SystemBus))
	return root
}

func fakeSystemd(t *testing.T, root, unit string, u, s map[string]any) {
	t.Helper()
	dbustest.FakeSystemd(t, hostpath.Root(root).Path(SystemBus), dbustest.Unit{Name: unit, Unit: u, Service: s})
}

func usecOf(t time.Time) uint64 { return uint64(t.UnixMicro()) }

func healthz(t *testing.T, code int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		if code == http.StatusOK {
			fmt.Fprint(w, "ok")
		} else {
			fmt.Fprint(w, "[-]syncloop failed: reason withheld")
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/healthz"
}

func TestUnitOverRealDBus(t *testing.T) {
	now := time.Now()
	good, bad := "", ""
	tests := []struct {
		name    string
		unit    map[string]any
		service map[string]any
		healthz *string
		status  doctor.Status
		label   string
		detail  string
	}{
		{"running and healthy", map[string]any{"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
			"ActiveEnterTimestamp": usecOf(now.Add(-time.Hour)), "InactiveEnterTimestamp": uint64(0)},
			map[string]any{"NRestarts": uint32(1), "ExecMainStatus": int32(0), "ExecMainCode": int32(0), "Result": "success"},
			&good, doctor.OK, "kubelet is running", "1 restarts"},
		{"running but healthz 500", map[string]any{"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
			"ActiveEnterTimestamp": usecOf(now.Add(-time.Hour)), "InactiveEnterTimestamp": uint64(0)},
			map[string]any{"NRestarts": uint32(0), "ExecMainStatus": int32(0), "ExecMainCode": int32(0), "Result": "success"},
			&bad, doctor.Problem, "kubelet healthz failing", "500"},
		{"crash loop between restarts", map[string]any{"LoadState": "loaded", "ActiveState": "activating", "SubState": "auto-restart",
			"ActiveEnterTimestamp": usecOf(now.Add(-5 * time.Second)), "InactiveEnterTimestamp": usecOf(now.Add(-2 * time.Second))},
			map[string]any{"NRestarts": uint32(7), "ExecMainStatus": int32(1), "ExecMainCode": int32(1), "Result": "exit-code"},
			nil, doctor.Problem, "kubelet crash loop", "7 restarts, last exit status 1"},
		{"crash loop caught while up", map[string]any{"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
			"ActiveEnterTimestamp": usecOf(now.Add(-3 * time.Second)), "InactiveEnterTimestamp": usecOf(now.Add(-4 * time.Second))},
			map[string]any{"NRestarts": uint32(12), "ExecMainStatus": int32(1), "ExecMainCode": int32(1), "Result": "success"},
			nil, doctor.Problem, "kubelet crash loop", "12 restarts, up 3s"},
		{"systemd gave up", map[string]any{"LoadState": "loaded", "ActiveState": "failed", "SubState": "failed",
			"ActiveEnterTimestamp": usecOf(now.Add(-time.Minute)), "InactiveEnterTimestamp": usecOf(now.Add(-30 * time.Second))},
			map[string]any{"NRestarts": uint32(5), "ExecMainStatus": int32(6), "ExecMainCode": int32(2), "Result": "signal"},
			nil, doctor.Problem, "kubelet failed", "signal, killed by signal 6, 5 restarts"},
		{"stopped", map[string]any{"LoadState": "loaded", "ActiveState": "inactive", "SubState": "dead",
			"ActiveEnterTimestamp": uint64(0), "InactiveEnterTimestamp": usecOf(now.Add(-time.Minute))},
			map[string]any{"NRestarts": uint32(0), "ExecMainStatus": int32(0), "ExecMainCode": int32(0), "Result": "success"},
			nil, doctor.Problem, "kubelet not running", "kubelet.service inactive since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good, bad = healthz(t, http.StatusOK), healthz(t, http.StatusInternalServerError)
			root := startBus(t)
			fakeSystemd(t, root, "kubelet.service", tt.unit, tt.service)
			c := &Check{Healthz: "-", Timeout: 5 * time.Second}
			if tt.healthz != nil {
				c.Healthz = *tt.healthz
			}
			fs, err := c.Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: now, Log: logrus.New()})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 || fs[0].Status != tt.status || fs[0].Label != tt.label || !strings.Contains(fs[0].Detail, tt.detail) {
				t.Fatalf("got %+v, want one %s %q with %q", fs, tt.status, tt.label, tt.detail)
			}
		})
	}
}

// No bus, a bus without systemd, a unit systemd does not know: no finding,
// never Unknown (the journal check speaks for the condition then).
func TestNoBusNoFinding(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string
	}{
		{"no bus socket", func(t *testing.T) string { return t.TempDir() }},
		{"bus without systemd", startBus},
		{"unit not loaded", func(t *testing.T) string {
			root := startBus(t)
			fakeSystemd(t, root, "kubelet.service", map[string]any{"LoadState": "not-found", "ActiveState": "inactive",
				"SubState": "dead", "ActiveEnterTimestamp": uint64(0), "InactiveEnterTimestamp": uint64(0)}, nil)
			return root
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.setup(t)
			fs, err := (&Check{Timeout: 2 * time.Second}).Run(context.Background(),
				&doctor.Env{Root: hostpath.Root(root), Now: time.Now(), Log: logrus.New()})
			if err != nil || len(fs) != 0 {
				t.Fatalf("got %+v, %v; want nothing", fs, err)
			}
		})
	}
}

// hungSystemd answers nothing: its GetAll blocks until released.
type hungSystemd struct{ release chan struct{} }

func (h hungSystemd) GetAll(string) (map[string]dbus.Variant, *dbus.Error) {
	<-h.release
	return nil, nil
}

// A systemd that does not answer within the deadline tells nothing: no
// finding, no error, and Run returns.
func TestHungSystemdHitsTheDeadline(t *testing.T) {
	root := startBus(t)
	conn, err := dbus.Dial("unix:path=" + hostpath.Root(root).Path(SystemBus))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		t.Fatal(err)
	}
	if err := conn.Hello(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.RequestName("org.freedesktop.systemd1", dbus.NameFlagDoNotQueue); err != nil {
		t.Fatal(err)
	}
	h := hungSystemd{release: make(chan struct{})}
	defer close(h.release)
	if err := conn.Export(h, dbustest.UnitPath("kubelet.service"), "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	fs, err := (&Check{Timeout: 200 * time.Millisecond}).Run(context.Background(),
		&doctor.Env{Root: hostpath.Root(root), Now: time.Now(), Log: logrus.New()})
	if err != nil || len(fs) != 0 {
		t.Fatalf("got %+v, %v; want nothing", fs, err)
	}
}

// A crash loop keeps one episode start while it goes on, so that its alert
// fires once; after a healthy state a new one starts.
func TestCrashLoopEpisode(t *testing.T) {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	loop := State{LoadState: "loaded", ActiveState: "activating", SubState: "auto-restart", NRestarts: 5, ExecMainStatus: 1, ExecMainCode: 1}
	healthy := State{LoadState: "loaded", ActiveState: "active", SubState: "running", ActiveEnter: t0.Add(-time.Hour)}
	c := &Check{Healthz: "-"}
	sinceAt := func(at time.Time, st State) time.Time {
		env := &doctor.Env{Now: at, Store: store, Log: logrus.New()}
		f, ok := c.judge("kubelet.service", st, at)
		if !ok {
			t.Fatal("no judgement")
		}
		return episode(context.Background(), env, f)
	}
	first := sinceAt(t0, loop)
	if again := sinceAt(t0.Add(time.Minute), loop); !again.Equal(first) || !first.Equal(t0) {
		t.Fatalf("crash loop since %v then %v, want %v both times", first, again, t0)
	}
	if s := sinceAt(t0.Add(2*time.Minute), healthy); !s.IsZero() {
		t.Fatalf("healthy since %v, want zero", s)
	}
	if s := sinceAt(t0.Add(3*time.Minute), loop); !s.Equal(t0.Add(3 * time.Minute)) {
		t.Fatalf("new crash loop since %v, want a new episode", s)
	}
}
