package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
	"github.com/kubelet-doctor/kubelet-doctor/plugins"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/certs"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/logs"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/unit"
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

// pluginFlags are the flags every command that evaluates conditions shares
// (check, alert, report, wait, metrics): where the node is, how its journal
// is read and how failures are counted. The NPD plugin commands add their own
// (registerPlugin); the others register only the shared ones, so that one
// flag means the same thing in every command.
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
	// Node state: overrides of what discovery finds, and the checks' limits.
	kubeletFiles kubeletfiles.Files
	certWarn     time.Duration
	probeTimeout time.Duration
	// Kubelet config drift, DNS and startup.
	reference         string
	referenceOptional bool
	driftIgnore       listFlag
	healthz           string
	restarts          int
}

// register adds the flags of the NPD plugin commands (check, alert).
func (f *pluginFlags) register(fs *flag.FlagSet) {
	f.registerShared(fs)
	fs.StringVar(&f.stateDir, "state-dir", "", "state directory (default ROOT"+hostpath.StateDir+")")
	fs.DurationVar(&f.timeout, "timeout", 4*time.Second, "own deadline, below NPD's rule timeout; reached => Unknown")
	fs.DurationVar(&f.reuseWithin, "reuse-within", 2*time.Second, "use the shared state without reading the journal when it is younger than this")
	fs.DurationVar(&f.hold, "hold", 2*time.Minute, "keep a True condition True through \"cannot tell\" for at most this long (no repair timer restarts)")
	fs.IntVar(&f.maxOutput, "max-output", sink.MaxMessage, "bytes of the message line (NPD's max_output_length)")
	fs.StringVar(&f.healthz, "healthz-url", unit.DefaultHealthz, `the kubelet's healthz endpoint for KubeletStartupProblem ("-": do not probe)`)
	fs.IntVar(&f.restarts, "crash-loop-restarts", condition.CrashLoopExits, "unit restarts, with the kubelet not settled, that make a crash loop")
}

// registerShared adds the flags every evaluating command has.
func (f *pluginFlags) registerShared(fs *flag.FlagSet) {
	fs.StringVar(&f.root, "root", "/", "host root: every host path resolves under it")
	fs.Var(&f.journalDirs, "journal-dir", "journal directory to read instead of ROOT/var/log/journal and ROOT/run/log/journal (repeatable)")
	fs.Var(&f.units, "unit", "systemd unit of the kubelet (repeatable; default kubelet.service)")
	fs.Var(&f.identifiers, "identifier", "also read entries with this SYSLOG_IDENTIFIER, from root only (repeatable; none by default: the unit's entries cannot be forged, an identifier can)")
	fs.DurationVar(&f.window, "window", 10*time.Minute, "failures are counted in this window")
	fs.DurationVar(&f.bootGrace, "boot-grace", 5*time.Minute, "boot-transient errors count only when they persist past this after a kubelet start")
	fs.IntVar(&f.maxEntries, "max-entries", 2_000_000, "entries read per invocation at most (0: no bound)")
	fs.StringVar(&f.logLevel, "log-level", "warning", "stderr log level: debug, info, warning, error")
	fs.StringVar(&f.now, "now", "", "evaluate as of this RFC 3339 time instead of the clock (replays, benchmarks); the running boot's own journal entries still keep their monotonic timing")
	f.registerNodeState(fs)
}

