package kubelet_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// node is one scenario's machine: its own directories (kubeadm's layout
// under DIR instead of /), kubelet config and kubeconfigs, cgroup root and
// container runtime, sharing the suite's namespaces and control plane.
type node struct {
	name string // Node name, kd-<scenario>
	dir  string
	cp   *controlPlane

	configPath string         // --config
	config     map[string]any // written as JSON to configPath unless rawConfig or noConfig
	rawConfig  string
	noConfig   bool

	kubeconfig string // --kubeconfig (kubelet.conf)
	bootstrap  string // --bootstrap-kubeconfig (bootstrap-kubelet.conf)
	certDir    string
	rootDir    string
	cgroupRoot string // /kd-<scenario>-<pid>: under every cgroup v1 hierarchy

	runtime bool   // start containerd for this node
	socket  string // containerd's socket
}

// newNode lays out what `kubeadm join` leaves on a node before the kubelet
// first starts: config.yaml from the kubelet-config ConfigMap, a bootstrap
// kubeconfig with a valid token, no kubelet.conf yet, and a running runtime.
// Scenarios then break one thing.
func newNode(t *testing.T, cp *controlPlane, base, scenario string) *node {
	t.Helper()
	dir := filepath.Join(base, scenario)
	n := &node{
		name:       "kd-" + scenario,
		dir:        dir,
		cp:         cp,
		configPath: filepath.Join(dir, "var/lib/kubelet/config.yaml"),
		kubeconfig: filepath.Join(dir, "etc/kubernetes/kubelet.conf"),
		bootstrap:  filepath.Join(dir, "etc/kubernetes/bootstrap-kubelet.conf"),
		certDir:    filepath.Join(dir, "var/lib/kubelet/pki"),
		rootDir:    filepath.Join(dir, "var/lib/kubelet"),
		cgroupRoot: fmt.Sprintf("/kd-%s-%d", scenario, os.Getpid()),
		runtime:    true,
		socket:     filepath.Join(dir, "run/containerd/containerd.sock"),
	}
	for _, d := range []string{n.certDir, filepath.Join(dir, "etc/kubernetes"), filepath.Join(dir, "var/log/pods"), filepath.Join(dir, "run/containerd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	resolv := filepath.Join(dir, "etc/resolv.conf")
	// A resolver in TEST-NET-1: never asked, pods never run here.
	if err := os.WriteFile(resolv, []byte("nameserver 192.0.2.53\nsearch example.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := clustertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	healthz, err := clustertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// kubeadm's KubeletConfiguration, with the host paths moved under DIR
	// and what this machine needs: cgroupfs (no systemd as PID 1), cgroup v1
	// allowed (the machine has no unified hierarchy), its own ports (all
	// scenarios share one network namespace) and no swap check.
	n.config = map[string]any{
		"apiVersion": "kubelet.config.k8s.io/v1beta1",
		"kind":       "KubeletConfiguration",
		"authentication": map[string]any{
			"anonymous": map[string]any{"enabled": false},
			"webhook":   map[string]any{"enabled": true, "cacheTTL": "0s"},
			"x509":      map[string]any{"clientCAFile": cp.PKI.CACert},
		},
		"authorization":            map[string]any{"mode": "Webhook"},
		"cgroupDriver":             "cgroupfs",
		"cgroupRoot":               n.cgroupRoot,
		"failCgroupV1":             false,
		"failSwapOn":               false,
		"clusterDNS":               []string{"10.0.0.10"},
		"clusterDomain":            "cluster.local",
		"containerRuntimeEndpoint": "unix://" + n.socket,
		"address":                  nodeIP,
		"port":                     port,
		"healthzBindAddress":       "127.0.0.1",
		"healthzPort":              healthz,
		"readOnlyPort":             0,
		"rotateCertificates":       true,
		"podLogsDir":               filepath.Join(dir, "var/log/pods"),
		"resolvConf":               resolv,
		"staticPodPath":            filepath.Join(dir, "etc/kubernetes/manifests"),
		// Eviction thresholds on a shared test machine's disk would make the
		// node report pressure that has nothing to do with the scenario.
		"evictionHard": map[string]string{"memory.available": "1Mi"},
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc/kubernetes/manifests"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := clustertest.WriteKubeconfig(n.bootstrap, cp.URL, cp.PKI.CACert, clustertest.KubeUser{Token: tokenID + "." + tokenSecret}); err != nil {
		t.Fatal(err)
	}
	return n
}

// joined is a node that joined the cluster earlier and has run since: a
// valid client certificate, and no bootstrap kubeconfig any more.
func (n *node) joined(t *testing.T) {
	n.clientCert(t, n.name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// clientCert gives the node a client certificate and the kubelet.conf that
// `kubeadm join` leaves after a finished bootstrap (it then deletes the
// bootstrap kubeconfig), valid from notBefore to notAfter, for identity.
func (n *node) clientCert(t *testing.T, identity string, notBefore, notAfter time.Time) {
	t.Helper()
	// As the kubelet's certificate store keeps it: a dated file and the
	// kubelet-client-current.pem symlink to it (the store refuses to
	// rotate over a regular file).
	pem := filepath.Join(n.certDir, "kubelet-client-current.pem")
	dated := "kubelet-client-" + notBefore.UTC().Format("2006-01-02-15-04-05") + ".pem"
	if err := n.cp.PKI.KubeletClient(filepath.Join(n.certDir, dated), identity, notBefore, notAfter); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dated, pem); err != nil {
		t.Fatal(err)
	}
	if err := clustertest.WriteKubeconfig(n.kubeconfig, n.cp.URL, n.cp.PKI.CACert, clustertest.KubeUser{ClientCertificate: pem, ClientKey: pem}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(n.bootstrap); err != nil {
		t.Fatal(err)
	}
}

// writeConfig writes config.yaml as the scenario left it.
func (n *node) writeConfig(t *testing.T) {
	t.Helper()
	if n.noConfig {
		return
	}
	data := []byte(n.rawConfig)
	if n.rawConfig == "" {
		var err error
		if data, err = json.MarshalIndent(n.config, "", "  "); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(n.configPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// kubeletArgs are kubeadm's flags (10-kubeadm.conf and kubeadm-flags.env),
// with the paths under DIR and the node's name and address given.
func (n *node) kubeletArgs() []string {
	return []string{
		"--bootstrap-kubeconfig=" + n.bootstrap,
		"--kubeconfig=" + n.kubeconfig,
		"--config=" + n.configPath,
		"--root-dir=" + n.rootDir,
		"--cert-dir=" + n.certDir,
		"--hostname-override=" + n.name,
		"--node-ip=" + nodeIP,
	}
}

// containerdConfig keeps every path of containerd under DIR: its root and
// state, sockets, CNI and /opt; nothing listens on TCP but the CRI stream
// server on the namespace's loopback.
func (n *node) containerdConfig() string {
	d := filepath.Join(n.dir, "containerd")
	q := strconv.Quote
	return `version = 2
root = ` + q(filepath.Join(d, "root")) + `
state = ` + q(filepath.Join(d, "state")) + `
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = ` + q(n.socket) + `
[ttrpc]
  address = ` + q(n.socket+".ttrpc") + `
[plugins."io.containerd.internal.v1.opt"]
  path = ` + q(filepath.Join(d, "opt")) + `
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ` + q(filepath.Join(d, "cni/bin")) + `
    conf_dir = ` + q(filepath.Join(d, "cni/net.d")) + `
`
}

// startRuntime runs containerd for the node (stopped by PID at cleanup)
// and waits for its socket.
func (n *node) startRuntime(t *testing.T) {
	t.Helper()
	cfg := filepath.Join(n.dir, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(n.containerdConfig()), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := clustertest.StartProc(t, n.dir, "containerd", 20, nil, n.cp.ns.command("containerd", "--config", cfg)...)
	if err != nil {
		t.Fatal(err)
	}
	err = clustertest.Poll(30*time.Second, 100*time.Millisecond, func() error {
		if done, perr := p.Exited(); done {
			return fmt.Errorf("containerd exited (%v): %s", perr, clustertest.Tail(p.Log, 10))
		}
		if _, err := os.Stat(n.socket); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("containerd: %v", err)
	}
}

// cgroupHierarchies are the cgroup hierarchies the kubelet's cgroupfs
// driver uses on a v1 (hybrid) machine, the cgroup2 "unified" one included;
// the node's cgroup root must exist in each of them.
func cgroupHierarchies() []string {
	var out []string
	for _, h := range []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer", "hugetlb", "systemd", "unified"} {
		if fi, err := os.Stat(filepath.Join("/sys/fs/cgroup", h)); err == nil && fi.IsDir() {
			out = append(out, h)
		}
	}
	return out
}

// makeCgroupRoot creates the node's cgroup root and removes it, with all
// that the kubelet created under it, at cleanup (after the processes are
// gone: cleanups run last-registered first).
func (n *node) makeCgroupRoot(t *testing.T) {
	t.Helper()
	for _, h := range cgroupHierarchies() {
		d := filepath.Join("/sys/fs/cgroup", h, n.cgroupRoot)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("create cgroup %s: %v", d, err)
		}
		if h == "cpuset" {
			// A new cpuset cgroup starts with no CPUs and no memory nodes.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuset", f)); err == nil {
					_ = os.WriteFile(filepath.Join(d, f), b, 0o644)
				}
			}
		}
		t.Cleanup(func() {
			if err := removeCgroupTree(d); err != nil {
				t.Errorf("remove cgroup %s: %v", d, err)
			}
		})
	}
}

// removeCgroupTree removes a cgroup directory bottom-up (cgroupfs only
// removes empty cgroups, with rmdir), retrying briefly while the kernel
// finishes reaping the processes that were in it.
func removeCgroupTree(dir string) error {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	return clustertest.Poll(10*time.Second, 100*time.Millisecond, func() error {
		var last error
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil && !os.IsNotExist(err) {
				last = err
			}
		}
		return last
	})
}

// staleCgroup matches the cgroup roots this suite names: kd-SCENARIO-PID
// and the systemd driver's kdsdPID.slice.
var staleCgroup = regexp.MustCompile(`^kd(?:-.+-|sd)(\d+)(?:\.slice)?$`)

// removeStaleCgroups removes the cgroup roots of suite runs whose test
// process is gone: a run killed from outside (timeout, SIGKILL) cannot run
// its cleanups, and its kubelets' cgroups would stay on the machine.
func removeStaleCgroups(t *testing.T) {
	t.Helper()
	for _, h := range cgroupHierarchies() {
		entries, _ := os.ReadDir(filepath.Join("/sys/fs/cgroup", h))
		for _, e := range entries {
			m := staleCgroup.FindStringSubmatch(e.Name())
			if m == nil || !e.IsDir() {
				continue
			}
			if _, err := os.Stat(filepath.Join("/proc", m[1])); err == nil {
				continue // its run is still going (or the PID was reused: leave it)
			}
			if err := removeCgroupTree(filepath.Join("/sys/fs/cgroup", h, e.Name())); err != nil {
				t.Logf("stale cgroup of a killed run: %v", err)
			}
		}
	}
}
