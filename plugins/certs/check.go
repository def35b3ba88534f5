// Package certs checks the kubelet's own certificates on disk: the client
// certificate it authenticates to the API server with, and the serving
// certificate the API server reaches it on. Logs say what already failed;
// these files say what is about to.
package certs

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
)

// CheckName names the check in outputs and the state.
const CheckName = "certificates"

// DefaultWarn is how long before expiry a certificate that nothing rotates
// is a problem: a week leaves a working week to renew it.
const DefaultWarn = 7 * 24 * time.Hour

// Check reads the kubelet's client and serving certificates.
type Check struct {
	// Warn: a certificate expiring within it is a problem while rotation is off.
	Warn time.Duration
	// Files override what discovery finds (the command line's flags).
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
func (c *Check) Conditions() []string { return []string{condition.TypeCertificate} }

// Source implements doctor.Sourced.
func (c *Check) Source() doctor.Source { return doctor.SourceNodeState }

// Run implements doctor.Check.
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	n, err := c.Loader.Load(env.Root, c.Files)
	if err != nil {
		return nil, err
	}
	if !n.Files.Found {
		// No kubelet under this root: its journal is all there is to judge.
		return nil, nil
	}
	r := &run{c: c, n: n, now: env.Now}
	r.client()
	r.serving()
	if len(r.out) == 0 {
		r.out = []doctor.Finding{r.finding(doctor.OK, "", "", strings.Join(r.facts, "; "), "")}
	}
	if len(r.expires) > 0 {
		for i := range r.out {
			r.out[i].Expires = r.expires
		}
	}
	return r.out, nil
}

// run is one evaluation: the findings so far and the facts behind an OK.
type run struct {
	c     *Check
	n     *kubeletfiles.Node
	now   time.Time
	out   []doctor.Finding
	facts []string
	// expires is each certificate's end of validity, by kind.
	expires map[string]time.Time
}

func (r *run) finding(st doctor.Status, reason, label, detail, rule string) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeCertificate, Status: st, Reason: reason, Label: label,
		Detail: detail, Source: doctor.SourceNodeState, Check: CheckName, Rule: rule,
		Evidence: []doctor.Evidence{{At: r.now, Text: "kubelet files from " + r.n.Files.From}}}
}

func (r *run) problem(reason, label, detail, rule, hint string) {
	f := r.finding(doctor.Problem, reason, label, detail, rule)
	f.Hint = hint
	r.out = append(r.out, f)
}

func (r *run) unknown(label string, err error) {
	r.out = append(r.out, r.finding(doctor.Unknown, "", label, err.Error(), "cannot-read"))
}

// client checks the client certificate the kubelet authenticates with.
func (r *run) client() {
	n := r.n
	if n.Kubeconfig == nil && !errors.Is(n.KubeconfigErr, fs.ErrNotExist) && n.KubeconfigErr != nil {
		// Not usable: the bootstrap check says so; which certificate the
		// kubelet uses cannot be told.
		r.unknown("cannot tell: kubeconfig unusable", n.KubeconfigErr)
		return
	}
	src, ok := n.ClientCertSource()
	if !ok {
		r.facts = append(r.facts, "kubelet authenticates with a token or exec plugin, not a client certificate")
		return
	}
	certs, err := src.ReadCerts(n.Root)
	if err != nil {
		if n.Kubeconfig == nil && src.CertPath != "" && kubeletfiles.Fault(n.Root, src.CertPath, err) == kubeletfiles.FaultMissing {
			// No kubeconfig and no certificate: the node has not
			// bootstrapped yet, the bootstrap check's to judge.
			r.out = append(r.out, r.finding(doctor.Unknown, "", "no client certificate yet", "no kubeconfig and no "+src.CertPath, "not-bootstrapped"))
			return
		}
		r.unreadable("client", src.CertPath, err)
		return
	}
	leaf := certs[0]
	r.validity("client certificate", src.What, leaf, "client")
	r.identity(leaf)
	r.key(src, leaf)
}

