package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
	"github.com/kubelet-doctor/kubelet-doctor/plugins"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/logs"
)

// listFlag is a repeatable string flag that also splits on commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// pluginFlags are the flags of the NPD plugin commands (check, alert).
type pluginFlags struct {
	root        string
	journalDirs listFlag
	units       listFlag
	identifiers listFlag
	stateDir    string
	window      time.Duration
	bootGrace   time.Duration
	timeout     time.Duration
	reuseWithin time.Duration
	hold        time.Duration
	maxEntries  int
	maxOutput   int
	logLevel    string
	now         string
}

func (f *pluginFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.root, "root", "/", "host root: every host path resolves under it")
	fs.Var(&f.journalDirs, "journal-dir", "journal directory to read instead of ROOT/var/log/journal and ROOT/run/log/journal (repeatable)")
	fs.Var(&f.units, "unit", "systemd unit of the kubelet (repeatable; default kubelet.service)")
	fs.Var(&f.identifiers, "identifier", "SYSLOG_IDENTIFIER of the kubelet (repeatable; default kubelet)")
	fs.StringVar(&f.stateDir, "state-dir", "", "state directory (default ROOT"+hostpath.StateDir+")")
	fs.DurationVar(&f.window, "window", 10*time.Minute, "failures are counted in this window")
	fs.DurationVar(&f.bootGrace, "boot-grace", 5*time.Minute, "boot-transient errors count only when they persist past this after a kubelet start")
	fs.DurationVar(&f.timeout, "timeout", 4*time.Second, "own deadline, below NPD's rule timeout; reached => Unknown")
	fs.DurationVar(&f.reuseWithin, "reuse-within", 2*time.Second, "use the shared state without reading the journal when it is younger than this")
	fs.DurationVar(&f.hold, "hold", 2*time.Minute, "keep a True condition True through \"cannot tell\" for at most this long (no repair timer restarts)")
	fs.IntVar(&f.maxEntries, "max-entries", 2_000_000, "entries read per invocation at most (0: no bound)")
	fs.IntVar(&f.maxOutput, "max-output", sink.MaxMessage, "bytes of the message line (NPD's max_output_length)")
	fs.StringVar(&f.logLevel, "log-level", "warning", "stderr log level: debug, info, warning, error")
	fs.StringVar(&f.now, "now", "", "evaluate as of this RFC 3339 time instead of the clock (replays, benchmarks)")
}

