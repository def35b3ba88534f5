// Package sink renders verdicts for their readers. npd.go is
// node-problem-detector's custom-plugin contract: one line on stdout, cut to
// the configured length on a character boundary with the key fact first, and
// an exit code NPD maps to the condition's status. Nothing below the sinks
// knows these.
package sink

import (
	"strings"
	"unicode/utf8"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/printable"
)

// MaxMessage is NPD's default max_output_length: bytes beyond it are cut.
const MaxMessage = 80

// NPD's exit codes (pkg/custompluginmonitor/types: OK, NonOK, Unknown).
const (
	ExitOK      = 0
	ExitProblem = 1
	ExitUnknown = 2
)

// ExitCode is the NPD exit code of a status.
func ExitCode(s doctor.Status) int {
	switch s {
	case doctor.OK:
		return ExitOK
	case doctor.Problem:
		return ExitProblem
	}
	return ExitUnknown
}

// Line is the NPD message for a verdict: at most max bytes, printable.
func Line(v doctor.Verdict, max int) string {
	if v.Status == doctor.OK {
		return Fit(v.Condition.HealthyMessage, max)
	}
	return Compose(v.Lead, max)
}

// Compose builds "<label>: <detail> (<frequency>)" in at most max bytes. The
// label, the most useful part, always comes first; the detail gives way.
func Compose(f doctor.Finding, max int) string {
	label, detail := Clean(f.Label), Clean(f.Detail)
	tail := ""
	if f.Frequency != "" {
		tail = " (" + Clean(f.Frequency) + ")"
	}
	if detail == "" {
		return Fit(label+tail, max)
	}
	head := label + ": "
	room := max - len(head) - len(tail)
	if max <= 0 {
		room = len(detail)
	}
	if room < 8 {
		// Too little room for a useful detail: keep label and frequency.
		return Fit(label+tail, max)
	}
	return Fit(head+Fit(detail, room)+tail, max)
}

// Fit turns s into a single printable line of at most max bytes, never
// splitting a UTF-8 character (NPD cuts bytes blindly).
func Fit(s string, max int) string {
	s = strings.Join(strings.Fields(Clean(s)), " ")
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut])
}

// Clean makes text from a log line safe for a terminal and for the Node
// object (NPD publishes the message unchanged, and kubectl describe prints it
// raw): tabs and line breaks become spaces, which Fit then folds; every other
// control character, bidi override and invalid byte becomes a visible escape
// (internal/printable).
func Clean(s string) string {
	return printable.String(strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s))
}
