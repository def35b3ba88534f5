// Package bootstrap checks that the kubelet can join the cluster: it has a
// kubeconfig that works, or a bootstrap kubeconfig it can get one with.
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
)

// CheckName names the check in outputs and the state.
const CheckName = "bootstrap"

// tokenRE is a bootstrap token's form (kubeadm's bootstraputil).
var tokenRE = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// Check reads the kubelet's kubeconfig and bootstrap kubeconfig.
type Check struct {
	Files kubeletfiles.Files
	// Loader shares one load of the kubelet's files among the checks of
	// an invocation (nil: load for this check alone).
	Loader *kubeletfiles.Loader
}

var (
	_ doctor.Check   = (*Check)(nil)
	_ doctor.Sourced = (*Check)(nil)
)

// Name implements doctor.Check.
func (c *Check) Name() string { return CheckName }

// Conditions implements doctor.Check.
func (c *Check) Conditions() []string { return []string{condition.TypeBootstrap} }

// Source implements doctor.Sourced.
func (c *Check) Source() doctor.Source { return doctor.SourceNodeState }

// Run implements doctor.Check. The kubelet uses its kubeconfig while that
// holds a valid credential and falls back to the bootstrap kubeconfig
// otherwise; so the bootstrap kubeconfig is judged only when it would be
// used (a leftover one with a long-expired token is harmless).
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	n, err := c.Loader.Load(env.Root, c.Files)
	if err != nil || !n.Files.Found {
		return nil, err
	}
	r := &run{n: n, now: env.Now}
	kFault := r.kubeconfigFault()
	bPresent := n.Bootstrap != nil || n.BootstrapErr != nil && !errors.Is(n.BootstrapErr, fs.ErrNotExist)
	var f doctor.Finding
	switch {
	case kFault == "":
		f = r.ok(n.Files.Kubeconfig + " holds a valid credential")
	case !bPresent && r.kubeconfigMissing():
		f = r.problem("KubeletNoKubeconfig", "no kubeconfig and no bootstrap kubeconfig",
			fmt.Sprintf("%s missing and %s: the node cannot join", n.Files.Kubeconfig, r.bootstrapName()), "no-kubeconfig",
			"join the node (kubeadm join) or put the bootstrap kubeconfig in place")
	case !bPresent:
		f = r.problem("KubeletCannotRebootstrap", kFault+", no bootstrap file",
			fmt.Sprintf("%s: %s, and %s: the kubelet cannot get a new credential", n.Files.Kubeconfig, kFault, r.bootstrapName()), "cannot-rebootstrap",
			"renew the kubelet's credential (kubeadm: kubeadm kubeconfig user --client-name system:node:NAME, or re-join)")
	default:
		f = r.bootstrapKubeconfig()
		if f.Status == doctor.OK && !r.kubeconfigMissing() {
			f.Detail = fmt.Sprintf("%s: %s; %s", n.Files.Kubeconfig, kFault, f.Detail)
		}
	}
	f.Evidence = append(f.Evidence, doctor.Evidence{At: env.Now, Text: "kubelet files from " + n.Files.From})
	return []doctor.Finding{f}, nil
}

type run struct {
	n   *kubeletfiles.Node
	now time.Time
}

func (r *run) ok(detail string) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeBootstrap, Status: doctor.OK, Detail: detail,
		Source: doctor.SourceNodeState, Check: CheckName}
}

func (r *run) problem(reason, label, detail, rule, hint string) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeBootstrap, Status: doctor.Problem, Reason: reason, Label: label,
		Detail: detail, Hint: hint, Rule: rule, Source: doctor.SourceNodeState, Check: CheckName}
}

func (r *run) kubeconfigMissing() bool {
	return r.n.Kubeconfig == nil && (r.n.KubeconfigErr == nil || errors.Is(r.n.KubeconfigErr, fs.ErrNotExist))
}

func (r *run) bootstrapName() string {
	if r.n.Files.BootstrapKubeconfig == "" {
		return "the kubelet names no bootstrap kubeconfig"
	}
	return r.n.Files.BootstrapKubeconfig + " missing"
}

