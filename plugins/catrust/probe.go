package catrust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
)

// ProbeName names the handshake probe in outputs and the state's cache.
const ProbeName = "ca-trust-handshake"

// Probe timing: one probe per NPD interval (30s) whatever the number of
// rules asking, and a deadline under the plugin's own (4s).
const (
	ProbeMaxAge         = 25 * time.Second
	DefaultProbeTimeout = 3 * time.Second
)

// Probe is a real TLS handshake with the kubeconfig's server, verifying its
// certificate against the kubeconfig's CA for the server's name as the
// kubelet does, and naming which way it fails.
type Probe struct {
	Timeout time.Duration
	Files   kubeletfiles.Files
	// Loader shares one load of the kubelet's files among the checks of
	// an invocation (nil: load for this check alone).
	Loader *kubeletfiles.Loader
}

var (
	_ doctor.Cacheable = (*Probe)(nil)
	_ doctor.Sourced   = (*Probe)(nil)
)

// Name implements doctor.Check.
func (p *Probe) Name() string { return ProbeName }

// Conditions implements doctor.Check.
func (p *Probe) Conditions() []string { return []string{condition.TypeCATrust} }

// Source implements doctor.Sourced.
func (p *Probe) Source() doctor.Source { return doctor.SourceProbe }

// MaxAge implements doctor.Cacheable.
func (p *Probe) MaxAge() time.Duration { return ProbeMaxAge }

// Run implements doctor.Check. It says nothing when there is nothing to
// verify (no kubeconfig, verification off) or the server cannot be reached:
// the on-disk check and the reachability probe speak for those.
func (p *Probe) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	n, err := p.Loader.Load(env.Root, p.Files)
	if err != nil || !n.Files.Found {
		return nil, err
	}
	k, err := n.Active()
	if err != nil || k.Cluster.InsecureSkipTLSVerify {
		return nil, nil
	}
	host, port, err := k.Cluster.ServerHost()
	if err != nil {
		return nil, nil // the bootstrap check names a kubeconfig without a usable server
	}
	roots, what, err := roots(n, k)
	if err != nil {
		return nil, nil // the on-disk check says why the CA cannot be used
	}
	name := k.Cluster.TLSServerName
	if name == "" {
		name = host
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hs, err := handshake(pctx, n, host, port, name, roots, env.Now)
	if err := callerDone(ctx); err != nil {
		return nil, err // our caller's deadline says nothing about the server
	}
	if err != nil {
		return nil, nil // unreachable: the reachability probe names how
	}
	f := judge(hs, k.Cluster.Server, name, what, env.Now)
	return []doctor.Finding{f}, nil
}

// roots is the pool the kubelet verifies with: the kubeconfig's CA, else
// the system's.
func roots(n *kubeletfiles.Node, k *kubeletfiles.Kubeconfig) (*x509.CertPool, string, error) {
	cas, what, err := k.CA(n.Root)
	if err != nil {
		return nil, "", err
	}
	if len(cas) == 0 {
		pool, err := x509.SystemCertPool()
		return pool, "the system roots", err
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	return pool, what, nil
}

// shake is a completed handshake: the server's certificates and how their
// verification went.
type shake struct {
	peer []*x509.Certificate
	verr error
}

// handshake completes a TLS handshake with host:port (the name resolved as
// the node resolves it) and verifies the peer for
// name against roots at now. The handshake itself does not verify, so that
// a failed verification still shows the certificate it failed on: nothing
// is sent on the connection, no credential and no request.
func handshake(ctx context.Context, n *kubeletfiles.Node, host, port, name string, roots *x509.CertPool, now time.Time) (shake, error) {
	addrs := []string{host}
	if net.ParseIP(host) == nil {
		var err error
		if addrs, err = kubeletfiles.LookupHost(ctx, n.Root, host); err != nil {
			return shake{}, err
		}
	}
	var d net.Dialer
	var conn net.Conn
	var err error
	for _, a := range addrs {
		if conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(a, port)); err == nil {
			break
		}
	}
	if err != nil {
		return shake{}, err
	}
	defer conn.Close()
	var peer []*x509.Certificate
	var verr error
	tc := tls.Client(conn, &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: true, // verified below, against the kubeconfig's CA, with the result kept
		VerifyConnection: func(cs tls.ConnectionState) error {
			peer = cs.PeerCertificates
			if len(peer) == 0 {
				verr = errors.New("server sent no certificate")
				return nil
			}
			inter := x509.NewCertPool()
			for _, c := range peer[1:] {
				inter.AddCert(c)
			}
			_, verr = peer[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name, CurrentTime: now})
			return nil
		}})
	if err := tc.HandshakeContext(ctx); err != nil {
		return shake{}, err
	}
	return shake{peer: peer, verr: verr}, nil
}

