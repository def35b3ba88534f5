package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// genVersion keys the cached journal (bench-journal-v<genVersion>): bump it
// whenever the generator's output changes, so that a stale cache is never
// measured as if it were the new one. 2: entries carry _UID (export writes
// it, as journald does), which the trusted match asks of PID 1.
const genVersion = 2

// benchBootID is the _BOOT_ID of every generated entry, overlays included:
// one boot with monotonic == realtime (journalexport.Writer's zero BootStart) keeps
// entries of different files ordered the same way by both clocks, which is
// what sd_journal's cross-file merge compares.
const benchBootID = "6b64656e6368626f6f74000000000001"

// Mix of one block of 100 entries; the positions inside a block are
// shuffled, so units interleave irregularly but the totals are exact
// (5M entries -> 1M kubelet).
const (
	blockSize      = 100
	perBlockKube   = 20
	perBlockCtrd   = 40
	perBlockSSHD   = 10
	perBlockKernel = 29
	perBlockPID1   = 1
	// failureEvery kubelet entries one is a failure line (1,000 in 5M
	// entries, spread evenly through time).
	failureEvery = 1000
	// pid1AboutKubeletEvery PID-1 entries one is about kubelet.service
	// (1,250 in 5M): journalctl -u and our match include them.
	pid1AboutKubeletEvery = 40
	// denseShare of the entries fall in the last hour: a busy node logs in
	// bursts, and it makes the 1-minute and 1-hour windows big enough to
	// measure rather than dominated by process start-up.
	denseShare = 0.2
	span       = 24 * time.Hour
	denseSpan  = time.Hour
)

// Meta describes a generated journal; it is written last, so a directory
// with meta.json is complete.
type Meta struct {
	Version  int `json:"version"`
	Entries  int `json:"entries"`
	Kubelet  int `json:"kubelet"`  // _SYSTEMD_UNIT=kubelet.service entries
	PID1Kube int `json:"pid1Kube"` // UNIT=kubelet.service _PID=1 entries
	Failures int `json:"failures"` // failure lines among the kubelet entries
	// HeadUS and TailUS are the first and last entry's realtime (µs).
	HeadUS    int64     `json:"headUs"`
	DenseUS   int64     `json:"denseUs"` // first entry of the dense last hour
	TailUS    int64     `json:"tailUs"`
	Generated time.Time `json:"generated"`
	// BootTime is the machine's boot (/proc/stat btime) at generation:
	// log-counter reads nothing stamped before the current boot.
	BootTime time.Time `json:"bootTime"`
	Seconds  float64   `json:"seconds"`
	Bytes    int64     `json:"bytes"`
}

// Tail returns the newest entry's time.
func (m Meta) Tail() time.Time { return time.UnixMicro(m.TailUS) }

// journalDir is where the journal files of a cache directory live.
func journalDir(cache string) string { return filepath.Join(cache, "journal") }

func loadMeta(cache string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(cache, "meta.json"))
	if err != nil {
		return m, fmt.Errorf("read journal metadata: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("parse %s: %w", filepath.Join(cache, "meta.json"), err)
	}
	if m.Version != genVersion {
		return m, fmt.Errorf("journal in %s is generator version %d, want %d", cache, m.Version, genVersion)
	}
	return m, nil
}

