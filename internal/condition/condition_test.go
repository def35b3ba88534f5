package condition

import (
	"regexp"
	"slices"
	"testing"
)

func TestTableRowsAreComplete(t *testing.T) {
	cs := All()
	if len(cs) != 11 {
		t.Fatalf("%d conditions, want 11", len(cs))
	}
	pascal := regexp.MustCompile(`^[A-Z][A-Za-z]+$`)
	types := map[string]bool{}
	cats := map[Category]bool{}
	for _, c := range cs {
		if types[c.Type] || cats[c.Category] {
			t.Errorf("%s: type or category %s used twice", c.Type, c.Category)
		}
		types[c.Type], cats[c.Category] = true, true
		names := []string{c.Type, c.ProblemReason, c.HealthyReason}
		if c.Alerts {
			names = append(names, c.EventReason)
		}
		for _, s := range names {
			if !pascal.MatchString(s) {
				t.Errorf("%s: %q is not PascalCase", c.Type, s)
			}
		}
		if c.HealthyMessage == "" || len(c.HealthyMessage) > 80 || c.Description == "" || c.Hint == "" {
			t.Errorf("%s: healthy message (<= 80 bytes), description and hint required", c.Type)
		}
		switch c.Counting {
		case Windowed:
			if c.Threshold < 1 || !slices.Contains(LineCategories(), c.Category) {
				t.Errorf("%s: windowed needs a threshold >= 1 and a line category", c.Type)
			}
		case Lifecycle:
			if c.Category != Startup {
				t.Errorf("%s: lifecycle conditions are the startup category", c.Type)
			}
		default:
			t.Errorf("%s: no counting", c.Type)
		}
		got, ok := ByType(c.Type)
		if !ok || got.Type != c.Type {
			t.Errorf("ByType(%s) = %+v %v", c.Type, got, ok)
		}
		if f, ok := For(c.Category); !ok || f.Type != c.Type {
			t.Errorf("For(%s) = %+v %v", c.Category, f, ok)
		}
	}
	for _, cat := range LineCategories() {
		if !cats[cat] {
			t.Errorf("line category %s has no condition", cat)
		}
	}
	if _, ok := ByType("NoSuchCondition"); ok {
		t.Error("unknown type found")
	}
	cs[0].Type = "Mutated"
	if All()[0].Type == "Mutated" {
		t.Error("All must return a copy")
	}
}

// A cycle in the causal order would suppress a cause by its own symptom.
// Two conditions may explain each other (the evaluation then takes the one
// whose episode began first as the cause); a longer cycle is a mistake.
func TestCausalOrderHasNoCycleLongerThanAPair(t *testing.T) {
	var visit func(t0 string, seen []string)
	visit = func(t0 string, seen []string) {
		if i := slices.Index(seen, t0); i >= 0 {
			if len(seen)-i > 2 {
				t.Fatalf("cycle: %v -> %s", seen[i:], t0)
			}
			return
		}
		c, ok := ByType(t0)
		if !ok {
			t.Fatalf("%v names unknown condition %s", seen, t0)
		}
		for _, cause := range c.CausedBy {
			visit(cause, append(slices.Clone(seen), t0))
		}
	}
	for _, c := range All() {
		visit(c.Type, nil)
	}
}

func TestMarkdownShowsThresholdsAlertingAndCausalOrder(t *testing.T) {
	md := Markdown()
	for _, want := range []string{"3+ in the window", "1 in the window", "hold until the next start",
		"yes (KubeletBootstrapFailed)", "| KubeletRegistrationProblem | KubeletCATrustProblem,", "runbooks/KubeletDNSProblem.md"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(md) {
			t.Errorf("conditions reference lacks %q", want)
		}
	}
}
