package rules

import (
	"fmt"
	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/printable"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/kubelet-doctor/kubelet-doctor/internal/klog"
)

// maxCause bounds Verdict.Cause: it goes into an 80-byte NPD message after
// the label, and into state files keyed by it.
const maxCause = 100

// compiled is a rule ready to match.
type compiled struct {
	*Rule
	index int // position in the registry: its bit in a ruleSet
	// re is compiled on the rule's first literal hit: an NPD plugin run
	// classifies a handful of new entries and needs a few of the rules'
	// regexps, so compiling all at start would dominate its cost.
	re func() *regexp.Regexp
	// plain is true when the pattern is the literal itself and captures
	// nothing: strings.Index gives the match and the regexp never runs.
	plain bool
	// Label and Hint redacted once (they are static), and the label with
	// the signer's kind in front for certificate-manager rules.
	label, hint, servingLabel, clientLabel string
}

// match is where a rule matched in one text: [start,end) and the capture
// ([cs,ce), cs < 0 when none).
type match struct{ start, end, cs, ce int }

// Classifier classifies kubelet log lines. It is immutable after New and
// safe for concurrent use.
type Classifier struct {
	rules []*compiled // the registry, in order
	all   *litIndex   // literals of the rules below, at least indexMin bytes long
	info  *litIndex   // literals of the line rules allowed on info lines
	// short rules have literals too short for the index to skip well: each
	// is looked up on its own, on lines that are not info lines.
	short []*compiled
	// noHeader rules (systemd's entries) are looked up only on lines
	// without a klog header.
	noHeader []*compiled
	// raw and rawShort hold the quote-free part of every literal, to tell
	// from the raw line, before parsing it, that no rule can match it.
	raw      *litIndex
	rawShort []anchored
	// lineRules and causeRules select rule kinds from a candidate set.
	lineRules, causeRules ruleSet
	fatal                 []*compiled // rules whose message means the kubelet exits
	cond                  map[Category]string
	pool                  sync.Pool // *klog.Line, so that Classify reuses parse storage
}

// New compiles the registry. It panics on a broken registry, which
// TestRegistryCompiles keeps from ever shipping.
func New() *Classifier {
	c, err := compile(rules)
	if err != nil {
		panic(err)
	}
	return c
}

func compile(table []Rule) (*Classifier, error) {
	if len(table) > maxRules {
		return nil, fmt.Errorf("compile: %d rules, at most %d fit a candidate set", len(table), maxRules)
	}
	c := &Classifier{cond: make(map[Category]string)}
	for _, cond := range condition.All() {
		if cond.Category != condition.Startup {
			c.cond[cond.Category] = cond.Type
		}
	}
	var indexed, info []*compiled
	for i := range table {
		r := &table[i]
		// TestRuleFields compiles every pattern, so MustCompile
		// cannot fail on a registry that ships.
		re := sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(r.Pattern) })
		if len(r.Literal) < 4 {
			return nil, fmt.Errorf("compile rule %q: literal %q shorter than 4 bytes", r.ID, r.Literal)
		}
		// The registry's own texts hold no secret (TestRegistryTextsHoldNoSecret):
		// redacting them here cost every plugin run 1,160 redactions.
		cr := &compiled{Rule: r, index: i, re: re, plain: r.Capture == 0 && r.Pattern == regexp.QuoteMeta(r.Literal),
			label: r.Label, hint: r.Hint, servingLabel: "serving " + r.Label, clientLabel: "client " + r.Label}
		c.rules = append(c.rules, cr)
		switch {
		case r.NoHeader:
			c.noHeader = append(c.noHeader, cr)
		case len(r.Literal) < indexMin:
			c.short = append(c.short, cr)
		default:
			indexed = append(indexed, cr)
		}
		if r.Kind == KindCause {
			c.causeRules.add(i)
			continue
		}
		c.lineRules.add(i)
		if r.Info {
			info = append(info, cr)
		}
		if r.Fatal {
			c.fatal = append(c.fatal, cr)
		}
	}
	c.all = newLitIndex(keysOf(indexed))
	var raw []keyed
	for _, r := range c.rules {
		k := plainKey(r.Literal)
		if len(k) >= indexMin {
			raw = append(raw, keyed{r.index, k})
		} else if !slices.ContainsFunc(c.rawShort, func(a anchored) bool { return a.key == k }) {
			c.rawShort = append(c.rawShort, anchor(k))
		}
	}
	c.raw = newLitIndex(raw)
	c.info = newLitIndex(keysOf(info))
	c.pool.New = func() any { return new(klog.Line) }
	return c, nil
}

