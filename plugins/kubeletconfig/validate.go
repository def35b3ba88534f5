package kubeletconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"regexp"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// Issue is one thing wrong with the config: Rule is stable, Label goes first
// in the message, Detail says where.
type Issue struct {
	Rule, Label, Detail, Hint string
}

// dns1123Subdomain is the syntax of clusterDomain (a DNS subdomain).
var dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// ValidClusterDomain reports whether d is a usable cluster domain.
func ValidClusterDomain(d string) bool {
	return len(d) <= 253 && dns1123Subdomain.MatchString(d)
}

// Validate checks the fields whose mistakes stop a kubelet or its pods.
// Files are looked at under root.
func Validate(root hostpath.Root, l *Loaded) []Issue {
	c := &l.Config
	var out []Issue
	add := func(rule, label, detail, hint string) {
		out = append(out, Issue{Rule: rule, Label: label, Detail: detail, Hint: hint})
	}
	if d := c.CgroupDriver; d != "" && d != "systemd" && d != "cgroupfs" {
		add("cgroup-driver", "cgroupDriver invalid", fmt.Sprintf("%q, want systemd or cgroupfs", d), "")
	}
	for _, ip := range c.ClusterDNS {
		if net.ParseIP(ip) == nil {
			add("cluster-dns", "clusterDNS not an IP", fmt.Sprintf("%q", ip), "clusterDNS lists the cluster DNS service's IP addresses")
		}
	}
	if d := c.ClusterDomain; d != "" && !ValidClusterDomain(d) {
		add("cluster-domain", "clusterDomain invalid", fmt.Sprintf("%q is not a DNS subdomain", d), "")
	}
	if p := c.StaticPodPath; p != "" {
		if fi, err := os.Stat(HostPath(root, p)); err == nil && !fi.IsDir() {
			add("static-pod-path", "staticPodPath not a directory", p, "staticPodPath names the directory of static pod manifests")
		}
	}
	out = append(out, validateAuth(root, l)...)
	out = append(out, validateTLS(root, l)...)
	if sock, ok := strings.CutPrefix(endpoint(c.ContainerRuntimeEndpoint), "unix://"); ok {
		fi, err := os.Stat(HostPath(root, sock))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			add("runtime-endpoint", "runtime socket missing", sock, "start the container runtime or fix containerRuntimeEndpoint")
		case err == nil && fi.Mode()&fs.ModeSocket == 0:
			add("runtime-endpoint", "runtime endpoint not a socket", sock, "")
		}
	}
	return out
}

// endpoint is the runtime endpoint with the kubelet's default.
func endpoint(e string) string {
	if e == "" {
		return "unix:///run/containerd/containerd.sock"
	}
	return e
}

func validateAuth(root hostpath.Root, l *Loaded) []Issue {
	c := &l.Config
	var out []Issue
	mode := string(c.Authorization.Mode)
	if mode == "" {
		mode = "Webhook"
	}
	if mode != "Webhook" && mode != "AlwaysAllow" {
		out = append(out, Issue{Rule: "authorization-mode", Label: "authorization mode invalid",
			Detail: fmt.Sprintf("%q, want Webhook or AlwaysAllow", mode)})
	}
	anon := c.Authentication.Anonymous.Enabled != nil && *c.Authentication.Anonymous.Enabled
	if anon && mode == "AlwaysAllow" {
		out = append(out, Issue{Rule: "kubelet-api-open", Label: "kubelet API open to anyone",
			Detail: "anonymous authentication with AlwaysAllow authorization",
			Hint:   "set authentication.anonymous.enabled: false and authorization.mode: Webhook"})
	}
	webhook := c.Authentication.Webhook.Enabled == nil || *c.Authentication.Webhook.Enabled
	if mode == "Webhook" && !webhook && c.Authentication.X509.ClientCAFile == "" {
		out = append(out, Issue{Rule: "kubelet-api-no-authn", Label: "kubelet API authenticates nobody",
			Detail: "Webhook authorization without webhook or x509 authentication",
			Hint:   "the API server cannot reach logs and exec: enable authentication.webhook or set x509.clientCAFile"})
	}
	if p := c.Authentication.X509.ClientCAFile; p != "" && missing(root, p) {
		out = append(out, Issue{Rule: "client-ca-file", Label: "clientCAFile missing", Detail: p,
			Hint: "the kubelet exits when it cannot load authentication.x509.clientCAFile"})
	}
	return out
}

func validateTLS(root hostpath.Root, l *Loaded) []Issue {
	c := &l.Config
	var out []Issue
	if !c.RotateCertificates {
		if p := "/var/lib/kubelet/pki/kubelet-client-current.pem"; !missing(root, p) {
			out = append(out, Issue{Rule: "rotate-certificates", Label: "rotateCertificates off",
				Detail: "the client certificate " + p + " will expire unrenewed",
				Hint:   "set rotateCertificates: true"})
		}
	}
	if c.ServerTLSBootstrap {
		if on, set := c.FeatureGates["RotateKubeletServerCertificate"]; set && !on {
			out = append(out, Issue{Rule: "server-tls-bootstrap", Label: "serverTLSBootstrap disabled by gate",
				Detail: "featureGates.RotateKubeletServerCertificate is false"})
		}
		return out
	}
	for _, p := range []string{c.TLSCertFile, c.TLSPrivateKeyFile} {
		if p != "" && missing(root, p) {
			out = append(out, Issue{Rule: "tls-files", Label: "serving certificate file missing", Detail: p,
				Hint: "the kubelet exits when tlsCertFile or tlsPrivateKeyFile cannot be read"})
		}
	}
	return out
}

func missing(root hostpath.Root, p string) bool {
	_, err := os.Stat(HostPath(root, p))
	return errors.Is(err, fs.ErrNotExist)
}
