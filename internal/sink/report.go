package sink

// report.go renders `kubelet-doctor report`: every condition of one node as
// a table a person reads on a terminal, or as one JSON document whose field
// names are part of the command line contract (docs/cli.md).

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
)

// Report is report's JSON document. Field names are stable: scripts read
// them. Times are RFC 3339 in UTC.
type Report struct {
	// At is the time the conditions were evaluated as of.
	At   time.Time `json:"at"`
	Root string    `json:"root"`
	// Status is the worst status: "problem", "unknown" or "ok".
	Status     string            `json:"status"`
	Summary    ReportSummary     `json:"summary"`
	Conditions []ReportCondition `json:"conditions"`
	// Checks are the checks that ran, each once, with how they did.
	Checks []ReportCheck `json:"checks"`
}

// ReportSummary counts the conditions by status.
type ReportSummary struct {
	Problem int `json:"problem"`
	Unknown int `json:"unknown"`
	OK      int `json:"ok"`
}

// ReportCondition is one condition's row.
type ReportCondition struct {
	Type   string `json:"type"`
	Status string `json:"status"` // "problem", "unknown" or "ok"
	// Reason is the reason NPD shows for this status: the specific or the
	// condition's problem reason while True or Unknown, its healthy reason
	// while False.
	Reason string `json:"reason"`
	// Cause is the message: the specific cause first, then its detail and
	// how often.
	Cause    string           `json:"cause"`
	Source   string           `json:"source,omitempty"`
	Check    string           `json:"check,omitempty"`
	Rule     string           `json:"rule,omitempty"`
	Count    int              `json:"count,omitempty"`
	Since    time.Time        `json:"since,omitzero"`
	Evidence []ReportEvidence `json:"evidence,omitempty"`
	// SymptomOf names the True condition that explains this one's failures.
	SymptomOf string `json:"symptomOf,omitempty"`
	// Symptoms are the other conditions' failures this one explains.
	Symptoms []string `json:"symptoms,omitempty"`
	Hint     string   `json:"hint,omitempty"`
	Runbook  string   `json:"runbook"`
}

// ReportEvidence is one observation: a log line's cause with its time, or a
// node-state fact (no time).
type ReportEvidence struct {
	At    time.Time `json:"at,omitzero"`
	Check string    `json:"check"`
	Text  string    `json:"text"`
}

// ReportCheck is one check's run.
type ReportCheck struct {
	Name      string  `json:"name"`
	Seconds   float64 `json:"seconds"`
	Cached    bool    `json:"cached,omitempty"`
	Error     string  `json:"error,omitempty"`
	Succeeded bool    `json:"success"`
}

// NewReport builds the document from verdicts evaluated as of at.
func NewReport(vs []doctor.Verdict, at time.Time, root string) Report {
	r := Report{At: at.UTC(), Root: root, Conditions: []ReportCondition{}, Checks: []ReportCheck{}}
	seen := map[string]bool{}
	for _, v := range vs {
		r.Conditions = append(r.Conditions, reportCondition(v))
		switch v.Status {
		case doctor.Problem:
			r.Summary.Problem++
		case doctor.OK:
			r.Summary.OK++
		default:
			r.Summary.Unknown++
		}
		for _, c := range v.Checks {
			if !seen[c.Name] {
				seen[c.Name] = true
				r.Checks = append(r.Checks, ReportCheck{Name: c.Name, Seconds: c.Duration.Seconds(),
					Cached: c.Cached, Error: Clean(c.Err), Succeeded: c.Err == ""})
			}
		}
	}
	r.Status = Worst(vs).String()
	return r
}

// Worst is the status a set of verdicts adds up to: any problem, else any
// unknown, else ok. No verdict at all cannot be told.
func Worst(vs []doctor.Verdict) doctor.Status {
	if len(vs) == 0 {
		return doctor.Unknown
	}
	worst := doctor.OK
	for _, v := range vs {
		switch {
		case v.Status == doctor.Problem:
			return doctor.Problem
		case v.Status != doctor.OK:
			worst = doctor.Unknown
		}
	}
	return worst
}

// Reason is the NodeCondition reason NPD shows for the verdict.
func Reason(v doctor.Verdict) string {
	switch {
	case v.Status == doctor.OK:
		return v.Condition.HealthyReason
	case v.Lead.Reason != "":
		return v.Lead.Reason
	}
	return v.Condition.ProblemReason
}

