package clustertest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The helpers below run without any Kubernetes binary: a broken certificate
// or process helper shows up in a plain `go test`, not only in the slow
// suites that use it.

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestPKIServingAndAdminCertificatesChainToTheCA(t *testing.T) {
	p, err := NewPKI(t.TempDir(), PKIOptions{ServingIPs: []string{"192.0.2.10"}})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, p.CACert))
	serving := readCert(t, p.ServingCert)
	for _, host := range []string{"127.0.0.1", "10.0.0.1", "192.0.2.10", "localhost", "kubernetes.default.svc"} {
		if _, err := serving.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("serving certificate for %s: %v", host, err)
		}
	}
	admin := readCert(t, p.AdminCert)
	if _, err := admin.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin certificate: %v", err)
	}
	if admin.Subject.CommonName != "kubernetes-admin" || len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin subject = %v", admin.Subject)
	}
	if _, err := tls.LoadX509KeyPair(p.ServingCert, p.ServingKey); err != nil {
		t.Errorf("serving pair: %v", err)
	}
	for _, f := range []string{p.SAKey, p.SAPub} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("service-account key: %v", err)
		}
	}
}

func TestPKIRejectsAServingIPThatIsNotOne(t *testing.T) {
	if _, err := NewPKI(t.TempDir(), PKIOptions{ServingIPs: []string{"node-1"}}); err == nil || !strings.Contains(err.Error(), "node-1") {
		t.Errorf("err = %v, want one naming node-1", err)
	}
}

func TestPKICAValidity(t *testing.T) {
	tests := []struct {
		name     string
		validity time.Duration
		want     time.Duration
	}{
		{name: "a day by default", want: 24 * time.Hour},
		{name: "as asked", validity: 2 * 365 * 24 * time.Hour, want: 2 * 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPKI(t.TempDir(), PKIOptions{CAValidity: tt.validity})
			if err != nil {
				t.Fatal(err)
			}
			left := time.Until(readCert(t, p.CACert).NotAfter)
			if left > tt.want || left < tt.want-time.Minute {
				t.Errorf("CA expires in %v, want %v", left, tt.want)
			}
		})
	}
}

func TestIssueKeepsTheDatesItIsGiven(t *testing.T) {
	p, err := NewPKI(t.TempDir(), PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expired := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	cert, _, err := p.Issue("old", &x509.Certificate{DNSNames: []string{"old.test"}, NotBefore: expired.Add(-time.Hour), NotAfter: expired})
	if err != nil {
		t.Fatal(err)
	}
	if got := readCert(t, cert).NotAfter; !got.Equal(expired) {
		t.Errorf("NotAfter = %v, want %v", got, expired)
	}
}

func TestKubeletClientIsTheNodeIdentityInOneFile(t *testing.T) {
	p, err := NewPKI(t.TempDir(), PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pki", "kubelet-client-current.pem")
	if err := p.KubeletClient(path, "node-a", time.Now().Add(-time.Hour), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(path, path)
	if err != nil {
		t.Fatalf("certificate and key in one file: %v", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "system:node:node-a" || len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] != "system:nodes" {
		t.Errorf("subject = %v", cert.Subject)
	}
	if err := cert.CheckSignatureFrom(p.CAPair().Cert); err != nil {
		t.Errorf("not signed by the CA: %v", err)
	}
}

func TestWriteKubeconfigNamesServerCAAndUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "kubelet.conf")
	if err := WriteKubeconfig(path, "https://192.0.2.10:6443", "/ca.crt", KubeUser{Token: "a.b"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kc struct {
		Current  string `json:"current-context"`
		Clusters []struct {
			Cluster struct {
				Server string `json:"server"`
				CA     string `json:"certificate-authority"`
			} `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			User KubeUser `json:"user"`
		} `json:"users"`
	}
	if err := json.Unmarshal(data, &kc); err != nil {
		t.Fatal(err)
	}
	if kc.Current == "" || len(kc.Clusters) != 1 || kc.Clusters[0].Cluster.Server != "https://192.0.2.10:6443" ||
		kc.Clusters[0].Cluster.CA != "/ca.crt" || len(kc.Users) != 1 || kc.Users[0].User.Token != "a.b" {
		t.Errorf("kubeconfig = %s", data)
	}
}

func TestStartProcStopStopsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	// The child sleep is what a plain kill of the shell would leave behind.
	p, err := StartProc(t, dir, "sh", 5, []string{"KD_MARK=x"}, "sh", "-c", `echo "mark=$KD_MARK"; sleep 300 & echo child=$!; wait`)
	if err != nil {
		t.Fatal(err)
	}
	var child string
	if err := Poll(10*time.Second, 20*time.Millisecond, func() error {
		out := Tail(p.Log, 5)
		if i := strings.Index(out, "child="); i >= 0 {
			child = strings.TrimSpace(out[i+len("child="):])
			return nil
		}
		return errors.New("no child yet: " + out)
	}); err != nil {
		t.Fatal(err)
	}
	if done, _ := p.Exited(); done {
		t.Fatal("exited before Stop")
	}
	if !strings.Contains(Tail(p.Log, 5), "mark=x") {
		t.Errorf("env not passed: %s", Tail(p.Log, 5))
	}
	p.Stop()
	if done, _ := p.Exited(); !done {
		t.Error("not exited after Stop")
	}
	if err := Poll(5*time.Second, 20*time.Millisecond, func() error {
		if _, err := os.Stat("/proc/" + child); err == nil {
			return errors.New("child " + child + " still running")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

func TestStartProcWithoutCommand(t *testing.T) {
	if _, err := StartProc(t, t.TempDir(), "none", 5, nil); err == nil {
		t.Error("no error for an empty argv")
	}
}

func TestPollReturnsTheLastError(t *testing.T) {
	calls := 0
	err := Poll(30*time.Millisecond, 5*time.Millisecond, func() error {
		calls++
		return errors.New("still missing")
	})
	if err == nil || !strings.Contains(err.Error(), "still missing") || calls < 2 {
		t.Errorf("err = %v after %d calls", err, calls)
	}
	if err := Poll(time.Second, time.Millisecond, func() error { return nil }); err != nil {
		t.Errorf("err = %v for a condition met at once", err)
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{1: "c", 2: "b\nc", 5: "a\nb\nc"} {
		if got := Tail(path, n); got != want {
			t.Errorf("Tail(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Tail(filepath.Join(t.TempDir(), "none"), 3); !strings.Contains(got, "cannot read") {
		t.Errorf("missing file: %q", got)
	}
}

func TestFreePortIsBindable(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d: %v", port, err)
	}
	l.Close()
}
