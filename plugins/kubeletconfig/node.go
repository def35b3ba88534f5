package kubeletconfig

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// Node is what the node has, read from ROOT/proc.
type Node struct {
	MemTotal int64    // bytes
	CPUs     int      // online logical CPUs
	Swaps    []string // active swap devices and files
}

// ReadNode reads ROOT/proc/meminfo, ROOT/proc/cpuinfo and ROOT/proc/swaps.
func ReadNode(root hostpath.Root) (Node, error) {
	var n Node
	b, err := readFile(HostPath(root, "/proc/meminfo"))
	if err != nil {
		return n, fmt.Errorf("read node memory: %w", err)
	}
	if n.MemTotal, err = ParseMemTotal(b); err != nil {
		return n, fmt.Errorf("parse %s: %w", HostPath(root, "/proc/meminfo"), err)
	}
	if b, err = readFile(HostPath(root, "/proc/cpuinfo")); err != nil {
		return n, fmt.Errorf("read node CPUs: %w", err)
	}
	n.CPUs = CountCPUs(b)
	if b, err = readFile(HostPath(root, "/proc/swaps")); err != nil {
		return n, fmt.Errorf("read node swaps: %w", err)
	}
	n.Swaps = ParseSwaps(b)
	return n, nil
}

// ParseMemTotal returns MemTotal from /proc/meminfo, in bytes.
func ParseMemTotal(b []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "MemTotal:" {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || kb <= 0 || kb > 1<<50 {
			return 0, fmt.Errorf("MemTotal %q", f[1])
		}
		if len(f) > 2 && f[2] != "kB" {
			return 0, fmt.Errorf("MemTotal unit %q", f[2])
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no MemTotal line")
}

// CountCPUs counts the "processor" entries of /proc/cpuinfo: the CPUs the
// kernel has online, which is what the kubelet's cadvisor reports.
func CountCPUs(b []byte) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, _, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "processor" {
			n++
		}
	}
	return n
}

// ParseSwaps returns the active swap areas of /proc/swaps (the header line
// skipped), as the kubelet's swap check reads it.
func ParseSwaps(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for i := 0; sc.Scan(); i++ {
		f := strings.Fields(sc.Text())
		if i == 0 || len(f) == 0 {
			continue
		}
		out = append(out, f[0])
	}
	return out
}
