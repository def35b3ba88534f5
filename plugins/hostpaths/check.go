// Package hostpaths checks the kubelet's host directories and secret files
// (KubeletResourceAccessProblem): the directories exist, belong to root, are
// not writable by others and are not on a read-only filesystem; the
// kubeconfigs and keys are not readable by others.
package hostpaths

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/kubeletconfig"
)

// CheckName names the check in outputs and the state.
const CheckName = "host-paths"

// PodLogsDir is the kubelet's default podLogsDir.
const PodLogsDir = "/var/log/pods"

// Check looks at the kubelet's host paths.
type Check struct {
	Files kubeletfiles.Files // overrides of what discovery finds
	// Loader shares one discovery among an invocation's checks (nil: anew).
	Loader *kubeletfiles.Loader
}

var _ doctor.Check = (*Check)(nil)

// Name implements doctor.Check.
func (c *Check) Name() string { return CheckName }

// Conditions implements doctor.Check.
func (c *Check) Conditions() []string { return []string{condition.TypeResources} }

// Run implements doctor.Check.
func (c *Check) Run(_ context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	node, err := c.Loader.Load(env.Root, c.Files)
	if err != nil {
		return nil, fmt.Errorf("find the kubelet's files: %w", err)
	}
	kf := node.Files
	if !kf.Found && !overridden(c.Files) {
		return nil, nil // no kubelet here: nothing to judge
	}
	dirs := []string{kf.RootDir, kf.CertDir, path.Join(kf.RootDir, "pods"), path.Join(kf.RootDir, "plugins"), PodLogsDir}
	var out []doctor.Finding
	for _, d := range dirs {
		if f, ok := checkDir(env.Root, d); !ok {
			out = append(out, f)
		}
	}
	secrets := []string{kf.Kubeconfig, kf.BootstrapKubeconfig}
	for _, pattern := range []string{"*.key", "kubelet-client-*.pem", "kubelet-server-*.pem"} {
		m, _ := filepath.Glob(kubeletconfig.HostPath(env.Root, kf.CertDir) + "/" + pattern)
		for _, p := range m {
			secrets = append(secrets, path.Join(kf.CertDir, filepath.Base(p)))
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		fi, err := os.Stat(kubeletconfig.HostPath(env.Root, s))
		if err == nil && fi.Mode().Perm()&0o004 != 0 {
			out = append(out, problem("readable by others", fmt.Sprintf("%s mode %04o", s, fi.Mode().Perm()),
				"chmod 600 "+s+": it holds the kubelet's credentials"))
		}
	}
	if len(out) == 0 {
		out = append(out, doctor.Finding{Condition: condition.TypeResources, Status: doctor.OK, Source: doctor.SourceNodeState,
			Check: CheckName, Label: "kubelet host paths usable", Detail: fmt.Sprint(dirs)})
	}
	return out, nil
}

// checkDir returns a problem finding for d, or ok.
func checkDir(root hostpath.Root, d string) (doctor.Finding, bool) {
	real := kubeletconfig.HostPath(root, d)
	fi, err := os.Stat(real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return problem("missing "+d, "the kubelet creates it at start", "check that the kubelet can write its parent"), false
	case err != nil:
		return problem("cannot stat "+d, err.Error(), ""), false
	case !fi.IsDir():
		return problem("not a directory: "+d, "", ""), false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
		return problem(fmt.Sprintf("owner uid %d: %s", st.Uid, d), "the kubelet runs as root and expects root to own it",
			"chown root "+d), false
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return problem("world-writable: "+d, fmt.Sprintf("mode %04o", fi.Mode().Perm()), "chmod o-w "+d), false
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(real, &sfs); err == nil && sfs.Flags&unix.ST_RDONLY != 0 {
		return problem("read-only fs: "+d, "mounted read-only", "remount the filesystem read-write (check for disk errors)"), false
	}
	return doctor.Finding{}, true
}

func problem(label, detail, hint string) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeResources, Status: doctor.Problem, Source: doctor.SourceNodeState,
		Check: CheckName, Rule: "host-paths", Label: label, Detail: detail, Hint: hint}
}

// overridden: paths given on the command line say a kubelet is there.
func overridden(o kubeletfiles.Files) bool {
	return o.Config != "" || o.ConfigDir != "" || o.Kubeconfig != "" || o.RootDir != "" || o.CertDir != ""
}
