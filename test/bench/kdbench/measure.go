package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// How a process is measured (the figures in BENCHMARKS.md):
//
//   - wall: from just before fork to the reap of the exited process, so it
//     includes exec, the dynamic loader and the kernel's tear-down of the
//     mappings (which for a 2 GiB mmapped journal is not free);
//   - CPU: user + system time from wait4's rusage (RUSAGE_BOTH: the process
//     and any children it waited for);
//   - peak RSS: VmHWM (the kernel's high-water mark of the process's own
//     memory, exact) read at the exit stop described below. wait4's ru_maxrss
//     is only the fallback: Go forks with CLONE_VM|CLONE_VFORK and the kernel
//     carries the parent's high-water mark across execve into the child's
//     ru_maxrss, so it would report the harness's RSS for small processes;
//   - peak anonymous and file-backed RSS: the kernel keeps no high-water mark
//     per kind, so they are the maximum of (a) RssAnon/RssFile sampled from
//     /proc/PID/status every millisecond and (b) one exact reading taken when
//     the process is stopped at its exit (ptrace PTRACE_O_TRACEEXIT: the
//     process is frozen after exit_group but before its memory is released).
//     (b) catches the anonymous peak of short runs that the sampler misses;
//     the file-backed peak of a reader that unmaps the journal before exit is
//     only seen by (a), so for runs of a few milliseconds it is a lower bound.
//
// When ptrace is not permitted, (b) is skipped and the report says so.

// sampleEvery is the /proc sampling period.
const sampleEvery = time.Millisecond

// ptraceOExitKill kills the tracee when the tracer dies, so that a killed
// harness never leaves a stopped process behind (not in package syscall).
const ptraceOExitKill = 0x100000

// Proc is the measurement of one process.
type Proc struct {
	Name     string        `json:"name"`
	Wall     time.Duration `json:"wall"`
	CPU      time.Duration `json:"cpu"`       // user + system
	MaxRSS   int64         `json:"maxRssKiB"` // VmHWM at exit; ru_maxrss without ptrace
	PeakAnon int64         `json:"peakAnonKiB"`
	PeakFile int64         `json:"peakFileKiB"`
	// ExitSnapshot is true when the ptrace exit reading was taken.
	ExitSnapshot bool   `json:"exitSnapshot"`
	Samples      int    `json:"samples"`
	ExitCode     int    `json:"exitCode"` // -1: killed by a signal
	TimedOut     bool   `json:"timedOut"`
	Stdout       string `json:"-"`
	Stderr       string `json:"-"`
}

// Cmd is one process to measure. Stdin/Stdout may be given (pipelines);
// otherwise stdin is /dev/null and stdout is captured.
type Cmd struct {
	Name    string
	Path    string
	Args    []string // argv[0] included
	Env     []string
	Stdin   *os.File
	Stdout  *os.File
	Timeout time.Duration // 0: none
	// CloseAfterStart are closed once the process is forked (or failed to
	// start): the parent's copies of pipe ends the child now owns.
	CloseAfterStart []*os.File
	// Observe samples /proc and stops the process at its exit to read its
	// memory. Off, the run is timed with nothing watching it (wall and CPU
	// only): on a busy machine the tracer's wake-up at the exit stop and
	// the sampler's ticks add milliseconds to a 10 ms process.
	Observe bool
}

var (
	ptraceOnce sync.Once
	ptraceOK   bool
)

// ptraceUsable tells whether this process may trace its children
// (containers without CAP_SYS_PTRACE or with a seccomp profile refuse).
func ptraceUsable() bool {
	ptraceOnce.Do(func() {
		p, err := run(Cmd{Name: "probe", Path: "/bin/true", Args: []string{"true"}, Observe: true}, true)
		ptraceOK = err == nil && p.ExitSnapshot
		if !ptraceOK {
			fmt.Fprintf(os.Stderr, "kdbench: ptrace not usable (%v): peak RSS split from the 1 ms sampler only\n", err)
		}
	})
	return ptraceOK
}

// Measure runs c to completion and measures it.
func Measure(c Cmd) (Proc, error) {
	return run(c, c.Observe && ptraceUsable())
}

