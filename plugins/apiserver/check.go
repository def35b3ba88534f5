// Package apiserver probes whether the kubelet can reach the API server in
// its kubeconfig: resolve, connect, TLS handshake, one GET /livez, within a
// short deadline, naming the step that fails. It only ever connects to the
// address in the kubeconfig.
package apiserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
)

// CheckName names the probe in outputs and the state's cache.
const CheckName = "apiserver-reachability"

// Probe timing: at most once per NPD interval (30s) however many rules ask,
// with a deadline under the plugin's own (4s).
const (
	MaxAge         = 25 * time.Second
	DefaultTimeout = 3 * time.Second
)

// Check is the reachability probe.
type Check struct {
	Timeout time.Duration
	Files   kubeletfiles.Files
	// Loader shares one load of the kubelet's files among the checks of
	// an invocation (nil: load for this check alone).
	Loader *kubeletfiles.Loader
}

var (
	_ doctor.Cacheable = (*Check)(nil)
	_ doctor.Sourced   = (*Check)(nil)
)

// Name implements doctor.Check.
func (c *Check) Name() string { return CheckName }

// Conditions implements doctor.Check.
func (c *Check) Conditions() []string { return []string{condition.TypeAPIServer} }

// Source implements doctor.Sourced.
func (c *Check) Source() doctor.Source { return doctor.SourceProbe }

// MaxAge implements doctor.Cacheable.
func (c *Check) MaxAge() time.Duration { return MaxAge }

// Run implements doctor.Check.
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	n, err := c.Loader.Load(env.Root, c.Files)
	if err != nil || !n.Files.Found {
		return nil, err // no kubelet under the root: nothing to probe for
	}
	k, err := n.Active()
	switch {
	case errors.Is(err, kubeletfiles.ErrNoKubeconfig):
		// Not bootstrapped: nothing names the API server yet. That is the
		// bootstrap condition's evidence, and reachability cannot be told.
		return []doctor.Finding{finding(doctor.Unknown, "", "no kubeconfig yet",
			"neither "+n.Files.Kubeconfig+" nor a bootstrap kubeconfig names the API server (see "+condition.TypeBootstrap+")", "no-kubeconfig", env.Now)}, nil
	case err != nil:
		return []doctor.Finding{finding(doctor.Unknown, "", "cannot tell: kubeconfig unusable", err.Error(), "cannot-read", env.Now)}, nil
	}
	host, port, err := k.Cluster.ServerHost()
	if err != nil {
		return []doctor.Finding{finding(doctor.Unknown, "", "cannot tell: no usable server", k.Path+": "+err.Error(), "cannot-read", env.Now)}, nil
	}
	var out []doctor.Finding
	if f := proxied(k, n.Files.Env, env.Now); f != nil {
		out = append(out, *f)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f := probe(pctx, env.Root, k.Cluster, host, port, env.Now)
	if err := callerDone(ctx); err != nil {
		return nil, err // our caller's deadline says nothing about the server
	}
	return append(out, f), nil
}

func finding(st doctor.Status, reason, label, detail, rule string, now time.Time) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeAPIServer, Status: st, Reason: reason, Label: label, Detail: detail,
		Rule: rule, Source: doctor.SourceProbe, Check: CheckName, Evidence: []doctor.Evidence{{At: now, Text: detail}}}
}

// proxied reports an HTTPS_PROXY in the kubelet's environment that would
// carry its API server traffic, NO_PROXY not excepting the server: a proxy
// that cannot reach the API server, or breaks its long watches, is a classic
// of corporate networks. A kubeconfig's own proxy-url is deliberate.
func proxied(k *kubeletfiles.Kubeconfig, env map[string]string, now time.Time) *doctor.Finding {
	if k.Cluster.ProxyURL != "" || env == nil {
		return nil
	}
	get := func(upper, lower string) string {
		if v := env[upper]; v != "" {
			return v
		}
		return env[lower]
	}
	cfg := httpproxy.Config{HTTPSProxy: get("HTTPS_PROXY", "https_proxy"), NoProxy: get("NO_PROXY", "no_proxy")}
	u, err := url.Parse(k.Cluster.Server)
	if err != nil || cfg.HTTPSProxy == "" {
		return nil
	}
	p, err := cfg.ProxyFunc()(u)
	if err != nil || p == nil {
		return nil
	}
	// The proxy's host only: a proxy URL can carry a password.
	f := finding(doctor.Problem, "KubeletAPIServerProxied", "HTTPS_PROXY catches the API server",
		fmt.Sprintf("the kubelet's HTTPS_PROXY (%s) applies to %s: NO_PROXY does not list %s", p.Host, k.Cluster.Server, u.Hostname()),
		"proxy-catches-server", now)
	f.Hint = "add " + u.Hostname() + " (and the service CIDR) to NO_PROXY in the kubelet's environment"
	return &f
}

