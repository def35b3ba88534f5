package rules

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/klog"
)

// benchMix is a journal-like mix built from the corpus: of every 40 lines,
// 38 benign info lines (including recovery markers), one benign line of
// another level (errors that are noise, systemd entries) and one problem
// line; each line as a bare MESSAGE or in the journalctl wrapper.
func benchMix() []string {
	var info, other, problem []string
	for _, line := range benignLines {
		for _, l := range []string{line, "Nov 25 10:00:01 worker-1 kubelet[1234]: " + line} {
			if klog.Parse(l).Severity == 'I' {
				info = append(info, l)
			} else {
				other = append(other, l)
			}
		}
	}
	for _, c := range recoveryCases {
		info = append(info, c.line)
	}
	for _, c := range problemCases {
		problem = append(problem, c.line)
	}
	var mix []string
	for i, o, p := 0, 0, 0; p < len(problem); i++ {
		switch i % 40 {
		case 38:
			mix = append(mix, other[o%len(other)])
			o++
		case 39:
			mix = append(mix, problem[p])
			p++
		default:
			mix = append(mix, info[i%len(info)])
		}
	}
	return mix
}

// routineLines are info lines a busy kubelet writes all day (pod sync,
// volumes, probes' successes): not among the cases, which hold the lines
// that matter, but the bulk of a real journal.
var routineLines = []string{
	kl('I', "kubelet.go:2421", `"SyncLoop ADD" source="api" pods=["default/web-7d4b9c8f5-x2l9q"]`),
	kl('I', "kubelet.go:2428", `"SyncLoop UPDATE" source="api" pods=["default/web-7d4b9c8f5-x2l9q"]`),
	kl('I', "kubelet.go:2453", `"SyncLoop (PLEG): event for pod" pod="default/web-7d4b9c8f5-x2l9q" event={"ID":"0b6a4a3e-5f0e-4f59-9c53-2a1c5f0d8d11","Type":"ContainerStarted","Data":"8f1e2d"}`),
	kl('I', "reconciler_common.go:258", `"operationExecutor.MountVolume started for volume \"kube-api-access-8k2xq\" (UniqueName: \"kubernetes.io/projected/0b6a4a3e-kube-api-access-8k2xq\") pod \"web-7d4b9c8f5-x2l9q\" (UID: \"0b6a4a3e\") " pod="default/web-7d4b9c8f5-x2l9q"`),
	kl('I', "operation_generator.go:721", `"MountVolume.SetUp succeeded for volume \"kube-api-access-8k2xq\" (UniqueName: \"kubernetes.io/projected/0b6a4a3e-kube-api-access-8k2xq\") pod \"web-7d4b9c8f5-x2l9q\" (UID: \"0b6a4a3e\") " pod="default/web-7d4b9c8f5-x2l9q"`),
	kl('I', "scope.go:117", `"RemoveContainer" containerID="8f1e2d3c4b5a69788796a5b4c3d2e1f0"`),
	kl('I', "reconciler_common.go:300", `"Volume detached for volume \"config\" (UniqueName: \"kubernetes.io/configmap/0b6a4a3e-config\") on node \"worker-1\" DevicePath \"\""`),
	kl('I', "topology_manager.go:215", `"Topology Admit Handler" podUID="0b6a4a3e-5f0e-4f59-9c53-2a1c5f0d8d11" podNamespace="default" podName="web-7d4b9c8f5-x2l9q"`),
	kl('I', "kuberuntime_container.go:779", `"Killing container with a grace period" pod="default/web-7d4b9c8f5-x2l9q" podUID="0b6a4a3e" containerName="web" containerID="containerd://8f1e2d" gracePeriod=30`),
	kl('I', "pod_startup_latency_tracker.go:104", `"Observed pod startup duration" pod="default/web-7d4b9c8f5-x2l9q" podStartSLOduration=2.51 podStartE2EDuration="2.51s" podCreationTimestamp="2025-11-25 10:00:00 +0000 UTC"`),
	kl('I', "kubelet_volumes.go:163", `"Cleaned up orphaned pod volumes dir" podUID="0b6a4a3e-5f0e-4f59-9c53-2a1c5f0d8d11" path="/var/lib/kubelet/pods/0b6a4a3e/volumes"`),
	kl('I', "kubelet.go:2437", `"SyncLoop DELETE" source="api" pods=["default/web-7d4b9c8f5-x2l9q"]`),
	kl('I', "kubelet.go:2431", `"SyncLoop REMOVE" source="api" pods=["default/web-7d4b9c8f5-x2l9q"]`),
	kl('I', "prober.go:107", `"Probe failed" probeType="Readiness" pod="default/web-7d4b9c8f5-x2l9q" podUID="0b6a4a3e" containerName="web" probeResult="failure" output="HTTP probe failed with statuscode: 503"`),
	kl('I', "kubelet_getters.go:187", `"Pod status updated" pod="kube-system/kube-proxy-x" status="Running"`),
}

