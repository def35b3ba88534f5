// Package nodestate drives the node-state conditions (client certificate,
// CA trust, bootstrap, API server reachability) through the real
// node-problem-detector v1.36.0 (KD_NPD) running the committed config files
// against the real kubelet-doctor binary (KD_BIN): each condition's node root
// holds kubelet files made by the test and its kubeconfig names real TLS
// servers on 127.0.0.1. Each condition goes True for a broken node, then
// False once the node is fixed, as NPD itself reports it.
package nodestate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/npdconfig"
	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
	"github.com/kubelet-doctor/kubelet-doctor/test/npdtest"
	"github.com/kubelet-doctor/kubelet-doctor/test/pkitest"
)

const (
	interval = time.Second
	// phaseTimeout covers the probes' cache (25s: a fixed server is seen
	// once the cached finding ages out) plus a few plugin runs on a busy
	// machine.
	phaseTimeout = 90 * time.Second
	kubeletConf  = "/etc/kubernetes/kubelet.conf"
	bootConf     = "/etc/kubernetes/bootstrap-kubelet.conf"
	current      = "/var/lib/kubelet/pki/kubelet-client-current.pem"
	// planted secrets: they must appear nowhere in NPD's log.
	plantedToken = "q1w2e3.planted0secret00"
)

// scenario breaks and fixes one condition's node.
type scenario struct {
	cond   string
	config string // committed NPD config file
	broken func(n *node)
	cause  string // in the True message
	fixed  func(n *node)
}

type node struct {
	t    testing.TB
	root string
	ca   *pkitest.Pair
}

func (n *node) write(p string, data []byte, mode os.FileMode) {
	pkitest.Write(n.t, n.root, p, data, mode)
}

// joined makes the node a kubeadm node whose kubelet.conf names server and
// whose client certificate is valid in [nb, na].
func (n *node) joined(server string, nb, na time.Time) {
	n.write(kubeletConf, pkitest.KC{Server: server, CAPath: "/etc/kubernetes/pki/ca.crt", CertPath: current, KeyPath: current}.YAML(), 0o600)
	leaf := n.ca.Issue(n.t, pkitest.Leaf{CN: "system:node:worker-1", Orgs: []string{"system:nodes"}, Client: true, NotBefore: nb, NotAfter: na})
	dated := "/var/lib/kubelet/pki/kubelet-client-" + strconv.FormatInt(time.Now().UnixNano(), 10) + ".pem"
	n.write(dated, leaf.CombinedPEM(), 0o600)
	os.Remove(filepath.Join(n.root, current))
	pkitest.Symlink(n.t, n.root, current, dated)
}

func scenarios(t *testing.T, ca *pkitest.Pair) []scenario {
	now := time.Now()
	serving := ca.Issue(t, pkitest.Leaf{CN: "kube-apiserver", Server: true, DNS: []string{"localhost"}, IPs: pkitest.Loopback()})
	good := "https://" + pkitest.ServeTLS(t, serving, 403)
	impostor := pkitest.NewCA(t, "impostor", time.Time{}, time.Time{})
	untrusted := "https://" + pkitest.ServeTLS(t, impostor.Issue(t, pkitest.Leaf{CN: "kube-apiserver", Server: true, IPs: pkitest.Loopback()}), 403)
	refused := "https://" + pkitest.Refused(t)
	return []scenario{
		{cond: condition.TypeCertificate, config: "kubelet-certificate.json",
			broken: func(n *node) { n.joined(good, now.Add(-400*24*time.Hour), now.Add(-time.Hour)) },
			cause:  "client certificate expired",
			fixed:  func(n *node) { n.joined(good, now.Add(-time.Hour), now.Add(300*24*time.Hour)) }},
		{cond: condition.TypeCATrust, config: "kubelet-ca-trust.json",
			broken: func(n *node) { n.joined(untrusted, now.Add(-time.Hour), now.Add(300*24*time.Hour)) },
			cause:  "x509 unknown authority",
			fixed:  func(n *node) { n.joined(good, now.Add(-time.Hour), now.Add(300*24*time.Hour)) }},
		{cond: condition.TypeBootstrap, config: "kubelet-bootstrap.json",
			broken: func(n *node) {
				n.write(bootConf, pkitest.KC{Server: good, CAData: ca.CertPEM, Token: "NOT-A-TOKEN." + plantedToken}.YAML(), 0o600)
			},
			cause: "bootstrap token malformed",
			fixed: func(n *node) {
				n.write(bootConf, pkitest.KC{Server: good, CAData: ca.CertPEM, Token: plantedToken[:6] + "." + "0123456789abcdef"}.YAML(), 0o600)
			}},
		{cond: condition.TypeAPIServer, config: "kubelet-apiserver-connectivity.json",
			broken: func(n *node) { n.joined(refused, now.Add(-time.Hour), now.Add(300*24*time.Hour)) },
			cause:  "connection refused",
			fixed:  func(n *node) { n.joined(good, now.Add(-time.Hour), now.Add(300*24*time.Hour)) }},
	}
}

