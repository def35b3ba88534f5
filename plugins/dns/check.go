package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/kubeletconfig"
)

// CheckName names the check in outputs and the state.
const CheckName = "kubelet-dns"

// defaultResolvConf is the kubelet's default resolvConf.
const defaultResolvConf = "/etc/resolv.conf"

// Check is KubeletDNSProblem from the kubelet's config and resolv.conf.
type Check struct {
	Locate    kubeletconfig.Locator // nil: kubeletconfig.Discovered
	Reference string                // the cluster's kubelet config; "": none
	// ReferenceOptional: a Reference that does not exist is none
	// (kubeletconfig.LoadReference).
	ReferenceOptional bool
}

var _ doctor.Check = (*Check)(nil)

// Name implements doctor.Check.
func (c *Check) Name() string { return CheckName }

// Conditions implements doctor.Check.
func (c *Check) Conditions() []string { return []string{condition.TypeDNS} }

// Run implements doctor.Check. A config that cannot be loaded is the config
// check's problem: DNS then cannot tell.
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	locate := c.Locate
	if locate == nil {
		locate = kubeletconfig.Discovered(nil, kubeletfiles.Files{})
	}
	files, err := locate(env.Root)
	if err != nil {
		return nil, fmt.Errorf("find the kubelet's config: %w", err)
	}
	if !files.Found {
		return nil, nil // no kubelet here: nothing to judge
	}
	if files.Config == "" && files.ConfigDir == "" && !files.Known {
		return nil, errors.New("kubelet config not found")
	}
	l, err := kubeletconfig.Load(env.Root, files)
	if err != nil {
		return nil, cannotLoad{err}
	}
	fs, note := c.reference(l)
	fs = append(fs, clusterSettings(l)...)
	fs = append(fs, resolvConf(env.Root, l)...)
	if len(fs) == 0 {
		ok := finding(doctor.OK, "", "kubelet's resolv.conf and cluster DNS settings are usable",
			fmt.Sprintf("clusterDomain %q clusterDNS %v", l.Config.ClusterDomain, l.Config.ClusterDNS), "")
		if note != "" {
			ok.Evidence = []doctor.Evidence{{Text: note}}
		}
		fs = append(fs, ok)
	}
	return fs, nil
}

// reference compares the DNS fields with --reference when there is one; the
// note says, for the healthy finding, what they were compared with or why
// they were not.
func (c *Check) reference(l *kubeletconfig.Loaded) ([]doctor.Finding, string) {
	if c.Reference == "" {
		return nil, ""
	}
	ref, err := kubeletconfig.LoadReference(c.Reference, c.ReferenceOptional)
	switch {
	case err != nil:
		return []doctor.Finding{finding(doctor.Unknown, "reference", "reference unusable", err.Error(), "")}, ""
	case ref == nil:
		return nil, kubeletconfig.NoReference(c.Reference)
	}
	return against(l, ref), fmt.Sprintf("clusterDomain and clusterDNS match %s %q", ref.From, ref.Path)
}

type cannotLoad struct{ err error }

func (e cannotLoad) Error() string      { return e.err.Error() }
func (e cannotLoad) Unwrap() error      { return e.err }
func (e cannotLoad) CannotTell() string { return "kubelet config unusable" }

// against compares the DNS fields with the cluster's reference.
func against(l *kubeletconfig.Loaded, ref *kubeletconfig.Reference) []doctor.Finding {
	var fs []doctor.Finding
	rd, _ := ref.Raw["clusterDomain"].(string)
	if rd != "" && rd != l.Config.ClusterDomain {
		fs = append(fs, finding(doctor.Problem, "cluster-domain-drift", "clusterDomain "+orUnset(l.Config.ClusterDomain)+"!="+rd,
			"node vs "+ref.From, "pods here cannot resolve the cluster's services: set clusterDomain: "+rd))
	}
	var rdns []string
	if l, ok := ref.Raw["clusterDNS"].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				rdns = append(rdns, s)
			}
		}
	}
	if len(rdns) > 0 && !slices.Equal(rdns, l.Config.ClusterDNS) {
		fs = append(fs, finding(doctor.Problem, "cluster-dns-drift",
			"clusterDNS "+orUnset(strings.Join(l.Config.ClusterDNS, ","))+"!="+strings.Join(rdns, ","),
			"node vs "+ref.From, "pods here ask the wrong DNS server: set clusterDNS to the kube-dns Service IP"))
	}
	return fs
}

