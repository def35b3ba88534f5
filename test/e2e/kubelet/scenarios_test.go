package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// Conditions, as the registry names them.
const (
	certificate   = "KubeletCertificateProblem"
	caTrust       = "KubeletCATrustProblem"
	bootstrap     = "KubeletBootstrapProblem"
	authorization = "KubeletAuthorizationProblem"
	registration  = "KubeletRegistrationProblem"
	connectivity  = "KubeletAPIServerUnreachable"
	config        = "KubeletConfigProblem"
	runtime       = "KubeletRuntimeProblem"
	resources     = "KubeletResourceAccessProblem"
	dns           = "KubeletDNSProblem"
	startup       = "KubeletStartupProblem"
)

// scenario is one real failure of the kubelet, or a healthy start.
type scenario struct {
	name string
	// setup breaks one thing on a node laid out as `kubeadm join` leaves it.
	setup func(t *testing.T, n *node)
	// evidence is text the kubelet's real output must contain: the proof
	// that the scenario produced the failure it is named after.
	evidence string
	want     []string          // conditions that must be True; all others False
	pending  map[string]string // condition -> why the product is still wrong about it
	npd      bool              // also through the real NPD
	// registered: the Node object must exist at the end (kubectl get node).
	registered bool
	run        time.Duration // default runFor
}

// runFor is how long each kubelet runs: crash loops reach 3+ exits,
// long-running failures outlast bootGrace.
const (
	runFor    = 45 * time.Second
	bootGrace = 20 * time.Second
)

