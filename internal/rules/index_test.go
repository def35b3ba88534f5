package rules

import (
	"math/rand"
	"strings"
	"testing"
)

// naive is the candidate set the index must produce: every rule of rs
// whose literal is in s.
func naive(rs []*compiled, s string) ruleSet {
	var set ruleSet
	for _, r := range rs {
		if strings.Contains(s, r.Literal) {
			set.add(r.index)
		}
	}
	return set
}

func indexedRules() []*compiled {
	var out []*compiled
	for _, r := range classifier.rules {
		if !r.NoHeader && len(r.Literal) >= indexMin {
			out = append(out, r)
		}
	}
	return out
}

func infoRules() []*compiled {
	var out []*compiled
	for _, r := range classifier.rules {
		if r.Kind != KindCause && r.Info {
			out = append(out, r)
		}
	}
	return out
}

// The index finds exactly the literals strings.Contains finds: in texts
// made of literals, their fragments and noise, at every offset.
func TestLitIndexMatchesNaiveSearch(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var pieces []string
	for _, r := range classifier.rules {
		l := r.Literal
		pieces = append(pieces, l, l[:len(l)/2], l[len(l)/2:], l[1:])
	}
	pieces = append(pieces, " ", ": ", `"`, "x", "ab", "\x00", "é")
	for _, c := range []struct {
		name string
		idx  *litIndex
		rs   []*compiled
	}{{"all", classifier.all, indexedRules()}, {"info", classifier.info, infoRules()}} {
		for n := 0; n < 20000; n++ {
			var b strings.Builder
			for k := rng.Intn(8); k >= 0; k-- {
				b.WriteString(pieces[rng.Intn(len(pieces))])
			}
			s := b.String()
			var got ruleSet
			c.idx.scan(s, &got)
			if want := naive(c.rs, s); got != want {
				t.Fatalf("%s index on %q: got %v want %v", c.name, s, got, want)
			}
		}
	}
}

func TestRuleSetNext(t *testing.T) {
	var s ruleSet
	for _, i := range []int{0, 5, 63, 64, 200, maxRules - 1} {
		s.add(i)
	}
	var got []int
	for i := s.next(0); i >= 0; i = s.next(i + 1) {
		got = append(got, i)
	}
	if len(got) != 6 || got[0] != 0 || got[3] != 64 || got[5] != maxRules-1 {
		t.Errorf("got %v", got)
	}
	if s.next(maxRules) != -1 {
		t.Error("next past the end")
	}
}