func clusterSettings(l *kubeletconfig.Loaded) []doctor.Finding {
	c := &l.Config
	var fs []doctor.Finding
	if len(c.ClusterDNS) == 0 {
		fs = append(fs, finding(doctor.Problem, "cluster-dns-unset", "clusterDNS unset",
			"ClusterFirst pods get the node's resolv.conf", "set clusterDNS to the kube-dns Service IP"))
	}
	for _, ip := range c.ClusterDNS {
		if net.ParseIP(ip) == nil {
			fs = append(fs, finding(doctor.Problem, "cluster-dns-invalid", "clusterDNS not an IP", fmt.Sprintf("%q", ip), ""))
		}
	}
	switch d := c.ClusterDomain; {
	case d == "" && len(c.ClusterDNS) > 0:
		fs = append(fs, finding(doctor.Problem, "cluster-domain-unset", "clusterDomain unset",
			"pods get no cluster search domains", "set clusterDomain (cluster.local by default in kubeadm)"))
	case d != "" && !kubeletconfig.ValidClusterDomain(d):
		fs = append(fs, finding(doctor.Problem, "cluster-domain-invalid", "clusterDomain invalid",
			fmt.Sprintf("%q is not a DNS subdomain", d), ""))
	}
	return fs
}

// resolvConf checks the file the kubelet gives Default pods and appends to
// ClusterFirst pods' search list.
func resolvConf(root hostpath.Root, l *kubeletconfig.Loaded) []doctor.Finding {
	p := defaultResolvConf
	if l.Config.ResolverConfig != nil {
		p = *l.Config.ResolverConfig
	}
	if p == "" {
		return nil // the kubelet was told not to use one
	}
	b, err := readSmall(kubeletconfig.HostPath(root, p))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []doctor.Finding{finding(doctor.Problem, "resolv-conf-missing", "resolv.conf missing", p,
			"pods cannot start without it: create it or point resolvConf at the real file")}
	case err != nil:
		return []doctor.Finding{finding(doctor.Unknown, "resolv-conf-unreadable", "resolv.conf unreadable", err.Error(), "")}
	}
	rc, err := ParseResolvConf(b)
	if err != nil {
		return []doctor.Finding{finding(doctor.Problem, "resolv-conf-invalid", "resolv.conf "+err.Error(), p,
			"the file holds binary data: rewrite it")}
	}
	return limits(p, rc, l.Config.ClusterDomain)
}

func limits(p string, rc ResolvConf, clusterDomain string) []doctor.Finding {
	var fs []doctor.Finding
	for _, ns := range rc.Nameservers {
		if ip := net.ParseIP(ns); ip != nil && ip.IsLoopback() {
			fs = append(fs, finding(doctor.Problem, "loopback-nameserver", "loopback nameserver "+ns, "in "+p,
				"pods cannot reach the node's loopback resolver: set resolvConf: /run/systemd/resolve/resolv.conf"))
			break
		}
	}
	if n := len(rc.Nameservers); n > MaxNameservers {
		fs = append(fs, finding(doctor.Problem, "nameserver-limit", fmt.Sprintf("%d nameservers > %d", n, MaxNameservers),
			p+": the kubelet keeps the first 3", "keep at most 3 nameserver lines"))
	}
	search := PodSearches(clusterDomain, "default", rc.Searches)
	if n := len(search); n > MaxSearchPaths {
		fs = append(fs, finding(doctor.Problem, "search-limit", fmt.Sprintf("%d search domains > %d", n, MaxSearchPaths),
			fmt.Sprintf("%s has %d, pods add %d", p, len(rc.Searches), n-len(rc.Searches)), "shorten the search line"))
	}
	if n := len(strings.Join(search, " ")); n > MaxSearchListChars {
		fs = append(fs, finding(doctor.Problem, "search-limit", fmt.Sprintf("search list %d chars > %d", n, MaxSearchListChars),
			p, "shorten the search line"))
	}
	return fs
}

func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

func finding(s doctor.Status, rule, label, detail, hint string) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeDNS, Status: s, Source: doctor.SourceNodeState, Check: CheckName,
		Rule: rule, Label: label, Detail: detail, Hint: hint}
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}
