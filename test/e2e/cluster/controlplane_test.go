package cluster_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// startControlPlane brings up the shared real etcd + kube-apiserver on
// loopback (test/clustertest), with the certificates the CA trust scenarios
// meet served for their own names.
func startControlPlane(t *testing.T, kapi string) *clustertest.ControlPlane {
	t.Helper()
	base := t.TempDir()
	p, err := clustertest.NewPKI(filepath.Join(base, "pki"), clustertest.PKIOptions{
		// A cluster CA lives for years: one expiring within a month is
		// itself a KubeletCATrustProblem, which the node-state scenarios
		// would report on every healthy node.
		CAValidity: 2 * 365 * 24 * time.Hour,
	})
	if err != nil {
		t.Fatalf("make certificates: %v", err)
	}
	sni, err := sniCertificates(p)
	if err != nil {
		t.Fatalf("make certificates: %v", err)
	}
	return clustertest.StartControlPlane(t, clustertest.Config{Kapi: kapi, Dir: base, PKI: p, APIServerArgs: sni})
}

// The SNI names kube-apiserver serves the expired and the wrong-name
// certificates for.
const (
	ExpiredName   = "expired.e2e.test"
	WrongNameName = "wrongname.e2e.test"
)

// sniCertificates issues a certificate for ExpiredName that expired a day
// ago and one for other.e2e.test, and returns the kube-apiserver flags that
// serve them for ExpiredName and WrongNameName: a kubeconfig's
// tls-server-name selects them, so the CA trust scenarios meet an expired
// and a wrong-name certificate for real.
func sniCertificates(p *clustertest.PKI) ([]string, error) {
	now := time.Now()
	certs := []struct {
		file, sniName string
		tmpl          *x509.Certificate
	}{
		{"apiserver-expired", ExpiredName, &x509.Certificate{Subject: pkix.Name{CommonName: "kube-apiserver"}, DNSNames: []string{ExpiredName},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}},
		{"apiserver-wrong-name", WrongNameName, &x509.Certificate{Subject: pkix.Name{CommonName: "kube-apiserver"}, DNSNames: []string{"other.e2e.test"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}},
	}
	var flags []string
	for _, c := range certs {
		cert, key, err := p.Issue(c.file, c.tmpl)
		if err != nil {
			return nil, err
		}
		flags = append(flags, "--tls-sni-cert-key", fmt.Sprintf("%s,%s:%s", cert, key, c.sniName))
	}
	return flags, nil
}
