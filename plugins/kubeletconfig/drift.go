package kubeletconfig

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// defaultIgnore are the fields that differ between nodes of one healthy
// cluster, with the reason; drift ignores them (and every field under them).
// --drift-ignore adds to the list.
var defaultIgnore = []struct{ Field, Why string }{
	{"providerID", "the cloud's ID of this one machine"},
	{"address", "the node's own bind address"},
	{"podCIDR", "allocated per node (standalone mode)"},
	{"tlsCertFile", "the node's serving certificate, often named after the node"},
	{"tlsPrivateKeyFile", "the key of that serving certificate"},
	{"resolvConf", "kubeadm sets it per node: /run/systemd/resolve/resolv.conf where systemd-resolved runs"},
	{"containerRuntimeEndpoint", "kubeadm sets it per node from nodeRegistration.criSocket"},
	{"maxPods", "sized per instance type (EKS: ENI limits)"},
	{"kubeReserved", "sized per instance type (EKS, GKE, AKS compute it from the node's size)"},
	{"systemReserved", "sized per instance type like kubeReserved"},
	{"reservedSystemCPUs", "names CPUs of this machine"},
	{"reservedMemory", "names NUMA nodes of this machine"},
	{"registerWithTaints", "set per node pool"},
	{"staticPodURL", "per-node static pod source"},
	{"staticPodURLHeader", "per-node static pod source"},
}

// defaultsYAML are the kubelet's v1beta1 defaults (SetDefaults_KubeletConfiguration
// of Kubernetes 1.36, and component-base's for logging) for the fields a
// cluster reference commonly sets: a
// field unset on one side reads as its default, so that a reference that
// spells out a default does not read as drift from a node that leaves it out.
const defaultsYAML = `
enableServer: true
syncFrequency: 1m
fileCheckFrequency: 20s
httpCheckFrequency: 20s
port: 10250
authentication: {anonymous: {enabled: false}, webhook: {enabled: true, cacheTTL: 2m}}
authorization: {mode: Webhook, webhook: {cacheAuthorizedTTL: 5m, cacheUnauthorizedTTL: 30s}}
registryPullQPS: 5
registryBurst: 10
eventRecordQPS: 50
eventBurst: 100
enableDebuggingHandlers: true
healthzPort: 10248
healthzBindAddress: 127.0.0.1
oomScoreAdj: -999
streamingConnectionIdleTimeout: 4h
nodeStatusUpdateFrequency: 10s
nodeStatusReportFrequency: 5m
nodeLeaseDurationSeconds: 40
imageMinimumGCAge: 2m
imageGCHighThresholdPercent: 85
imageGCLowThresholdPercent: 80
volumeStatsAggPeriod: 1m
cgroupsPerQOS: true
cgroupDriver: cgroupfs
cpuManagerPolicy: none
cpuManagerReconcilePeriod: 10s
memoryManagerPolicy: None
topologyManagerPolicy: none
topologyManagerScope: container
runtimeRequestTimeout: 2m
hairpinMode: promiscuous-bridge
maxPods: 110
podPidsLimit: -1
resolvConf: /etc/resolv.conf
cpuCFSQuota: true
cpuCFSQuotaPeriod: 100ms
nodeStatusMaxImages: 50
maxOpenFiles: 1000000
contentType: application/vnd.kubernetes.protobuf
kubeAPIQPS: 50
kubeAPIBurst: 100
serializeImagePulls: true
evictionPressureTransitionPeriod: 5m
evictionHard: {memory.available: 100Mi, nodefs.available: 10%, nodefs.inodesFree: 5%, imagefs.available: 15%, imagefs.inodesFree: 5%}
mergeDefaultEvictionSettings: false
enableControllerAttachDetach: true
makeIPTablesUtilChains: true
iptablesMasqueradeBit: 14
iptablesDropBit: 15
failSwapOn: true
containerLogMaxSize: 10Mi
containerLogMaxFiles: 5
containerLogMaxWorkers: 1
containerLogMonitorInterval: 10s
configMapAndSecretChangeDetectionStrategy: Watch
enforceNodeAllocatable: [pods]
volumePluginDir: /usr/libexec/kubernetes/kubelet-plugins/volume/exec/
enableSystemLogHandler: true
enableProfilingHandler: true
enableDebugFlagsHandler: true
seccompDefault: false
failCgroupV1: true
memoryThrottlingFactor: 0.9
registerNode: true
localStorageCapacityIsolation: true
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
podLogsDir: /var/log/pods
rotateCertificates: false
serverTLSBootstrap: false
readOnlyPort: 0
logging: {format: text, flushFrequency: 5s, verbosity: 0, options: {json: {infoBufferSize: "0"}, text: {infoBufferSize: "0"}}}
`

// defaults is defaultsYAML flattened; whole maps (evictionHard) default as
// a unit, see leaves.
var defaults = sync.OnceValue(func() map[string]string {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(defaultsYAML), &m); err != nil {
		panic(fmt.Sprintf("kubeletconfig: defaults: %v", err)) // a constant: caught by every test
	}
	out := map[string]string{}
	flatten("", m, out)
	return out
})