// BenchmarkClassifyJournal is a day in a healthy journal: 95% routine info
// lines, then the cases' benign errors and problem lines.
func BenchmarkClassifyJournal(b *testing.B) {
	mix := benchMix()
	j := 0
	for i := range mix {
		if i%40 < 38 {
			mix[i] = routineLines[j%len(routineLines)]
			if j%2 == 1 {
				mix[i] = "Nov 25 10:00:01 worker-1 kubelet[1234]: " + mix[i]
			}
			j++
		}
	}
	classifyEach(b, mix)
}

func BenchmarkClassifyMix(b *testing.B) {
	mix := benchMix()
	classifyEach(b, mix)
}

// BenchmarkClassifyParsedMix measures the classifier alone, on lines parsed
// beforehand.
func BenchmarkClassifyParsedMix(b *testing.B) {
	mix := benchMix()
	parsed := make([]klog.Line, len(mix))
	for i, l := range mix {
		parsed[i] = klog.Parse(l)
	}
	b.ReportAllocs()
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		classifier.ClassifyParsed(&parsed[n%len(parsed)])
		n++
	}
	report(b, n, cpu0)
}

func BenchmarkClassifyProblemLines(b *testing.B) {
	var lines []string
	for _, c := range problemCases {
		lines = append(lines, c.line)
	}
	classifyEach(b, lines)
}

// classifyEach classifies lines round-robin for the benchmark's loop.
func classifyEach(b *testing.B, lines []string) {
	b.ReportAllocs()
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		classifier.Classify(lines[n%len(lines)])
		n++
	}
	report(b, n, cpu0)
}

// report adds lines/s (wall clock) and cpu-ns/line (process CPU time, which
// other load on the machine does not inflate as much).
func report(b *testing.B, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
	if cpu := cpuTime() - cpu0; cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/line")
	}
}

func FuzzClassify(f *testing.F) {
	for _, l := range allTestLines() {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		v := classifier.Classify(line)
		l := klog.Parse(line)
		if full := classifier.ClassifyParsed(&l); !reflect.DeepEqual(v, full) {
			t.Fatalf("raw prefilter changed the verdict: %+v, parsed: %+v", v, full)
		}
		if v.Category != None && !inVocabulary(v.Category) {
			t.Fatalf("category %q not in the vocabulary", v.Category)
		}
		if v.Category == None && v.Condition != "" {
			t.Fatalf("none with condition %q", v.Condition)
		}
		if v.Category != None {
			c, ok := ConditionFor(v.Category)
			if !ok || c.Type != v.Condition {
				t.Fatalf("condition %q for category %s", v.Condition, v.Category)
			}
			if v.Rule == "" || v.Label == "" || v.Hint == "" {
				t.Fatalf("problem verdict without rule, label or hint: %+v", v)
			}
		}
		for _, s := range []string{v.Cause, v.Label, v.Hint} {
			if tokenPattern.MatchString(s) {
				t.Fatalf("token pattern in %q", s)
			}
		}
		if len(v.Cause) > maxCause || strings.ContainsAny(v.Cause, "\n\r") {
			t.Fatalf("cause %q", v.Cause)
		}
	})
}
