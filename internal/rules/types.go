// Package rules is the registry of everything kubelet-doctor knows about the
// kubelet's failures: the fixed category vocabulary, one NPD condition per
// category, and the ordered rules that classify a log line. Every output (the
// explain command, NPD conditions, docs/conditions.md) reads from here.
package rules

import "github.com/kubelet-doctor/kubelet-doctor/internal/condition"

// Category is the fixed vocabulary shared by every output; it is defined
// with the condition table (internal/condition).
type Category = condition.Category

// The categories. None is a benign or unrecognised line.
const (
	Certificate           = condition.Certificate
	CATrust               = condition.CATrust
	Bootstrap             = condition.Bootstrap
	Authorization         = condition.Authorization
	Registration          = condition.Registration
	APIServerConnectivity = condition.APIServerConnectivity
	KubeletConfig         = condition.KubeletConfig
	Runtime               = condition.Runtime
	Resources             = condition.Resources
	DNS                   = condition.DNS
	None                  = condition.None
)

// Categories lists the problem categories of a line in a stable order (a
// new slice each call).
func Categories() []Category { return condition.LineCategories() }

// Condition is a row of the condition table (internal/condition).
type Condition = condition.Condition

// Conditions returns the condition table.
func Conditions() []Condition { return condition.All() }

// ConditionByType returns the condition of type t.
func ConditionByType(t string) (Condition, bool) { return condition.ByType(t) }

// ConditionFor returns the condition fed by category c.
func ConditionFor(c Category) (Condition, bool) { return condition.For(c) }

// Verdict is the classification of one log line.
type Verdict struct {
	Category  Category // None for a benign or unrecognised line
	Condition string   // condition type for Category, "" for None
	// Rule is the id of the rule that decided: for None, the guard (with
	// its Label and Hint) that made a line benign, or a recovery or
	// lifecycle marker; "" when nothing matched.
	Rule string
	// Label is the short specific cause, stable across occurrences and fit
	// for the front of a condition message: "x509 unknown authority".
	Label string
	// Cause is the root-cause excerpt taken from the line (secrets redacted):
	// "POST https://10.0.0.1:6443/api/v1/nodes".
	Cause string
	Hint  string // one-line operator hint
	// Fatal is true for an error the kubelet exits on ("command failed",
	// F-level lines, "Error: failed to run Kubelet"): evidence for
	// KubeletStartupProblem as well as for Category.
	Fatal bool
	// BootTransient is true for errors that are normal in the first minutes
	// after a kubelet start and count only when they persist past a grace.
	BootTransient bool
	// NotNode is true when the line names a problem of one workload, not of
	// the node: an image pull that fails x509 against a registry is
	// ca-trust in explain, but a pod's registry is not the kubelet's trust
	// of the API server, so check raises no node condition for it.
	NotNode bool
	// Recovers lists the categories this line proves healthy again
	// ("Successfully registered node", a rotation that succeeded, ...).
	Recovers []Category
	// Lifecycle marks kubelet process lifecycle lines (systemd's own entries
	// about the unit and the kubelet's start banner).
	Lifecycle Lifecycle
}

// Lifecycle is a kubelet process event seen in the journal.
type Lifecycle uint8

// Kubelet process events.
const (
	LifecycleNone    Lifecycle = iota
	LifecycleStarted           // kubelet started ("Kubelet version", systemd "Started ...")
	LifecycleExited            // main process exited with failure ("Main process exited, code=exited, status=1/FAILURE", "Failed with result")
	LifecycleRestart           // systemd scheduled a restart ("Scheduled restart job, restart counter is at N")
	LifecycleStopped           // stopped on purpose ("Stopped ...", "Deactivated successfully")
)
