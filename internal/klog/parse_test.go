package klog

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Lines built from the kubelet's format strings (docs/kubelet-messages.md).
const (
	lineRegisterRefused   = `E1125 10:00:00.123456    1234 kubelet_node_status.go:107] "Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": dial tcp 10.0.0.10:6443: connect: connection refused" node="worker-1"`
	lineRegisterForbidden = `E1125 10:00:01.123456    1234 kubelet_node_status.go:113] "Unable to register node with API server, error getting existing node" err="nodes \"worker-1\" is forbidden: User \"system:anonymous\" cannot get resource \"nodes\" in API group \"\" at the cluster scope" node="worker-1"`
	lineLeaseRefused      = `E1125 10:00:02.223456    1234 controller.go:145] "Failed to ensure lease exists, will retry" err="Get \"https://10.0.0.10:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s\": dial tcp 10.0.0.10:6443: connect: connection refused" interval="7s"`
	lineStatusTimeout     = `E1125 10:00:03.323456    1234 kubelet_node_status.go:486] "Error updating node status, will retry" err="error getting node \"worker-1\": Get \"https://10.0.0.10:6443/api/v1/nodes/worker-1?resourceVersion=0&timeout=10s\": net/http: request canceled (Client.Timeout exceeded while awaiting headers)"`
	lineStatusRetries     = `E1125 10:00:04.423456    1234 kubelet_node_status.go:473] "Unable to update node status" err="update node status exceeds retry count"`
	lineBootstrapMissing  = `E1125 10:00:05.000001    1234 run.go:72] "command failed" err="failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory"`
	lineCSRUnauthorized   = `E1125 10:00:06.000001    1234 certificate_manager.go:596] "Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Unauthorized" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"`
	lineServingPending    = `E1125 10:15:06.000001    1234 certificate_manager.go:613] "Certificate request was not signed" err="timed out waiting for the condition" logger="kubernetes.io/kubelet-serving.UnhandledError"`
	lineRotationEnabled   = `I1125 10:00:07.000001    1234 certificate_manager.go:422] "Certificate rotation is enabled" logger="kubernetes.io/kube-apiserver-client-kubelet"`
	lineUnknownAuthority  = `E1125 10:00:08.000001    1234 kubelet_node_status.go:107] "Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`
	lineConfigMissing     = `E1125 10:00:09.000001    1234 run.go:72] "command failed" err="failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory"`
	lineSwapOn            = `E1125 10:00:10.000001    1234 run.go:72] "command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false"`
	lineWatchForbidden    = `E1125 10:00:11.000001    1234 reflector.go:205] "Failed to watch" err="failed to list *v1.Service: services is forbidden: User \"system:anonymous\" cannot list resource \"services\" in API group \"\" at the cluster scope" logger="UnhandledError" reflector="k8s.io/client-go/informers/factory.go:160" type="*v1.Service"`
	lineBootstrapExpired  = `E1125 10:00:12.000001    1234 bootstrap.go:266] "Unhandled Error" err="part of the existing bootstrap client certificate in /var/lib/kubelet/kubeconfig is expired: 2025-11-01 10:00:00 +0000 UTC" logger="UnhandledError"`
	lineNetworkNotReady   = `E1125 10:00:13.000001    1234 kubelet.go:3012] "Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"`
	lineNameservers       = `E1125 10:00:14.000001 1457370 dns.go:153] "Nameserver limits exceeded" err="Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4"`
	lineLenientDecoding   = `I1125 10:00:15.000001    1234 codec.go:102] "Using lenient decoding as strict decoding failed" err="strict decoding error: unknown field \"evictionHardd\""`
	lineFailedToConnect   = `I1125 10:00:16.000001    1234 bootstrap.go:296] "Failed to connect to apiserver" err="Get \"https://10.0.0.10:6443/healthz?timeout=1s\": dial tcp 10.0.0.10:6443: i/o timeout"`
	lineBareValues        = `I1125 10:00:17.000001    1234 kubelet.go:2460] "SyncLoop (PLEG): event for pod" count=3 ready=true pod={Name:web-0 Namespace:default} containers=[app sidecar] ptr=<nil> interval="7s"`
	lineNonASCII          = `W1125 10:00:18.000001    1234 kuberuntime_manager.go:1] "Caf\u00e9 \"quoted\"\tand tab" path="C:\\temp\\x" note="sn\u00f8w \U0001F600"`

	lineLegacyRegister = `E1125 10:00:00.000001    4321 kubelet_node_status.go:106] Unable to register node "worker-1" with API server: Post https://192.0.2.10:6443/api/v1/nodes: x509: certificate signed by unknown authority`
	lineLegacyFatal    = `F1125 10:00:00.000001    4321 server.go:274] failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory`
	lineLegacyReflect  = `W1125 10:00:00.000001    4321 reflector.go:324] k8s.io/client-go/informers/factory.go:134: failed to list *v1.Service: services is forbidden: User "system:anonymous" cannot list resource "services" in API group "" at the cluster scope`
	lineLegacyLease    = `E1125 10:00:00.000001    4321 controller.go:136] failed to ensure node lease exists, will retry in 7s, error: Unauthorized`
	lineLegacyCSR      = `E1125 10:00:00.000001    4321 certificate_manager.go:471] kubernetes.io/kube-apiserver-client-kubelet: Failed while requesting a signed certificate from the control plane: cannot create certificate signing request: Unauthorized`
	lineLegacyNotFound = `E1125 10:00:00.000001    4321 kubelet.go:2240] node "worker-1" not found`
	lineLegacyTLS      = `I1125 10:00:00.000001    4321 log.go:184] http: TLS handshake error from 10.0.0.10:53412: no serving certificate available for the kubelet`

	lineErrorStderr   = `Error: failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint "unix:///run/containerd/containerd.sock": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or directory"`
	lineErrorOld      = `error: failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory`
	lineFlagDeprecate = `Flag --cgroup-driver has been deprecated, This parameter should be set via the config file specified by the Kubelet's --config flag.`
	lineSystemdExit   = `kubelet.service: Main process exited, code=exited, status=1/FAILURE`

	lineJSON       = `{"ts":1732528801123.456,"caller":"dns/dns.go:153","msg":"Nameserver limits exceeded","err":"Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4"}`
	lineJSONInfo   = `{"ts":1732528801123.456,"caller":"app/server.go:529","msg":"Kubelet version","v":0,"kubeletVersion":"v1.34.4"}`
	lineJSONInfoEr = `{"v":0,"msg":"Failed to connect to apiserver","caller":"bootstrap/bootstrap.go:296","err":"Get \"https://10.0.0.10:6443/healthz?timeout=1s\": dial tcp 10.0.0.10:6443: i/o timeout","ts":1732528801123.456}`
	lineJSONNested = `{"ts":1,"caller":"kubelet/kubelet.go:1","msg":"Pod status","v":4,"pod":{"name":"web-0","namespace":"default"},"ports":[80,443],"ok":true,"none":null,"s":"caf\u00e9 \ud83d\ude00 \"q\"\/"}`
)

