package kubeletfiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// Secret is a credential read from a kubeconfig. It never prints: every
// format and JSON encoding of it says [redacted]; Reveal is the only way to
// its value, for the one place that sends it.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// Cluster is a kubeconfig cluster entry. File paths are host paths, already
// resolved against the kubeconfig's directory.
type Cluster struct {
	Name                     string
	Server                   string
	CertificateAuthority     string
	CertificateAuthorityData []byte
	TLSServerName            string
	InsecureSkipTLSVerify    bool
	ProxyURL                 string
}

// User is a kubeconfig user entry. File paths are host paths, already
// resolved against the kubeconfig's directory.
type User struct {
	Name                  string
	ClientCertificate     string
	ClientCertificateData []byte
	ClientKey             string
	ClientKeyData         Secret
	Token                 Secret
	TokenFile             string
	// Exec is the credential plugin's command, when the user has one (EKS
	// uses aws-iam-authenticator or aws eks get-token).
	Exec string
}

// Kubeconfig is the part of a kubeconfig the kubelet uses: the current
// context's cluster and user.
type Kubeconfig struct {
	Path    string // host path it was read from
	Context string // the context used
	Cluster Cluster
	User    User
}

// raw mirrors the kubeconfig's YAML (clientcmd/api/v1) for the fields read.
type raw struct {
	CurrentContext string `json:"current-context"`
	Clusters       []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthority     string `json:"certificate-authority"`
			CertificateAuthorityData []byte `json:"certificate-authority-data"`
			TLSServerName            string `json:"tls-server-name"`
			InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
			ProxyURL                 string `json:"proxy-url"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string `json:"name"`
		User struct {
			ClientCertificate     string `json:"client-certificate"`
			ClientCertificateData []byte `json:"client-certificate-data"`
			ClientKey             string `json:"client-key"`
			ClientKeyData         []byte `json:"client-key-data"`
			Token                 string `json:"token"`
			TokenFile             string `json:"tokenFile"`
			Exec                  *struct {
				Command string `json:"command"`
			} `json:"exec"`
		} `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster string `json:"cluster"`
			User    string `json:"user"`
		} `json:"context"`
	} `json:"contexts"`
}

// ErrMalformed marks a kubeconfig that exists but cannot be used: the
// kubelet fails on it too, so it is the kubelet's problem, not ours.
var ErrMalformed = errors.New("malformed kubeconfig")

// LoadKubeconfig reads the kubeconfig at host path p and returns its current
// context's cluster and user. A file that cannot be read is returned as is
// (fs.ErrNotExist for a missing one); a file that is not a usable
// kubeconfig is ErrMalformed. Errors never quote the file's content.
func LoadKubeconfig(root hostpath.Root, p string) (*Kubeconfig, error) {
	b, err := root.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig %q: %w", p, err)
	}
	return ParseKubeconfig(b, p)
}

// ParseKubeconfig parses kubeconfig bytes read from host path p.
func ParseKubeconfig(b []byte, p string) (*Kubeconfig, error) {
	var r raw
	if err := yaml.Unmarshal(b, &r); err != nil {
		// The YAML error can quote the input, which holds secrets: name
		// the file only.
		return nil, fmt.Errorf("kubeconfig %q is not valid YAML: %w", p, ErrMalformed)
	}
	ctxName, clusterName, userName, err := pickContext(&r)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %q: %s: %w", p, err.Error(), ErrMalformed)
	}
	dir := path.Dir(p)
	k := &Kubeconfig{Path: p, Context: ctxName}
	found := false
	for _, c := range r.Clusters {
		if c.Name == clusterName {
			found = true
			k.Cluster = Cluster{Name: c.Name, Server: c.Cluster.Server,
				CertificateAuthority:     resolveRel(dir, c.Cluster.CertificateAuthority),
				CertificateAuthorityData: c.Cluster.CertificateAuthorityData,
				TLSServerName:            c.Cluster.TLSServerName, InsecureSkipTLSVerify: c.Cluster.InsecureSkipTLSVerify,
				ProxyURL: c.Cluster.ProxyURL}
		}
	}
	if !found {
		return nil, fmt.Errorf("kubeconfig %q: context %q names cluster %q, which it lacks: %w", p, ctxName, clusterName, ErrMalformed)
	}
	for _, u := range r.Users {
		if u.Name == userName {
			k.User = User{Name: u.Name, ClientCertificate: resolveRel(dir, u.User.ClientCertificate),
				ClientCertificateData: u.User.ClientCertificateData, ClientKey: resolveRel(dir, u.User.ClientKey),
				ClientKeyData: Secret(u.User.ClientKeyData), Token: Secret(u.User.Token),
				TokenFile: resolveRel(dir, u.User.TokenFile)}
			if u.User.Exec != nil {
				k.User.Exec = u.User.Exec.Command
			}
		}
	}
	return k, nil
}

// pickContext chooses the context the kubelet uses: current-context, else
// the only context, else the only cluster and user.
func pickContext(r *raw) (ctx, cluster, user string, err error) {
	if r.CurrentContext == "" && len(r.Contexts) == 1 {
		r.CurrentContext = r.Contexts[0].Name
	}
	if r.CurrentContext != "" {
		for _, c := range r.Contexts {
			if c.Name == r.CurrentContext {
				return c.Name, c.Context.Cluster, c.Context.User, nil
			}
		}
		return "", "", "", fmt.Errorf("current-context %q is not among its contexts", r.CurrentContext)
	}
	if len(r.Clusters) == 1 && len(r.Users) <= 1 {
		u := ""
		if len(r.Users) == 1 {
			u = r.Users[0].Name
		}
		return "", r.Clusters[0].Name, u, nil
	}
	if len(r.Clusters) == 0 {
		return "", "", "", errors.New("no cluster")
	}
	names := make([]string, 0, len(r.Contexts))
	for _, c := range r.Contexts {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return "", "", "", fmt.Errorf("no current-context among %d contexts", len(names))
}

// resolveRel resolves a kubeconfig's relative file reference against the
// kubeconfig's directory, as client-go does.
func resolveRel(dir, p string) string {
	if p == "" || strings.HasPrefix(p, "/") {
		return p
	}
	return path.Join(dir, p)
}

// ServerHost returns the host and port of the cluster's server URL, the
// port defaulted to 443.
func (c Cluster) ServerHost() (host, port string, err error) {
	u, err := url.Parse(c.Server)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("server %q is not a URL", c.Server)
	}
	if u.Scheme != "https" {
		return "", "", fmt.Errorf("server %q is not https", c.Server)
	}
	port = u.Port()
	if port == "" {
		port = "443"
	}
	return u.Hostname(), port, nil
}

// Format implements fmt.Formatter: every verb prints [redacted].
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }
