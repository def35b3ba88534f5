package nodestate2

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/test/dbustest"
	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

type podResources struct {
	podresourcesv1.UnimplementedPodResourcesListerServer
}

func (podResources) List(context.Context, *podresourcesv1.ListPodResourcesRequest) (*podresourcesv1.ListPodResourcesResponse, error) {
	return &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{{Name: "p", Namespace: "default"}}}, nil
}

// BenchmarkInterval is one NPD interval of every condition on a healthy
// kubeadm node whose kubelet answers pod-resources, D-Bus and healthz: the
// 11 `kubelet-doctor check` invocations NPD makes, the probes' caches
// expired at the start of each interval (--now moves 30s on). Reports the
// CPU time (user+sys) and the wall time of one interval.
func BenchmarkInterval(b *testing.B) {
	bin := os.Getenv("KD_BIN")
	if bin == "" {
		b.Skip("KD_BIN must be set")
	}
	root, err := os.MkdirTemp("", "ns2")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	n := node{root: root}
	n.kubeadm(b)
	sock := n.path("/run/dbus/system_bus_socket")
	dbustest.StartBus(b, sock)
	start := time.Now()
	dbustest.FakeSystemd(b, sock, dbustest.Unit{Name: "kubelet.service",
		Unit: map[string]any{"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
			"ActiveEnterTimestamp": uint64(start.Add(-time.Hour).UnixMicro()), "InactiveEnterTimestamp": uint64(0)},
		Service: map[string]any{"NRestarts": uint32(0), "ExecMainStatus": int32(0), "ExecMainCode": int32(0), "Result": "success"}})
	l, err := net.Listen("unix", n.path("/var/lib/kubelet/pod-resources/kubelet.sock"))
	if err != nil {
		b.Fatal(err)
	}
	g := grpc.NewServer()
	podresourcesv1.RegisterPodResourcesListerServer(g, podResources{})
	go g.Serve(l)
	b.Cleanup(g.Stop)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })}
	go hs.Serve(hl)
	b.Cleanup(func() { hs.Close() })
	state := b.TempDir()
	// A healthy kubelet's journal: one start, registered an hour ago.
	at := start.Add(-time.Hour)
	klog := func(d time.Duration, msg string) journalexport.Entry {
		ts := at.Add(d)
		return journalexport.Kubelet(ts, fmt.Sprintf("I%s    1234 %s", ts.UTC().Format("0102 15:04:05.000000"), msg))
	}
	if err := journalexport.Append(filepath.Join(root, "var/log/journal", journalexport.MachineID, "system.journal"), []journalexport.Entry{
		journalexport.Systemd(at, "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		klog(time.Second, `server.go:1256] "Started kubelet"`),
		klog(2*time.Second, `kubelet_node_status.go:75] "Attempting to register node" node="worker-1"`),
		klog(3*time.Second, `kubelet_node_status.go:78] "Successfully registered node" node="worker-1"`),
	}); err != nil {
		b.Fatalf("journal: %v", err)
	}
	ref := filepath.Join(kubeletData, "kubelet-config-configmap.yaml")
	var cpu, wall time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := start.Add(time.Duration(i) * 30 * time.Second).UTC().Format(time.RFC3339Nano)
		t0 := time.Now()
		for _, typ := range condition.Types() {
			cmd := exec.Command(bin, "check", typ, "--root="+root, "--state-dir="+state,
				"--now="+now, "--reference="+ref, "--healthz-url=http://"+hl.Addr().String()+"/healthz")
			c0 := time.Now()
			out, _ := cmd.Output()
			if cmd.ProcessState == nil {
				b.Fatalf("%s did not run", typ)
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			if i == 0 {
				b.Logf("%s: %v, exit %d %s", typ, time.Since(c0).Round(time.Millisecond), cmd.ProcessState.ExitCode(), out)
			}
		}
		wall += time.Since(t0)
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/interval")
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "wall-ms/interval")
}
