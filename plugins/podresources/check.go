// Package podresources checks the kubelet's pod-resources API: its socket
// exists, is a socket and answers a List call (KubeletResourceAccessProblem),
// made with internal/unixrpc rather than grpc-go, whose start-up cost
// every plugin process would pay. Device plugins, monitoring
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
	"syscall"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
	"github.com/kubelet-doctor/kubelet-doctor/internal/unixrpc"
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
	// Method is PodResourcesLister.List (k8s.io/kubelet's podresources v1).
	Method = "/v1.PodResourcesLister/List"
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
	switch unixrpc.CodeOf(err) {
	case unixrpc.Unavailable:
		detail := sock + ": nobody listens (stale socket)"
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, fs.ErrNotExist) {
			// Something listens but does not serve: say what it did.
			detail = sock + ": " + unixrpc.MessageOf(err)
		}
		return problem("pod-resources refused", detail,
			"the kubelet is not serving pod-resources: check that it runs"), nil
	case unixrpc.DeadlineExceeded:
		return []doctor.Finding{{Condition: condition.TypeResources, Status: doctor.Unknown, Source: doctor.SourceProbe,
			Check: CheckName, Label: "pod-resources no answer", Detail: fmt.Sprintf("%s: none in %s", sock, timeout)}}, nil
	}
	return problem("pod-resources "+unixrpc.CodeOf(err).String(), unixrpc.MessageOf(err), ""), nil
}

// List calls PodResourcesLister.List over the unix socket at the given
// (real) path and returns the number of pods.
func List(ctx context.Context, socket string) (int, error) {
	// ListPodResourcesRequest has no fields: its encoding is empty.
	resp, err := unixrpc.Call(ctx, socket, Method, nil, MaxMessage)
	if err != nil {
		return 0, err
	}
	n, err := countPods(resp)
	if err != nil {
		// As grpc-go reports a response it cannot unmarshal.
		return 0, &unixrpc.Error{Code: unixrpc.Internal, Message: "grpc: failed to unmarshal the received message: " + err.Error()}
	}
	return n, nil
}

// countPods counts the pod_resources (field 1, repeated PodResources) of an
// encoded ListPodResourcesResponse, checking the message's wire format.
// It walks the protobuf wire format by hand: protowire would link the
// protobuf runtime's init, which reads the executable at every start.
func countPods(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		field, typ, k, err := tag(b)
		if err != nil {
			return 0, err
		}
		m, err := skip(b[k:], field, typ, 0)
		if err != nil {
			return 0, err
		}
		// Another wire type is an unknown field to the protobuf runtime.
		if field == 1 && typ == 2 {
			n++
		}
		b = b[k+m:]
	}
	return n, nil
}

// tag reads a field's key: its number, wire type and length.
func tag(b []byte) (field, typ uint64, k int, err error) {
	key, k := uvarint(b)
	if k == 0 {
		return 0, 0, 0, errors.New("bad field key")
	}
	field, typ = key>>3, key&7
	if field == 0 || field > 1<<29-1 {
		return 0, 0, 0, fmt.Errorf("bad field number %d", field)
	}
	return field, typ, k, nil
}

// skip measures a field's value of the given wire type; groups (of
// unknown fields, which a newer kubelet could send) to their end.
func skip(b []byte, field, typ uint64, depth int) (int, error) {
	k := 0
	switch typ {
	case 0: // varint
		_, k = uvarint(b)
	case 1: // fixed64
		k = fixed(b, 8)
	case 5: // fixed32
		k = fixed(b, 4)
	case 2: // length-delimited
		l, m := uvarint(b)
		if m > 0 && l <= uint64(len(b)-m) {
			k = m + int(l)
		}
	case 3: // start group: fields up to the matching end group
		if depth > 10000 { // protobuf's own recursion limit
			return 0, fmt.Errorf("field %d: groups nested too deep", field)
		}
		for {
			f, t, m, err := tag(b[k:])
			if err != nil {
				return 0, fmt.Errorf("field %d: in group: %w", field, err)
			}
			k += m
			if t == 4 {
				if f != field {
					return 0, fmt.Errorf("field %d: group ended by field %d", field, f)
				}
				return k, nil
			}
			m, err = skip(b[k:], f, t, depth+1)
			if err != nil {
				return 0, err
			}
			k += m
		}
	default: // an end group without its start; 6 and 7 do not exist
		return 0, fmt.Errorf("field %d: unexpected wire type %d", field, typ)
	}
	if k == 0 {
		return 0, fmt.Errorf("field %d: truncated", field)
	}
	return k, nil
}

// uvarint decodes a varint of at most 10 bytes; 0 bytes read: malformed.
func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			if i == 9 && b[i] > 1 {
				return 0, 0 // overflows 64 bits
			}
			return v, i + 1
		}
	}
	return 0, 0
}

func fixed(b []byte, n int) int {
	if len(b) < n {
		return 0
	}
	return n
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
