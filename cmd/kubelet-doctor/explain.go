package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// explained is one line's verdict in explain's JSON output.
type explained struct {
	Line      int    `json:"line"`
	Category  string `json:"category"`
	Condition string `json:"condition"`
	Rule      string `json:"rule"`
	Cause     string `json:"cause"`
	Hint      string `json:"hint"`
}

func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("output", "text", "output format: text or json (one object per input line)")
	all := fs.Bool("all", false, "text output: also list benign lines")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kubelet-doctor explain [flags] [FILE]\n\nClassifies each kubelet log line (stdin when no FILE):\n  journalctl -u kubelet | kubelet-doctor explain\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "explain: unknown --output %q (text or json)\n", *output)
		return 2
	}
	in := stdin
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "explain: at most one FILE")
		return 2
	}
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "explain: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var p printer = &textPrinter{w: out, color: isTerminal(stdout), all: *all, counts: map[rules.Category]int{}}
	if *output == "json" {
		p = &jsonPrinter{enc: json.NewEncoder(out)}
	}
	// A `key=<` block is folded back into its head line, so that it is
	// explained as the same failure logged on one line.
	f := rules.NewFolder(rules.New(), func(l numbered, v rules.Verdict) { p.print(l.n, l.text, v) })
	r := bufio.NewReaderSize(in, 64<<10)
	for n := 1; ; n++ {
		line, err := readLine(r)
		if errors.Is(err, io.EOF) && line == "" {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			f.Flush()
			out.Flush()
			fmt.Fprintf(stderr, "explain: read line %d: %v\n", n, err)
			return 2
		}
		f.Push(numbered{n, line}, line)
		if errors.Is(err, io.EOF) {
			break
		}
	}
	f.Flush()
	p.done()
	return 0
}

// numbered is an input line and its number, carried through the folder.
type numbered struct {
	n    int
	text string
}

// readLine reads one line of any length, keeping at most journal.MaxMessage
// bytes of it: a dump pasted into stdin must not exhaust memory.
func readLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		chunk, isPrefix, err := r.ReadLine()
		if b.Len() < journal.MaxMessage {
			room := journal.MaxMessage - b.Len()
			if len(chunk) > room {
				chunk = chunk[:room]
			}
			b.Write(chunk)
		}
		if err != nil {
			return b.String(), err
		}
		if !isPrefix {
			return strings.TrimSuffix(b.String(), "\r"), nil
		}
	}
}

type printer interface {
	print(n int, line string, v rules.Verdict)
	done()
}

type jsonPrinter struct{ enc *json.Encoder }

func (p *jsonPrinter) print(n int, _ string, v rules.Verdict) {
	cat := v.Category
	if cat == "" {
		cat = rules.None
	}
	_ = p.enc.Encode(explained{Line: n, Category: string(cat), Condition: v.Condition, Rule: v.Rule, Cause: cause(v), Hint: v.Hint})
}

func (p *jsonPrinter) done() {}

// cause joins the stable label and the excerpt from the line.
func cause(v rules.Verdict) string {
	switch {
	case v.Label == "":
		return v.Cause
	case v.Cause == "":
		return v.Label
	default:
		return v.Label + ": " + v.Cause
	}
}

type textPrinter struct {
	w      *bufio.Writer
	color  bool
	all    bool
	lines  int
	exits  int
	counts map[rules.Category]int
}

const (
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiDim   = "\x1b[2m"
	ansiReset = "\x1b[0m"
)

func (p *textPrinter) paint(code, s string) string {
	if !p.color {
		return s
	}
	return code + s + ansiReset
}

func (p *textPrinter) print(n int, line string, v rules.Verdict) {
	p.lines++
	if v.Lifecycle == rules.LifecycleExited {
		// Not a category, but what a person reading a crash loop looks for.
		p.exits++
		fmt.Fprintf(p.w, "%5d  %s\n", n, p.paint(ansiBold, v.Label))
		return
	}
	if v.Category == rules.None || v.Category == "" {
		if p.all {
			fmt.Fprintf(p.w, "%s\n", p.paint(ansiDim, fmt.Sprintf("%5d  none", n)))
		}
		return
	}
	p.counts[v.Category]++
	fmt.Fprintf(p.w, "%5d  %s  %s  %s\n", n, p.paint(ansiRed+ansiBold, string(v.Category)), v.Condition, p.paint(ansiDim, v.Rule))
	fmt.Fprintf(p.w, "       cause: %s\n", cause(v))
	if v.Hint != "" {
		fmt.Fprintf(p.w, "       hint:  %s\n", v.Hint)
	}
	// The hint says what to check first; the runbook how to confirm and
	// recover, per distribution.
	if c, ok := condition.ByType(v.Condition); ok {
		fmt.Fprintf(p.w, "       runbook: %s\n", c.Runbook())
	}
}

func (p *textPrinter) done() {
	total := 0
	cats := make([]string, 0, len(p.counts))
	for c, n := range p.counts {
		total += n
		cats = append(cats, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(cats)
	exits := ""
	if p.exits > 0 {
		exits = fmt.Sprintf("; kubelet exits: %d", p.exits)
	}
	if total == 0 {
		fmt.Fprintf(p.w, "%d lines, no kubelet problem recognised%s\n", p.lines, exits)
		return
	}
	fmt.Fprintf(p.w, "%s\n", p.paint(ansiBold, fmt.Sprintf("%d lines, %d problem lines: %s%s", p.lines, total, strings.Join(cats, ", "), exits)))
}

// isTerminal reports whether w is a character device: colour only there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
