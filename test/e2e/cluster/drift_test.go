package cluster_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

// referenceVolume is the DaemonSet's mount of the cluster's kubelet config:
// a ConfigMap volume in the NPD container.
type referenceVolume struct {
	MountPath string
	ConfigMap string
	Optional  bool
	Items     map[string]string // key -> path under MountPath
}

// shippedReference reads config/kubernetes/daemonset.yaml for the NPD
// container's mount of kube-system/kubelet-config.
func (s *suite) shippedReference(t *testing.T) referenceVolume {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.repo, "config", "kubernetes", "daemonset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						VolumeMounts []struct {
							Name, MountPath string
							ReadOnly        bool
						} `json:"volumeMounts"`
					} `json:"containers"`
					Volumes []struct {
						Name      string
						ConfigMap *struct {
							Name     string
							Optional bool
							Items    []struct{ Key, Path string }
						} `json:"configMap"`
					} `json:"volumes"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &ds); err != nil {
		t.Fatal(err)
	}
	pod := ds.Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil || v.ConfigMap.Name != "kubelet-config" {
			continue
		}
		rv := referenceVolume{ConfigMap: v.ConfigMap.Name, Optional: v.ConfigMap.Optional, Items: map[string]string{}}
		for _, it := range v.ConfigMap.Items {
			rv.Items[it.Key] = it.Path
		}
		for _, m := range pod.Containers[0].VolumeMounts {
			if m.Name == v.Name && m.ReadOnly {
				rv.MountPath = m.MountPath
			}
		}
		if rv.MountPath == "" {
			t.Fatalf("volume %s (ConfigMap kubelet-config) is not mounted read-only in the NPD container", v.Name)
		}
		return rv
	}
	t.Fatal("daemonset.yaml mounts no ConfigMap kubelet-config")
	return referenceVolume{}
}

// mount lays out dir as the kubelet mounts the volume, from what the API
// server has of the ConfigMap: each item's key as its file, nothing for a
// ConfigMap (or key) that does not exist when the volume is optional.
func (rv referenceVolume) mount(t *testing.T, s *suite, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.cp.Kubectl(ctx, "get", "configmap", rv.ConfigMap, "--namespace", "kube-system", "-o", "json", "--ignore-not-found")
	if err != nil {
		t.Fatalf("read kube-system/%s: %v\n%s", rv.ConfigMap, err, out)
	}
	if strings.TrimSpace(out) == "" && !rv.Optional {
		t.Fatalf("kube-system/%s does not exist and the volume is not optional: the pod would not start", rv.ConfigMap)
	}
	var cm struct{ Data map[string]string }
	if strings.TrimSpace(out) != "" {
		if err := yaml.Unmarshal([]byte(out), &cm); err != nil {
			t.Fatal(err)
		}
	}
	for key, path := range rv.Items {
		data, ok := cm.Data[key]
		if !ok {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, path), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// kubeadmNode is a kubeadm worker whose config was never updated to the
// cluster's: it differs from reference-corp.yaml in clusterDomain and
// cgroupDriver, and is otherwise sound: a kubelet up and registered for 9
// minutes, the runtime up, the CA and the manifests directory in place, a
// 4-CPU 8 GiB node without swap.
func (s *suite) kubeadmNode(t *testing.T, name string) *testNode {
	t.Helper()
	testdata := filepath.Join(s.repo, "plugins", "kubeletconfig", "testdata")
	node := s.newNode(t, name)
	tl := newTimeline(node.Name, time.Time{})
	tl.at(time.Now().Add(-9 * time.Minute)).kubeletStarted().registered()
	s.appendJournal(t, node, tl)
	pkitest.Write(t, node.Root, "/proc/meminfo", []byte("MemTotal:        8388608 kB\nMemFree:         4000000 kB\n"), 0o644)
	pkitest.Write(t, node.Root, "/proc/cpuinfo", []byte(strings.Repeat("processor\t: 0\nmodel name\t: x\n\n", 4)), 0o644)
	pkitest.Write(t, node.Root, "/proc/swaps", []byte("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"), 0o644)
	if err := os.MkdirAll(filepath.Join(node.Root, "etc/kubernetes/manifests"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile := func(dst, src string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(node.Root, "usr/lib/systemd/system/kubelet.service"), filepath.Join(testdata, "systemd", "kubelet.service"))
	copyFile(filepath.Join(node.Root, "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"), filepath.Join(testdata, "systemd", "10-kubeadm.conf"))
	copyFile(filepath.Join(node.Root, "var/lib/kubelet/config.yaml"), filepath.Join(testdata, "kubeadm-default.yaml"))
	copyFile(filepath.Join(node.Root, "etc/kubernetes/pki/ca.crt"), s.cp.PKI.CACert)
	sock := filepath.Join(node.Root, "run/containerd/containerd.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock) // the runtime is up
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return node
}

// testDrift: the shipped DaemonSet mounts the real kube-system/kubelet-config
// ConfigMap (kubeadm's key "kubelet"), optional, where the shipped
// KubeletConfigProblem rule reads it (--reference-optional). Before the
// cluster has the ConfigMap (EKS, GKE, k3s...) the mount is empty and the
// condition is False, drift not checked, never Unknown; once it has it, a
// node whose own config differs raises KubeletConfigProblem naming the fields.
func (s *suite) testDrift(t *testing.T) {
	want, err := s.configs.expect("KubeletConfigProblem")
	if err != nil {
		t.Fatal(err)
	}
	rv := s.shippedReference(t)
	if !rv.Optional {
		t.Error("the kubelet-config volume is not optional: the pod would not start on a cluster without kubeadm's ConfigMap")
	}
	file, ok := rv.Items["kubelet"]
	if !ok {
		t.Fatalf("the kubelet-config volume does not project key kubelet: items %v", rv.Items)
	}
	for _, m := range s.configs {
		for _, r := range m.Rules {
			if r.Condition == "KubeletConfigProblem" &&
				(!slices.Contains(r.Args, "--reference="+rv.MountPath+"/"+file) || !slices.Contains(r.Args, "--reference-optional")) {
				t.Fatalf("%s: the rule does not read the mounted %s/%s, optionally: %v", m.File, rv.MountPath, file, r.Args)
			}
		}
	}

	// A cluster without the ConfigMap: the volume is an empty directory.
	absent := s.kubeadmNode(t, "e2e-config-no-reference")
	rv.mount(t, s, absent.referenceDir())

	testdata := filepath.Join(s.repo, "plugins", "kubeletconfig", "testdata")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := s.cp.Kubectl(ctx, "create", "configmap", "kubelet-config", "--namespace", "kube-system",
		"--from-file=kubelet="+filepath.Join(testdata, "reference-corp.yaml")); err != nil {
		t.Fatalf("create kube-system/kubelet-config: %v\n%s", err, out)
	}
	drifted := s.kubeadmNode(t, "e2e-config-drift")
	rv.mount(t, s, drifted.referenceDir())

	s.createNode(t, absent.Name)
	s.createNode(t, drifted.Name)
	npdAbsent := startNPD(t, s, absent, "KubeletConfigProblem")
	npdDrifted := startNPD(t, s, drifted, "KubeletConfigProblem")

	got := s.waitCondition(t, npdDrifted, drifted.Name, "KubeletConfigProblem", "True", settle)
	t.Logf("with the ConfigMap: KubeletConfigProblem True: %s: %q", got.Reason, got.Message)
	if got.Reason != want.Problem {
		t.Errorf("reason = %q, want %q", got.Reason, want.Problem)
	}
	if got.Message != "drift: clusterDomain cluster.local!=corp.local, cgroupDriver" {
		t.Errorf("message %q does not name the drifting fields", got.Message)
	}
	got = s.waitCondition(t, npdAbsent, absent.Name, "KubeletConfigProblem", "False", settle)
	t.Logf("without the ConfigMap: KubeletConfigProblem False: %s: %q", got.Reason, got.Message)
	if got.Reason != want.Healthy {
		t.Errorf("reason = %q, want %q", got.Reason, want.Healthy)
	}
}
