package kubeletfiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"sigs.k8s.io/yaml"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// Config is the part of the KubeletConfiguration the certificate checks
// read, after the config file, its --config-dir drop-ins and the flags that
// override them. Paths are host paths, relative ones resolved against the
// config file's directory as the kubelet does.
type Config struct {
	// RotateCertificates is nil when neither the config nor a flag sets it
	// (the v1beta1 default is false).
	RotateCertificates *bool
	ServerTLSBootstrap bool
	TLSCertFile        string
	TLSPrivateKeyFile  string
	ClientCAFile       string
	// Read lists the files the values came from.
	Read []string
}

type rawConfig struct {
	RotateCertificates *bool   `json:"rotateCertificates"`
	ServerTLSBootstrap *bool   `json:"serverTLSBootstrap"`
	TLSCertFile        *string `json:"tlsCertFile"`
	TLSPrivateKeyFile  *string `json:"tlsPrivateKeyFile"`
	Authentication     struct {
		X509 struct {
			ClientCAFile *string `json:"clientCAFile"`
		} `json:"x509"`
	} `json:"authentication"`
}

// LoadConfig reads the kubelet's configuration as f names it. A missing
// config file is not an error here (the kubelet then runs on flags and
// defaults); one that does not parse is ErrMalformedConfig.
func LoadConfig(root hostpath.Root, f Files) (Config, error) {
	var c Config
	if f.Config != "" {
		if err := c.merge(root, f.Config); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return c, err
		}
	}
	if f.ConfigDir != "" {
		real, err := root.Resolve(f.ConfigDir)
		if err != nil {
			return c, err
		}
		ents, err := os.ReadDir(real)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return c, fmt.Errorf("list kubelet config drop-ins %q: %w", f.ConfigDir, err)
		}
		names := []string{}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".conf") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			if err := c.merge(root, path.Join(f.ConfigDir, n)); err != nil {
				return c, err
			}
		}
	}
	c.applyFlags(f.Flags)
	return c, nil
}

// ErrMalformedConfig marks a kubelet config that exists but does not parse.
var ErrMalformedConfig = errors.New("malformed kubelet config")

func (c *Config) merge(root hostpath.Root, p string) error {
	b, err := root.ReadFile(p)
	if err != nil {
		return fmt.Errorf("read kubelet config %q: %w", p, err)
	}
	var r rawConfig
	if err := yaml.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("kubelet config %q: %v: %w", p, err, ErrMalformedConfig)
	}
	dir := path.Dir(p)
	c.Read = append(c.Read, p)
	if r.RotateCertificates != nil {
		c.RotateCertificates = r.RotateCertificates
	}
	if r.ServerTLSBootstrap != nil {
		c.ServerTLSBootstrap = *r.ServerTLSBootstrap
	}
	setPath := func(dst *string, v *string) {
		if v != nil {
			*dst = resolveRel(dir, *v)
		}
	}
	setPath(&c.TLSCertFile, r.TLSCertFile)
	setPath(&c.TLSPrivateKeyFile, r.TLSPrivateKeyFile)
	setPath(&c.ClientCAFile, r.Authentication.X509.ClientCAFile)
	return nil
}

// applyFlags lets the deprecated flags override the file, as the kubelet does.
func (c *Config) applyFlags(flags map[string]string) {
	if v, ok := flags["rotate-certificates"]; ok {
		if b, err := strconv.ParseBool(v); err == nil {
			c.RotateCertificates = &b
		}
	}
	if v, ok := flags["rotate-server-certificates"]; ok {
		if b, err := strconv.ParseBool(v); err == nil {
			c.ServerTLSBootstrap = b
		}
	}
	for flag, dst := range map[string]*string{"tls-cert-file": &c.TLSCertFile,
		"tls-private-key-file": &c.TLSPrivateKeyFile, "client-ca-file": &c.ClientCAFile} {
		if v := flags[flag]; v != "" {
			*dst = v
		}
	}
}

// NodeName is the kubelet's node name as it derives it: --hostname-override,
// else the host's name from ROOT/etc/hostname or ROOT/proc/sys/kernel/hostname,
// lower-cased. "" when none can be read.
func NodeName(root hostpath.Root, f Files) string {
	if v := strings.TrimSpace(f.Flags["hostname-override"]); v != "" {
		return strings.ToLower(v)
	}
	for _, p := range []string{"/etc/hostname", "/proc/sys/kernel/hostname"} {
		if b, err := root.ReadFile(p); err == nil {
			if v := strings.TrimSpace(string(b)); v != "" {
				return strings.ToLower(v)
			}
		}
	}
	return ""
}
