package rules

import (
	"os"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/internal/klog"
)

func TestAnchoredKeys(t *testing.T) {
	for _, c := range []struct {
		key, s string
		want   bool
	}{
		{": EOF", `Get "https://x": EOF`, true},
		{": EOF", `EOF at start`, false},
		{": EOF", `a: EOX: EOF`, true},
		{"Started ", "Started kubelet.", true},
		{"Started ", "ContainerStarted", false},
		{"Started ", "Start", false},
	} {
		if got := anchor(c.key).in(c.s); got != c.want {
			t.Errorf("%q in %q: %v", c.key, c.s, got)
		}
	}
}

func TestRegistryCompiles(t *testing.T) {
	if _, err := compile(rules); err != nil {
		t.Fatal(err)
	}
	broken := []Rule{{ID: "broken", Kind: KindMessage, Literal: "x", Pattern: "x("}}
	if _, err := compile(broken); err == nil || !strings.Contains(err.Error(), `compile rule "broken"`) {
		t.Errorf("broken registry: err %v", err)
	}
}

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func inVocabulary(c Category) bool {
	for _, x := range Categories() {
		if x == c {
			return true
		}
	}
	return false
}

func TestRuleFields(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if !kebab.MatchString(r.ID) || seen[r.ID] {
			t.Errorf("%q: id must be unique kebab-case", r.ID)
		}
		seen[r.ID] = true
		if r.Label == "" || r.Hint == "" {
			t.Errorf("%s: needs a label and a hint", r.ID)
		}
		if len(r.Label) > 40 {
			t.Errorf("%s: label %q too long for an 80-byte condition message", r.ID, r.Label)
		}
		if len(r.Literal) < 4 || len(plainKey(r.Literal)) < 4 {
			t.Errorf("%s: literal %q (quote-free part %q) too short to prefilter", r.ID, r.Literal, plainKey(r.Literal))
		}
		if r.Info && len(r.Literal) < indexMin {
			t.Errorf("%s: an info rule's literal needs %d bytes, or the info index reads every byte", r.ID, indexMin)
		}
		re := regexp.MustCompile(r.Pattern)
		if p, _ := re.LiteralPrefix(); p == "" {
			t.Errorf("%s: pattern %q must start with a literal (a leading group is ~50x slower)", r.ID, r.Pattern)
		}
		if r.Capture > re.NumSubexp() || r.Capture < CaptureBefore {
			t.Errorf("%s: capture %d out of range", r.ID, r.Capture)
		}
		switch r.Kind {
		case KindMessage:
			if !inVocabulary(r.Category) {
				t.Errorf("%s: category %q not in the vocabulary", r.ID, r.Category)
			}
		case KindCause:
			if !inVocabulary(r.Category) && r.Category != None {
				t.Errorf("%s: category %q not in the vocabulary", r.ID, r.Category)
			}
			if r.Group == 0 || r.Group&(r.Group-1) != 0 {
				t.Errorf("%s: a cause rule belongs to exactly one group", r.ID)
			}
		case KindGuard:
			if r.Category != None {
				t.Errorf("%s: a guard's category is none", r.ID)
			}
		case KindRecovery:
			if len(r.Recovers) == 0 || !r.Info {
				t.Errorf("%s: a recovery marker recovers something and is an info line", r.ID)
			}
			for _, c := range r.Recovers {
				if !inVocabulary(c) {
					t.Errorf("%s: recovers %q", r.ID, c)
				}
			}
		case KindLifecycle:
			if r.Lifecycle == LifecycleNone {
				t.Errorf("%s: a lifecycle marker needs its event", r.ID)
			}
		default:
			t.Errorf("%s: kind %d", r.ID, r.Kind)
		}
		if r.AuthAs != "" && !inVocabulary(r.AuthAs) {
			t.Errorf("%s: AuthAs %q", r.ID, r.AuthAs)
		}
	}
}

// requiredLiterals returns the runs of literal text that every match of a
// regexp contains: the literal nodes of its top-level concatenation, with
// capture groups spliced in (they do not break a run).
func requiredLiterals(re *syntax.Regexp) []string {
	var parts []*syntax.Regexp
	var flatten func(*syntax.Regexp)
	flatten = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpCapture:
			flatten(r.Sub[0])
		case syntax.OpConcat:
			for _, s := range r.Sub {
				flatten(s)
			}
		default:
			parts = append(parts, r)
		}
	}
	flatten(re.Simplify())
	var out []string
	var run strings.Builder
	for _, p := range parts {
		if p.Op == syntax.OpLiteral && p.Flags&syntax.FoldCase == 0 {
			run.WriteString(string(p.Rune))
			continue
		}
		if run.Len() > 0 {
			out = append(out, run.String())
			run.Reset()
		}
	}
	if run.Len() > 0 {
		out = append(out, run.String())
	}
	return out
}