// unreadable reports a certificate file of kind ("client", "serving") that
// cannot be read or parsed: the kubelet's problem when it cannot read it
// either, ours otherwise.
func (r *run) unreadable(kind, p string, err error) {
	what, reason := kind+" certificate", "KubeletClientCert"
	if kind == "serving" {
		reason = "KubeletServingCert"
	}
	fault := kubeletfiles.Fault(r.n.Root, p, err)
	switch {
	case fault != kubeletfiles.FaultNone:
		r.problem(reason+"Missing", what+" "+string(fault), p, kind+"-"+strings.ReplaceAll(string(fault), " ", "-"),
			"the kubelet cannot load it: restore it or re-bootstrap the node")
	case errors.Is(err, kubeletfiles.ErrNoCertificate) || strings.Contains(err.Error(), "parse certificate"):
		r.problem(reason+"Invalid", what+" is not a PEM certificate", err.Error(), kind+"-garbage",
			"the kubelet cannot load it: restore it or re-bootstrap the node")
	default:
		r.unknown("cannot tell: "+what+" unreadable", err)
	}
}

// validity checks a certificate's dates; kind is "client" or "serving".
func (r *run) validity(what, where string, c *x509.Certificate, kind string) {
	reason := "KubeletClientCert"
	if kind == "serving" {
		reason = "KubeletServingCert"
	}
	if r.expires == nil {
		r.expires = map[string]time.Time{}
	}
	r.expires[kind] = c.NotAfter
	switch {
	case r.now.Before(c.NotBefore):
		r.problem(reason+"NotYetValid", what+" not yet valid: clock skew?",
			fmt.Sprintf("%s valid from %s, node clock %s", where, stamp(c.NotBefore), stamp(r.now)), kind+"-not-yet-valid",
			"check the node's clock (timedatectl, chrony): it is behind the certificate's start")
		return
	case !r.now.Before(c.NotAfter):
		r.problem(reason+"Expired", what+" expired",
			fmt.Sprintf("%s expired %s (%s ago)", where, stamp(c.NotAfter), human(r.now.Sub(c.NotAfter))), kind+"-expired",
			rotateHint(kind))
		// The episode began when the certificate expired: alerts key on it.
		r.out[len(r.out)-1].Since = c.NotAfter
		return
	}
	left := c.NotAfter.Sub(r.now)
	if left < r.warn() {
		if on, known := r.rotation(kind); known && !on {
			r.problem(reason+"Expiring", fmt.Sprintf("%s expires in %s, rotation off", what, human(left)),
				fmt.Sprintf("%s expires %s; %s", where, stamp(c.NotAfter), r.rotationFact(kind)), kind+"-expiring",
				rotateHint(kind))
			return
		}
		r.facts = append(r.facts, fmt.Sprintf("%s expires in %s, %s", what, human(left), r.rotationFact(kind)))
		return
	}
	r.facts = append(r.facts, fmt.Sprintf("%s valid until %s", what, stamp(c.NotAfter)))
}

func (r *run) warn() time.Duration {
	if r.c.Warn > 0 {
		return r.c.Warn
	}
	return DefaultWarn
}

// rotation says whether the kubelet renews the certificate of kind itself;
// known is false when its config cannot be read.
func (r *run) rotation(kind string) (on, known bool) {
	if r.n.ConfigErr != nil {
		return false, false
	}
	if kind == "serving" {
		return r.n.Config.ServerTLSBootstrap, true
	}
	rc := r.n.Config.RotateCertificates
	return rc != nil && *rc, true
}

func (r *run) rotationFact(kind string) string {
	on, known := r.rotation(kind)
	switch {
	case !known:
		return "rotation unknown (kubelet config unreadable)"
	case on && kind == "serving":
		return "serverTLSBootstrap renews it"
	case on:
		return "rotateCertificates renews it"
	case kind == "serving":
		return "serverTLSBootstrap is off"
	}
	return "rotateCertificates is off"
}

func rotateHint(kind string) string {
	if kind == "serving" {
		return "approve the kubelet's serving CSR (kubectl get csr) or renew tlsCertFile"
	}
	return "renew the kubelet's client certificate (kubeadm: kubeadm certs / re-join) and set rotateCertificates: true"
}

