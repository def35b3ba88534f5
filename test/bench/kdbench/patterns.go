package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// PatternSummary says how the registry's patterns became grep -E patterns.
type PatternSummary struct {
	Rules     int            `json:"rules"`
	Written   int            `json:"written"`   // lines in the patterns file
	AsIs      int            `json:"asIs"`      // the Go pattern was already the ERE
	Converted int            `json:"converted"` // rewritten (\d, \S, (?:...), lazy, ...)
	GNU       int            `json:"gnu"`       // needs a GNU grep extension (\b, \B)
	Skipped   map[string]int `json:"skipped"`   // reason -> rules not expressible
}

func (s PatternSummary) String() string {
	skipped := 0
	var why []string
	for r, n := range s.Skipped {
		skipped += n
		why = append(why, fmt.Sprintf("%d: %s", n, r))
	}
	sort.Strings(why)
	out := fmt.Sprintf("%d rules -> %d grep -E patterns (%d unchanged, %d converted from RE2 syntax, %d of them with GNU \\b/\\B), %d skipped",
		s.Rules, s.Written, s.AsIs, s.Converted, s.GNU, skipped)
	if skipped > 0 {
		out += " (" + strings.Join(why, "; ") + ")"
	}
	return out
}

// writePatterns writes one ERE per rule of the registry to path (duplicates
// once: several rules share a pattern and grep needs it only once).
func writePatterns(path string) (PatternSummary, error) {
	s := PatternSummary{Skipped: map[string]int{}}
	seen := map[string]bool{}
	var b strings.Builder
	for _, r := range rules.Rules() {
		s.Rules++
		ere, gnu, err := toERE(r.Pattern)
		if err != nil {
			s.Skipped[err.Error()]++
			continue
		}
		if ere == r.Pattern {
			s.AsIs++
		} else {
			s.Converted++
		}
		if gnu {
			s.GNU++
		}
		if seen[ere] {
			continue
		}
		seen[ere] = true
		s.Written++
		b.WriteString(ere)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return s, fmt.Errorf("write patterns: %w", err)
	}
	return s, nil
}

// cmdPatterns writes the patterns file and prints the summary.
func cmdPatterns(args []string) error {
	fs := flag.NewFlagSet("patterns", flag.ContinueOnError)
	out := fs.String("o", "patterns.ere", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := writePatterns(*out)
	if err != nil {
		return err
	}
	fmt.Println(s)
	return nil
}