func kvs(pairs ...string) []KV {
	out := make([]KV, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, KV{Key: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func kvsRepeat(k, v string, n int) []KV {
	out := make([]KV, n)
	for i := range out {
		out[i] = KV{Key: k, Value: v}
	}
	return out
}

// view drops the unexported bookkeeping so tests compare what callers see.
func view(l Line) Line {
	l.pendingKV, l.pendingN, l.closes = 0, 0, false
	if len(l.KVs) == 0 {
		l.KVs = nil
	}
	return l
}

type parseCase struct {
	name string
	line string
	want Line
}

// catalogue are kubelet lines as one journald MESSAGE holds them; every
// wrapper in wrappers must parse to the same Line.
var catalogue = []parseCase{
	{"structured error with nested quoted URL", lineRegisterRefused, Line{
		Format: FormatStructured, Severity: 'E', Source: "kubelet_node_status.go:107",
		Msg: "Unable to register node with API server",
		Err: `Post "https://10.0.0.10:6443/api/v1/nodes": dial tcp 10.0.0.10:6443: connect: connection refused`,
		KVs: kvs("node", "worker-1"),
	}},
	{"structured error with quoted empty API group", lineRegisterForbidden, Line{
		Format: FormatStructured, Severity: 'E', Source: "kubelet_node_status.go:113",
		Msg: "Unable to register node with API server, error getting existing node",
		Err: `nodes "worker-1" is forbidden: User "system:anonymous" cannot get resource "nodes" in API group "" at the cluster scope`,
		KVs: kvs("node", "worker-1"),
	}},
	{"structured lease error with interval", lineLeaseRefused, Line{
		Format: FormatStructured, Severity: 'E', Source: "controller.go:145",
		Msg: "Failed to ensure lease exists, will retry",
		Err: `Get "https://10.0.0.10:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s": dial tcp 10.0.0.10:6443: connect: connection refused`,
		KVs: kvs("interval", "7s"),
	}},
	{"structured error as last pair", lineStatusTimeout, Line{
		Format: FormatStructured, Severity: 'E', Source: "kubelet_node_status.go:486",
		Msg: "Error updating node status, will retry",
		Err: `error getting node "worker-1": Get "https://10.0.0.10:6443/api/v1/nodes/worker-1?resourceVersion=0&timeout=10s": net/http: request canceled (Client.Timeout exceeded while awaiting headers)`,
	}},
	{"structured error without escapes", lineStatusRetries, Line{
		Format: FormatStructured, Severity: 'E', Source: "kubelet_node_status.go:473",
		Msg: "Unable to update node status", Err: "update node status exceeds retry count",
	}},
	{"command failed from cli run.go", lineBootstrapMissing, Line{
		Format: FormatStructured, Severity: 'E', Source: "run.go:72", Msg: "command failed",
		Err: "failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory",
	}},
	{"contextual logger name with dots", lineCSRUnauthorized, Line{
		Format: FormatStructured, Severity: 'E', Source: "certificate_manager.go:596",
		Msg: "Failed while requesting a signed certificate from the control plane",
		Err: "cannot create certificate signing request: Unauthorized",
		KVs: kvs("logger", "kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"),
	}},
	{"serving certificate not signed", lineServingPending, Line{
		Format: FormatStructured, Severity: 'E', Source: "certificate_manager.go:613",
		Msg: "Certificate request was not signed", Err: "timed out waiting for the condition",
		KVs: kvs("logger", "kubernetes.io/kubelet-serving.UnhandledError"),
	}},
	{"info without err", lineRotationEnabled, Line{
		Format: FormatStructured, Severity: 'I', Source: "certificate_manager.go:422",
		Msg: "Certificate rotation is enabled", KVs: kvs("logger", "kubernetes.io/kube-apiserver-client-kubelet"),
	}},
	{"x509 inside err", lineUnknownAuthority, Line{
		Format: FormatStructured, Severity: 'E', Source: "kubelet_node_status.go:107",
		Msg: "Unable to register node with API server",
		Err: `Post "https://10.0.0.10:6443/api/v1/nodes": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
		KVs: kvs("node", "worker-1"),
	}},
	{"config file missing with quoted path", lineConfigMissing, Line{
		Format: FormatStructured, Severity: 'E', Source: "run.go:72", Msg: "command failed",
		Err: `failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file "/var/lib/kubelet/config.yaml", error: open /var/lib/kubelet/config.yaml: no such file or directory`,
	}},
	{"swap failure", lineSwapOn, Line{
		Format: FormatStructured, Severity: 'E', Source: "run.go:72", Msg: "command failed",
		Err: "failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false",
	}},
	{"reflector error with several pairs", lineWatchForbidden, Line{
		Format: FormatStructured, Severity: 'E', Source: "reflector.go:205", Msg: "Failed to watch",
		Err: `failed to list *v1.Service: services is forbidden: User "system:anonymous" cannot list resource "services" in API group "" at the cluster scope`,
		KVs: kvs("logger", "UnhandledError", "reflector", "k8s.io/client-go/informers/factory.go:160", "type", "*v1.Service"),
	}},
	{"unhandled error", lineBootstrapExpired, Line{
		Format: FormatStructured, Severity: 'E', Source: "bootstrap.go:266", Msg: "Unhandled Error",
		Err: "part of the existing bootstrap client certificate in /var/lib/kubelet/kubeconfig is expired: 2025-11-01 10:00:00 +0000 UTC",
		KVs: kvs("logger", "UnhandledError"),
	}},
	{"value with colons and equals", lineNetworkNotReady, Line{
		Format: FormatStructured, Severity: 'E', Source: "kubelet.go:3012", Msg: "Container runtime network not ready",
		KVs: kvs("networkReady", "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"),
	}},
	{"seven digit thread id", lineNameservers, Line{
		Format: FormatStructured, Severity: 'E', Source: "dns.go:153", Msg: "Nameserver limits exceeded",
		Err: "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4",
	}},
	{"info level with err key", lineLenientDecoding, Line{
		Format: FormatStructured, Severity: 'I', Source: "codec.go:102",
		Msg: "Using lenient decoding as strict decoding failed", Err: `strict decoding error: unknown field "evictionHardd"`,
	}},
	{"bootstrap info with err", lineFailedToConnect, Line{
		Format: FormatStructured, Severity: 'I', Source: "bootstrap.go:296", Msg: "Failed to connect to apiserver",
		Err: `Get "https://10.0.0.10:6443/healthz?timeout=1s": dial tcp 10.0.0.10:6443: i/o timeout`,
	}},
	{"bare values numbers bools structs slices", lineBareValues, Line{
		Format: FormatStructured, Severity: 'I', Source: "kubelet.go:2460", Msg: "SyncLoop (PLEG): event for pod",
		KVs: kvs("count", "3", "ready", "true", "pod", "{Name:web-0 Namespace:default}", "containers", "[app sidecar]", "ptr", "<nil>", "interval", "7s"),
	}},
	{"list of object refs as bare value", `I1125 10:00:19.000001    1234 kubelet.go:2450] "SyncLoop ADD" source="api" pods=["kube-system/kube-proxy-9x8kp","ns/a b]c"] n=2`, Line{
		Format: FormatStructured, Severity: 'I', Source: "kubelet.go:2450", Msg: "SyncLoop ADD",
		KVs: kvs("source", "api", "pods", `["kube-system/kube-proxy-9x8kp","ns/a b]c"]`, "n", "2"),
	}},
	{"go escapes unicode and backslashes", lineNonASCII, Line{
		Format: FormatStructured, Severity: 'W', Source: "kuberuntime_manager.go:1",
		Msg: "Café \"quoted\"\tand tab", KVs: kvs("path", `C:\temp\x`, "note", "snøw \U0001F600"),
	}},

	{"legacy printf message keeps error in msg", lineLegacyRegister, Line{
		Format: FormatText, Severity: 'E', Source: "kubelet_node_status.go:106",
		Msg: `Unable to register node "worker-1" with API server: Post https://192.0.2.10:6443/api/v1/nodes: x509: certificate signed by unknown authority`,
	}},
	{"legacy fatal", lineLegacyFatal, Line{
		Format: FormatText, Severity: 'F', Source: "server.go:274",
		Msg: "failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory",
	}},
	{"legacy warning with colon in text", lineLegacyReflect, Line{
		Format: FormatText, Severity: 'W', Source: "reflector.go:324",
		Msg: `k8s.io/client-go/informers/factory.go:134: failed to list *v1.Service: services is forbidden: User "system:anonymous" cannot list resource "services" in API group "" at the cluster scope`,
	}},
	{"legacy lease", lineLegacyLease, Line{
		Format: FormatText, Severity: 'E', Source: "controller.go:136",
		Msg: "failed to ensure node lease exists, will retry in 7s, error: Unauthorized",
	}},
	{"legacy signer prefix", lineLegacyCSR, Line{
		Format: FormatText, Severity: 'E', Source: "certificate_manager.go:471",
		Msg: "kubernetes.io/kube-apiserver-client-kubelet: Failed while requesting a signed certificate from the control plane: cannot create certificate signing request: Unauthorized",
	}},
	{"legacy message with quoted word is not structured", lineLegacyNotFound, Line{
		Format: FormatText, Severity: 'E', Source: "kubelet.go:2240", Msg: `node "worker-1" not found`,
	}},
	{"legacy go http log", lineLegacyTLS, Line{
		Format: FormatText, Severity: 'I', Source: "log.go:184",
		Msg: "http: TLS handshake error from 10.0.0.10:53412: no serving certificate available for the kubelet",
	}},
	{"legacy message with a quoted word and an equals sign", `E1125 10:00:00.000001    4321 kubelet.go:1] "worker-1" has state=ready`, Line{
		Format: FormatText, Severity: 'E', Source: "kubelet.go:1", Msg: `"worker-1" has state=ready`,
	}},
	{"legacy message starting with a quoted word", `E1125 10:00:00.000001    4321 kubelet.go:1] "worker-1" not found`, Line{
		Format: FormatText, Severity: 'E', Source: "kubelet.go:1", Msg: `"worker-1" not found`,
	}},

	{"stderr Error prefix without header", lineErrorStderr, Line{Format: FormatNone, Severity: 'E', Msg: lineErrorStderr}},
	{"old lowercase error prefix", lineErrorOld, Line{Format: FormatNone, Severity: 'E', Msg: lineErrorOld}},
	{"flag deprecation without header", lineFlagDeprecate, Line{Format: FormatNone, Msg: lineFlagDeprecate}},
	{"systemd unit line", lineSystemdExit, Line{Format: FormatNone, Msg: lineSystemdExit}},
	{"header-like garbage", "E1125 garbage after the letters", Line{Format: FormatNone, Msg: "E1125 garbage after the letters"}},
	{"header without thread id", "E1125 10:00:00.000001 kubelet.go:1] msg", Line{Format: FormatNone, Msg: "E1125 10:00:00.000001 kubelet.go:1] msg"}},
	{"header with impossible month", "E1325 10:00:00.000001    1 kubelet.go:1] msg", Line{Format: FormatNone, Msg: "E1325 10:00:00.000001    1 kubelet.go:1] msg"}},
	{"header glued to a word", "XE1125 10:00:00.000001    1 kubelet.go:1] msg", Line{Format: FormatNone, Msg: "XE1125 10:00:00.000001    1 kubelet.go:1] msg"}},
	{"header without line number", "E1125 10:00:00.000001    1 kubelet.go] msg", Line{Format: FormatNone, Msg: "E1125 10:00:00.000001    1 kubelet.go] msg"}},
	{"header with text glued to bracket", "E1125 10:00:00.000001    1 kubelet.go:1]msg", Line{Format: FormatNone, Msg: "E1125 10:00:00.000001    1 kubelet.go:1]msg"}},
	{"header at the very end", "I1125 10:00:00.000001    1 kubelet.go:1]", Line{Format: FormatText, Severity: 'I', Source: "kubelet.go:1"}},
	{"header with dir prefix", "I1125 10:00:00.000001    1 pkg/kubelet/kubelet.go:1] started", Line{Format: FormatText, Severity: 'I', Source: "pkg/kubelet/kubelet.go:1", Msg: "started"}},
	{"empty line", "", Line{}},
	{"structured message without header", `"Unable to update node status" err="update node status exceeds retry count"`, Line{
		Format: FormatStructured, Msg: "Unable to update node status", Err: "update node status exceeds retry count",
	}},

	{"json error has err and no v", lineJSON, Line{
		Format: FormatJSON, Severity: 'E', Source: "dns/dns.go:153", Msg: "Nameserver limits exceeded",
		Err: "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4",
		KVs: kvs("ts", "1732528801123.456"),
	}},
	{"json info has v", lineJSONInfo, Line{
		Format: FormatJSON, Severity: 'I', Source: "app/server.go:529", Msg: "Kubelet version",
		KVs: kvs("ts", "1732528801123.456", "v", "0", "kubeletVersion", "v1.34.4"),
	}},
	{"json info with err key in any order", lineJSONInfoEr, Line{
		Format: FormatJSON, Severity: 'I', Source: "bootstrap/bootstrap.go:296", Msg: "Failed to connect to apiserver",
		Err: `Get "https://10.0.0.10:6443/healthz?timeout=1s": dial tcp 10.0.0.10:6443: i/o timeout`,
		KVs: kvs("v", "0", "ts", "1732528801123.456"),
	}},
	{"json nested values rendered as json text", lineJSONNested, Line{
		Format: FormatJSON, Severity: 'I', Source: "kubelet/kubelet.go:1", Msg: "Pod status",
		KVs: kvs("ts", "1", "v", "4", "pod", `{"name":"web-0","namespace":"default"}`, "ports", "[80,443]",
			"ok", "true", "none", "null", "s", "café \U0001F600 \"q\"/"),
	}},
	{"json with a stated level", `{"level":"warning","msg":"x","time":"2024-11-25T10:00:01Z"}`, Line{
		Format: FormatJSON, Severity: 'W', Msg: "x", KVs: kvs("level", "warning", "time", "2024-11-25T10:00:01Z"),
	}},
	{"json object without msg is raw text", `{"kind":"Status","message":"Unauthorized"}`, Line{
		Format: FormatNone, Msg: `{"kind":"Status","message":"Unauthorized"}`,
	}},
}

// wrappers put a MESSAGE where the kubelet's packagings and log readers put it.
var wrappers = []struct {
	name string
	wrap func(string) string
}{
	{"journald MESSAGE", func(s string) string { return s }},
	{"journalctl short", prefix("Nov 25 10:00:01 worker-1 kubelet[1234]: ")},
	{"journalctl short padded day", prefix("Aug  5 10:00:01 worker-1 kubelet[1234]: ")},
	{"journalctl short-precise", prefix("Nov 25 10:00:01.123456 worker-1 kubelet[1234]: ")},
	{"journalctl short-iso", prefix("2025-11-25T10:00:01+0000 worker-1 kubelet[1234]: ")},
	{"journalctl short-full", prefix("Tue 2025-11-25 10:00:01 UTC worker-1 kubelet[1234]: ")},
	{"rsyslog messages", prefix("Nov 25 10:00:01 worker-1 kubelet: ")},
	{"rsyslog rfc3339", prefix("2025-11-25T10:00:01.123456+01:00 worker-1 kubelet: ")},
	{"k3s", prefix("Nov 25 10:00:01 server-0 k3s[812]: ")},
	{"k3s agent", prefix("Nov 25 10:00:01 agent-0 k3s-agent[812]: ")},
	{"rke2", prefix("Nov 25 10:00:01 agent-0 rke2[812]: ")},
	{"snap", prefix("Nov 25 10:00:01 node-1 kubelet.daemon[4711]: ")},
	{"openshift", prefix("Nov 25 10:00:01 node-1 atomic-openshift-node[4711]: ")},
	{"journalctl short-unix", prefix("1764064801.123456 worker-1 kubelet[1234]: ")},
	{"journalctl short-monotonic", prefix("[  123.456789] worker-1 kubelet[1234]: ")},
	{"minikube docker desktop", prefix("[2025-11-25T10:00:01.123456789Z][kubelet][I] ")},
	{"k0s logrus", k0s},
	{"k0s under journalctl", func(s string) string { return "Nov 25 10:00:01 worker-1 k0s[99]: " + k0s(s) }},
}

func prefix(p string) func(string) string { return func(s string) string { return p + s } }

// k0s re-wraps each kubelet stderr line with logrus, which quotes it.
func k0s(s string) string {
	return `time="2025-11-25 10:00:01" level=info msg=` + strconv.Quote(s) + ` component=kubelet`
}

func wantFor(t *testing.T, line string) Line {
	t.Helper()
	for _, tc := range catalogue {
		if tc.line == line {
			return tc.want
		}
	}
	t.Fatalf("no catalogue case for %q", line)
	return Line{}
}

func TestParseCatalogue(t *testing.T) {
	for _, tc := range catalogue {
		t.Run(tc.name, func(t *testing.T) {
			if got := view(Parse(tc.line)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.line, got, tc.want)
			}
		})
	}
}

func TestParseSameLineInEveryWrapper(t *testing.T) {
	for _, w := range wrappers {
		for _, tc := range catalogue {
			if tc.line == "" {
				continue // a wrapper around nothing is just the wrapper
			}
			t.Run(w.name+"/"+tc.name, func(t *testing.T) {
				in := w.wrap(tc.line)
				if got := view(Parse(in)); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Parse(%q)\n got %+v\nwant %+v", in, got, tc.want)
				}
			})
		}
	}
}

