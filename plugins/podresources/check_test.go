package podresources

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// server is the kubelet's side: the generated server interface, answering
// List with two pods, or blocking when slow is set.
type server struct {
	podresourcesv1.UnimplementedPodResourcesListerServer
	slow bool
}

func (s *server) List(ctx context.Context, _ *podresourcesv1.ListPodResourcesRequest) (*podresourcesv1.ListPodResourcesResponse, error) {
	if s.slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
		{Name: "coredns-1", Namespace: "kube-system"}, {Name: "gpu-job", Namespace: "ml",
			Containers: []*podresourcesv1.ContainerResources{{Name: "train",
				Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"GPU-0"}}}}}},
	}}, nil
}

// shortRoot is a root short enough for unix socket paths (108 bytes).
func shortRoot(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "pr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.MkdirAll(filepath.Join(root, "var/lib/kubelet/pod-resources"), 0o755); err != nil {
		t.Fatal(err)
	}
	// kubeadm's config file: a kubelet lives on this root.
	if err := os.WriteFile(filepath.Join(root, "var/lib/kubelet/config.yaml"), []byte("kind: KubeletConfiguration\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func sockPath(root string) string {
	return filepath.Join(root, "var/lib/kubelet/pod-resources/kubelet.sock")
}

// serve runs a real gRPC server on the socket.
func serve(t *testing.T, root string, s *server) {
	t.Helper()
	l, err := net.Listen("unix", sockPath(root))
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	podresourcesv1.RegisterPodResourcesListerServer(g, s)
	go g.Serve(l)
	t.Cleanup(g.Stop)
}

func run(t *testing.T, root string, c *Check) []doctor.Finding {
	t.Helper()
	fs, err := c.Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now(), Log: logrus.New()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(fs) != 1 {
		t.Fatalf("findings %+v, want one", fs)
	}
	return fs
}

func TestNoKubeletNoFinding(t *testing.T) {
	fs, err := (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(t.TempDir()), Now: time.Now(), Log: logrus.New()})
	if err != nil || len(fs) != 0 {
		t.Fatalf("got %+v %v, want nothing on a root without a kubelet", fs, err)
	}
}

func TestPodResources(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, root string)
		status  doctor.Status
		label   string
		detail  string
	}{
		{"kubelet answers", func(t *testing.T, root string) { serve(t, root, &server{}) }, doctor.OK, "pod-resources answers", "2 pods"},
		{"stale socket, nobody listening", func(t *testing.T, root string) {
			l, err := net.Listen("unix", sockPath(root))
			if err != nil {
				t.Fatal(err)
			}
			l.(*net.UnixListener).SetUnlinkOnClose(false)
			l.Close()
		}, doctor.Problem, "pod-resources refused", "stale socket"},
		{"plain file", func(t *testing.T, root string) {
			if err := os.WriteFile(sockPath(root), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, doctor.Problem, "pod-resources not a socket", "regular file"},
		{"missing", func(t *testing.T, root string) {}, doctor.Problem, "pod-resources socket missing", "/var/lib/kubelet/pod-resources/kubelet.sock"},
		{"kubelet hangs", func(t *testing.T, root string) { serve(t, root, &server{slow: true}) }, doctor.Unknown, "pod-resources no answer", "none in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := shortRoot(t)
			tt.prepare(t, root)
			f := run(t, root, &Check{Timeout: 300 * time.Millisecond})[0]
			if f.Status != tt.status || f.Label != tt.label || !strings.Contains(f.Detail, tt.detail) {
				t.Errorf("got %s %q: %q, want %s %q containing %q", f.Status, f.Label, f.Detail, tt.status, tt.label, tt.detail)
			}
		})
	}
}

// Through doctor.Evaluate with a state store, the probe runs once per
// MaxAge: the second evaluation reads the cached finding even though the
// server is gone.
func TestProbeRunsOncePerInterval(t *testing.T) {
	root := shortRoot(t)
	serve(t, root, &server{})
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	env := &doctor.Env{Root: hostpath.Root(root), Now: now, Store: store, Log: logrus.New()}
	c := &Check{}
	for i, want := range []bool{false, true} {
		vs, err := doctor.Evaluate(context.Background(), env, []doctor.Check{c}, []string{"KubeletResourceAccessProblem"})
		if err != nil {
			t.Fatal(err)
		}
		if vs[0].Status != doctor.OK || vs[0].Checks[0].Cached != want {
			t.Fatalf("evaluation %d: %s cached=%v, want ok cached=%v", i, vs[0].Status, vs[0].Checks[0].Cached, want)
		}
		os.Remove(sockPath(root))
	}
	env.Now = now.Add(MaxAge)
	vs, _ := doctor.Evaluate(context.Background(), env, []doctor.Check{c}, []string{"KubeletResourceAccessProblem"})
	if vs[0].Status != doctor.Problem || vs[0].Lead.Label != "pod-resources socket missing" {
		t.Fatalf("after MaxAge: %s %q, want the socket missing", vs[0].Status, vs[0].Lead.Label)
	}
}

func TestSocketPathTooLongCannotTell(t *testing.T) {
	root := filepath.Join(shortRoot(t), strings.Repeat("d", 100))
	if err := os.MkdirAll(filepath.Join(root, "var/lib/kubelet/pod-resources"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "var/lib/kubelet/config.yaml"), []byte("kind: KubeletConfiguration\n"), 0o644)
	// A socket can be bound by a relative name, then the absolute path is
	// too long to dial.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(filepath.Join(root, "var/lib/kubelet/pod-resources")); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", "kubelet.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = (&Check{}).Run(context.Background(), &doctor.Env{Root: hostpath.Root(root), Now: time.Now(), Log: logrus.New()})
	if err == nil || !strings.Contains(err.Error(), "longer than a unix socket address") {
		t.Fatalf("err %v, want the path named too long", err)
	}
}
