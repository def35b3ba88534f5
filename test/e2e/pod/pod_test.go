// Package pod runs the DaemonSet's pod for real, with runc and no
// Kubernetes: the init container from the image `make image` builds, as
// config/kubernetes/daemonset.yaml specifies it (user, read-only root, no
// capabilities), installs kubelet-doctor into a shared directory; then
// node-problem-detector v1.36.0 (KD_NPD) runs on a root made of Debian's
// libc6 and libsystemd0 packages, with the shipped configs (configmap.yaml),
// the fake host read-only at /host and only the capabilities the DaemonSet
// adds, and must report the condition from a real journal on that host.
package pod

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

var repo = filepath.Join("..", "..", "..")

// nodeName is what the kubelet would put in NODE_NAME (spec.nodeName).
const nodeName = "worker-1"

// npdVersion is the NPD the tests build: the DaemonSet must name its image.
const npdVersion = "v1.36.0"

type env struct {
	bin, npd string
	rt       runtime
	tmp      string
}

func needEnv(t *testing.T) env {
	t.Helper()
	e := env{bin: os.Getenv("KD_BIN"), npd: os.Getenv("KD_NPD")}
	if e.bin == "" || e.npd == "" {
		t.Skip("KD_BIN (kubelet-doctor) and KD_NPD (scripts/build-npd.sh) must both be set; `make test` sets them")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Fatalf("runc is not on PATH: scripts/deps.sh installs Debian's runc (%v)", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("runc needs root here to create a container's namespaces and mounts (uid is not 0)")
	}
	e.tmp = t.TempDir()
	e.rt = runtime{runc: runc, state: filepath.Join(e.tmp, "runc")}
	return e
}

func TestDaemonSetPodReportsTheConditionFromTheHostJournal(t *testing.T) {
	e := needEnv(t)
	spec := readDaemonSet(t)
	initC, npdC := spec.InitContainers[0], spec.Containers[0]
	if !strings.HasSuffix(npdC.Image, ":"+npdVersion) {
		t.Fatalf("the DaemonSet runs NPD %s; the tests build and run %s", npdC.Image, npdVersion)
	}
	vols := e.volumes(t, spec.Volumes)
	writeHostJournal(t, filepath.Join(e.tmp, "host"))

	layout := filepath.Join(e.tmp, "image")
	if out, err := exec.Command(filepath.Join(repo, "scripts", "image.sh"), e.bin, "pod-test", layout).CombinedOutput(); err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, out)
	}
	initRoot := filepath.Join(e.tmp, "init-rootfs")
	img := unpackLayout(t, filepath.Join(layout, "oci"), initRoot)
	initB := e.bundle(t, initC, img, initRoot, vols)
	e.probe(t, initB)

	installed := t.Run("init container installs the binary as its non-root user", func(t *testing.T) {
		out, err := e.rt.run(t, "init", initB)
		if err != nil {
			t.Fatalf("init container: %v\n%s", err, out)
		}
		dest := e.installed(t, initC, vols)
		want, _ := os.ReadFile(e.bin)
		got, err := os.ReadFile(dest)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s is not the image's kubelet-doctor (err %v); init output: %s", dest, err, out)
		}
		st, _ := os.Stat(dest)
		uid, _, _ := initC.user(img.Config.User)
		if owner := st.Sys().(*syscall.Stat_t).Uid; int64(owner) != uid || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: owner %d mode %v, want owner %d (the container's user) mode 0755", dest, owner, st.Mode().Perm(), uid)
		}
	})
	t.Run("init container cannot write its own root", func(t *testing.T) {
		b := initB
		b.args = []string{b.args[0], "install", "/kubelet-doctor"}
		out, err := e.rt.run(t, "init-rootfs-write", b)
		if err == nil || !strings.Contains(out, "read-only file system") {
			t.Errorf("install into / of a read-only root: err %v, output %q; want a read-only file system error", err, out)
		}
	})

	if !installed {
		t.Fatal("the init container did not install kubelet-doctor: NPD would have no plugin to run")
	}
	npdRoot := filepath.Join(e.tmp, "npd-rootfs")
	debRoot(t, debs(t), npdRoot)
	copyFile(t, e.npd, filepath.Join(npdRoot, npdC.Command[0]), 0o755)
	npdB := e.bundle(t, npdC, imageConfig{}, npdRoot, vols)
	// No API server here: NPD's log and its condition changes are the output.
	npdB.args = append(npdB.args, "--enable-k8s-exporter=false")
	logPath := filepath.Join(e.tmp, "npd.log")
	start := time.Now()
	exited := e.rt.start(t, "npd", npdB, logPath)

	t.Run("NPD raises the condition from the journal", func(t *testing.T) {
		want := regexp.MustCompile(`Node condition KubeletCATrustProblem is now: True, reason: KubeletCAUntrusted, message: "x509 unknown authority`)
		log := waitLog(t, logPath, want, 90*time.Second, exited)
		t.Logf("KubeletCATrustProblem True after %v: %s", time.Since(start).Round(time.Millisecond), want.FindString(log))
		for _, m := range regexp.MustCompile(`Node condition (\w+) is now: True`).FindAllStringSubmatch(log, -1) {
			if m[1] != "KubeletCATrustProblem" {
				t.Errorf("%s went True; only KubeletCATrustProblem has failures in the journal", m[1])
			}
		}
		for _, bad := range []string{"exec format error", "no such file or directory", "error while loading shared libraries", "permission denied", "cannot tell"} {
			if strings.Contains(strings.ToLower(log), bad) {
				t.Errorf("NPD log has %q: the plugin does not run as deployed\n%s", bad, tail(log))
			}
		}
	})
}

