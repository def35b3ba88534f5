package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
	"github.com/kubelet-doctor/kubelet-doctor/plugins"
)

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
	if err := f.validate(); err != nil {
		return nil, condition.Condition{}, err
	}
	if f.timeout <= 0 {
		return nil, condition.Condition{}, errors.New("--timeout must be positive")
	}
	return f, c, nil
}

// evaluate runs the checks for one condition within the plugin's deadline.
func (f *pluginFlags) evaluate(ctx context.Context, cond condition.Condition, log logrus.FieldLogger) (doctor.Verdict, *state.Store, error) {
	store, err := state.Open(f.stateDirectory())
	if err != nil {
		return doctor.Verdict{}, nil, err
	}
	env := &doctor.Env{Root: hostpath.Root(f.root), Now: f.clock(), Store: store, Log: log}
	// Even with --now: the running boot's own entries keep their
	// monotonic timing, so a stepped wall clock moves nothing.
	env.Boot = doctor.ReadBoot()
	o := f.options()
	// NPD starts one process per condition each interval: the kubelet's
	// pid found by one is reused by the others instead of a /proc scan each.
	o.Processes = kubeletfiles.StoredProcess{Store: store, Now: env.Now, MaxAge: kubeletfiles.ProcessMaxAge}
	vs, err := doctor.Evaluate(ctx, env, plugins.Checks(o), []string{cond.Type})
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
			"runbook": v.Condition.Runbook()}).Info(sink.Compose(v.Lead, 0))
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