// parsePlugin parses "CONDITION [flags]" or "[flags] CONDITION".
func parsePlugin(name string, args []string, stderr io.Writer) (*pluginFlags, condition.Condition, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &pluginFlags{}
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: kubelet-doctor %s CONDITION [flags]\n\nconditions:\n", name)
		for _, c := range condition.All() {
			fmt.Fprintf(stderr, "  %s\n", c.Type)
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	var cond string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cond, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, condition.Condition{}, err
	}
	if cond == "" && fs.NArg() > 0 {
		cond = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return nil, condition.Condition{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cond == "" {
		fs.Usage()
		return nil, condition.Condition{}, errors.New("missing CONDITION")
	}
	c, ok := condition.ByType(cond)
	if !ok {
		return nil, condition.Condition{}, fmt.Errorf("unknown condition %q (see kubelet-doctor conditions)", cond)
	}
	lvl, err := logrus.ParseLevel(f.logLevel)
	if err != nil {
		return nil, condition.Condition{}, fmt.Errorf("parse --log-level: %w", err)
	}
	logrus.SetLevel(lvl)
	if f.now != "" {
		if _, err := time.Parse(time.RFC3339Nano, f.now); err != nil {
			return nil, condition.Condition{}, fmt.Errorf("parse --now: %w", err)
		}
	}
	if f.window <= 0 || f.timeout <= 0 {
		return nil, condition.Condition{}, errors.New("--window and --timeout must be positive")
	}
	return f, c, nil
}

// env builds what every check gets; the store is opened by the caller.
func (f *pluginFlags) clock() time.Time {
	if f.now != "" {
		at, _ := time.Parse(time.RFC3339Nano, f.now) // checked by parsePlugin
		return at
	}
	return time.Now()
}

func (f *pluginFlags) stateDirectory() string {
	if f.stateDir != "" {
		return f.stateDir
	}
	return hostpath.Root(f.root).Path(hostpath.StateDir)
}

func (f *pluginFlags) options() plugins.Options {
	root := hostpath.Root(f.root)
	match := journal.Match{Units: f.units, Identifiers: f.identifiers}
	if len(match.Units) == 0 {
		match.Units = journal.DefaultMatch.Units
	}
	if len(match.Identifiers) == 0 {
		match.Identifiers = journal.DefaultMatch.Identifiers
	}
	return plugins.Options{
		Journal:     logs.JournalSource{Dirs: journal.Dirs(root, f.journalDirs), Match: match},
		Window:      logs.Window{Span: f.window, BootGrace: f.bootGrace},
		ReuseWithin: f.reuseWithin,
		MaxEntries:  f.maxEntries,
	}
}

// evaluate runs the checks for one condition within the plugin's deadline.
func (f *pluginFlags) evaluate(ctx context.Context, cond condition.Condition, log logrus.FieldLogger) (doctor.Verdict, *state.Store, error) {
	store, err := state.Open(f.stateDirectory())
	if err != nil {
		return doctor.Verdict{}, nil, err
	}
	env := &doctor.Env{Root: hostpath.Root(f.root), Now: f.clock(), Store: store, Log: log}
	if f.now == "" {
		env.Boot = doctor.ReadBoot()
	}
	vs, err := doctor.Evaluate(ctx, env, plugins.Checks(f.options()), []string{cond.Type})
	if err != nil {
		return doctor.Verdict{}, store, err
	}
	return vs[0], store, nil
}

func runCheck(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return runPlugin("check", args, stdout, stderr)
}

func runAlert(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return runPlugin("alert", args, stdout, stderr)
}

// runPlugin is the NPD contract: one line on stdout, exit 0/1/2. Every
// failure to tell is Unknown (2) with its cause, never a healthy 0; for an
// alert it is 0, since NPD would turn it into an Event on every run.
func runPlugin(name string, args []string, stdout, stderr io.Writer) int {
	f, cond, err := parsePlugin(name, args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return sink.ExitUnknown
		}
		fmt.Fprintln(stdout, sink.Fit(err.Error(), sink.MaxMessage))
		return sink.ExitUnknown
	}
	log := logrus.WithFields(logrus.Fields{"command": name, "condition": cond.Type})
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()

	v, store, err := f.evaluate(ctx, cond, log)
	if err != nil {
		log.WithError(err).Error("cannot tell")
		fmt.Fprintln(stdout, sink.Fit(doctor.CannotTell(err)+": "+err.Error(), f.maxOutput))
		if name == "alert" {
			return sink.ExitOK
		}
		return sink.ExitUnknown
	}
	if v.Status == doctor.Problem {
		log.WithFields(logrus.Fields{"rule": v.Lead.Rule, "count": v.Lead.Count, "hint": v.Lead.Hint,
			"runbook": v.Condition.Runbook()}).Warn(sink.Compose(v.Lead, 0)) // NPD logs a plugin's stderr: the runbook reaches its log
	}
	for _, s := range v.Symptoms {
		log.WithFields(logrus.Fields{"symptom": s.Condition, "count": s.Count}).Info("symptom of this condition: " + sink.Compose(s, 0))
	}
	if name == "alert" {
		code, err := sink.Alert(ctx, store, v, f.maxOutput, stdout)
		if err != nil {
			log.WithError(err).Warn("alert not recorded")
		}
		return code
	}
	status, line := sink.Hold(ctx, store, v, sink.Line(v, f.maxOutput), f.clock(), f.hold)
	fmt.Fprintln(stdout, line)
	return sink.ExitCode(status)
}

func runConditions(_ []string, _ io.Reader, stdout, _ io.Writer) int {
	for _, c := range condition.All() {
		fmt.Fprintf(stdout, "%-30s %-24s %s / %s\n", c.Type, c.Category, c.ProblemReason, c.HealthyReason)
	}
	return 0
}