// judge names how the verification went.
func judge(hs shake, server, name, what string, now time.Time) doctor.Finding {
	verr := hs.verr
	f := doctor.Finding{Condition: condition.TypeCATrust, Source: doctor.SourceProbe, Check: ProbeName,
		Evidence: []doctor.Evidence{{At: now, Text: "TLS handshake with " + server + " verified against " + what}}}
	if verr == nil {
		f.Status, f.Detail = doctor.OK, fmt.Sprintf("%s verified for %s against %s", server, name, what)
		return f
	}
	f.Status = doctor.Problem
	var leaf *x509.Certificate // set whenever x509 verification ran
	if len(hs.peer) > 0 {
		leaf = hs.peer[0]
	}
	var ua x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	var hn x509.HostnameError
	switch {
	case errors.As(verr, &inv) && inv.Reason == x509.Expired && now.Before(inv.Cert.NotBefore):
		f.Reason, f.Label, f.Rule = "KubeletAPIServerCertNotYetValid", "API server cert not yet valid: clock skew?", "server-not-yet-valid"
		f.Detail = fmt.Sprintf("%s valid from %s, node clock %s", server, stamp(inv.Cert.NotBefore), stamp(now))
		f.Hint = "check the node's clock (timedatectl, chrony)"
	case errors.As(verr, &inv) && inv.Reason == x509.Expired:
		who := "API server certificate"
		if inv.Cert.IsCA {
			who = "API server's CA"
		}
		f.Reason, f.Label, f.Rule = "KubeletAPIServerCertExpired", "x509 expired: "+who, "server-expired"
		f.Detail = fmt.Sprintf("%s: %q expired %s", server, inv.Cert.Subject.CommonName, stamp(inv.Cert.NotAfter))
		f.Hint = "renew the API server's serving certificate (kubeadm certs renew apiserver) or check the node's clock"
	case errors.As(verr, &ua):
		f.Reason, f.Label, f.Rule = "KubeletCAUnknownAuthority", "x509 unknown authority", "server-unknown-authority"
		f.Detail = fmt.Sprintf("%s presents a certificate issued by %q, not signed by %s", server, leaf.Issuer.CommonName, what)
		f.Hint = "the kubeconfig's CA is not the cluster's: compare certificate-authority-data with the cluster CA"
	case errors.As(verr, &hn):
		f.Reason, f.Label, f.Rule = "KubeletAPIServerCertWrongName", "x509 wrong name: "+name, "server-wrong-name"
		f.Detail = fmt.Sprintf("%s's certificate is for %s, not %s", server, names(leaf), name)
		f.Hint = "add the name the kubelet uses to the API server certificate's SANs, or use a name it has"
	default:
		f.Reason, f.Label, f.Rule = "KubeletAPIServerCertRejected", "API server cert rejected", "server-rejected"
		f.Detail = server + ": " + verr.Error()
	}
	return f
}

func names(c *x509.Certificate) string {
	var ns []string
	ns = append(ns, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		ns = append(ns, ip.String())
	}
	if len(ns) == 0 {
		return "CN " + c.Subject.CommonName
	}
	return strings.Join(ns, ", ")
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// callerDone is the caller's context error, also at the instant its deadline
// passes but before its timer has fired: a probe cut by the caller's
// deadline has not looked, and must not be cached as a finding.
func callerDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}
