package cluster_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testDrift: the cluster's kubelet configuration lives in the real
// kube-system/kubelet-config ConfigMap (kubeadm's key "kubelet"); the
// DaemonSet mounts it, which writes the key as a file; a node whose own
// config differs raises KubeletConfigProblem naming the fields.
func (s *suite) testDrift(t *testing.T) {
	want, err := s.configs.expect("KubeletConfigProblem")
	if err != nil {
		t.Fatal(err)
	}
	testdata := filepath.Join(s.repo, "plugins", "kubeletconfig", "testdata")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := s.cp.Kubectl(ctx, "create", "configmap", "kubelet-config", "--namespace", "kube-system",
		"--from-file=kubelet="+filepath.Join(testdata, "reference-corp.yaml")); err != nil {
		t.Fatalf("create kube-system/kubelet-config: %v\n%s", err, out)
	}
	// What the ConfigMap volume puts in the pod: the key's value as a file.
	data, err := s.cp.Kubectl(ctx, "get", "configmap", "kubelet-config", "--namespace", "kube-system", "-o", "jsonpath={.data.kubelet}")
	if err != nil {
		t.Fatalf("read kube-system/kubelet-config: %v\n%s", err, data)
	}
	node := s.newNode(t, "e2e-config-drift")
	mount := filepath.Join(filepath.Dir(node.State), "kubelet-config")
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
	if err := os.MkdirAll(mount, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mount, "kubelet"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	node.Args = []string{"--reference=" + filepath.Join(mount, "kubelet")}
	// A kubeadm node whose config was never updated to the cluster's.
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
	defer l.Close()

	s.createNode(t, node.Name)
	npd := startNPD(t, s, node, "KubeletConfigProblem")
	got := s.waitCondition(t, npd, node.Name, "KubeletConfigProblem", "True", settle)
	t.Logf("KubeletConfigProblem True: %s: %q", got.Reason, got.Message)
	if got.Reason != want.Problem {
		t.Errorf("reason = %q, want %q", got.Reason, want.Problem)
	}
	if got.Message != "drift: clusterDomain cluster.local!=corp.local, cgroupDriver" {
		t.Errorf("message %q does not name the drifting fields", got.Message)
	}
}
