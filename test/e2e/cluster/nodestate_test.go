package cluster_test

import (
	"os"
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
	broken    func(s *suite, t *testing.T) pkitest.KC
}

var nodeStateScenarios = []nodeStateScenario{
	{name: "wrong-ca", condition: "KubeletCATrustProblem", message: regexp.MustCompile(`^x509 unknown authority`),
		broken: func(s *suite, t *testing.T) pkitest.KC {
			other := pkitest.NewCA(t, "another-cluster", time.Time{}, time.Time{})
			return pkitest.KC{Server: s.cp.url, CAData: other.CertPEM, Token: "abcdef.0123456789abcdef"}
		}},
	{name: "expired-serving-certificate", condition: "KubeletCATrustProblem", message: regexp.MustCompile(`^x509 expired: API server certificate`),
		broken: func(s *suite, t *testing.T) pkitest.KC {
			return pkitest.KC{Server: s.cp.url, CAData: s.caPEM(t), TLSServerName: ExpiredName, Token: "abcdef.0123456789abcdef"}
		}},
	{name: "wrong-name", condition: "KubeletCATrustProblem", message: regexp.MustCompile(`^x509 wrong name: ` + regexp.QuoteMeta(WrongNameName)),
		broken: func(s *suite, t *testing.T) pkitest.KC {
			return pkitest.KC{Server: s.cp.url, CAData: s.caPEM(t), TLSServerName: WrongNameName, Token: "abcdef.0123456789abcdef"}
		}},
	{name: "apiserver-refused", condition: "KubeletAPIServerUnreachable", message: regexp.MustCompile(`^connection refused`),
		broken: func(s *suite, t *testing.T) pkitest.KC {
			return pkitest.KC{Server: "https://" + pkitest.Refused(t), CAData: s.caPEM(t), Token: "abcdef.0123456789abcdef"}
		}},
}

// testNodeState: True with the named cause from the files, then False once
// the kubeconfig names the API server as it is (the probes' findings are
// cached for 25s, well inside settle).
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
	kubeconfig := func(kc pkitest.KC) {
		pkitest.Write(t, node.Root, "/etc/kubernetes/kubelet.conf", kc.YAML(), 0o600)
	}
	kubeconfig(sc.broken(s, t))
	s.createNode(t, node.Name)
	npd := startNPD(t, s, node, sc.condition)

	got := s.waitCondition(t, npd, node.Name, sc.condition, "True", settle)
	t.Logf("%s True: %s: %q", sc.condition, got.Reason, got.Message)
	if got.Reason != want.Problem || !sc.message.MatchString(got.Message) {
		t.Errorf("got %s %q, want %s matching %s", got.Reason, got.Message, want.Problem, sc.message)
	}

	kubeconfig(pkitest.KC{Server: s.cp.url, CAData: s.caPEM(t), Token: "abcdef.0123456789abcdef"})
	ok := s.waitCondition(t, npd, node.Name, sc.condition, "False", settle+30*time.Second)
	if ok.Reason != want.Healthy {
		t.Errorf("fixed: %s %q, want %s", ok.Reason, ok.Message, want.Healthy)
	}
}

// caPEM is the cluster CA, for a kubeconfig's certificate-authority-data
// (a file path would have to be under the node's root).
func (s *suite) caPEM(t *testing.T) []byte {
	b, err := os.ReadFile(s.cp.pki.CACert)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