// Diff is one field that differs from the reference.
type Diff struct {
	Field           string
	Node, Reference string // normalised values; "" is unset
}

// Drift compares the node's merged config with the reference, field by
// field, skipping ignored fields (and their subfields). Unset fields read as
// their defaults; a map the reference sets as a whole (evictionHard) is
// compared as the kubelet would apply it.
func Drift(node, ref map[string]any, ignore []string) []Diff {
	n, r := leaves(node), leaves(ref)
	var out []Diff
	for _, k := range unionKeys(n, r) {
		if k == "apiVersion" || k == "kind" || ignored(k, ignore) {
			continue
		}
		nv, nok := n[k]
		rv, rok := r[k]
		if !nok || unsetZero(k, nv) {
			nv = defaults()[k]
		}
		if !rok || unsetZero(k, rv) {
			rv = defaults()[k]
		}
		if nv != rv {
			out = append(out, Diff{Field: k, Node: nv, Reference: rv})
		}
	}
	slices.SortStableFunc(out, func(a, b Diff) int { return priority(a.Field) - priority(b.Field) })
	return out
}

// leaves flattens a config; an unset evictionHard takes the default map
// before flattening, since the kubelet replaces the map as a whole.
func leaves(doc map[string]any) map[string]string {
	out := map[string]string{}
	flatten("", doc, out)
	if _, ok := doc["evictionHard"]; !ok {
		for k, v := range defaults() {
			if strings.HasPrefix(k, "evictionHard.") {
				out[k] = v
			}
		}
	}
	return out
}

// flatten writes every leaf of v under prefix, values normalised.
func flatten(prefix string, v any, out map[string]string) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = normalise(prefix, v)
		return
	}
	for k, sub := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		flatten(p, sub, out)
	}
}

// quantityMaps hold resource quantities: 1Gi and 1024Mi are the same.
var quantityMaps = []string{"kubeReserved.", "systemReserved.", "evictionHard.", "evictionSoft.", "evictionMinimumReclaim."}

func normalise(field string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if slices.ContainsFunc(quantityMaps, func(p string) bool { return strings.HasPrefix(field, p) }) {
			if q, err := resource.ParseQuantity(x); err == nil {
				return q.String()
			}
			return x
		}
		if d, err := time.ParseDuration(x); err == nil && x != "0" {
			return d.String()
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		// A list of strings reads as the kubelet's flags spell it: a,b.
		var ss []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				ss = append(ss, s)
			}
		}
		if len(ss) == len(x) && len(ss) > 0 {
			return strings.Join(ss, ",")
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// zeroDefaulted are the non-pointer numeric fields whose 0 the kubelet
// replaces with the default.
var zeroDefaulted = []string{"port", "registryBurst", "eventBurst", "nodeLeaseDurationSeconds", "maxPods",
	"maxOpenFiles", "kubeAPIBurst", "logging.flushFrequency"}

// unsetZero: kubeadm writes every unset duration as "0s" and unset strings
// as "", and the kubelet defaults them as if absent.
func unsetZero(field, v string) bool {
	return v == "0s" || v == "" || (v == "0" && slices.Contains(zeroDefaulted, field))
}

func ignored(field string, ignore []string) bool {
	for _, i := range ignore {
		if field == i || strings.HasPrefix(field, i+".") {
			return true
		}
	}
	return false
}

// IgnoreList is the default list plus extra.
func IgnoreList(extra []string) []string {
	out := make([]string, 0, len(defaultIgnore)+len(extra))
	for _, d := range defaultIgnore {
		out = append(out, d.Field)
	}
	return append(out, extra...)
}

func unionKeys(a, b map[string]string) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// leading fields are named first: they break nodes, the rest tunes them.
var leading = []string{"clusterDomain", "clusterDNS", "cgroupDriver", "authentication", "authorization",
	"containerRuntimeEndpoint", "failSwapOn", "rotateCertificates", "serverTLSBootstrap", "staticPodPath"}

func priority(field string) int {
	top, _, _ := strings.Cut(field, ".")
	if i := slices.Index(leading, top); i >= 0 {
		return i
	}
	return len(leading)
}

// DriftSummary names the differing fields, the first with its values
// (node!=reference) when they are short: "clusterDomain
// cluster.local!=corp.local, cgroupDriver". Several fields under one map
// are named once by the map.
func DriftSummary(ds []Diff) string {
	count := map[string]int{}
	for _, d := range ds {
		top, _, _ := strings.Cut(d.Field, ".")
		count[top]++
	}
	var parts []string
	seen := map[string]bool{}
	for i, d := range ds {
		top, _, _ := strings.Cut(d.Field, ".")
		name := d.Field
		if count[top] > 1 {
			name = top
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		if i == 0 && count[top] == 1 && len(d.Node)+len(d.Reference) <= 40 {
			name += " " + orUnset(d.Node) + "!=" + orUnset(d.Reference)
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, ", ")
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}
