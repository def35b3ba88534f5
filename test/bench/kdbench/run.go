package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// Variants, in the order of the report.
const (
	vCold    = "check cold"
	vFloor   = "floor (sd_journal, no matching)"
	vGrep    = "journalctl | grep -E -f"
	vLC      = "NPD log-counter"
	vWarm    = "check warm (+1,000 entries)"
	vOne     = "check, 1 condition (+1 entry)"
	vElevenS = "check, 11 conditions sequential"
	vEleven3 = "check, 11 conditions 3 at a time"
)

var variants = []string{vCold, vFloor, vGrep, vLC, vWarm, vOne, vElevenS, vEleven3}

// Sample is one measured run of a variant: the processes and the group's
// wall time (a pipeline or 11 invocations).
type Sample struct {
	Wall  time.Duration `json:"wall"`
	Procs []Proc        `json:"procs"`
	Out   string        `json:"out"` // what the run reported (entries, verdict, matches)
}

// CPU is the user+system time of every process of the sample.
func (s Sample) CPU() time.Duration {
	var t time.Duration
	for _, p := range s.Procs {
		t += p.CPU
	}
	return t
}

// TimedOut reports whether a process was killed at its timeout.
func (s Sample) TimedOut() bool {
	for _, p := range s.Procs {
		if p.TimedOut {
			return true
		}
	}
	return false
}

// mem returns the sample's peak RSS, anonymous and file-backed RSS: the
// sum over processes that run at the same time (a pipeline), the maximum
// over processes that run one after another or 3 at a time (11 checks).
func (s Sample) mem(concurrent bool) (rss, anon, file int64) {
	for _, p := range s.Procs {
		if concurrent {
			rss, anon, file = rss+p.MaxRSS, anon+p.PeakAnon, file+p.PeakFile
		} else {
			rss, anon, file = max(rss, p.MaxRSS), max(anon, p.PeakAnon), max(file, p.PeakFile)
		}
	}
	return
}

// WindowResult is everything measured for one window.
type WindowResult struct {
	Window  time.Duration       `json:"window"`
	Since   time.Time           `json:"since"`
	Samples map[string][]Sample `json:"samples"` // timed runs
	Mem     map[string]Sample   `json:"memory"`  // the observed run
	Notes   map[string]string   `json:"notes"`
	Entries map[string]string   `json:"entries"` // variant -> entries it read (verification runs)
}

// Results is the whole run, written as JSON next to the Markdown.
type Results struct {
	Mode        string          `json:"mode"`
	Started     time.Time       `json:"started"`
	Finished    time.Time       `json:"finished"`
	Runs        int             `json:"runs"`
	Meta        Meta            `json:"journal"`
	Now         time.Time       `json:"now"` // --now: the journal's tail, rounded up to a second
	Boot        time.Time       `json:"boot"`
	Patterns    PatternSummary  `json:"patterns"`
	Machine     Machine         `json:"machine"`
	Windows     []*WindowResult `json:"windows"`
	LCTimeout   time.Duration   `json:"lcTimeout"`
	LCPattern   string          `json:"lcPattern"`
	Condition   string          `json:"condition"`
	Conditions  []string        `json:"conditions"`
	ClassifyMix []string        `json:"classifyMix"` // go test -bench lines
	Ptrace      bool            `json:"ptrace"`
	KDVersion   string          `json:"kdVersion"`
	LogCounter  string          `json:"logCounter"`
	LoadBefore  string          `json:"loadBefore"`
	LoadAfter   string          `json:"loadAfter"`
}

type runner struct {
	cache, jdir      string
	bin, floor, lc   string
	journalctl, grep string
	work             string
	patterns         string
	runs             int
	lcTimeout        time.Duration
	lcPattern        string
	res              *Results
	observe          bool // this round observes memory instead of timing
	// per window: overlay dirs and seed states of the warm and the
	// 11-condition variants
	ovWarm, seedWarm, ovOne, seedOne map[time.Duration]string
}