// The prefilter is sound: each rule's literal is a substring of a literal
// run that every match of its pattern contains.
func TestRuleLiteralsAreRequired(t *testing.T) {
	for _, r := range Rules() {
		re, err := syntax.Parse(r.Pattern, syntax.Perl)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		ok := false
		for _, lit := range requiredLiterals(re) {
			if strings.Contains(lit, r.Literal) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: literal %q is not required by %q (required: %q)", r.ID, r.Literal, r.Pattern, requiredLiterals(re))
		}
	}
}

// The decisive rule's literal is in the parsed text of every test line it
// decided: checked on the corpus, as a second proof of the prefilter.
func TestLiteralInEveryMatchedLine(t *testing.T) {
	byID := map[string]Rule{}
	for _, r := range Rules() {
		byID[r.ID] = r
	}
	for _, line := range allTestLines() {
		v := classifier.Classify(line)
		if v.Rule == "" {
			continue
		}
		r, ok := byID[v.Rule]
		if !ok {
			t.Errorf("verdict rule %q not in the registry", v.Rule)
			continue
		}
		l := klog.Parse(line)
		text := l.Msg + "\x00" + l.Err
		if m, ok := l.Value("message"); ok {
			text += "\x00" + m
		}
		for _, kv := range l.KVs {
			text += "\x00" + kv.Value
		}
		if !strings.Contains(text, r.Literal) {
			t.Errorf("%s: literal %q not in %s", r.ID, r.Literal, line)
		}
	}
}

// Every rule that can decide a verdict is exercised by the corpus (guards
// and benign causes decide None and are exercised by the benign lines).
func TestEveryRuleIsExercised(t *testing.T) {
	hit := map[string]bool{}
	for _, line := range allTestLines() {
		hit[classifier.Classify(line).Rule] = true
	}
	for _, r := range Rules() {
		if r.Kind == KindGuard || (r.Kind == KindCause && r.Category == None) {
			continue
		}
		if !hit[r.ID] {
			t.Errorf("rule %s has no test line", r.ID)
		}
	}
}

func TestEveryCategoryHasCondition(t *testing.T) {
	for _, c := range Categories() {
		cond, ok := ConditionFor(c)
		if !ok || cond.Category != c {
			t.Errorf("category %s has no condition", c)
		}
	}
	if _, ok := ConditionFor(None); ok {
		t.Error("none must have no condition")
	}
}

func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/conditions.md")
	if err != nil {
		t.Fatalf("%v (run make generate)", err)
	}
	if string(got) != Markdown() {
		t.Error("docs/conditions.md differs from the registry: run make generate")
	}
}

func TestMarkdownListsEveryRuleAndCondition(t *testing.T) {
	md := Markdown()
	for _, r := range Rules() {
		// Each rule's row links to its entry in kubelet-messages.md.
		if !strings.Contains(md, "| ["+r.ID+"](kubelet-messages.md#rule-"+r.ID+") |") {
			t.Errorf("rule %s missing or not linked to kubelet-messages.md#rule-%s", r.ID, r.ID)
		}
	}
	for _, c := range Conditions() {
		if !strings.Contains(md, "| "+c.Type+" |") {
			t.Errorf("condition %s missing", c.Type)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindMessage: "message", KindCause: "cause", KindRecovery: "recovery",
		KindLifecycle: "lifecycle", KindGuard: "guard", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("%d: %s", k, k.String())
		}
	}
}

// TestRegistryTextsHoldNoSecret: the labels and hints go into messages as
// they are (compile does not redact them on every run), so none may hold
// anything the redactor would remove.
func TestRegistryTextsHoldNoSecret(t *testing.T) {
	for _, r := range rules {
		for _, s := range []string{r.Label, r.Hint, "serving " + r.Label, "client " + r.Label} {
			if got := Redact(s); got != s {
				t.Errorf("rule %s: %q would be redacted to %q", r.ID, s, got)
			}
		}
	}
}
