package rules

import (
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/klog"
)

// maxBlock bounds the lines of one multi-line value held back: a block that
// never closes must not hold a reader's output (or memory) for ever.
const maxBlock = 64

// Folder classifies a stream of lines in order, folding multi-line klog
// values. The kubelet logs `err=<`, the value's lines and " >"; journald
// stores each as its own entry. Classified one by one, the head line would
// lose its cause and the value's lines would mean nothing; folded, the
// block classifies exactly as the same failure logged on one line.
//
// Verdicts come out in input order, through emit: a block's head when the
// block closes (or is cut short), followed by its value lines as None. Tag
// carries whatever the caller needs back with each line (a time, a line
// number).
type Folder[T any] struct {
	c    LineClassifier
	emit func(tag T, v Verdict)
	head klog.Line
	tags []T // the head's tag, then one per value line held back
}

// LineClassifier classifies a raw line or one already parsed (a folded
// block). *Classifier is the registry's.
type LineClassifier interface {
	Classify(line string) Verdict
	ClassifyParsed(l *klog.Line) Verdict
}

var _ LineClassifier = (*Classifier)(nil)

// NewFolder returns a Folder classifying with c.
func NewFolder[T any](c LineClassifier, emit func(tag T, v Verdict)) *Folder[T] {
	return &Folder[T]{c: c, emit: emit}
}

// Push feeds the next line.
func (f *Folder[T]) Push(tag T, line string) {
	if len(f.tags) > 0 {
		c := klog.Parse(line)
		if f.head.Fold(c) {
			f.tags = append(f.tags, tag)
			if f.head.Pending == "" || len(f.tags) >= maxBlock {
				f.Flush()
			}
			return
		}
		f.Flush()
	}
	// Only a line ending in "<" can open a block: the bulk of a journal
	// goes straight to the classifier's fast path.
	if strings.HasSuffix(strings.TrimRight(line, " \t\r"), "<") {
		l := klog.Parse(line)
		if l.Pending != "" {
			f.head = l
			f.tags = append(f.tags[:0], tag)
			return
		}
	}
	f.emit(tag, f.c.Classify(line))
}

// Flush decides a block held back, complete or not: at the end of a read,
// what the block has so far is the best there is.
func (f *Folder[T]) Flush() {
	if len(f.tags) == 0 {
		return
	}
	f.head.Pending = ""
	f.emit(f.tags[0], f.c.ClassifyParsed(&f.head))
	for _, t := range f.tags[1:] {
		f.emit(t, none)
	}
	f.tags = f.tags[:0]
	f.head = klog.Line{}
}
