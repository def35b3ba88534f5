package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/journal"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// explained is one line's verdict in explain's JSON output. At is the
// entry's time, given when the line comes from the journal.
type explained struct {
	Line      int       `json:"line"`
	At        time.Time `json:"at,omitzero"`
	Category  string    `json:"category"`
	Condition string    `json:"condition"`
	Rule      string    `json:"rule"`
	Cause     string    `json:"cause"`
	Hint      string    `json:"hint"`
}

type explainFlags struct {
	pluginFlags
	output  string
	all     bool
	journal bool
	since   time.Duration
	summary bool
}

func (f *explainFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.output, "output", "text", "output format: text or json (one object per input line, or per cause with --summary)")
	fs.BoolVar(&f.all, "all", false, "text output: also list benign lines, each with the rule that made it benign")
	fs.BoolVar(&f.journal, "journal", false, "read the kubelet's entries from the journal under --root instead of stdin or FILE")
	fs.DurationVar(&f.since, "since", time.Hour, "with --journal: entries of this last span (0: the whole journal)")
	fs.BoolVar(&f.summary, "summary", false, "group the problem lines by cause, with counts and first and last time")
	fs.StringVar(&f.root, "root", "/", "host root: every host path resolves under it")
	fs.Var(&f.journalDirs, "journal-dir", "journal directory to read instead of ROOT/var/log/journal and ROOT/run/log/journal (repeatable)")
	fs.Var(&f.units, "unit", "systemd unit of the kubelet (repeatable; default kubelet.service)")
	fs.Var(&f.identifiers, "identifier", "also read entries with this SYSLOG_IDENTIFIER, from root only (repeatable; none by default: the unit's entries cannot be forged, an identifier can)")
}

func parseExplain(args []string, stderr io.Writer) (*explainFlags, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &explainFlags{}
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kubelet-doctor explain [flags] [FILE]\n\nClassifies each kubelet log line (stdin when no FILE):\n  journalctl -u kubelet | kubelet-doctor explain\n  kubelet-doctor explain --journal --since 1h --summary\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	switch {
	case f.output != "text" && f.output != "json":
		return nil, nil, fmt.Errorf("unknown --output %q (text or json)", f.output)
	case fs.NArg() > 1:
		return nil, nil, errors.New("at most one FILE")
	case f.journal && fs.NArg() > 0:
		return nil, nil, errors.New("--journal reads the journal: no FILE")
	case f.since < 0:
		return nil, nil, errors.New("--since must not be negative")
	}
	return f, fs, nil
}

func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, fs, err := parseExplain(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "explain: %v\n", err)
		}
		return 2
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var p printer = &textPrinter{w: out, color: isTerminal(stdout), all: f.all, counts: map[rules.Category]int{}}
	switch {
	case f.summary:
		p = &summaryPrinter{w: out, json: f.output == "json", color: isTerminal(stdout), groups: map[string]*group{}}
	case f.output == "json":
		p = &jsonPrinter{enc: json.NewEncoder(out)}
	}
	// A `key=<` block is folded back into its head line, so that it is
	// explained as the same failure logged on one line.
	fold := rules.NewFolder(rules.New(), func(l numbered, v rules.Verdict) { p.print(l.n, l.at, l.text, v) })
	if f.journal {
		err = f.explainJournal(stderr, func(n int, at time.Time, line string) { fold.Push(numbered{n, at, line}, line) })
	} else {
		err = explainLines(fs, stdin, func(n int, line string) { fold.Push(numbered{n: n, text: line}, line) })
	}
	fold.Flush()
	if err != nil {
		out.Flush()
		fmt.Fprintf(stderr, "explain: %v\n", err)
		return 2
	}
	p.done()
	return 0
}

// numbered is an input line with its number (and time, from the
// journal), carried through the folder.
type numbered struct {
	n    int
	at   time.Time
	text string
}

// explainLines reads FILE (or stdin) line by line.
func explainLines(fs *flag.FlagSet, stdin io.Reader, fn func(n int, line string)) error {
	in := stdin
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	r := bufio.NewReaderSize(in, 64<<10)
	for n := 1; ; n++ {
		line, err := readLine(r)
		if errors.Is(err, io.EOF) && line == "" {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read line %d: %w", n, err)
		}
		fn(n, line)
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// explainJournal reads the kubelet's entries of the last --since from the
// journal under --root, showing progress on a terminal while it reads.
func (f *explainFlags) explainJournal(stderr io.Writer, fn func(n int, at time.Time, line string)) error {
	var read atomic.Int64
	r, err := countingOpen(&read)(journal.Dirs(hostpath.Root(f.root), f.journalDirs), f.match())
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	defer r.Close()
	q := journal.Query{}
	if f.since > 0 {
		q.Since = time.Now().Add(-f.since)
	}
	stop := showProgress(stderr, &read, "reading the kubelet's journal")
	defer stop()
	n := 0
	_, err = r.Read(context.Background(), q, func(e journal.Entry) error {
		n++
		fn(n, e.Realtime, e.Message)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	return nil
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
	print(n int, at time.Time, line string, v rules.Verdict)
	done()
}

type jsonPrinter struct{ enc *json.Encoder }

func (p *jsonPrinter) print(n int, at time.Time, _ string, v rules.Verdict) {
	cat := v.Category
	if cat == "" {
		cat = rules.None
	}
	_ = p.enc.Encode(explained{Line: n, At: utc(at), Category: string(cat), Condition: v.Condition, Rule: v.Rule, Cause: cause(v), Hint: v.Hint})
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

func (p *textPrinter) print(n int, at time.Time, line string, v rules.Verdict) {
	p.lines++
	pos := fmt.Sprintf("%5d", n)
	if !at.IsZero() {
		pos = at.UTC().Format(time.RFC3339)
	}
	if v.Lifecycle == rules.LifecycleExited {
		// Not a category, but what a person reading a crash loop looks for.
		p.exits++
		fmt.Fprintf(p.w, "%s  %s\n", pos, p.paint(ansiBold, v.Label))
		return
	}
	if v.Category == rules.None || v.Category == "" {
		if p.all {
			p.benign(pos, v)
		}
		return
	}
	p.counts[v.Category]++
	fmt.Fprintf(p.w, "%s  %s  %s  %s\n", pos, p.paint(ansiRed+ansiBold, string(v.Category)), v.Condition, p.paint(ansiDim, v.Rule))
	indent := strings.Repeat(" ", len(pos)+2)
	fmt.Fprintf(p.w, "%scause: %s\n", indent, cause(v))
	if v.Hint != "" {
		fmt.Fprintf(p.w, "%shint:  %s\n", indent, v.Hint)
	}
	// The hint says what to check first; the runbook how to confirm and
	// recover, per distribution.
	if c, ok := condition.ByType(v.Condition); ok {
		fmt.Fprintf(p.w, "%srunbook: %s\n", indent, c.Runbook())
	}
}

// benign prints a line that is no problem, naming the rule that decided
// so when one did: why a line that reads like a failure is not one.
func (p *textPrinter) benign(pos string, v rules.Verdict) {
	if v.Rule == "" {
		fmt.Fprintf(p.w, "%s\n", p.paint(ansiDim, pos+"  none"))
		return
	}
	what := v.Rule
	if v.Label != "" {
		what += ": " + v.Label
	}
	fmt.Fprintf(p.w, "%s\n", p.paint(ansiDim, pos+"  none  "+what))
	if v.Hint != "" {
		fmt.Fprintf(p.w, "%s\n", p.paint(ansiDim, strings.Repeat(" ", len(pos)+2)+"why:  "+v.Hint))
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

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