func reportCondition(v doctor.Verdict) ReportCondition {
	c := ReportCondition{Type: v.Condition.Type, Status: v.Status.String(), Reason: Reason(v),
		Cause: Compose(v.Lead, 0), Source: string(v.Lead.Source), Check: v.Lead.Check, Rule: v.Lead.Rule,
		Count: v.Lead.Count, SymptomOf: v.SymptomOf, Runbook: v.Condition.Runbook()}
	if !v.Lead.Since.IsZero() {
		c.Since = v.Lead.Since.UTC()
	}
	switch {
	case v.Status == doctor.Problem:
		c.Hint = Clean(v.Lead.Hint)
		if c.Hint == "" {
			c.Hint = v.Condition.Hint
		}
	case v.Status == doctor.Unknown:
		// The condition's hint is about its problem; a check that could
		// not look has its own cause, named in the row.
		c.Hint = Clean(v.Lead.Hint)
	}
	for _, f := range v.Findings {
		if f.Status == doctor.OK && v.Status != doctor.OK {
			continue // a healthy check's word is not evidence of the problem
		}
		for _, e := range f.Evidence {
			c.Evidence = append(c.Evidence, ReportEvidence{At: utc(e.At), Check: f.Check, Text: Clean(e.Text)})
		}
		// A finding without evidence lines has its fact in Detail: for a
		// problem, what is wrong; for a healthy condition, what was seen to
		// be right ("kubelet.sock: 12 pods"), so that a report says what
		// each check looked at, not only that it found nothing.
		if len(f.Evidence) == 0 && f.Detail != "" && f.Status != doctor.Unknown {
			c.Evidence = append(c.Evidence, ReportEvidence{Check: f.Check, Text: Clean(f.Detail)})
		}
	}
	slices.SortStableFunc(c.Evidence, func(a, b ReportEvidence) int { return a.At.Compare(b.At) })
	for _, s := range v.Symptoms {
		c.Symptoms = append(c.Symptoms, s.Condition+": "+Compose(s, 0))
	}
	return c
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// ExitCode is report's exit code: 1 when any condition is a problem, else
// 2 when any cannot be told, else 0 (the NPD codes, for the worst status).
func (r Report) ExitCode() int {
	switch r.Status {
	case doctor.Problem.String():
		return ExitProblem
	case doctor.OK.String():
		return ExitOK
	}
	return ExitUnknown
}

// WriteJSON writes the report as one indented JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ANSI styles of the text outputs, used only on a terminal.
const (
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiDim    = "\x1b[2m"
	ansiReset  = "\x1b[0m"
)

// Paint wraps s in an ANSI style when colour is on.
func Paint(color bool, style, s string) string {
	if !color {
		return s
	}
	return style + s + ansiReset
}

// StatusStyle is the colour of a status.
func StatusStyle(s string) string {
	switch s {
	case doctor.Problem.String():
		return ansiRed + ansiBold
	case doctor.OK.String():
		return ansiGreen
	}
	return ansiYellow + ansiBold
}

// WriteText writes the table: one row per condition (condition, status,
// reason, cause), then under each condition that is not healthy its
// evidence with times, symptoms, hint and runbook.
func (r Report) WriteText(w io.Writer, color bool) error {
	tw := &errWriter{w: w}
	wc, wr := len("CONDITION"), len("REASON")
	for _, c := range r.Conditions {
		wc, wr = max(wc, len(c.Type)), max(wr, len(c.Reason))
	}
	tw.printf("%s\n", Paint(color, ansiBold, fmt.Sprintf("%-*s  %-7s  %-*s  %s", wc, "CONDITION", "STATUS", wr, "REASON", "CAUSE")))
	for _, c := range r.Conditions {
		status := Paint(color, StatusStyle(c.Status), fmt.Sprintf("%-7s", c.Status))
		tw.printf("%-*s  %s  %-*s  %s\n", wc, c.Type, status, wr, c.Reason, c.Cause)
		if c.Status == doctor.OK.String() && c.SymptomOf == "" {
			continue
		}
		for _, e := range c.Evidence {
			at := "-"
			if !e.At.IsZero() {
				at = e.At.Format(time.RFC3339)
			}
			tw.printf("    %s %s  %s\n", Paint(color, ansiDim, at), Paint(color, ansiDim, "["+e.Check+"]"), e.Text)
		}
		for _, s := range c.Symptoms {
			tw.printf("    symptom: %s\n", s)
		}
		if c.Hint != "" {
			tw.printf("    hint:    %s\n", c.Hint)
		}
		if c.Status != doctor.OK.String() {
			tw.printf("    runbook: %s\n", c.Runbook)
		}
	}
	var failed []string
	for _, ch := range r.Checks {
		if !ch.Succeeded {
			failed = append(failed, ch.Name+": "+ch.Error)
		}
	}
	tw.printf("%s\n", Paint(color, ansiBold, fmt.Sprintf("%d conditions: %d problem, %d unknown, %d ok",
		len(r.Conditions), r.Summary.Problem, r.Summary.Unknown, r.Summary.OK)))
	if len(failed) > 0 {
		tw.printf("checks that could not look: %s\n", strings.Join(failed, "; "))
	}
	return tw.err
}

// errWriter keeps the first write error, so that a renderer of many lines
// checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