// registerNodeState adds the node-state checks' flags: where the kubelet's
// files are when discovery is not to be trusted, and the checks' limits.
func (f *pluginFlags) registerNodeState(fs *flag.FlagSet) {
	fs.StringVar(&f.kubeletFiles.Kubeconfig, "kubeconfig", "", "the kubelet's kubeconfig (default: found from the kubelet's command line, unit, or layout)")
	fs.StringVar(&f.kubeletFiles.BootstrapKubeconfig, "bootstrap-kubeconfig", "", "the kubelet's bootstrap kubeconfig (default: found)")
	fs.StringVar(&f.kubeletFiles.Config, "kubelet-config", "", "the kubelet's config file (default: found)")
	fs.StringVar(&f.kubeletFiles.CertDir, "cert-dir", "", "the kubelet's --cert-dir (default: found, else "+kubeletfiles.DefaultCertDir+")")
	fs.DurationVar(&f.certWarn, "cert-warn", certs.DefaultWarn, "a certificate expiring within this is a problem while nothing rotates it")
	fs.DurationVar(&f.probeTimeout, "probe-timeout", 3*time.Second, "deadline of one API server probe (below --timeout)")
	fs.StringVar(&f.kubeletFiles.ConfigDir, "kubelet-config-dir", "", "the kubelet's --config-dir of drop-ins (default: found)")
	fs.StringVar(&f.reference, "reference", "", "the cluster's kubelet config: a KubeletConfiguration or the kube-system/kubelet-config ConfigMap (enables drift)")
	fs.BoolVar(&f.referenceOptional, "reference-optional", false, "a --reference that does not exist means no reference: drift is not checked (the DaemonSet's optional kubelet-config mount); any other failure to read it is still Unknown")
	fs.Var(&f.driftIgnore, "drift-ignore", "config fields that may differ from --reference, besides the node-specific defaults (repeatable)")
}

// validate checks the shared flags after parsing and applies --log-level.
func (f *pluginFlags) validate() error {
	lvl, err := logrus.ParseLevel(f.logLevel)
	if err != nil {
		return fmt.Errorf("parse --log-level: %w", err)
	}
	logrus.SetLevel(lvl)
	if f.now != "" {
		if _, err := time.Parse(time.RFC3339Nano, f.now); err != nil {
			return fmt.Errorf("parse --now: %w", err)
		}
	}
	if f.window <= 0 {
		return errors.New("--window must be positive")
	}
	if f.maxEntries < 0 {
		return errors.New("--max-entries must not be negative")
	}
	if f.referenceOptional && f.reference == "" {
		return errors.New("--reference-optional needs --reference")
	}
	if f.probeTimeout <= 0 || f.certWarn < 0 {
		return errors.New("--probe-timeout must be positive, --cert-warn not negative")
	}
	return nil
}

// clock is the evaluation time: --now, else the clock.
func (f *pluginFlags) clock() time.Time {
	if f.now != "" {
		at, _ := time.Parse(time.RFC3339Nano, f.now) // checked by validate
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

func (f *pluginFlags) match() journal.Match {
	match := journal.Match{Units: f.units, Identifiers: f.identifiers}
	if len(match.Units) == 0 {
		match.Units = journal.DefaultMatch().Units
	}
	if len(match.Identifiers) == 0 {
		match.Identifiers = journal.DefaultMatch().Identifiers
	}
	return match
}

func (f *pluginFlags) source() logs.JournalSource {
	return logs.JournalSource{Dirs: journal.Dirs(hostpath.Root(f.root), f.journalDirs), Match: f.match()}
}

func (f *pluginFlags) options() plugins.Options {
	src := f.source()
	return plugins.Options{
		Journal:           src,
		Window:            logs.Window{Span: f.window, BootGrace: f.bootGrace},
		ReuseWithin:       f.reuseWithin,
		MaxEntries:        f.maxEntries,
		KubeletFiles:      f.kubeletFiles,
		CertWarn:          f.certWarn,
		ProbeTimeout:      f.probeTimeout,
		Reference:         f.reference,
		ReferenceOptional: f.referenceOptional,
		DriftIgnore:       f.driftIgnore,
		Unit:              src.Match.Units[0],
		Healthz:           f.healthz,
		CrashLoopRestarts: f.restarts,
	}
}

// parseNoArgs parses the flags of a command that takes no arguments:
// usage is the text before the flag list of its -help.
func parseNoArgs(name, usage string, args []string, stderr io.Writer, register func(*flag.FlagSet)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}
