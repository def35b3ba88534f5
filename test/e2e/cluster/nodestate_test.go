package cluster_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

// nodeStateScenario is a node whose kubelet files (not its journal) show
// the failure: its kubeconfig names this suite's real kube-apiserver, which
// serves the certificate the scenario picks through tls-server-name. The
// journal shows a healthy kubelet throughout; the condition must follow the
// files, True while broken and False once fixed.
type nodeStateScenario struct {
	name      string
	condition string
	message   *regexp.Regexp
	// broken writes the failure under the node's root; the fix is always
	// a kubeconfig naming the API server as it is and, where the scenario
	// has one, a valid client certificate.
	broken func(s *suite, t *testing.T, n *testNode)
}

// A bootstrap token of the right form, and one planted that must not show.
const (
	goodToken    = "abcdef.0123456789abcdef"
	plantedToken = "NOT-A-TOKEN.planted-secret-e2e"
)

var nodeStateScenarios = []nodeStateScenario{
	{name: "wrong-ca", condition: "KubeletCATrustProblem", message: regexp.MustCompile(`^x509 unknown authority`),
		broken: func(s *suite, t *testing.T, n *testNode) {
			other := pkitest.NewCA(t, "another-cluster", time.Time{}, time.Time{})
			s.kubeconfig(t, n, pkitest.KC{Server: s.cp.URL, CAData: other.CertPEM, Token: goodToken})
		}},
	{name: "expired-serving-certificate", condition: "KubeletCATrustProblem", message: regexp.MustCompile(`^x509 expired: API server certificate`),
		broken: func(s *suite, t *testing.T, n *testNode) {
			s.kubeconfig(t, n, pkitest.KC{Server: s.cp.URL, CAData: s.caPEM(t), TLSServerName: ExpiredName, Token: goodToken})
		}},
	{name: "wrong-name", condition: "KubeletCATrustProblem", message: regexp.MustCompile(`^x509 wrong name: ` + regexp.QuoteMeta(WrongNameName)),
		broken: func(s *suite, t *testing.T, n *testNode) {
			s.kubeconfig(t, n, pkitest.KC{Server: s.cp.URL, CAData: s.caPEM(t), TLSServerName: WrongNameName, Token: goodToken})
		}},
	{name: "apiserver-refused", condition: "KubeletAPIServerUnreachable", message: regexp.MustCompile(`^connection refused`),
		broken: func(s *suite, t *testing.T, n *testNode) {
			s.kubeconfig(t, n, pkitest.KC{Server: "https://" + pkitest.Refused(t), CAData: s.caPEM(t), Token: goodToken})
		}},
	{name: "client-certificate-expired", condition: "KubeletCertificateProblem", message: regexp.MustCompile(`^client certificate expired`),
		broken: func(s *suite, t *testing.T, n *testNode) {
			s.clientCert(t, n, time.Now().Add(-400*24*time.Hour), time.Now().Add(-time.Hour))
			// With the bootstrap file at hand the kubelet can re-bootstrap:
			// the certificate is the problem, not the bootstrap.
			pkitest.Write(t, n.Root, "/etc/kubernetes/bootstrap-kubelet.conf", pkitest.KC{Server: s.cp.URL, CAData: s.caPEM(t), Token: goodToken}.YAML(), 0o600)
		}},
	{name: "bootstrap-token-malformed", condition: "KubeletBootstrapProblem", message: regexp.MustCompile(`^bootstrap token malformed`),
		broken: func(s *suite, t *testing.T, n *testNode) {
			os.Remove(filepath.Join(n.Root, "/etc/kubernetes/kubelet.conf"))
			pkitest.Write(t, n.Root, "/etc/kubernetes/bootstrap-kubelet.conf", pkitest.KC{Server: s.cp.URL, CAData: s.caPEM(t), Token: plantedToken}.YAML(), 0o600)
		}},
}

