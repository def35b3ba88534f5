package klog

import "strings"

// maxPeel bounds how many levels of quoting are undone around a klog line.
// k0s needs one (logrus msg="..."), that line inside a JSON log shipper
// two; the bound keeps crafted input from recursing deeper.
const maxPeel = 3

// maxKeyLen bounds a structured key. klog does not restrict keys (the
// kubelet really logs a key "/proc/swaps contents"), so the limit is what
// keeps a run of ordinary words ending in "=" from becoming a key.
const maxKeyLen = 64

// maxFileLen bounds the file part of a header so a candidate header never
// makes the scan of a long line quadratic.
const maxFileLen = 256

// Parse parses one kubelet log line: one journald MESSAGE, or one line of
// journalctl, syslog or k0s output. It never panics; a line it does not
// recognise comes back as FormatNone with the trimmed text in Msg.
func Parse(line string) Line {
	var l Line
	l.parse(line, 0)
	return l
}

// ParseInto is Parse writing into dst and reusing the storage of dst.KVs,
// so a loop over many lines allocates only to unescape values. Everything
// in dst, including what its old KVs slice held, is overwritten.
func ParseInto(dst *Line, line string) {
	kvs := dst.KVs[:0]
	*dst = Line{KVs: kvs}
	dst.parse(line, 0)
}

// Fold appends the continuation line c to the multi-line value that l is
// waiting for (l.Pending) and reports whether c belonged to it. Journald
// stores each line of a klog `key=<` block as its own entry; folding them
// back gives the classifier the whole err text. The closing " >" line ends
// the block and may carry further key/values, which are appended to l.
func (l *Line) Fold(c Line) bool {
	if l.Pending == "" || !c.Continuation {
		return false
	}
	if c.closes {
		l.Pending = ""
		for _, kv := range c.KVs {
			if kv.Key == "err" && l.Err == "" {
				l.Err = kv.Value
				continue
			}
			l.KVs = append(l.KVs, kv)
		}
		return true
	}
	p := &l.Err
	if l.pendingKV > 0 && l.pendingKV <= len(l.KVs) {
		p = &l.KVs[l.pendingKV-1].Value
	}
	if l.pendingN > 0 || *p != "" {
		*p += "\n" + c.Msg
	} else {
		*p = c.Msg
	}
	l.pendingN++
	return true
}

// reset clears l for another attempt, keeping the KVs storage.
func (l *Line) reset() {
	kvs := l.KVs[:0]
	*l = Line{KVs: kvs}
}

func (l *Line) parse(s string, depth int) {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	h, ok := findHeader(s)
	if !ok {
		l.parseHeaderless(s, depth)
		return
	}
	if depth < maxPeel {
		if inner, ok := peel(s, h.start, h.body); ok {
			l.parse(inner, depth+1)
			return
		}
	}
	l.Severity, l.Source = h.sev, h.src
	body := s[h.body:]
	if body != "" && body[0] == '"' && l.structured(body) {
		l.Format = FormatStructured
		return
	}
	l.Format = FormatText
	l.Msg = strings.TrimSpace(body)
}

// header is a klog text header found in a line.
type header struct {
	start int    // index of the severity letter
	body  int    // index of the message, after "] "
	sev   byte   // I, W, E or F
	src   string // file.go:123
}

// findHeader finds the first klog header anywhere in s. It jumps from colon
// to colon (IndexByte is vectorised) because the first colon of a header,
// in hh:mm, sits at a fixed offset from the severity letter; wrapper
// prefixes have only a handful of colons, so this beats a byte loop.
func findHeader(s string) (header, bool) {
	for off := 0; off < len(s); {
		c := strings.IndexByte(s[off:], ':')
		if c < 0 {
			break
		}
		c += off
		// Cheap inline test before the call: most colons are not a header's.
		if i := c - 8; i >= 0 && i+22 <= len(s) && s[i+5] == ' ' && s[i+14] == '.' {
			if h, ok := headerAt(s, i); ok {
				return h, true
			}
		}
		off = c + 1
	}
	return header{}, false
}