// cmdGen generates the benchmark journal into DIR unless DIR already holds
// a complete one of this generator version.
func cmdGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("dir", "", "cache directory to create (DIR/journal, DIR/meta.json)")
	entries := fs.Int("entries", 5_000_000, "entries to generate (a multiple of 100)")
	force := fs.Bool("force", false, "regenerate even when DIR holds a complete journal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	if *entries <= 0 || *entries%blockSize != 0 {
		return fmt.Errorf("-entries %d must be a positive multiple of %d", *entries, blockSize)
	}
	if m, err := loadMeta(*dir); err == nil && m.Entries == *entries && !*force {
		fmt.Fprintf(os.Stderr, "kdbench gen: using cached %s (%d entries, tail %s)\n",
			*dir, m.Entries, m.Tail().UTC().Format(time.RFC3339))
		return dateArchives(journalDir(*dir)) // caches made before archives were dated
	}
	// Generate next to the target and rename: an interrupted run must not
	// leave a half-written journal that a later run would trust.
	tmp := fmt.Sprintf("%s.tmp-%d", *dir, os.Getpid())
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clean %s: %w", tmp, err)
	}
	fmt.Fprintf(os.Stderr, "kdbench gen: generating %d entries into %s (5M entries take ~3.5 minutes and ~2 GiB)\n", *entries, *dir)
	m, err := generate(journalDir(tmp), *entries, time.Now())
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := dateArchives(journalDir(tmp)); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), append(b, '\n'), 0o644); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("write metadata: %w", err)
	}
	if err := os.RemoveAll(*dir); err != nil {
		return fmt.Errorf("remove old %s: %w", *dir, err)
	}
	if err := os.Rename(tmp, *dir); err != nil {
		return fmt.Errorf("move journal into place: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kdbench gen: %d entries (%d kubelet, %d failures), %.1f MiB, %.0f s\n",
		m.Entries, m.Kubelet, m.Failures, float64(m.Bytes)/(1<<20), m.Seconds)
	return nil
}

// dateArchives gives each archived file (a name with '@') the mtime that
// journald's rotation leaves on it, its last entry's time, instead of the
// minutes in which the generator wrote all of them: readers that judge an
// archive by its mtime (kubelet-doctor reads only archives whose mtime is
// within its slack of the window) would otherwise open every archive of a
// day for a one-minute window, which no real node makes them do.
func dateArchives(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("date archives: %w", err)
	}
	for _, e := range ents {
		if !strings.Contains(e.Name(), "@") || !strings.HasSuffix(e.Name(), ".journal") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("date archive: %w", err)
		}
		var h [8]byte
		_, err = f.ReadAt(h[:], 192) // le64 tail_entry_realtime (journal-def.h)
		f.Close()
		if err != nil {
			return fmt.Errorf("date archive %s: read header: %w", p, err)
		}
		tail := time.UnixMicro(int64(binary.LittleEndian.Uint64(h[:])))
		if err := os.Chtimes(p, tail, tail); err != nil {
			return fmt.Errorf("date archive: %w", err)
		}
	}
	return nil
}

// generate writes n entries ending just before genStart: the newest entry
// is stamped 1 s before it, (1-denseShare) of the entries are spread over
// the 23 hours before the last hour and denseShare over the last hour.
func generate(dir string, n int, genStart time.Time) (Meta, error) {
	end := genStart.Add(-time.Second).Truncate(time.Microsecond)
	start := end.Add(-span)
	denseStart := end.Add(-denseSpan)
	nDense := int(float64(n) * denseShare)
	nSparse := n - nDense
	m := Meta{Version: genVersion, Entries: n, Generated: genStart.UTC(), BootTime: bootTime()}
	stamp := func(i int) time.Time {
		// Strictly increasing µs stamps: sd_journal's realtime seeks bisect.
		if i < nSparse {
			return start.Add(time.Duration(float64(denseStart.Sub(start)) * float64(i) / float64(nSparse)))
		}
		j := i - nSparse
		return denseStart.Add(time.Duration(float64(end.Sub(denseStart)) * float64(j) / float64(nDense)))
	}
	g := newMix(rand.New(rand.NewPCG(genVersion, uint64(n))))
	w, err := journalexport.NewWriter(filepath.Join(dir, "system.journal"))
	if err != nil {
		return m, fmt.Errorf("start journal writer: %w", err)
	}
	w.BootID = benchBootID
	w.Hostname = nodeName
	t0 := time.Now()
	prev := int64(0)
	for i := 0; i < n; i++ {
		t := stamp(i)
		if us := t.UnixMicro(); us <= prev {
			t = time.UnixMicro(prev + 1)
		}
		prev = t.UnixMicro()
		if i == 0 {
			m.HeadUS = prev
		}
		if i == nSparse {
			m.DenseUS = prev
		}
		if err := w.Write(g.next(t)); err != nil {
			w.Close()
			return m, fmt.Errorf("entry %d: %w", i, err)
		}
		if i > 0 && i%500_000 == 0 {
			fmt.Fprintf(os.Stderr, "kdbench gen: %d/%d entries (%.0f s)\n", i, n, time.Since(t0).Seconds())
		}
	}
	if err := w.Close(); err != nil {
		return m, fmt.Errorf("finish journal: %w", err)
	}
	m.TailUS = prev
	m.Kubelet, m.PID1Kube, m.Failures = g.kubelet, g.pid1Kube, g.failures
	m.Seconds = time.Since(t0).Seconds()
	m.Bytes = dirBytes(dir)
	return m, nil
}