// MeasureAll runs the commands at the same time (a pipeline) and returns
// their measurements in order.
func MeasureAll(cs ...Cmd) ([]Proc, error) {
	out := make([]Proc, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = Measure(c)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// run starts and waits for c on a goroutine locked to its own OS thread:
// ptrace requests must come from the thread that forked the tracee. The
// thread is never unlocked, so Go retires it with the goroutine instead of
// reusing a thread that was a tracer.
func run(c Cmd, trace bool) (Proc, error) {
	type result struct {
		p   Proc
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		p, err := runLocked(c, trace)
		ch <- result{p, err}
	}()
	r := <-ch
	return r.p, r.err
}

func runLocked(c Cmd, trace bool) (Proc, error) {
	p := Proc{Name: c.Name}
	// Closed again after the fork below; this covers the early returns.
	defer func() {
		for _, f := range c.CloseAfterStart {
			f.Close()
		}
	}()
	sio, err := newStdio(c)
	if err != nil {
		return p, err
	}
	defer sio.closeDevNull()
	attr := &syscall.ProcAttr{
		Env:   c.Env,
		Files: []uintptr{sio.stdin.Fd(), sio.stdout.Fd(), sio.stderr.Fd()},
		Sys:   &syscall.SysProcAttr{Ptrace: trace, Pdeathsig: syscall.SIGKILL},
	}
	if attr.Env == nil {
		attr.Env = os.Environ()
	}
	start := time.Now()
	pid, err := syscall.ForkExec(c.Path, c.Args, attr)
	sio.closeInherited()
	for _, f := range c.CloseAfterStart {
		f.Close()
	}
	if err != nil {
		sio.readers.Wait()
		return p, fmt.Errorf("start %s: %w", c.Path, err)
	}

	var timedOut atomic.Bool
	if c.Timeout > 0 {
		t := time.AfterFunc(c.Timeout, func() {
			timedOut.Store(true)
			syscall.Kill(pid, syscall.SIGKILL)
		})
		defer t.Stop()
	}

	s := startSampler(pid, c.Observe)
	ws, ru, pause, err := reap(pid, s, &p)
	if err != nil {
		return p, fmt.Errorf("wait for %s: %w", c.Path, err)
	}
	end := time.Now()
	s.stop()
	sio.readers.Wait()

	p.Wall = end.Sub(start) - pause
	p.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if !p.ExitSnapshot && c.Observe {
		p.MaxRSS = ru.Maxrss
	}
	p.PeakAnon, p.PeakFile, p.Samples = s.result()
	p.TimedOut = timedOut.Load()
	if ws.Exited() {
		p.ExitCode = ws.ExitStatus()
	} else {
		p.ExitCode = -1
	}
	p.Stdout, p.Stderr = sio.out.String(), sio.err.String()
	return p, nil
}

// stdio holds the standard files of a measured process and the capture of
// its output.
type stdio struct {
	stdin, stdout, stderr *os.File
	inherited             []*os.File // our ends of the capture pipes, closed after the fork
	devNull               *os.File   // opened for a missing stdin
	out, err              bytes.Buffer
	readers               sync.WaitGroup
}

// newStdio opens /dev/null for a missing stdin and captures stdout (when c
// names none) and stderr through pipes.
func newStdio(c Cmd) (*stdio, error) {
	sio := &stdio{stdin: c.Stdin, stdout: c.Stdout}
	if sio.stdin == nil {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		sio.devNull, sio.stdin = f, f
	}
	if sio.stdout == nil {
		w, err := sio.capture(&sio.out, 1<<20)
		if err != nil {
			sio.closeDevNull()
			return nil, err
		}
		sio.stdout = w
	}
	w, err := sio.capture(&sio.err, 64<<10)
	if err != nil {
		sio.closeInherited()
		sio.closeDevNull()
		return nil, err
	}
	sio.stderr = w
	return sio, nil
}

// capture returns the write end of a pipe whose output (up to limit bytes)
// goes to dst. It is read concurrently so that a chatty process never
// blocks on a full pipe.
func (sio *stdio) capture(dst *bytes.Buffer, limit int64) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	sio.inherited = append(sio.inherited, w)
	sio.readers.Add(1)
	go func() {
		defer sio.readers.Done()
		io.Copy(dst, io.LimitReader(r, limit))
		io.Copy(io.Discard, r)
		r.Close()
	}()
	return w, nil
}

func (sio *stdio) closeInherited() {
	for _, f := range sio.inherited {
		f.Close()
	}
}

func (sio *stdio) closeDevNull() {
	if sio.devNull != nil {
		sio.devNull.Close()
	}
}

// reap waits for pid to end, answering its ptrace stops (see ptraceStop).
// pause is the time spent reading the process at its exit stop, which is
// not the process's own.
func reap(pid int, s *sampler, p *Proc) (ws syscall.WaitStatus, ru syscall.Rusage, pause time.Duration, err error) {
	for {
		_, err := syscall.Wait4(pid, &ws, syscall.WALL, &ru)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			s.stop()
			return ws, ru, pause, err
		}
		if ws.Exited() || ws.Signaled() {
			return ws, ru, pause, nil
		}
		if ws.Stopped() {
			pause += ptraceStop(pid, ws, s, p)
		}
	}
}

