// Package plugins is the one explicit list of kubelet-doctor's checks. A new
// check is a package (or a file) under plugins/ with its test, plus one line
// here; options it needs from the command line come in Options.
package plugins

import (
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/logs"
)

// Options are the settings checks take from the command line.
type Options struct {
	Journal     logs.Source
	Window      logs.Window
	ReuseWithin time.Duration
	MaxEntries  int
}

// Checks returns every check, in the order their findings are listed.
func Checks(o Options) []doctor.Check {
	return []doctor.Check{
		&logs.Check{Journal: o.Journal, Classifier: func() rules.LineClassifier { return rules.New() },
			Window: o.Window, ReuseWithin: o.ReuseWithin, MaxEntries: o.MaxEntries},
	}
}