func TestParseTrailingNewlineIgnored(t *testing.T) {
	for _, tc := range catalogue {
		if got := view(Parse(tc.line + "\r\n")); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestParseUnwrapsNestedQuoting(t *testing.T) {
	want := wantFor(t, lineRegisterRefused)
	quoted, _ := json.Marshal(lineRegisterRefused + "\n")
	k0sQuoted, _ := json.Marshal(k0s(lineRegisterRefused) + "\n")
	for name, in := range map[string]string{
		"json shipper":                   `{"log":` + string(quoted) + `,"stream":"stderr"}`,
		"k0s line inside json shipper":   `{"log":` + string(k0sQuoted) + `,"stream":"stderr"}`,
		"logrus json":                    `{"component":"kubelet","level":"info","msg":` + string(quoted) + `}`,
		"wrapper text before header":     `time="2025-11-25 10:00:01" level=info msg=` + strconv.Quote("kubelet: "+lineRegisterRefused) + ` component=kubelet`,
		"two levels, text before header": `{"log":` + mustJSON(`level=info msg=`+strconv.Quote("kubelet: "+lineRegisterRefused)) + `}`,
	} {
		if got := view(Parse(in)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Parse(%q)\n got %+v\nwant %+v", name, in, got, want)
		}
	}
}

func mustJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParseQuoteBeforeHeaderInProseIsNotUnwrapped(t *testing.T) {
	in := `note"I1125 10:00:00.000001    1 kubelet.go:1] started`
	want := Line{Format: FormatText, Severity: 'I', Source: "kubelet.go:1", Msg: "started"}
	if got := view(Parse(in)); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// Multi-line values: klog writes `key=<`, tab-indented lines and " >";
// journald stores one entry per line.
var (
	swapBlock = []string{
		`I1125 10:00:00.000001    1234 swap_util.go:115] "Swap is on" /proc/swaps contents=<`,
		"\tFilename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority",
		"\t/dev/sda2                               partition\t1998844\t\t0\t\t-2",
		" >",
	}
	swapFolded = Line{
		Format: FormatStructured, Severity: 'I', Source: "swap_util.go:115", Msg: "Swap is on",
		KVs: kvs("/proc/swaps contents", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda2                               partition\t1998844\t\t0\t\t-2"),
	}
	errBlock = []string{
		`E1125 10:00:00.000001    1234 kubelet.go:1704] "Failed to start ContainerManager" err=<`,
		"\tsystem validation failed - Following Cgroup subsystem not mounted: [cpuset]",
		"\tsee \"/sys/fs/cgroup\"",
		` > node="worker-1"`,
	}
	errFolded = Line{
		Format: FormatStructured, Severity: 'E', Source: "kubelet.go:1704", Msg: "Failed to start ContainerManager",
		Err: "system validation failed - Following Cgroup subsystem not mounted: [cpuset]\nsee \"/sys/fs/cgroup\"",
		KVs: kvs("node", "worker-1"),
	}
)

func TestParseMultiLineFirstLineIsPending(t *testing.T) {
	got := view(Parse(errBlock[0]))
	want := Line{Format: FormatStructured, Severity: 'E', Source: "kubelet.go:1704", Msg: "Failed to start ContainerManager", Pending: "err"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got = view(Parse(swapBlock[0]))
	want = Line{Format: FormatStructured, Severity: 'I', Source: "swap_util.go:115", Msg: "Swap is on",
		KVs: kvs("/proc/swaps contents", ""), Pending: "/proc/swaps contents"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseContinuationLines(t *testing.T) {
	for _, tc := range []parseCase{
		{"tab-indented value line", errBlock[1], Line{Continuation: true, Msg: "system validation failed - Following Cgroup subsystem not mounted: [cpuset]"}},
		{"rsyslog escaped tab", "#011see /sys/fs/cgroup", Line{Continuation: true, Msg: "see /sys/fs/cgroup"}},
		{"lone closing line", " >", Line{Continuation: true}},
		{"closing line without indent", ">", Line{Continuation: true}},
		{"closing line carries later pairs, err only as a pair", ` > node="worker-1" err="x"`, Line{Continuation: true, KVs: kvs("node", "worker-1", "err", "x")}},
		{"closing line with prose has no pairs", "> quoted mail text", Line{Continuation: true}},
		{"greater-than inside text is not closing", ">>> prompt", Line{Msg: ">>> prompt"}},
	} {
		for _, w := range wrappers {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				in := w.wrap(tc.line)
				if got := view(Parse(in)); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Parse(%q)\n got %+v\nwant %+v", in, got, tc.want)
				}
			})
		}
	}
}

func TestFoldRebuildsMultiLineValue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  Line
	}{
		{"err block", errBlock, errFolded},
		{"swap block with key containing a space", swapBlock, swapFolded},
	} {
		for _, w := range wrappers {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				l := Parse(w.wrap(tc.lines[0]))
				for _, s := range tc.lines[1:] {
					if !l.Fold(Parse(w.wrap(s))) {
						t.Fatalf("Fold(%q) = false", s)
					}
				}
				if got := view(l); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %+v\nwant %+v", got, tc.want)
				}
				if l.Fold(Parse(w.wrap(tc.lines[1]))) {
					t.Errorf("Fold after the closing line = true")
				}
			})
		}
	}
}

