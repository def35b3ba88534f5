// Package pkitest makes certificate authorities, certificates, keys and TLS
// servers for tests. Nothing here is committed as PEM: every run makes its
// own. ECDSA P-256 throughout, so that a whole set costs milliseconds.
package pkitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var serial atomic.Int64

// Pair is a certificate with its key.
type Pair struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// CombinedPEM is the certificate then the key, as kubelet-client-current.pem.
func (p *Pair) CombinedPEM() []byte { return append(append([]byte{}, p.CertPEM...), p.KeyPEM...) }

// TLS is the pair for a tls.Config.
func (p *Pair) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.Key, Leaf: p.Cert}
}

// Leaf describes a certificate to issue. Zero times mean "valid from an hour
// ago for a day".
type Leaf struct {
	CN                  string
	Orgs                []string
	DNS                 []string
	IPs                 []net.IP
	NotBefore, NotAfter time.Time
	Client, Server      bool
}

// NewCA makes a self-signed CA valid in [notBefore, notAfter] (zero: an hour
// ago to a year on).
func NewCA(t testing.TB, name string, notBefore, notAfter time.Time) *Pair {
	t.Helper()
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = time.Now().Add(365 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	return sign(t, tmpl, nil)
}

// Issue signs a leaf with ca.
func (ca *Pair) Issue(t testing.TB, l Leaf) *Pair {
	t.Helper()
	if l.NotBefore.IsZero() {
		l.NotBefore = time.Now().Add(-time.Hour)
	}
	if l.NotAfter.IsZero() {
		l.NotAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial.Add(1)),
		Subject:   pkix.Name{CommonName: l.CN, Organization: l.Orgs},
		NotBefore: l.NotBefore, NotAfter: l.NotAfter, DNSNames: l.DNS, IPAddresses: l.IPs,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	if l.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	if l.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	return sign(t, tmpl, ca)
}

func sign(t testing.TB, tmpl *x509.Certificate, ca *Pair) *Pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.Cert, ca.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Pair{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

// Write writes data to host path p under root with mode, making directories.
func Write(t testing.TB, root, p string, data []byte, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil { // umask
		t.Fatal(err)
	}
}

// Symlink makes host path p under root a link to target (kept as given).
func Symlink(t testing.TB, root, p, target string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Fatal(err)
	}
}

// ServeTLS runs a real HTTPS server on 127.0.0.1 with pair's certificate
// answering status to every request, and returns its "127.0.0.1:port".
func ServeTLS(t testing.TB, pair *Pair, status int) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }),
		ErrorLog: nil, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// Stall runs a TCP server on 127.0.0.1 that accepts and never answers: a
// TLS handshake with it never finishes.
func Stall(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// Refused returns a 127.0.0.1 address nothing listens on.
func Refused(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// KC describes a one-cluster, one-user kubeconfig; empty fields are left out.
type KC struct {
	Server             string
	CAPath             string
	CAData             []byte
	CertPath, KeyPath  string
	CertData, KeyData  []byte
	Token              string
	InsecureSkipVerify bool
	TLSServerName      string
}

// YAML renders the kubeconfig as kubeadm writes one.
func (k KC) YAML() []byte {
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	s := "apiVersion: v1\nkind: Config\nclusters:\n- name: kubernetes\n  cluster:\n"
	if k.Server != "" {
		s += "    server: " + k.Server + "\n"
	}
	if k.CAPath != "" {
		s += "    certificate-authority: " + k.CAPath + "\n"
	}
	if len(k.CAData) > 0 {
		s += "    certificate-authority-data: " + b64(k.CAData) + "\n"
	}
	if k.InsecureSkipVerify {
		s += "    insecure-skip-tls-verify: true\n"
	}
	if k.TLSServerName != "" {
		s += "    tls-server-name: " + k.TLSServerName + "\n"
	}
	s += "contexts:\n- name: default\n  context: {cluster: kubernetes, user: kubelet}\ncurrent-context: default\n" +
		"users:\n- name: kubelet\n  user:\n"
	for _, kv := range [][2]string{{"client-certificate", k.CertPath}, {"client-key", k.KeyPath}, {"token", k.Token}} {
		if kv[1] != "" {
			s += "    " + kv[0] + ": " + kv[1] + "\n"
		}
	}
	if len(k.CertData) > 0 {
		s += "    client-certificate-data: " + b64(k.CertData) + "\n"
	}
	if len(k.KeyData) > 0 {
		s += "    client-key-data: " + b64(k.KeyData) + "\n"
	}
	if !strings.HasSuffix(s, "  user:\n") {
		return []byte(s)
	}
	return []byte(strings.TrimSuffix(s, "\n") + " {}\n")
}

// StallHTTP runs a TLS server on 127.0.0.1 that completes the handshake and
// then never answers a request.
func StallHTTP(t testing.TB, pair *Pair) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// ServePlain runs a plain-HTTP server on 127.0.0.1: what a TLS client meets
// when a kubeconfig names the wrong port.
func ServePlain(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// Blackhole returns a 127.0.0.1 address whose TCP connects never complete:
// a listening socket with a backlog of zero that never accepts, its queue
// filled, drops every further SYN as a firewall would.
func Blackhole(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	var fill []net.Conn
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break // the queue is full: connects now hang
		}
		fill = append(fill, c)
	}
	t.Cleanup(func() {
		for _, c := range fill {
			c.Close()
		}
		syscall.Close(fd)
	})
	return addr
}

// Loopback is 127.0.0.1, for a certificate's IP SANs.
func Loopback() []net.IP { return []net.IP{net.IPv4(127, 0, 0, 1)} }
