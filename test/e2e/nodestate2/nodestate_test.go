// Package nodestate2 drives the node-state conditions of kubelet-doctor's
// config, DNS, resource-access and startup checks end to end: the real
// node-problem-detector v1.36.0 (KD_NPD) runs the shipped config files of
// config/npd against the real binary (KD_BIN), each condition on a node
// root of its own whose files (kubeadm's unit and config, resolv.conf, a
// stale pod-resources socket, a system bus with systemd's unit object)
// are broken in one way, and the test reads what NPD itself reports.
package nodestate2

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/npdconfig"
	"github.com/kubelet-doctor/kubelet-doctor/test/dbustest"
	"github.com/kubelet-doctor/kubelet-doctor/test/npdtest"
)

var (
	repo        = filepath.Join("..", "..", "..")
	configDir   = filepath.Join(repo, "config", "npd")
	kubeletData = filepath.Join(repo, "plugins", "kubeletconfig", "testdata")
	dnsData     = filepath.Join(repo, "plugins", "dns", "testdata")
)

// scenario is one condition on a broken node.
type scenario struct {
	typ, file, reason string
	args              []string // besides the shipped ones
	setup             func(t *testing.T, n node)
	message           string // the True condition's message starts with it
}

var scenarios = []scenario{{
	typ: "KubeletConfigProblem", file: "kubelet-config.json", reason: "KubeletConfigInvalid",
	args: []string{"--reference=" + filepath.Join(kubeletData, "reference-corp.yaml")},
	setup: func(t *testing.T, n node) {
		n.kubeadm(t)
	},
	message: "drift: clusterDomain cluster.local!=corp.local, cgroupDriver",
}, {
	typ: "KubeletDNSProblem", file: "kubelet-dns.json", reason: "KubeletDNSConfigInvalid",
	setup: func(t *testing.T, n node) {
		n.kubeadm(t)
		n.copy(t, "/run/systemd/resolve/resolv.conf", filepath.Join(dnsData, "stub-resolv.conf"))
	},
	message: "loopback nameserver 127.0.0.53: in /run/systemd/resolve/resolv.conf",
}, {
	typ: "KubeletResourceAccessProblem", file: "kubelet-resources.json", reason: "KubeletResourceAccessDenied",
	setup: func(t *testing.T, n node) {
		n.kubeadm(t)
		// A kubelet that died: its socket is left with nobody listening.
		l, err := net.Listen("unix", n.path("/var/lib/kubelet/pod-resources/kubelet.sock"))
		if err != nil {
			t.Fatal(err)
		}
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
	},
	message: "pod-resources refused: /var/lib/kubelet/pod-resources/kubelet.sock: nobody",
}, {
	typ: "KubeletStartupProblem", file: "kubelet-startup.json", reason: "KubeletCrashLooping",
	args: []string{"--healthz-url=-"},
	setup: func(t *testing.T, n node) {
		n.kubeadm(t)
		sock := n.path("/run/dbus/system_bus_socket")
		dbustest.StartBus(t, sock)
		now := time.Now()
		dbustest.FakeSystemd(t, sock, dbustest.Unit{Name: "kubelet.service",
			Unit: map[string]any{"LoadState": "loaded", "ActiveState": "activating", "SubState": "auto-restart",
				"ActiveEnterTimestamp": uint64(now.Add(-5 * time.Second).UnixMicro()), "InactiveEnterTimestamp": uint64(now.UnixMicro())},
			Service: map[string]any{"NRestarts": uint32(7), "ExecMainStatus": int32(1), "ExecMainCode": int32(1), "Result": "exit-code"}})
	},
	message: "kubelet crash loop: 7 restarts, last exit status 1",
}}

// node is one scenario's host root.
type node struct{ root string }

func (n node) path(p string) string { return hostpath.Root(n.root).Path(p) }