// checkTimeout is the --timeout given to every check: far above any run,
// so that a slow 24-hour scan is measured instead of cut off as Unknown.
const checkTimeout = "10m"

// lcObserveTimeout bounds log-counter's memory-observation run.
const lcObserveTimeout = 20 * time.Second

// newEntriesAfter is when the new entries of the warm and 11-condition runs
// start after --now, and evalAfter when those runs evaluate: more than
// check's --reuse-within (2s), so that the first invocation reads the
// journal, and less than the shortest window, so that the state stays valid.
const (
	newEntriesAfter = 100 * time.Millisecond
	evalAfter       = 15 * time.Second
)

// runFlags are the options of kdbench run.
type runFlags struct {
	cache, bin, floor, lc, mode, out, jsonOut, goBench, work string
	runs                                                     int
	windows                                                  []time.Duration
	lcTimeout                                                time.Duration
}

func parseRunFlags(args []string) (*runFlags, error) {
	f := &runFlags{}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&f.cache, "journal", "", "cache directory made by kdbench gen")
	fs.StringVar(&f.bin, "bin", "bin/kubelet-doctor", "kubelet-doctor binary")
	fs.StringVar(&f.floor, "floor", "", "floor binary (go build ./test/bench/floor)")
	fs.StringVar(&f.lc, "log-counter", "", "NPD log-counter built with -tags journald (empty: skip)")
	fs.IntVar(&f.runs, "runs", 5, "interleaved runs per variant and window")
	windows := fs.String("windows", "1m,1h,24h", "windows, comma-separated")
	fs.DurationVar(&f.lcTimeout, "lc-timeout", time.Minute, "log-counter runs are killed after this and reported as > T")
	fs.StringVar(&f.mode, "mode", "full", "label of the run (full, quick)")
	fs.StringVar(&f.out, "out", "", "write the Markdown results here (default stdout)")
	fs.StringVar(&f.jsonOut, "json", "", "write the raw results as JSON here")
	fs.StringVar(&f.goBench, "gobench", "", "file with the output of go test -bench BenchmarkClassifyMix")
	fs.StringVar(&f.work, "work", "", "scratch directory (default a new temporary one, removed at the end)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.cache == "" || f.floor == "" {
		return nil, errors.New("-journal and -floor are required")
	}
	for _, w := range strings.Split(*windows, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(w))
		if err != nil || d <= evalAfter {
			return nil, fmt.Errorf("window %q: want a duration above %s", w, evalAfter)
		}
		f.windows = append(f.windows, d)
	}
	return f, nil
}

func cmdRun(args []string) error {
	f, err := parseRunFlags(args)
	if err != nil {
		return err
	}
	meta, err := loadMeta(f.cache)
	if err != nil {
		return err
	}
	r, cleanup, err := newRunner(f)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := r.begin(f, meta); err != nil {
		return err
	}
	logf("warming the page cache: reading every journal file once")
	if err := warmCache(r.jdir); err != nil {
		return err
	}
	for _, w := range f.windows {
		wr, err := r.setup(w)
		if err != nil {
			return fmt.Errorf("set up window %s: %w", w, err)
		}
		r.res.Windows = append(r.res.Windows, wr)
	}
	if err := r.rounds(); err != nil {
		return err
	}
	r.res.LoadAfter = loadavg()
	r.res.Finished = time.Now().UTC()
	return writeResults(r.res, f.jsonOut, f.out)
}

