package clustertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

// PKI holds the files of a test cluster's certificate authority. ECDSA
// P-256 everywhere: the whole set is made in milliseconds, where RSA-2048
// key generation costs seconds on a loaded 2-core machine, and both
// kube-apiserver and etcd accept it (including ES256 service-account tokens).
type PKI struct {
	Dir string

	CACert string // PEM of the cluster CA
	CAKey  string

	ServingCert, ServingKey string // kube-apiserver, SANs 127.0.0.1/localhost and PKIOptions.ServingIPs
	AdminCert, AdminKey     string // CN=kubernetes-admin, O=system:masters
	SAKey, SAPub            string // service-account token signing pair

	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

// PKIOptions is what differs between the suites' clusters.
type PKIOptions struct {
	// CAValidity is how long the CA lives from now; zero means a day, long
	// enough for any run and short enough that a leaked test key is
	// worthless. A suite whose healthy nodes are judged on the CA's expiry
	// wants years: a CA expiring within a month is a KubeletCATrustProblem.
	CAValidity time.Duration
	// ServingIPs are addresses the apiserver's serving certificate names
	// besides 127.0.0.1 and the in-cluster Service IP 10.0.0.1.
	ServingIPs []string
}

// NewPKI writes a fresh CA and the certificates the control plane needs
// into dir; leaf certificates are valid from an hour ago for a day.
func NewPKI(dir string, opts PKIOptions) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	p := &PKI{Dir: dir}
	if err := p.newCA(opts.CAValidity); err != nil {
		return nil, err
	}
	// 10.0.0.1 is the first address of --service-cluster-ip-range, the
	// in-cluster "kubernetes" Service IP.
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}
	for _, ip := range opts.ServingIPs {
		parsed := net.ParseIP(ip)
		if parsed == nil {
			return nil, fmt.Errorf("serving IP %q is not an IP address", ip)
		}
		ips = append(ips, parsed)
	}
	serving := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: ips,
	}
	var err error
	if p.ServingCert, p.ServingKey, err = p.Issue("apiserver", serving); err != nil {
		return nil, err
	}
	admin := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if p.AdminCert, p.AdminKey, err = p.Issue("admin", admin); err != nil {
		return nil, err
	}
	if err := p.newServiceAccountKey(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) newCA(validity time.Duration) error {
	if validity == 0 {
		validity = 24 * time.Hour
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate ca key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "kubelet-doctor-e2e-ca"},
		NotBefore:             now.Add(-time.Hour), // tolerate clock skew between processes
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("self-sign ca: %w", err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		return fmt.Errorf("parse ca: %w", err)
	}
	p.caKey = caKey
	p.CACert, p.CAKey, err = p.write("ca", der, caKey)
	return err
}

func (p *PKI) newServiceAccountKey() error {
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate service-account key: %w", err)
	}
	if p.SAKey, err = writeKey(filepath.Join(p.Dir, "sa.key"), saKey); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return fmt.Errorf("marshal service-account public key: %w", err)
	}
	p.SAPub = filepath.Join(p.Dir, "sa.pub")
	return writePEM(p.SAPub, "PUBLIC KEY", pub, 0o644)
}

// CAPair is the CA certificate with its key, for issuing with pkitest.
func (p *PKI) CAPair() *pkitest.Pair { return &pkitest.Pair{Cert: p.ca, Key: p.caKey} }

// Issue signs tmpl (subject, usages and SANs filled in by the caller; dates
// too, or else valid from an hour ago for a day) with the CA and writes
// NAME.crt and NAME.key into the PKI's directory.
func (p *PKI) Issue(name string, tmpl *x509.Certificate) (certFile, keyFile string, err error) {
	der, key, err := p.sign(name, tmpl)
	if err != nil {
		return "", "", err
	}
	return p.write(name, der, key)
}

// KubeletClient writes the kubelet's client certificate for node (the
// identity system:node:NODE in group system:nodes, as the kube-apiserver-
// client-kubelet signer issues it), certificate and key in one PEM file as
// the kubelet's certificate store keeps kubelet-client-current.pem.
func (p *PKI) KubeletClient(path, node string, notBefore, notAfter time.Time) error {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
	}
	der, key, err := p.sign("kubelet client", tmpl)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal kubelet key: %w", err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	return os.WriteFile(path, data, 0o600)
}

// sign makes a key and a certificate for it from tmpl, signed by the CA.
func (p *PKI) sign(name string, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", name, err)
	}
	tmpl.SerialNumber = serial()
	if tmpl.NotAfter.IsZero() {
		now := time.Now()
		tmpl.NotBefore = now.Add(-time.Hour)
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign %s certificate: %w", name, err)
	}
	return der, key, nil
}

func (p *PKI) write(name string, der []byte, key *ecdsa.PrivateKey) (certFile, keyFile string, err error) {
	certFile = filepath.Join(p.Dir, name+".crt")
	if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
		return "", "", err
	}
	keyFile, err = writeKey(filepath.Join(p.Dir, name+".key"), key)
	return certFile, keyFile, err
}

func writeKey(path string, key *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("marshal key %s: %w", path, err)
	}
	return path, writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// serial returns a random 128-bit serial number: unique per certificate as
// RFC 5280 asks, without a counter shared between helpers.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		// crypto/rand does not fail on Linux; a fixed serial still works for a test CA.
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
