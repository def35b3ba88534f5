// Package doctor is the seam between what kubelet-doctor looks at and what it
// says: checks read a source (the journal, the node's files, a probe) and
// return Findings; Evaluate merges them into one Verdict per condition; sinks
// (the NPD plugin line, explain, report, wait, metrics) render verdicts. A
// check never prints or exits, and nothing here knows NPD.
package doctor

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/state"
)

// Status is a condition's state as kubelet-doctor sees it. The zero value is
// Unknown: a finding nobody filled in must never read as healthy.
type Status uint8

const (
	Unknown Status = iota // cannot tell; the finding's Label says why
	OK                    // no problem
	Problem               // the condition is True
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Problem:
		return "problem"
	}
	return "unknown"
}

// Source is where a finding's evidence comes from. When several sources
// report a problem for one condition, the strongest evidence leads: what the
// node's files and probes show now, then what the journal recorded.
type Source string

const (
	SourceNodeState Source = "node-state"
	SourceProbe     Source = "probe"
	SourceJournal   Source = "journal"
)

// strength orders sources for the message of a merged verdict.
func (s Source) strength() int {
	switch s {
	case SourceNodeState:
		return 3
	case SourceProbe:
		return 2
	case SourceJournal:
		return 1
	}
	return 0
}

// Finding is one check's statement about one condition.
type Finding struct {
	Condition string `json:"condition"`
	Status    Status `json:"status"`
	// Reason is a PascalCase reason for a problem more specific than the
	// condition's ProblemReason (e.g. KubeletClientCertExpired); empty means
	// the condition's own.
	Reason string `json:"reason,omitempty"`
	// Label is the short stable cause, the front of every message:
	// "x509 unknown authority", "client certificate expired".
	Label string `json:"label"`
	// Detail is the root-cause excerpt or the fact behind the label (a URL, a
	// path and a date), secrets removed.
	Detail string `json:"detail,omitempty"`
	// Frequency says how often, for log evidence: "3+ in 10m", "since
	// kubelet start". Empty for node state.
	Frequency string `json:"frequency,omitempty"`
	Hint      string `json:"hint,omitempty"`
	Source    Source `json:"source"`
	Check     string `json:"check"`
	// Rule is the registry rule or the check's own id that decided.
	Rule  string `json:"rule,omitempty"`
	Count int    `json:"count,omitempty"`
	// Since is the start of the failure episode: alerts key on it and it
	// stays put while the same problem goes on.
	Since time.Time `json:"since,omitzero"`
	// Evidence is what a person reads to confirm: log lines with their
	// times, file facts. Not part of the NPD line.
	Evidence []Evidence `json:"evidence,omitempty"`
	// Expires is when each certificate the check read stops being valid,
	// by kind ("client", "serving"): a value for metrics, not a message.
	Expires map[string]time.Time `json:"expires,omitempty"`
}

// Evidence is one observation behind a finding.
type Evidence struct {
	At   time.Time `json:"at,omitzero"`
	Text string    `json:"text"`
}

// Check reads one source of evidence about some conditions.
type Check interface {
	// Name is stable and kebab-case: it names the check in outputs, metrics
	// and the state's cache.
	Name() string
	// Conditions are the condition types the check speaks for.
	Conditions() []string
	// Run returns the check's findings. An error means the check could not
	// look (its conditions are Unknown with the error as cause); a problem
	// it found is a Finding, not an error. Run must honour ctx's deadline.
	Run(ctx context.Context, env *Env) ([]Finding, error)
}

// Cacheable is a check that is expensive (a network probe, a gRPC or D-Bus
// call): its findings are kept in the state and reused by every invocation
// within MaxAge, so that it runs at most once per NPD interval however many
// conditions' plugins ask.
type Cacheable interface {
	Check
	MaxAge() time.Duration
}

// Env is what every check gets.
type Env struct {
	Root hostpath.Root
	Now  time.Time
	// Boot is the running boot, read with Now: the journal keeps its
	// evidence on the boot's monotonic timeline so that a clock step moves
	// nothing. Zero when unknown or when Now is given (replays).
	Boot  Boot
	Store *state.Store // nil: no state (explain on stdin, tests)
	Log   logrus.FieldLogger
}

// Boot is the kernel's boot and how long it has been up.
type Boot struct {
	ID        string        // boot_id, 32 lower-case hex digits as journald writes _BOOT_ID
	Monotonic time.Duration // CLOCK_MONOTONIC, journald's monotonic clock
}
