package kubeletconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/doctor"
	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
	"github.com/kubelet-doctor/kubelet-doctor/internal/kubeletfiles"
)

// CheckName names the check in outputs and the state.
const CheckName = "kubelet-config"

// Locator finds the files the kubelet reads.
type Locator func(root hostpath.Root) (Files, error)

// Check validates the kubelet's configuration and its drift from the
// cluster's reference (KubeletConfigProblem).
type Check struct {
	Locate Locator
	// Reference is the cluster's KubeletConfiguration or kubelet-config
	// ConfigMap; empty: no drift check. ReferenceOptional: a Reference that
	// does not exist is no reference (LoadReference).
	Reference         string
	ReferenceOptional bool
	DriftIgnore       []string // added to defaultIgnore
}

var _ doctor.Check = (*Check)(nil)

// Name implements doctor.Check.
func (c *Check) Name() string { return CheckName }

// Conditions implements doctor.Check.
func (c *Check) Conditions() []string { return []string{condition.TypeConfig} }

// dropInDirs are where provisioning tools put drop-ins that only count when
// the kubelet is given --config-dir: kubeadm's documented directory, the one
// the issue's nodes use, and EKS nodeadm's.
var dropInDirs = []string{"/etc/kubernetes/kubelet.conf.d", "/var/lib/kubelet/config.d", "/etc/kubernetes/kubelet/config.json.d"}

// Run implements doctor.Check.
func (c *Check) Run(ctx context.Context, env *doctor.Env) ([]doctor.Finding, error) {
	locate := c.Locate
	if locate == nil {
		locate = Discovered(nil, kubeletfiles.Files{})
	}
	files, err := locate(env.Root)
	if err != nil {
		return nil, fmt.Errorf("find the kubelet's config: %w", err)
	}
	if !files.Found {
		return nil, nil // no kubelet here: nothing to judge
	}
	ref, fs, note := c.reference()
	if files.Config == "" && files.ConfigDir == "" {
		return append(fs, c.noConfig(files, ref)...), nil
	}
	l, err := Load(env.Root, files)
	var de *DecodeError
	if errors.As(err, &de) {
		label, detail, _ := strings.Cut(de.Msg, ": ")
		return append(fs, finding(doctor.Problem, "decode", Issue{Label: label,
			Detail: strings.TrimSpace(de.Path + " " + detail), Hint: "the kubelet exits on a config it cannot load"})), nil
	}
	if err != nil {
		return nil, err
	}
	fs = append(fs, c.examine(env, l, ref)...)
	if len(fs) == 0 {
		ev := evidence(l)
		if note != "" {
			ev = append(ev, doctor.Evidence{Text: note})
		}
		fs = append(fs, doctor.Finding{Condition: condition.TypeConfig, Status: doctor.OK, Source: doctor.SourceNodeState,
			Label: "kubelet configuration loads and validates", Evidence: ev})
	}
	return fs, nil
}

// reference loads --reference. It returns no reference and an Unknown
// finding when the reference cannot be used, and a note for the healthy
// finding's evidence: what the node was compared with, or why it was not.
func (c *Check) reference() (*Reference, []doctor.Finding, string) {
	if c.Reference == "" {
		return nil, nil, ""
	}
	ref, err := LoadReference(c.Reference, c.ReferenceOptional)
	switch {
	case err != nil:
		hint := "--reference takes a KubeletConfiguration or the kube-system/kubelet-config ConfigMap"
		if errors.Is(err, fs.ErrNotExist) {
			hint = "fix the --reference path, or add --reference-optional where the cluster may have no kubelet-config"
		}
		return nil, []doctor.Finding{finding(doctor.Unknown, "reference", Issue{Label: "reference unusable",
			Detail: err.Error(), Hint: hint})}, ""
	case ref == nil:
		return nil, nil, NoReference(c.Reference)
	}
	return ref, nil, fmt.Sprintf("no drift from %s %q", ref.From, ref.Path)
}

