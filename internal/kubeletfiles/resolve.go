package kubeletfiles

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// LookupHost looks a name (the API server's) up as the node does, not as the
// container kubelet-doctor may run in: the node's /etc/hosts first (kubeadm
// nodes often carry the control-plane endpoint there), then the node's
// nameservers from its /etc/resolv.conf. On the host itself that is the
// system resolver.
func LookupHost(ctx context.Context, root hostpath.Root, host string) ([]string, error) {
	if addrs := hostsLookup(root, host); len(addrs) > 0 {
		return addrs, nil
	}
	r := net.DefaultResolver
	if root != "" && root != hostpath.Default {
		if ns := Nameservers(root); len(ns) > 0 {
			var d net.Dialer
			r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, net.JoinHostPort(ns[0], "53"))
			}}
		}
	}
	return r.LookupHost(ctx, host)
}

// hostsLookup returns the addresses ROOT/etc/hosts gives host.
func hostsLookup(root hostpath.Root, host string) []string {
	b, err := root.ReadFile("/etc/hosts")
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 || net.ParseIP(f[0]) == nil {
			continue
		}
		for _, name := range f[1:] {
			if strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(host, ".")) {
				out = append(out, f[0])
				break
			}
		}
	}
	return out
}

// Nameservers are the node's resolvers from ROOT/etc/resolv.conf.
func Nameservers(root hostpath.Root) []string {
	b, err := root.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" && net.ParseIP(f[1]) != nil {
			out = append(out, f[1])
		}
	}
	return out
}
