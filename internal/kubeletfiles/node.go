package kubeletfiles

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// Node is what the node-state checks read about the kubelet: its files, its
// config and kubeconfigs, each with the error that kept it from being read.
type Node struct {
	Root  hostpath.Root
	Files Files

	Config    Config
	ConfigErr error

	// Kubeconfig is nil with KubeconfigErr set when it cannot be read
	// (fs.ErrNotExist: not there; ErrMalformed: not usable).
	Kubeconfig    *Kubeconfig
	KubeconfigErr error
	Bootstrap     *Kubeconfig
	BootstrapErr  error

	// NodeName is the kubelet's node name; "" when it cannot be told.
	NodeName string
}

// Load discovers the kubelet's files and reads what they say. It fails only
// when the files cannot be found; each file's own failure is kept beside it.
func Load(root hostpath.Root, override Files) (*Node, error) { return load(root, override, nil) }

func load(root hostpath.Root, override Files, pc ProcessCache) (*Node, error) {
	f, err := discover(root, pc)
	if err != nil {
		return nil, err
	}
	f = f.With(override)
	n := &Node{Root: root, Files: f, NodeName: NodeName(root, f)}
	n.Config, n.ConfigErr = LoadConfig(root, f)
	if f.Kubeconfig != "" {
		n.Kubeconfig, n.KubeconfigErr = LoadKubeconfig(root, f.Kubeconfig)
	}
	if f.BootstrapKubeconfig != "" {
		n.Bootstrap, n.BootstrapErr = LoadKubeconfig(root, f.BootstrapKubeconfig)
	}
	return n, nil
}

// With returns f with every non-empty path of o in place of f's: the
// command line's overrides.
func (f Files) With(o Files) Files {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&f.Config, o.Config)
	set(&f.Kubeconfig, o.Kubeconfig)
	set(&f.BootstrapKubeconfig, o.BootstrapKubeconfig)
	set(&f.CertDir, o.CertDir)
	set(&f.RootDir, o.RootDir)
	set(&f.ConfigDir, o.ConfigDir)
	if o.Config != "" || o.Kubeconfig != "" || o.BootstrapKubeconfig != "" || o.CertDir != "" || o.ConfigDir != "" {
		f.From += ", overridden by flags"
	}
	return f
}

// CertSource is where a certificate (and its key) comes from.
type CertSource struct {
	// CertPath and KeyPath are host paths; "" when the data is embedded.
	CertPath, KeyPath string
	CertData          []byte
	KeyData           Secret
	// What names it for a message: a path, or "client-certificate-data in
	// /etc/kubernetes/kubelet.conf".
	What string
}

// ClientCertSource is the kubelet's client certificate: the kubeconfig's
// client-certificate(-data) and client-key(-data), else the rotated
// certificate in the cert dir. ok is false when the kubeconfig's user
// authenticates otherwise (a token, an exec plugin as on EKS).
func (n *Node) ClientCertSource() (src CertSource, ok bool) {
	current := path.Join(n.Files.CertDir, "kubelet-client-current.pem")
	k := n.Kubeconfig
	if k == nil {
		return CertSource{CertPath: current, KeyPath: current, What: current}, true
	}
	u := k.User
	switch {
	case len(u.ClientCertificateData) > 0:
		src = CertSource{CertData: u.ClientCertificateData, What: "client-certificate-data in " + k.Path}
	case u.ClientCertificate != "":
		src = CertSource{CertPath: u.ClientCertificate, What: u.ClientCertificate}
	case u.Token != "" || u.TokenFile != "" || u.Exec != "":
		return CertSource{}, false
	default:
		src = CertSource{CertPath: current, What: current}
	}
	switch {
	case u.ClientKeyData != "":
		src.KeyData = u.ClientKeyData
	case u.ClientKey != "":
		src.KeyPath = u.ClientKey
	default:
		src.KeyPath = src.CertPath
	}
	return src, true
}