// examine runs every rule on a loaded config.
func (c *Check) examine(env *doctor.Env, l *Loaded, ref *Reference) []doctor.Finding {
	var fs []doctor.Finding
	if len(l.Strict) > 0 {
		fs = append(fs, strictFinding(l.Strict))
	}
	for _, is := range Validate(env.Root, l) {
		fs = append(fs, finding(doctor.Problem, is.Rule, is))
	}
	if n, err := ReadNode(env.Root); err != nil {
		fs = append(fs, finding(doctor.Unknown, "node", Issue{Label: "cannot read node size", Detail: err.Error()}))
	} else {
		for _, is := range ValidateResources(env.Root, l, n) {
			fs = append(fs, finding(doctor.Problem, is.Rule, is))
		}
	}
	fs = append(fs, cgroupDriver(env.Root, l)...)
	if len(l.Skipped) > 0 {
		env.Log.WithField("files", l.Skipped).Info("drop-in files without .conf are not read by the kubelet")
	}
	if ref != nil {
		fs = append(fs, c.drift(l, ref)...)
		if l.Files.Known && l.Files.ConfigDir == "" {
			fs = append(fs, ignoredDropIns(env.Root)...)
		}
	}
	for i := range fs {
		fs[i].Evidence = append(fs[i].Evidence, evidence(l)...)
	}
	return fs
}

// strictFinding names the unknown fields of the first file that has any,
// else the first other complaint (duplicate keys).
func strictFinding(st []Strict) doctor.Finding {
	var names []string
	path := ""
	for _, s := range st {
		if s.Field != "" && (path == "" || s.Path == path) {
			path = s.Path
			names = append(names, s.Field)
		}
	}
	is := Issue{Label: "unknown field", Detail: strings.Join(names, ", ") + " in " + path,
		Hint: "the kubelet ignores fields it does not know: fix their spelling (names are case-sensitive)"}
	if len(names) == 0 {
		is = Issue{Label: "duplicate field", Detail: st[0].Msg + " in " + st[0].Path,
			Hint: "the kubelet keeps one of the duplicated keys: remove the other"}
	}
	return finding(doctor.Problem, "strict-decoding", is)
}

func (c *Check) drift(l *Loaded, ref *Reference) []doctor.Finding {
	ds := Drift(l.Raw, ref.Raw, IgnoreList(c.DriftIgnore))
	if len(ds) == 0 {
		return nil
	}
	f := finding(doctor.Problem, "drift", Issue{Label: "drift", Detail: DriftSummary(ds),
		Hint: "values are node!=reference; make the node's config match the cluster's kubelet-config or add node-specific fields to --drift-ignore"})
	for _, d := range ds {
		f.Evidence = append(f.Evidence, doctor.Evidence{Text: fmt.Sprintf("%s: node %q, reference %q (%s)",
			d.Field, orUnset(d.Node), orUnset(d.Reference), ref.From)})
	}
	return []doctor.Finding{f}
}

// noConfig is a kubelet without a config file: fine on built-in defaults
// unless the cluster's reference sets fields, in which case the cluster's
// configuration never reached this node.
func (c *Check) noConfig(files Files, ref *Reference) []doctor.Finding {
	set := 0
	if ref != nil {
		for k := range ref.Raw {
			if k != "apiVersion" && k != "kind" {
				set++
			}
		}
	}
	switch {
	case set > 0 && files.Known:
		return []doctor.Finding{finding(doctor.Problem, "not-propagated", Issue{Label: "config not propagated",
			Detail: fmt.Sprintf("kubelet has no --config, reference sets %d fields", set),
			Hint:   "write the cluster's kubelet-config to /var/lib/kubelet/config.yaml and pass it with --config"})}
	case set > 0:
		return []doctor.Finding{finding(doctor.Problem, "not-propagated", Issue{Label: "config not propagated",
			Detail: fmt.Sprintf("no kubelet config file, reference sets %d fields", set),
			Hint:   "write the cluster's kubelet-config to /var/lib/kubelet/config.yaml (kubeadm upgrade node does)"})}
	case files.Known:
		return nil // built-in defaults, as the kubelet was told
	}
	return []doctor.Finding{finding(doctor.Unknown, "not-found", Issue{Label: "kubelet config not found",
		Detail: "no " + hostpath.KubeletConfig, Hint: "pass --kubelet-config with the kubelet's --config"})}
}