// newRunner finds the binaries and the baselines' tools and makes the
// scratch directory; cleanup removes it when it is a temporary one.
func newRunner(f *runFlags) (r *runner, cleanup func(), err error) {
	r = &runner{cache: f.cache, jdir: journalDir(f.cache), runs: f.runs, lcTimeout: f.lcTimeout,
		ovWarm: map[time.Duration]string{}, seedWarm: map[time.Duration]string{},
		ovOne: map[time.Duration]string{}, seedOne: map[time.Duration]string{}}
	for _, p := range []struct {
		dst  *string
		path string
	}{{&r.bin, f.bin}, {&r.floor, f.floor}, {&r.lc, f.lc}} {
		if p.path == "" {
			continue
		}
		abs, err := filepath.Abs(p.path)
		if err != nil {
			return nil, nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, nil, fmt.Errorf("binary: %w", err)
		}
		*p.dst = abs
	}
	if r.journalctl, err = exec.LookPath("journalctl"); err != nil {
		return nil, nil, fmt.Errorf("journalctl is the baseline: %w", err)
	}
	if r.grep, err = exec.LookPath("grep"); err != nil {
		return nil, nil, fmt.Errorf("grep is the baseline: %w", err)
	}
	r.work = f.work
	if r.work != "" {
		return r, func() {}, os.MkdirAll(r.work, 0o755)
	}
	if r.work, err = os.MkdirTemp("", "kdbench-"); err != nil {
		return nil, nil, err
	}
	return r, func() { os.RemoveAll(r.work) }, nil
}

// begin starts the results: the machine, the journal (whose tail must be
// the one meta.json recorded), the patterns and the binaries' versions.
func (r *runner) begin(f *runFlags, meta Meta) error {
	res := &Results{Mode: f.mode, Started: time.Now().UTC(), Runs: f.runs, Meta: meta, Boot: bootTime(),
		Machine: machine(), LCTimeout: f.lcTimeout, Ptrace: ptraceUsable(), LoadBefore: loadavg()}
	r.res = res
	// The evaluation time: the tail rounded up to a whole second, so that
	// journalctl's --since/--until (whole seconds) bound the same window.
	res.Now = meta.Tail().Truncate(time.Second).Add(time.Second)
	if tail, err := r.tail(); err != nil {
		return err
	} else if tail != meta.TailUS {
		return fmt.Errorf("journal tail %d differs from meta.json's %d: the cache was modified; regenerate it", tail, meta.TailUS)
	}
	if out, err := exec.Command(r.bin, "version").Output(); err == nil {
		res.KDVersion = strings.TrimSpace(string(out))
	}
	res.LogCounter = r.lc
	r.patterns = filepath.Join(r.work, "patterns.ere")
	var err error
	if res.Patterns, err = writePatterns(r.patterns); err != nil {
		return err
	}
	logf("patterns: %s", res.Patterns)
	res.Condition = "KubeletCATrustProblem"
	for _, c := range rules.Conditions() {
		res.Conditions = append(res.Conditions, c.Type)
	}
	// NPD's usual log-counter pattern shape: it must match to the end of
	// the line; one pattern, the cheapest case for log-counter.
	r.lcPattern = `.*x509: certificate signed by unknown authority.*`
	res.LCPattern = r.lcPattern
	if f.goBench != "" {
		b, err := os.ReadFile(f.goBench)
		if err != nil {
			return fmt.Errorf("read go bench output: %w", err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "BenchmarkClassifyMix") {
				res.ClassifyMix = append(res.ClassifyMix, strings.TrimSpace(l))
			}
		}
	}
	return nil
}

// rounds measures every variant in every window. Round 0 observes memory
// (1 ms /proc sampler, ptrace stop at exit) and doubles as a warm-up;
// rounds 1..runs are timed with nothing watching the process, so the
// observer's wake-ups never reach the wall times.
func (r *runner) rounds() error {
	for i := 0; i <= r.runs; i++ {
		r.observe = i == 0
		for _, wr := range r.res.Windows {
			// Rotate the order so that each variant takes each position:
			// position effects (page cache, CPU boost, other load) spread
			// evenly instead of favouring one variant.
			for k := range variants {
				v := variants[(k+i)%len(variants)]
				if v == vLC && (r.lc == "" || (!r.observe && timedOutBefore(wr.Samples[v]))) {
					// A log-counter that was killed at the timeout once in
					// this window is not run again: every further run would
					// cost the full timeout and tell nothing new.
					continue
				}
				s, err := r.measure(v, wr)
				if err != nil {
					return fmt.Errorf("run %d, window %s, %s: %w", i, wr.Window, v, err)
				}
				what := "memory"
				if r.observe {
					wr.Mem[v] = s
				} else {
					wr.Samples[v] = append(wr.Samples[v], s)
					what = fmt.Sprintf("run %d/%d", i, r.runs)
				}
				logf("%-8s %-4s %-34s wall %9s cpu %9s %s", what, fmtWindow(wr.Window), v,
					s.Wall.Round(10*time.Microsecond), s.CPU().Round(10*time.Microsecond), firstLine(s.Out))
			}
		}
	}
	return nil
}

