// Package printable makes text from log lines safe to print anywhere: a
// terminal, the NPD message that becomes a Node condition and an Event
// (`kubectl describe node` prints it raw), JSON, the state file. A kubelet
// line is whatever the process wrote: ESC sequences that recolour or retitle
// a terminal, BEL, NUL, C1 controls, bidi overrides, invalid UTF-8.
package printable

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s with every rune that is not printable (unicode.IsPrint:
// C0 controls including TAB, LF, CR, ESC, BEL and NUL; DEL; C1 controls;
// format characters such as bidi overrides and zero-width joiners; line and
// paragraph separators; non-ASCII spaces) written as a visible escape:
// \t \n \r, \xNN for other ASCII controls and for each byte of invalid
// UTF-8, \uNNNN or \UNNNNNNNN for the rest. Backslashes are left alone: the
// output is for reading, not for decoding, and klog's escaped quotes stay
// readable.
//
// The result is valid UTF-8 and printable; printable input comes back
// unchanged, without allocating.
func String(s string) string {
	i := firstBad(s)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isPrint(r, n) {
			b.WriteString(s[i : i+n])
		} else {
			b.WriteString(escape(r, s[i]))
		}
		i += n
	}
	return b.String()
}

// StringMax is String cut to at most max bytes, at a rune and escape
// boundary (an escape is never cut in two).
func StringMax(s string, max int) string {
	if max <= 0 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+n]
		if !isPrint(r, n) {
			piece = escape(r, s[i])
		}
		if b.Len()+len(piece) > max {
			break
		}
		b.WriteString(piece)
		i += n
	}
	return b.String()
}

// firstBad returns the index of the first byte that may need escaping: a
// quick scan over printable ASCII, the usual case.
func firstBad(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			// Non-ASCII may still be printable: check rune by rune.
			for j := i; j < len(s); {
				r, n := utf8.DecodeRuneInString(s[j:])
				if !isPrint(r, n) {
					return j
				}
				j += n
			}
			return len(s)
		}
	}
	return len(s)
}

// isPrint reports whether the rune r, n bytes long, can be printed as is:
// utf8.RuneError of length 1 is an invalid byte, not U+FFFD.
func isPrint(r rune, n int) bool {
	if r == utf8.RuneError && n == 1 {
		return false
	}
	return unicode.IsPrint(r)
}

func escape(r rune, b byte) string {
	switch {
	case r == utf8.RuneError:
		return `\x` + hex2(b)
	case r == '\t':
		return `\t`
	case r == '\n':
		return `\n`
	case r == '\r':
		return `\r`
	case r < 0x80:
		return `\x` + hex2(byte(r))
	case r <= 0xffff:
		return `\u` + pad(strconv.FormatInt(int64(r), 16), 4)
	default:
		return `\U` + pad(strconv.FormatInt(int64(r), 16), 8)
	}
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&0xf]})
}

func pad(s string, n int) string {
	return strings.Repeat("0", n-len(s)) + s
}