// appendEntries writes n entries of the same mix to DIR/system.journal,
// stamped from first on every step: the "new entries" of the warm runs.
// kubeletOnly makes every entry a benign kubelet line.
func appendEntries(dir string, n int, first time.Time, step time.Duration, kubeletOnly bool) error {
	g := newMix(rand.New(rand.NewPCG(genVersion, 7)))
	w, err := journalexport.NewWriter(filepath.Join(dir, "system.journal"))
	if err != nil {
		return err
	}
	w.BootID = benchBootID
	w.Hostname = nodeName
	for i := 0; i < n; i++ {
		t := first.Add(time.Duration(i) * step)
		e := g.next(t)
		if kubeletOnly {
			e = g.kubeletEntry(t, false)
		}
		if err := w.Write(e); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// cmdAppend appends entries like the warm runs' new entries: a way to
// reproduce one of the harness's runs by hand.
func cmdAppend(args []string) error {
	fs := flag.NewFlagSet("append", flag.ContinueOnError)
	dir := fs.String("dir", "", "journal directory (DIR/system.journal is created or appended to)")
	n := fs.Int("n", 1000, "entries")
	at := fs.String("at", "", "first entry's time, RFC 3339")
	step := fs.Duration("step", 10*time.Millisecond, "time between entries")
	kubelet := fs.Bool("kubelet", false, "benign kubelet lines only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	first, err := time.Parse(time.RFC3339Nano, *at)
	if *dir == "" || err != nil {
		return fmt.Errorf("-dir and -at (RFC 3339) are required (%v)", err)
	}
	return appendEntries(*dir, *n, first, *step, *kubelet)
}

func dirBytes(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}

// bootTime returns the machine's boot time from /proc/stat (btime), zero
// when unknown.
func bootTime() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
}

const nodeName = "node-1"

// mix produces the entries: shuffled blocks of units, kubelet lines in
// klog format with every failureEvery-th one a failure.
type mix struct {
	rng      *rand.Rand
	block    []byte // unit codes of the current block
	pos      int
	kubelet  int
	pid1     int
	pid1Kube int
	failures int
	buf      []byte

	prioInfo, prioWarn, prioErr, kernelFields map[string]string
	pods, ids, uids                           []string
}

func newMix(rng *rand.Rand) *mix {
	g := &mix{rng: rng,
		prioInfo:     map[string]string{"PRIORITY": "6"},
		prioWarn:     map[string]string{"PRIORITY": "4"},
		prioErr:      map[string]string{"PRIORITY": "3"},
		kernelFields: map[string]string{"_TRANSPORT": "kernel", "PRIORITY": "6", "SYSLOG_FACILITY": "0"},
	}
	for i := 0; i < 64; i++ {
		g.pods = append(g.pods, fmt.Sprintf("%s-%s-%s", podBases[i%len(podBases)], g.hex(9), g.hex(5)))
		g.ids = append(g.ids, g.hex(64))
		g.uids = append(g.uids, fmt.Sprintf("%s-%s-%s-%s-%s", g.hex(8), g.hex(4), g.hex(4), g.hex(4), g.hex(12)))
	}
	for c := 0; c < perBlockKube; c++ {
		g.block = append(g.block, 'k')
	}
	for c := 0; c < perBlockCtrd; c++ {
		g.block = append(g.block, 'c')
	}
	for c := 0; c < perBlockSSHD; c++ {
		g.block = append(g.block, 's')
	}
	for c := 0; c < perBlockKernel; c++ {
		g.block = append(g.block, 'n')
	}
	for c := 0; c < perBlockPID1; c++ {
		g.block = append(g.block, 'p')
	}
	g.pos = len(g.block)
	return g
}

var podBases = []string{"web", "api", "worker", "cache", "ingress-nginx-controller", "coredns", "metrics-server", "fluent-bit"}

func (g *mix) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *mix) pick(s []string) string { return s[g.rng.IntN(len(s))] }

func (g *mix) next(t time.Time) journalexport.Entry {
	if g.pos == len(g.block) {
		g.rng.Shuffle(len(g.block), func(i, j int) { g.block[i], g.block[j] = g.block[j], g.block[i] })
		g.pos = 0
	}
	u := g.block[g.pos]
	g.pos++
	switch u {
	case 'k':
		g.kubelet++
		fail := g.kubelet%failureEvery == failureEvery/2
		if fail {
			g.failures++
		}
		return g.kubeletEntry(t, fail)
	case 'c':
		e := journalexport.Unit(t, "containerd.service", "containerd", g.containerd(t))
		e.PID = 871
		e.Fields = g.prioInfo
		return e
	case 's':
		e := journalexport.Unit(t, "ssh.service", "sshd", fmt.Sprintf(sshdMsgs[g.rng.IntN(len(sshdMsgs))], 40000+g.rng.IntN(20000)))
		e.PID = 20000 + g.rng.IntN(9000)
		e.Fields = g.prioInfo
		return e
	case 'n':
		return journalexport.Entry{Time: t, Identifier: "kernel", Fields: g.kernelFields,
			Message: fmt.Sprintf(kernelMsgs[g.rng.IntN(len(kernelMsgs))], g.hex(11))}
	default:
		g.pid1++
		if g.pid1%pid1AboutKubeletEvery == 0 {
			g.pid1Kube++
			msg := pid1Kubelet[(g.pid1/pid1AboutKubeletEvery)%len(pid1Kubelet)]
			if strings.Contains(msg, "%d") {
				msg = fmt.Sprintf(msg, 1+g.rng.IntN(40))
			}
			e := journalexport.Systemd(t, "kubelet.service", msg)
			e.Fields = g.prioInfo
			return e
		}
		e := journalexport.Systemd(t, "", fmt.Sprintf(pid1Other[g.rng.IntN(len(pid1Other))], 1000+g.rng.IntN(9000)))
		e.AboutUnit = "session.scope"
		e.Fields = g.prioInfo
		return e
	}
}

// kubeletEntry is one klog-formatted kubelet line; a failure line is taken
// round-robin from failureMsgs.
func (g *mix) kubeletEntry(t time.Time, fail bool) journalexport.Entry {
	var sev byte
	var file, body string
	if fail {
		f := failureMsgs[(g.failures-1)%len(failureMsgs)]
		sev, file, body = f.sev, f.file, f.msg
	} else {
		b := benignMsgs[g.rng.IntN(len(benignMsgs))]
		sev, file, body = b.sev, b.file, g.fill(b.msg)
	}
	g.buf = klogHeader(g.buf[:0], sev, t, journalexport.KubeletPID, file)
	g.buf = append(g.buf, body...)
	e := journalexport.Kubelet(t, string(g.buf))
	switch sev {
	case 'E', 'F':
		e.Fields = g.prioErr
	case 'W':
		e.Fields = g.prioWarn
	default:
		e.Fields = g.prioInfo
	}
	return e
}

// fill replaces {pod}, {uid}, {id}, {n} placeholders.
func (g *mix) fill(s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	r := strings.NewReplacer("{pod}", g.pick(g.pods), "{uid}", g.pick(g.uids), "{id}", g.pick(g.ids),
		"{n}", strconv.Itoa(1+g.rng.IntN(250)))
	return r.Replace(s)
}

// klogHeader appends "Lmmdd hh:mm:ss.uuuuuu threadid file:line] ".
func klogHeader(b []byte, sev byte, t time.Time, pid int, file string) []byte {
	t = t.UTC()
	_, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append(b, sev)
	b = pad(b, int(mo), 2)
	b = pad(b, d, 2)
	b = append(b, ' ')
	b = pad(b, h, 2)
	b = append(b, ':')
	b = pad(b, mi, 2)
	b = append(b, ':')
	b = pad(b, s, 2)
	b = append(b, '.')
	b = pad(b, t.Nanosecond()/1000, 6)
	p := strconv.Itoa(pid)
	for i := len(p); i < 8; i++ {
		b = append(b, ' ')
	}
	b = append(b, p...)
	b = append(b, ' ')
	b = append(b, file...)
	return append(b, "] "...)
}

func pad(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func (g *mix) containerd(t time.Time) string {
	msg := g.fill(containerdMsgs[g.rng.IntN(len(containerdMsgs))])
	return fmt.Sprintf("time=%q level=info msg=%q", t.UTC().Format(time.RFC3339Nano), msg)
}

type klogLine struct {
	sev  byte
	file string
	msg  string
}

// benignMsgs are modelled on a busy kubelet's everyday lines, including the
// near misses that share a failure rule's literal ("not found",
// "connection refused", "no such file or directory") and so reach the
// regex stage of a literal-prefiltered classifier.
var benignMsgs = []klogLine{
	{'I', "kubelet.go:2453", `"SyncLoop (PLEG): event for pod" pod="default/{pod}" event={"ID":"{uid}","Type":"ContainerStarted","Data":"{id}"}`},
	{'I', "kubelet.go:2422", `"SyncLoop UPDATE" source="api" pods=["default/{pod}"]`},
	{'I', "kubelet.go:2413", `"SyncLoop ADD" source="api" pods=["default/{pod}"]`},
	{'I', "kubelet.go:2437", `"SyncLoop DELETE" source="api" pods=["default/{pod}"]`},
	{'I', "scope.go:117", `"RemoveContainer" containerID="{id}"`},
	{'I', "operation_generator.go:721", `"MountVolume.SetUp succeeded for volume \"kube-api-access-{n}\" (UniqueName: \"kubernetes.io/projected/{uid}-kube-api-access-{n}\") pod \"{pod}\" (UID: \"{uid}\") " pod="default/{pod}"`},
	{'I', "reconciler_common.go:245", `"operationExecutor.VerifyControllerAttachedVolume started for volume \"config\" (UniqueName: \"kubernetes.io/configmap/{uid}-config\") pod \"{pod}\" (UID: \"{uid}\") " pod="default/{pod}"`},
	{'I', "reconciler_common.go:299", `"Volume detached for volume \"config\" (UniqueName: \"kubernetes.io/configmap/{uid}-config\") on node \"node-1\" DevicePath \"\""`},
	{'I', "prober.go:107", `"Probe failed" probeType="Readiness" pod="default/{pod}" podUID="{uid}" containerName="app" probeResult="failure" output="Get \"http://10.244.1.{n}:8080/healthz\": dial tcp 10.244.1.{n}:8080: connect: connection refused"`},
	{'I', "status_manager.go:890", `"Failed to get status for pod" podUID="{uid}" pod="default/{pod}" err="pods \"{pod}\" not found"`},
	{'E', "log.go:32", `"ContainerStatus from runtime service failed" err="rpc error: code = NotFound desc = an error occurred when try to find container \"{id}\": not found" containerID="{id}"`},
	{'E', "pod_workers.go:1301", `"Error syncing pod, skipping" err="failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 5m0s restarting failed container=app pod={pod}_default({uid})\"" pod="default/{pod}" podUID="{uid}"`},
	{'I', "kuberuntime_container.go:808", `"Killing container with a grace period" pod="default/{pod}" podUID="{uid}" containerName="app" containerID="containerd://{id}" gracePeriod=30`},
	{'I', "pod_startup_latency_tracker.go:104", `"Observed pod startup duration" pod="default/{pod}" podStartSLOduration=2.{n} podStartE2EDuration="4.{n}s" podCreationTimestamp="2026-11-25 10:00:00 +0000 UTC" firstStartedPulling="0001-01-01 00:00:00 +0000 UTC" lastFinishedPulling="0001-01-01 00:00:00 +0000 UTC"`},
	{'I', "generic.go:334", `"Generic (PLEG): container finished" podID="{uid}" containerID="{id}" exitCode=0`},
	{'I', "kubelet_volumes.go:163", `"Cleaned up orphaned pod volumes dir" podUID="{uid}" path="/var/lib/kubelet/pods/{uid}/volumes"`},
	{'E', "cadvisor_stats_provider.go:525", `"Partial failure issuing cadvisor.ContainerInfoV2" err="partial failures: [\"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{n}.slice\": RecentStats: unable to find data in memory cache]"`},
	{'W', "container_log_manager.go:265", `"Failed to rotate log for container" err="failed to rotate log \"/var/log/pods/default_{pod}_{uid}/app/0.log\": open /var/log/pods/default_{pod}_{uid}/app/0.log: no such file or directory" path="/var/log/pods/default_{pod}_{uid}/app/0.log" containerID="{id}"`},
	{'I', "kubelet_getters.go:218", `"Pod status updated" pod="default/{pod}" status="Running"`},
	{'I', "image_gc_manager.go:400", `"Attempting to delete unused images"`},
	{'I', "container_gc.go:88", `"Attempting to delete unused containers"`},
	{'I', "kubelet_node_status.go:488", `"Fast updating node status as it just became ready"`},
	{'I', "topology_manager.go:215", `"Topology Admit Handler" podUID="{uid}" podNamespace="default" podName="{pod}"`},
	{'I', "memory_manager.go:354", `"RemoveStaleState removing state" podUID="{uid}" containerName="app"`},
	{'I', "cpu_manager.go:395", `"RemoveStaleState: removing container" podUID="{uid}" containerName="app"`},
	{'W', "watcher.go:93", `Error while processing event ("/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{n}.slice": 0x40000100 == IN_CREATE|IN_ISDIR): inotify_add_watch /sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{n}.slice: no such file or directory`},
}

// failureMsgs are modelled on real kubelet failure lines (see the corpus in
// internal/rules/testdata/corpus); one of every failureEvery kubelet
// entries is one of them, round-robin.
var failureMsgs = []klogLine{
	{'E', "kubelet_node_status.go:96", `"Unable to register node with API server" err="Post \"https://10.0.0.1:6443/api/v1/nodes\": x509: certificate signed by unknown authority" node="node-1"`},
	{'E', "certificate_manager.go:562", `kubernetes.io/kube-apiserver-client-kubelet: Failed while requesting a signed certificate from the control plane: cannot create certificate signing request: Unauthorized`},
	{'E', "run.go:72", `"command failed" err="failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory"`},
	{'E', "server.go:3138", `"Failed to start podresources grpc server" err="listen unix /var/lib/kubelet/pod-resources/kubelet.sock: bind: permission denied"`},
	{'E', "controller.go:145", `"Failed to ensure lease exists, will retry" err="Get \"https://10.0.0.1:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1?timeout=10s\": dial tcp 10.0.0.1:6443: connect: connection refused" interval="7s"`},
	{'E', "kubelet_node_status.go:535", `"Error updating node status, will retry" err="error getting node \"node-1\": Get \"https://10.0.0.1:6443/api/v1/nodes/node-1?resourceVersion=0&timeout=10s\": net/http: TLS handshake timeout"`},
	{'E', "kubelet_node_status.go:96", `"Unable to register node with API server" err="nodes \"node-1\" is forbidden: node \"node-1\" is not allowed to modify node \"node-2\"" node="node-1"`},
	{'E', "kubelet.go:3002", `"Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"`},
	{'E', "run.go:72", `"command failed" err="failed to run Kubelet: misconfiguration: kubelet cgroup driver: \"systemd\" is different from docker cgroup driver: \"cgroupfs\""`},
	{'E', "run.go:72", `"command failed" err="failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory"`},
	{'E', "dns.go:153", `"Nameserver limits exceeded" err="Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4"`},
	{'E', "kubelet_node_status.go:96", `"Unable to register node with API server" err="Post \"https://10.0.0.1:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-11-25T13:50:00Z is after 2026-11-24T00:00:00Z" node="node-1"`},
	{'E', "csi_plugin.go:305", `"Failed to initialize CSINode" err="error updating CSINode annotation: timed out waiting for the condition; caused by: nodes \"node-1\" not found"`},
	{'E', "reflector.go:158", `"Unhandled Error" err="k8s.io/client-go/informers/factory.go:160: Failed to watch *v1.Node: failed to list *v1.Node: Get \"https://api.cluster.local:6443/api/v1/nodes?fieldSelector=metadata.name%3Dnode-1&limit=500&resourceVersion=0\": dial tcp: lookup api.cluster.local on 10.0.0.2:53: no such host"`},
	{'I', "kubelet_node_status.go:75", `"Attempting to register node" node="node-1"`},
	{'I', "kubelet_node_status.go:78", `"Successfully registered node" node="node-1"`},
	{'I', "server.go:484", `"Kubelet version" kubeletVersion="v1.36.3"`},
}

var containerdMsgs = []string{
	`StartContainer for "{id}" returns successfully`,
	`CreateContainer within sandbox "{id}" for &ContainerMetadata{Name:app,Attempt:{n},} returns container id "{id}"`,
	`RunPodSandbox for &PodSandboxMetadata{Name:{pod},Uid:{uid},Namespace:default,Attempt:0,} returns sandbox id "{id}"`,
	`StopPodSandbox for "{id}" returns successfully`,
	`TearDown network for sandbox "{id}" successfully`,
	`ImageCreate event name:"registry.k8s.io/pause:3.10" labels:{key:"io.cri-containerd.image" value:"managed"}`,
	`shim disconnected id={id} namespace=k8s.io`,
	`cleaning up after shim disconnected id={id} namespace=k8s.io`,
}

var sshdMsgs = []string{
	"Accepted publickey for admin from 10.0.0.5 port %d ssh2: ED25519 SHA256:3q2+7w9fGqkzYbH1tW8sVn0uJxQ5cR4mLp6dE1aZbYo",
	"pam_unix(sshd:session): session opened for user admin(uid=1000) by (uid=0) port %d",
	"Received disconnect from 10.0.0.5 port %d:11: disconnected by user",
	"Connection closed by authenticating user root 203.0.113.7 port %d [preauth]",
}

var kernelMsgs = []string{
	"IPv6: ADDRCONF(NETDEV_CHANGE): cali%s: link becomes ready",
	"cni0: port 3(veth%s) entered forwarding state",
	"cni0: port 3(veth%s) entered disabled state",
	"audit: type=1400 audit(1764078600.123:%s): apparmor=\"DENIED\" operation=\"open\" profile=\"cri-containerd.apparmor.d\"",
	"EXT4-fs (vda1): mounted filesystem %s r/w with ordered data mode. Quota mode: none.",
	"nf_conntrack: default automatic helper assignment has been turned off for security reasons (%s)",
}

var pid1Kubelet = []string{
	"Started kubelet.service - kubelet: The Kubernetes Node Agent.",
	"kubelet.service: Main process exited, code=exited, status=1/FAILURE",
	"kubelet.service: Failed with result 'exit-code'.",
	"kubelet.service: Scheduled restart job, restart counter is at %d.",
	"Stopped kubelet.service - kubelet: The Kubernetes Node Agent.",
	"Started kubelet.service - kubelet: The Kubernetes Node Agent.",
	"kubelet.service: Consumed 1h 2min 3.456s CPU time.",
}

var pid1Other = []string{
	"Started session-%d.scope - Session of User admin.",
	"session-%d.scope: Deactivated successfully.",
	"Starting logrotate.service - Rotate log files (run %d)...",
	"logrotate.service: Deactivated successfully (run %d).",
}
