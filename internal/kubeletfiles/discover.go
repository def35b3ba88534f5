// Package kubeletfiles finds the kubelet's files the way the kubelet is told
// about them: its running command line, else its systemd unit and drop-ins,
// else kubeadm's flag files, and then the well-known layouts of kubeadm, EKS
// and k3s/rke2 for whatever no flag names. A user passes no flags on a
// standard node. Paths are host paths: open them through the hostpath.Root.
package kubeletfiles

import (
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// Files are the kubelet's files, as host paths.
type Files struct {
	Config              string // --config: the KubeletConfiguration file
	Kubeconfig          string // --kubeconfig
	BootstrapKubeconfig string // --bootstrap-kubeconfig
	CertDir             string // --cert-dir
	RootDir             string // --root-dir
	ConfigDir           string // --config-dir: drop-ins merged over Config
	// Flags are all the --flags seen where the files were found, without
	// their dashes ("hostname-override" -> "node-1").
	Flags map[string]string
	// Env is the kubelet's proxy environment where it can be read (the
	// running process's, else the unit's Environment= and EnvironmentFile=):
	// its HTTPS_PROXY and NO_PROXY decide how it reaches the API server.
	// Only the proxy variables are kept: a process environment can hold
	// credentials, and nothing else here needs it.
	Env map[string]string
	// Found is false when nothing under the root says a kubelet is there:
	// no process, unit, flags file or layout file. The paths are then
	// kubeadm's, and node-state checks have nothing to judge.
	Found bool
	// From says where the files were found, for evidence:
	// "process 1234 command line", "systemd unit kubelet.service", "kubeadm layout".
	From string
}

// Kubelet's own defaults for what no flag names.
const (
	DefaultRootDir = "/var/lib/kubelet"
	DefaultCertDir = "/var/lib/kubelet/pki"
)

// Layout is a distribution's well-known set of kubelet files.
type Layout struct {
	Name  string
	Files Files
	// Marks are files whose presence says the node uses the layout.
	Marks []string
}

// layouts are tried in order when no flag names a file; the first with a
// mark present fills the files the flags left empty.
var layouts = []Layout{
	{Name: "kubeadm", Files: Files{Kubeconfig: "/etc/kubernetes/kubelet.conf",
		BootstrapKubeconfig: "/etc/kubernetes/bootstrap-kubelet.conf", Config: "/var/lib/kubelet/config.yaml"},
		Marks: []string{"/etc/kubernetes/kubelet.conf", "/etc/kubernetes/bootstrap-kubelet.conf", "/var/lib/kubelet/config.yaml"}},
	// Amazon Linux 2023's nodeadm writes config.json and a drop-in directory.
	{Name: "eks-al2023", Files: Files{Kubeconfig: "/var/lib/kubelet/kubeconfig", Config: "/etc/kubernetes/kubelet/config.json",
		ConfigDir: "/etc/kubernetes/kubelet/config.json.d"},
		Marks: []string{"/etc/kubernetes/kubelet/config.json"}},
	{Name: "eks", Files: Files{Kubeconfig: "/var/lib/kubelet/kubeconfig", Config: "/etc/kubernetes/kubelet/kubelet-config.json"},
		Marks: []string{"/etc/kubernetes/kubelet/kubelet-config.json", "/var/lib/kubelet/kubeconfig"}},
	{Name: "k3s", Files: Files{Kubeconfig: "/var/lib/rancher/k3s/agent/kubelet.kubeconfig",
		ConfigDir: "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d"},
		Marks: []string{"/var/lib/rancher/k3s/agent/kubelet.kubeconfig", "/var/lib/rancher/k3s/agent/client-kubelet.crt"}},
	{Name: "rke2", Files: Files{Kubeconfig: "/var/lib/rancher/rke2/agent/kubelet.kubeconfig",
		ConfigDir: "/var/lib/rancher/rke2/agent/etc/kubelet.conf.d"},
		Marks: []string{"/var/lib/rancher/rke2/agent/kubelet.kubeconfig", "/var/lib/rancher/rke2/agent/client-kubelet.crt"}},
}

// Discover finds the kubelet's files under root. It fails only when a source
// that exists cannot be read; a node with no kubelet files at all gets the
// kubeadm layout's paths, so that checks say which file is missing.
func Discover(root hostpath.Root) (Files, error) { return discover(root, nil) }

// discover is Discover with the kubelet's process first looked for where
// pc remembers it (nil: a scan every time).
func discover(root hostpath.Root, pc ProcessCache) (Files, error) {
	flags, env, from, err := findFlags(root, pc)
	if err != nil {
		return Files{}, err
	}
	f := Files{Flags: flags, Env: proxyEnv(env), From: from, Found: from != ""}
	if f.Flags == nil {
		f.Flags = map[string]string{}
	}
	f.Config = flags["config"]
	f.Kubeconfig = flags["kubeconfig"]
	f.BootstrapKubeconfig = flags["bootstrap-kubeconfig"]
	f.ConfigDir = flags["config-dir"]
	f.RootDir = flags["root-dir"]
	f.CertDir = flags["cert-dir"]
	if f.Kubeconfig == "" || f.Config == "" && f.ConfigDir == "" {
		fillFromLayout(root, &f)
	}
	if f.RootDir == "" {
		f.RootDir = DefaultRootDir
	}
	if f.CertDir == "" {
		f.CertDir = DefaultCertDir
	}
	return f, nil
}

// fillFromLayout fills the empty fields from the first layout present on the
// node, else from kubeadm's.
func fillFromLayout(root hostpath.Root, f *Files) {
	l := layouts[0]
	found := false
	for _, cand := range layouts {
		for _, m := range cand.Marks {
			if _, err := lstat(root, m); err == nil {
				l, found = cand, true
				break
			}
		}
		if found {
			break
		}
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&f.Kubeconfig, l.Files.Kubeconfig)
	set(&f.BootstrapKubeconfig, l.Files.BootstrapKubeconfig)
	if f.Config == "" && f.ConfigDir == "" {
		f.Config, f.ConfigDir = l.Files.Config, l.Files.ConfigDir
	}
	what := l.Name + " layout"
	f.Found = f.Found || found
	if !found {
		what += " (no kubelet file found)"
	}
	if f.From == "" {
		f.From = what
	} else {
		f.From += ", then " + what
	}
}

// findFlags returns the kubelet's flags and environment from the first
// source that has them, and where they came from.
func findFlags(root hostpath.Root, pc ProcessCache) (flags, env map[string]string, from string, err error) {
	if pid, args, env, err := kubeletProcess(root, pc); err != nil {
		return nil, nil, "", err
	} else if pid != "" {
		return ParseFlags(args), env, "process " + pid + " command line", nil
	}
	if args, env, unit, err := unitCommand(root); err != nil {
		return nil, nil, "", err
	} else if unit != "" {
		return ParseFlags(args), env, "systemd unit " + unit, nil
	}
	fl, from, err := flagFileArgs(root)
	return fl, nil, from, err
}

// flagFileArgs reads the flags kept in kubeadm's and the packages' files.
func flagFileArgs(root hostpath.Root) (map[string]string, string, error) {
	var args []string
	var from []string
	for _, p := range flagFiles {
		env, err := readEnvFile(root, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		for _, k := range []string{"KUBELET_KUBECONFIG_ARGS", "KUBELET_CONFIG_ARGS", "KUBELET_KUBEADM_ARGS", "KUBELET_EXTRA_ARGS", "KUBELET_ARGS"} {
			args = append(args, SplitWords(env[k])...)
		}
		from = append(from, p)
	}
	if len(from) == 0 {
		return nil, "", nil
	}
	return ParseFlags(args), strings.Join(from, " and "), nil
}

// flagFiles are the files kubeadm and the distribution packages keep the
// kubelet's extra flags in.
var flagFiles = []string{"/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet", "/etc/sysconfig/kubelet"}

// kubeletProcess finds a running kubelet in ROOT/proc and returns its pid,
// arguments and environment; "" when none runs (or /proc is not mounted
// under the root). Where pc remembers it, it is looked for there first.
func kubeletProcess(root hostpath.Root, pc ProcessCache) (string, []string, map[string]string, error) {
	if pc != nil {
		if pid, ok := pc.Recall(); ok {
			if pid == "" {
				return "", nil, nil, nil
			}
			if args, env, ok := readKubelet(root.Path("/proc/" + pid)); ok {
				return pid, args, env, nil
			}
		}
	}
	pid, args, env, err := scanProcesses(root)
	if err == nil && pc != nil {
		pc.Remember(pid)
	}
	return pid, args, env, err
}

// scanProcesses looks at every process in ROOT/proc, the lowest pid first.
func scanProcesses(root hostpath.Root) (string, []string, map[string]string, error) {
	ents, err := os.ReadDir(root.Path("/proc"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil, nil
	}
	if err != nil {
		return "", nil, nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, n)
		}
	}
	sort.Ints(pids)
	for _, n := range pids {
		if args, env, ok := readKubelet(root.Path("/proc/" + strconv.Itoa(n))); ok {
			return strconv.Itoa(n), args, env, nil
		}
	}
	return "", nil, nil, nil
}

// readKubelet reads the arguments and environment of the process at dir
// (ROOT/proc/PID) when it is a running kubelet.
func readKubelet(dir string) ([]string, map[string]string, bool) {
	// comm alone first: one small read per process keeps the scan of a busy
	// node's /proc to a millisecond or two.
	if comm(dir) != "kubelet" {
		return nil, nil, false
	}
	b, err := os.ReadFile(dir + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil, nil, false // gone, or a zombie: not the running kubelet
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	env := map[string]string{}
	if e, err := os.ReadFile(dir + "/environ"); err == nil {
		for _, kv := range strings.Split(string(e), "\x00") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	return args[1:], env, true
}

// comm is a process's command name ("" when it is gone). Raw system calls:
// os.Open would also register each of a busy node's hundreds of /proc files
// with the runtime's poller (fcntl, epoll_ctl), tripling the scan's calls on
// every plugin run.
func comm(dir string) string {
	fd, err := unix.Open(dir+"/comm", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	var buf [32]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return ""
	}
	return strings.TrimSpace(string(buf[:n]))
}

// proxyVars are the variables Go's HTTP proxy resolution reads.
var proxyVars = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}

// proxyEnv keeps the proxy variables of env; nil stays nil (not known).
func proxyEnv(env map[string]string) map[string]string {
	if env == nil {
		return nil
	}
	out := map[string]string{}
	for _, k := range proxyVars {
		if v, ok := env[k]; ok {
			out[k] = v
		}
	}
	return out
}