// identity checks the certificate names this node in system:nodes: a
// certificate copied from another node authenticates as that node.
func (r *run) identity(c *x509.Certificate) {
	want := "system:node:" + r.n.NodeName
	switch {
	case !strings.HasPrefix(c.Subject.CommonName, "system:node:"):
		r.problem("KubeletClientCertWrongIdentity", "client cert is not a node's: "+c.Subject.CommonName,
			"subject CN "+c.Subject.CommonName+", want "+want, "client-not-node",
			"the kubelet authenticates as someone else: issue it a certificate for "+want)
	case r.n.NodeName != "" && c.Subject.CommonName != want:
		r.problem("KubeletClientCertWrongNode", "client cert is for "+c.Subject.CommonName,
			"this node is "+r.n.NodeName+": a certificate copied from another node?", "client-wrong-node",
			"re-bootstrap this node so that it gets its own certificate ("+want+")")
	case !slices.Contains(c.Subject.Organization, "system:nodes"):
		r.problem("KubeletClientCertWrongIdentity", "client cert not in group system:nodes",
			fmt.Sprintf("subject O=%q", c.Subject.Organization), "client-not-in-nodes",
			"the node authorizer ignores it: issue a certificate with O=system:nodes")
	case len(c.ExtKeyUsage) > 0 && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth) &&
		!slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny):
		r.problem("KubeletClientCertWrongIdentity", "client cert lacks client auth usage",
			c.Subject.CommonName+" has no clientAuth extended key usage", "client-not-client-auth",
			"issue the kubelet a client certificate (extended key usage clientAuth)")
	default:
		r.facts = append(r.facts, "client certificate is "+c.Subject.CommonName+" in system:nodes")
	}
}

// key checks the private key matches and is not readable by others.
func (r *run) key(src kubeletfiles.CertSource, leaf *x509.Certificate) {
	k, err := src.ReadKey(r.n.Root)
	if err != nil {
		if src.KeyPath != "" && kubeletfiles.Fault(r.n.Root, src.KeyPath, err) != kubeletfiles.FaultNone ||
			errors.Is(err, kubeletfiles.ErrNoKey) || strings.Contains(err.Error(), "parse ") {
			r.problem("KubeletClientKeyInvalid", "client key unusable", err.Error(), "client-key-unusable",
				"the kubelet cannot load its key: restore it or re-bootstrap the node")
			return
		}
		r.unknown("cannot tell: client key unreadable", err)
		return
	}
	if !k.Matches(leaf) {
		r.problem("KubeletClientKeyMismatch", "client cert and key do not match",
			fmt.Sprintf("key of %s is not the key of %s", keyWhere(src), src.What), "client-key-mismatch",
			"restore the certificate and key that belong together, or re-bootstrap the node")
	}
	r.keyMode(keyWhere(src), src.KeyPath)
}

func keyWhere(src kubeletfiles.CertSource) string {
	if src.KeyPath != "" {
		return src.KeyPath
	}
	return "client-key-data"
}

// keyMode reports a private key file readable by group or others.
func (r *run) keyMode(what, p string) {
	if p == "" {
		return
	}
	fi, err := r.n.Root.Stat(p)
	if err != nil {
		return // reading it worked a moment ago; nothing to add
	}
	if m := fi.Mode().Perm(); m&0o044 != 0 {
		r.problem("KubeletPrivateKeyExposed", "private key readable by others", fmt.Sprintf("%s has mode %04o", what, m),
			"key-permissions", "chmod 600 "+p)
	}
}

// serving checks the serving certificate when the kubelet asks the cluster
// for one (serverTLSBootstrap) or is given one (tlsCertFile).
func (r *run) serving() {
	cfg := r.n.Config
	if r.n.ConfigErr != nil || !cfg.ServerTLSBootstrap && cfg.TLSCertFile == "" {
		return // a self-signed serving certificate is the kubelet's own business
	}
	p, keyPath := cfg.TLSCertFile, cfg.TLSPrivateKeyFile
	if p == "" {
		p = path.Join(r.n.Files.CertDir, "kubelet-server-current.pem")
		keyPath = p
	}
	certs, err := kubeletfiles.CertSource{CertPath: p, What: p}.ReadCerts(r.n.Root)
	if err != nil {
		if cfg.ServerTLSBootstrap && cfg.TLSCertFile == "" && kubeletfiles.Fault(r.n.Root, p, err) != kubeletfiles.FaultNone {
			r.problem("KubeletServingCertMissing", "no serving certificate: CSR never approved",
				p+" "+string(kubeletfiles.Fault(r.n.Root, p, err))+" with serverTLSBootstrap on; kubectl logs/exec and metrics fail",
				"serving-missing", "approve the node's kubernetes.io/kubelet-serving CSR (kubectl get csr; kubectl certificate approve)")
			return
		}
		r.unreadable("serving", p, err)
		return
	}
	r.validity("serving certificate", p, certs[0], "serving")
	if keyPath != "" {
		r.keyMode(keyPath, keyPath)
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

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