var scenarios = []scenario{
	{
		name: "healthy", npd: true, registered: true,
		evidence: "Successfully registered node",
	},
	{
		name:     "config-missing",
		setup:    func(t *testing.T, n *node) { n.noConfig = true },
		evidence: "no such file or directory",
		want:     []string{config, startup}, npd: true,
	},
	{
		name: "config-malformed",
		setup: func(t *testing.T, n *node) {
			n.rawConfig = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: [cgroupfs\n"
		},
		evidence: "failed to load Kubelet config file",
		want:     []string{config, startup},
	},
	{
		name:     "config-invalid-value",
		setup:    func(t *testing.T, n *node) { n.config["healthzPort"] = 70000 },
		evidence: "healthzPort",
		want:     []string{config, startup},
	},
	{
		name: "config-unknown-field",
		// The kubelet decodes leniently after a strict decoding error and
		// runs, but the setting is silently ignored: a config problem.
		setup:      func(t *testing.T, n *node) { n.config["cgroupDrivr"] = "cgroupfs" },
		evidence:   "cgroupDrivr",
		want:       []string{config},
		registered: true,
	},
	{
		name: "bootstrap-kubeconfig-missing",
		setup: func(t *testing.T, n *node) {
			if err := os.Remove(n.bootstrap); err != nil {
				t.Fatal(err)
			}
		},
		evidence: "bootstrap-kubelet.conf",
		want:     []string{bootstrap, startup},
	},
	{
		name: "bootstrap-token-rejected",
		setup: func(t *testing.T, n *node) {
			if err := clustertest.WriteKubeconfig(n.bootstrap, n.cp.URL, n.cp.PKI.CACert, clustertest.KubeUser{Token: rejectedToken}); err != nil {
				t.Fatal(err)
			}
		},
		evidence: "Unauthorized",
		want:     []string{bootstrap}, npd: true,
	},
	{
		name: "ca-mismatch",
		setup: func(t *testing.T, n *node) {
			n.clientCert(t, n.name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
			other, err := newPKI(filepath.Join(n.dir, "other-ca"))
			if err != nil {
				t.Fatal(err)
			}
			pem := filepath.Join(n.certDir, "kubelet-client-current.pem")
			if err := clustertest.WriteKubeconfig(n.kubeconfig, n.cp.URL, other.CACert, clustertest.KubeUser{ClientCertificate: pem, ClientKey: pem}); err != nil {
				t.Fatal(err)
			}
		},
		evidence: "x509: certificate signed by unknown authority",
		want:     []string{caTrust},
	},
	{
		name: "apiserver-unreachable",
		setup: func(t *testing.T, n *node) {
			n.clientCert(t, n.name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
			port, err := clustertest.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			pem := filepath.Join(n.certDir, "kubelet-client-current.pem")
			url := fmt.Sprintf("https://%s:%d", nodeIP, port)
			if err := clustertest.WriteKubeconfig(n.kubeconfig, url, n.cp.PKI.CACert, clustertest.KubeUser{ClientCertificate: pem, ClientKey: pem}); err != nil {
				t.Fatal(err)
			}
		},
		evidence: "connection refused",
		want:     []string{connectivity},
	},
	{
		// kubeadm deletes the bootstrap kubeconfig after the join but keeps
		// the flag: the kubelet falls back to it and exits on the missing file.
		name: "client-cert-expired",
		setup: func(t *testing.T, n *node) {
			n.clientCert(t, n.name, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
		},
		evidence: "is expired",
		want:     []string{certificate, startup},
	},
	{
		// With the bootstrap kubeconfig still there, the kubelet requests a
		// new certificate with the token and the node recovers by itself.
		name: "client-cert-expired-with-bootstrap",
		setup: func(t *testing.T, n *node) {
			n.clientCert(t, n.name, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
			if err := clustertest.WriteKubeconfig(n.bootstrap, n.cp.URL, n.cp.PKI.CACert, clustertest.KubeUser{Token: tokenID + "." + tokenSecret}); err != nil {
				t.Fatal(err)
			}
		},
		evidence:   "expired",
		registered: true,
	},
	{
		name: "other-node-certificate",
		setup: func(t *testing.T, n *node) {
			n.clientCert(t, "kd-someone-else", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
		},
		// The certificate is another node's: the API server refuses a CSR
		// for this node from that identity. The certificate is the cause
		// (the node check names it too); the refusals are its symptoms.
		evidence: "forbidden",
		want:     []string{certificate},
	},
	{
		name: "runtime-socket-missing",
		setup: func(t *testing.T, n *node) {
			n.joined(t)
			n.runtime = false
		},
		evidence: "containerd.sock",
		want:     []string{runtime, startup},
	},
	{
		// kubeadm's default is the systemd driver; this machine has no
		// systemd as PID 1. The kubelet logs "Starting kubelet main sync
		// loop" and dies on the ContainerManager a moment later: the banner
		// must not count as recovery.
		name: "cgroup-driver-systemd",
		setup: func(t *testing.T, n *node) {
			n.joined(t)
			n.config["cgroupDriver"] = "systemd"
			// The systemd driver names the cgroup root as a slice.
			root := fmt.Sprintf("kdsd%d", os.Getpid())
			n.config["cgroupRoot"] = "/" + root
			n.cgroupRoot = "/" + root + ".slice"
		},
		evidence: "Failed to start ContainerManager",
		want:     []string{config, startup},
	},
	{
		name: "cgroup-v1-refused",
		// The default from 1.35 on; explicit, so that older kubelets refuse too.
		setup:    func(t *testing.T, n *node) { n.config["failCgroupV1"] = true },
		evidence: "cgroup v1",
		want:     []string{config, startup},
	},
	{
		// Another program (here the API server) holds the kubelet's port.
		name: "port-in-use",
		setup: func(t *testing.T, n *node) {
			n.joined(t)
			n.config["port"] = n.cp.Port
		},
		evidence: "address already in use",
		want:     []string{resources, startup},
	},
	{
		name: "resolv-conf-missing",
		// The kubelet reads resolv.conf when it makes a pod's sandbox: a
		// host-network static pod (it needs no CNI; no image is pulled, the
		// sandbox config fails first).
		setup: func(t *testing.T, n *node) {
			n.config["resolvConf"] = filepath.Join(n.dir, "etc/resolv.conf.missing")
			pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dns-probe", "namespace": "kube-system"},
 "spec": {"hostNetwork": true, "containers": [{"name": "probe", "image": "registry.k8s.io/pause:3.10"}]}}`
			if err := os.WriteFile(filepath.Join(n.dir, "etc/kubernetes/manifests/dns-probe.json"), []byte(pod), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		evidence:   "resolv.conf.missing",
		want:       []string{dns},
		registered: true,
	},
}

// nodeRegistered asks the API server whether the Node object exists.
func nodeRegistered(cp *controlPlane, name string) error {
	_, err := cp.Kubectl(context.Background(), "get", "node", name, "-o", "name")
	return err
}
