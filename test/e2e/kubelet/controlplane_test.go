package kubelet_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// Bootstrap token of the cluster, as `kubeadm token create` makes one
// (id.secret, [a-z0-9]{6}.[a-z0-9]{16}). A test-only cluster that lives for
// minutes in a private network namespace: the value protects nothing.
const (
	tokenID     = "kdboot"
	tokenSecret = "0123456789abcdef"
	// rejectedToken has the right shape but no Secret behind it.
	rejectedToken = "kdnone.fedcba9876543210"
)

// controlPlane is the shared real etcd + kube-apiserver (test/clustertest)
// inside the suite's network namespace, plus kube-controller-manager (CSR
// approving and signing, as kubeadm runs them), all from the multi-call
// kapi binary.
type controlPlane struct {
	*clustertest.ControlPlane
	ns *netns
}

// newPKI is the suite's certificate authority: one day, and a serving
// certificate for the node address the apiserver listens on.
func newPKI(dir string) (*clustertest.PKI, error) {
	return clustertest.NewPKI(dir, clustertest.PKIOptions{ServingIPs: []string{nodeIP}})
}

// startControlPlane brings the control plane up and makes the cluster
// kubeadm-like: a bootstrap token whose group may create node CSRs that are
// approved automatically, and renewals by the nodes themselves.
func startControlPlane(t *testing.T, kapi string, ns *netns, base string) *controlPlane {
	t.Helper()
	p, err := newPKI(filepath.Join(base, "pki"))
	if err != nil {
		t.Fatalf("make certificates: %v", err)
	}
	cp := &controlPlane{ns: ns, ControlPlane: clustertest.StartControlPlane(t, clustertest.Config{
		Kapi: kapi, Dir: base, PKI: p,
		Host: nodeIP, Command: ns.command,
		// kubeadm's: bootstrap tokens from kube-system Secrets.
		APIServerArgs: []string{"--enable-bootstrap-token-auth"},
		ReadyTimeout:  120 * time.Second,
	})}
	// The controllers that turn a bootstrap CSR into a client certificate;
	// leader election and serving are off: one instance, nobody scrapes it.
	_, err = clustertest.StartProc(t, cp.Dir, "kube-controller-manager", 10, nil, ns.command(kapi, "kube-controller-manager",
		"--kubeconfig", cp.Admin,
		"--controllers", "csrapproving,csrsigning",
		"--cluster-signing-cert-file", p.CACert,
		"--cluster-signing-key-file", p.CAKey,
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
	)...)
	if err != nil {
		t.Fatalf("start kube-controller-manager: %v", err)
	}
	if err := cp.bootstrapObjects(); err != nil {
		t.Fatalf("bootstrap token and RBAC: %v", err)
	}
	return cp
}

// bootstrapObjects are what kubeadm init creates for joining nodes.
func (cp *controlPlane) bootstrapObjects() error {
	const group = "system:bootstrappers:kubeadm:default-node-token"
	secret := map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
		"metadata": map[string]any{"name": "bootstrap-token-" + tokenID, "namespace": "kube-system"},
		"stringData": map[string]string{
			"token-id": tokenID, "token-secret": tokenSecret,
			"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
			"auth-extra-groups": group,
			"expiration":        time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339),
		},
	}
	binding := func(name, role, subject string) map[string]any {
		return map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
			"metadata": map[string]any{"name": name},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
			"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": subject}},
		}
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{
		secret,
		binding("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", group),
		binding("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", group),
		binding("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"),
	}}
	data, err := json.Marshal(list)
	if err != nil {
		return err
	}
	_, err = cp.KubectlAs(context.Background(), cp.Admin, data, "apply", "-f", "-")
	return err
}
