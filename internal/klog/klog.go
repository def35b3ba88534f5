// Package klog parses kubelet log lines: the klog text header found anywhere
// in a line (journald, syslog, k3s, k0s, snap and minikube wrappers), the
// structured form ("msg" err="..." key="value"), the pre-structured printf
// form, klog's JSON format and header-less lines such as "Error: ...".
package klog

// Format says which form a line was recognised in.
type Format uint8

// The forms a kubelet line comes in.
const (
	FormatNone       Format = iota // no klog header or JSON: raw text
	FormatText                     // klog text header, printf-style message
	FormatStructured               // quoted message + key/values, after a klog text header (or alone: Severity 0)
	FormatJSON                     // --logging-format=json
)

// KV is one structured key/value pair, value unquoted and unescaped.
type KV struct {
	Key   string
	Value string
}

// Line is a parsed kubelet log line. Strings point into the input where
// possible; Parse allocates only to unescape quoted values.
type Line struct {
	Format   Format
	Severity byte   // 'I', 'W', 'E', 'F'; 0 when unknown (no header)
	Source   string // "file.go:123" from the header or JSON caller, "" if none
	// Msg is the message: for structured and JSON lines the unquoted msg, for
	// printf-style lines the whole text after the header (which then holds
	// the error too, after ": "), for other lines the trimmed text after a
	// recognised journalctl/syslog prefix.
	Msg string
	// Err is the value of the err key (structured/JSON), unescaped; "" if none.
	Err string
	// KVs holds the other key/values in order (structured/JSON), unescaped.
	KVs []KV
	// Continuation is true for a line that only continues a multi-line value
	// (journald splits `key=<` blocks into one entry per line): such lines
	// carry no message of their own and must not be classified alone.
	Continuation bool
	// Pending is the key whose multi-line value (`key=<`) continues on the
	// following Continuation lines ("err" for Err); "" when the line is
	// complete. Fold appends those lines to the value.
	Pending string

	pendingKV int  // 1-based index in KVs of the pending value; 0: Err
	pendingN  int  // value lines folded in so far
	closes    bool // a continuation line that closes the block (" >")
}

// Value returns the value of key k and whether it was present.
func (l *Line) Value(k string) (string, bool) {
	if k == "err" && l.Err != "" {
		return l.Err, true
	}
	for _, kv := range l.KVs {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return "", false
}
