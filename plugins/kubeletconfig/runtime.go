package kubeletconfig

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// RuntimeDriver is the cgroup driver a container runtime's config sets.
type RuntimeDriver struct {
	Runtime string // "containerd" or "CRI-O"
	Driver  string // "systemd" or "cgroupfs"
	Where   string // the file and key that say so
	// ReportsOverCRI: the runtime tells the kubelet its driver through the
	// CRI RuntimeConfig call (containerd 2, CRI-O 1.28+), and a 1.36 kubelet
	// then ignores its own cgroupDriver.
	ReportsOverCRI bool
}

// Well-known runtime files.
const (
	ContainerdConfig = "/etc/containerd/config.toml"
	CRIOConfig       = "/etc/crio/crio.conf"
	CRIODropIns      = "/etc/crio/crio.conf.d"
)

var containerdBinaries = []string{"/usr/bin/containerd", "/usr/local/bin/containerd"}

// DetectRuntimeDriver reads the runtime's config for the endpoint the
// kubelet uses. ok is false when no runtime config says anything (the
// driver cannot be compared).
func DetectRuntimeDriver(root hostpath.Root, endpoint string) (RuntimeDriver, bool, error) {
	switch {
	case strings.Contains(endpoint, "crio"):
		return crioDriver(root)
	case strings.Contains(endpoint, "containerd"):
		b, err := readFile(HostPath(root, ContainerdConfig))
		if errors.Is(err, fs.ErrNotExist) {
			return RuntimeDriver{}, false, nil
		}
		if err != nil {
			return RuntimeDriver{}, false, fmt.Errorf("read %s: %w", ContainerdConfig, err)
		}
		d, ok, err := ParseContainerd(b)
		if err != nil || !ok {
			return d, ok, err
		}
		d.ReportsOverCRI = d.ReportsOverCRI || containerdV2(root)
		return d, true, nil
	}
	return RuntimeDriver{}, false, nil
}

// containerdV2 is true when the containerd binary is containerd 2 (module
// github.com/containerd/containerd/v2), which reports its cgroup driver.
func containerdV2(root hostpath.Root) bool {
	for _, p := range containerdBinaries {
		if bi, err := buildinfo.ReadFile(HostPath(root, p)); err == nil {
			return strings.HasSuffix(bi.Main.Path, "/v2")
		}
	}
	return false
}

// ParseContainerd reads SystemdCgroup of the runc runtime from a containerd
// config.toml: version 2 ("io.containerd.grpc.v1.cri") or version 3
// ("io.containerd.cri.v1.runtime", containerd 2, which reports it over CRI).
// ok is false when the file does not set it (containerd's default then
// depends on its version, which the file does not tell).
func ParseContainerd(b []byte) (RuntimeDriver, bool, error) {
	var cfg struct {
		Version int                       `toml:"version"`
		Plugins map[string]map[string]any `toml:"plugins"`
	}
	if err := toml.Unmarshal(b, &cfg); err != nil {
		return RuntimeDriver{}, false, fmt.Errorf("parse %s: %s", ContainerdConfig, firstLine(err.Error()))
	}
	for _, plugin := range []string{"io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri"} {
		v, ok := dig(cfg.Plugins[plugin], "containerd", "runtimes", "runc", "options", "SystemdCgroup")
		if !ok {
			continue
		}
		on, isBool := v.(bool)
		if !isBool {
			return RuntimeDriver{}, false, fmt.Errorf("parse %s: SystemdCgroup is %T, not a boolean", ContainerdConfig, v)
		}
		d := RuntimeDriver{Runtime: "containerd", Driver: "cgroupfs", ReportsOverCRI: cfg.Version >= 3,
			Where: fmt.Sprintf("%s SystemdCgroup=%t", ContainerdConfig, on)}
		if on {
			d.Driver = "systemd"
		}
		return d, true, nil
	}
	return RuntimeDriver{}, false, nil
}

func dig(m map[string]any, path ...string) (any, bool) {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// crioDriver reads crio.conf then its drop-ins in lexical order, the last
// cgroup_manager winning, as CRI-O does; CRI-O's default is systemd.
func crioDriver(root hostpath.Root) (RuntimeDriver, bool, error) {
	files := []string{CRIOConfig}
	matches, _ := filepath.Glob(HostPath(root, CRIODropIns) + "/*.conf")
	slices.Sort(matches)
	for _, m := range matches {
		files = append(files, CRIODropIns+"/"+filepath.Base(m))
	}
	d := RuntimeDriver{Runtime: "CRI-O", Driver: "systemd", Where: "CRI-O default", ReportsOverCRI: true}
	found := false
	for _, f := range files {
		b, err := readFile(HostPath(root, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return d, false, fmt.Errorf("read %s: %w", f, err)
		}
		found = true
		m, ok, err := ParseCRIO(b)
		if err != nil {
			return d, false, fmt.Errorf("parse %s: %w", f, err)
		}
		if ok {
			d.Driver, d.Where = m, f+" cgroup_manager="+m
		}
	}
	return d, found, nil
}

// ParseCRIO reads [crio.runtime] cgroup_manager from one CRI-O config file.
func ParseCRIO(b []byte) (string, bool, error) {
	var cfg struct {
		Crio struct {
			Runtime struct {
				CgroupManager *string `toml:"cgroup_manager"`
			} `toml:"runtime"`
		} `toml:"crio"`
	}
	if err := toml.Unmarshal(b, &cfg); err != nil {
		return "", false, errors.New(firstLine(err.Error()))
	}
	if cfg.Crio.Runtime.CgroupManager == nil {
		return "", false, nil
	}
	return *cfg.Crio.Runtime.CgroupManager, true, nil
}