// headerAt checks for "Lmmdd hh:mm:ss.uuuuuu <tid> file:line] " at s[i:].
func headerAt(s string, i int) (header, bool) {
	if i < 0 || len(s) < i+22 {
		return header{}, false
	}
	switch s[i] {
	case 'I', 'W', 'E', 'F':
	default:
		return header{}, false
	}
	// A letter glued to a word ("FOOE1125") is not a header.
	if i > 0 && isAlnum(s[i-1]) {
		return header{}, false
	}
	if s[i+5] != ' ' || s[i+8] != ':' || s[i+11] != ':' || s[i+14] != '.' || s[i+21] != ' ' {
		return header{}, false
	}
	mo, ok1 := num2(s, i+1)
	dd, ok2 := num2(s, i+3)
	hh, ok3 := num2(s, i+6)
	mi, ok4 := num2(s, i+9)
	ss, ok5 := num2(s, i+12)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 60 {
		return header{}, false
	}
	for k := i + 15; k < i+21; k++ {
		if !isDigit(s[k]) {
			return header{}, false
		}
	}
	// Thread id, right-aligned in 7 columns: any run of spaces, then digits.
	j := i + 22
	for j < len(s) && s[j] == ' ' {
		j++
	}
	d := j
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j == d || j >= len(s) || s[j] != ' ' {
		return header{}, false
	}
	j++
	// file.go:123] — the file is the basename (or dir/file with
	// --add_dir_header); the line number follows its last colon. IndexByte
	// instead of a byte loop: this runs on every kubelet line.
	f := j
	w := s[f:min(len(s), f+maxFileLen)]
	e := strings.IndexByte(w, ']')
	if e < 0 {
		return header{}, false
	}
	w = w[:e]
	colon := strings.LastIndexByte(w, ':')
	if colon <= 0 || colon == len(w)-1 || strings.IndexByte(w, ' ') >= 0 {
		return header{}, false
	}
	for k := colon + 1; k < len(w); k++ {
		if !isDigit(w[k]) {
			return header{}, false
		}
	}
	j = f + e
	src := s[f:j]
	j++
	if j < len(s) {
		if s[j] != ' ' {
			return header{}, false
		}
		j++
	}
	return header{start: i, body: j, sev: s[i], src: src}, true
}

// peel undoes the quoting around a klog line that a wrapper put inside a
// quoted string: k0s's logrus writes msg="E1125 ... \"msg\" err=\"...\"",
// JSON shippers write "log":"E1125 ...". h is the header's index and b
// its message's. The quoting shows either just before the header (the
// wrapper quoted the whole line) or at the start of the message, which
// klog begins with a quote that now reads \" (the wrapper added text of
// its own before the header). The backslashes escaping that quote tell how
// many levels deep the line is.
func peel(s string, h, b int) (string, bool) {
	levels := 0
	switch {
	case h > 0 && s[h-1] == '"':
		k := 0
		for k < h-1 && s[h-2-k] == '\\' {
			k++
		}
		// The quote must open a value: msg=", "log":", a list or the line
		// start, not be a quote that happens to precede a header in prose.
		if o := h - 2 - k; o >= 0 && strings.IndexByte("=:[{(, \t", s[o]) < 0 {
			return "", false
		}
		if levels = 1; k > 0 {
			levels = quoteLevels(k) + 1 // 1 when k is no escape count
			if levels == 1 || levels > maxPeel {
				return "", false
			}
		}
	case b < len(s) && s[b] == '\\':
		k := 0
		for b+k < len(s) && s[b+k] == '\\' {
			k++
		}
		if b+k == len(s) || s[b+k] != '"' {
			return "", false
		}
		levels = quoteLevels(k)
	}
	if levels == 0 {
		return "", false
	}
	inner := s[h:]
	for ; levels > 0; levels-- {
		if e := closingQuote(inner); e >= 0 {
			inner = inner[:e]
		}
		inner = unescape(inner)
	}
	return inner, true
}

// quoteLevels maps the backslashes that escape a quote (1, 3, 7) to the
// levels of quoting (1, 2, 3) up to maxPeel; 0 for any other count.
func quoteLevels(k int) int {
	for n := 1; n <= maxPeel; n++ {
		if k == 1<<n-1 {
			return n
		}
	}
	return 0
}

// structured parses `"msg" key=value ...` from body (which starts with a
// quote) and reports false, leaving l untouched, when body is a printf
// message that merely starts with a quoted word.
func (l *Line) structured(body string) bool {
	raw, rest := body[1:], ""
	if e := closingQuote(raw); e >= 0 {
		raw, rest = raw[:e], raw[e+1:]
		if rest != "" && !startsKV(rest) {
			return false
		}
	}
	// An unterminated message (a cut line) still yields its text.
	l.Msg = unescape(raw)
	l.parseKVs(rest, false)
	return true
}

