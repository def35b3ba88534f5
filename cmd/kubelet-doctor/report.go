package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
	"github.com/kubelet-doctor/kubelet-doctor/plugins"
)

// reportFlags are report's flags: the shared ones plus its own.
type reportFlags struct {
	pluginFlags
	output   string
	deadline time.Duration
}

func (f *reportFlags) register(fs *flag.FlagSet) {
	f.registerShared(fs)
	fs.StringVar(&f.output, "output", "text", "output format: text (a table) or json (one document)")
	fs.DurationVar(&f.deadline, "timeout", 2*time.Minute, "give up after this long; conditions not decided by then are unknown")
}

func parseReport(args []string, stderr io.Writer) (*reportFlags, error) {
	f := &reportFlags{}
	if err := parseNoArgs("report", "usage: kubelet-doctor report [flags]\n\nEvery condition of this node (or --root) at once, with its evidence.\nExit 1 when any condition is a problem, else 2 when any cannot be told, else 0.\n\nflags:", args, stderr, f.register); err != nil {
		return nil, err
	}
	if f.output != "text" && f.output != "json" {
		return nil, fmt.Errorf("unknown --output %q (text or json)", f.output)
	}
	if f.deadline <= 0 {
		return nil, errors.New("--timeout must be positive")
	}
	return f, f.validate()
}

// runReport evaluates every condition once. It never touches the NPD
// plugin's state: the journal check keeps its cursor and evidence in a
// store, and one built with report's settings (another window, a full read)
// would make the plugin rebuild its own, or report would read the plugin's
// partial view. Report therefore reads into a private temporary store that
// is removed when it is done: it costs one read of the window of journal,
// and what it shows is what the journal says now, not a cached state.
func runReport(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	f, err := parseReport(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "report: %v\n", err)
		}
		return sink.ExitUnknown
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.deadline)
	defer cancel()
	var read atomic.Int64
	stop := showProgress(stderr, &read, "reading the kubelet's journal")
	vs, err := f.evaluateAll(ctx, &read, logrus.WithField("command", "report"))
	stop()
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return sink.ExitUnknown
	}
	r := sink.NewReport(vs, f.clock(), f.root)
	if f.output == "json" {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout, isTerminal(stdout))
	}
	if err != nil {
		fmt.Fprintf(stderr, "report: write: %v\n", err)
		return sink.ExitUnknown
	}
	return r.ExitCode()
}

// evaluateAll evaluates every condition with a private temporary store,
// counting the journal entries read into read.
func (f *pluginFlags) evaluateAll(ctx context.Context, read *atomic.Int64, log logrus.FieldLogger) ([]doctor.Verdict, error) {
	dir, err := os.MkdirTemp("", "kubelet-doctor-")
	if err != nil {
		return nil, fmt.Errorf("private state: %w", err)
	}
	defer os.RemoveAll(dir)
	store, err := state.Open(dir)
	if err != nil {
		return nil, err
	}
	return f.evaluateWith(ctx, store, read, log)
}

// evaluateWith evaluates every condition with the given store: the journal
// is read in full (no reuse of a recent state, no entry bound beyond
// --max-entries) and the entries read are counted into read.
func (f *pluginFlags) evaluateWith(ctx context.Context, store *state.Store, read *atomic.Int64, log logrus.FieldLogger) ([]doctor.Verdict, error) {
	o := f.options()
	o.ReuseWithin = 0
	src := f.source()
	src.OpenFunc = countingOpen(read)
	o.Journal = src
	env := &doctor.Env{Root: hostpath.Root(f.root), Now: f.clock(), Store: store, Log: log}
	// Even with --now: the running boot's own entries keep their
	// monotonic timing, so a stepped wall clock moves nothing.
	env.Boot = doctor.ReadBoot()
	return doctor.Evaluate(ctx, env, plugins.Checks(o), condition.Types())
}

// countingOpen opens the journal with journal.Open and counts the entries
// every read passes on, for the progress line.
func countingOpen(n *atomic.Int64) func([]string, journal.Match) (journal.Reader, error) {
	return func(dirs []string, m journal.Match) (journal.Reader, error) {
		r, err := journal.Open(dirs, m)
		if err != nil || n == nil {
			return r, err
		}
		return countingReader{Reader: r, n: n}, nil
	}
}

type countingReader struct {
	journal.Reader
	n *atomic.Int64
}

func (c countingReader) Read(ctx context.Context, q journal.Query, fn func(journal.Entry) error) (string, error) {
	return c.Reader.Read(ctx, q, func(e journal.Entry) error {
		c.n.Add(1)
		return fn(e)
	})
}

// progressDelay is how long a read goes on before a progress line shows:
// a short journal is read before a person would wonder; progressEvery is
// how often it is redrawn. Variables for the terminal test.
var (
	progressDelay = 300 * time.Millisecond
	progressEvery = 100 * time.Millisecond
)

// showProgress prints "<what>: N entries (Ts)" on stderr, rewritten in
// place, while a long read goes on, when stderr is a terminal; the returned
// func stops it and clears the line.
func showProgress(stderr io.Writer, n *atomic.Int64, what string) func() {
	if !isTerminal(stderr) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	draw := func(now time.Time) {
		fmt.Fprintf(stderr, "\r\x1b[K%s: %d entries (%.1fs)", what, n.Load(), now.Sub(start).Seconds())
	}
	shown := progressDelay <= 0
	if shown {
		draw(start) // no delay asked: show it at once
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(stderr, "\r\x1b[K")
				}
				return
			case now := <-t.C:
				if now.Sub(start) >= progressDelay {
					shown = true
					draw(now)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
