package cluster_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// waitGone waits until no process that runs bin has marker among its
// arguments: plugin runs NPD started in their own process groups outlive an
// NPD stopped mid-run, and must not write into a temp dir being removed.
func waitGone(bin, marker string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids := findProcs(bin, marker)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v (%s ... %s) still running after %v", pids, bin, marker, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func findProcs(bin, marker string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
		if string(args[0]) != bin {
			continue
		}
		for _, a := range args[1:] {
			if bytes.Contains(a, []byte(marker)) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