func TestParseWholeBlockInOneString(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  Line
	}{
		{"err block", errBlock, errFolded},
		{"swap block", swapBlock, swapFolded},
	} {
		if got := view(Parse(strings.Join(tc.lines, "\n"))); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
	// Cut before " >": the value so far, still pending.
	got := view(Parse(strings.Join(errBlock[:2], "\n")))
	if got.Err != strings.TrimPrefix(errBlock[1], "\t") || got.Pending != "err" {
		t.Errorf("cut block: got %+v", got)
	}
}

func TestFoldRejectsUnrelatedLines(t *testing.T) {
	l := Parse(lineRegisterRefused)
	if l.Fold(Parse(errBlock[1])) {
		t.Error("Fold into a complete line = true")
	}
	l = Parse(errBlock[0])
	if l.Fold(Parse(lineRegisterRefused)) {
		t.Error("Fold of a non-continuation line = true")
	}
}

func TestParseRobustness(t *testing.T) {
	hdr := "E1125 10:00:01.123456    1234 file.go:1] "
	huge := strings.Repeat("a", 1<<20)
	for _, tc := range []parseCase{
		{"truncated quoted message keeps its text", hdr + `"Unable to regis`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "Unable to regis"}},
		{"truncated err takes the rest", hdr + `"m" err="Post \"https://10.0.0.1`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", Err: `Post "https://10.0.0.1`}},
		{"lone backslash at the end", hdr + `"m" err="abc\`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", Err: `abc\`}},
		{"escaped quote at the end is not closing", hdr + `"a\"`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: `a"`}},
		{"malformed escapes kept verbatim", hdr + `"a\q\x4\u12\U0011FFFF\400"`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: `a\q\x4\u12\U0011FFFF\400`}},
		{"NUL bytes survive", hdr + "\"a\x00b\" k=\"\x00\"", Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "a\x00b", KVs: kvs("k", "\x00")}},
		{"invalid UTF-8 around the header", "\xff\xfe" + hdr + "\"\xc3\x28\" k=\xff", Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "\xc3\x28", KVs: kvs("k", "\xff")}},
		{"empty key is not a key", hdr + `"m" =x k="v"`, Line{Format: FormatText, Severity: 'E', Source: "file.go:1", Msg: `"m" =x k="v"`}},
		{"quoted key is not a key", hdr + `"m" "x"=1`, Line{Format: FormatText, Severity: 'E', Source: "file.go:1", Msg: `"m" "x"=1`}},
		{"garbage after quoted value stops pairs", hdr + `"m" a="x"y b="z"`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", KVs: kvs("a", "x")}},
		{"key with empty bare value", hdr + `"m" k= v=1`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", KVs: kvs("k", "", "v", "1")}},
		{"unbalanced bracket in bare value", hdr + `"m" list=[a b c`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", KVs: kvs("list", "[a")}},
		{"second err key is a pair", hdr + `"m" err="a" err="b"`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", Err: "a", KVs: kvs("err", "b")}},
		{"huge message", hdr + `"` + huge + `" err="x"`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: huge, Err: "x"}},
		{"huge line before the header", huge + " " + hdr + "m", Line{Format: FormatText, Severity: 'E', Source: "file.go:1", Msg: "m"}},
		{"bracketed bare value with spaces at the end", hdr + `"m" pod={Name:a Namespace:b}`, Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", KVs: kvs("pod", "{Name:a Namespace:b}")}},
		{"many unbalanced bare values stay linear", hdr + `"m"` + strings.Repeat(" k=[", 1<<15), Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", KVs: kvsRepeat("k", "[", 1<<15)}},
		{"many escaped quotes in a bracketed bare value", hdr + `"m" k=[` + strings.Repeat(`\"`, 1<<15), Line{Format: FormatStructured, Severity: 'E', Source: "file.go:1", Msg: "m", KVs: kvs("k", "["+strings.Repeat(`\"`, 1<<15))}},
		{"line of colons", strings.Repeat(":", 1<<16), Line{Msg: strings.Repeat(":", 1<<16)}},
		{"truncated json keeps msg", `{"ts":1,"msg":"Nameserver lim`, Line{Format: FormatJSON, Severity: 'E', Msg: "Nameserver lim", KVs: kvs("ts", "1")}},
		{"json cut inside nested value", `{"msg":"m","v":0,"pod":{"a":"}`, Line{Format: FormatJSON, Severity: 'I', Msg: "m", KVs: kvs("v", "0", "pod", `{"a":"}`)}},
		{"json missing value stops", `{"msg":"m","x":,"v":0}`, Line{Format: FormatJSON, Severity: 'E', Msg: "m"}},
		{"json null err is no error", `{"msg":"m","err":null,"v":0}`, Line{Format: FormatJSON, Severity: 'I', Msg: "m", KVs: kvs("v", "0")}},
		{"json err string null is text", `{"msg":"m","err":"null"}`, Line{Format: FormatJSON, Severity: 'E', Msg: "m", Err: "null"}},
		{"lone surrogate in json", `{"msg":"\ud800x","v":0}`, Line{Format: FormatJSON, Severity: 'I', Msg: "\uFFFDx", KVs: kvs("v", "0")}},
		{"brace alone", "{", Line{Msg: "{"}},
		{"only a journald prefix", "Nov 25 10:00:01 worker-1 kubelet[1234]:", Line{}},
		{"whitespace only", "  \t ", Line{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := view(Parse(tc.line))
			if !reflect.DeepEqual(got, tc.want) {
				g, w := got, tc.want
				if len(g.Msg) > 200 {
					g.Msg, w.Msg = g.Msg[:200]+"…", w.Msg[:min(len(w.Msg), 200)]+"…"
				}
				t.Errorf("got %+v\nwant %+v", g, w)
			}
			checkInvariants(t, tc.line)
		})
	}
}

func TestParseIntoReusesStorage(t *testing.T) {
	var l Line
	ParseInto(&l, lineWatchForbidden)
	if got, want := view(l), wantFor(t, lineWatchForbidden); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	p := &l.KVs[:1][0]
	ParseInto(&l, lineRegisterRefused)
	if got, want := view(l), wantFor(t, lineRegisterRefused); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if &l.KVs[0] != p {
		t.Error("KVs storage not reused")
	}
	ParseInto(&l, lineErrorOld)
	if len(l.KVs) != 0 || l.Msg != lineErrorOld {
		t.Errorf("stale fields after reuse: %+v", l)
	}
}

func TestValue(t *testing.T) {
	l := Parse(lineLeaseRefused)
	if v, ok := l.Value("interval"); !ok || v != "7s" {
		t.Errorf(`Value("interval") = %q, %v`, v, ok)
	}
	if v, ok := l.Value("err"); !ok || !strings.HasPrefix(v, `Get "https://`) {
		t.Errorf(`Value("err") = %q, %v`, v, ok)
	}
	if _, ok := l.Value("node"); ok {
		t.Error(`Value("node") found on a line without it`)
	}
}

func TestParseAllocations(t *testing.T) {
	noEscape := `I1125 10:00:07.000001    1234 certificate_manager.go:422] "Certificate rotation is enabled" logger="kubernetes.io/kube-apiserver-client-kubelet"`
	for _, tc := range []struct {
		name string
		line string
		max  float64
	}{
		{"no pairs, no escapes", lineStatusRetries, 0},
		{"pairs, no escapes", noEscape, 1}, // the KVs slice
		{"legacy", lineLegacyRegister, 0},
		{"no header", lineErrorStderr, 0},
	} {
		if n := testing.AllocsPerRun(100, func() { _ = Parse(tc.line) }); n > tc.max {
			t.Errorf("%s: %v allocs, want <= %v", tc.name, n, tc.max)
		}
	}
	var l Line
	ParseInto(&l, noEscape)
	if n := testing.AllocsPerRun(100, func() { ParseInto(&l, noEscape) }); n != 0 {
		t.Errorf("ParseInto without escapes: %v allocs, want 0", n)
	}
}

// checkInvariants asserts what must hold for any input: determinism,
// strings taken from the input (or from it with escapes undone, once per
// level of quoting), and no Err on continuation lines.
func checkInvariants(t *testing.T, in string) {
	t.Helper()
	l := Parse(in)
	if again := Parse(in); !reflect.DeepEqual(l, again) {
		t.Fatalf("Parse(%q) not deterministic:\n%+v\n%+v", in, l, again)
	}
	if l.Continuation && l.Err != "" {
		t.Errorf("Parse(%q): continuation line with Err %q", in, l.Err)
	}
	if l.Format > FormatJSON {
		t.Errorf("Parse(%q): Format %d", in, l.Format)
	}
	switch l.Severity {
	case 0, 'I', 'W', 'E', 'F':
	default:
		t.Errorf("Parse(%q): Severity %q", in, l.Severity)
	}
	if len(in) > 1<<14 {
		return // the derivation check below is quadratic-ish
	}
	// One level of escapes per peeled wrapper plus klog's own quoting.
	levels := []string{in}
	for i := 0; i < maxPeel+1; i++ {
		levels = append(levels, unescape(levels[i]))
	}
	derived := func(what, v string) {
		// Multi-line values are joined from lines without their tab.
	pieces:
		for _, piece := range strings.Split(v, "\n") {
			// A cut string can end in a lone backslash, kept as is, that
			// the whole-line unescape pairs with the next byte instead.
			piece = strings.TrimRight(piece, `\`)
			for _, u := range levels {
				if strings.Contains(u, piece) {
					continue pieces
				}
			}
			t.Errorf("Parse(%q): %s %q is not taken from the input", in, what, piece)
		}
	}
	derived("Msg", l.Msg)
	derived("Err", l.Err)
	derived("Source", l.Source)
	for _, kv := range l.KVs {
		derived("key", kv.Key)
		derived("value", kv.Value)
		if kv.Key == "" {
			t.Errorf("Parse(%q): empty key", in)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range catalogue {
		for _, w := range wrappers {
			f.Add(w.wrap(tc.line))
		}
	}
	for _, s := range append(append([]string{}, swapBlock...), errBlock...) {
		f.Add(s)
		f.Add(k0s(s))
	}
	f.Add(strings.Join(errBlock, "\n"))
	f.Add(`{"msg":"\ud83d\ude00","pod":{"a":[1,{"b":"]"}]},"v":0}`)
	f.Add("E1125 10:00:01.123456    1234 file.go:1] \"a\\")
	f.Fuzz(func(t *testing.T, in string) {
		checkInvariants(t, in)
		var l Line
		ParseInto(&l, lineBareValues)
		ParseInto(&l, in)
		if got, want := view(l), view(Parse(in)); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseInto(%q) = %+v, Parse = %+v", in, got, want)
		}
	})
}

var benchLines = []struct{ name, line string }{
	{"structured", "Nov 25 10:00:01 worker-1 kubelet[1234]: " + lineRegisterRefused},
	{"structured-noescape", lineCSRUnauthorized},
	{"legacy", "Nov 25 10:00:01 worker-1 kubelet[1234]: " + lineLegacyRegister},
	{"no-header", "Nov 25 10:00:01 worker-1 kubelet[1234]: " + lineErrorStderr},
	{"json", "Nov 25 10:00:01 worker-1 kubelet[1234]: " + lineJSONInfoEr},
	{"k0s", k0s(lineRegisterRefused)},
}

var sink Line

func BenchmarkParse(b *testing.B) {
	for _, bl := range benchLines {
		b.Run(bl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bl.line)))
			for b.Loop() {
				sink = Parse(bl.line)
			}
		})
	}
}

func BenchmarkParseInto(b *testing.B) {
	for _, bl := range benchLines {
		b.Run(bl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bl.line)))
			var l Line
			for b.Loop() {
				ParseInto(&l, bl.line)
			}
		})
	}
}
