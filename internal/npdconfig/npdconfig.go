// Package npdconfig generates node-problem-detector custom-plugin-monitor
// configuration from the condition registry (internal/rules), so that
// condition types, reasons and default messages are spelled in one place.
// config/npd/ holds the output; `make generate` rewrites it and a test fails
// when it is stale.
//
// Layout of the output:
//   - one file per condition, each with exactly one permanent rule that runs
//     `kubelet-doctor check CONDITION`. One condition per file is deliberate:
//     with skip_initial_status NPD still publishes every condition of a file
//     at its default (False) when the first rule of that file finishes, so a
//     file with several conditions would report its slower ones healthy for
//     a round after every NPD restart;
//   - one file of temporary rules (AlertsFile) that run
//     `kubelet-doctor alert CONDITION` and turn each new failure into an
//     Event with the condition's EventReason.
package npdconfig

//go:generate go run ./gen -o ../../config/npd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	conds "github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// Where the DaemonSet (config/kubernetes/) puts things, as the NPD container
// sees them. The host's / is mounted read-only at Root; the state directory
// is a read-write hostPath of its own because everything under Root is
// read-only.
const (
	Binary   = "/opt/kubelet-doctor/kubelet-doctor"
	Root     = "/host"
	StateDir = "/var/lib/kubelet-doctor"
	// ReferenceDir is where the DaemonSet mounts kubeadm's ConfigMap
	// kube-system/kubelet-config, optional: clusters not made by kubeadm
	// have none, and the mount is then an empty directory. Reference is
	// its key "kubelet", the cluster's KubeletConfiguration, which the
	// drift checks compare the node's config with (--reference).
	ReferenceDir = "/etc/kubelet-doctor/reference"
	Reference    = ReferenceDir + "/kubelet"
)

// referenceConditions are the conditions whose checks take --reference
// (plugins.Checks: kubeletconfig and dns).
var referenceConditions = map[string]bool{conds.TypeConfig: true, conds.TypeDNS: true}

// UsesReference reports whether the rules of c pass ReferenceArgs.
func UsesReference(c rules.Condition) bool { return referenceConditions[c.Type] }

// ReferenceArgs point a rule at the mounted reference. It is optional: a
// cluster without kube-system/kubelet-config gets no drift check, not an
// Unknown condition; a reference that is there but unreadable is Unknown.
func ReferenceArgs() []string {
	return []string{"--reference=" + Reference, "--reference-optional"}
}

// Timing and size settings; config/README.md explains each choice.
const (
	// InvokeInterval: a condition about joining or staying Ready moves on a
	// scale of minutes (remediators wait 5-10m); reading the journal from the
	// saved cursor costs milliseconds, so NPD's default is cheap enough.
	InvokeInterval = 30 * time.Second
	// PluginTimeout is the plugin's own deadline (check/alert --timeout):
	// reached, it prints what stopped it and exits Unknown itself, instead of
	// being SIGKILLed by NPD with a generic "Timeout when running plugin".
	PluginTimeout = 8 * time.Second
	// RuleTimeout is when NPD kills the plugin's process group: one second
	// after the plugin's own deadline, time to print and to release the
	// state lock. NPD applies it only when it is below GlobalTimeout.
	RuleTimeout = 9 * time.Second
	// GlobalTimeout is the file's ceiling for rule timeouts.
	GlobalTimeout = 10 * time.Second
	// MaxOutput is both NPD's max_output_length and the plugin's
	// --max-output: the plugin cuts on a character boundary with the cause
	// first, so NPD's blind byte cut never has anything left to cut. It is
	// NPD's default, 80: a message that fits a terminal column of
	// `kubectl describe node` and every consumer's expectations.
	MaxOutput = 80
	// Source is the event source (source.component) of every file, so that
	// `kubectl get events --field-selector source=kubelet-doctor` finds all.
	Source = "kubelet-doctor"
	// Hold is how long check keeps a True condition True while it cannot
	// tell (check --hold): a journal rotated under the reader or a lock
	// timeout must not flip True -> Unknown -> True, which moves NPD's
	// lastTransitionTime and restarts repair controllers' timeouts. Four
	// intervals: longer than any transient, far shorter than their timeouts.
	Hold = 4 * InvokeInterval
	// AlertsFile is the file of temporary rules.
	AlertsFile = "kubelet-startup-alerts.json"
	// MessageChangeUpdates stays off: NPD gives a condition a new
	// lastTransitionTime on every update, message changes included, and
	// repair controllers (MachineHealthCheck, NodeHealthCheck) time their
	// unhealthy timeouts from it. A failure whose count crosses a bucket
	// (3+, 10+, 30+) would restart their clocks. The message of an episode
	// is its first; a change of reason or status is always published.
	MessageChangeUpdates = false
)

// Alerts reports whether c has a temporary rule in AlertsFile (the
// condition table's Alerts column).
func Alerts(c rules.Condition) bool { return c.Alerts }

