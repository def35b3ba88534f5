package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/npd"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
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
	fs.IntVar(&f.maxEntries, "max-entries", 2_000_000, "entries read per invocation at most (0: no bound)")
	fs.IntVar(&f.maxOutput, "max-output", npd.MaxMessage, "bytes of the message line (NPD's max_output_length)")
	fs.StringVar(&f.logLevel, "log-level", "warning", "stderr log level: debug, info, warning, error")
	fs.StringVar(&f.now, "now", "", "evaluate as of this RFC 3339 time instead of the clock (replays, benchmarks)")
}

// parsePlugin parses "CONDITION [flags]" or "[flags] CONDITION".
func parsePlugin(name string, args []string, stderr io.Writer) (*pluginFlags, rules.Condition, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &pluginFlags{}
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: kubelet-doctor %s CONDITION [flags]\n\nconditions:\n", name)
		for _, c := range rules.Conditions() {
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
		return nil, rules.Condition{}, err
	}
	if cond == "" && fs.NArg() > 0 {
		cond = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return nil, rules.Condition{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cond == "" {
		fs.Usage()
		return nil, rules.Condition{}, errors.New("missing CONDITION")
	}
	c, ok := rules.ConditionByType(cond)
	if !ok {
		return nil, rules.Condition{}, fmt.Errorf("unknown condition %q (see kubelet-doctor conditions)", cond)
	}
	lvl, err := logrus.ParseLevel(f.logLevel)
	if err != nil {
		return nil, rules.Condition{}, fmt.Errorf("parse --log-level: %w", err)
	}
	logrus.SetLevel(lvl)
	if f.now != "" {
		if _, err := time.Parse(time.RFC3339Nano, f.now); err != nil {
			return nil, rules.Condition{}, fmt.Errorf("parse --now: %w", err)
		}
	}
	if f.window <= 0 || f.timeout <= 0 {
		return nil, rules.Condition{}, errors.New("--window and --timeout must be positive")
	}
	return f, c, nil
}

func (f *pluginFlags) scanner(log logrus.FieldLogger) *logs.Scanner {
	root := hostpath.Root(f.root)
	match := journal.Match{Units: f.units, Identifiers: f.identifiers}
	if len(match.Units) == 0 {
		match.Units = journal.DefaultMatch.Units
	}
	if len(match.Identifiers) == 0 {
		match.Identifiers = journal.DefaultMatch.Identifiers
	}
	stateDir := f.stateDir
	if stateDir == "" {
		stateDir = root.Path(hostpath.StateDir)
	}
	clock := time.Now
	if f.now != "" {
		at, _ := time.Parse(time.RFC3339Nano, f.now) // checked by parsePlugin
		clock = func() time.Time { return at }
	}
	return &logs.Scanner{
		Source:      logs.JournalSource{Dirs: journal.Dirs(root, f.journalDirs), Match: match},
		Classifier:  func() logs.Classifier { return rules.New() },
		StateDir:    stateDir,
		Window:      logs.Window{Span: f.window, BootGrace: f.bootGrace},
		Now:         clock,
		ReuseWithin: f.reuseWithin,
		MaxEntries:  f.maxEntries,
		Log:         log,
	}
}

func runCheck(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return runPlugin("check", args, stdout, stderr, func(st *logs.State, c rules.Condition, now time.Time, w logs.Window, max int) logs.Result {
		return logs.Decide(&st.Evidence, c, now, w, max)
	})
}

func runAlert(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return runPlugin("alert", args, stdout, stderr, logs.Alert)
}

type decideFunc func(st *logs.State, c rules.Condition, now time.Time, w logs.Window, max int) logs.Result

// runPlugin is the NPD contract: one line on stdout, exit 0/1/2. Every
// failure to tell is Unknown (2) with its cause, never a healthy 0.
func runPlugin(name string, args []string, stdout, stderr io.Writer, decide decideFunc) int {
	f, cond, err := parsePlugin(name, args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return int(npd.Unknown)
		}
		return emit(stdout, npd.Result{Status: npd.Unknown, Message: err.Error()}, npd.MaxMessage)
	}
	log := logrus.WithFields(logrus.Fields{"command": name, "condition": cond.Type})
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()

	s := f.scanner(log)
	var res logs.Result
	err = s.Update(ctx, func(st *logs.State, now time.Time) error {
		res = decide(st, cond, now, s.Window, f.maxOutput)
		return nil
	})
	switch {
	case errors.Is(err, logs.ErrIncomplete) && name == "alert":
		log.WithError(err).Warn("alert on a partial scan")
		return emit(stdout, npd.Result{Status: res.Status, Message: res.Message}, f.maxOutput)
	case errors.Is(err, logs.ErrIncomplete):
		// What it knows, marked as not the whole truth.
		log.WithError(err).Warn("verdict on a partial scan")
		return emit(stdout, npd.Result{Status: npd.Unknown, Message: "incomplete scan: " + res.Message}, f.maxOutput)
	case err != nil && name == "alert":
		// NPD turns every non-zero exit of a temporary rule into an Event
		// with the failure's reason: "cannot tell" must not read as a new
		// failure on every run. The condition's own check says Unknown.
		log.WithError(err).Error("cannot tell; no alert")
		return emit(stdout, npd.Result{Status: npd.OK, Message: unknownMessage(err)}, f.maxOutput)
	case err != nil:
		log.WithError(err).Error("cannot tell")
		return emit(stdout, npd.Result{Status: npd.Unknown, Message: unknownMessage(err)}, f.maxOutput)
	}
	if res.Status == npd.NonOK {
		log.WithFields(logrus.Fields{"rule": res.Rule, "count": res.Count, "hint": res.Hint}).Info(res.Message)
	}
	return emit(stdout, npd.Result{Status: res.Status, Message: res.Message}, f.maxOutput)
}

// unknownMessage puts the fact an operator acts on first: the line is cut
// at 80 bytes, and the paths that follow are the least of it.
func unknownMessage(err error) string {
	var why string
	switch {
	case errors.Is(err, journal.ErrNoLibrary):
		why = "cannot read journal: libsystemd.so.0 not loadable"
	case errors.Is(err, journal.ErrNoJournal):
		why = "cannot read journal: no journal files"
	case errors.Is(err, fs.ErrPermission):
		why = "cannot read journal: permission denied"
	case errors.Is(err, journal.ErrUnreadable):
		why = "cannot read journal: file damaged or unreadable"
	case errors.Is(err, context.DeadlineExceeded):
		why = "deadline reached"
	default:
		return "cannot tell: " + err.Error()
	}
	return why + " (" + err.Error() + ")"
}

func emit(w io.Writer, r npd.Result, max int) int {
	fmt.Fprintln(w, r.Line(max))
	return r.ExitCode()
}

func runConditions(_ []string, _ io.Reader, stdout, _ io.Writer) int {
	for _, c := range rules.Conditions() {
		cat := string(c.Category)
		if cat == "" {
			cat = "(startup)"
		}
		fmt.Fprintf(stdout, "%-30s %-24s %s / %s\n", c.Type, cat, c.ProblemReason, c.HealthyReason)
	}
	return 0
}