// volumes makes the pod's volumes: an emptyDir is a fresh 0777 directory as
// the kubelet makes it, a hostPath is that path under the fake host, the
// ConfigMap of NPD's configs is configmap.yaml's data as files, and an
// optional ConfigMap (kube-system/kubelet-config, the drift reference) is
// the empty directory the kubelet mounts on a cluster that has none: not
// kubeadm's, like this host.
func (e env) volumes(t *testing.T, vs []volume) map[string]string {
	t.Helper()
	host := filepath.Join(e.tmp, "host")
	npdConfigs := npdConfigMap(t).Metadata.Name
	out := map[string]string{}
	for _, v := range vs {
		var dir string
		switch {
		case v.EmptyDir != nil:
			dir = filepath.Join(e.tmp, "volumes", v.Name)
			mkdir(t, dir)
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
		case v.HostPath != nil:
			dir = filepath.Join(host, v.HostPath.Path)
			if v.HostPath.Path == "/etc/machine-id" {
				mkdir(t, filepath.Dir(dir))
				writeFile(t, dir, journalexport.MachineID+"\n")
			} else {
				mkdir(t, dir)
			}
		case v.ConfigMap != nil && v.ConfigMap.Name == npdConfigs:
			dir = filepath.Join(e.tmp, "volumes", v.Name)
			mkdir(t, dir)
			for name, data := range configMapData(t) {
				writeFile(t, filepath.Join(dir, name), data)
			}
		case v.ConfigMap != nil && v.ConfigMap.Optional:
			dir = filepath.Join(e.tmp, "volumes", v.Name)
			mkdir(t, dir)
		default:
			t.Fatalf("volume %s has a source this test does not provide", v.Name)
		}
		out[v.Name] = dir
	}
	return out
}

// bundle is container c as runc runs it: user, root, capabilities,
// privilege escalation, memory limit, mounts and environment from the
// DaemonSet; command, else the image's entrypoint.
func (e env) bundle(t *testing.T, c container, img imageConfig, rootfs string, vols map[string]string) bundle {
	t.Helper()
	uid, gid, err := c.user(img.Config.User)
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, c.Command...), c.Args...)
	if len(c.Command) == 0 {
		args = append(append([]string{}, img.Config.Entrypoint...), c.Args...)
	}
	if len(args) == 0 {
		t.Fatalf("container %s runs nothing", c.Name)
	}
	sc := c.SecurityContext
	b := bundle{
		dir: filepath.Join(e.tmp, "bundle-"+c.Name), rootfs: rootfs, args: args,
		env: append(append([]string{}, img.Config.Env...), c.env(t, nodeName)...),
		uid: uid, gid: gid, caps: c.capabilities(t),
		readOnly:   sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem,
		noNewPrivs: sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation,
		memory:     c.memoryLimit(t),
	}
	if !b.readOnly || !b.noNewPrivs {
		t.Fatalf("container %s: readOnlyRootFilesystem %v, allowPrivilegeEscalation %v: the DaemonSet must keep both locked", c.Name, b.readOnly, !b.noNewPrivs)
	}
	if len(b.env) == 0 {
		b.env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	for _, vm := range c.VolumeMounts {
		src, ok := vols[vm.Name]
		if !ok {
			t.Fatalf("container %s mounts volume %s, which the pod does not have", c.Name, vm.Name)
		}
		b.mounts = append(b.mounts, mount{source: src, destination: vm.MountPath, readOnly: vm.ReadOnly})
	}
	mkdir(t, b.dir)
	return b
}

