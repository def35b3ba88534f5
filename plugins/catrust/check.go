// Package catrust checks that the kubelet trusts the API server and the
// cluster trusts the kubelet: the kubeconfig's CA on disk, the client
// certificate's chain to the node's client CA, and on the wire a real TLS
// handshake verified as the kubelet would verify it.
package catrust

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
)

// CheckName names the on-disk check in outputs and the state.
const CheckName = "ca-trust"

// DefaultWarn is how long before its expiry a CA is a problem: replacing a
// cluster CA takes planning, a month is the least notice.
const DefaultWarn = 30 * 24 * time.Hour

// Check reads the CA the kubelet verifies the API server with and the CA the
// node trusts for clients.
type Check struct {
	Warn  time.Duration
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
func (c *Check) Conditions() []string { return []string{condition.TypeCATrust} }

// Source implements doctor.Sourced.
func (c *Check) Source() doctor.Source { return doctor.SourceNodeState }

// Run implements doctor.Check.
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	n, err := c.Loader.Load(env.Root, c.Files)
	if err != nil || !n.Files.Found {
		return nil, err // no kubelet under the root: nothing to judge
	}
	k, err := n.Active()
	switch {
	case errors.Is(err, kubeletfiles.ErrNoKubeconfig):
		return []doctor.Finding{finding(doctor.Unknown, "", "no kubeconfig yet", "neither "+n.Files.Kubeconfig+" nor a bootstrap kubeconfig", "no-kubeconfig", env.Now)}, nil
	case err != nil:
		return []doctor.Finding{finding(doctor.Unknown, "", "cannot tell: kubeconfig unusable", err.Error(), "cannot-read", env.Now)}, nil
	}
	var out []doctor.Finding
	var facts []string
	add := func(f *doctor.Finding, fact string) {
		if f != nil {
			out = append(out, *f)
		} else if fact != "" {
			facts = append(facts, fact)
		}
	}
	add(c.kubeconfigCA(n, k, env.Now))
	add(clientChain(n, env.Now))
	if len(out) == 0 {
		out = append(out, finding(doctor.OK, "", "", strings.Join(facts, "; "), "", env.Now))
	}
	return out, nil
}

func finding(st doctor.Status, reason, label, detail, rule string, now time.Time) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeCATrust, Status: st, Reason: reason, Label: label, Detail: detail,
		Source: doctor.SourceNodeState, Check: CheckName, Rule: rule, Evidence: []doctor.Evidence{{At: now, Text: detail}}}
}

func problem(reason, label, detail, rule, hint string, now time.Time) *doctor.Finding {
	f := finding(doctor.Problem, reason, label, detail, rule, now)
	f.Hint = hint
	return &f
}

// kubeconfigCA checks the CA the kubelet verifies the API server with.
func (c *Check) kubeconfigCA(n *kubeletfiles.Node, k *kubeletfiles.Kubeconfig, now time.Time) (*doctor.Finding, string) {
	cas, what, err := k.CA(n.Root)
	if err != nil {
		if fault := kubeletfiles.Fault(n.Root, k.Cluster.CertificateAuthority, err); k.Cluster.CertificateAuthority != "" && fault != kubeletfiles.FaultNone {
			return problem("KubeletCAMissing", "kubeconfig CA file "+string(fault), k.Cluster.CertificateAuthority+" named by "+k.Path, "ca-file-"+strings.ReplaceAll(string(fault), " ", "-"),
				"restore the cluster CA (kubeadm: /etc/kubernetes/pki/ca.crt) or embed it as certificate-authority-data", now), ""
		}
		if errors.Is(err, kubeletfiles.ErrNoCertificate) || strings.Contains(err.Error(), "parse certificate") {
			return problem("KubeletCAInvalid", "kubeconfig CA is not a PEM certificate", err.Error(), "ca-garbage",
				"replace it with the cluster CA's PEM", now), ""
		}
		f := finding(doctor.Unknown, "", "cannot tell: kubeconfig CA unreadable", err.Error(), "cannot-read", now)
		return &f, ""
	}
	if len(cas) == 0 {
		if k.Cluster.InsecureSkipTLSVerify {
			return nil, k.Path + " skips TLS verification (insecure-skip-tls-verify)"
		}
		return nil, k.Path + " names no CA: the system roots verify the API server"
	}
	return caDates(cas, what, c.warn(), now)
}

