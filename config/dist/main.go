// Command dist writes the configuration half of the host-install release
// tarball (scripts/dist.sh, `make dist`): the NPD configs of config/npd with
// their paths rendered for a host install under -prefix, a systemd unit that
// runs a second NPD beside the stock one, and the README on credentials.
//
//	go run ./config/dist -prefix /opt/kubelet-doctor -out STAGE
//
// writes STAGE/config/*.json, STAGE/config/systemd/kubelet-doctor-npd.service
// and STAGE/README.md.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npdconfig"
)

// Host is where the tarball's parts live on a node.
type Host struct {
	Prefix     string // the tarball is unpacked here
	Kubeconfig string // NPD's own ServiceAccount kubeconfig
	EnvFile    string // optional NODE_NAME=...
	// Reference is where an operator may put the cluster's kubelet config
	// for the drift checks: the DaemonSet's mount path, on the host. The
	// rules pass it with --reference-optional, so without it they only
	// skip drift.
	Reference string
	// Ports of the second NPD: the stock one listens on 20256 (healthz) and
	// 20257 (Prometheus).
	HealthzPort, PrometheusPort int
	Configs                     []string // absolute paths of the config files
}

// Unit is the systemd unit's file name.
const Unit = "kubelet-doctor-npd.service"

func main() {
	h := Host{Kubeconfig: "/etc/kubelet-doctor/npd.kubeconfig", EnvFile: "/etc/kubelet-doctor/npd.env", Reference: npdconfig.Reference, HealthzPort: 20258, PrometheusPort: 20259}
	flag.StringVar(&h.Prefix, "prefix", "/opt/kubelet-doctor", "install prefix on the node (bin/, config/)")
	out := flag.String("out", "", "staging directory (required)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 || !filepath.IsAbs(h.Prefix) {
		fmt.Fprintln(os.Stderr, "usage: dist -out STAGE [-prefix /ABSOLUTE/PATH]")
		os.Exit(2)
	}
	if err := write(*out, h); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

// write renders every file into out.
func write(out string, h Host) error {
	files, err := render(h)
	if err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// render returns the files by their path in the tarball.
func render(h Host) (map[string][]byte, error) {
	shipped, err := npdconfig.Files()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(shipped))
	for n := range shipped {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string][]byte{}
	for _, n := range names {
		// The host's own root and state: no /host bind mount outside a pod,
		// and no ConfigMap mount: the reference is a file an operator puts there.
		data, err := npdconfig.Rewrite(shipped[n], npdconfig.Local{
			Bin: filepath.Join(h.Prefix, "bin", "kubelet-doctor"), Root: "/", StateDir: npdconfig.StateDir,
			Reference: h.Reference,
		})
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", n, err)
		}
		out[filepath.Join("config", n)] = data
		h.Configs = append(h.Configs, filepath.Join(h.Prefix, "config", n))
	}
	for name, tmpl := range map[string]*template.Template{filepath.Join("config", "systemd", Unit): unitTmpl, "README.md": readmeTmpl} {
		var b bytes.Buffer
		if err := tmpl.Execute(&b, h); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		out[name] = b.Bytes()
	}
	return out, nil
}

var funcs = template.FuncMap{"join": strings.Join}

// unitTmpl runs NPD with kubelet-doctor's configs only, on ports of its own,
// with the same view of the host as the DaemonSet: everything read-only but
// the state directory, and no capability but reading any file.
var unitTmpl = template.Must(template.New("unit").Funcs(funcs).Parse(`# node-problem-detector running kubelet-doctor's plugins, beside the stock
# node-problem-detector.service (which keeps its own configs and ports).
# Installed from the kubelet-doctor release tarball; see {{.Prefix}}/README.md.
[Unit]
Description=node-problem-detector with kubelet-doctor's kubelet conditions
Documentation=file:{{.Prefix}}/README.md
Wants=network-online.target
After=network-online.target
# Not After= or Requires=kubelet.service: this must run when the kubelet cannot.
# Without its own credentials NPD cannot publish; the README says how to make them.
ConditionPathExists={{.Kubeconfig}}

[Service]
# NODE_NAME=<the Node's name> when it is not the hostname (kubelet --hostname-override).
EnvironmentFile=-{{.EnvFile}}
# The API server comes from the kubeconfig: NPD's own ServiceAccount, never the
# kubelet's credentials, which are what the reported failures break.
ExecStart={{.Prefix}}/bin/node-problem-detector \
    --apiserver-override=?inClusterConfig=false&auth={{.Kubeconfig}} \
    --config.custom-plugin-monitor={{join .Configs ","}} \
    --address=127.0.0.1 --port={{.HealthzPort}} \
    --prometheus-address=127.0.0.1 --prometheus-port={{.PrometheusPort}}
Restart=always
RestartSec=10
StateDirectory=kubelet-doctor
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=/var/lib/kubelet-doctor
PrivateTmp=yes
NoNewPrivileges=yes
CapabilityBoundingSet=CAP_DAC_READ_SEARCH

[Install]
WantedBy=multi-user.target
`))