// probe resolves, connects, handshakes and asks /livez, naming the first
// step that fails.
func probe(ctx context.Context, root hostpath.Root, c kubeletfiles.Cluster, host, port string, now time.Time) doctor.Finding {
	addrs := []string{host}
	if net.ParseIP(host) == nil {
		var err error
		if addrs, err = kubeletfiles.LookupHost(ctx, root, host); err != nil {
			return dnsFailure(host, err, now)
		}
	}
	var conn net.Conn
	var err error
	var d net.Dialer
	for _, a := range addrs {
		if conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(a, port)); err == nil {
			break
		}
	}
	if err != nil {
		return connectFailure(c.Server, err, now)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	name := c.TLSServerName
	if name == "" {
		name = host
	}
	// Reachability only: whether the certificate is trusted is the CA
	// trust check's question, and nothing secret is sent here (no client
	// certificate, no token), so an unverified peer learns nothing.
	tc := tls.Client(conn, &tls.Config{ServerName: name, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // see above
	if err := tc.HandshakeContext(ctx); err != nil {
		if isTimeout(err) {
			return problem("KubeletAPIServerTLSTimeout", "TLS handshake timeout", c.Server+": connected, but the TLS handshake did not finish in time",
				"tls-timeout", "a proxy, load balancer or firewall that accepts and then stalls; check the path to the API server", now)
		}
		return problem("KubeletAPIServerTLSFailed", "TLS handshake failed", c.Server+": "+err.Error(),
			"tls-failed", "the address answers but not as an HTTPS API server: check the server URL and port", now)
	}
	return livez(tc, c.Server, host, now)
}

// livez sends one anonymous GET /livez: any HTTP answer proves reachability
// (401 and 403 are what an anonymous request often gets).
func livez(conn net.Conn, server, host string, now time.Time) doctor.Finding {
	req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/livez", nil)
	req.Header.Set("User-Agent", "kubelet-doctor")
	req.Close = true
	if err := req.Write(conn); err != nil {
		return noAnswer(server, err, now)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return noAnswer(server, err, now)
	}
	resp.Body.Close()
	return finding(doctor.OK, "", "", fmt.Sprintf("%s answered GET /livez: %s", server, resp.Status), "reachable", now)
}

func noAnswer(server string, err error, now time.Time) doctor.Finding {
	if isTimeout(err) {
		return problem("KubeletAPIServerNoAnswer", "API server does not answer HTTP", server+": TLS up, no answer to GET /livez in time",
			"http-timeout", "the API server is overloaded or a middlebox stalls requests", now)
	}
	return problem("KubeletAPIServerNoAnswer", "API server does not answer HTTP", server+": "+err.Error(),
		"http-failed", "the API server is overloaded or a middlebox drops requests", now)
}

func problem(reason, label, detail, rule, hint string, now time.Time) doctor.Finding {
	f := finding(doctor.Problem, reason, label, detail, rule, now)
	f.Hint = hint
	return f
}

func dnsFailure(host string, err error, now time.Time) doctor.Finding {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return problem("KubeletAPIServerDNSFailed", "DNS: "+host+" not found", err.Error(), "dns-not-found",
			"the API server's name does not resolve on this node: check /etc/resolv.conf and the DNS record", now)
	case isTimeout(err):
		return problem("KubeletAPIServerDNSFailed", "DNS timeout for "+host, err.Error(), "dns-timeout",
			"the node's resolvers do not answer: check /etc/resolv.conf and their reachability", now)
	}
	return problem("KubeletAPIServerDNSFailed", "DNS failure for "+host, err.Error(), "dns-failed",
		"check the node's resolvers (/etc/resolv.conf)", now)
}

func connectFailure(server string, err error, now time.Time) doctor.Finding {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return problem("KubeletAPIServerRefused", "connection refused", server+": nothing listens there", "refused",
			"the API server (or its load balancer) is down or listens elsewhere", now)
	case isTimeout(err):
		return problem("KubeletAPIServerTimeout", "connect timeout", server+": no answer to the TCP connect", "connect-timeout",
			"a firewall or security group drops the traffic, or the address is wrong", now)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return problem("KubeletAPIServerNoRoute", "no route to the API server", server+": "+err.Error(), "no-route",
			"check the node's routes and network interface", now)
	}
	return problem("KubeletAPIServerConnectFailed", "connect failed", server+": "+err.Error(), "connect-failed",
		"check the path to the API server", now)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

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