// FileName is the config file of condition c: kubelet-<category>.json
// (kubelet-config stays kubelet-config.json).
func FileName(c rules.Condition) string {
	slug := string(c.Category)
	return "kubelet-" + strings.TrimPrefix(slug, "kubelet-") + ".json"
}

// PluginArgs are the arguments of a rule, after the subcommand and the
// condition type: the deployment paths and the plugin's own limits.
func PluginArgs() []string {
	return []string{
		"--root=" + Root,
		"--state-dir=" + StateDir,
		"--timeout=" + PluginTimeout.String(),
		"--max-output=" + fmt.Sprint(MaxOutput),
	}
}

// checkArgs are the extra arguments of a permanent rule.
func checkArgs() []string {
	return []string{"--hold=" + Hold.String()}
}

// The JSON shapes written. They mirror NPD's CustomPluginConfig
// (pkg/custompluginmonitor/types) but with fixed field order and only the
// keys that matter: NPD forces a default condition's status to False and its
// transition to now, so those are left out.
type config struct {
	Plugin           string       `json:"plugin"`
	PluginConfig     pluginConfig `json:"pluginConfig"`
	Source           string       `json:"source"`
	MetricsReporting bool         `json:"metricsReporting"`
	Conditions       []condition  `json:"conditions"`
	Rules            []rule       `json:"rules"`
}

type pluginConfig struct {
	InvokeInterval       string `json:"invoke_interval"`
	Timeout              string `json:"timeout"`
	MaxOutputLength      int    `json:"max_output_length"`
	Concurrency          int    `json:"concurrency"`
	MessageChangeUpdates bool   `json:"enable_message_change_based_condition_update"`
	SkipInitialStatus    bool   `json:"skip_initial_status"`
}

type condition struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type rule struct {
	Type      string   `json:"type"`
	Condition string   `json:"condition,omitempty"`
	Reason    string   `json:"reason"`
	Path      string   `json:"path"`
	Args      []string `json:"args"`
	Timeout   string   `json:"timeout"`
}

func pluginConfigFor(concurrency int) pluginConfig {
	return pluginConfig{
		InvokeInterval:       InvokeInterval.String(),
		Timeout:              GlobalTimeout.String(),
		MaxOutputLength:      MaxOutput,
		Concurrency:          concurrency,
		MessageChangeUpdates: MessageChangeUpdates,
		// After an NPD restart keep what the API server has until the first
		// run decides, instead of publishing every condition False.
		SkipInitialStatus: true,
	}
}

func ruleFor(typ, subcommand string, c rules.Condition, reason string) rule {
	args := append([]string{subcommand, c.Type}, PluginArgs()...)
	if UsesReference(c) {
		args = append(args, ReferenceArgs()...)
	}
	return rule{
		Type:    typ,
		Reason:  reason,
		Path:    Binary,
		Args:    args,
		Timeout: RuleTimeout.String(),
	}
}

// Files returns every config file, by name, in its final form: 2-space
// indented JSON with a trailing newline. The output depends only on the
// registry, so it is byte-for-byte reproducible.
func Files() (map[string][]byte, error) {
	files := make(map[string][]byte)
	var alerts []rule
	for _, c := range rules.Conditions() {
		if c.Type == "" || c.ProblemReason == "" || c.HealthyReason == "" || c.HealthyMessage == "" {
			return nil, fmt.Errorf("condition %q: type, problem reason, healthy reason and healthy message are required", c.Type)
		}
		name := FileName(c)
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("condition %q: file name %s is taken by another condition", c.Type, name)
		}
		perm := ruleFor("permanent", "check", c, c.ProblemReason)
		perm.Args = append(perm.Args, checkArgs()...)
		perm.Condition = c.Type
		b, err := render(config{
			Plugin: "custom",
			// One rule per file: nothing to run concurrently.
			PluginConfig:     pluginConfigFor(1),
			Source:           Source,
			MetricsReporting: true,
			Conditions:       []condition{{Type: c.Type, Reason: c.HealthyReason, Message: c.HealthyMessage}},
			Rules:            []rule{perm},
		})
		if err != nil {
			return nil, fmt.Errorf("condition %q: %w", c.Type, err)
		}
		files[name] = b
		if Alerts(c) {
			if c.EventReason == "" {
				return nil, fmt.Errorf("condition %q raises startup alerts but has no event reason", c.Type)
			}
			alerts = append(alerts, ruleFor("temporary", "alert", c, c.EventReason))
		}
	}
	b, err := render(config{
		Plugin: "custom",
		// The alert rules share the state file and its lock; running them
		// one at a time keeps a 2-core node from paying for contention, and
		// Events are not urgent to the second.
		PluginConfig:     pluginConfigFor(1),
		Source:           Source,
		MetricsReporting: true,
		Conditions:       []condition{},
		Rules:            alerts,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", AlertsFile, err)
	}
	if _, dup := files[AlertsFile]; dup {
		return nil, fmt.Errorf("file name %s is taken by a condition", AlertsFile)
	}
	files[AlertsFile] = b
	return files, nil
}

func render(c config) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Messages are read by people in the files; keep < > & as they are.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}