// kubeconfigFault says why the kubelet cannot use its kubeconfig, "" when
// it can: missing, malformed, or its client certificate missing or expired
// (the kubelet then falls back to bootstrap, as its isClientConfigStillValid).
func (r *run) kubeconfigFault() string {
	n := r.n
	switch {
	case r.kubeconfigMissing():
		return "kubeconfig missing"
	case n.Kubeconfig == nil:
		if errors.Is(n.KubeconfigErr, kubeletfiles.ErrMalformed) {
			return "kubeconfig malformed"
		}
		return "kubeconfig unreadable"
	}
	src, certUser := n.ClientCertSource()
	if !certUser {
		return ""
	}
	certs, err := src.ReadCerts(n.Root)
	if err != nil {
		if src.CertPath != "" && kubeletfiles.Fault(n.Root, src.CertPath, err) != kubeletfiles.FaultNone {
			return "client cert " + string(kubeletfiles.Fault(n.Root, src.CertPath, err))
		}
		return "client cert unusable"
	}
	if !r.now.Before(certs[0].NotAfter) {
		return "client cert expired"
	}
	return ""
}

// bootstrapKubeconfig judges the bootstrap kubeconfig the kubelet will use.
// Nothing of the token but its form is ever said.
func (r *run) bootstrapKubeconfig() doctor.Finding {
	n, p := r.n, r.n.Files.BootstrapKubeconfig
	const hint = "regenerate the bootstrap kubeconfig (kubeadm token create --print-join-command on the control plane)"
	b := n.Bootstrap
	if b == nil {
		if errors.Is(n.BootstrapErr, kubeletfiles.ErrMalformed) {
			return r.problem("KubeletBootstrapKubeconfigInvalid", "bootstrap kubeconfig malformed", n.BootstrapErr.Error(), "bootstrap-malformed", hint)
		}
		return r.problem("KubeletBootstrapKubeconfigInvalid", "bootstrap kubeconfig unreadable", n.BootstrapErr.Error(), "bootstrap-unreadable", hint)
	}
	if b.Cluster.Server == "" {
		return r.problem("KubeletBootstrapKubeconfigInvalid", "bootstrap kubeconfig has no server", p+": cluster "+b.Cluster.Name+" has no server", "bootstrap-no-server", hint)
	}
	if _, _, err := b.Cluster.ServerHost(); err != nil {
		return r.problem("KubeletBootstrapKubeconfigInvalid", "bootstrap server is not an https URL", p+": "+err.Error(), "bootstrap-bad-server", hint)
	}
	if f, bad := r.bootstrapCA(b, hint); bad {
		return f
	}
	if f, bad := r.bootstrapToken(b, hint); bad {
		return f
	}
	return r.ok("the kubelet will bootstrap with " + p + " (server " + b.Cluster.Server + ")")
}

func (r *run) bootstrapCA(b *kubeletfiles.Kubeconfig, hint string) (doctor.Finding, bool) {
	p := r.n.Files.BootstrapKubeconfig
	if len(b.Cluster.CertificateAuthorityData) == 0 && b.Cluster.CertificateAuthority == "" {
		if b.Cluster.InsecureSkipTLSVerify {
			return doctor.Finding{}, false
		}
		return r.problem("KubeletBootstrapKubeconfigInvalid", "bootstrap kubeconfig has no CA", p+" has neither certificate-authority nor -data", "bootstrap-no-ca", hint), true
	}
	if _, _, err := b.CA(r.n.Root); err != nil {
		return r.problem("KubeletBootstrapKubeconfigInvalid", "bootstrap kubeconfig CA unusable", err.Error(), "bootstrap-bad-ca", hint), true
	}
	return doctor.Finding{}, false
}

func (r *run) bootstrapToken(b *kubeletfiles.Kubeconfig, hint string) (doctor.Finding, bool) {
	p := r.n.Files.BootstrapKubeconfig
	u := b.User
	tok := u.Token.Reveal()
	if tok == "" && u.TokenFile != "" {
		raw, err := r.n.Root.ReadFile(u.TokenFile)
		if err != nil {
			return r.problem("KubeletBootstrapTokenInvalid", "bootstrap token file unreadable", fmt.Sprintf("%s: tokenFile %s: %v", p, u.TokenFile, errors.Unwrap(err)), "bootstrap-token-file", hint), true
		}
		tok = strings.TrimSpace(string(raw))
	}
	switch {
	case tok != "" && !tokenRE.MatchString(tok):
		return r.problem("KubeletBootstrapTokenInvalid", "bootstrap token malformed",
			fmt.Sprintf("%s: the token is not of the form [a-z0-9]{6}.[a-z0-9]{16} (%d characters)", p, len(tok)), "bootstrap-token-form", hint), true
	case tok == "" && len(u.ClientCertificateData) == 0 && u.ClientCertificate == "" && u.Exec == "":
		return r.problem("KubeletBootstrapTokenInvalid", "bootstrap kubeconfig has no credential",
			p+": user "+u.Name+" has no token, certificate or exec plugin", "bootstrap-no-credential", hint), true
	}
	return doctor.Finding{}, false
}
