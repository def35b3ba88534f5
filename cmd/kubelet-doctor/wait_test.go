package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// waitRun runs wait in the background while the test appends to the journal.
type waitRun struct {
	done        chan struct{}
	code        int
	out, errOut bytes.Buffer
}

func startWait(n *node, args ...string) *waitRun {
	w := &waitRun{done: make(chan struct{})}
	args = append([]string{"wait", "--root", n.root, "--interval", "200ms"}, args...)
	go func() {
		defer close(w.done)
		w.code = run(args, strings.NewReader(""), &w.out, &w.errOut)
	}()
	return w
}

// result waits for wait to end, at most within limit.
func (w *waitRun) result(t *testing.T, limit time.Duration) (int, string) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(limit):
		t.Fatalf("wait did not end within %s; so far:\n%s", limit, w.out.String())
	}
	return w.code, w.out.String()
}

// sleep lets wait look at the journal a few times before the next step.
func sleep(d time.Duration) { time.Sleep(d) }

func TestWaitJoinsWhenTheKubeletRegistersLater(t *testing.T) {
	n := newNode(t)
	now := time.Now()
	n.append(journalexport.Systemd(now, "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		klog(now.Add(100*time.Millisecond), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
		klog(now.Add(200*time.Millisecond), 'I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
		klog(now.Add(300*time.Millisecond), 'E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": dial tcp 10.0.0.10:6443: connect: connection refused" node="worker-1"`))
	w := startWait(n, "--timeout", "60s", "--stable", "1s")
	// The API server comes up a few seconds later and the node registers.
	sleep(3 * time.Second)
	at := time.Now()
	n.append(klog(at, 'I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
		klog(at.Add(50*time.Millisecond), 'I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`),
		klog(at.Add(60*time.Millisecond), 'I', "kubelet.go:2452", `"Starting kubelet main sync loop"`))
	code, out := w.result(t, 30*time.Second)
	if code != 0 {
		t.Fatalf("exit %d, want 0 (joined)\n%s%s", code, out, w.errOut.String())
	}
	t.Logf("wait's progress:\n%s", out)
	for _, want := range []string{"kubelet started", "attempting to register node (attempt 1)",
		"registration failed: ", "attempting to register node (attempt 2)", "node registered", "joined: kubelet registered and healthy after"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour off a terminal:\n%q", out)
	}
}

func TestWaitStopsEarlyOnARejectedBootstrapToken(t *testing.T) {
	n := newNode(t)
	now := time.Now()
	n.append(journalexport.Systemd(now, "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		klog(now.Add(100*time.Millisecond), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`))
	w := startWait(n, "--timeout", "60s", "--output", "json")
	sleep(time.Second)
	n.append(klog(time.Now(), 'E', "certificate_manager.go:596", `"Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Unauthorized" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"`))
	code, out := w.result(t, 30*time.Second)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a failure that will not resolve)\n%s%s", code, out, w.errOut.String())
	}
	var res waitResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	if res.Outcome != "failed" || !strings.HasPrefix(res.Diagnosis, "KubeletBootstrapProblem: bootstrap token rejected") {
		t.Errorf("outcome %q diagnosis %q, want failed naming the rejected token", res.Outcome, res.Diagnosis)
	}
	if len(res.Conditions) != 1 || res.Conditions[0].Runbook == "" || res.Conditions[0].Hint == "" {
		t.Errorf("conditions %+v, want the bootstrap problem with hint and runbook", res.Conditions)
	}
	// Progress went to stderr, the document alone to stdout.
	if !strings.Contains(w.errOut.String(), "kubelet started") {
		t.Errorf("no progress on stderr:\n%s", w.errOut.String())
	}
	golden(t, "wait-token-rejected.txt", normalizeWait(w.errOut.String()))
}

func TestWaitTimesOutWhenTheKubeletNeverStarts(t *testing.T) {
	n := newNode(t)
	n.append(journalexport.Unit(time.Now(), "containerd.service", "containerd", "containerd successfully booted"))
	w := startWait(n, "--timeout", "2s")
	code, out := w.result(t, 30*time.Second)
	if code != 2 || !strings.Contains(out, "timed out after 2s: kubelet never started") {
		t.Fatalf("exit %d, want 2 naming a kubelet that never started\n%s", code, out)
	}
}

func TestWaitWaitsForAnUnhealthyHealthz(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   int
		says   string
	}{
		{name: "healthz ok joins", status: http.StatusOK, want: 0, says: "healthz: ok"},
		{name: "healthz failing times out", status: http.StatusInternalServerError, want: 2, says: "its healthz says 500 Internal Server Error: [-]syncloop failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				if tt.status == http.StatusOK {
					_, _ = w.Write([]byte("ok"))
				} else {
					_, _ = w.Write([]byte("[-]syncloop failed"))
				}
			}))
			defer srv.Close()
			n := newNode(t)
			n.append(healthyNode(time.Now().Add(-time.Minute))...)
			w := startWait(n, "--timeout", "3s", "--stable", "0s", "--healthz-url", srv.URL)
			code, out := w.result(t, 30*time.Second)
			if code != tt.want || !strings.Contains(out, tt.says) {
				t.Fatalf("exit %d, want %d saying %q\n%s", code, tt.want, tt.says, out)
			}
		})
	}
}

func TestWaitRejectsBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"wait", "--timeout", "0s"},
		{"wait", "--output", "yaml"},
		{"wait", "--now", "2026-11-25T10:00:00Z"},
		{"wait", "extra"},
	} {
		if code, _, errOut := runCmd(t, "", args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, errOut)
		}
	}
}

var (
	waitClock   = regexp.MustCompile(`\[ *[0-9.]+s\]`)
	waitStamp   = regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`)
	waitSeconds = regexp.MustCompile(`\d+\.\ds\b`)
)

// normalizeWait blanks the clock in wait's progress for golden files.
func normalizeWait(s string) string {
	s = waitClock.ReplaceAllString(s, "[T]")
	s = waitStamp.ReplaceAllString(s, "hh:mm:ss")
	return waitSeconds.ReplaceAllString(s, "N.Ns")
}

func TestWaitFindsAJournalThatAppearsLater(t *testing.T) {
	n := newNode(t) // no journal yet: wait starts before the node logs anything
	w := startWait(n, "--timeout", "60s", "--stable", "0s")
	sleep(time.Second)
	n.append(healthyNode(time.Now())...)
	code, out := w.result(t, 30*time.Second)
	if code != 0 || !strings.Contains(out, "node registered") {
		t.Fatalf("exit %d, want 0 once the journal appeared\n%s%s", code, out, w.errOut.String())
	}
}

func TestWaitIgnoresARegistrationOfAnEarlierBoot(t *testing.T) {
	b := doctor.ReadBoot()
	if b.Monotonic == 0 {
		t.Skip("boot time unknown")
	}
	n := newNode(t)
	// The node registered in its previous life (an image built from a
	// joined node, or before a reboot); this boot's kubelet has not started.
	n.append(healthyNode(time.Now().Add(-b.Monotonic - time.Hour))...)
	n.append(journalexport.Unit(time.Now(), "containerd.service", "containerd", "containerd successfully booted"))
	w := startWait(n, "--timeout", "2s", "--lookback", "10000h")
	code, out := w.result(t, 30*time.Second)
	if code != 2 || !strings.Contains(out, "kubelet never started") {
		t.Fatalf("exit %d, want 2: an earlier boot's registration is not this kubelet's\n%s", code, out)
	}
}

func TestWaitDoesNotStopOnAnEarlierKubeletsFailure(t *testing.T) {
	n := newNode(t)
	now := time.Now()
	// The token was rejected; the operator fixed it and restarted the
	// kubelet, which has not registered yet when wait starts.
	n.append(journalexport.Systemd(now.Add(-3*time.Minute), "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		klog(now.Add(-2*time.Minute), 'E', "certificate_manager.go:596", `"Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Unauthorized" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"`),
		journalexport.Systemd(now.Add(-time.Minute), "kubelet.service", "Stopping kubelet.service - kubelet: The Kubernetes Node Agent..."),
		journalexport.Systemd(now.Add(-time.Minute+time.Second), "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."))
	w := startWait(n, "--timeout", "2s")
	code, out := w.result(t, 30*time.Second)
	if code != 2 || !strings.Contains(out, "did not register") {
		t.Fatalf("exit %d, want 2 (waiting for the new kubelet), not a stop on the old failure\n%s", code, out)
	}
}