var readmeTmpl = template.Must(template.New("readme").Funcs(funcs).Parse(`# kubelet-doctor for a host install

A second node-problem-detector (NPD) on the node, beside the stock one, running only
kubelet-doctor's conditions. Use it where the DaemonSet cannot reach: a node whose kubelet
never registers has no Node object, so no pod runs there. NPD keeps running without the
Node, shows the problem on its Prometheus endpoint (127.0.0.1:{{.PrometheusPort}}), and
publishes the conditions once the Node exists.

| path | what |
|---|---|
| bin/kubelet-doctor | the plugin (cgo: needs glibc ≥ 2.36 and libsystemd.so.0 on the node) |
| bin/node-problem-detector | node-problem-detector v1.36.0 |
| config/*.json | one NPD config per condition, rule path {{.Prefix}}/bin/kubelet-doctor, --root=/ |
| config/systemd/kubelet-doctor-npd.service | the unit: ports {{.HealthzPort}} and {{.PrometheusPort}}, the stock NPD keeps 20256 and 20257 |
| config/kubernetes/rbac.yaml | the ServiceAccount and the rights NPD needs |

## Install

    sha512sum -c kubelet-doctor-*.tar.gz.sha512
    mkdir -p {{.Prefix}} && tar -xzf kubelet-doctor-*.tar.gz -C {{.Prefix}}
    cp {{.Prefix}}/config/systemd/kubelet-doctor-npd.service /etc/systemd/system/
    # credentials, below, then:
    systemctl daemon-reload && systemctl enable --now kubelet-doctor-npd.service

The paths in config/ and in the unit are rendered for {{.Prefix}}; unpack there.

## Credentials

NPD's k8s exporter publishes with **its own ServiceAccount**, never with the kubelet's
kubeconfig (/etc/kubernetes/kubelet.conf): the failures kubelet-doctor reports (an expired
client certificate, a CA the kubelet does not trust, a rejected bootstrap token) are the
ones that break the kubelet's credentials, and the node identity may not patch conditions
it does not own anyway. From a machine with cluster-admin:

    kubectl apply -f {{.Prefix}}/config/kubernetes/rbac.yaml
    # a token-type Secret gives a token that does not expire; rotate it by deleting the Secret
    kubectl -n kube-system apply -f - <<'EOF'
    apiVersion: v1
    kind: Secret
    metadata:
      name: kubelet-doctor-npd-token
      namespace: kube-system
      annotations:
        kubernetes.io/service-account.name: kubelet-doctor
    type: kubernetes.io/service-account-token
    EOF
    TOKEN=$(kubectl -n kube-system get secret kubelet-doctor-npd-token -o jsonpath='{.data.token}' | base64 -d)

(or a bound token, ` + "`kubectl -n kube-system create token kubelet-doctor --duration=24h`" + `, renewed by your own job).
On the node, with the cluster's CA certificate and the API server's address:

    install -d -m 0700 /etc/kubelet-doctor
    K="kubectl --kubeconfig={{.Kubeconfig}}"
    $K config set-cluster cluster --server=https://API_SERVER:6443 --certificate-authority=ca.crt --embed-certs
    $K config set-credentials kubelet-doctor --token="$TOKEN"
    $K config set-context default --cluster=cluster --user=kubelet-doctor
    $K config use-context default
    chmod 0600 {{.Kubeconfig}}

Keep the cluster CA in this file even when the kubelet's copy is the broken one: NPD then
still reports KubeletCATrustProblem. When the Node's name is not the hostname, write
NODE_NAME=<name> into {{.EnvFile}}.

## Drift from the cluster's kubelet config (optional)

KubeletConfigProblem and KubeletDNSProblem compare the node's kubelet config with the
cluster's when {{.Reference}} exists (the rules pass --reference={{.Reference}}
--reference-optional; the DaemonSet mounts kube-system/kubelet-config there). Without the
file, drift is not checked and the conditions say so in kubelet-doctor explain. On a
kubeadm cluster, copy the ConfigMap's key there:

    kubectl -n kube-system get configmap kubelet-config -o jsonpath='{.data.kubelet}' > kubelet
    install -D -m 0644 kubelet {{.Reference}}

Refresh it when the cluster's config changes (kubeadm upgrade): a stale copy reports drift
on nodes that are right. A file that is there but unreadable or not a kubelet config makes
both conditions Unknown.

## Check

    curl -s 127.0.0.1:{{.PrometheusPort}}/metrics | grep ^problem_gauge
    kubectl describe node NODE        # one condition per config file, once the Node exists
`))