// find matches c in s. The literal is looked up first; the regexp runs only
// when it is present.
func (c *compiled) find(s string) (match, bool) {
	if len(s) < len(c.Literal) {
		return match{}, false
	}
	i := strings.Index(s, c.Literal)
	if i < 0 {
		return match{}, false
	}
	var m match
	if c.plain {
		m = match{i, i + len(c.Literal), -1, -1}
	} else {
		loc := c.re().FindStringSubmatchIndex(s)
		if loc == nil {
			return match{}, false
		}
		m = match{loc[0], loc[1], -1, -1}
		if c.Capture > 0 && 2*c.Capture+1 < len(loc) {
			m.cs, m.ce = loc[2*c.Capture], loc[2*c.Capture+1]
		}
	}
	if c.AtStart && !atStart(s, m.start) {
		return match{}, false
	}
	return m, true
}

// atStart reports whether position i of s starts the text or follows ": "
// (a journald or syslog prefix the parser left in place).
func atStart(s string, i int) bool {
	return i == 0 || (i >= 2 && s[i-2:i] == ": ")
}

// Classify parses and classifies one log line.
func (c *Classifier) Classify(line string) Verdict {
	// Most lines contain no rule's literal at all: they are benign
	// whatever their level, and need not even be parsed.
	if !c.mayMatch(line) {
		return none
	}
	l := c.pool.Get().(*klog.Line)
	klog.ParseInto(l, line)
	v := c.ClassifyParsed(l)
	c.pool.Put(l)
	return v
}

// mayMatch reports whether some rule's literal, or a fatal header, is in
// the raw line. A literal found in the parsed message or err is in the raw
// line too, since quoting only escapes quotes, backslashes and control
// characters, which the plain keys leave out.
func (c *Classifier) mayMatch(line string) bool {
	if c.raw.any(line) {
		return true
	}
	for _, a := range c.rawShort {
		if a.in(line) {
			return true
		}
	}
	return mayBeFatal(line)
}

// anchored is a short key looked up by its rarest byte: IndexByte on a
// capital letter skips far, where one on ':' or ' ' stops every few bytes.
type anchored struct {
	key string
	off int // index in key of the anchor byte
}

func anchor(k string) anchored {
	a := anchored{key: k}
	for i := 0; i < len(k); i++ {
		if k[i] >= 'A' && k[i] <= 'Z' {
			return anchored{key: k, off: i}
		}
	}
	return a
}

func (a anchored) in(s string) bool {
	b := a.key[a.off]
	for i := a.off; i < len(s); {
		j := strings.IndexByte(s[i:], b)
		if j < 0 {
			return false
		}
		i += j
		if strings.HasPrefix(s[i-a.off:], a.key) {
			return true
		}
		i++
	}
	return false
}