// testNodeState: True with the named cause from the files, then False once
// the node is fixed (the probes' findings are cached for 25s, well inside
// the wait). The planted token shows nowhere on the Node.
func (s *suite) testNodeState(t *testing.T, sc nodeStateScenario) {
	want, err := s.configs.expect(sc.condition)
	if err != nil {
		t.Fatal(err)
	}
	node := s.newNode(t, "e2e-ns-"+sc.name)
	tl := newTimeline(node.Name, time.Time{})
	tl.at(time.Now().Add(-9 * time.Minute)).kubeletStarted().registered()
	s.appendJournal(t, node, tl)
	pkitest.Write(t, node.Root, "/etc/hostname", []byte(node.Name+"\n"), 0o644)
	pkitest.Write(t, node.Root, "/var/lib/kubelet/config.yaml", []byte("rotateCertificates: true\n"), 0o644)
	s.fixed(t, node)
	sc.broken(s, t, node)
	s.createNode(t, node.Name)
	npd := startNPD(t, s, node, sc.condition)

	got := s.waitCondition(t, npd, node.Name, sc.condition, "True", settle)
	t.Logf("%s True: %s: %q", sc.condition, got.Reason, got.Message)
	if got.Reason != want.Problem || !sc.message.MatchString(got.Message) {
		t.Errorf("got %s %q, want %s matching %s", got.Reason, got.Message, want.Problem, sc.message)
	}
	out, err := s.cp.Kubectl(t.Context(), "get", "node", node.Name, "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`planted|` + regexp.QuoteMeta(goodToken)).MatchString(out) {
		t.Errorf("a token shows on the Node:\n%s", out)
	}

	s.fixed(t, node)
	ok := s.waitCondition(t, npd, node.Name, sc.condition, "False", settle+30*time.Second)
	if ok.Reason != want.Healthy {
		t.Errorf("fixed: %s %q, want %s", ok.Reason, ok.Message, want.Healthy)
	}
}

// fixed makes the node healthy: a kubeconfig naming the API server as it
// is, with a valid client certificate for the node.
func (s *suite) fixed(t *testing.T, n *testNode) {
	s.clientCert(t, n, time.Now().Add(-time.Hour), time.Now().Add(300*24*time.Hour))
	cur := "/var/lib/kubelet/pki/kubelet-client-current.pem"
	s.kubeconfig(t, n, pkitest.KC{Server: s.cp.URL, CAData: s.caPEM(t), CertPath: cur, KeyPath: cur})
}

func (s *suite) kubeconfig(t *testing.T, n *testNode, kc pkitest.KC) {
	pkitest.Write(t, n.Root, "/etc/kubernetes/kubelet.conf", kc.YAML(), 0o600)
}

// clientCert writes a client certificate for the node, signed by the
// cluster CA, as the kubelet's rotation lays it out.
func (s *suite) clientCert(t *testing.T, n *testNode, notBefore, notAfter time.Time) {
	ca := s.clusterCA(t)
	leaf := ca.Issue(t, pkitest.Leaf{CN: "system:node:" + n.Name, Orgs: []string{"system:nodes"}, Client: true, NotBefore: notBefore, NotAfter: notAfter})
	cur := filepath.Join(n.Root, "/var/lib/kubelet/pki/kubelet-client-current.pem")
	os.Remove(cur)
	pkitest.Write(t, n.Root, "/var/lib/kubelet/pki/kubelet-client-current.pem", leaf.CombinedPEM(), 0o600)
}

// caPEM is the cluster CA, for a kubeconfig's certificate-authority-data
// (a file path would have to be under the node's root).
func (s *suite) caPEM(t *testing.T) []byte {
	b, err := os.ReadFile(s.cp.PKI.CACert)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clusterCA is the cluster CA with its key, to sign node certificates.
func (s *suite) clusterCA(t *testing.T) *pkitest.Pair {
	return s.cp.PKI.CAPair()
}