// writeResults writes the raw results as JSON (when jsonOut is set) and
// the Markdown report to out, or to stdout.
func writeResults(res *Results, jsonOut, out string) error {
	if jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", " ")
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			return fmt.Errorf("write json: %w", err)
		}
	}
	md := report(res)
	if out == "" {
		_, err := os.Stdout.WriteString(md)
		return err
	}
	return os.WriteFile(out, []byte(md), 0o644)
}

func timedOutBefore(ss []Sample) bool {
	for _, s := range ss {
		if s.TimedOut() {
			return true
		}
	}
	return false
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kdbench: "+format+"\n", args...)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 70 {
		s = s[:70] + "..."
	}
	return s
}

// warmCache reads every journal file once: all variants then run against
// a hot page cache, and the first one is not charged for disk reads.
func warmCache(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, f)
		return err
	})
}

func (r *runner) tail() (int64, error) {
	out, err := exec.Command(r.floor, "-dir", r.jdir, "-tail").Output()
	if err != nil {
		return 0, fmt.Errorf("read journal tail: %w", err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

func (r *runner) now() time.Time { return r.res.Now }

// checkArgs is a check invocation; the journal dirs and state dir vary.
func (r *runner) checkArgs(cond string, w time.Duration, now time.Time, state string, dirs ...string) []string {
	a := []string{r.bin, "check", cond}
	for _, d := range dirs {
		a = append(a, "--journal-dir", d)
	}
	return append(a, "--state-dir", state, "--window", w.String(),
		"--now", now.UTC().Format(time.RFC3339Nano), "--timeout", checkTimeout)
}

func (r *runner) checkCmd(name string, args []string) Cmd {
	return Cmd{Name: name, Path: r.bin, Args: args, Observe: r.observe}
}

// setup prepares a window: the overlay journals and the seed states of the
// warm and 11-condition variants, and one verification run per variant
// that records how many entries each reads.
func (r *runner) setup(w time.Duration) (*WindowResult, error) {
	now := r.now()
	wr := &WindowResult{Window: w, Since: now.Add(-w), Samples: map[string][]Sample{}, Mem: map[string]Sample{},
		Notes: map[string]string{}, Entries: map[string]string{}}
	if err := r.overlays(w, now); err != nil {
		return nil, err
	}
	r.verifyEntries(wr, w, now)
	r.verifyReuse(wr, w, now)
	// journalctl -u selects the same entries in this journal: count its lines.
	if out, err := exec.Command(r.journalctl, "-D", r.jdir, "-u", "kubelet.service",
		"--since", "@"+strconv.FormatInt(wr.Since.Unix(), 10), "--until", "@"+strconv.FormatInt(now.Unix(), 10),
		"-o", "cat", "--no-pager").Output(); err == nil {
		wr.Entries[vGrep] = strconv.Itoa(strings.Count(string(out), "\n"))
	}
	if r.lc != "" {
		r.logCounterEntries(wr)
	}
	return wr, nil
}

// overlays makes the overlay journal and the seed state of the warm and
// the 11-condition variants of window w. The overlay is a second
// --journal-dir next to the cached journal: the new entries go there, so
// the cached journal is never written to. The seed state is made by a cold
// check over both dirs while the overlay is still empty, then the entries
// are appended: every warm run starts from a copy of that state and reads
// exactly the new entries.
func (r *runner) overlays(w time.Duration, now time.Time) error {
	tag := fmtWindow(w)
	for _, o := range []struct {
		ov, seed *map[time.Duration]string
		name     string
		n        int
		step     time.Duration
		kubelet  bool
	}{
		{&r.ovWarm, &r.seedWarm, "warm", 1000, 10 * time.Millisecond, false},
		{&r.ovOne, &r.seedOne, "one", 1, 0, true},
	} {
		ov := filepath.Join(r.work, "overlay-"+o.name+"-"+tag)
		seed := filepath.Join(r.work, "seed-"+o.name+"-"+tag)
		for _, d := range []string{ov, seed} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		args := r.checkArgs(r.res.Condition, w, now, seed, r.jdir, ov)
		if out, err := exec.Command(args[0], args[1:]...).Output(); err != nil && !isExit(err, 1) {
			return fmt.Errorf("seed state for %s (%s): %w", o.name, firstLine(string(out)), err)
		}
		if err := appendEntries(ov, o.n, now.Add(newEntriesAfter), o.step, o.kubelet); err != nil {
			return fmt.Errorf("append new entries: %w", err)
		}
		(*o.ov)[w], (*o.seed)[w] = ov, seed
	}
	return nil
}

// entriesRE finds the entries a check read in its debug log.
var entriesRE = regexp.MustCompile(`entries=(\d+)`)

// debugEntries runs a check with debug logging and returns the entries it
// read, "" when it logged none.
func debugEntries(args []string) string {
	out, _ := exec.Command(args[0], append(args[1:], "--log-level", "debug")...).CombinedOutput()
	if m := entriesRE.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return ""
}

// verifyEntries records the entries the cold, warm and one-condition
// variants read, with the same flags plus debug logging; a variant that
// starts from a seed state gets a fresh copy of it.
func (r *runner) verifyEntries(wr *WindowResult, w time.Duration, now time.Time) {
	verify := func(v string, args []string, state string) {
		if state != "" {
			fresh := filepath.Join(r.work, "verify-state")
			os.RemoveAll(fresh)
			if err := copyDir(state, fresh); err != nil {
				wr.Entries[v] = "?"
				return
			}
			for i, a := range args {
				if a == state {
					args[i] = fresh
				}
			}
		} else {
			os.RemoveAll(filepath.Join(r.work, "verify-state"))
		}
		wr.Entries[v] = debugEntries(args)
		if wr.Entries[v] == "" {
			wr.Entries[v] = "?"
		}
	}
	verify(vCold, r.checkArgs(r.res.Condition, w, now, filepath.Join(r.work, "verify-state"), r.jdir), "")
	verify(vWarm, r.checkArgs(r.res.Condition, w, now.Add(evalAfter), r.seedWarm[w], r.jdir, r.ovWarm[w]), r.seedWarm[w])
	verify(vOne, r.checkArgs(r.res.Condition, w, now.Add(evalAfter), r.seedOne[w], r.jdir, r.ovOne[w]), r.seedOne[w])
}

// verifyReuse checks that the 10 invocations after the first reuse the
// state without reading the journal (check's --reuse-within).
func (r *runner) verifyReuse(wr *WindowResult, w time.Duration, now time.Time) {
	fresh := filepath.Join(r.work, "verify-state")
	os.RemoveAll(fresh)
	if err := copyDir(r.seedOne[w], fresh); err != nil {
		return
	}
	var reads []string
	for _, c := range []string{r.res.Condition, "KubeletDNSProblem"} {
		n := debugEntries(r.checkArgs(c, w, now.Add(evalAfter), fresh, r.jdir, r.ovOne[w]))
		if n == "" {
			n = "none"
		}
		reads = append(reads, n)
	}
	if reads[1] == "none" {
		wr.Entries[vElevenS] = reads[0] + ", then state reused"
	} else {
		wr.Entries[vElevenS] = strings.Join(reads, ", then ") + " (journal read again)"
	}
	wr.Entries[vEleven3] = wr.Entries[vElevenS]
}

// logCounterEntries records what log-counter can read: SYSLOG_IDENTIFIER=
// kubelet entries stamped after both the window's start and this machine's
// boot, with a note when that is not the whole window.
func (r *runner) logCounterEntries(wr *WindowResult) {
	from := wr.Since
	if boot := r.res.Boot; boot.After(from) {
		from = boot
	}
	n, total := r.identEntries(from), r.identEntries(wr.Since)
	wr.Entries[vLC] = n
	if n == "0" {
		logf("warning: log-counter can read none of the %s window's entries: the cached journal is older than this boot; scripts/bench.sh --regen makes a new one", fmtWindow(wr.Window))
	}
	if n != total {
		wr.Notes[vLC] = fmt.Sprintf("reads %s of the window's %s SYSLOG_IDENTIFIER=kubelet entries: the rest are stamped before this machine booted (%s)",
			n, total, r.res.Boot.UTC().Format(time.RFC3339))
	}
}

// identEntries counts the SYSLOG_IDENTIFIER=kubelet entries from since on
// with the floor binary; "?" when it cannot tell.
func (r *runner) identEntries(since time.Time) string {
	out, err := exec.Command(r.floor, "-dir", r.jdir, "-ident", "-since-us", strconv.FormatInt(since.UnixMicro(), 10)).Output()
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(out)); len(f) >= 2 {
		return f[1]
	}
	return "?"
}

func isExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}

// freshState copies a seed state into a new directory.
func (r *runner) freshState(seed string) (string, error) {
	d, err := os.MkdirTemp(r.work, "state-")
	if err != nil {
		return "", err
	}
	if seed == "" {
		return d, nil
	}
	return d, copyDir(seed, d)
}

func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// measure runs one variant once.
func (r *runner) measure(v string, wr *WindowResult) (Sample, error) {
	w, now := wr.Window, r.now()
	sinceUS := wr.Since.UnixMicro()
	switch v {
	case vCold:
		st, err := r.freshState("")
		if err != nil {
			return Sample{}, err
		}
		defer os.RemoveAll(st)
		return r.one(r.checkCmd("kubelet-doctor", r.checkArgs(r.res.Condition, w, now, st, r.jdir)))
	case vFloor:
		return r.one(Cmd{Name: "floor", Path: r.floor, Observe: r.observe,
			Args: []string{r.floor, "-dir", r.jdir, "-since-us", strconv.FormatInt(sinceUS, 10)}})
	case vGrep:
		return r.pipeline(wr)
	case vLC:
		// log-counter starts at max(boot, its now - lookback): the lookback
		// is measured from the real clock to the window's start.
		lookback := time.Since(wr.Since).Round(time.Millisecond) + time.Millisecond
		timeout := r.lcTimeout
		if r.observe {
			// Its memory levels off once the 1,000-line buffer is full:
			// the observation run need not pay the whole timeout.
			timeout = min(timeout, lcObserveTimeout)
		}
		s, err := r.one(Cmd{Name: "log-counter", Path: r.lc, Timeout: timeout, Observe: r.observe,
			Args: []string{r.lc, "--journald-source=kubelet", "--log-path=" + r.jdir,
				"--lookback=" + lookback.String(), "--pattern=" + r.lcPattern, "--count=1000000000"}})
		if err == nil && !s.TimedOut() {
			if s.Out == "" {
				s.Out = "exit " + strconv.Itoa(s.Procs[0].ExitCode)
			}
		}
		return s, err
	case vWarm:
		st, err := r.freshState(r.seedWarm[w])
		if err != nil {
			return Sample{}, err
		}
		defer os.RemoveAll(st)
		return r.one(r.checkCmd("kubelet-doctor", r.checkArgs(r.res.Condition, w, now.Add(evalAfter), st, r.jdir, r.ovWarm[w])))
	case vOne, vElevenS, vEleven3:
		st, err := r.freshState(r.seedOne[w])
		if err != nil {
			return Sample{}, err
		}
		defer os.RemoveAll(st)
		conds := []string{r.res.Condition}
		if v != vOne {
			conds = r.res.Conditions
		}
		var cmds []Cmd
		for _, c := range conds {
			cmds = append(cmds, r.checkCmd("kubelet-doctor", r.checkArgs(c, w, now.Add(evalAfter), st, r.jdir, r.ovOne[w])))
		}
		workers := 1
		if v == vEleven3 {
			workers = 3 // NPD's custom plugin monitor default concurrency
		}
		return r.group(cmds, workers)
	}
	return Sample{}, fmt.Errorf("unknown variant %q", v)
}

func (r *runner) one(c Cmd) (Sample, error) {
	p, err := Measure(c)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Wall: p.Wall, Procs: []Proc{p}, Out: strings.TrimSpace(p.Stdout)}
	if p.TimedOut {
		s.Out = fmt.Sprintf("killed at the %s timeout", c.Timeout)
	} else if p.ExitCode != 0 && c.Name != "kubelet-doctor" && c.Name != "log-counter" {
		return s, fmt.Errorf("%s exited %d: %s", c.Name, p.ExitCode, firstLine(p.Stderr))
	}
	if c.Name == "kubelet-doctor" && p.ExitCode == 2 {
		return s, fmt.Errorf("check said Unknown: %s %s", s.Out, firstLine(p.Stderr))
	}
	return s, nil
}

