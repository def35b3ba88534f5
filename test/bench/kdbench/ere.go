package main

import (
	"fmt"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// toERE converts a Go (RE2) regular expression into a POSIX extended
// regular expression for `LC_ALL=C grep -E`, with the same answer to "does
// this line match" (not the same submatches: non-greedy becomes greedy,
// which changes what is matched but never whether).
//
// It works on the parsed syntax tree rather than on the text, so Perl-only
// spellings (\d, \s, (?:...), (?i), \Q..\E, [[:^alpha:]], x{2,}?) come out
// as plain ERE. gnuExt is true when the result needs a GNU grep extension
// (\b, \B). What cannot be expressed bytewise in the C locale (a class with
// non-ASCII members that is not the complement of an ASCII set,
// case-folding of non-ASCII letters) is an error: the caller skips that
// rule and says so.
func toERE(re string) (ere string, gnuExt bool, err error) {
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return "", false, fmt.Errorf("parse %q: %w", re, err)
	}
	c := ereConv{}
	if err := c.emit(t, &c.b); err != nil {
		return "", false, err
	}
	return c.b.String(), c.gnu, nil
}

type ereConv struct {
	b   strings.Builder
	gnu bool
}

// ereAtomic reports whether the ERE for t can take a repetition operator
// without parentheses.
func ereAtomic(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpCapture:
		return true
	case syntax.OpLiteral:
		if len(t.Rune) != 1 {
			return false
		}
		return t.Rune[0] < utf8.RuneSelf
	}
	return false
}

func (c *ereConv) emit(t *syntax.Regexp, b *strings.Builder) error {
	switch t.Op {
	case syntax.OpNoMatch:
		return fmt.Errorf("pattern can never match")
	case syntax.OpEmptyMatch:
		b.WriteString("()")
	case syntax.OpLiteral:
		for _, r := range t.Rune {
			if err := c.literal(r, t.Flags&syntax.FoldCase != 0, b); err != nil {
				return err
			}
		}
	case syntax.OpCharClass:
		return c.class(t.Rune, b)
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		// grep sees one line at a time: "any but \n" == "any".
		b.WriteByte('.')
	case syntax.OpBeginLine, syntax.OpBeginText:
		b.WriteByte('^')
	case syntax.OpEndLine, syntax.OpEndText:
		b.WriteByte('$')
	case syntax.OpWordBoundary:
		c.gnu = true
		b.WriteString(`\b`)
	case syntax.OpNoWordBoundary:
		c.gnu = true
		b.WriteString(`\B`)
	case syntax.OpCapture:
		b.WriteByte('(')
		if err := c.emit(t.Sub[0], b); err != nil {
			return err
		}
		b.WriteByte(')')
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		return c.repeat(t, b)
	case syntax.OpConcat:
		for _, s := range t.Sub {
			if err := c.emitGrouped(s, s.Op == syntax.OpAlternate, b); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		for i, s := range t.Sub {
			if i > 0 {
				b.WriteByte('|')
			}
			if err := c.emit(s, b); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unsupported operator %v", t.Op)
	}
	return nil
}

// emitGrouped writes t, in parentheses when group is true.
func (c *ereConv) emitGrouped(t *syntax.Regexp, group bool, b *strings.Builder) error {
	if !group {
		return c.emit(t, b)
	}
	b.WriteByte('(')
	if err := c.emit(t, b); err != nil {
		return err
	}
	b.WriteByte(')')
	return nil
}

// repeat writes a repetition (*, +, ?, {m,n}) of t's operand, grouped
// unless the operand is atomic.
func (c *ereConv) repeat(t *syntax.Regexp, b *strings.Builder) error {
	sub := t.Sub[0]
	if err := c.emitGrouped(sub, !ereAtomic(sub), b); err != nil {
		return err
	}
	switch t.Op {
	case syntax.OpStar:
		b.WriteByte('*')
	case syntax.OpPlus:
		b.WriteByte('+')
	case syntax.OpQuest:
		b.WriteByte('?')
	default:
		b.WriteByte('{')
		b.WriteString(strconv.Itoa(t.Min))
		if t.Max != t.Min {
			b.WriteByte(',')
			if t.Max >= 0 {
				b.WriteString(strconv.Itoa(t.Max))
			}
		}
		b.WriteByte('}')
	}
	return nil
}

// ereSpecial are the characters an ERE gives a meaning outside brackets.
const ereSpecial = `\.[]()*+?{}|^$`

func (c *ereConv) literal(r rune, fold bool, b *strings.Builder) error {
	if r == '\n' {
		return fmt.Errorf("newline in a line pattern")
	}
	if fold {
		// ASCII case variants only: RE2 also folds k to U+212A (Kelvin)
		// and s to U+017F (long s), which a bytewise grep cannot express;
		// kubelet lines do not contain them.
		set := []rune{r}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				set = append(set, f)
			}
		}
		if len(set) > 1 {
			if r >= utf8.RuneSelf {
				return fmt.Errorf("case-insensitive non-ASCII letter %q", r)
			}
			sort.Slice(set, func(i, j int) bool { return set[i] < set[j] })
			ranges := make([]rune, 0, 2*len(set))
			for _, a := range set {
				ranges = append(ranges, a, a)
			}
			return c.class(ranges, b)
		}
		if r >= utf8.RuneSelf && unicode.SimpleFold(r) != r {
			return fmt.Errorf("case-insensitive non-ASCII letter %q", r)
		}
	}
	if r < utf8.RuneSelf && strings.ContainsRune(ereSpecial, r) {
		b.WriteByte('\\')
	}
	// A non-ASCII rune is several bytes in the C locale: a repetition
	// applies to all of them because ereAtomic puts it in a group.
	b.WriteRune(r)
	return nil
}