// startsKV reports whether s is " key=..." with a plausible key.
func startsKV(s string) bool {
	if s == "" || s[0] != ' ' {
		return false
	}
	s = strings.TrimLeft(s, " ")
	return keyEnd(s) > 0
}

// keyEnd returns the index of the "=" ending the key at the start of s, or
// -1 when s does not start with a key. Keys are identifiers by convention;
// dots, slashes and dashes occur, punctuation and quotes do not, which
// keeps prose like `"x" is bad: a=b` from reading as a pair. A key with a
// space is rare but real (the kubelet logs "/proc/swaps contents"); it is
// accepted only before a quoted or multi-line value, the way klog writes
// strings, so `"x" has state=ready` stays prose.
func keyEnd(s string) int {
	spaced := false
	for i := 0; i < len(s) && i <= maxKeyLen; i++ {
		switch c := s[i]; {
		case c == '=':
			if i == 0 || s[i-1] == ' ' {
				return -1
			}
			if spaced && (i+1 == len(s) || s[i+1] != '"' && s[i+1] != '<') {
				return -1
			}
			return i
		case c == ' ':
			spaced = true
		case !isAlnum(c) && c != '_' && c != '.' && c != '-' && c != '/' && c < 0x80:
			return -1
		}
	}
	return -1
}

// parseKVs parses " key=value" pairs from s into l. In a continuation line
// (cont) an err key is an ordinary pair: such lines carry no Err.
func (l *Line) parseKVs(s string, cont bool) {
	errSeen := cont
	budget := 2*len(s) + 64 // bytes bare may scan in all: keeps parsing linear
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return
		}
		e := keyEnd(s)
		if e < 0 {
			return // garbage is ignored, never turned into a key
		}
		key := s[:e]
		s = s[e+1:]
		var val string
		pending, stop := false, false
		switch {
		case s == "":
		case s[0] == '"':
			raw := s[1:]
			if q := closingQuote(raw); q >= 0 {
				raw, s = raw[:q], raw[q+1:]
				// klog always puts a space after a value; anything else
				// means the rest is not klog's doing.
				stop = s != "" && s[0] != ' '
			} else {
				s = "" // unterminated: take the rest
			}
			val = unescape(raw)
		case s[0] == '<' && strings.TrimRight(s[1:], " \t") == "":
			// `key=<` ends the line: journald put the value's lines into
			// the following entries.
			pending, s = true, ""
		case s[0] == '<' && s[1] == '\n':
			// The whole block is in this string (input not split by line).
			var closed bool
			val, s, closed = block(s[2:])
			pending = !closed
		default:
			val, s = bare(s, &budget)
		}
		slot := 0
		if key == "err" && !errSeen {
			errSeen = true
			l.Err = val
		} else {
			if l.KVs == nil {
				l.KVs = make([]KV, 0, 4) // one allocation for typical lines
			}
			l.KVs = append(l.KVs, KV{Key: key, Value: val})
			slot = len(l.KVs)
		}
		if pending {
			l.Pending, l.pendingKV = key, slot
			if val != "" {
				l.pendingN = 1
			}
			return
		}
		if stop {
			return
		}
	}
}

