package rules

import (
	"math/bits"
	"strings"
)

// The literal index finds, in one pass over a text, every rule whose
// literal occurs in it. Checking ~190 literals one strings.Index at a time
// costs microseconds per line, and the bulk of a journal is benign info
// lines that contain none of them. The pass is Wu-Manber's: a window as
// long as the shortest literal slides over the text, and the three bytes
// at its end say how far it may jump (most triples occur in no literal, so
// info lines, whose literals are at least 10 bytes, are read a few bytes
// in ten); only three bytes that end some literal's first window bytes
// lead to comparing those literals.

// maxRules bounds the registry so that a candidate set fits a fixed-size
// bitset on the stack (no allocation per line).
const maxRules = 320

// ruleSet is a set of rule indices (positions in the registry).
type ruleSet [maxRules / 64]uint64

func (s *ruleSet) add(i int)      { s[i>>6] |= 1 << (uint(i) & 63) }
func (s *ruleSet) has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }

func (s *ruleSet) or(o *ruleSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

func (s *ruleSet) and(o *ruleSet) {
	for i := range s {
		s[i] &= o[i]
	}
}

// next returns the smallest index >= from in s, or -1.
func (s *ruleSet) next(from int) int {
	for w := from >> 6; w < len(s); w++ {
		x := s[w]
		if w == from>>6 {
			x &= ^uint64(0) << (uint(from) & 63)
		}
		if x != 0 {
			return w<<6 + bits.TrailingZeros64(x)
		}
	}
	return -1
}

type litEntry struct {
	rule uint16
	off  uint8 // where the window starts in lit
	lit  string
}

// The tables have a fixed size so that indexing needs no bounds checks in
// the scan loop; 4096 hashed byte triples keep both tables in L1.
const (
	tableBits = 12
	tableSize = 1 << tableBits
)

// litIndex maps literals to the rules that require them.
type litIndex struct {
	m       int                   // window length: the shortest literal's length (<= 255)
	shift   [tableSize]uint8      // how far the window may move, by the three bytes ending it
	starts  [tableSize + 1]uint16 // literals whose window ends with triple b: entries[starts[b]:starts[b+1]]
	entries []litEntry
}

func tripleHash(a, b, c byte) uint32 {
	return ((uint32(a)<<16 | uint32(b)<<8 | uint32(c)) * 0x9E3779B1) >> (32 - tableBits)
}

// keyed is one literal to index and the rule it stands for.
type keyed struct {
	rule int
	lit  string
}

func keysOf(rs []*compiled) []keyed {
	out := make([]keyed, len(rs))
	for i, r := range rs {
		out[i] = keyed{r.index, r.Literal}
	}
	return out
}

// commonText stands for ordinary kubelet log text when windows are
// chosen: words every line has, benign or not.
const commonText = "failed to unable to error getting the server certificate container " +
	"connection network runtime kubelet node pod status for with from in is not an of and"

// tripleCounts counts byte triples by their hash: collisions only blur the
// scores below a little, and arrays keep building the index (done at every
// plugin start) in the tens of microseconds where maps took milliseconds.
type tripleCounts [tableSize]int

// triples counts how often each byte triple occurs in the literals and in
// commonText: a triple many literals share, or every line has, is a poor
// place to end a window.
func triples(ks []keyed) *tripleCounts {
	f := new(tripleCounts)
	add := func(s string, w int) {
		for j := 2; j < len(s); j++ {
			f[tripleHash(s[j-2], s[j-1], s[j])] += w
		}
	}
	for _, k := range ks {
		add(strings.ToLower(k.lit), 1)
	}
	add(commonText, 4)
	return f
}

// window picks where in lit the m-byte window goes: where its triples,
// and most of all the one ending it (it decides when literals are
// compared), are the least common. "ailed to update node lease" is better
// keyed on "node lease" than on "ailed to u", which every failure has.
func window(lit string, m int, freq, ends *tripleCounts) int {
	best, bestScore := 0, 1<<30
	low := strings.ToLower(lit)
	for o := 0; o+m <= len(lit) && o <= 255; o++ {
		score := 0
		for j := o + 2; j < o+m; j++ {
			score += freq[tripleHash(low[j-2], low[j-1], low[j])]
		}
		score += 8*freq[tripleHash(low[o+m-3], low[o+m-2], low[o+m-1])] + 16*ends[tripleHash(lit[o+m-3], lit[o+m-2], lit[o+m-1])]
		if score <= bestScore {
			best, bestScore = o, score
		}
	}
	return best
}

// newLitIndex indexes the literals of ks (at least three bytes each).
func newLitIndex(ks []keyed) *litIndex {
	x := &litIndex{m: 255}
	for _, k := range ks {
		x.m = min(x.m, len(k.lit))
	}
	if len(ks) == 0 {
		x.m = 3
	}
	for i := range x.shift {
		x.shift[i] = uint8(x.m - 2)
	}
	offs := make([]int, len(ks))
	freq, ends := triples(ks), new(tripleCounts)
	for i, k := range ks {
		offs[i] = window(k.lit, x.m, freq, ends)
		o := offs[i] + x.m
		ends[tripleHash(k.lit[o-3], k.lit[o-2], k.lit[o-1])]++
		w := k.lit[offs[i] : offs[i]+x.m]
		for j := 2; j < x.m; j++ {
			h := tripleHash(w[j-2], w[j-1], w[j])
			x.shift[h] = min(x.shift[h], uint8(x.m-1-j))
		}
		x.starts[tripleHash(w[x.m-3], w[x.m-2], w[x.m-1])+1]++
	}
	for b := 1; b <= tableSize; b++ {
		x.starts[b] += x.starts[b-1]
	}
	x.entries = make([]litEntry, len(ks))
	var fill [tableSize]uint16
	copy(fill[:], x.starts[:tableSize])
	for i, k := range ks {
		w := k.lit[offs[i] : offs[i]+x.m]
		b := tripleHash(w[x.m-3], w[x.m-2], w[x.m-1])
		x.entries[fill[b]] = litEntry{rule: uint16(k.rule), off: uint8(offs[i]), lit: k.lit}
		fill[b]++
	}
	return x
}

// scan adds to set every indexed rule whose literal occurs in s.
func (x *litIndex) scan(s string, set *ruleSet) {
	m := x.m
	for i := m - 1; i < len(s); {
		h := tripleHash(s[i-2], s[i-1], s[i])
		if sh := x.shift[h]; sh > 0 {
			i += int(sh)
			continue
		}
		for e := x.starts[h]; e < x.starts[h+1]; e++ {
			en := &x.entries[e]
			if start := i - m + 1 - int(en.off); start >= 0 && strings.HasPrefix(s[start:], en.lit) {
				set.add(int(en.rule))
			}
		}
		i++
	}
}

// any reports whether some indexed literal occurs in s. It is scan's twin
// with an early return, kept separate on purpose: it rejects the bulk of
// benign lines, and a callback in this loop would cost every one of them.
func (x *litIndex) any(s string) bool {
	m := x.m
	for i := m - 1; i < len(s); {
		h := tripleHash(s[i-2], s[i-1], s[i])
		if sh := x.shift[h]; sh > 0 {
			i += int(sh)
			continue
		}
		for e := x.starts[h]; e < x.starts[h+1]; e++ {
			en := &x.entries[e]
			if start := i - m + 1 - int(en.off); start >= 0 && strings.HasPrefix(s[start:], en.lit) {
				return true
			}
		}
		i++
	}
	return false
}

// plainKey returns the longest part of lit without quotes or backslashes:
// the part that appears as is in the raw line, whatever quoting a wrapper
// (klog's structured values, k0s, JSON) put around the text.
func plainKey(lit string) string {
	best := ""
	for _, part := range strings.FieldsFunc(lit, func(r rune) bool { return r == '"' || r == '\\' }) {
		if len(part) > len(best) {
			best = part
		}
	}
	return best
}
