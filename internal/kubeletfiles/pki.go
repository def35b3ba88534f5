package kubeletfiles

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// Errors of PEM content; none of them quotes the content.
var (
	ErrNoCertificate = errors.New("no PEM certificate")
	ErrNoKey         = errors.New("no PEM private key")
)

// PrivateKey holds a parsed private key. It never prints: every format of it
// says [redacted].
type PrivateKey struct{ key crypto.PrivateKey }

func (PrivateKey) String() string               { return redacted }
func (PrivateKey) GoString() string             { return redacted }
func (PrivateKey) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (PrivateKey) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (k PrivateKey) Valid() bool                { return k.key != nil }
func (k PrivateKey) public() (crypto.PublicKey, bool) {
	s, ok := k.key.(crypto.Signer)
	if !ok {
		return nil, false
	}
	return s.Public(), true
}

// Matches says whether cert's public key is the key's.
func (k PrivateKey) Matches(cert *x509.Certificate) bool {
	pub, ok := k.public()
	if !ok {
		return false
	}
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(cert.PublicKey)
}

// ParseCertificates returns the CERTIFICATE blocks of PEM data, in order.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrNoCertificate
	}
	return out, nil
}

// ParsePrivateKey returns the first private key of PEM data (PKCS#1, PKCS#8
// or SEC 1), as the kubelet's combined kubelet-client-current.pem holds it.
func ParsePrivateKey(b []byte) (PrivateKey, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return PrivateKey{}, ErrNoKey
		}
		var k crypto.PrivateKey
		var err error
		switch blk.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			// The parser's error says what is wrong with the structure,
			// never the key's bytes.
			return PrivateKey{}, fmt.Errorf("parse %s: %w", blk.Type, err)
		}
		switch k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return PrivateKey{key: k}, nil
		}
		return PrivateKey{}, fmt.Errorf("unsupported private key type %T", k)
	}
}

// FileFault says how a file the kubelet needs is broken, when it is the
// kubelet's problem (it cannot read it either), as opposed to ours.
type FileFault string

// The faults.
const (
	FaultNone     FileFault = ""
	FaultMissing  FileFault = "missing"
	FaultDangling FileFault = "symlink to a missing file"
	FaultDir      FileFault = "a directory"
	FaultLoop     FileFault = "a symlink loop"
)

// Fault classifies a read error of host path p: the kubelet's problem (a
// missing file, a dangling link, a directory, a loop) or FaultNone for an
// error that says nothing about the file (ours: permission, I/O).
func Fault(root hostpath.Root, p string, err error) FileFault {
	switch {
	case err == nil:
		return FaultNone
	case errors.Is(err, hostpath.ErrSymlinkLoop), errors.Is(err, syscall.ELOOP):
		return FaultLoop
	case errors.Is(err, syscall.EISDIR):
		return FaultDir
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		if fi, lerr := lstat(root, p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return FaultDangling
		}
		return FaultMissing
	}
	return FaultNone
}

// lstat is os.Lstat of host path p: its directory's symlinks resolved inside
// the root, its last component not followed.
func lstat(root hostpath.Root, p string) (fs.FileInfo, error) {
	dir, err := root.Resolve(path.Dir(p))
	if err != nil {
		return nil, err
	}
	return os.Lstat(filepath.Join(dir, path.Base(p)))
}