// bare splits an unquoted value (numbers, bools, %+v of structs, slices
// and maps, lists of quoted strings) from s. Such values contain spaces only inside brackets, so a
// space at bracket depth 0 ends them; with unbalanced brackets the first
// space does. Every bracket scan that fails runs to the end of the line, so
// the scans share a budget: a line of many "k=[" pairs stays linear.
func bare(s string, budget *int) (val, rest string) {
	depth, i := 0, 0
	for ; i < len(s) && *budget > 0; i++ {
		*budget--
		switch s[i] {
		case '"':
			// Lists of object refs render as ["ns/a","ns/b"]: brackets and
			// spaces inside their strings do not count.
			if depth > 0 {
				e := closingQuote(s[i+1:])
				if e < 0 {
					*budget = 0 // nothing closes: stop scanning
					break
				}
				*budget -= e
				i += e + 1
			}
		case '[', '{', '(':
			depth++
		case ']', '}', ')':
			if depth > 0 {
				depth--
			}
		case ' ', '\n':
			if depth == 0 {
				return s[:i], s[i:]
			}
		}
	}
	if i == len(s) && depth == 0 {
		return s, ""
	}
	if i := strings.IndexAny(s, " \n"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// block reads a klog multi-line value from s, which starts after "<\n":
// lines prefixed by a tab, ended by a line " >". It returns the value, the
// text after ">" and whether the closing line was seen.
func block(s string) (val, rest string, closed bool) {
	var b strings.Builder
	n := 0
	for s != "" {
		line, next := s, ""
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, next = s[:i], s[i+1:]
		}
		if t := strings.TrimLeft(line, " "); t != "" && t[0] == '>' {
			return joined(val, &b, n), t[1:], true
		}
		if line == "" || line[0] != '\t' {
			break // not klog's block: stop rather than guess
		}
		switch n {
		case 0:
			val = line[1:]
		case 1:
			b.WriteString(val)
			fallthrough
		default:
			b.WriteByte('\n')
			b.WriteString(line[1:])
		}
		n++
		s = next
	}
	return joined(val, &b, n), "", false
}

func joined(first string, b *strings.Builder, n int) string {
	if n > 1 {
		return b.String()
	}
	return first
}

// parseHeaderless handles lines without a klog header: continuation lines
// of multi-line values, klog JSON, k0s-wrapped lines, the kubelet's
// "Error: ..." on stderr, and anything else as raw text.
func (l *Line) parseHeaderless(s string, depth int) {
	body := s[wrapperEnd(s):]
	if l.continuation(body) {
		return
	}
	t := strings.TrimSpace(body)
	if t != "" && t[0] == '{' && l.json(t) {
		return
	}
	if depth < maxPeel && (strings.HasPrefix(t, "time=") || strings.HasPrefix(t, "level=")) {
		if m, ok := logrusMsg(t); ok {
			l.parse(m, depth+1)
			return
		}
	}
	// A structured message without its header (--skip_headers, or a
	// fragment pasted into explain): the same quoting rules apply.
	if t != "" && t[0] == '"' && l.structured(t) {
		l.Format = FormatStructured
		return
	}
	l.Format, l.Msg = FormatNone, t
	// cli/run.go prints "Error: <err>" when logging is not set up yet;
	// kubelets up to 1.8 printed "error: ...".
	if strings.HasPrefix(t, "Error: ") || strings.HasPrefix(t, "error: ") {
		l.Severity = 'E'
	}
}

// continuation recognises the lines journald makes of a `key=<` block: a
// tab-indented value line (rsyslog writes the tab as "#011") or the closing
// ">" line, which may carry the key/values that followed the block.
func (l *Line) continuation(body string) bool {
	switch {
	case body != "" && body[0] == '\t':
		l.Msg = body[1:]
	case strings.HasPrefix(body, "#011"):
		l.Msg = body[4:]
	default:
		t := strings.TrimLeft(body, " ")
		if t == "" || t[0] != '>' || (len(t) > 1 && t[1] != ' ') {
			return false
		}
		l.closes = true
		l.parseKVs(t[1:], true)
	}
	l.Format, l.Continuation = FormatNone, true
	return true
}

// logrusMsg returns the unquoted msg value of a logrus text line
// (time="..." level=info msg="..." component=kubelet), as k0s writes the
// kubelet's stderr.
func logrusMsg(t string) (string, bool) {
	i := strings.Index(t, " msg=")
	if i < 0 {
		return "", false
	}
	v := t[i+5:]
	if v == "" || v[0] != '"' {
		if e := strings.IndexByte(v, ' '); e >= 0 {
			v = v[:e] // logrus quotes values with spaces
		}
		return v, true
	}
	raw := v[1:]
	if e := closingQuote(raw); e >= 0 {
		raw = raw[:e]
	}
	return unescape(raw), true
}

// wrapperEnd returns where the wrapped message starts in a header-less
// line: after a "[ts][kubelet][I] " (minikube, Docker Desktop) or a
// journalctl/syslog prefix; 0 when no wrapper is recognised.
func wrapperEnd(s string) int {
	if n := bracketEnd(s); n > 0 {
		return n
	}
	return syslogEnd(s)
}

// bracketEnd returns the index after two or more leading "[...]" groups.
func bracketEnd(s string) int {
	i, groups := 0, 0
	for i < len(s) && s[i] == '[' {
		e := strings.IndexByte(s[i+1:], ']')
		if e < 0 || e > 64 || strings.IndexByte(s[i+1:i+1+e], '[') >= 0 {
			break
		}
		i += e + 2
		groups++
	}
	if groups < 2 {
		return 0
	}
	if i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// syslogEnd recognises journalctl and rsyslog prefixes: a timestamp, then
// a host and an "ident[pid]:" or "ident:" token. It returns the index
// after ": ", or 0. Timestamps: a time of day near the start (short,
// short-precise, short-iso, short-full, RFC 3339), or seconds as a number
// (short-unix) or in brackets (short-monotonic).
func syslogEnd(s string) int {
	i := stampEnd(s)
	if i <= 0 || i >= len(s) || s[i] != ' ' {
		return 0
	}
	for tok := 0; tok < 4; tok++ {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		w := i
		for i < len(s) && s[i] != ' ' {
			i++
		}
		if ident(s[w:i], tok > 0) {
			if i < len(s) {
				i++ // the space after "ident:"
			}
			return i
		}
	}
	return 0
}

// stampEnd returns the index after the timestamp that starts a syslog or
// journalctl line, or -1.
func stampEnd(s string) int {
	if s != "" && s[0] == '[' { // [  123.456789]
		e := strings.IndexByte(s, ']')
		if e < 0 || e > 32 || !isSeconds(strings.TrimLeft(s[1:e], " ")) {
			return -1
		}
		return e + 1
	}
	if e := strings.IndexByte(s, ' '); e > 0 && e <= 24 && isSeconds(s[:e]) {
		return e // 1732528801.123456
	}
	lim := min(len(s), 32)
	i := -1
	for off := 0; off < lim; {
		c := strings.IndexByte(s[off:lim], ':')
		if c < 0 {
			break
		}
		c += off
		if isTime(s, c-2) {
			i = c + 6
			break
		}
		off = c + 1
	}
	if i < 0 {
		return -1
	}
	if i < len(s) && s[i] == '.' { // fractional seconds
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && s[i] == 'Z' {
		i++
	} else if i < len(s) && (s[i] == '+' || s[i] == '-') { // zone offset
		i++
		for i < len(s) && (isDigit(s[i]) || s[i] == ':') {
			i++
		}
	}
	return i
}

// isSeconds reports whether w is "digits.digits".
func isSeconds(w string) bool {
	dot := strings.IndexByte(w, '.')
	if dot <= 0 || dot == len(w)-1 {
		return false
	}
	for k := 0; k < len(w); k++ {
		if k != dot && !isDigit(w[k]) {
			return false
		}
	}
	return true
}

// isTime checks for hh:mm:ss at s[i:], preceded by a space, a T or nothing.
func isTime(s string, i int) bool {
	if i < 0 || len(s) < i+8 || (i > 0 && s[i-1] != ' ' && s[i-1] != 'T') {
		return false
	}
	_, a := num2(s, i)
	_, b := num2(s, i+3)
	_, c := num2(s, i+6)
	return a && b && c && s[i+2] == ':' && s[i+5] == ':'
}

// ident reports whether w is a syslog identifier token "name[pid]:" or,
// when a host came before it (hosted), "name:".
func ident(w string, hosted bool) bool {
	if len(w) < 2 || w[len(w)-1] != ':' {
		return false
	}
	w = w[:len(w)-1]
	if w[len(w)-1] == ']' {
		o := strings.LastIndexByte(w, '[')
		if o <= 0 || o == len(w)-2 {
			return false
		}
		for k := o + 1; k < len(w)-1; k++ {
			if !isDigit(w[k]) {
				return false
			}
		}
		w = w[:o]
	} else if !hosted {
		return false
	}
	for k := 0; k < len(w); k++ {
		if c := w[k]; !isAlnum(c) && c != '.' && c != '_' && c != '-' && c != '@' && c != '/' {
			return false
		}
	}
	return true
}

// closingQuote returns the index in s of the first quote not escaped by a
// backslash (s starts after an opening quote), or -1. The fast path is one
// IndexByte when the string has no backslash before its end.
func closingQuote(s string) int {
	q := strings.IndexByte(s, '"')
	if q < 0 {
		return -1
	}
	if strings.IndexByte(s[:q], '\\') < 0 {
		return q
	}
	for off := 0; ; {
		q = strings.IndexByte(s[off:], '"')
		if q < 0 {
			return -1
		}
		q += off
		n := 0
		for n < q && s[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return q
		}
		off = q + 1
	}
}

func num2(s string, i int) (int, bool) {
	a, b := s[i], s[i+1]
	if !isDigit(a) || !isDigit(b) {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
