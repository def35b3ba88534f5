package klog

import (
	"strings"
	"unicode/utf8"
)

// json parses a klog JSON line (--logging-format=json), s starting with
// "{". It reads flat objects by hand; nested objects and arrays are kept as
// their JSON text. A cut line keeps what was read before the cut. It
// reports false, leaving l reset, when the object has no "msg": then it is
// not a klog line but, say, a JSON blob in some other output.
func (l *Line) json(s string) bool {
	var level string
	hasMsg, hasV, hasErr := false, false, false
	i := 1
loop:
	for {
		i = skipWS(s, i)
		if i >= len(s) || s[i] == '}' {
			break
		}
		if s[i] == ',' {
			i++
			continue
		}
		if s[i] != '"' {
			break
		}
		key, n, ok := jsonString(s[i:])
		i += n
		if !ok {
			break
		}
		i = skipWS(s, i)
		if i >= len(s) || s[i] != ':' {
			break
		}
		i = skipWS(s, i+1)
		val, n, ok := jsonValue(s[i:])
		if n == 0 {
			break
		}
		i += n
		switch {
		case key == "":
			// Not a name a logger writes; keep it out of KVs.
		case key == "msg" && !hasMsg:
			hasMsg, l.Msg = true, val
		case key == "err" && !hasErr:
			// ErrorS(nil, ...) may render a null err: that is no error text.
			if val != "null" || s[i-n] != 'n' {
				hasErr, l.Err = true, val
			}
		case key == "caller" && l.Source == "":
			l.Source = val
		default:
			switch key {
			case "v":
				hasV = true
			case "level":
				level = val
			}
			if l.KVs == nil {
				l.KVs = make([]KV, 0, 4)
			}
			l.KVs = append(l.KVs, KV{Key: key, Value: val})
		}
		if !ok {
			break loop
		}
	}
	if !hasMsg {
		l.reset()
		return false
	}
	l.Format = FormatJSON
	// The k8s JSON logger (zapr) adds "v" to info entries only and "err" to
	// ErrorS; an InfoS that logs an err key has both and is info. Loggers
	// that state a level are taken at their word.
	switch {
	case level != "":
		l.Severity = levelSeverity(level)
	case hasV:
		l.Severity = 'I'
	default:
		l.Severity = 'E'
	}
	return true
}

// levelSeverity maps a level name (info, warning, error, fatal, panic...)
// to a klog severity letter, 0 when unknown.
func levelSeverity(level string) byte {
	switch strings.ToLower(level) {
	case "info", "debug", "trace":
		return 'I'
	case "warn", "warning":
		return 'W'
	case "error", "dpanic", "err":
		return 'E'
	case "fatal", "panic", "critical":
		return 'F'
	}
	return 0
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// jsonString reads the string starting at s[0] == '"'. It returns the
// unescaped value, the bytes consumed and whether the string was closed.
func jsonString(s string) (string, int, bool) {
	e := closingQuote(s[1:])
	if e < 0 {
		return unescape(s[1:]), len(s), false
	}
	return unescape(s[1 : 1+e]), e + 2, true
}

// jsonValue reads one value at s[0]: a string (unescaped), an object or
// array (its JSON text), or a number, bool or null (as written). It returns
// the value, the bytes consumed (0 when there is no value) and false when
// the value was cut off by the end of s.
func jsonValue(s string) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	switch s[0] {
	case '"':
		return jsonString(s)
	case '{', '[':
		if e := compositeEnd(s); e >= 0 {
			return s[:e], e, true
		}
		return s, len(s), false
	}
	for e := 0; e < len(s); e++ {
		switch s[e] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return s[:e], e, true
		}
	}
	return s, len(s), false
}

// compositeEnd returns the index after the bracket that closes the object
// or array at s[0], skipping brackets inside strings; -1 when cut off.
func compositeEnd(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			e := closingQuote(s[i+1:])
			if e < 0 {
				return -1
			}
			i += e + 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// unescape decodes the Go and JSON escapes of a quoted string's content
// (\" \\ \n \t \xHH \uHHHH with surrogate pairs, \UHHHHHHHH, octal, \/).
// Malformed escapes are kept as written: the line is evidence, and
// dropping bytes from it could hide what the kubelet said. With no
// backslash it returns raw itself; otherwise it allocates once, since the
// result is never longer than raw.
func unescape(raw string) string {
	i := strings.IndexByte(raw, '\\')
	if i < 0 {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	for {
		b.WriteString(raw[:i])
		raw = raw[i:]
		n := decodeEscape(&b, raw)
		raw = raw[n:]
		i = strings.IndexByte(raw, '\\')
		if i < 0 {
			b.WriteString(raw)
			return b.String()
		}
	}
}

// decodeEscape writes the escape at s[0] == '\\' to b and returns the bytes
// it used. An invalid escape writes the backslash alone and uses 1 byte,
// so the character after it is read again as ordinary text.
func decodeEscape(b *strings.Builder, s string) int {
	if len(s) < 2 {
		b.WriteByte('\\')
		return 1
	}
	switch c := s[1]; c {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'v':
		b.WriteByte('\v')
	case '\\', '"', '\'', '/':
		b.WriteByte(c)
	case 'x':
		if v, ok := hexVal(s, 2, 2); ok {
			b.WriteByte(byte(v))
			return 4
		}
		b.WriteByte('\\')
		return 1
	case 'u':
		r, ok := hexVal(s, 2, 4)
		if !ok {
			b.WriteByte('\\')
			return 1
		}
		n := 6
		if r >= 0xD800 && r < 0xDC00 { // JSON writes non-BMP runes as surrogate pairs
			if lo, ok := hexVal(s, 8, 4); ok && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				n = 12
			}
		}
		b.WriteRune(rune(r)) // a lone surrogate becomes U+FFFD
		return n
	case 'U':
		r, ok := hexVal(s, 2, 8)
		if !ok || !utf8.ValidRune(rune(r)) {
			b.WriteByte('\\')
			return 1
		}
		b.WriteRune(rune(r))
		return 10
	case '0', '1', '2', '3':
		if len(s) >= 4 && isOctal(s[2]) && isOctal(s[3]) {
			b.WriteByte((c-'0')<<6 | (s[2]-'0')<<3 | (s[3] - '0'))
			return 4
		}
		b.WriteByte('\\')
		return 1
	default:
		b.WriteByte('\\')
		return 1
	}
	return 2
}

// hexVal parses n hex digits at s[i:].
func hexVal(s string, i, n int) (uint32, bool) {
	if len(s) < i+n {
		return 0, false
	}
	var v uint32
	for _, c := range []byte(s[i : i+n]) {
		switch {
		case isDigit(c):
			v = v<<4 | uint32(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint32(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint32(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
