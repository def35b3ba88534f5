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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
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
	err  error
}

func (s *server) List(ctx context.Context, _ *podresourcesv1.ListPodResourcesRequest) (*podresourcesv1.ListPodResourcesResponse, error) {
	if s.slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if s.err != nil {
		return nil, s.err
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
		{"kubelet denies", func(t *testing.T, root string) {
			serve(t, root, &server{err: status.Error(codes.PermissionDenied, "pod-resources: 100% denied to uid 1000 ✗")})
		}, doctor.Problem, "pod-resources PermissionDenied", "pod-resources: 100% denied to uid 1000 ✗"},
		{"kubelet lacks the method", func(t *testing.T, root string) {
			l, err := net.Listen("unix", sockPath(root))
			if err != nil {
				t.Fatal(err)
			}
			g := grpc.NewServer() // no service registered
			go g.Serve(l)
			t.Cleanup(g.Stop)
		}, doctor.Problem, "pod-resources Unimplemented", "unknown service v1.PodResourcesLister"},
		{"kubelet overloaded", func(t *testing.T, root string) {
			serve(t, root, &server{err: status.Error(codes.ResourceExhausted, "rate limit exceeded")})
		}, doctor.Problem, "pod-resources ResourceExhausted", "rate limit exceeded"},
		{"something else listens, not HTTP/2", func(t *testing.T, root string) {
			l, err := net.Listen("unix", sockPath(root))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					c.Write([]byte("220 smtp ready\r\n"))
					c.Close()
				}
			}()
			// Something listens: the finding must not say nobody does.
		}, doctor.Problem, "pod-resources refused", "not an HTTP/2 server"},
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

func pods(n int) *podresourcesv1.ListPodResourcesResponse {
	resp := &podresourcesv1.ListPodResourcesResponse{}
	for i := 0; i < n; i++ {
		resp.PodResources = append(resp.PodResources, &podresourcesv1.PodResources{Name: "p", Namespace: "default",
			Containers: []*podresourcesv1.ContainerResources{{Name: "c", CpuIds: []int64{1, 2}}}})
	}
	return resp
}

func marshal(t testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCountPods(t *testing.T) {
	three := marshal(t, pods(3))
	// Fields a newer kubelet might add: a varint, fixed64, fixed32, a
	// string and a group (field 9), all to be skipped.
	var unknown []byte
	unknown = protowire.AppendTag(unknown, 5, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 300)
	unknown = protowire.AppendTag(unknown, 6, protowire.Fixed64Type)
	unknown = protowire.AppendFixed64(unknown, 1)
	unknown = protowire.AppendTag(unknown, 7, protowire.Fixed32Type)
	unknown = protowire.AppendFixed32(unknown, 1)
	unknown = protowire.AppendTag(unknown, 8, protowire.BytesType)
	unknown = protowire.AppendString(unknown, "x")
	unknown = protowire.AppendTag(unknown, 9, protowire.StartGroupType)
	unknown = protowire.AppendTag(unknown, 1, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 1)
	unknown = protowire.AppendTag(unknown, 9, protowire.EndGroupType)
	tests := []struct {
		name string
		in   []byte
		want int
		err  string
	}{
		{"empty answer", nil, 0, ""},
		{"three pods", three, 3, ""},
		{"pods and unknown fields", append(append([]byte{}, unknown...), three...), 3, ""},
		{"truncated pod", three[:len(three)-1], 0, "field 1: truncated"},
		{"truncated key", []byte{0x80}, 0, "bad field key"},
		{"field number 0", []byte{0x02, 0x00}, 0, "bad field number 0"},
		{"field 1 as a varint is unknown, as to protobuf", []byte{0x08, 0x01, 0x0a, 0x00}, 1, ""},
		{"end group alone", []byte{0x14}, 0, "unexpected wire type 4"},
		{"group never ended", []byte{0x13, 0x08, 0x01}, 0, "in group"},
		{"group ended by another field", []byte{0x13, 0x1c}, 0, "ended by field 3"},
		{"varint over 64 bits", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := countPods(tt.in)
			if n != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("got %d, %v; want %d, %q", n, err, tt.want, tt.err)
			}
		})
	}
}

// FuzzCountPods holds the hand walk to the protobuf runtime: what it
// decodes, countPods counts the same; nothing panics.
func FuzzCountPods(f *testing.F) {
	f.Add(marshal(f, pods(2)))
	f.Add([]byte{0x13, 0x08, 0x01, 0x14, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		n, err := countPods(in)
		var resp podresourcesv1.ListPodResourcesResponse
		if proto.Unmarshal(in, &resp) == nil && (err != nil || n != len(resp.PodResources)) {
			t.Fatalf("countPods: %d, %v; the protobuf runtime decodes %d pods", n, err, len(resp.PodResources))
		}
	})
}