// group runs cmds with the given number of workers, as NPD's plugin
// monitor does, and measures the whole.
func (r *runner) group(cmds []Cmd, workers int) (Sample, error) {
	jobs := make(chan int)
	procs := make([]Proc, len(cmds))
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	start := time.Now()
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				procs[i], errs[i] = Measure(cmds[i])
			}
		}()
	}
	for i := range cmds {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return Sample{}, err
	}
	s := Sample{Wall: wall, Procs: procs}
	var outs []string
	for _, p := range procs {
		if p.ExitCode == 2 {
			return s, fmt.Errorf("check said Unknown: %s", strings.TrimSpace(p.Stdout))
		}
		outs = append(outs, strconv.Itoa(p.ExitCode))
	}
	s.Out = "exit codes " + strings.Join(outs, ",")
	if len(procs) == 1 {
		s.Out = strings.TrimSpace(procs[0].Stdout)
	}
	return s, nil
}

// pipeline runs journalctl -o cat | grep -c -E -f patterns over the window.
func (r *runner) pipeline(wr *WindowResult) (Sample, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return Sample{}, err
	}
	// C locale for both: grep's byte-wise matching is its fast path, and
	// the patterns were converted for it.
	env := append(os.Environ(), "LC_ALL=C", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=")
	jc := Cmd{Name: "journalctl", Path: r.journalctl, Env: env, Stdout: pw, Observe: r.observe, Args: []string{
		"journalctl", "-D", r.jdir, "-u", "kubelet.service",
		"--since", "@" + strconv.FormatInt(wr.Since.Unix(), 10),
		"--until", "@" + strconv.FormatInt(r.now().Unix(), 10),
		"-o", "cat", "--no-pager"}}
	gr := Cmd{Name: "grep", Path: r.grep, Env: env, Stdin: pr, Observe: r.observe,
		Args: []string{"grep", "-c", "-E", "-f", r.patterns}}
	// Each pipe end is closed in the parent right after the child that
	// uses it is forked: otherwise grep never sees EOF.
	jc.CloseAfterStart = []*os.File{pw}
	gr.CloseAfterStart = []*os.File{pr}
	start := time.Now()
	type res struct {
		ps  []Proc
		err error
	}
	ch := make(chan res, 1)
	go func() {
		ps, err := MeasureAll(jc, gr)
		ch <- res{ps, err}
	}()
	out := <-ch
	wall := time.Since(start)
	if out.err != nil {
		return Sample{}, out.err
	}
	s := Sample{Wall: wall, Procs: out.ps, Out: strings.TrimSpace(out.ps[1].Stdout) + " lines matched"}
	if c := out.ps[0].ExitCode; c != 0 {
		return s, fmt.Errorf("journalctl exited %d: %s", c, firstLine(out.ps[0].Stderr))
	}
	return s, nil
}