func (c *Check) warn() time.Duration {
	if c.Warn > 0 {
		return c.Warn
	}
	return DefaultWarn
}

// caDates judges a CA bundle by its best certificate: during a CA rotation
// the bundle holds the old and the new, and one valid CA is enough.
func caDates(cas []*x509.Certificate, what string, warn time.Duration, now time.Time) (*doctor.Finding, string) {
	var best *x509.Certificate
	future := false
	for _, ca := range cas {
		switch {
		case now.Before(ca.NotBefore):
			future = true
		case now.Before(ca.NotAfter) && (best == nil || ca.NotAfter.After(best.NotAfter)):
			best = ca
		}
	}
	switch {
	case best == nil && future:
		return problem("KubeletCANotYetValid", "cluster CA not yet valid: clock skew?",
			fmt.Sprintf("%s starts %s, node clock %s", what, cas[0].NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)),
			"ca-not-yet-valid", "check the node's clock (timedatectl, chrony)", now), ""
	case best == nil:
		return problem("KubeletCAExpired", "cluster CA expired",
			fmt.Sprintf("%s (%s) expired %s", what, cas[0].Subject.CommonName, cas[0].NotAfter.UTC().Format(time.RFC3339)),
			"ca-expired", "the cluster CA must be renewed and redistributed to every node", now), ""
	case best.NotAfter.Sub(now) < warn:
		left := best.NotAfter.Sub(now)
		return problem("KubeletCAExpiring", "cluster CA expires in "+human(left),
			fmt.Sprintf("%s (%s) expires %s", what, best.Subject.CommonName, best.NotAfter.UTC().Format(time.RFC3339)),
			"ca-expiring", "plan the cluster CA rotation now; every node's kubeconfig needs the new CA", now), ""
	}
	return nil, fmt.Sprintf("%s (%s) valid until %s", what, best.Subject.CommonName, best.NotAfter.UTC().Format(time.RFC3339))
}

// clientChain checks the kubelet's client certificate chains to the CA
// the node trusts for clients (authentication.x509.clientCAFile), which on
// every standard cluster is the CA that signs the kubelet's certificate: a
// certificate from another cluster, or an old CA after a rotation, fails it.
func clientChain(n *kubeletfiles.Node, now time.Time) (*doctor.Finding, string) {
	caFile := n.Config.ClientCAFile
	if n.ConfigErr != nil || caFile == "" {
		return nil, ""
	}
	src, ok := n.ClientCertSource()
	if !ok {
		return nil, ""
	}
	certs, err := src.ReadCerts(n.Root)
	if err != nil {
		return nil, "" // the certificate check says why
	}
	cas, err := kubeletfiles.CertSource{CertPath: caFile, What: caFile}.ReadCerts(n.Root)
	if err != nil {
		return nil, "" // the kubelet config check's to judge: the kubelet will not start on it
	}
	roots := x509.NewCertPool()
	for _, ca := range cas {
		roots.AddCert(ca)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	// Verify inside the certificate's own validity: its dates are the
	// certificate check's business, the signature is this one's.
	at := now
	if at.Before(leaf.NotBefore) || !at.Before(leaf.NotAfter) {
		at = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	var ua x509.UnknownAuthorityError
	switch {
	case err == nil:
		return nil, "client certificate chains to " + caFile
	case errors.As(err, &ua):
		return problem("KubeletClientCertUntrusted", "client cert not signed by the cluster's client CA",
			fmt.Sprintf("%s issued by %q; %s is %q", src.What, leaf.Issuer.CommonName, caFile, cas[0].Subject.CommonName),
			"client-chain", "this node's certificate is from another CA (another cluster, or before a CA rotation): re-bootstrap the node", now), ""
	}
	return problem("KubeletClientCertUntrusted", "client cert does not verify against client CA", err.Error(),
		"client-chain", "re-bootstrap the node so that the cluster CA signs its certificate", now), ""
}

// human is a duration in the largest whole unit: "3d", "5h", "12m".
func human(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}
