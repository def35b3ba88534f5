// Package dns checks what the kubelet builds pods' DNS from: clusterDomain
// and clusterDNS (against the cluster's reference) and the resolvConf file,
// with the kubelet's own limits (KubeletDNSProblem).
package dns

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"
)

// The kubelet's limits on what it puts in a pod's resolv.conf
// (k8s.io/kubernetes/pkg/apis/core/validation): beyond them it drops
// entries and records a DNSConfigForming event on every pod.
const (
	MaxNameservers     = 3
	MaxSearchPaths     = 32
	MaxSearchListChars = 2048
)

// ResolvConf is what the kubelet reads of a resolv.conf.
type ResolvConf struct {
	Nameservers []string
	Searches    []string
	Options     []string
}

// ErrNotText is a resolv.conf that holds binary data.
var ErrNotText = errors.New("not text")

// ParseResolvConf parses as the kubelet's parseResolvConf does: comments
// start with # or ;, the last search line wins, "." entries are dropped and
// trailing dots trimmed. A file with NUL bytes or invalid UTF-8 is not a
// resolv.conf at all.
func ParseResolvConf(b []byte) (ResolvConf, error) {
	var rc ResolvConf
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return rc, ErrNotText
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				rc.Nameservers = append(rc.Nameservers, f[1])
			}
		case "search":
			rc.Searches = rc.Searches[:0:0]
			for _, s := range f[1:] {
				if s != "." {
					rc.Searches = append(rc.Searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			rc.Options = append(rc.Options, f[1:]...)
		}
	}
	return rc, sc.Err()
}

// PodSearches is the search list of a ClusterFirst pod in namespace ns: the
// cluster's three domains, then the host's.
func PodSearches(clusterDomain, ns string, host []string) []string {
	if clusterDomain == "" {
		return host
	}
	return append([]string{ns + ".svc." + clusterDomain, "svc." + clusterDomain, clusterDomain}, host...)
}
