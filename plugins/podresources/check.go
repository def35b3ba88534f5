// Package podresources checks the kubelet's pod-resources API: its socket
// exists, is a socket and answers a List call through the kubelet's own
// gRPC client (KubeletResourceAccessProblem). Device plugins, monitoring
// agents and topology-aware schedulers read it; when it does not answer,
// they fail.
package podresources

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/kubeletconfig"
)

// CheckName names the check in outputs and the state.
const CheckName = "pod-resources"

const (
	// MaxAge: the probe runs at most once per NPD interval (30s).
	MaxAge = 25 * time.Second
	// DefaultTimeout bounds the dial and the List call, well under the
	// plugin's --timeout.
	DefaultTimeout = 3 * time.Second
	// MaxMessage is the kubelet's own client limit (podresources.NewV1Client's
	// 16 MiB): a node with many pods and devices sends large lists.
	MaxMessage = 16 << 20
	// maxSocketPath is sizeof(sockaddr_un.sun_path) on Linux.
	maxSocketPath = 108
	// Socket is the socket under the kubelet's root dir.
	Socket = "pod-resources/kubelet.sock"
)

// Check probes the pod-resources socket.
type Check struct {
	Files   kubeletfiles.Files // overrides of what discovery finds (RootDir)
	Timeout time.Duration
	// Loader shares one discovery among an invocation's checks (nil: anew).
	Loader *kubeletfiles.Loader
}

var (
	_ doctor.Cacheable = (*Check)(nil)
	_ doctor.Sourced   = (*Check)(nil)
)

// Name implements doctor.Check.
func (c *Check) Name() string { return CheckName }

// Conditions implements doctor.Check.
func (c *Check) Conditions() []string { return []string{condition.TypeResources} }

// MaxAge implements doctor.Cacheable.
func (c *Check) MaxAge() time.Duration { return MaxAge }

// Source implements doctor.Sourced.
func (c *Check) Source() doctor.Source { return doctor.SourceProbe }

// Run implements doctor.Check.
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	node, err := c.Loader.Load(env.Root, c.Files)
	if err != nil {
		return nil, fmt.Errorf("find the kubelet's root dir: %w", err)
	}
	kf := node.Files
	if !kf.Found && !overridden(c.Files) {
		return nil, nil // no kubelet here: nothing to judge
	}
	sock := path.Join(kf.RootDir, Socket)
	real := kubeletconfig.HostPath(env.Root, sock)
	fi, err := os.Stat(real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return problem("pod-resources socket missing", sock, "the kubelet creates it at start: is it running?"), nil
	case err != nil:
		return problem("pod-resources socket unreadable", err.Error(), ""), nil
	case fi.Mode()&fs.ModeSocket == 0:
		return problem("pod-resources not a socket", sock+" is a "+kind(fi.Mode()),
			"remove it and restart the kubelet, which recreates the socket"), nil
	}
	if len(real) >= maxSocketPath {
		// The kernel cannot dial it: a refusal here would be a wrong problem.
		return nil, fmt.Errorf("pod-resources socket path %q is longer than a unix socket address (%d bytes): use a shorter --root", real, maxSocketPath-1)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n, err := List(pctx, real)
	if err == nil {
		return []doctor.Finding{{Condition: condition.TypeResources, Status: doctor.OK, Source: doctor.SourceProbe,
			Check: CheckName, Label: "pod-resources answers", Detail: fmt.Sprintf("%s: %d pods", sock, n)}}, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err() // our caller's deadline: says nothing of the kubelet
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return problem("pod-resources refused", sock+": nobody listens (stale socket)",
			"the kubelet is not serving pod-resources: check that it runs"), nil
	case codes.DeadlineExceeded:
		return []doctor.Finding{{Condition: condition.TypeResources, Status: doctor.Unknown, Source: doctor.SourceProbe,
			Check: CheckName, Label: "pod-resources no answer", Detail: fmt.Sprintf("%s: none in %s", sock, timeout)}}, nil
	}
	return problem("pod-resources "+status.Code(err).String(), status.Convert(err).Message(), ""), nil
}

// List calls PodResourcesLister.List over the unix socket at the given
// (real) path and returns the number of pods.
func List(ctx context.Context, socket string) (int, error) {
	conn, err := grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessage)))
	if err != nil {
		return 0, fmt.Errorf("pod-resources client for %q: %w", socket, err)
	}
	defer conn.Close()
	resp, err := podresourcesv1.NewPodResourcesListerClient(conn).List(ctx, &podresourcesv1.ListPodResourcesRequest{},
		grpc.WaitForReady(false))
	if err != nil {
		return 0, err
	}
	return len(resp.GetPodResources()), nil
}

func problem(label, detail, hint string) []doctor.Finding {
	return []doctor.Finding{{Condition: condition.TypeResources, Status: doctor.Problem, Source: doctor.SourceProbe,
		Check: CheckName, Rule: "pod-resources", Label: label, Detail: detail, Hint: hint}}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	}
	return m.Type().String()
}

// overridden: paths given on the command line say a kubelet is there.
func overridden(o kubeletfiles.Files) bool {
	return o.Config != "" || o.ConfigDir != "" || o.Kubeconfig != "" || o.RootDir != "" || o.CertDir != ""
}