// mayBeFatal reports whether line may hold a klog header of severity F
// ("F1125 "): such a line is evidence of a crash even when no rule knows it.
func mayBeFatal(line string) bool {
	for i := 0; ; {
		j := strings.IndexByte(line[i:], 'F')
		if j < 0 {
			return false
		}
		i += j + 1
		if i+5 <= len(line) && isDigits(line[i:i+4]) && line[i+4] == ' ' {
			return true
		}
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// texts are the parts of a line that rules look at: the message, the err
// value and, for event lines, the event's message.
type texts [3]string

func textsOf(l *klog.Line) texts {
	t := texts{l.Msg, l.Err, ""}
	// The event recorder logs node events ("MissingClusterDNS",
	// "CheckLimitsForResolvConf") as "Event occurred" with the text in a key.
	if l.Msg == "Event occurred" {
		t[2], _ = l.Value("message")
	}
	return t
}

// sets are the candidate rules of each text.
type sets [3]ruleSet

// indexMin is the shortest literal the index takes: the index reads a text
// in steps of up to indexMin-1 bytes.
const indexMin = 10

// candidates fills cand with the rules whose literal occurs in each text
// and returns their union: on info lines only the info rules, on lines
// without a header also systemd's.
func (c *Classifier) candidates(t *texts, info, noHeader bool, cand *sets) (union ruleSet) {
	for i := range t {
		if t[i] != "" {
			c.scanText(t[i], info, noHeader, &cand[i])
			union.or(&cand[i])
		}
	}
	return union
}

// scanText adds the candidates of one text to set.
func (c *Classifier) scanText(s string, info, noHeader bool, set *ruleSet) {
	if info {
		c.info.scan(s, set)
	} else {
		c.all.scan(s, set)
		for _, r := range c.short {
			if strings.Contains(s, r.Literal) {
				set.add(r.index)
			}
		}
	}
	if noHeader {
		for _, r := range c.noHeader {
			if strings.Contains(s, r.Literal) {
				set.add(r.index)
			}
		}
	}
}

var none = Verdict{Category: None}

// ClassifyParsed classifies a parsed line. It does not keep l.
func (c *Classifier) ClassifyParsed(l *klog.Line) Verdict {
	if l == nil || l.Continuation {
		return none
	}
	t := textsOf(l)
	if t[0] == "" && t[1] == "" && t[2] == "" {
		return none
	}
	// Info lines, the bulk of a journal, only look for the few rules
	// allowed at info level.
	info := l.Severity == 'I'
	var cand sets
	union := c.candidates(&t, info, l.Severity == 0, &cand)
	union.and(&c.lineRules)
	for i := union.next(0); i >= 0; i = union.next(i + 1) {
		r := c.rules[i]
		if r.NoHeader && l.Severity != 0 {
			continue
		}
		for si := range t {
			if !cand[si].has(i) {
				continue
			}
			m, ok := r.find(t[si])
			if !ok {
				continue
			}
			switch r.Kind {
			case KindLifecycle:
				return Verdict{Category: None, Rule: r.ID, Label: r.label, Lifecycle: r.Lifecycle}
			case KindRecovery:
				return Verdict{Category: None, Rule: r.ID, Label: r.label, Recovers: r.Recovers}
			}
			// A message whose capture is empty here ("Nameserver limits
			// exceeded" as the msg) may carry it in the err value.
			if r.Capture > 0 && m.cs == m.ce {
				for sj := si + 1; sj < len(t); sj++ {
					if m2, ok := r.find(t[sj]); ok && m2.cs < m2.ce {
						si, m = sj, m2
						break
					}
				}
			}
			var fc *sets
			if !info {
				fc = &cand
			}
			return c.decide(l, &t, r, si, m, fc)
		}
	}
	if !info {
		if v, ok := c.causeOnly(l, &t, &cand); ok {
			return v
		}
	}
	if l.Severity == 'F' {
		return Verdict{Category: None, Fatal: true, Label: "kubelet fatal error", Cause: clean(firstText(&t), maxCause)}
	}
	return none
}

// tails are the texts a cause is looked for in once a message matched in
// t[si] at m: that text from the match on, then the texts after it.
func tails(t *texts, si int, m match) texts {
	var out texts
	// From the start of the message: a wrapper's own words may be the
	// cause's context ("cannot create certificate signing request:
	// Unauthorized" is both the message and its cause).
	out[0] = t[si][m.start:]
	copy(out[1:], t[si+1:])
	return out
}

// findCause returns the first cause rule, in precedence order, of a group
// in allowed that matches one of ts (only rules marked Alone when alone).
// cand holds the candidates of each text.
func (c *Classifier) findCause(ts *texts, cand *sets, allowed CauseSet, alone bool) (*compiled, match, int) {
	var union ruleSet
	for i := range cand {
		union.or(&cand[i])
	}
	union.and(&c.causeRules)
	for i := union.next(0); i >= 0; i = union.next(i + 1) {
		cr := c.rules[i]
		if cr.Group&allowed == 0 || (alone && !cr.Alone) {
			continue
		}
		for k := range ts {
			if !cand[k].has(i) {
				continue
			}
			if m, ok := cr.find(ts[k]); ok {
				return cr, m, k
			}
		}
	}
	return nil, match{}, 0
}

// decide builds the verdict of message or guard rule r matched in t[si].
func (c *Classifier) decide(l *klog.Line, t *texts, r *compiled, si int, m match, cand0 *sets) Verdict {
	v := Verdict{Category: r.Category, Rule: r.ID, Label: r.label, Hint: r.hint,
		BootTransient: r.BootTransient, Fatal: r.Fatal || l.Severity == 'F'}
	ts := tails(t, si, m)
	// rest is what follows the message: the excerpt of last resort.
	rest := ts
	rest[0] = t[si][m.end:]
	kv := false
	if l.Err == "" && strings.TrimSpace(rest[0]) == "" && ts[2] == "" {
		// "Container runtime not ready" runtimeReady="...": no err, the
		// first value says why.
		ts[2] = firstValue(l)
		rest[2] = ts[2]
		kv = ts[2] != ""
	}
	var cr *compiled
	var cm match
	var ci int
	if r.Causes != 0 {
		// The candidates of a text hold for its tail: reuse them, except on
		// info lines (whose index has no cause rules) and for a key's value
		// standing in for the err.
		var cand sets
		if cand0 != nil {
			copy(cand[:], cand0[si:])
			if kv {
				cand[2] = ruleSet{}
				c.scanText(ts[2], false, false, &cand[2])
			}
		} else {
			c.candidates(&ts, false, false, &cand)
		}
		cr, cm, ci = c.findCause(&ts, &cand, r.Causes, false)
	}
	if cr != nil {
		v.Category, v.Rule, v.Label, v.Hint = cr.Category, cr.ID, cr.label, cr.hint
		// A hard cause (x509, 401/403) is not cured by waiting for the
		// control plane to come up, even inside a message that usually is.
		v.BootTransient = cr.BootTransient || (r.BootTransient && cr.Group&hardCauses == 0)
		// One pod's registry failing x509 is that pod's problem: named, not
		// raised as the node's.
		v.NotNode = r.Workload && cr.Group&podCauses == 0
	}
	if v.Category == Authorization && r.AuthAs != "" && (cr == nil || !cr.KeepCategory) {
		v.Category = r.AuthAs
	}
	if v.Category == None {
		// Benign: the guard (or benign cause) that said so is named, so
		// that explain can say why a line that looks bad is not.
		return Verdict{Category: None, Rule: v.Rule, Label: v.Label, Hint: v.Hint}
	}
	v.Condition = c.cond[v.Category]
	if !v.Fatal {
		v.Fatal = c.isFatal(l, t, cand0)
	}
	d := decision{l: l, t: t, r: r, si: si, m: m, ts: &ts, rest: &rest, cr: cr, cm: cm, ci: ci}
	v.Cause = clean(d.excerpt(&v), maxCause)
	return v
}

// decision is what decide found: message rule r matched at m in t[si],
// the texts after it (ts; rest from the match's end), and the cause rule
// cr matched at cm in ts[ci], if any.
type decision struct {
	l        *klog.Line
	t        *texts
	r        *compiled
	si       int
	m        match
	ts, rest *texts
	cr       *compiled
	cm       match
	ci       int
}

// excerpt is the root-cause excerpt, most specific first: a capture, the
// API request, the CSR's signer, the dialled address, the cause's own
// words, else what follows the message. A signer also picks v's client or
// serving label.
func (d *decision) excerpt(v *Verdict) string {
	l, t, r, si, m, ts, rest, cr, cm, ci := d.l, d.t, d.r, d.si, d.m, d.ts, d.rest, d.cr, d.cm, d.ci
	var cause string
	switch {
	case cr != nil && (cm.cs >= 0 || cr.Capture == CaptureBefore):
		cause = captured(ts[ci], cr.Capture, cm)
	case cr == nil && r.Capture != 0:
		cause = captured(t[si], r.Capture, m)
	}
	signer := ""
	if r.Signer {
		signer = findSigner(l, t)
		// "serving CSR not signed" and "client CSR not signed" need
		// different fixes; a decisive cause names its own problem.
		if signer != "" && cr == nil {
			v.Label = r.clientLabel
			if strings.Contains(signer, "kubelet-serving") {
				v.Label = r.servingLabel
			}
		}
	}
	if cause == "" {
		cause = urlOp(ts)
	}
	if cause == "" {
		cause = signer
	}
	if cause == "" {
		cause = dialAddr(ts)
	}
	if cause == "" && cr != nil {
		if r.Capture > 0 && m.cs >= 0 {
			cause = t[si][m.cs:m.ce]
		} else {
			cause = ts[ci][cm.start:cm.end]
		}
	}
	if cause == "" {
		cause = trimWrappers(firstText(rest))
	}
	return cause
}

// wrappers are error prefixes that say only that the kubelet failed to
// start; the excerpt starts after them, where the reason is.
var wrappers = []string{"ailed to run Kubelet: ", "ailed to run kubelet: ", "ailed running kubelet: ", "ailed to create kubelet: ", "alidate service connection: "}

func trimWrappers(s string) string {
	for again := true; again; {
		again = false
		for _, w := range wrappers {
			if len(s) > len(w) && s[1:len(w)+1] == w {
				s, again = s[len(w)+1:], true
			}
		}
	}
	return s
}

// causeOnly decides a line no message rule matched by an unambiguous cause.
func (c *Classifier) causeOnly(l *klog.Line, t *texts, cand *sets) (Verdict, bool) {
	cr, cm, ci := c.findCause(t, cand, allCauses, true)
	if cr == nil || cr.Category == None {
		return Verdict{}, false
	}
	// "connection refused" alone may be a probe or a plugin socket: only an
	// API request (https URL, TCP dial) makes it the API server's.
	if cr.Group == CauseConn && !cr.Server && !apiRequest(t) {
		return Verdict{}, false
	}
	v := Verdict{Category: cr.Category, Condition: c.cond[cr.Category], Rule: cr.ID, Label: cr.label,
		Hint: cr.hint, BootTransient: cr.BootTransient, Fatal: c.isFatal(l, t, cand)}
	cause := ""
	if cm.cs >= 0 || cr.Capture == CaptureBefore {
		cause = captured(t[ci], cr.Capture, cm)
	}
	if cause == "" {
		cause = urlOp(t)
	}
	if cause == "" {
		cause = dialAddr(t)
	}
	if cause == "" {
		cause = t[ci][cm.start:cm.end]
	}
	v.Cause = clean(cause, maxCause)
	return v, true
}

// isFatal reports whether the line says the kubelet exits: a fatal message
// anywhere in it, or the header-less "Error: ..." that cobra prints before
// exiting. cand are the candidates of the texts; nil on info lines, which
// are never fatal by message.
func (c *Classifier) isFatal(l *klog.Line, t *texts, cand *sets) bool {
	if l.Severity == 'F' {
		return true
	}
	if l.Format == klog.FormatNone && (strings.HasPrefix(l.Msg, "Error: ") || strings.HasPrefix(l.Msg, "error: ")) {
		return true
	}
	if cand == nil {
		return false
	}
	for _, r := range c.fatal {
		for i := range t {
			if cand[i].has(r.index) {
				if _, ok := r.find(t[i]); ok {
					return true
				}
			}
		}
	}
	return false
}

// apiRequest reports whether a text shows a request to the API server: an
// https URL, or a TCP dial that is not for a plain-http URL (probes and
// kubeadm's check of the kubelet's own :10248/healthz use http).
func apiRequest(t *texts) bool {
	for _, s := range t {
		if strings.Contains(s, "https://") {
			return true
		}
		if strings.Contains(s, "dial tcp") && !strings.Contains(s, "http://") {
			return true
		}
		// An established TCP connection that breaks (watch streams of
		// kubelets that talked to the API server over plain http).
		if strings.Contains(s, "read tcp ") || strings.Contains(s, "write tcp ") {
			return true
		}
	}
	return false
}

// captured returns the capture of m in s; for CaptureBefore the operation
// and path written just before the match.
func captured(s string, capture int, m match) string {
	if capture == CaptureBefore {
		return opBefore(s[:m.start])
	}
	if m.cs < 0 {
		return ""
	}
	return s[m.cs:m.ce]
}

// opBefore returns "mkdir /var/lib/kubelet/pods" from the text before
// ": read-only file system": the last path and the operation before it.
func opBefore(s string) string {
	f := strings.Fields(s)
	for i := len(f) - 1; i >= 0 && i >= len(f)-4; i-- {
		path := strings.Trim(f[i], `:"'`)
		if !strings.HasPrefix(path, "/") {
			continue
		}
		if i > 0 {
			op := strings.Trim(f[i-1], `:"'`)
			if (op == "unix" || op == "tcp") && i > 1 {
				op = strings.Trim(f[i-2], `:"'`) + " " + op
			}
			if isOp(op) {
				return op + " " + path
			}
		}
		return path
	}
	return ""
}

func isOp(w string) bool {
	switch w {
	case "mkdir", "open", "stat", "lstat", "write", "read", "chmod", "chown", "remove", "rename", "unlinkat",
		"symlink", "mount", "listen unix", "dial unix", "listen tcp":
		return true
	}
	return false
}

// urlOp returns "POST https://10.0.0.10:6443/api/v1/nodes" for the first
// http(s) URL in ts: Go's url.Error writes the method before the URL.
// The query is dropped: it carries timeouts and resource versions that
// change between occurrences.
func urlOp(ts *texts) string {
	for _, s := range ts {
		for off := 0; off < len(s); {
			i := strings.Index(s[off:], "://")
			if i < 0 {
				break
			}
			i += off
			off = i + 3
			j := i
			for j > 0 && s[j-1] >= 'a' && s[j-1] <= 'z' {
				j--
			}
			if scheme := s[j:i]; scheme != "https" && scheme != "http" {
				continue
			}
			k := i + 3
			for k < len(s) && !strings.ContainsRune(" \"'?#\\", rune(s[k])) {
				k++
			}
			u := strings.TrimRight(s[j:k], ":,.;")
			if method := methodBefore(s[:j]); method != "" {
				return method + " " + u
			}
			return u
		}
	}
	return ""
}

func methodBefore(s string) string {
	s = strings.TrimSuffix(s, `"`)
	s = strings.TrimSuffix(s, `\`)
	if !strings.HasSuffix(s, " ") {
		return ""
	}
	s = s[:len(s)-1]
	w := s[strings.LastIndexAny(s, " \"':(")+1:]
	switch strings.ToUpper(w) {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD":
		return strings.ToUpper(w)
	}
	return ""
}

// dialAddr returns "dial tcp 10.0.0.10:6443" from a net.OpError.
func dialAddr(ts *texts) string {
	for _, s := range ts {
		i := strings.Index(s, "dial tcp ")
		if i < 0 {
			continue
		}
		rest := s[i+len("dial tcp "):]
		if e := strings.IndexAny(rest, " \""); e >= 0 {
			rest = rest[:e]
		}
		rest = strings.TrimRight(rest, ":")
		if rest != "" {
			return "dial tcp " + rest
		}
	}
	return ""
}

// findSigner returns the certificate manager's signer named in the line
// (the logger key in 1.3x, a "<signer>: " prefix in 1.2x).
func findSigner(l *klog.Line, t *texts) string {
	const serving, client = "kubernetes.io/kubelet-serving", "kubernetes.io/kube-apiserver-client-kubelet"
	look := func(s string) string {
		switch {
		case strings.Contains(s, "kubelet-serving"):
			return serving
		case strings.Contains(s, "kube-apiserver-client-kubelet"):
			return client
		}
		return ""
	}
	if v, ok := l.Value("logger"); ok {
		if s := look(v); s != "" {
			return s
		}
	}
	for _, s := range t {
		if sg := look(s); sg != "" {
			return sg
		}
	}
	return ""
}

// firstText returns the first non-empty text, without the ": " that joins
// a printf message to its error.
func firstText(ts *texts) string {
	for _, s := range ts {
		s = strings.TrimSpace(strings.TrimLeft(s, ":,. "))
		if s != "" {
			return s
		}
	}
	return ""
}

// firstValue returns the first key/value that says something about the
// problem ("Container runtime not ready" runtimeReady="...").
func firstValue(l *klog.Line) string {
	for _, kv := range l.KVs {
		switch kv.Key {
		case "logger", "v", "ts", "caller", "level":
			continue
		}
		if kv.Value != "" {
			return kv.Value
		}
	}
	return ""
}

// clean makes an excerpt fit for a condition message and state keys:
// secrets redacted, one line, process ids and local ports that change
// between occurrences removed, at most max bytes.
func clean(s string, max int) string {
	s = Redact(s)
	if strings.ContainsAny(s, "\n\t\r") {
		s = strings.Join(strings.Fields(s), " ")
	}
	// Escaped here, once: the excerpt goes to the NPD line, explain, report,
	// metrics and the state, and a log line can carry terminal escapes.
	s = printable.String(s)
	s = stripPIDs(s)
	s = strings.Trim(s, " :,")
	s = trimQuotes(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimRight(s[:cut], " ")
	}
	return s
}

// trimQuotes drops quotes left unbalanced by cutting an excerpt out of a
// quoted text, and a pair that encloses the whole excerpt.
func trimQuotes(s string) string {
	n := strings.Count(s, `"`)
	switch {
	case n == 2 && len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		return s[1 : len(s)-1]
	case n%2 == 1 && strings.HasSuffix(s, `"`):
		return s[:len(s)-1]
	case n%2 == 1 && strings.HasPrefix(s, `"`):
		return s[1:]
	}
	return s
}

// stripPIDs writes /proc/1234/ as /proc/<pid>/, so that one cause does not
// become a new one for every process.
func stripPIDs(s string) string {
	i := strings.Index(s, "/proc/")
	if i < 0 {
		return s
	}
	j := i + len("/proc/")
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k == j {
		return s
	}
	return s[:j] + "<pid>" + stripPIDs(s[k:])
}

// RestartCounter returns N from systemd's "Scheduled restart job, restart
// counter is at N.".
func RestartCounter(msg string) (int, bool) {
	const key = "restart counter is at "
	i := strings.Index(msg, key)
	if i < 0 {
		return 0, false
	}
	s := msg[i+len(key):]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(s[:j])
	if err != nil {
		return 0, false
	}
	return n, true
}
