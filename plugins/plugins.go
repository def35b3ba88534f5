// Package plugins is the one explicit list of kubelet-doctor's checks. A new
// check is a package (or a file) under plugins/ with its test, plus one line
// here; options it needs from the command line come in Options.
package plugins

import (
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/apiserver"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/bootstrap"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/catrust"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/certs"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/dns"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/hostpaths"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/kubeletconfig"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/logs"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/podresources"
	"github.com/kubelet-doctor/kubelet-doctor/plugins/unit"
)

// Options are the settings checks take from the command line.
type Options struct {
	Journal     logs.Source
	Window      logs.Window
	ReuseWithin time.Duration
	MaxEntries  int
	// KubeletFiles override what discovery finds of the kubelet's files.
	KubeletFiles kubeletfiles.Files
	// Processes remembers the kubelet's pid between invocations (nil: a
	// scan of /proc in each).
	Processes kubeletfiles.ProcessCache
	// CertWarn: a certificate expiring within it is a problem while
	// nothing rotates it.
	CertWarn time.Duration
	// ProbeTimeout is one network probe's deadline.
	ProbeTimeout time.Duration
	// Reference is the cluster's kubelet configuration (a KubeletConfiguration
	// or the kube-system/kubelet-config ConfigMap); DriftIgnore adds fields
	// to the drift check's built-in list of node-specific fields.
	// ReferenceOptional: a Reference that does not exist means no drift
	// check (the DaemonSet's optional kubelet-config mount).
	Reference         string
	ReferenceOptional bool
	DriftIgnore       []string
	// Unit is the kubelet's systemd unit; Healthz its healthz URL ("-": none);
	// CrashLoopRestarts the restarts that make a crash loop.
	Unit              string
	Healthz           string
	CrashLoopRestarts int
}

// Checks returns every check, in the order their findings are listed.
func Checks(o Options) []doctor.Check {
	kl := &kubeletfiles.Loader{Processes: o.Processes}
	return []doctor.Check{
		&logs.Check{Journal: o.Journal, Classifier: func() rules.LineClassifier { return rules.New() },
			Window: o.Window, ReuseWithin: o.ReuseWithin, MaxEntries: o.MaxEntries},
		&certs.Check{Warn: o.CertWarn, Files: o.KubeletFiles, Loader: kl},
		&catrust.Check{Files: o.KubeletFiles, Loader: kl},
		&catrust.Probe{Timeout: o.ProbeTimeout, Files: o.KubeletFiles, Loader: kl},
		&bootstrap.Check{Files: o.KubeletFiles, Loader: kl},
		&apiserver.Check{Timeout: o.ProbeTimeout, Files: o.KubeletFiles, Loader: kl},
		&kubeletconfig.Check{Locate: kubeletconfig.Discovered(kl, o.KubeletFiles), Reference: o.Reference,
			ReferenceOptional: o.ReferenceOptional, DriftIgnore: o.DriftIgnore},
		&dns.Check{Locate: kubeletconfig.Discovered(kl, o.KubeletFiles), Reference: o.Reference,
			ReferenceOptional: o.ReferenceOptional},
		&hostpaths.Check{Files: o.KubeletFiles, Loader: kl},
		&podresources.Check{Files: o.KubeletFiles, Timeout: o.ProbeTimeout, Loader: kl},
		&unit.Check{Unit: o.Unit, Healthz: o.Healthz, Timeout: o.ProbeTimeout, Restarts: o.CrashLoopRestarts},
	}
}