func TestNodeStateThroughNPD(t *testing.T) {
	npd, bin := os.Getenv("KD_NPD"), os.Getenv("KD_BIN")
	if npd == "" || bin == "" {
		t.Skip("KD_NPD and KD_BIN must both be set; `make e2e` sets them")
	}
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "kubernetes", time.Time{}, time.Time{})
	scs := scenarios(t, ca)
	nodes := map[string]*node{}
	var configs []string
	for i, sc := range scs {
		n := &node{t: t, root: filepath.Join(dir, fmt.Sprint(i), "root"), ca: ca}
		nodes[sc.cond] = n
		n.write("/etc/hostname", []byte("worker-1\n"), 0o644)
		n.write("/etc/kubernetes/pki/ca.crt", ca.CertPEM, 0o644)
		n.write("/var/lib/kubelet/config.yaml", []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nrotateCertificates: true\n"), 0o644)
		healthyJournal(t, n.root)
		sc.broken(n)
		configs = append(configs, writeConfig(t, filepath.Join(dir, fmt.Sprint(i)), sc.config, bin, n.root))
	}
	p := &npdProc{npdtest.Start(t, npd, dir, configs)}
	for _, sc := range scs {
		p.waitFor(t, sc.cond+" True", func() string { return p.last(sc.cond, "True", sc.cause) })
	}
	for _, sc := range scs {
		sc.fixed(nodes[sc.cond])
	}
	for _, sc := range scs {
		c, _ := condition.ByType(sc.cond)
		p.waitFor(t, sc.cond+" False", func() string { return p.last(sc.cond, "False", c.HealthyReason) })
	}
	log := p.log()
	for _, secret := range []string{plantedToken, "planted0secret", "PRIVATE KEY"} {
		if strings.Contains(log, secret) {
			t.Errorf("NPD's log holds %q", secret)
		}
	}
}

// healthyJournal writes a kubelet that started 9 minutes ago and
// registered: the journal has nothing against any condition.
func healthyJournal(t testing.TB, root string) {
	at := time.Now().Add(-9 * time.Minute)
	kl := func(i int, src, msg string) journalexport.Entry {
		ts := at.Add(time.Duration(i) * time.Millisecond)
		return journalexport.Kubelet(ts, fmt.Sprintf("I%s %7d %s] %s", ts.UTC().Format("0102 15:04:05.000000"), journalexport.KubeletPID, src, msg))
	}
	entries := []journalexport.Entry{
		journalexport.Systemd(at, "kubelet.service", "Started kubelet.service - kubelet: The Kubernetes Node Agent."),
		kl(1, "server.go:529", `"Kubelet version" kubeletVersion="v1.34.4"`),
		kl(2, "kubelet.go:2488", `"Starting kubelet main sync loop"`),
		kl(3, "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`),
	}
	if err := journalexport.Append(filepath.Join(root, "var/log/journal", journalexport.MachineID, "system.journal"), entries); err != nil {
		t.Fatal(err)
	}
}

func writeConfig(t *testing.T, dir, name, bin, root string) string {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "npd", name))
	if err != nil {
		t.Fatal(err)
	}
	out, err := npdconfig.Rewrite(data, npdconfig.Local{Bin: bin, Root: root, StateDir: filepath.Join(dir, "state"), Interval: interval,
		Keep: func(typ, _, _ string) bool { return typ == "permanent" }})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// npdProc is one standalone NPD (test/npdtest) with what this suite
// reads from it: its -v=3 log records every plugin run and condition change.
type npdProc struct{ *npdtest.NPD }

func (p *npdProc) log() string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

var changeRE = regexp.MustCompile(`Node condition (\w+) is now: (\w+), reason: (\w*), message: ("(?:[^"\\]|\\.)*")`)

// last checks NPD's last logged change of cond: its status, and want in
// its reason or message. "" when it matches.
func (p *npdProc) last(cond, status, want string) string {
	var got []string
	for _, m := range changeRE.FindAllStringSubmatch(p.log(), -1) {
		if m[1] == cond {
			got = m
		}
	}
	if got == nil {
		return "no change of " + cond + " logged"
	}
	msg, _ := strconv.Unquote(got[4])
	if got[2] != status || !strings.Contains(got[3]+" "+msg, want) {
		return fmt.Sprintf("last change %s %s %q, want %s with %q", got[2], got[3], msg, status, want)
	}
	return ""
}

func (p *npdProc) waitFor(t *testing.T, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(phaseTimeout)
	for {
		select {
		case <-p.Done():
			lines := strings.Split(strings.TrimSpace(p.log()), "\n")
			t.Fatalf("%s: NPD exited; its log ends:\n%s", what, strings.Join(lines[max(0, len(lines)-20):], "\n"))
		default:
		}
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s\nNPD log:\n%s", what, phaseTimeout, missing, tail(p.log()))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	var kept []string
	for _, l := range lines {
		if strings.Contains(l, "Node condition") || strings.Contains(l, "error") || strings.Contains(l, "Rule: ") {
			kept = append(kept, l)
		}
	}
	if len(kept) > 60 {
		kept = kept[len(kept)-60:]
	}
	return strings.Join(kept, "\n")
}