// probe runs the image's binary once: when the kernel refuses what a
// container needs (namespaces, mounts), the test says so and skips; any
// other failure is a failure.
func (e env) probe(t *testing.T, b bundle) {
	t.Helper()
	b.args = []string{b.args[0], "version"}
	out, err := e.rt.run(t, "probe", b)
	if err == nil {
		return
	}
	low := strings.ToLower(out)
	for _, denied := range []string{"operation not permitted", "permission denied"} {
		if strings.Contains(low, denied) && (strings.Contains(low, "unshare") || strings.Contains(low, "namespace") || strings.Contains(low, "mount")) {
			t.Skipf("the kernel forbids containers here (runc: %s)", strings.TrimSpace(out))
		}
	}
	t.Fatalf("kubelet-doctor version in the image under runc: %v\n%s", err, out)
}

// installed is where the init container's install command writes on the
// host: its destination argument, inside the volume mounted there.
func (e env) installed(t *testing.T, c container, vols map[string]string) string {
	t.Helper()
	dest := c.Command[len(c.Command)-1]
	for _, vm := range c.VolumeMounts {
		if rel, ok := strings.CutPrefix(dest, vm.MountPath+"/"); ok {
			return filepath.Join(vols[vm.Name], rel)
		}
	}
	t.Fatalf("init container installs to %s, which is on no volume: the NPD container would not see it", dest)
	return ""
}

// writeHostJournal writes the host's persistent journal: a kubelet that
// started 9 minutes ago (past the boot grace) and now fails to register
// because it does not trust the API server's CA.
func writeHostJournal(t *testing.T, host string) {
	t.Helper()
	now := time.Now()
	entries := []journalexport.Entry{
		journalexport.Systemd(now.Add(-9*time.Minute), "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		kubeletLine(now.Add(-9*time.Minute+time.Millisecond), 'I', "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
	}
	for i := range 3 {
		entries = append(entries, kubeletLine(now.Add(-time.Minute+time.Duration(i)*10*time.Second), 'E', "kubelet_node_status.go:107",
			`"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`))
	}
	file := filepath.Join(host, "var", "log", "journal", journalexport.MachineID, "system.journal")
	if err := journalexport.Append(file, entries); err != nil {
		t.Fatalf("write the host journal: %v", err)
	}
}

func kubeletLine(at time.Time, level byte, src, msg string) journalexport.Entry {
	return journalexport.Kubelet(at, fmt.Sprintf("%c%s %7d %s] %s", level, at.UTC().Format("0102 15:04:05.000000"), journalexport.KubeletPID, src, msg))
}

// waitLog waits for re in the log and returns the log; it fails at once
// when the container exits.
func waitLog(t *testing.T, path string, re *regexp.Regexp, timeout time.Duration, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		if re.Match(b) {
			return string(b)
		}
		select {
		case <-exited:
			b, _ = os.ReadFile(path)
			t.Fatalf("NPD's container exited before logging %q; its log:\n%s", re, tail(string(b)))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("NPD did not log %q within %v; its log:\n%s", re, timeout, tail(string(b)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 40 {
		lines = append([]string{"..."}, lines[len(lines)-40:]...)
	}
	return strings.Join(lines, "\n")
}

func debs(t *testing.T) []string {
	t.Helper()
	b, err := exec.Command(filepath.Join(repo, "scripts", "debs.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/debs.sh: %v", err)
	}
	return strings.Fields(string(b))
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	mkdir(t, filepath.Dir(dst))
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}
