// Package npd is node-problem-detector's custom-plugin contract: one line on
// stdout, cut to the configured length, and an exit code that NPD maps to the
// condition's status (0 False, 1 True, anything else Unknown).
package npd

import (
	"strings"
	"unicode/utf8"

	cpmtypes "k8s.io/node-problem-detector/pkg/custompluginmonitor/types"
)

// Status is the plugin's verdict, with NPD's own exit-code values.
type Status = cpmtypes.Status

// The three statuses NPD understands.
const (
	OK      = cpmtypes.OK      // condition False
	NonOK   = cpmtypes.NonOK   // condition True
	Unknown = cpmtypes.Unknown // condition Unknown
)

// MaxMessage is NPD's default max_output_length: bytes beyond it are cut.
const MaxMessage = 80

// Result is what one plugin run reports.
type Result struct {
	Status  Status
	Message string
}

// Line returns the message as NPD should see it: one line, trimmed, at most
// max bytes, never splitting a UTF-8 character (NPD cuts bytes blindly).
func (r Result) Line(max int) string {
	return Fit(r.Message, max)
}

// Fit turns s into a single trimmed line of at most max bytes.
func Fit(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut])
}

// ExitCode is the process exit code for the status.
func (r Result) ExitCode() int { return int(r.Status) }
