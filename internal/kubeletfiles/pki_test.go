package kubeletfiles

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// selfSigned makes a certificate for key's public half.
func selfSigned(t *testing.T, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestParsePrivateKeyFormats(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	tests := []struct {
		name string
		typ  string
		der  []byte
		pub  crypto.Signer
	}{
		{"PKCS#1 RSA", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), rsaKey},
		{"SEC 1 EC", "EC PRIVATE KEY", ecDER, ecKey},
		{"PKCS#8 RSA", "PRIVATE KEY", pkcs8(rsaKey), rsaKey},
		{"PKCS#8 ed25519", "PRIVATE KEY", pkcs8(edKey), edKey},
	}
	other := selfSigned(t, ecKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := selfSigned(t, tt.pub)
			// The certificate first, as in kubelet-client-current.pem.
			data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
				pem.EncodeToMemory(&pem.Block{Type: tt.typ, Bytes: tt.der})...)
			k, err := ParsePrivateKey(data)
			if err != nil {
				t.Fatal(err)
			}
			if !k.Matches(cert) {
				t.Error("key does not match its certificate")
			}
			if tt.pub != crypto.Signer(ecKey) && k.Matches(other) {
				t.Error("key matches another key's certificate")
			}
			if s := fmt.Sprintf("%v %+v %#v %s", k, k, k, k); strings.Contains(s, "{") || !strings.Contains(s, "redacted") {
				t.Errorf("key printed: %s", s)
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("garbage"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("nope")})} {
		if _, err := ParsePrivateKey(bad); err == nil {
			t.Errorf("ParsePrivateKey(%q) succeeded", bad)
		}
	}
}

func TestFault(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	write(t, root, map[string]string{"/f": "x"})
	os.Mkdir(root.Path("/dir"), 0o755)
	os.Symlink("/gone", root.Path("/dangling"))
	os.Symlink("/loop", root.Path("/loop"))
	tests := map[string]FileFault{"/f": FaultNone, "/dir": FaultDir, "/dangling": FaultDangling, "/loop": FaultLoop, "/missing": FaultMissing}
	for p, want := range tests {
		_, err := root.ReadFile(p)
		if got := Fault(root, p, err); got != want {
			t.Errorf("Fault(%s, %v) = %q, want %q", p, err, got, want)
		}
	}
	if got := Fault(root, "/f", fs.ErrPermission); got != FaultNone {
		t.Errorf("permission denied is ours, not the kubelet's: %q", got)
	}
}

func TestActiveKubeconfig(t *testing.T) {
	good := "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // path of the active kubeconfig, or the error's text
	}{
		{"kubeconfig first", map[string]string{"/k": good, "/b": good}, "/k"},
		{"bootstrap before joining", map[string]string{"/b": good}, "/b"},
		{"neither", nil, ErrNoKubeconfig.Error()},
		{"broken kubeconfig is not silently replaced", map[string]string{"/k": "[", "/b": good}, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := hostpath.Root(t.TempDir())
			write(t, root, tt.files)
			write(t, root, map[string]string{"/var/lib/kubelet/config.yaml": "{}"})
			n, err := Load(root, Files{Kubeconfig: "/k", BootstrapKubeconfig: "/b"})
			if err != nil {
				t.Fatal(err)
			}
			k, err := n.Active()
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = k.Path
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("Active = %q, want %q", got, tt.want)
			}
			if errors.Is(err, ErrNoKubeconfig) != (tt.want == ErrNoKubeconfig.Error()) {
				t.Errorf("ErrNoKubeconfig: %v", err)
			}
		})
	}
}

func TestLoaderLoadsOncePerRoot(t *testing.T) {
	a, b := hostpath.Root(t.TempDir()), hostpath.Root(t.TempDir())
	var l Loader
	n1, _ := l.Load(a, Files{})
	n2, _ := l.Load(a, Files{})
	if n1 != n2 {
		t.Error("same root and override loaded twice")
	}
	if n3, _ := l.Load(b, Files{}); n3 == n1 || n3.Root != b {
		t.Error("another root reused the first root's node")
	}
	if n4, _ := l.Load(b, Files{Kubeconfig: "/k"}); n4.Files.Kubeconfig != "/k" {
		t.Error("another override reused the node")
	}
	var none *Loader
	if n, err := none.Load(a, Files{}); err != nil || n == nil {
		t.Errorf("nil Loader: %v", err)
	}
}

func TestNodesNameservers(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	write(t, root, map[string]string{"/etc/resolv.conf": "search corp\nnameserver 10.0.0.2\nnameserver fe80::1\nnameserver bogus\noptions ndots:5\n"})
	if got := Nameservers(root); strings.Join(got, ",") != "10.0.0.2,fe80::1" {
		t.Errorf("nameservers = %q", got)
	}
}

func TestLookupHostReadsTheNodesHostsFile(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	write(t, root, map[string]string{"/etc/hosts": "# kubeadm\n10.1.2.3 cp.kubelet-doctor.invalid\n::1 CP.kubelet-doctor.invalid. other # dual\n"})
	got, err := LookupHost(context.Background(), root, "cp.kubelet-doctor.invalid")
	if err != nil || strings.Join(got, ",") != "10.1.2.3,::1" {
		t.Errorf("LookupHost = %q, %v", got, err)
	}
}
