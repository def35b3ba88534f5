// Package condition is the one table of kubelet-doctor's node conditions: for
// each NPD condition its type, the category of evidence that feeds it, its
// reasons and messages, how failures are counted (threshold, window, per-start),
// whether a new failure also raises an Event, which other conditions explain it,
// and its runbook. Every output (NPD configs, docs/conditions.md, report,
// metrics) reads policy from here and nowhere else.
package condition

import "time"

// Category is the fixed vocabulary of evidence shared by every output.
type Category string

// The categories. None is a benign or unrecognised line. Startup is the
// kubelet process itself (crash loops, not running): no log line is of that
// category, its evidence is the process lifecycle.
const (
	Certificate           Category = "certificate"
	CATrust               Category = "ca-trust"
	Bootstrap             Category = "bootstrap"
	Authorization         Category = "authorization"
	Registration          Category = "registration"
	APIServerConnectivity Category = "apiserver-connectivity"
	KubeletConfig         Category = "kubelet-config"
	Runtime               Category = "runtime"
	Resources             Category = "resources"
	DNS                   Category = "dns"
	Startup               Category = "startup"
	None                  Category = "none"
)

// LineCategories are the problem categories a log line can have, in a
// stable order (None and Startup excluded).
func LineCategories() []Category {
	return []Category{
		Certificate, CATrust, Bootstrap, Authorization, Registration,
		APIServerConnectivity, KubeletConfig, Runtime, Resources, DNS,
	}
}

// Counting says how a condition's failures are counted.
type Counting uint8

const (
	// Windowed conditions are True while at least Threshold failures fall in
	// the sliding window; a recovery marker clears them early. Non-fatal
	// findings a kubelet logs once at start (PerStart) hold until the next
	// start instead.
	Windowed Counting = iota + 1
	// Lifecycle conditions are decided from the kubelet process history:
	// CrashLoopExits failed exits in the window with no start that stayed up
	// for Settle, or a last exit or stop not followed by a start.
	Lifecycle
)

// Condition is one row of the table.
type Condition struct {
	Type           string   // NodeCondition type, e.g. KubeletCertificateProblem
	Category       Category // evidence category that feeds it
	ProblemReason  string   // reason while True
	HealthyReason  string   // reason while False (and NPD's default)
	HealthyMessage string   // message while False
	EventReason    string   // reason of the Event for a new failure, when Alerts
	Description    string   // one line for the reference
	Hint           string   // what an operator checks first, when no finding says better

	Counting Counting
	// Threshold is the failures in the window that make a Windowed
	// condition True. Categories whose errors a healthy kubelet also logs
	// now and then (a blip of the API server, a slow runtime call) need a
	// few; one is enough for the rest, which never happen on a healthy node.
	Threshold int
	// PerStart: non-fatal findings of this category are logged once per
	// kubelet start and hold until the next start, not for a window.
	PerStart bool
	// Alerts: a new failure episode also raises one Event (NPD temporary
	// rule), for failures an operator wants to hear about as they happen.
	Alerts bool
	// CausedBy lists conditions that explain this one: while one of them is
	// True, this condition's failures are symptoms, counted and named in the
	// cause's evidence, and this condition stays False.
	CausedBy []string
}

// Runbook is the path of the condition's runbook in the repository.
func (c Condition) Runbook() string { return "docs/runbooks/" + c.Type + ".md" }

// Lifecycle thresholds for the startup condition.
const (
	// CrashLoopExits in the window make a crash loop: one crash is a
	// restart, three within the window are a kubelet that cannot stay up.
	CrashLoopExits = 3
	// Settle is how long a kubelet must stay up after a start, with no exit,
	// to count as recovered. A kubelet that fails on its config exits within
	// a second or two of starting; systemd restarts it within RestartSec
	// (10s on kubeadm nodes), so a kubelet down longer than this after an
	// exit is not being restarted.
	Settle = 30 * time.Second
)