// class writes a bracket expression for the RE2 class given as sorted
// [lo, hi] pairs. In the C locale a bracket matches one byte, so a class
// must either be all ASCII or be the complement of an ASCII set (then
// [^set] matches every other byte, each byte of a UTF-8 sequence included,
// which gives the same line-level answer).
func (c *ereConv) class(ranges []rune, b *strings.Builder) error {
	set, negate, err := byteSet(dropASCIIFolds(ranges))
	if err != nil {
		return err
	}
	if len(set) == 0 {
		if negate {
			b.WriteByte('.')
			return nil
		}
		return fmt.Errorf("empty character class")
	}
	if !negate && len(set) == 1 {
		return c.literal(rune(set[0]), false, b)
	}
	writeBracket(set, negate, b)
	return nil
}

// byteSet turns a class into the bytes a bracket lists (newline left out)
// and whether the bracket negates them: an all-ASCII class is listed as
// is, the complement of an ASCII set as [^set]; any other class with
// non-ASCII members is an error.
func byteSet(ranges []rune) (set []byte, negate bool, err error) {
	var in [128]bool
	nonASCII := false
	for i := 0; i < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if hi >= utf8.RuneSelf {
			nonASCII = true
		}
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			in[r] = true
		}
	}
	if nonASCII {
		// Acceptable only as "everything except some ASCII": every rune
		// from 0x80 up to the maximum must be in the class.
		covered := rune(utf8.RuneSelf)
		for i := 0; i < len(ranges); i += 2 {
			lo, hi := ranges[i], ranges[i+1]
			if hi < utf8.RuneSelf {
				continue
			}
			if lo > covered {
				return nil, false, fmt.Errorf("character class with non-ASCII members")
			}
			covered = max(covered, hi+1)
		}
		if covered <= unicode.MaxRune {
			return nil, false, fmt.Errorf("character class with non-ASCII members")
		}
		negate = true
		for i := range in {
			in[i] = !in[i]
		}
	}
	for i, ok := range in {
		if ok && i != '\n' {
			set = append(set, byte(i))
		}
	}
	return set, negate, nil
}

// writeBracket writes a bracket expression for set (sorted bytes, at least
// two unless negate) following the POSIX bracket rules: ']' first, '-'
// last, '^' not first, and a backslash is an ordinary character.
func writeBracket(set []byte, negate bool, b *strings.Builder) {
	var hasBracket, hasDash, hasCaret bool
	var body []byte
	for i := 0; i < len(set); i++ {
		ch := set[i]
		switch ch {
		case ']':
			hasBracket = true
			continue
		case '-':
			hasDash = true
			continue
		case '^':
			hasCaret = true
			continue
		}
		// Runs of letters or digits become ranges; other runs are listed,
		// which keeps the output readable and free of odd range ends.
		j := i
		for j+1 < len(set) && set[j+1] == set[j]+1 && sameKind(set[j+1], ch) {
			j++
		}
		if j-i >= 2 {
			body = append(body, ch, '-', set[j])
			i = j
			continue
		}
		body = append(body, ch)
	}
	b.WriteByte('[')
	if negate {
		b.WriteByte('^')
	}
	if hasBracket {
		b.WriteByte(']')
	}
	b.Write(body)
	if !negate && !hasBracket && len(body) == 0 {
		// Only '^' and '-' (a single character was written as a literal
		// above): "[^-]" would be a negation, "[-^]" is the set.
		b.WriteString("-^]")
		return
	}
	if hasCaret {
		b.WriteByte('^')
	}
	if hasDash {
		b.WriteByte('-')
	}
	b.WriteByte(']')
}

// asciiFolds are the non-ASCII runes RE2's case folding adds to ASCII
// letters: K (Kelvin) for k and ſ (long s) for s.
var asciiFolds = []rune{0x17F, 0x212A}

// dropASCIIFolds removes asciiFolds from a class, so that (?i)[a-z] stays
// an ASCII bracket (see literal).
func dropASCIIFolds(ranges []rune) []rune {
	out := make([]rune, 0, len(ranges)+4)
	for i := 0; i < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for _, f := range asciiFolds {
			if f < lo || f > hi {
				continue
			}
			if lo == hi {
				lo = hi + 1 // the whole range was the fold
				break
			}
			if f > lo && f < hi {
				// A wider non-ASCII range: the class has non-ASCII
				// members anyway, class() decides.
				continue
			}
			if f == lo {
				lo++
			} else {
				hi--
			}
		}
		if lo <= hi {
			out = append(out, lo, hi)
		}
	}
	return out
}

func sameKind(a, b byte) bool {
	kind := func(c byte) int {
		switch {
		case c >= 'a' && c <= 'z':
			return 1
		case c >= 'A' && c <= 'Z':
			return 2
		case c >= '0' && c <= '9':
			return 3
		}
		return 0
	}
	return kind(a) != 0 && kind(a) == kind(b)
}
