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
// object: control characters (C0 but tab and newline, DEL, C1) and invalid
// UTF-8 become visible escapes; NPD publishes the message unchanged, and
// kubectl describe prints it raw.
func Clean(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || control(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case control(r):
			if r < 0x100 {
				b.WriteString(`\x`)
				b.WriteString(hex2(byte(r)))
			} else {
				b.WriteString(`\u`)
				b.WriteString(hex2(byte(r>>8)) + hex2(byte(r)))
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// control reports runes a terminal acts on: C0 (tab, newline and carriage
// return are left to Fit, which folds them), DEL, C1, and the bidi
// overrides that reorder what a reader sees.
func control(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}