// ptraceStop answers one stop of a traced pid and resumes it: after execve
// it asks for a stop at exit; at exit it reads the peaks the kernel still
// holds (p.ExitSnapshot, p.MaxRSS) and returns the time that took; any
// other signal is delivered as if nobody were watching.
func ptraceStop(pid int, ws syscall.WaitStatus, s *sampler, p *Proc) time.Duration {
	sig := ws.StopSignal()
	switch {
	case sig == syscall.SIGTRAP && ws.TrapCause() == syscall.PTRACE_EVENT_EXIT:
		t0 := time.Now()
		s.stop() // also stops sampling before the pid can be reused
		if st, err := readStatus(pid); err == nil {
			p.ExitSnapshot = true
			p.MaxRSS = st.hwm
			s.observe(st)
		}
		pause := time.Since(t0)
		syscall.PtraceCont(pid, 0)
		return pause
	case sig == syscall.SIGTRAP && ws.TrapCause() == 0 && !s.attached:
		// The stop after execve: from here on, stop again at exit.
		s.attached = true
		if err := syscall.PtraceSetOptions(pid, syscall.PTRACE_O_TRACEEXIT|ptraceOExitKill); err != nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		syscall.PtraceCont(pid, 0)
	case sig == syscall.SIGTRAP:
		syscall.PtraceCont(pid, 0)
	default:
		// A signal for the tracee (Go's preemption SIGURG, SIGPIPE...):
		// deliver it as if nobody were watching.
		syscall.PtraceCont(pid, int(sig))
	}
	return 0
}

// status is the part of /proc/PID/status the report uses (KiB).
type status struct{ hwm, anon, file int64 }

func readStatus(pid int) (status, error) {
	var st status
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return st, err
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		line := b[:i]
		switch {
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			st.hwm = kib(line[len("VmHWM:"):])
		case bytes.HasPrefix(line, []byte("RssAnon:")):
			st.anon = kib(line[len("RssAnon:"):])
		case bytes.HasPrefix(line, []byte("RssFile:")):
			st.file = kib(line[len("RssFile:"):])
		}
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return st, nil
}

func kib(v []byte) int64 {
	v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n
}

// sampler polls /proc/PID/status every sampleEvery and keeps the maxima.
type sampler struct {
	pid      int
	attached bool // ptrace: the post-exec stop was seen
	done     chan struct{}
	finished chan struct{}
	once     sync.Once
	mu       sync.Mutex
	anon     int64
	file     int64
	n        int
}

func startSampler(pid int, active bool) *sampler {
	s := &sampler{pid: pid, done: make(chan struct{}), finished: make(chan struct{})}
	if !active {
		close(s.finished)
		return s
	}
	go func() {
		defer close(s.finished)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			if st, err := readStatus(pid); err == nil {
				s.observe(st)
			}
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) observe(st status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.anon = max(s.anon, st.anon)
	s.file = max(s.file, st.file)
}

// stop ends sampling and waits for the sampler goroutine, so that no read
// of /proc/PID happens after the caller reaps PID.
func (s *sampler) stop() {
	s.once.Do(func() { close(s.done) })
	<-s.finished
}

func (s *sampler) result() (anon, file int64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.anon, s.file, s.n
}

// cmdMeasure measures one command: a debugging aid for the harness itself.
func cmdMeasure(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 0, "kill the command after this long")
	observe := fs.Bool("observe", true, "sample its memory (/proc every 1 ms, ptrace stop at exit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: kdbench measure [-timeout D] COMMAND [ARGS...]")
	}
	path, err := exec.LookPath(fs.Arg(0))
	if err != nil {
		return err
	}
	p, err := Measure(Cmd{Name: fs.Arg(0), Path: path, Args: fs.Args(), Timeout: *timeout, Observe: *observe})
	if err != nil {
		return err
	}
	os.Stdout.WriteString(p.Stdout)
	fmt.Fprintf(os.Stderr, "wall %s cpu %s maxrss %d KiB anon %d KiB file %d KiB samples %d exit-snapshot %v exit %d timed-out %v\n",
		p.Wall.Round(time.Microsecond), p.CPU.Round(time.Microsecond), p.MaxRSS, p.PeakAnon, p.PeakFile,
		p.Samples, p.ExitSnapshot, p.ExitCode, p.TimedOut)
	return nil
}