// ignoredDropIns finds drop-in directories with .conf files that the
// kubelet was not told about.
func ignoredDropIns(root hostpath.Root) []doctor.Finding {
	for _, d := range dropInDirs {
		m, _ := filepath.Glob(root.Path(d) + "/*.conf")
		if len(m) > 0 {
			return []doctor.Finding{finding(doctor.Problem, "not-propagated", Issue{Label: "drop-ins ignored",
				Detail: fmt.Sprintf("%s has %d .conf files, kubelet has no --config-dir", d, len(m)),
				Hint:   "pass --config-dir to the kubelet or merge the drop-ins into its config"})}
		}
	}
	return nil
}

// cgroupDriver compares the kubelet's driver with the runtime's, for
// runtimes that do not report theirs over CRI.
func cgroupDriver(root hostpath.Root, l *Loaded) []doctor.Finding {
	rd, ok, err := DetectRuntimeDriver(root, endpoint(l.Config.ContainerRuntimeEndpoint))
	if err != nil {
		return []doctor.Finding{finding(doctor.Unknown, "cgroup-driver-runtime", Issue{Label: "runtime config unreadable",
			Detail: err.Error()})}
	}
	kd := l.Config.CgroupDriver
	if kd == "" {
		kd = "cgroupfs"
	}
	if !ok || rd.ReportsOverCRI || rd.Driver == kd {
		return nil
	}
	return []doctor.Finding{finding(doctor.Problem, "cgroup-driver-runtime", Issue{Label: "cgroup driver mismatch",
		Detail: fmt.Sprintf("kubelet %s, %s %s (%s)", kd, rd.Runtime, rd.Driver, rd.Where),
		Hint:   "use the same cgroup driver (systemd on systemd hosts) in the kubelet and the runtime"})}
}

func finding(s doctor.Status, rule string, is Issue) doctor.Finding {
	return doctor.Finding{Condition: condition.TypeConfig, Status: s, Source: doctor.SourceNodeState, Check: CheckName,
		Rule: rule, Label: is.Label, Detail: is.Detail, Hint: is.Hint}
}

func evidence(l *Loaded) []doctor.Evidence {
	ev := []doctor.Evidence{{Text: fmt.Sprintf("config %q (from %s)", l.Files.Config, l.Files.From)}}
	for _, d := range l.DropIns {
		ev = append(ev, doctor.Evidence{Text: "drop-in " + d})
	}
	for _, s := range l.Strict {
		ev = append(ev, doctor.Evidence{Text: "strict decoding: " + s.Path + ": " + s.Msg})
	}
	return ev
}

// FixedLocator is the kubelet's --config and --config-dir as given: what
// the kubelet was told.
func FixedLocator(config, configDir string) Locator {
	return func(hostpath.Root) (Files, error) {
		return Files{Config: config, ConfigDir: configDir, From: "flag", Known: true, Found: true}, nil
	}
}

// Discovered finds the files with kubeletfiles.Discover, the paths of
// override in place of what it finds. Known is true when the kubelet's own
// command line or unit was read (or the paths were given): a kubelet whose
// command line has no --config then runs on built-in defaults. A config
// found only by layout that is not there means nothing was found.
//
// loader shares one discovery among the checks of an invocation (nil:
// discover anew).
func Discovered(loader *kubeletfiles.Loader, override kubeletfiles.Files) Locator {
	return func(root hostpath.Root) (Files, error) {
		n, err := loader.Load(root, override)
		if err != nil {
			return Files{}, err
		}
		kf := n.Files
		given := override.Config != "" || override.ConfigDir != ""
		known := given || strings.HasPrefix(kf.From, "process ") || strings.HasPrefix(kf.From, "systemd unit ")
		f := Files{Config: kf.Config, ConfigDir: kf.ConfigDir, From: kf.From, Known: known, Flags: kf.Flags,
			Found: kf.Found || given}
		if known && !given && kf.Flags["config"] == "" && kf.Flags["config-dir"] == "" {
			f.Config, f.ConfigDir = "", ""
		}
		if !known && f.Config != "" {
			if _, err := os.Stat(root.Path(f.Config)); errors.Is(err, fs.ErrNotExist) {
				f.Config = ""
			}
		}
		return f, nil
	}
}
