// Package sweep holds the table of the kubelet's own log message templates,
// extracted from its source at several Kubernetes versions (cmd/extract),
// and turns a template into the log line a kubelet of that version writes,
// so that a test can hold the rule registry to the table's categories.
package sweep

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Kinds of template: how the kubelet emits the text.
const (
	KindPrintf     = "printf"     // klog.Errorf and friends: a format string
	KindPrint      = "print"      // klog.Error(args...): operands printed with Sprint
	KindStructured = "structured" // klog.ErrorS / logger.Error: "msg" key=value
	KindError      = "error"      // fmt.Errorf / errors.New: a text that reaches err=
)

// Template is one row of the table.
type Template struct {
	Severity byte   // I, W, E or F; E for error texts
	Kind     string // one of the Kind constants
	Text     string // the format string or message as written in the source
	Keys     []string
	Versions []string // minor versions the template is in, "1.18"
	// Source lists the files that log the template in the newest version
	// that has it: "pkg/kubelet/kubelet_node_status.go" for k8s.io/kubernetes,
	// the module path first for the others ("k8s.io/client-go/transport/...").
	Source   []string
	Category string // category the registry must give the rendered line; "none"
	Reason   string
}

// Key identifies a template across versions.
func (t Template) Key() string {
	return string(t.Severity) + "\x00" + t.Kind + "\x00" + t.Text
}

// Line renders t as the journal MESSAGE a kubelet writes: the klog header,
// the format's verbs filled with neutral values that match no cause, and
// for structured messages an err value that names no cause.
func (t Template) Line() string {
	h := string(t.Severity) + "0101 00:00:00.000000    1234 sweep.go:1] "
	switch t.Kind {
	case KindStructured:
		var b strings.Builder
		b.WriteString(h)
		b.WriteString(quote(t.Text))
		if t.Severity == 'E' || t.Severity == 'F' {
			b.WriteString(` err="some error"`)
		}
		for _, k := range t.Keys {
			b.WriteString(" " + k + `="x"`)
		}
		return b.String()
	case KindPrint:
		return h + t.Text + " some error"
	}
	return h + Fill(t.Text)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// Fill replaces the verbs of a format string with neutral values: %q with
// "x", numbers with 1, everything else with x.
func Fill(format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("+-# 0123456789.[]*", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			b.WriteString(format[i:])
			break
		}
		switch format[j] {
		case '%':
			b.WriteByte('%')
		case 'q':
			b.WriteString(`"x"`)
		case 'd', 'f', 'g', 'x', 'o', 'b', 'e':
			b.WriteString("1")
		case 't':
			b.WriteString("true")
		default:
			b.WriteString("x")
		}
		i = j
	}
	return b.String()
}

// Header is the first line of the table.
const Header = "severity\tkind\ttemplate\tkeys\tversions\tsource\tcategory\treason"

// Read parses a table written by Write.
func Read(r io.Reader) ([]Template, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var out []Template
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			if line != Header {
				return nil, fmt.Errorf("line 1: header %q, want %q", line, Header)
			}
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 8 || len(f[0]) != 1 {
			return nil, fmt.Errorf("line %d: want 8 tab-separated fields with a one-letter severity", n)
		}
		t := Template{Severity: f[0][0], Kind: f[1], Text: unescape(f[2]), Category: f[6], Reason: f[7]}
		if f[3] != "" {
			t.Keys = strings.Split(f[3], ",")
		}
		if f[4] != "" {
			t.Versions = strings.Split(f[4], ",")
		}
		if f[5] != "" {
			t.Source = strings.Split(f[5], ",")
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

// Write writes the table, one template a line.
func Write(w io.Writer, ts []Template) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, Header)
	for _, t := range ts {
		fmt.Fprintf(bw, "%c\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Severity, t.Kind, escape(t.Text),
			strings.Join(t.Keys, ","), strings.Join(t.Versions, ","), strings.Join(t.Source, ","), t.Category, t.Reason)
	}
	return bw.Flush()
}

var (
	escaper   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`)
	unescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n")
)

func escape(s string) string   { return escaper.Replace(s) }
func unescape(s string) string { return unescaper.Replace(s) }
