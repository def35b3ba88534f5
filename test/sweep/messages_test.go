package sweep

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

const messagesDoc = "../../docs/kubelet-messages.md"

// TestMessagesDocUpToDate fails when docs/kubelet-messages.md is not what
// the table and the registry make now: a rule or a row changed without
// make generate.
func TestMessagesDocUpToDate(t *testing.T) {
	got, err := os.ReadFile(messagesDoc)
	if err != nil {
		t.Fatalf("%v (run make generate)", err)
	}
	if string(got) != Messages(loadTable(t)) {
		t.Error("docs/kubelet-messages.md differs from test/sweep/templates.tsv and the registry: run make generate")
	}
}

// Every rule has exactly one anchor, the target of docs/conditions.md's links.
func TestMessagesDocHasOneAnchorPerRule(t *testing.T) {
	md := Messages(loadTable(t))
	for _, r := range rules.Rules() {
		if n := strings.Count(md, `<a id="rule-`+r.ID+`"></a>`); n != 1 {
			t.Errorf("rule %s: %d anchors, want 1", r.ID, n)
		}
	}
}

// Every template of the table is listed once: in its category, among the
// markers and guards, or under "No rule".
func TestMessagesDocListsEveryTemplateOnce(t *testing.T) {
	c := newReference(loadTable(t))
	n := len(c.markers()) + len(c.unread())
	for _, cat := range rules.Categories() {
		n += len(c.inCategory(cat))
	}
	if n != len(c.entries) {
		t.Errorf("%d templates listed, the table has %d", n, len(c.entries))
	}
	md := Messages(loadTable(t))
	rows := 0
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| sev ") && !strings.HasPrefix(line, "| minor ") &&
			!strings.HasPrefix(line, "| 1.") {
			rows++
		}
	}
	if rows != len(c.entries) {
		t.Errorf("%d table rows in the document, the table has %d templates", rows, len(c.entries))
	}
}

var (
	linkRE   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	anchorRE = regexp.MustCompile(`<a id="([^"]+)"></a>`)
)

// The links of kubelet-messages.md stay inside docs/ and land: an in-page
// anchor exists, a file exists beside it. conditions.md's links to it land
// on one of its anchors.
func TestMessagesDocLinksResolve(t *testing.T) {
	read := func(doc string) string {
		b, err := os.ReadFile(filepath.Join("../../docs", doc))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	md := read("kubelet-messages.md")
	anchors := map[string]bool{}
	for _, m := range anchorRE.FindAllStringSubmatch(md, -1) {
		anchors[m[1]] = true
	}
	for _, m := range linkRE.FindAllStringSubmatch(md, -1) {
		file, frag, _ := strings.Cut(m[1], "#")
		switch {
		case file == "" && !anchors[frag]:
			t.Errorf("kubelet-messages.md: link %q: no such anchor", m[1])
		case file == "":
		case strings.Contains(file, "..") || filepath.IsAbs(file) || strings.Contains(file, ":"):
			t.Errorf("kubelet-messages.md: link %q leaves docs/", m[1])
		default:
			if _, err := os.Stat(filepath.Join("../../docs", file)); err != nil {
				t.Errorf("kubelet-messages.md: link %q: %v", m[1], err)
			}
		}
	}
	n := 0
	for _, m := range linkRE.FindAllStringSubmatch(read("conditions.md"), -1) {
		if frag, ok := strings.CutPrefix(m[1], "kubelet-messages.md#"); ok {
			n++
			if !anchors[frag] {
				t.Errorf("conditions.md: link %q: no anchor %q in kubelet-messages.md", m[1], frag)
			}
		}
	}
	if n < len(rules.Rules()) {
		t.Errorf("conditions.md links kubelet-messages.md %d times, want one per rule (%d)", n, len(rules.Rules()))
	}
}

// A rule that decides no message of the table reads text the sweep does not
// have (the document says so): its pattern matches none of the table's lines.
func TestRulesWithoutMessagesMatchNoTemplate(t *testing.T) {
	c := newReference(loadTable(t))
	decides := map[string]bool{}
	for _, e := range c.entries {
		if e.rule != nil {
			decides[e.rule.ID] = true
		}
	}
	lines := make([]string, len(c.entries))
	for i, e := range c.entries {
		lines[i] = e.t.Line()
	}
	for _, r := range c.rules {
		if decides[r.ID] || r.NoHeader {
			continue
		}
		re := regexp.MustCompile(r.Pattern)
		for i, e := range c.entries {
			if re.MatchString(lines[i]) {
				t.Errorf("rule %s decides no template, yet matches %q (decided by %v)", r.ID, e.t.Text, e.v.Rule)
			}
		}
	}
}

func TestGuardOfFindsTheGuardThatMatches(t *testing.T) {
	c := newReference(nil)
	gs := c.guards()
	for _, tc := range []struct {
		name string
		t    Template
		want string
	}{
		{"pod sync error", Template{Severity: 'E', Kind: KindStructured, Text: "Error syncing pod, skipping", Keys: []string{"pod"}}, "pod-sync-error"},
		{"warning no guard reads", Template{Severity: 'W', Kind: KindPrintf, Text: "something else: %v"}, ""},
		{"info line, guard not for info", Template{Severity: 'I', Kind: KindPrintf, Text: "Error syncing pod %q"}, ""},
		{"info line, info guard", Template{Severity: 'I', Kind: KindPrintf, Text: "standalone mode, no API client"}, "standalone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if r := guardOf(tc.t, gs); r != nil {
				got = r.ID
			}
			if got != tc.want {
				t.Errorf("guardOf(%q) = %q, want %q", tc.t.Text, got, tc.want)
			}
		})
	}
}

func TestVersionsAreWrittenAsRuns(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"1.18", "1.22", "1.26", "1.30", "1.34", "1.37"}, "1.18–1.37"},
		{[]string{"1.18"}, "1.18"},
		{[]string{"1.18", "1.26", "1.30"}, "1.18, 1.26–1.30"},
		{[]string{"1.22", "1.37"}, "1.22, 1.37"},
		{nil, ""},
	} {
		if got := versions(c.in); got != c.want {
			t.Errorf("versions(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMessageCellsStayInTheirCell(t *testing.T) {
	for _, c := range []struct {
		t    Template
		want string
	}{
		{Template{Kind: KindPrintf, Text: "a | b"}, "`a \\| b`"},
		{Template{Kind: KindPrintf, Text: "use `x`"}, "`` use `x` ``"},
		{Template{Kind: KindPrintf, Text: "two\nlines"}, "`two\\nlines`"},
		{Template{Kind: KindStructured, Text: `say "hi"`, Keys: []string{"pod", "err"}}, "`\"say \\\"hi\\\"\"`<br>keys: pod, err"},
	} {
		if got := message(c.t); got != c.want {
			t.Errorf("message(%q) = %q, want %q", c.t.Text, got, c.want)
		}
	}
}
