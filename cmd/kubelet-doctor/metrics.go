package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
	"github.com/kubelet-doctor/kubelet-doctor/internal/timeline"
)

// metricsStateDir is metrics' own store under the state directory. metrics
// runs from a timer at its own interval and window; sharing the NPD
// plugin's journal namespace would rebuild one state for the other on every
// run. In a store of its own it reads only what is new since its last run,
// and its counters (registration attempts, exits) keep growing across runs.
const metricsStateDir = hostpath.StateDir + "/metrics"

type metricsFlags struct {
	pluginFlags
	textfile string
	lookback time.Duration
	deadline time.Duration
	every    time.Duration
}

func (f *metricsFlags) register(fs *flag.FlagSet) {
	f.registerShared(fs)
	fs.StringVar(&f.textfile, "textfile", "", "node_exporter textfile collector directory: write "+sink.TextfileName+" there atomically (default: print to stdout)")
	fs.StringVar(&f.stateDir, "state-dir", "", "metrics' own state directory (default ROOT"+metricsStateDir+")")
	fs.DurationVar(&f.lookback, "lookback", 24*time.Hour, "how far back the first run reads the journal for the kubelet's start and registration")
	fs.DurationVar(&f.deadline, "timeout", time.Minute, "give up after this long; what is not read by then is unknown")
	fs.DurationVar(&f.every, "every", 0, "with --textfile: write again at this interval until stopped (a DaemonSet container); 0: once")
}

func parseMetrics(args []string, stderr io.Writer) (*metricsFlags, error) {
	f := &metricsFlags{}
	if err := parseNoArgs("metrics", "usage: kubelet-doctor metrics [--textfile DIR] [flags]\n\nThe conditions, registration, restarts and checks as Prometheus metrics,\nfor node_exporter's textfile collector.\n\nflags:", args, stderr, f.register); err != nil {
		return nil, err
	}
	if f.deadline <= 0 || f.lookback <= 0 || f.every < 0 {
		return nil, errors.New("--timeout and --lookback must be positive, --every not negative")
	}
	if f.every > 0 && f.textfile == "" {
		return nil, errors.New("--every needs --textfile")
	}
	if f.stateDir == "" {
		f.stateDir = hostpath.Root(f.root).Path(metricsStateDir)
	}
	if f.textfile != "" {
		if fi, err := os.Stat(f.textfile); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--textfile %q: not a directory", f.textfile)
		}
	}
	return f, f.validate()
}

func runMetrics(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	f, err := parseMetrics(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "metrics: %v\n", err)
		}
		return 2
	}
	if f.every == 0 {
		return f.once(context.Background(), stdout, stderr)
	}
	// A container's loop: a failed run is logged and the next one tried;
	// the file's age tells the collector's readers that it is stale.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	for {
		f.once(ctx, stdout, stderr)
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(f.every):
		}
	}
}

// once collects and writes the metrics one time.
func (f *metricsFlags) once(parent context.Context, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(parent, f.deadline)
	defer cancel()
	m, err := f.collect(ctx, logrus.WithField("command", "metrics"))
	if err != nil {
		// Without a store nothing can be told: write no file, so that the
		// collector's file age shows it, rather than a file that says
		// nothing.
		fmt.Fprintf(stderr, "metrics: %v\n", err)
		return 2
	}
	if f.textfile == "" {
		err = m.WriteText(stdout)
	} else {
		err = m.WriteTextfile(f.textfile)
	}
	if err != nil {
		fmt.Fprintf(stderr, "metrics: %v\n", err)
		return 2
	}
	if f.textfile != "" {
		logrus.WithField("file", filepath.Join(f.textfile, sink.TextfileName)).Info("metrics written")
	}
	return 0
}

// collect evaluates every condition and brings the timeline up to date,
// both in metrics' own store.
func (f *metricsFlags) collect(ctx context.Context, log logrus.FieldLogger) (sink.Metrics, error) {
	store, err := state.Open(f.stateDirectory())
	if err != nil {
		return sink.Metrics{}, err
	}
	m := sink.Metrics{At: f.clock()}
	m.Verdicts, err = f.evaluateWith(ctx, store, nil, log)
	if err != nil {
		return sink.Metrics{}, err
	}
	start := time.Now()
	tl, err := f.follower(store, m.At.Add(-f.lookback)).Update(ctx, nil)
	m.TimelineSeconds = time.Since(start).Seconds()
	if err != nil {
		log.WithError(err).Warn("kubelet timeline cannot be told")
		m.TimelineErr = err
	} else {
		m.Timeline = &tl
	}
	return m, nil
}

// follower reads the kubelet's journal into the timeline kept in store.
func (f *pluginFlags) follower(store *state.Store, since time.Time) *timeline.Follower {
	return &timeline.Follower{Source: currentSource{f}, Store: store, Since: since, Limit: f.maxEntries}
}

// currentSource finds the journal directories anew at each read, as the
// journal check does: on a node that is being set up the journal may not
// exist yet when wait starts, and which directories exist can change.
type currentSource struct{ f *pluginFlags }

func (c currentSource) Open() (journal.Reader, error) { return c.f.source().Open() }
func (c currentSource) Key() string                   { return c.f.source().Key() }
