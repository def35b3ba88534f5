package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
)

// group is one cause in explain --summary: the way a person reads a long
// journal, the same failure once with how often and when.
type group struct {
	Category  string    `json:"category"`
	Condition string    `json:"condition"`
	Rule      string    `json:"rule"`
	Cause     string    `json:"cause"`
	Hint      string    `json:"hint"`
	Count     int       `json:"count"`
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	FirstLine int       `json:"firstLine"`
	LastLine  int       `json:"lastLine"`
}

// summaryPrinter groups problem lines (and the kubelet's exits) by cause.
type summaryPrinter struct {
	w      *bufio.Writer
	json   bool
	color  bool
	lines  int
	groups map[string]*group
}

func (p *summaryPrinter) print(n int, at time.Time, _ string, v rules.Verdict) {
	p.lines++
	cat, rule, c := string(v.Category), v.Rule, cause(v)
	switch {
	case v.Lifecycle == rules.LifecycleExited:
		// systemd logs "Main process exited" and "Failed with result"
		// for one crash: one group, one count per second at most.
		cat, rule, c = "exit", "", "kubelet exited"
		if g := p.groups["exit"]; g != nil && !at.IsZero() && at.Sub(g.Last) < time.Second {
			g.Last, g.LastLine = utc(at), n
			return
		}
	case v.Category == rules.None || v.Category == "":
		return
	}
	key := cat + "\x00" + rule + "\x00" + c
	if cat == "exit" {
		key = "exit"
	}
	g := p.groups[key]
	if g == nil {
		g = &group{Category: cat, Condition: v.Condition, Rule: rule, Cause: c, Hint: v.Hint, First: utc(at), FirstLine: n}
		p.groups[key] = g
	}
	g.Count++
	g.Last, g.LastLine = utc(at), n
}

// sorted orders the groups by count, then by first appearance.
func (p *summaryPrinter) sorted() []*group {
	gs := make([]*group, 0, len(p.groups))
	for _, g := range p.groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].Count != gs[j].Count {
			return gs[i].Count > gs[j].Count
		}
		return gs[i].FirstLine < gs[j].FirstLine
	})
	return gs
}

func (p *summaryPrinter) done() {
	gs := p.sorted()
	if p.json {
		enc := json.NewEncoder(p.w)
		for _, g := range gs {
			_ = enc.Encode(g)
		}
		return
	}
	when := func(g *group, first bool) string {
		at, n := g.Last, g.LastLine
		if first {
			at, n = g.First, g.FirstLine
		}
		if at.IsZero() {
			return fmt.Sprintf("line %d", n)
		}
		return at.Format(time.RFC3339)
	}
	for _, g := range gs {
		head := fmt.Sprintf("%6d  %s", g.Count, g.Category)
		if g.Condition != "" {
			head += "  " + g.Condition
		}
		fmt.Fprintf(p.w, "%s\n", sink.Paint(p.color, "\x1b[1m", head))
		fmt.Fprintf(p.w, "        cause: %s\n", g.Cause)
		fmt.Fprintf(p.w, "        first: %s  last: %s\n", when(g, true), when(g, false))
		if g.Hint != "" && g.Category != "exit" {
			fmt.Fprintf(p.w, "        hint:  %s\n", g.Hint)
		}
	}
	fmt.Fprintf(p.w, "%d lines, %d causes\n", p.lines, len(gs))
}
