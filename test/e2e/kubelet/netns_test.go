package kubelet_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// nodeIP is the node's address inside the suite's network namespace: from
// TEST-NET-1 (RFC 5737, documentation only), on the namespace's own
// loopback, never routed anywhere. The kubelet refuses 127.0.0.1 as a node
// IP, and no traffic may leave the namespaces the suite creates.
const nodeIP = "192.0.2.10"

// tunables are the kernel settings the kubelet writes at start
// (pkg/kubelet/cm/container_manager_linux.go setupKernelTunables, with
// protectKernelDefaults false as kubeadm leaves it). Inside the suite's mount
// namespace each one is a bind mount of a plain file, so the kubelet's writes
// land in the file and the machine keeps its own values.
var tunables = []string{
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
}

// netns is a network + mount namespace held open by one sleeping process;
// every process of the suite joins it with nsenter, which execs in place.
type netns struct {
	holder *clustertest.Proc
	dir    string
	files  map[string]string // tunable -> the file bind-mounted over it
}

// holderScript sets the namespaces up and then sleeps until it is killed.
// `unshare --mount` already made every mount private, so nothing mounted
// here propagates to the machine.
const holderScript = `set -e
ip link set lo up
ip addr add ` + nodeIP + `/32 dev lo
while [ $# -gt 0 ]; do mount --bind "$1" "/proc/sys/$2"; shift 2; done
echo ready
exec sleep 2147483647
`

// newNetns starts the holder and waits until its set-up is done.
func newNetns(t *testing.T, dir string) *netns {
	t.Helper()
	ns := &netns{dir: dir, files: map[string]string{}}
	args := []string{"unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", holderScript, "holder"}
	for _, k := range tunables {
		cur, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			t.Fatalf("read the machine's %s: %v", k, err)
		}
		f := filepath.Join(dir, "sysctl-"+strings.ReplaceAll(k, "/", "."))
		if err := os.WriteFile(f, cur, 0o644); err != nil {
			t.Fatal(err)
		}
		ns.files[k] = f
		args = append(args, f, k)
	}
	var err error
	if ns.holder, err = clustertest.StartProc(t, dir, "netns", 20, nil, args...); err != nil {
		t.Fatalf("start namespace holder: %v", err)
	}
	err = clustertest.Poll(20*time.Second, 50*time.Millisecond, func() error {
		if done, perr := ns.holder.Exited(); done {
			return fmt.Errorf("namespace holder exited (%v): %s", perr, clustertest.Tail(ns.holder.Log, 10))
		}
		if b, _ := os.ReadFile(ns.holder.Log); !strings.Contains(string(b), "ready") {
			return fmt.Errorf("namespace not set up yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// command is argv run inside the namespaces.
func (ns *netns) command(argv ...string) []string {
	pid := strconv.Itoa(ns.holder.Pid())
	return append([]string{"nsenter", "--target", pid, "--net", "--mount", "--"}, argv...)
}

// machineTunables reads the machine's own values, outside the namespace.
func machineTunables(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range tunables {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		out[k] = strings.TrimSpace(string(b))
	}
	return out
}

// written returns what the kubelets wrote into the namespace's tunables.
func (ns *netns) written(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, f := range ns.files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		out[k] = strings.TrimSpace(string(b))
	}
	return out
}