// Condition types, for code that names one.
const (
	TypeCertificate  = "KubeletCertificateProblem"
	TypeCATrust      = "KubeletCATrustProblem"
	TypeBootstrap    = "KubeletBootstrapProblem"
	TypeAuthz        = "KubeletAuthorizationProblem"
	TypeRegistration = "KubeletRegistrationProblem"
	TypeAPIServer    = "KubeletAPIServerUnreachable"
	TypeConfig       = "KubeletConfigProblem"
	TypeRuntime      = "KubeletRuntimeProblem"
	TypeResources    = "KubeletResourceAccessProblem"
	TypeDNS          = "KubeletDNSProblem"
	TypeStartup      = "KubeletStartupProblem"
)

// Causes that keep a kubelet from talking to the API server at all: every
// registration, lease and status error is their symptom while they hold.
var cannotTalk = []string{TypeCATrust, TypeCertificate, TypeBootstrap, TypeAuthz, TypeAPIServer}

var table = []Condition{
	{Type: TypeCertificate, Category: Certificate, Counting: Windowed, Threshold: 1, Alerts: true,
		ProblemReason: "KubeletCertificateFailing", HealthyReason: "KubeletCertificateValid",
		HealthyMessage: "kubelet client and serving certificates are valid",
		EventReason:    "KubeletCertificateFailed",
		// A kubelet whose bootstrap failed never had a certificate: its
		// certificate manager's backoff is the bootstrap failure again.
		CausedBy:    []string{TypeBootstrap},
		Description: "The kubelet's own client or serving certificate expired, cannot be rotated, or its CSR is not signed.",
		Hint:        "check /var/lib/kubelet/pki/kubelet-client-current.pem: its dates, its subject system:node:<name>, and rotation in the journal"},
	{Type: TypeCATrust, Category: CATrust, Counting: Windowed, Threshold: 1, Alerts: true,
		ProblemReason: "KubeletCAUntrusted", HealthyReason: "KubeletCATrusted",
		HealthyMessage: "kubelet trusts the API server's CA",
		EventReason:    "KubeletCATrustFailed",
		Description:    "TLS verification of the API server fails: unknown CA, expired or mismatched serving certificate, clock skew.",
		Hint:           "compare certificate-authority-data in /etc/kubernetes/kubelet.conf with the cluster CA and check the node's clock"},
	{Type: TypeBootstrap, Category: Bootstrap, Counting: Windowed, Threshold: 1, Alerts: true,
		ProblemReason: "KubeletBootstrapFailing", HealthyReason: "KubeletBootstrapOK",
		HealthyMessage: "kubelet TLS bootstrap is not failing",
		EventReason:    "KubeletBootstrapFailed",
		// A bootstrap request that fails on TLS or on the way to the API
		// server is classified as that cause already. An expired client
		// certificate sends the kubelet to a bootstrap file kubeadm deleted
		// after join: the missing file is then the certificate's symptom.
		// Certificate and bootstrap explain each other; the episode that
		// began first is the cause (doctor.Evaluate).
		CausedBy:    []string{TypeCertificate},
		Description: "TLS bootstrap fails: bootstrap kubeconfig missing or invalid, bootstrap token rejected, CSR denied.",
		Hint:        "check /etc/kubernetes/bootstrap-kubelet.conf: its server, CA and token (kubeadm token list on the control plane)"},
	{Type: TypeAuthz, Category: Authorization, Counting: Windowed, Threshold: 1, Alerts: true,
		ProblemReason: "KubeletUnauthorized", HealthyReason: "KubeletAuthorized",
		HealthyMessage: "API server accepts the kubelet's identity",
		EventReason:    "KubeletAuthorizationFailed",
		// After a failed bootstrap the kubelet has no identity: its
		// anonymous requests are refused because of the bootstrap.
		CausedBy:    []string{TypeBootstrap, TypeCertificate},
		Description: "The API server rejects the kubelet: 401, RBAC 403, anonymous requests, NodeRestriction or node authorizer denials.",
		Hint:        "check the client certificate's subject (system:node:<name>, group system:nodes) and the Node authorizer"},
	{Type: TypeRegistration, Category: Registration, Counting: Windowed, Threshold: 3, Alerts: true,
		ProblemReason: "KubeletRegistrationFailing", HealthyReason: "KubeletRegistered",
		HealthyMessage: "kubelet registers and updates its node",
		EventReason:    "KubeletRegistrationFailed",
		CausedBy:       cannotTalk,
		Description:    "The node cannot register, update its status or renew its lease for a reason other than TLS, auth or connectivity.",
		Hint:           "read the registration error and kubectl get node; check the API server's logs for the request"},
	{Type: TypeAPIServer, Category: APIServerConnectivity, Counting: Windowed, Threshold: 3,
		ProblemReason: "KubeletCannotReachAPIServer", HealthyReason: "KubeletReachesAPIServer",
		HealthyMessage: "kubelet reaches the API server",
		Description:    "The API server cannot be reached: connection refused, timeouts, DNS failures, resets.",
		Hint:           "check the server: address in /etc/kubernetes/kubelet.conf and that the API server or its load balancer is reachable"},
	{Type: TypeConfig, Category: KubeletConfig, Counting: Windowed, Threshold: 1, PerStart: true,
		ProblemReason: "KubeletConfigInvalid", HealthyReason: "KubeletConfigValid",
		HealthyMessage: "kubelet configuration loads and validates",
		Description:    "The kubelet's config file, drop-ins or flags are missing or invalid, swap is on, or it runs without an API server.",
		Hint:           "fix the kubelet config file (--config, default /var/lib/kubelet/config.yaml) or the flags in kubeadm-flags.env"},
	{Type: TypeRuntime, Category: Runtime, Counting: Windowed, Threshold: 3,
		ProblemReason: "KubeletRuntimeFailing", HealthyReason: "KubeletRuntimeHealthy",
		HealthyMessage: "container runtime answers the kubelet",
		Description:    "The container runtime (CRI) is unreachable, lacks the CRI v1 API, or PLEG/CNI stay not ready.",
		Hint:           "check the runtime service (containerd or CRI-O) and that containerRuntimeEndpoint names its socket"},
	{Type: TypeResources, Category: Resources, Counting: Windowed, Threshold: 1,
		ProblemReason: "KubeletResourceAccessDenied", HealthyReason: "KubeletResourceAccessOK",
		HealthyMessage: "kubelet can write its host paths and sockets",
		Description:    "The kubelet cannot create its directories or sockets: permission denied, read-only file system, port in use.",
		Hint:           "check mounts (read-only root), SELinux/AppArmor denials and the owner and mode of /var/lib/kubelet"},
	{Type: TypeDNS, Category: DNS, Counting: Windowed, Threshold: 1,
		ProblemReason: "KubeletDNSConfigInvalid", HealthyReason: "KubeletDNSConfigValid",
		HealthyMessage: "kubelet's resolv.conf and cluster DNS settings are usable",
		Description:    "Pod DNS cannot be formed as configured: resolv.conf missing or over limits, clusterDNS invalid or missing.",
		Hint:           "fix resolvConf, clusterDNS and clusterDomain in the kubelet config: at most 3 nameservers and 32 search domains are used"},
	{Type: TypeStartup, Category: Startup, Counting: Lifecycle, Alerts: true,
		ProblemReason: "KubeletCrashLooping", HealthyReason: "KubeletRunning",
		HealthyMessage: "kubelet is running",
		EventReason:    "KubeletStartFailed",
		Description:    "The kubelet exits and systemd restarts it (fatal errors, exit status, restart counter), or it is not running.",
		Hint:           "the kubelet exits at start: the error it logged last says why; kubelet-doctor explain --journal shows the sequence"},
}

// All returns the conditions in a stable order.
func All() []Condition {
	out := make([]Condition, len(table))
	copy(out, table)
	return out
}

// ByType returns the condition of type t.
func ByType(t string) (Condition, bool) {
	for _, c := range table {
		if c.Type == t {
			return c, true
		}
	}
	return Condition{}, false
}

// For returns the condition fed by category c.
func For(c Category) (Condition, bool) {
	for _, cond := range table {
		if cond.Category == c {
			return cond, true
		}
	}
	return Condition{}, false
}

// Types returns every condition type in table order.
func Types() []string {
	out := make([]string, len(table))
	for i, c := range table {
		out[i] = c.Type
	}
	return out
}
