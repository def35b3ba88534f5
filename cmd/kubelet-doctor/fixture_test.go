package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after a deliberate change):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// seconds blanks measured durations, which no golden file can hold.
var seconds = regexp.MustCompile(`("seconds": )[0-9.e-]+|(_duration_seconds\{[^}]*\} )[0-9.e+-]+`)

func blankDurations(s string) string { return seconds.ReplaceAllString(s, "${1}${2}0") }

// t0 is when the fixtures' kubelets start; evaluations are as of t0 plus a
// few minutes (--now), so that golden outputs do not depend on the clock.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// nowFlag evaluates as of t0+d.
func nowFlag(d time.Duration) string { return "--now=" + t0.Add(d).Format(time.RFC3339) }

// failingNode is the README's node: it does not trust the API server's CA,
// its bootstrap token is rejected, then its config file is gone and it
// crash-loops (lines from the corpus' real kubelet wordings).
func failingNode(at time.Time) []journalexport.Entry {
	s := func(d time.Duration) time.Time { return at.Add(d) }
	es := []journalexport.Entry{
		journalexport.Systemd(s(0), "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		klog(s(400*time.Millisecond), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
		klog(s(2*time.Second), 'I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
		klog(s(2100*time.Millisecond), 'E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`),
		klog(s(2200*time.Millisecond), 'E', "controller.go:145", `"Failed to ensure lease exists, will retry" err="Get \"https://10.0.0.10:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s\": tls: failed to verify certificate: x509: certificate signed by unknown authority" interval="200ms"`),
		klog(s(5*time.Second), 'E', "certificate_manager.go:596", `"Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Unauthorized" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"`),
	}
	// Then the config file is gone: three starts that exit at once.
	for i := range 3 {
		b := s(time.Duration(10+20*i) * time.Second)
		es = append(es,
			journalexport.Systemd(b, "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
			klog(b.Add(200*time.Millisecond), 'E', "run.go:72", `"command failed" err="failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory"`),
			journalexport.Systemd(b.Add(300*time.Millisecond), "kubelet.service", "kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
			journalexport.Systemd(b.Add(400*time.Millisecond), "kubelet.service", "kubelet.service: Failed with result 'exit-code'."),
		)
	}
	return es
}

// healthyNode is a kubelet that starts, registers and runs.
func healthyNode(at time.Time) []journalexport.Entry {
	return []journalexport.Entry{
		journalexport.Systemd(at, "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		klog(at.Add(400*time.Millisecond), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
		klog(at.Add(2*time.Second), 'I', "kubelet.go:2452", `"Starting kubelet main sync loop"`),
		klog(at.Add(3*time.Second), 'I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
		klog(at.Add(4*time.Second), 'I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`),
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