// ReadCerts reads the source's certificates; the error is the read's or
// the parse's.
func (s CertSource) ReadCerts(root hostpath.Root) ([]*x509.Certificate, error) {
	b := s.CertData
	if s.CertPath != "" {
		var err error
		if b, err = root.ReadFile(s.CertPath); err != nil {
			return nil, fmt.Errorf("read certificate %q: %w", s.CertPath, err)
		}
	}
	cs, err := ParseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.What, err)
	}
	return cs, nil
}

// ReadKey reads the source's private key.
func (s CertSource) ReadKey(root hostpath.Root) (PrivateKey, error) {
	b := []byte(s.KeyData.Reveal())
	what := "client-key-data"
	if s.KeyPath != "" {
		var err error
		if b, err = root.ReadFile(s.KeyPath); err != nil {
			return PrivateKey{}, fmt.Errorf("read private key %q: %w", s.KeyPath, err)
		}
		what = s.KeyPath
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("%s: %w", what, err)
	}
	return k, nil
}

// CA returns the cluster's CA certificates from certificate-authority-data
// or certificate-authority; none (nil, nil) when the kubeconfig names no CA.
func (k *Kubeconfig) CA(root hostpath.Root) ([]*x509.Certificate, string, error) {
	c := k.Cluster
	switch {
	case len(c.CertificateAuthorityData) > 0:
		what := "certificate-authority-data in " + k.Path
		cs, err := ParseCertificates(c.CertificateAuthorityData)
		if err != nil {
			return nil, what, fmt.Errorf("%s: %w", what, err)
		}
		return cs, what, nil
	case c.CertificateAuthority != "":
		src := CertSource{CertPath: c.CertificateAuthority, What: c.CertificateAuthority}
		cs, err := src.ReadCerts(root)
		return cs, c.CertificateAuthority, err
	}
	return nil, "", nil
}

// ErrNoKubeconfig is returned by Active on a node with neither kubeconfig:
// it has not bootstrapped, and nothing names the API server yet.
var ErrNoKubeconfig = errors.New("no kubeconfig yet")

// Active is the kubeconfig the kubelet talks to the API server with: its
// kubeconfig, else (before bootstrap) the bootstrap kubeconfig. The error is
// ErrNoKubeconfig when neither exists, else the first one's failure.
func (n *Node) Active() (*Kubeconfig, error) {
	if n.Kubeconfig != nil {
		return n.Kubeconfig, nil
	}
	if n.Bootstrap != nil && (n.KubeconfigErr == nil || errors.Is(n.KubeconfigErr, fs.ErrNotExist)) {
		return n.Bootstrap, nil
	}
	missing := func(err error) bool { return err == nil || errors.Is(err, fs.ErrNotExist) }
	if missing(n.KubeconfigErr) && missing(n.BootstrapErr) {
		return nil, ErrNoKubeconfig
	}
	if !missing(n.KubeconfigErr) {
		return nil, n.KubeconfigErr
	}
	return nil, n.BootstrapErr
}

// Loader loads the node once for all the checks of one invocation: they run
// one after another within a few seconds, and the kubelet's files need not
// be found and parsed once per check. A nil Loader loads every time.
// Checks share the Node it returns and must not change it.
type Loader struct {
	// Processes, when set, remembers the kubelet's pid between invocations.
	Processes ProcessCache

	mu   sync.Mutex
	key  string
	done bool
	node *Node
	err  error
}

// Load is the package's Load, remembered for the same root and override.
func (l *Loader) Load(root hostpath.Root, override Files) (*Node, error) {
	if l == nil {
		return Load(root, override)
	}
	key := strings.Join([]string{string(root), override.Config, override.Kubeconfig, override.BootstrapKubeconfig,
		override.CertDir, override.RootDir, override.ConfigDir}, "\x00")
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done || l.key != key {
		l.node, l.err = load(root, override, l.Processes)
		l.key, l.done = key, true
	}
	return l.node, l.err
}
