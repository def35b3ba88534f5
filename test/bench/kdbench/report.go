package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Machine describes where the numbers were taken.
type Machine struct {
	CPUs    int    `json:"cpus"`
	CPU     string `json:"cpu"`
	MemKiB  int64  `json:"memKiB"`
	Kernel  string `json:"kernel"`
	Go      string `json:"go"`
	Systemd string `json:"systemd"`
	Grep    string `json:"grep"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if v := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); v != nil {
			m.CPU = strings.TrimSpace(string(v[1]))
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v := regexp.MustCompile(`(?m)^MemTotal:\s*(\d+) kB`).FindSubmatch(b); v != nil {
			m.MemKiB, _ = strconv.ParseInt(string(v[1]), 10, 64)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	first := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			return "?"
		}
		return firstLine(string(out))
	}
	m.Systemd = first("journalctl", "--version")
	m.Grep = first("grep", "--version")
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// stats summarises the timed samples of one variant and the memory of
// its observed run.
type stats struct {
	n                      int
	timedOut               int
	wall, wallMin, wallMax time.Duration
	cpu                    time.Duration
	rss, anon, file        int64 // KiB, from the observed run
}

func summarise(v string, ss []Sample, mem Sample) stats {
	st := stats{n: len(ss)}
	var walls, cpus []time.Duration
	for _, s := range ss {
		if s.TimedOut() {
			st.timedOut++
		}
		walls = append(walls, s.Wall)
		cpus = append(cpus, s.CPU())
	}
	if len(walls) > 0 {
		st.wallMin, st.wallMax = slices.Min(walls), slices.Max(walls)
	}
	st.wall, st.cpu = median(walls), median(cpus)
	st.rss, st.anon, st.file = mem.mem(v == vGrep)
	return st
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}

func fmtMiB(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

func fmtWindow(w time.Duration) string {
	switch {
	case w%time.Hour == 0:
		return fmt.Sprintf("%dh", w/time.Hour)
	case w%time.Minute == 0:
		return fmt.Sprintf("%dm", w/time.Minute)
	}
	return w.String()
}

func commas(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	str := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range str {
		if i > 0 && (len(str)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// anonLimitKiB is the private-memory target: 20 MB (10^6 bytes) in KiB.
const anonLimitKiB = 20e6 / 1024

// printer writes formatted text to a report.
type printer func(format string, args ...any)

func report(res *Results) string {
	var b strings.Builder
	p := printer(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) })
	reportSetting(p, res)
	reportMeasures(p, res)
	p("\n#### Targets (ratios of medians from this run)\n\n")
	p("| target | window | measured | limit | met |\n|---|---|--:|--:|---|\n")
	reportBaselineTargets(p, res)
	reportCheckTargets(p, res)
	reportClassifier(p, res)
	return b.String()
}

// reportSetting says how, where and on what the run was made.
func reportSetting(p printer, res *Results) {
	m := res.Meta
	p("Run: %s mode, %s, %d interleaved runs per variant and window, %s of measuring; load average %s before, %s after.\n\n",
		res.Mode, res.Started.Format("2006-01-02 15:04 UTC"), res.Runs, res.Finished.Sub(res.Started).Round(time.Second),
		res.LoadBefore, res.LoadAfter)
	p("Machine: %d CPUs (%s), %.1f GiB memory, kernel %s, %s, %s, %s.\n\n", res.Machine.CPUs, res.Machine.CPU,
		float64(res.Machine.MemKiB)/(1<<20), res.Machine.Kernel, res.Machine.Go, res.Machine.Systemd, res.Machine.Grep)
	p("Journal: %s entries (%s kubelet.service, %s systemd PID 1 entries about it, %s failure lines), %.2f GiB, generated %s "+
		"in %.0f s; spans %s → %s (UTC), the last hour holding %.0f %% of the entries. Windows end at `--now %s` "+
		"(the tail rounded up to a second); this machine booted %s.\n\n",
		commas(strconv.Itoa(m.Entries)), commas(strconv.Itoa(m.Kubelet)), commas(strconv.Itoa(m.PID1Kube)),
		commas(strconv.Itoa(m.Failures)), float64(m.Bytes)/(1<<30), m.Generated.Format("2006-01-02 15:04"), m.Seconds,
		time.UnixMicro(m.HeadUS).UTC().Format("01-02 15:04:05"), m.Tail().UTC().Format("01-02 15:04:05"), denseShare*100,
		res.Now.UTC().Format(time.RFC3339), res.Boot.UTC().Format("2006-01-02 15:04:05"))
	p("Patterns for grep: %s.\n\n", res.Patterns)
	p("Binaries: kubelet-doctor %s; log-counter of NPD v1.36.0 (`%s`), pattern `%s`, killed after %s; ptrace exit snapshot: %v.\n\n",
		res.KDVersion, res.LogCounter, res.LCPattern, res.LCTimeout, res.Ptrace)
}

// reportMeasures writes the table of every variant in every window and
// the notes on them.
func reportMeasures(p printer, res *Results) {
	p("Wall and CPU (user+sys): medians of the %d timed runs, in which nothing watches the process; peak RSS (VmHWM) and "+
		"peak anonymous / file-backed RSS: one extra run per variant and window, observed by a 1 ms /proc sampler plus a ptrace "+
		"stop at exit (a pipeline's processes summed; for 11 invocations the largest one).\n\n", res.Runs)
	p("| window | variant | entries | wall median | wall min–max | CPU median | peak RSS MiB | anon MiB | file MiB | output (last run) |\n")
	p("|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, wr := range res.Windows {
		for _, v := range variants {
			if ss := wr.Samples[v]; len(ss) > 0 {
				reportRow(p, res, wr, v, ss)
			}
		}
	}
	p("\n")
	for _, wr := range res.Windows {
		for _, v := range variants {
			if n := wr.Notes[v]; n != "" {
				p("* %s, %s: %s.\n", fmtWindow(wr.Window), mdEscape(v), n)
			}
		}
	}
}

// reportRow writes the row of variant v in window wr.
func reportRow(p printer, res *Results, wr *WindowResult, v string, ss []Sample) {
	st := summarise(v, ss, wr.Mem[v])
	wall := fmtDur(st.wall)
	rng := fmtDur(st.wallMin) + " – " + fmtDur(st.wallMax)
	cpu := fmtDur(st.cpu)
	if st.timedOut > 0 {
		wall = fmt.Sprintf("> %s (%d/%d killed)", fmtDur(res.LCTimeout), st.timedOut, st.n)
		cpu = "> " + cpu
		if st.timedOut == st.n {
			rng = "—"
		}
	}
	entries := wr.Entries[v]
	out := ss[len(ss)-1].Out
	if v == vFloor {
		entries = entriesFromFloor(out)
		out = ""
	}
	p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", fmtWindow(wr.Window), mdEscape(v), commas(entries), wall, rng, cpu,
		fmtMiB(st.rss), fmtMiB(st.anon), fmtMiB(st.file), mdEscape(firstLine(out)))
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// reportBaselineTargets compares the cold check with the floor, journalctl
// | grep and log-counter in each window.
func reportBaselineTargets(p printer, res *Results) {
	for _, wr := range res.Windows {
		w := fmtWindow(wr.Window)
		cold := summarise(vCold, wr.Samples[vCold], wr.Mem[vCold])
		for _, t := range []struct {
			v     string
			name  string
			limit float64
		}{{vFloor, "window scan vs floor (wall)", 1.25}, {vGrep, "window scan vs journalctl \\| grep (wall)", 0.75}, {vLC, "window scan vs log-counter (wall)", 0.5}} {
			ss := wr.Samples[t.v]
			if len(ss) == 0 {
				continue
			}
			st := summarise(t.v, ss, wr.Mem[t.v])
			if st.timedOut > 0 {
				// The true time is above the timeout: the ratio is below this.
				r := float64(cold.wall) / float64(res.LCTimeout)
				p("| %s | %s | < %.3fx (%s vs > %s) | %.2fx | %s |\n", t.name, w, r, fmtDur(cold.wall), fmtDur(res.LCTimeout), t.limit, yes(r <= t.limit))
				continue
			}
			r := float64(cold.wall) / float64(st.wall)
			cr := float64(cold.cpu) / float64(st.cpu)
			p("| %s | %s | %.2fx (%s vs %s; CPU %.2fx) | %.2fx | %s |\n", t.name, w, r, fmtDur(cold.wall), fmtDur(st.wall), cr, t.limit, yes(r <= t.limit))
		}
	}
}

// reportCheckTargets writes the targets of check alone: the warm run, 11
// conditions against one, and the private memory.
func reportCheckTargets(p printer, res *Results) {
	for _, wr := range res.Windows {
		st := summarise(vWarm, wr.Samples[vWarm], wr.Mem[vWarm])
		p("| warm run, 1,000 new entries (wall) | %s | %s | 15 ms | %s |\n", fmtWindow(wr.Window), fmtDur(st.wall), yes(st.wall <= 15*time.Millisecond))
	}
	for _, wr := range res.Windows {
		one := summarise(vOne, wr.Samples[vOne], wr.Mem[vOne])
		for _, v := range []string{vEleven3, vElevenS} {
			st := summarise(v, wr.Samples[v], wr.Mem[v])
			r := float64(st.wall) / float64(one.wall)
			name := "11 conditions vs one, 3 at a time as NPD runs them (wall)"
			if v == vElevenS {
				name = "11 conditions vs one, in a row (wall)"
			}
			p("| %s | %s | %.2fx (%s vs %s) | 1.5x | %s |\n", name, fmtWindow(wr.Window), r, fmtDur(st.wall), fmtDur(one.wall), yes(r <= 1.5))
		}
	}
	for _, wr := range res.Windows {
		var worst int64
		var which string
		for _, v := range []string{vCold, vWarm, vOne, vElevenS, vEleven3} {
			if st := summarise(v, wr.Samples[v], wr.Mem[v]); st.anon > worst {
				worst, which = st.anon, v
			}
		}
		p("| private (anonymous) RSS of check, worst variant (%s) | %s | %s MiB | 20 MB (%.1f MiB) | %s |\n",
			mdEscape(which), fmtWindow(wr.Window), fmtMiB(worst), anonLimitKiB/1024, yes(float64(worst) <= anonLimitKiB))
	}
}

// reportClassifier writes the classifier's target and its benchmark lines.
func reportClassifier(p printer, res *Results) {
	if rate, ok := benchMetric(res.ClassifyMix, "lines/s"); ok {
		cpu := ""
		if ns, ok := benchMetric(res.ClassifyMix, "cpu-ns/line"); ok {
			cpu = fmt.Sprintf(" (CPU %.0f ns/line)", ns)
		}
		p("| classifier, BenchmarkClassifyMix (median of %d) | — | %s lines/s%s | 2,000,000 lines/s | %s |\n",
			len(res.ClassifyMix), commas(strconv.FormatInt(int64(rate), 10)), cpu, yes(rate >= 2e6))
	} else {
		p("| classifier, BenchmarkClassifyMix | — | not measured | 2,000,000 lines/s | — |\n")
	}
	if len(res.ClassifyMix) > 0 {
		p("\n```\n%s\n```\n", strings.Join(res.ClassifyMix, "\n"))
	}
}

// benchMetric is the median of a go test -bench metric ("123.4 unit")
// over the benchmark's lines.
func benchMetric(lines []string, unit string) (float64, bool) {
	re := regexp.MustCompile(`([0-9.e+]+) ` + regexp.QuoteMeta(unit) + `(\s|$)`)
	var vs []float64
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			if v, err := strconv.ParseFloat(m[1], 64); err == nil {
				vs = append(vs, v)
			}
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

func entriesFromFloor(out string) string {
	f := strings.Fields(out)
	if len(f) >= 2 && f[0] == "entries" {
		return f[1]
	}
	return "?"
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "`", "'").Replace(s)
}
