package kubeletconfig

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// evictionSignals are the signals a 1.36 kubelet accepts in evictionHard.
var evictionSignals = []string{"memory.available", "allocatableMemory.available", "nodefs.available",
	"nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree", "containerfs.available",
	"containerfs.inodesFree", "pid.available"}

// Threshold is one parsed eviction threshold: a quantity or a percentage.
type Threshold struct {
	Quantity *resource.Quantity
	Percent  float64
}

// ParseThreshold parses one evictionHard entry as the kubelet does: a known
// signal, a positive quantity or a percentage in (0, 100].
func ParseThreshold(signal, value string) (Threshold, error) {
	if !slices.Contains(evictionSignals, signal) {
		return Threshold{}, fmt.Errorf("unknown eviction signal %q", signal)
	}
	if p, ok := strings.CutSuffix(value, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 || f > 100 {
			return Threshold{}, fmt.Errorf("%s: percentage %q not in (0,100]", signal, value)
		}
		return Threshold{Percent: f}, nil
	}
	q, err := resource.ParseQuantity(value)
	if err != nil || q.Sign() < 0 {
		return Threshold{}, fmt.Errorf("%s: %q is not a positive quantity", signal, value)
	}
	return Threshold{Quantity: &q}, nil
}

// ValidateResources checks the eviction thresholds and that what the kubelet
// keeps back (kubeReserved + systemReserved + evictionHard memory) fits the
// node; reserved cgroups the kubelet enforces must exist.
func ValidateResources(root hostpath.Root, l *Loaded, n Node) []Issue {
	c := &l.Config
	var out []Issue
	var memEvict int64
	for _, sig := range sortedKeys(c.EvictionHard) {
		th, err := ParseThreshold(sig, c.EvictionHard[sig])
		if err != nil {
			out = append(out, Issue{Rule: "eviction-hard", Label: "evictionHard invalid", Detail: err.Error(),
				Hint: "the kubelet exits on an evictionHard it cannot parse"})
			continue
		}
		if sig == "memory.available" {
			if th.Quantity != nil {
				memEvict = th.Quantity.Value()
			} else {
				memEvict = int64(float64(n.MemTotal) * th.Percent / 100)
			}
		}
	}
	var bad []string
	mem := memEvict + quantity(c.KubeReserved, "memory", &bad) + quantity(c.SystemReserved, "memory", &bad)
	cpu := milli(c.KubeReserved, &bad) + milli(c.SystemReserved, &bad)
	for _, b := range bad {
		out = append(out, Issue{Rule: "reserved", Label: "reservation invalid", Detail: b})
	}
	if n.MemTotal > 0 && mem >= n.MemTotal {
		out = append(out, Issue{Rule: "reserved-memory", Label: "reserved memory above node's",
			Detail: fmt.Sprintf("%s reserved+eviction >= %s", human(mem), human(n.MemTotal)),
			Hint:   "allocatable memory is zero: lower kubeReserved, systemReserved or evictionHard memory.available"})
	}
	if n.CPUs > 0 && cpu >= int64(n.CPUs)*1000 {
		out = append(out, Issue{Rule: "reserved-cpu", Label: "reserved CPU above node's",
			Detail: fmt.Sprintf("%dm reserved >= %d CPUs", cpu, n.CPUs),
			Hint:   "allocatable CPU is zero: lower kubeReserved or systemReserved cpu"})
	}
	for _, e := range []struct{ enforce, cgroup string }{
		{"kube-reserved", c.KubeReservedCgroup}, {"system-reserved", c.SystemReservedCgroup}} {
		if !slices.Contains(c.EnforceNodeAllocatable, e.enforce) {
			continue
		}
		if e.cgroup == "" {
			out = append(out, Issue{Rule: "reserved-cgroup", Label: e.enforce + " cgroup unset",
				Detail: "enforceNodeAllocatable has " + e.enforce + " without its cgroup"})
		} else if !cgroupExists(root, e.cgroup) {
			out = append(out, Issue{Rule: "reserved-cgroup", Label: e.enforce + " cgroup missing", Detail: e.cgroup,
				Hint: "the kubelet exits when a cgroup it must enforce does not exist"})
		}
	}
	if failSwapOn := c.FailSwapOn == nil || *c.FailSwapOn; failSwapOn && len(n.Swaps) > 0 {
		out = append(out, Issue{Rule: "swap", Label: "swap on with failSwapOn",
			Detail: "active swap " + strings.Join(n.Swaps, ","),
			Hint:   "swapoff -a (and remove it from fstab), or set failSwapOn: false with memorySwap"})
	}
	return out
}

// cgroupExists looks for the cgroup in the unified hierarchy, else in the
// v1 memory controller.
func cgroupExists(root hostpath.Root, cg string) bool {
	for _, base := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/memory"} {
		if _, err := os.Stat(HostPath(root, base+"/"+cg)); err == nil {
			return true
		}
	}
	return false
}

func quantity(m map[string]string, key string, bad *[]string) int64 {
	v, ok := m[key]
	if !ok {
		return 0
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() < 0 {
		*bad = append(*bad, fmt.Sprintf("%s=%q", key, v))
		return 0
	}
	return q.Value()
}

func milli(m map[string]string, bad *[]string) int64 {
	v, ok := m["cpu"]
	if !ok {
		return 0
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() < 0 {
		*bad = append(*bad, fmt.Sprintf("cpu=%q", v))
		return 0
	}
	return q.MilliValue()
}

func human(b int64) string {
	return fmt.Sprintf("%.1fGi", float64(b)/(1<<30))
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