func (n node) write(t testing.TB, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(n.path(p)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.path(p), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func (n node) copy(t testing.TB, p, from string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	n.write(t, p, string(b), 0o644)
}

// kubeadm lays out a healthy kubeadm worker: unit, config, CA, runtime
// socket, the kubelet's directories, the node's /proc facts.
func (n node) kubeadm(t testing.TB) {
	t.Helper()
	n.copy(t, "/usr/lib/systemd/system/kubelet.service", filepath.Join(kubeletData, "systemd", "kubelet.service"))
	n.copy(t, "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", filepath.Join(kubeletData, "systemd", "10-kubeadm.conf"))
	n.copy(t, "/var/lib/kubelet/config.yaml", filepath.Join(kubeletData, "kubeadm-default.yaml"))
	n.copy(t, "/run/systemd/resolve/resolv.conf", filepath.Join(dnsData, "upstream-resolv.conf"))
	n.write(t, "/etc/kubernetes/pki/ca.crt", "x\n", 0o644)
	n.write(t, "/etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n", 0o600)
	n.write(t, "/proc/meminfo", "MemTotal:        8388608 kB\n", 0o644)
	n.write(t, "/proc/cpuinfo", "processor\t: 0\n\nprocessor\t: 1\n", 0o644)
	n.write(t, "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n", 0o644)
	for _, d := range []string{"/etc/kubernetes/manifests", "/var/lib/kubelet/pki", "/var/lib/kubelet/pods",
		"/var/lib/kubelet/plugins", "/var/lib/kubelet/pod-resources", "/var/log/pods", "/run/containerd"} {
		if err := os.MkdirAll(n.path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("unix", n.path("/run/containerd/containerd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

func TestNPDReportsNodeStateConditions(t *testing.T) {
	npd, bin := os.Getenv("KD_NPD"), os.Getenv("KD_BIN")
	if npd == "" || bin == "" {
		t.Skip("KD_NPD and KD_BIN must be set; `make e2e` sets them")
	}
	dir := t.TempDir()
	var configs []string
	for _, sc := range scenarios {
		// Short roots: unix socket paths are at most 108 bytes.
		root, err := os.MkdirTemp("", "ns2")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(root) })
		sc.setup(t, node{root: root})
		configs = append(configs, writeConfig(t, dir, sc, bin, root))
	}
	p := &npdProc{npdtest.Start(t, npd, dir, configs)}
	for _, sc := range scenarios {
		t.Run(sc.typ, func(t *testing.T) {
			deadline := time.Now().Add(60 * time.Second)
			for {
				ch, ok := p.lastChange(sc.typ)
				if ok && ch.status == "True" && ch.reason == sc.reason && strings.HasPrefix(ch.message, sc.message) {
					if len(ch.message) > 80 {
						t.Errorf("message %q is over 80 bytes", ch.message)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("NPD did not report %s True/%s %q; last change %+v\nNPD log:\n%s", sc.typ, sc.reason, sc.message, ch, p.tail(sc.typ))
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// writeConfig writes the shipped config of the scenario's condition for
// this machine, with the scenario's extra arguments.
func writeConfig(t *testing.T, dir string, sc scenario, bin, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(configDir, sc.file))
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, sc.typ+"-state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := npdconfig.Rewrite(data, npdconfig.Local{Bin: bin, Root: root, StateDir: state, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg["rules"].([]any) {
		rule := r.(map[string]any)
		args := rule["args"].([]any)
		for _, a := range sc.args {
			args = append(args, a)
		}
		rule["args"] = args
	}
	out, err = json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, sc.file)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// npdProc is one standalone NPD (test/npdtest) with what this suite
// reads from it: its -v=3 log records every plugin run and condition change.
type npdProc struct{ *npdtest.NPD }

type change struct{ status, reason, message string }

// lastChange is the last "Node condition T is now: S, reason: R, message: M".
func (p *npdProc) lastChange(typ string) (change, bool) {
	b, _ := os.ReadFile(p.Log)
	re := regexp.MustCompile(`Node condition ` + regexp.QuoteMeta(typ) + ` is now: (\w+), reason: (\w*), message: ("(?:[^"\\]|\\.)*")`)
	m := re.FindAllStringSubmatch(string(b), -1)
	if len(m) == 0 {
		return change{}, false
	}
	last := m[len(m)-1]
	msg, err := strconv.Unquote(last[3])
	if err != nil {
		msg = last[3]
	}
	return change{status: last[1], reason: last[2], message: msg}, true
}

func (p *npdProc) tail(word string) string {
	b, _ := os.ReadFile(p.Log)
	var kept []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, word) {
			kept = append(kept, l)
		}
	}
	if len(kept) > 20 {
		kept = kept[len(kept)-20:]
	}
	return fmt.Sprint(strings.Join(kept, "\n"))
}
