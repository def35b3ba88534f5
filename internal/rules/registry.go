package rules

// The registry: every condition and every rule, in one place. The
// catalogue ids in Ref (R3, B9, C4, K2, ...) point into
// shared/docs/kubelet-messages.md, the specification the rules are read from.
//
// How a line is decided (classify.go implements it):
//
//  1. Lifecycle and recovery markers, then message rules, are tried in the
//     order of this table against the message, then the err value; the first
//     that matches decides. Specific messages come before the wrappers that
//     carry them ("command failed", "failed to run Kubelet", "Failed while
//     requesting a signed certificate"), so the innermost known message wins.
//  2. The text from the message match on (and the err value) is searched
//     for cause rules, in table order, restricted to the groups the message
//     rule lets decide (Causes). The first cause found decides the category: an
//     x509 error inside "Unable to register node" is ca-trust, not
//     registration.
//  3. A line no message rule matches may still be decided by a cause rule
//     marked Alone (an x509 or 401/403 text is unambiguous wherever it is).
//  4. Info-level lines only try rules marked Info: the bulk of a journal is
//     benign info lines, and the few info-level problems are listed.

// Kind says what a rule contributes to a verdict.
type Kind uint8

// Rule kinds.
const (
	// KindMessage matches what the kubelet was doing; its category holds
	// unless a cause rule of an allowed group decides otherwise.
	KindMessage Kind = iota + 1
	// KindCause matches the root cause inside an error text.
	KindCause
	// KindRecovery marks a line proving categories healthy again.
	KindRecovery
	// KindLifecycle marks a kubelet process event (start, exit, restart, stop).
	KindLifecycle
	// KindGuard matches a benign or workload-level message that must not
	// raise a node problem unless an allowed cause group says otherwise.
	KindGuard
)

// String returns the kind's name as used in docs/conditions.md.
func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindCause:
		return "cause"
	case KindRecovery:
		return "recovery"
	case KindLifecycle:
		return "lifecycle"
	case KindGuard:
		return "guard"
	}
	return "unknown"
}

// CauseSet is a set of cause groups: the group of a cause rule, or the groups
// allowed to decide a message rule's category.
type CauseSet uint16

// Cause groups, in precedence order (earlier groups are tried first because
// their rules come first in the table).
const (
	CauseTrust       CauseSet = 1 << iota // x509/TLS verification of the API server: ca-trust
	CauseCert                             // the kubelet's own certificate or key: certificate
	CauseRuntimeDown                      // runtime unreachable, CRI missing, CNI/PLEG not ready: runtime
	CauseRuntime                          // any other CRI rpc error (NotFound/Canceled are benign): runtime
	CauseConn                             // API server unreachable: apiserver-connectivity
	CauseCSR                              // CSR step of TLS bootstrap rejected or denied: bootstrap
	CauseAuth                             // 401/403, NodeRestriction, node authorizer: authorization
	CauseNode                             // node object missing, status retries exhausted: registration
	CauseHostPath                         // permission denied / read-only / full on host paths: resources
	CauseConfig                           // detail of a config file error: kubelet-config
)

// Groups allowed to decide common kinds of message.
const (
	apiCauses  = CauseTrust | CauseCert | CauseConn | CauseCSR | CauseAuth | CauseNode
	criCauses  = CauseTrust | CauseRuntimeDown | CauseRuntime
	podCauses  = CauseRuntimeDown // a pod's error is a node problem only when the runtime itself is down
	allCauses  = ^CauseSet(0)
	hardCauses = CauseTrust | CauseCert | CauseCSR | CauseAuth | CauseConfig | CauseHostPath
)

// CaptureBefore as Rule.Capture takes the operation and path written just
// before the match ("mkdir /var/lib/kubelet/pods" before ": read-only file
// system") as the cause excerpt.
const CaptureBefore = -1

// Rule is one entry of the registry.
type Rule struct {
	ID       string   // kebab-case, stable: it names the cause in NPD state and explain output
	Kind     Kind     // what the rule contributes
	Category Category // message and cause rules; None for guards and markers
	Ref      string   // catalogue id(s) in kubelet-messages.md
	// Literal is a substring of every text the pattern matches; it is looked
	// up before the regexp runs (TestRuleLiteralsAreRequired proves it).
	Literal string
	Pattern string // Go regexp; starts with a literal so the search is fast
	Capture int    // submatch holding the root-cause excerpt; 0 none; CaptureBefore
	Label   string // short stable cause for the front of a condition message
	Hint    string // one line telling the operator what to check

	Fatal         bool     // the kubelet exits after this message
	BootTransient bool     // normal in the first minutes after a start; counts only when it persists
	Info          bool     // may match info-level lines
	NoHeader      bool     // only lines without a klog header (systemd's own entries)
	AtStart       bool     // the literal starts the text or follows ": "
	Signer        bool     // certificate-manager message: the signer names serving vs client
	Causes        CauseSet // message and guard rules: cause groups that may decide the category
	AuthAs        Category // message rules: category for a 401/403 cause (CSR steps are bootstrap)
	Group         CauseSet // cause rules: the group the rule belongs to
	Alone         bool     // cause rules: may decide a line that no message rule matched

	Recovers  []Category // recovery markers: categories proved healthy
	Lifecycle Lifecycle  // lifecycle markers
}

var conditions = []Condition{
	{Type: "KubeletCertificateProblem", Category: Certificate,
		ProblemReason: "KubeletCertificateFailing", HealthyReason: "KubeletCertificateValid",
		HealthyMessage: "kubelet client and serving certificates are valid",
		EventReason:    "KubeletCertificateFailed",
		Description:    "The kubelet's own client or serving certificate expired, cannot be rotated, or its CSR is not signed."},
	{Type: "KubeletCATrustProblem", Category: CATrust,
		ProblemReason: "KubeletCAUntrusted", HealthyReason: "KubeletCATrusted",
		HealthyMessage: "kubelet trusts the API server's CA",
		EventReason:    "KubeletCATrustFailed",
		Description:    "TLS verification of the API server fails: unknown CA, expired or mismatched serving certificate, clock skew."},
	{Type: "KubeletBootstrapProblem", Category: Bootstrap,
		ProblemReason: "KubeletBootstrapFailing", HealthyReason: "KubeletBootstrapOK",
		HealthyMessage: "kubelet TLS bootstrap is not failing",
		EventReason:    "KubeletBootstrapFailed",
		Description:    "TLS bootstrap fails: bootstrap kubeconfig missing or invalid, bootstrap token rejected, CSR denied."},
	{Type: "KubeletAuthorizationProblem", Category: Authorization,
		ProblemReason: "KubeletUnauthorized", HealthyReason: "KubeletAuthorized",
		HealthyMessage: "API server accepts the kubelet's identity",
		EventReason:    "KubeletAuthorizationFailed",
		Description:    "The API server rejects the kubelet: 401, RBAC 403, anonymous requests, NodeRestriction or node authorizer denials."},
	{Type: "KubeletRegistrationProblem", Category: Registration,
		ProblemReason: "KubeletRegistrationFailing", HealthyReason: "KubeletRegistered",
		HealthyMessage: "kubelet registers and updates its node",
		EventReason:    "KubeletRegistrationFailed",
		Description:    "The node cannot register, update its status or renew its lease for a reason other than TLS, auth or connectivity."},
	{Type: "KubeletAPIServerUnreachable", Category: APIServerConnectivity,
		ProblemReason: "KubeletCannotReachAPIServer", HealthyReason: "KubeletReachesAPIServer",
		HealthyMessage: "kubelet reaches the API server",
		EventReason:    "KubeletAPIServerConnectFailed",
		Description:    "The API server cannot be reached: connection refused, timeouts, DNS failures, resets."},
	{Type: "KubeletConfigProblem", Category: KubeletConfig,
		ProblemReason: "KubeletConfigInvalid", HealthyReason: "KubeletConfigValid",
		HealthyMessage: "kubelet configuration loads and validates",
		EventReason:    "KubeletConfigFailed",
		Description:    "The kubelet's config file, drop-ins or flags are missing or invalid, swap is on, or it runs without an API server."},
	{Type: "KubeletRuntimeProblem", Category: Runtime,
		ProblemReason: "KubeletRuntimeFailing", HealthyReason: "KubeletRuntimeHealthy",
		HealthyMessage: "container runtime answers the kubelet",
		EventReason:    "KubeletRuntimeFailed",
		Description:    "The container runtime (CRI) is unreachable, lacks the CRI v1 API, or PLEG/CNI stay not ready."},
	{Type: "KubeletResourceAccessProblem", Category: Resources,
		ProblemReason: "KubeletResourceAccessDenied", HealthyReason: "KubeletResourceAccessOK",
		HealthyMessage: "kubelet can write its host paths and sockets",
		EventReason:    "KubeletResourceAccessFailed",
		Description:    "The kubelet cannot create its directories or sockets: permission denied, read-only file system, port in use."},
	{Type: "KubeletDNSProblem", Category: DNS,
		ProblemReason: "KubeletDNSConfigInvalid", HealthyReason: "KubeletDNSConfigValid",
		HealthyMessage: "kubelet's resolv.conf and cluster DNS settings are usable",
		EventReason:    "KubeletDNSConfigFailed",
		Description:    "Pod DNS cannot be formed as configured: resolv.conf missing or over limits, clusterDNS invalid or missing."},
	{Type: "KubeletStartupProblem", Category: "",
		ProblemReason: "KubeletCrashLooping", HealthyReason: "KubeletRunning",
		HealthyMessage: "kubelet is running",
		EventReason:    "KubeletStartFailed",
		Description:    "The kubelet exits and systemd restarts it (fatal errors, exit status, restart counter)."},
}

// Hints shared by several rules.
const (
	// hintRestricted: what the kubelet only logs when a restricted
	// environment refuses a tuning step; it runs on.
	hintRestricted  = "harmless: the kubelet runs on without it (restricted environment: sandbox, user namespace or no access to PID 1's namespaces)"
	hintCA          = "kubelet's CA differs from the API server's: compare certificate-authority-data in /etc/kubernetes/kubelet.conf with the cluster CA"
	hintConn        = "check that the server: address in /etc/kubernetes/kubelet.conf is right and the API server or its load balancer is up and reachable from this node"
	hintAuth        = "the API server rejects the kubelet's credentials: check /var/lib/kubelet/pki/kubelet-client-current.pem (openssl x509 -enddate -issuer) against the cluster CA"
	hintBootToken   = "the bootstrap token in /etc/kubernetes/bootstrap-kubelet.conf is expired or deleted: create one (kubeadm token create) and re-join"
	hintRegister    = "kubelet cannot create or update its Node object: read the error and kubectl get node; check the API server's logs for the request"
	hintLease       = "node lease renewal fails: check API server reachability and the kube-node-lease namespace; persistent failures make the node NotReady"
	hintNotFound    = "the Node object does not exist yet or was deleted: normal for a minute at first start; if it persists, check registration errors above"
	hintCSRPending  = "CSR not approved in time: kubectl get csr; serving CSRs (serverTLSBootstrap) need an approver, client CSRs need the csrapprover RBAC bindings"
	hintClientCert  = "the kubelet's client certificate expired: restore or renew /var/lib/kubelet/pki/kubelet-client-current.pem (kubeadm: re-join or kubeadm certs renew on the control plane)"
	hintCertRequest = "certificate rotation cannot get a new certificate: check the CSR objects (kubectl get csr) and the error after the message"
	hintRuntimeSock = "the container runtime is not running or listens elsewhere: systemctl status containerd (or crio); compare containerRuntimeEndpoint with the socket"
	hintCRI         = "the container runtime fails CRI calls: check systemctl status and the logs of containerd/CRI-O; crictl info"
	hintCNI         = "no CNI network is configured yet: normal until the CNI DaemonSet runs; if it persists check /etc/cni/net.d and the CNI pods on this node"
	hintConfigFile  = "fix the kubelet config file (--config, default /var/lib/kubelet/config.yaml): kubeadm writes it at join from the kubelet-config ConfigMap"
	hintFlags       = "a kubelet flag is unknown or invalid (removed in this version?): check KUBELET_KUBEADM_ARGS in /var/lib/kubelet/kubeadm-flags.env and the unit drop-ins"
	hintHostPath    = "the kubelet cannot write a host path: check mounts (read-only root, immutable OS), SELinux/AppArmor denials and that the kubelet runs as root"
	hintDNS         = "fix resolvConf in the kubelet config (and the file it points to): at most 3 nameservers and 32 search domains are used"
	hintStartup     = "the kubelet exits at start: the error after the message says why; journalctl -u kubelet -b shows the sequence"
)

var rules = []Rule{
	// ---- lifecycle markers: systemd's own entries about the unit (any unit
	// name) and the kubelet's start banner.
	{ID: "systemd-exited", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, Lifecycle: LifecycleExited,
		Literal: "Main process exited, code=", Pattern: `Main process exited, code=\w+, status=[1-9]`,
		Label: "kubelet exited", Hint: hintStartup},
	{ID: "systemd-failed-result", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, Lifecycle: LifecycleExited,
		Literal: "Failed with result '", Pattern: `Failed with result '`,
		Label: "kubelet exited", Hint: hintStartup},
	{ID: "systemd-start-limit", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, Lifecycle: LifecycleExited,
		Literal: "Start request repeated too quickly", Pattern: `Start request repeated too quickly`,
		Label: "kubelet start limit hit", Hint: hintStartup},
	{ID: "systemd-failed-state", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, Lifecycle: LifecycleExited,
		Literal: "entered failed state", Pattern: `entered failed state`,
		Label: "kubelet exited", Hint: hintStartup},
	{ID: "systemd-failed-start", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, AtStart: true, Lifecycle: LifecycleExited,
		Literal: "Failed to start ", Pattern: `Failed to start .*\.$`,
		Label: "kubelet failed to start", Hint: hintStartup},
	{ID: "systemd-restart", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, Lifecycle: LifecycleRestart,
		Literal: "Scheduled restart job", Pattern: `Scheduled restart job`,
		Label: "kubelet restart scheduled", Hint: hintStartup},
	{ID: "systemd-restart-legacy", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, Lifecycle: LifecycleRestart,
		Literal: "scheduling restart", Pattern: `scheduling restart`,
		Label: "kubelet restart scheduled", Hint: hintStartup},
	{ID: "systemd-started", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, AtStart: true, Lifecycle: LifecycleStarted,
		Literal: "Started ", Pattern: `Started .*\.$`,
		Label: "kubelet started", Hint: "systemd started the kubelet unit"},
	{ID: "systemd-stopped", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, AtStart: true, Lifecycle: LifecycleStopped,
		Literal: "Stopped ", Pattern: `Stopped .*\.$`,
		Label: "kubelet stopped", Hint: "systemd stopped the kubelet unit on request"},
	{ID: "systemd-deactivated", Kind: KindLifecycle, Ref: "3.7", NoHeader: true, Lifecycle: LifecycleStopped,
		Literal: "Deactivated successfully", Pattern: `Deactivated successfully`,
		Label: "kubelet stopped", Hint: "systemd stopped the kubelet unit on request"},
	{ID: "kubelet-version", Kind: KindLifecycle, Ref: "K13", Info: true, Lifecycle: LifecycleStarted,
		Literal: "Kubelet version", Pattern: `Kubelet version`,
		Label: "kubelet started", Hint: "the kubelet's start banner"},
	{ID: "kubelet-version-legacy", Kind: KindLifecycle, Ref: "K13", Info: true, AtStart: true, Lifecycle: LifecycleStarted,
		Literal: "Version: v", Pattern: `Version: v\d+\.\d+`,
		Label: "kubelet started", Hint: "the kubelet's start banner (<= 1.20)"},

	// ---- recovery markers (info level).
	{ID: "registered", Kind: KindRecovery, Ref: "R2", Info: true,
		Recovers: []Category{Registration, Authorization, CATrust, Bootstrap, APIServerConnectivity},
		Literal:  "Successfully registered node", Pattern: `Successfully registered node`,
		Label: "node registered", Hint: "the node registered with the API server"},
	{ID: "previously-registered", Kind: KindRecovery, Ref: "R7", Info: true,
		Recovers: []Category{Registration, APIServerConnectivity, CATrust},
		Literal:  "Node was previously registered", Pattern: `Node was previously registered`,
		Label: "node already registered", Hint: "the API server answered that the node exists"},
	{ID: "fast-status", Kind: KindRecovery, Ref: "3.11", Info: true,
		Recovers: []Category{Registration, APIServerConnectivity},
		Literal:  "Fast updating node status as it just became ready", Pattern: `Fast updating node status as it just became ready`,
		Label: "node status updated", Hint: "the node became ready and its status was written"},
	{ID: "cert-rotated", Kind: KindRecovery, Ref: "C13", Info: true,
		Recovers: []Category{Certificate, Bootstrap},
		Literal:  "Certificate rotation detected, shutting down client connections", Pattern: `Certificate rotation detected, shutting down client connections`,
		Label: "client certificate rotated", Hint: "a new client certificate is in use"},
	{ID: "csr-issued", Kind: KindRecovery, Ref: "B11", Info: true,
		Recovers: []Category{Certificate, Bootstrap},
		Literal:  "ertificate signing request ", Pattern: `ertificate signing request (?:\S+ )?is issued`,
		Label: "certificate issued", Hint: "the CSR was signed"},
	{ID: "podresources-serving", Kind: KindRecovery, Ref: "3.9", Info: true,
		Recovers: []Category{Resources},
		Literal:  "Starting to serve the podresources API", Pattern: `Starting to serve the podresources API`,
		Label: "pod-resources API served", Hint: "the pod-resources socket is listening"},
	{ID: "sync-loop", Kind: KindRecovery, Ref: "3.11", Info: true,
		// Reached only after the config file, drop-ins and flags loaded and
		// validated: fatal config errors of earlier starts are over (what
		// this start logged once, such as lenient decoding, still holds).
		Recovers: []Category{KubeletConfig},
		Literal:  "Starting kubelet main sync loop", Pattern: `Starting kubelet main sync loop`,
		Label: "kubelet main loop started", Hint: "the kubelet loaded its configuration and entered its main loop"},
	{ID: "cgroup-driver-from-cri", Kind: KindRecovery, Ref: "K8", Info: true,
		Recovers: []Category{Runtime},
		Literal:  "Using cgroup driver setting received from the CRI runtime", Pattern: `Using cgroup driver setting received from the CRI runtime`,
		Label: "runtime answered", Hint: "the runtime answered the kubelet's RuntimeConfig call"},

	// ---- certificate manager and transport (certificate). Before the
	// bootstrap CSR rule: "Failed while requesting a signed certificate ...:
	// cannot create certificate signing request: <x>" is decided here.
	{ID: "client-cert-expired-exit", Kind: KindMessage, Category: Certificate, Ref: "C10", Fatal: true,
		Literal: "client certificate has expired and the server is responsive, exiting",
		Pattern: `client certificate has expired and the server is responsive, exiting`,
		Label:   "client cert expired", Hint: hintClientCert},
	{ID: "client-cert-expired", Kind: KindMessage, Category: Certificate, Ref: "C11",
		Literal: "urrently active client certificate has expired", Pattern: `urrently active client certificate has expired`,
		Label: "client cert expired", Hint: hintClientCert},
	{ID: "no-valid-client-cert-exit", Kind: KindMessage, Category: Certificate, Ref: "C12", Fatal: true,
		Literal: "No valid client certificate is found and the server is responsive, exiting",
		Pattern: `No valid client certificate is found and the server is responsive, exiting`,
		Label:   "no valid client cert", Hint: hintClientCert},
	{ID: "no-valid-client-cert", Kind: KindMessage, Category: Certificate, Ref: "C12",
		Literal: "No valid client certificate is found", Pattern: `No valid client certificate is found`,
		Label: "no valid client cert", Hint: hintClientCert},
	{ID: "cert-request-failed", Kind: KindMessage, Category: Certificate, Ref: "C4", Signer: true,
		Causes: CauseTrust | CauseCert | CauseConn | CauseCSR | CauseAuth, AuthAs: Bootstrap,
		Literal: "ailed while requesting a signed certificate from the ",
		Pattern: `ailed while requesting a signed certificate from the (?:control plane|master)`,
		Label:   "certificate request failed", Hint: hintCertRequest},
	{ID: "cert-not-signed", Kind: KindMessage, Category: Certificate, Ref: "C5", Signer: true,
		Causes:  CauseTrust | CauseCSR,
		Literal: "ertificate request was not signed", Pattern: `ertificate request was not signed`,
		Label: "CSR not signed", Hint: hintCSRPending},
	{ID: "cert-backoff", Kind: KindMessage, Category: Certificate, Ref: "C6", Signer: true,
		Causes: CauseTrust | CauseCert | CauseConn | CauseCSR | CauseAuth, AuthAs: Bootstrap,
		Literal: "Reached backoff limit, still unable to rotate certs", Pattern: `Reached backoff limit, still unable to rotate certs`,
		Label: "certificate rotation failing", Hint: hintCertRequest},
	{ID: "cert-csr-generate", Kind: KindMessage, Category: Certificate, Ref: "C7", Signer: true,
		Literal: "nable to generate a certificate signing request", Pattern: `nable to generate a certificate signing request`,
		Label: "CSR generation failed", Hint: "the certificate manager cannot build a CSR: check the private key files in /var/lib/kubelet/pki"},
	{ID: "cert-client-load", Kind: KindMessage, Category: Certificate, Ref: "C7", Signer: true,
		Causes: CauseTrust | CauseCert | CauseConn | CauseAuth, AuthAs: Bootstrap,
		Literal: "nable to load a client to request certificates", Pattern: `nable to load a client to request certificates`,
		Label: "no client to request certificates", Hint: hintCertRequest},
	{ID: "cert-store", Kind: KindMessage, Category: Certificate, Ref: "C7", Signer: true,
		Causes:  CauseHostPath,
		Literal: "nable to store the new cert/key pair", Pattern: `nable to store the new cert/key pair`,
		Label: "new certificate not stored", Hint: "the certificate manager cannot write /var/lib/kubelet/pki: check permissions and free space"},
	{ID: "cert-bootstrap-set", Kind: KindMessage, Category: Certificate, Ref: "C7", Signer: true,
		Literal: "nable to set the cert/key pair to the bootstrap certificate", Pattern: `nable to set the cert/key pair to the bootstrap certificate`,
		Label: "bootstrap certificate unusable", Hint: hintCertRequest},
	{ID: "cert-expired-current", Kind: KindMessage, Category: Certificate, Ref: "C8", Info: true, BootTransient: true, Signer: true,
		Literal: "urrent certificate is expired", Pattern: `urrent certificate is expired`,
		Label: "current certificate expired", Hint: "the certificate on disk is expired; rotation must replace it: watch for CSR errors that follow"},
	{ID: "cert-pair-invalid", Kind: KindMessage, Category: Certificate, Ref: "C15",
		Causes:  CauseCert,
		Literal: "invalid certificate and key pair from file", Pattern: `invalid certificate and key pair from file`,
		Label: "serving cert/key pair invalid", Hint: "tlsCertFile/tlsPrivateKeyFile of the kubelet config do not form a valid pair: check both files"},
	{ID: "serving-cert-missing", Kind: KindMessage, Category: Certificate, Ref: "C14", Info: true, Capture: 1,
		Literal: "no serving certificate available for the kubelet",
		Pattern: `TLS handshake error from (\S+?):\d+: no serving certificate available for the kubelet`,
		Label:   "serving certificate missing", Hint: "the kubelet-serving CSR is Pending: kubectl get csr and approve it, or run an approver (serverTLSBootstrap needs one)"},
	{ID: "serving-cert-missing-any", Kind: KindMessage, Category: Certificate, Ref: "C14", Info: true,
		Literal: "no serving certificate available for the kubelet", Pattern: `no serving certificate available for the kubelet`,
		Label: "serving certificate missing", Hint: "the kubelet-serving CSR is Pending: kubectl get csr and approve it, or run an approver (serverTLSBootstrap needs one)"},
	{ID: "cert-manager-init", Kind: KindMessage, Category: Certificate, Ref: "C7",
		Causes:  CauseCert | CauseHostPath,
		Literal: " certificate manager", Pattern: `ailed to initialize (?:client|serving) certificate manager`,
		Label: "certificate manager failed", Hint: "the certificate files in /var/lib/kubelet/pki cannot be loaded: check kubelet-client-current.pem and its key"},
	{ID: "bootstrap-cert-expired", Kind: KindMessage, Category: Certificate, Ref: "B8", Capture: 1,
		Literal: "xisting bootstrap client certificate", Pattern: `art of the existing bootstrap client certificate(?: in (\S+))? is expired`,
		Label: "client cert expired", Hint: hintClientCert},

	// ---- TLS bootstrap (bootstrap).
	{ID: "bootstrap-kubeconfig-missing", Kind: KindMessage, Category: Bootstrap, Ref: "B1", Capture: 1, Fatal: true,
		Literal: "nable to load bootstrap kubeconfig: ", Pattern: `nable to load bootstrap kubeconfig: stat (\S+): no such file or directory`,
		Label: "bootstrap kubeconfig missing", Hint: "no client certificate and no /etc/kubernetes/bootstrap-kubelet.conf (kubeadm deletes it after join): restore the client cert or re-join the node"},
	{ID: "bootstrap-kubeconfig", Kind: KindMessage, Category: Bootstrap, Ref: "B1", Fatal: true,
		Literal: "nable to load bootstrap kubeconfig", Pattern: `nable to load bootstrap kubeconfig`,
		Label: "bootstrap kubeconfig invalid", Hint: "fix or regenerate /etc/kubernetes/bootstrap-kubelet.conf (kubeadm join writes it)"},
	{ID: "kubeconfig-load", Kind: KindMessage, Category: Bootstrap, Ref: "B2", Fatal: true,
		Literal: "nable to load kubeconfig", Pattern: `nable to load kubeconfig`,
		Label: "kubeconfig unloadable", Hint: "fix /etc/kubernetes/kubelet.conf (--kubeconfig) or delete it so the kubelet bootstraps again"},
	{ID: "kubeconfig-client-cert", Kind: KindMessage, Category: Bootstrap, Ref: "B3", Capture: 1, Fatal: true,
		Literal: "unable to read client-", Pattern: `unable to read client-(?:cert|key) (\S+)`,
		Label: "kubeconfig client cert unreadable", Hint: "kubelet.conf points at a client cert/key that is missing: restore /var/lib/kubelet/pki or re-bootstrap with a bootstrap kubeconfig"},
	{ID: "kubeconfig-invalid", Kind: KindMessage, Category: Bootstrap, Ref: "B3", Fatal: true,
		Literal: "invalid kubeconfig", Pattern: `invalid kubeconfig`,
		Label: "kubeconfig invalid", Hint: "fix /etc/kubernetes/kubelet.conf (--kubeconfig): server, CA and client credentials must all be readable"},
	{ID: "csr-client", Kind: KindMessage, Category: Bootstrap, Ref: "B12", Fatal: true,
		Literal: "nable to create certificates signing request client", Pattern: `nable to create certificates signing request client`,
		Label: "CSR client not created", Hint: "the bootstrap kubeconfig cannot be turned into a client: check /etc/kubernetes/bootstrap-kubelet.conf"},
	{ID: "bootstrap-cert-store", Kind: KindMessage, Category: Bootstrap, Ref: "B12", Fatal: true,
		Causes:  CauseHostPath,
		Literal: "nable to build bootstrap cert store", Pattern: `nable to build bootstrap cert store`,
		Label: "bootstrap cert store failed", Hint: "the kubelet cannot use its certificate directory (--cert-dir, /var/lib/kubelet/pki): check it exists and is writable"},
	{ID: "csr-create-failed", Kind: KindMessage, Category: Bootstrap, Ref: "B9",
		Causes: CauseTrust | CauseConn | CauseCSR | CauseAuth, AuthAs: Bootstrap,
		Literal: "cannot create certificate signing request", Pattern: `cannot create certificate signing request`,
		Label: "CSR creation failed", Hint: hintBootToken},
	{ID: "bootstrap-connect", Kind: KindMessage, Category: Bootstrap, Ref: "B6", Info: true, BootTransient: true,
		Causes: apiCauses, AuthAs: Bootstrap,
		Literal: "Failed to connect to apiserver", Pattern: `Failed to connect to apiserver`,
		Label: "bootstrap cannot reach API server", Hint: hintBootToken},
	{ID: "bootstrap-wait", Kind: KindMessage, Category: Bootstrap, Ref: "B7", Info: true, BootTransient: true,
		Causes: apiCauses, AuthAs: Bootstrap,
		Literal: "Error waiting for apiserver to come up", Pattern: `Error waiting for apiserver to come up`,
		Label: "bootstrap waiting for API server", Hint: hintBootToken},

	// ---- registration, node status, lease (registration unless the cause
	// decides otherwise).
	{ID: "register-forbidden", Kind: KindMessage, Category: Authorization, Ref: "R4",
		Causes:  CauseTrust | CauseAuth,
		Literal: "Unable to register node with API server, reason is forbidden", Pattern: `Unable to register node with API server, reason is forbidden`,
		Label: "node registration forbidden", Hint: hintAuth},
	{ID: "register-get-existing", Kind: KindMessage, Category: Registration, Ref: "R5",
		Causes:  apiCauses,
		Literal: "error getting existing node", Pattern: `nable to register node (?:"[^"]*" )?with API server(?:, |: )error getting existing node`,
		Label: "node registration failed", Hint: hintRegister},
	{ID: "register-no-instance", Kind: KindMessage, Category: Registration, Ref: "R6", Info: true,
		Literal: "no node instance returned", Pattern: `no node instance returned`,
		Label: "no node instance returned", Hint: "the kubelet could not build its Node object (cloud provider?): check the messages just before"},
	{ID: "register-node", Kind: KindMessage, Category: Registration, Ref: "R3", Info: true,
		Causes:  apiCauses,
		Literal: "nable to register ", Pattern: `nable to register (?:node (?:"[^"]*" )?|\S+ )with (?:the )?(?:API server|apiserver)`,
		Label: "node registration failed", Hint: hintRegister},
	{ID: "node-status-update", Kind: KindMessage, Category: Registration, Ref: "R8 R9",
		Causes:  apiCauses,
		Literal: "rror updating node status, will retry", Pattern: `rror updating node status, will retry`,
		Label: "node status update failing", Hint: hintRegister},
	{ID: "node-status-unable", Kind: KindMessage, Category: Registration, Ref: "R10",
		Causes:  apiCauses,
		Literal: "nable to update node status", Pattern: `nable to update node status`,
		Label: "node status update failing", Hint: hintRegister},
	{ID: "node-lister", Kind: KindMessage, Category: Registration, Ref: "R12", BootTransient: true,
		Causes:  apiCauses,
		Literal: "Error getting the current node from lister", Pattern: `Error getting the current node from lister`,
		Label: "node not registered", Hint: hintNotFound},
	{ID: "error-getting-node", Kind: KindMessage, Category: Registration, Ref: "R12", BootTransient: true,
		Causes:  apiCauses,
		Literal: "Error getting node", Pattern: `Error getting node`,
		Label: "node not registered", Hint: hintNotFound},
	{ID: "node-info-fatal", Kind: KindMessage, Category: Registration, Ref: "R18", Fatal: true,
		Causes:  apiCauses,
		Literal: "Kubelet failed to get node info", Pattern: `Kubelet failed to get node info`,
		Label: "node info unavailable", Hint: "the kubelet cannot build its Node (cloud provider instance lookup, cadvisor): read the error after the message"},
	{ID: "eviction-node-not-found", Kind: KindMessage, Category: Registration, Ref: "R13", BootTransient: true, Capture: 1,
		Literal: "ailed to get node info: node \"", Pattern: `ailed to get node info: node "([^"]*)" not found`,
		Label: "node not registered", Hint: hintNotFound},
	{ID: "lease-ensure", Kind: KindMessage, Category: Registration, Ref: "R14", BootTransient: true,
		Causes:  apiCauses,
		Literal: "lease exists", Pattern: `ailed to ensure (?:node )?lease exists`,
		Label: "node lease not created", Hint: hintLease},
	{ID: "lease-fallback", Kind: KindMessage, Category: Registration, Ref: "R16", Info: true, BootTransient: true,
		Causes:  apiCauses,
		Literal: "ailed to update lease using latest lease", Pattern: `ailed to update lease using latest lease`,
		Label: "node lease update failing", Hint: hintLease},
	{ID: "lease-update", Kind: KindMessage, Category: Registration, Ref: "R15", BootTransient: true,
		Causes:  apiCauses,
		Literal: "ailed to update ", Pattern: `ailed to update (?:node )?lease`,
		Label: "node lease update failing", Hint: hintLease},
	{ID: "node-status-fields", Kind: KindMessage, Category: Registration, Ref: "R8",
		Causes:  apiCauses,
		Literal: "ailed to set some node status fields", Pattern: `ailed to set some node status fields`,
		Label: "node status fields not set", Hint: "the kubelet cannot determine part of its status (node IP, addresses): check --node-ip and the default route"},
	{ID: "csinode-init", Kind: KindMessage, Category: Registration, Ref: "3.6",
		Causes:  apiCauses,
		Literal: "ailed to initialize CSINode", Pattern: `ailed to initialize CSINode`,
		Label: "CSINode not initialized", Hint: "the kubelet cannot write its CSINode object: check API server reachability and version skew"},
	{ID: "csinode-contact", Kind: KindMessage, Category: APIServerConnectivity, Ref: "3.6", Info: true, BootTransient: true,
		Causes:  apiCauses,
		Literal: "ailed to contact API server when waiting for CSINode publishing", Pattern: `ailed to contact API server when waiting for CSINode publishing`,
		Label: "API server unreachable", Hint: hintConn},

	// ---- kubelet configuration and flags (kubelet-config).
	{ID: "config-file-missing", Kind: KindMessage, Category: KubeletConfig, Ref: "K2", Capture: 1, Fatal: true,
		Literal: "ailed to read kubelet config file \"",
		Pattern: `ailed to read kubelet config file "([^"]+)", error: open [^:]+: no such file or directory`,
		Label:   "kubelet config file missing", Hint: hintConfigFile},
	{ID: "config-file", Kind: KindMessage, Category: KubeletConfig, Ref: "K2", Capture: 1, Fatal: true,
		Causes:  CauseConfig,
		Literal: "ubelet config file", Pattern: `ailed to load [Kk]ubelet config file(?:, error: failed to load Kubelet config file|, path:)? (/[^\s,]+)`,
		Label: "kubelet config file invalid", Hint: hintConfigFile},
	{ID: "config-file-any", Kind: KindMessage, Category: KubeletConfig, Ref: "K2", Fatal: true,
		Causes:  CauseConfig,
		Literal: "ubelet config file", Pattern: `ailed to load [Kk]ubelet config file`,
		Label: "kubelet config file invalid", Hint: hintConfigFile},
	{ID: "config-dropin", Kind: KindMessage, Category: KubeletConfig, Ref: "K3", Fatal: true,
		Causes:  CauseConfig,
		Literal: "kubelet dropin", Pattern: `kubelet dropin`,
		Label: "kubelet drop-in config invalid", Hint: "fix the files in the kubelet's drop-in directory (--config-dir, e.g. /etc/kubernetes/kubelet.conf.d)"},
	{ID: "config-dropin-merge", Kind: KindMessage, Category: KubeletConfig, Ref: "K3", Fatal: true,
		Causes:  CauseConfig,
		Literal: "ailed to merge drop-in", Pattern: `ailed to merge drop-in`,
		Label: "kubelet drop-in config invalid", Hint: "fix the files in the kubelet's drop-in directory (--config-dir, e.g. /etc/kubernetes/kubelet.conf.d)"},
	{ID: "unknown-flag", Kind: KindMessage, Category: KubeletConfig, Ref: "K4", Capture: 1, Fatal: true,
		Literal: "unknown flag: ", Pattern: `unknown flag: (\S+)`,
		Label: "unknown kubelet flag", Hint: hintFlags},
	{ID: "unknown-shorthand-flag", Kind: KindMessage, Category: KubeletConfig, Ref: "K4", Capture: 1, Fatal: true,
		Literal: "unknown shorthand flag: ", Pattern: `unknown shorthand flag: (\S+)`,
		Label: "unknown kubelet flag", Hint: hintFlags},
	{ID: "config-flags", Kind: KindMessage, Category: KubeletConfig, Ref: "K4", Fatal: true,
		Literal: "ailed to validate kubelet flags", Pattern: `ailed to validate kubelet flags`,
		Label: "kubelet flags invalid", Hint: hintFlags},
	{ID: "config-validate", Kind: KindMessage, Category: KubeletConfig, Ref: "K5", Fatal: true,
		Literal: "ailed to validate kubelet configuration", Pattern: `ailed to validate kubelet configuration`,
		Label: "kubelet config invalid", Hint: hintConfigFile},
	{ID: "swap-on", Kind: KindMessage, Category: KubeletConfig, Ref: "K7", Fatal: true,
		Literal: "unning with swap on is not supported", Pattern: `unning with swap on is not supported`,
		Label: "swap is on", Hint: "disable swap (swapoff -a and /etc/fstab) or set failSwapOn: false in the kubelet config"},
	{ID: "cgroup-driver-mismatch", Kind: KindMessage, Category: KubeletConfig, Ref: "K8", Capture: 1, Fatal: true,
		Literal: "misconfiguration: kubelet cgroup driver: ",
		Pattern: `misconfiguration: (kubelet cgroup driver: "[^"]*" is different from docker cgroup driver: "[^"]*")`,
		Label:   "cgroup driver mismatch", Hint: "set the same cgroup driver (systemd) in the kubelet config (cgroupDriver) and the runtime"},
	{ID: "cgroup-driver-unknown", Kind: KindMessage, Category: KubeletConfig, Ref: "K8",
		Literal: "runtime returned an unknown cgroup driver", Pattern: `runtime returned an unknown cgroup driver`,
		Label: "runtime cgroup driver unknown", Hint: "the runtime reports a cgroup driver the kubelet does not know: align containerd/CRI-O SystemdCgroup with the kubelet"},
	{ID: "cgroups-per-qos", Kind: KindMessage, Category: KubeletConfig, Ref: "K9", Fatal: true,
		Literal: "cgroups-per-qos was specified and cgroup-root was not specified", Pattern: `cgroups-per-qos was specified and cgroup-root was not specified`,
		Label: "cgroups-per-qos without cgroup-root", Hint: "set cgroupRoot in the kubelet config or disable cgroupsPerQOS"},
	{ID: "invalid-config", Kind: KindMessage, Category: KubeletConfig, Ref: "K5 K9", Capture: 1,
		Literal: "invalid configuration: ", Pattern: `invalid configuration: ([^"]*)`,
		Label: "kubelet config invalid", Hint: hintConfigFile},
	{ID: "lenient-decoding", Kind: KindMessage, Category: KubeletConfig, Ref: "K6", Info: true,
		Causes:  CauseConfig,
		Literal: "Using lenient decoding as strict decoding failed", Pattern: `Using lenient decoding as strict decoding failed`,
		Label: "kubelet config has unknown fields", Hint: "the kubelet config has a field this kubelet does not know (typo or version drift): remove or fix it"},
	{ID: "standalone", Kind: KindMessage, Category: KubeletConfig, Ref: "K12", Info: true,
		Literal: "Standalone mode, no API client", Pattern: `Standalone mode, no API client`,
		Label: "no API server configured", Hint: "the kubelet runs without --kubeconfig: on a node meant to join, the kubeadm flags or kubelet.conf are missing"},
	{ID: "no-api-server", Kind: KindMessage, Category: KubeletConfig, Ref: "K12", Info: true,
		Literal: " server defined", Pattern: `No (?:API|api) server defined`,
		Label: "no API server configured", Hint: "the kubelet runs without --kubeconfig: on a node meant to join, the kubeadm flags or kubelet.conf are missing"},
	{ID: "client-ca-file", Kind: KindMessage, Category: CATrust, Ref: "3.4", Capture: 1,
		Literal: "nable to load client CA file", Pattern: `nable to load client CA file "?(/[^\s":]+)`,
		Label: "client CA file unreadable", Hint: "authentication.x509.clientCAFile of the kubelet config points at a missing or invalid CA file (kubeadm: /etc/kubernetes/pki/ca.crt)"},

	// ---- container runtime (runtime).
	{ID: "cri-validate", Kind: KindMessage, Category: Runtime, Ref: "3.8", Fatal: true,
		Causes:  criCauses,
		Literal: "CRI v1 runtime API", Pattern: `CRI v1 runtime API`,
		Label: "CRI v1 API unavailable", Hint: hintRuntimeSock},
	{ID: "cri-validate-image", Kind: KindMessage, Category: Runtime, Ref: "3.8", Fatal: true,
		Causes:  criCauses,
		Literal: "CRI v1 image API", Pattern: `CRI v1 image API`,
		Label: "CRI v1 API unavailable", Hint: hintRuntimeSock},
	{ID: "cri-api-version", Kind: KindMessage, Category: Runtime, Ref: "3.8", Fatal: true,
		Causes:  criCauses,
		Literal: "nable to determine runtime API version", Pattern: `nable to determine runtime API version`,
		Label: "runtime API version unknown", Hint: hintRuntimeSock},
	{ID: "cri-typed-version", Kind: KindMessage, Category: Runtime, Ref: "3.8",
		Causes:  criCauses,
		Literal: "get remote runtime typed version failed", Pattern: `get remote runtime typed version failed`,
		Label: "runtime version call failed", Hint: hintRuntimeSock},
	{ID: "cri-connect", Kind: KindMessage, Category: Runtime, Ref: "3.8",
		Causes:  criCauses,
		Literal: "Connect remote ", Pattern: `Connect remote (?:runtime|image)`,
		Label: "runtime connection failed", Hint: hintRuntimeSock},
	{ID: "network-not-ready", Kind: KindMessage, Category: Runtime, Ref: "3.8", BootTransient: true,
		Literal: "Container runtime network not ready", Pattern: `Container runtime network not ready`,
		Label: "CNI not ready", Hint: hintCNI},
	{ID: "runtime-not-ready", Kind: KindMessage, Category: Runtime, Ref: "3.8",
		Causes:  criCauses,
		Literal: "Container runtime not ready", Pattern: `Container runtime not ready`,
		Label: "container runtime not ready", Hint: hintCRI},
	{ID: "sanity-check", Kind: KindMessage, Category: Runtime, Ref: "3.8",
		Causes:  criCauses,
		Literal: "Container runtime sanity check failed", Pattern: `Container runtime sanity check failed`,
		Label: "runtime sanity check failed", Hint: hintCRI},
	{ID: "pod-sync-skipped", Kind: KindMessage, Category: Runtime, Ref: "3.8", BootTransient: true,
		Causes:  CauseRuntimeDown | CauseRuntime,
		Literal: "Skipping pod synchronization", Pattern: `Skipping pod synchronization`,
		Label: "pod sync skipped", Hint: "the runtime or PLEG is not healthy: normal for seconds after start; if it persists check the runtime (crictl info)"},
	{ID: "cni-update", Kind: KindMessage, Category: Runtime, Ref: "3.8", BootTransient: true, Info: true,
		Literal: "nable to update cni config", Pattern: `nable to update cni config`,
		Label: "CNI not ready", Hint: hintCNI},
	{ID: "cri-runtime-call", Kind: KindMessage, Category: Runtime, Ref: "3.8",
		Causes:  criCauses,
		Literal: "from runtime service failed", Pattern: `from runtime service failed`,
		Label: "runtime call failed", Hint: hintCRI},
	{ID: "cri-image-call", Kind: KindMessage, Category: Runtime, Ref: "3.8",
		Causes:  criCauses,
		Literal: "from image service failed", Pattern: `from image service failed`,
		Label: "image service call failed", Hint: hintCRI},

	// ---- host paths, sockets, permissions (resources).
	{ID: "podresources-listener", Kind: KindMessage, Category: Resources, Ref: "3.9", Fatal: true,
		Causes:  CauseHostPath,
		Literal: "ailed to create listener for podResources endpoint", Pattern: `ailed to create listener for podResources endpoint`,
		Label: "pod-resources socket not created", Hint: "the kubelet cannot create /var/lib/kubelet/pod-resources/kubelet.sock: check the directory exists, is writable and not read-only"},
	{ID: "dir-create", Kind: KindMessage, Category: Resources, Ref: "3.9",
		Causes:  CauseHostPath,
		Literal: "error creating ", Pattern: `error creating (?:root|pods|plugins|plugins registry|podresources|checkpoint|pod logs root) directory`,
		Label: "kubelet directory not created", Hint: hintHostPath},
	{ID: "dir-log", Kind: KindMessage, Category: Resources, Ref: "3.9", Capture: 1,
		Causes:  CauseHostPath,
		Literal: " directory \"", Pattern: `ailed to (?:create|set permissions on) directory "([^"]*)"`,
		Label: "kubelet directory not created", Hint: hintHostPath},
	{ID: "root-dir-missing", Kind: KindMessage, Category: Resources, Ref: "3.9", Capture: 1,
		Literal: "rootDirectory \"", Pattern: `rootDirectory "([^"]*)" does not exist`,
		Label: "kubelet root directory missing", Hint: "create the kubelet root directory (--root-dir, default /var/lib/kubelet)"},
	{ID: "root-dir-invalid", Kind: KindMessage, Category: Resources, Ref: "3.9",
		Literal: "invalid root directory", Pattern: `invalid root directory`,
		Label: "kubelet root directory invalid", Hint: "fix --root-dir: it must be an existing absolute directory"},
	// The kubelet only logs these and runs on (cm/container_manager_linux.go,
	// cmd/kubelet/app/server.go): an OOM score or rlimit it may not set in a
	// restricted environment (sandbox, user namespace, no access to
	// /proc/1/ns/pid) is not a node problem. Guards, so explain says so.
	{ID: "oom-score", Kind: KindGuard, Category: None, Ref: "3.9",
		Literal: "ailed to ensure process in container with oom score", Pattern: `ailed to ensure process in container with oom score`,
		Label: "OOM score not adjusted", Hint: hintRestricted},
	{ID: "oom-score-apply", Kind: KindGuard, Category: None, Ref: "3.9", Info: true,
		Literal: "Failed to ApplyOOMScoreAdj", Pattern: `Failed to ApplyOOMScoreAdj`,
		Label: "OOM score not adjusted", Hint: hintRestricted},
	{ID: "rlimit", Kind: KindGuard, Category: None, Ref: "3.9",
		Literal: "Failed to set rlimit on max file handles", Pattern: `Failed to set rlimit on max file handles`,
		Label: "file-handle rlimit not raised", Hint: hintRestricted},
	{ID: "listen-serve", Kind: KindMessage, Category: Resources, Ref: "3.9", Fatal: true,
		Causes:  CauseHostPath,
		Literal: "ailed to listen and serve", Pattern: `ailed to listen and serve`,
		Label: "kubelet cannot listen", Hint: "another process holds the kubelet's port (10250): ss -ltnp | grep 10250 (a second kubelet?)"},
	{ID: "internal-modules", Kind: KindMessage, Category: Resources, Ref: "K11", Fatal: true,
		Causes:  CauseHostPath | CauseRuntimeDown,
		Literal: "Failed to initialize internal modules", Pattern: `Failed to initialize internal modules`,
		Label: "kubelet modules not initialized", Hint: hintHostPath},
	{ID: "container-manager", Kind: KindMessage, Category: KubeletConfig, Ref: "K10", Fatal: true,
		Causes:  CauseHostPath | CauseRuntimeDown,
		Literal: "Failed to start ContainerManager", Pattern: `Failed to start ContainerManager`,
		Label: "container manager failed", Hint: "cgroups are not as the kubelet config expects (cgroupDriver, cgroupRoot, cgroup subsystems, kernel flags): read the error after the message"},

	// ---- DNS (dns).
	{ID: "nameserver-limits", Kind: KindMessage, Category: DNS, Ref: "3.10", Info: true, Capture: 1,
		Literal: "ameserver limits ", Pattern: `Nameserver limits (?:were )?exceeded(?:, some nameservers have been omitted, the applied nameserver line is: ([^"]*))?`,
		Label: "too many nameservers", Hint: hintDNS},
	{ID: "search-limits", Kind: KindMessage, Category: DNS, Ref: "3.10", Info: true, Capture: 1,
		Literal: "earch Line limits ", Pattern: `Search Line limits (?:were )?exceeded(?:, some search paths have been omitted, the applied search line is: ([^"]*))?`,
		Label: "too many search domains", Hint: hintDNS},
	{ID: "resolv-search-domains", Kind: KindMessage, Category: DNS, Ref: "3.10", Info: true,
		Literal: "contains search line consisting of more than", Pattern: `contains search line consisting of more than`,
		Label: "too many search domains", Hint: hintDNS},
	{ID: "resolv-search-length", Kind: KindMessage, Category: DNS, Ref: "3.10", Info: true,
		Literal: "which length is more than allowed", Pattern: `which length is more than allowed`,
		Label: "search line too long", Hint: hintDNS},
	{ID: "resolv-open", Kind: KindMessage, Category: DNS, Ref: "3.10",
		Literal: "Could not open resolv conf file", Pattern: `Could not open resolv conf file`,
		Label: "resolv.conf missing", Hint: "resolvConf in the kubelet config points at a missing file (e.g. /run/systemd/resolve/resolv.conf without systemd-resolved)"},
	{ID: "resolv-parse", Kind: KindMessage, Category: DNS, Ref: "3.10",
		Literal: "Could not parse resolv conf file", Pattern: `Could not parse resolv conf file`,
		Label: "resolv.conf unparsable", Hint: "fix the file named by resolvConf in the kubelet config"},
	{ID: "resolv-parse-error", Kind: KindMessage, Category: DNS, Ref: "3.10",
		Literal: "rror while parsing resolv conf file", Pattern: `rror while parsing resolv conf file`,
		Label: "resolv.conf unparsable", Hint: "fix the file named by resolvConf in the kubelet config"},
	{ID: "cluster-dns-invalid", Kind: KindMessage, Category: DNS, Ref: "3.10", Info: true,
		Literal: "Invalid clusterDNS ", Pattern: `Invalid clusterDNS (?:IP|ip)`,
		Label: "clusterDNS invalid", Hint: "clusterDNS in the kubelet config must list IP addresses (the kube-dns Service IP)"},
	{ID: "cluster-dns-missing", Kind: KindMessage, Category: DNS, Ref: "3.10", Info: true,
		Literal: "does not have ClusterDNS IP configured", Pattern: `does not have ClusterDNS IP configured`,
		Label: "clusterDNS not configured", Hint: "set clusterDNS in the kubelet config to the cluster DNS Service IP (compare with the kubelet-config ConfigMap)"},

	// ---- guards: workload-level and noisy messages. A pod's error is not a
	// node problem unless its cause is one (runtime down, API unreachable).
	{ID: "pod-sync-error", Kind: KindGuard, Category: None, Causes: podCauses,
		Literal: "Error syncing pod", Pattern: `Error syncing pod`,
		Label: "pod sync error", Hint: "a pod failed to sync: see kubectl describe pod"},
	{ID: "pod-sandbox-create", Kind: KindGuard, Category: None, Causes: podCauses,
		Literal: "CreatePodSandbox for pod", Pattern: `CreatePodSandbox for pod`,
		Label: "pod sandbox error", Hint: "a pod sandbox failed: see kubectl describe pod"},
	{ID: "pod-sandbox-create2", Kind: KindGuard, Category: None, Causes: podCauses,
		Literal: "ailed to create sandbox for pod", Pattern: `ailed to create sandbox for pod`,
		Label: "pod sandbox error", Hint: "a pod sandbox failed: see kubectl describe pod"},
	{ID: "pod-image-pull", Kind: KindGuard, Category: None, Causes: podCauses,
		Literal: "ailed to pull image", Pattern: `ailed to pull image`,
		Label: "image pull error", Hint: "an image pull failed: see kubectl describe pod"},
	{ID: "pod-image-backoff", Kind: KindGuard, Category: None,
		Literal: "Back-off pulling image", Pattern: `Back-off pulling image`,
		Label: "image pull back-off", Hint: "an image pull failed: see kubectl describe pod"},
	{ID: "pod-volume", Kind: KindGuard, Category: None,
		Literal: "ountVolume.", Pattern: `ountVolume\.\w+ failed`,
		Label: "volume error", Hint: "a volume operation failed: see kubectl describe pod"},
	{ID: "pod-volume-wait", Kind: KindGuard, Category: None,
		Literal: "nable to attach or mount volumes", Pattern: `nable to attach or mount volumes`,
		Label: "volume error", Hint: "a volume operation failed: see kubectl describe pod"},
	{ID: "pod-status", Kind: KindGuard, Category: None, Causes: CauseTrust | CauseConn | CauseAuth,
		Literal: "Failed to get status for pod", Pattern: `Failed to get status for pod`,
		Label: "pod status error", Hint: "the status manager could not read a pod: see the cause"},
	{ID: "pod-status-update", Kind: KindGuard, Category: None, Causes: CauseTrust | CauseConn | CauseAuth,
		Literal: "Failed to update status for pod", Pattern: `Failed to update status for pod`,
		Label: "pod status error", Hint: "the status manager could not write a pod: see the cause"},
	{ID: "probe", Kind: KindGuard, Category: None,
		Literal: "robe failed", Pattern: `robe failed`,
		Label: "probe failed", Hint: "a container probe failed: see kubectl describe pod"},
	{ID: "probe-errored", Kind: KindGuard, Category: None,
		Literal: "robe errored", Pattern: `robe errored`,
		Label: "probe failed", Hint: "a container probe failed: see kubectl describe pod"},
	{ID: "system-container-stats", Kind: KindGuard, Category: None,
		Literal: "Failed to get system container stats", Pattern: `Failed to get system container stats`,
		Label: "container stats error", Hint: "cadvisor cannot read a system cgroup: harmless"},
	{ID: "plugin-probe", Kind: KindGuard, Category: None, Causes: CauseHostPath,
		Literal: "Error dynamically probing plugins", Pattern: `Error dynamically probing plugins`,
		Label: "volume plugin dir not writable", Hint: "set volumePluginDir in the kubelet config to a writable path (immutable OSes: /var/lib/kubelet/volumeplugins)"},
	{ID: "write-event", Kind: KindGuard, Category: None, BootTransient: true, Causes: CauseTrust | CauseConn | CauseAuth,
		Literal: "nable to write event", Pattern: `nable to write event`,
		Label: "event not written", Hint: hintConn},
	{ID: "image-gc", Kind: KindGuard, Category: None, Causes: podCauses,
		Literal: "Image garbage collection failed", Pattern: `Image garbage collection failed`,
		Label: "image GC error", Hint: "image garbage collection failed once: harmless at start"},
	{ID: "container-gc", Kind: KindGuard, Category: None, Causes: podCauses,
		Literal: "Container garbage collection failed", Pattern: `Container garbage collection failed`,
		Label: "container GC error", Hint: "container garbage collection failed: check the runtime"},
	{ID: "reflector-list", Kind: KindGuard, Category: None, Causes: apiCauses, Info: true,
		Literal: "ailed to list *", Pattern: `ailed to list \*[\w.]+`,
		Label: "list failed", Hint: hintConn},
	{ID: "reflector-watch", Kind: KindGuard, Category: None, Causes: apiCauses, Info: true,
		Literal: "ailed to watch *", Pattern: `ailed to watch \*[\w.]+`,
		Label: "watch failed", Hint: hintConn},
	{ID: "watch-ended", Kind: KindGuard, Category: None, Causes: apiCauses, Info: true,
		Literal: "watch of *", Pattern: `watch of \*[\w.]+ ended with`,
		Label: "watch ended", Hint: hintConn},

	// ---- wrappers: last, so that any known message inside them decides.
	{ID: "flag-parse", Kind: KindMessage, Category: KubeletConfig, Ref: "K4",
		Causes:  allCauses,
		Literal: "ailed to parse kubelet flag", Pattern: `ailed to parse kubelet flag`,
		Label: "kubelet flags invalid", Hint: hintFlags},
	{ID: "failed-to-run", Kind: KindMessage, Category: KubeletConfig, Ref: "K1", Fatal: true,
		Causes:  allCauses,
		Literal: "ailed to run ", Pattern: `ailed to run [Kk]ubelet`,
		Label: "kubelet failed to start", Hint: hintStartup},
	{ID: "command-failed", Kind: KindMessage, Category: KubeletConfig, Ref: "K1", Fatal: true,
		Causes:  allCauses,
		Literal: "command failed", Pattern: `command failed`,
		Label: "kubelet failed to start", Hint: hintStartup},

	// ---- cause rules, in precedence order. ca-trust first: an x509
	// verification error decides inside any wrapper.
	{ID: "x509-unknown-authority", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "signed by unknown authority", Pattern: `signed by unknown authority`,
		Label: "x509 unknown authority", Hint: hintCA},
	{ID: "x509-expired", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "certificate has expired or is not yet valid", Pattern: `certificate has expired or is not yet valid`,
		Label: "server cert expired or clock skew", Hint: "the API server's (or load balancer's) certificate is outside its validity, or this node's clock is wrong: check date and the server certificate"},
	{ID: "x509-name-mismatch", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "certificate is valid for ", Pattern: `certificate is valid for `,
		Label: "server cert name mismatch", Hint: "the server: address in kubelet.conf is not in the API server certificate's SANs: use a listed name or add it (certSANs)"},
	{ID: "x509-no-names", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "certificate is not valid for any names", Pattern: `certificate is not valid for any names`,
		Label: "server cert name mismatch", Hint: "the server: address in kubelet.conf is not in the API server certificate's SANs: use a listed name or add it (certSANs)"},
	{ID: "x509-no-ip-sans", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "doesn't contain any IP SANs", Pattern: `doesn't contain any IP SANs`,
		Label: "server cert lacks IP SAN", Hint: "kubelet.conf addresses the API server by IP but its certificate has no IP SANs: use the DNS name or add the IP (certSANs)"},
	{ID: "x509-legacy-cn", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "relies on legacy Common Name field", Pattern: `relies on legacy Common Name field`,
		Label: "server cert lacks SANs", Hint: "the API server certificate has only a Common Name: reissue it with subjectAltNames"},
	{ID: "tls-verify-failed", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "tls: failed to verify certificate", Pattern: `tls: failed to verify certificate`,
		Label: "server cert verification failed", Hint: hintCA},
	{ID: "x509-other", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "x509: certificate ", Pattern: `x509: certificate `,
		Label: "server cert verification failed", Hint: hintCA},
	{ID: "tls-unknown-ca", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "remote error: tls: unknown certificate authority", Pattern: `remote error: tls: unknown certificate authority`,
		Label: "peer does not trust our CA", Hint: "the server does not trust the CA of the kubelet's client certificate: was the cluster CA rotated?"},
	{ID: "tls-bad-certificate", Kind: KindCause, Category: CATrust, Group: CauseTrust, Alone: true,
		Literal: "remote error: tls: bad certificate", Pattern: `remote error: tls: bad certificate`,
		Label: "peer rejected our certificate", Hint: "the server rejected the kubelet's client certificate during the handshake: check its issuer against the cluster CA"},

	{ID: "cert-convert", Kind: KindCause, Category: Certificate, Group: CauseCert, Alone: true, Capture: 1,
		Literal: "into cert/key pair", Pattern: `could not convert data from "([^"]*)" into cert/key pair`,
		Label: "cert/key file invalid", Hint: "the kubelet's certificate file cannot be parsed: restore /var/lib/kubelet/pki/kubelet-client-current.pem or re-bootstrap"},
	{ID: "tls-expired-certificate", Kind: KindCause, Category: Certificate, Group: CauseCert, Alone: true,
		Literal: "remote error: tls: expired certificate", Pattern: `remote error: tls: expired certificate`,
		Label: "client cert expired", Hint: hintClientCert},
	{ID: "key-mismatch", Kind: KindCause, Category: Certificate, Group: CauseCert, Alone: true,
		Literal: "private key does not match public key", Pattern: `private key does not match public key`,
		Label: "cert/key mismatch", Hint: "a certificate and its key in /var/lib/kubelet/pki do not belong together: restore the pair or re-bootstrap"},
	{ID: "pem-missing", Kind: KindCause, Category: Certificate, Group: CauseCert, Alone: true,
		Literal: "failed to find any PEM data", Pattern: `failed to find any PEM data`,
		Label: "cert file has no PEM data", Hint: "a certificate or key file of the kubelet is empty or corrupt: check /var/lib/kubelet/pki"},
	{ID: "cert-key-pair", Kind: KindCause, Category: Certificate, Group: CauseCert, Alone: true,
		Literal: "certificate and key must be supplied as a pair", Pattern: `certificate and key must be supplied as a pair`,
		Label: "cert without key", Hint: "set both tlsCertFile and tlsPrivateKeyFile, or neither"},

	{ID: "sandbox-image", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, Capture: 1,
		Literal: "failed to get sandbox image", Pattern: `failed to get sandbox image "([^"]*)"`,
		Label: "sandbox image unavailable", Hint: "the runtime cannot pull its pause image: check sandbox_image in /etc/containerd/config.toml and registry access"},
	{ID: "cri-v1-unimplemented", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, Capture: 1,
		Literal: "unknown service runtime.v1", Pattern: `unknown service (runtime\.v1\w*\.\w+)`,
		Label: "runtime lacks this CRI API", Hint: "the runtime does not serve the kubelet's CRI API: containerd >= 1.6 with the cri plugin enabled (not in disabled_plugins), or a matching CRI-O"},
	{ID: "cri-socket-missing", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, Capture: 1,
		Literal: "dial unix ", Pattern: `dial unix (\S*(?:containerd|crio|docker)\S*\.sock): connect: no such file or directory`,
		Label: "runtime socket missing", Hint: hintRuntimeSock},
	{ID: "cri-socket-refused", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, Capture: 1,
		Literal: "dial unix ", Pattern: `dial unix (\S*(?:containerd|crio|docker)\S*\.sock): connect: connection refused`,
		Label: "runtime socket refused", Hint: hintRuntimeSock},
	{ID: "cri-socket-denied", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, Capture: 1,
		Literal: "dial unix ", Pattern: `dial unix (\S*(?:containerd|crio|docker)\S*\.sock): connect: permission denied`,
		Label: "runtime socket permission denied", Hint: hintRuntimeSock},
	{ID: "docker-daemon", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true,
		Literal: "Cannot connect to the Docker daemon", Pattern: `Cannot connect to the Docker daemon`,
		Label: "docker daemon unreachable", Hint: "start docker (and cri-dockerd for kubelet >= 1.24): systemctl status docker"},
	{ID: "runtime-down", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true,
		Literal: "container runtime is down", Pattern: `container runtime is down`,
		Label: "container runtime down", Hint: hintCRI},
	{ID: "pleg-unhealthy", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true,
		Literal: "PLEG is not healthy: pleg was last seen active", Pattern: `PLEG is not healthy: pleg was last seen active`,
		Label: "PLEG unhealthy", Hint: "the runtime answers too slowly to relist pods (overloaded node, hung containerd, too many containers): crictl ps, runtime logs"},
	{ID: "pleg-not-yet", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, BootTransient: true,
		Literal: "pleg has yet to be successful", Pattern: `pleg has yet to be successful`,
		Label: "PLEG not yet healthy", Hint: "normal for seconds after start; if it persists the runtime does not answer ListPodSandbox"},
	{ID: "cni-not-initialized", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, BootTransient: true,
		Literal: "cni plugin not initialized", Pattern: `cni plugin not initialized`,
		Label: "CNI not ready", Hint: hintCNI},
	{ID: "cni-config-uninitialized", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, BootTransient: true,
		Literal: "cni config uninitialized", Pattern: `cni config uninitialized`,
		Label: "CNI not ready", Hint: hintCNI},
	{ID: "cni-no-networks", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, BootTransient: true,
		Literal: "no networks found in ", Pattern: `no networks found in `,
		Label: "CNI not ready", Hint: hintCNI},
	{ID: "network-plugin-not-ready", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true, BootTransient: true,
		Literal: "NetworkPluginNotReady", Pattern: `NetworkPluginNotReady`,
		Label: "CNI not ready", Hint: hintCNI},
	{ID: "cni-setup-failed", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true,
		Literal: "failed to setup network for sandbox", Pattern: `failed to setup network for sandbox`,
		Label: "CNI failed to set up pod network", Hint: "the CNI plugin fails on this node: check the CNI DaemonSet pod here, /etc/cni/net.d and the plugin's own state files"},
	{ID: "cni-teardown-failed", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true,
		Literal: "failed to destroy network for sandbox", Pattern: `failed to destroy network for sandbox`,
		Label: "CNI failed to tear down pod network", Hint: "the CNI plugin fails on this node: check the CNI DaemonSet pod here, /etc/cni/net.d and the plugin's own state files"},
	{ID: "cni-legacy-failed", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown, Alone: true,
		Literal: "NetworkPlugin cni failed to ", Pattern: `NetworkPlugin cni failed to (?:set up|teardown)`,
		Label: "CNI failed to set up pod network", Hint: "the CNI plugin fails on this node: check the CNI DaemonSet pod here, /etc/cni/net.d and the plugin's own state files"},
	{ID: "cri-unavailable", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown,
		Literal: "rpc error: code = Unavailable", Pattern: `rpc error: code = Unavailable`,
		Label: "runtime unavailable", Hint: hintRuntimeSock},
	{ID: "cri-deadline", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown,
		Literal: "rpc error: code = DeadlineExceeded", Pattern: `rpc error: code = DeadlineExceeded`,
		Label: "CRI call timed out", Hint: "the runtime does not answer in time (overloaded or hung): check containerd/CRI-O logs and node load"},
	// The kubelet asks the runtime for its cgroup driver and, when the
	// method is unknown (containerd < 2.0, CRI-O < 1.31), falls back to its
	// own config (cmd/kubelet/app/server.go getCgroupDriverFromCRI): harmless.
	{ID: "runtime-config-unimplemented", Kind: KindCause, Category: None, Group: CauseRuntime,
		Literal: "unknown method RuntimeConfig", Pattern: `unknown method RuntimeConfig`,
		Label: "runtime has no RuntimeConfig", Hint: "the runtime predates the CRI RuntimeConfig call: the kubelet falls back to cgroupDriver from its own config, which must match the runtime's"},
	{ID: "cri-unimplemented", Kind: KindCause, Category: Runtime, Group: CauseRuntimeDown,
		Literal: "rpc error: code = Unimplemented", Pattern: `rpc error: code = Unimplemented`,
		Label: "CRI method not implemented", Hint: "the runtime is too old or too new for this kubelet: check the version skew of containerd/CRI-O"},
	{ID: "rpc-not-found", Kind: KindCause, Category: None, Group: CauseRuntime,
		Literal: "rpc error: code = NotFound", Pattern: `rpc error: code = NotFound`,
		Label: "container gone", Hint: "the container or image is gone: a race, harmless"},
	{ID: "rpc-canceled", Kind: KindCause, Category: None, Group: CauseRuntime,
		Literal: "rpc error: code = Canceled", Pattern: `rpc error: code = Canceled`,
		Label: "call canceled", Hint: "the call was canceled: harmless"},
	{ID: "rpc-other", Kind: KindCause, Category: Runtime, Group: CauseRuntime, Capture: 1,
		Literal: "rpc error: code = ", Pattern: `rpc error: code = (\w+ desc = [^:"]*)`,
		Label: "CRI call failed", Hint: hintCRI},

	{ID: "dns-no-such-host", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true, Capture: 1,
		Literal: ": no such host", Pattern: `lookup (\S+?)(?: on \S+)?: no such host`,
		Label: "API server name not resolvable", Hint: "the API server's host name does not resolve on this node: check /etc/resolv.conf and the server: name in kubelet.conf"},
	{ID: "dns-misbehaving", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true, Capture: 1,
		Literal: ": server misbehaving", Pattern: `lookup (\S+?)(?: on \S+)?: server misbehaving`,
		Label: "DNS server misbehaving", Hint: "the node's DNS server fails to resolve the API server name: check /etc/resolv.conf"},
	{ID: "dns-timeout", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true, Capture: 1,
		Literal: "i/o timeout", Pattern: `lookup (\S+?) on \S+: [^"]*i/o timeout`,
		Label: "DNS lookup timed out", Hint: "the node's DNS server does not answer: check /etc/resolv.conf and the network"},
	{ID: "conn-refused", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true, BootTransient: true,
		Literal: "connection refused", Pattern: `connection refused`,
		Label: "API server connection refused", Hint: hintConn},
	{ID: "no-route", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "no route to host", Pattern: `no route to host`,
		Label: "no route to API server", Hint: "no route to the API server: check routes, firewalls and that the address in kubelet.conf is right"},
	{ID: "net-unreachable", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "network is unreachable", Pattern: `network is unreachable`,
		Label: "API server network unreachable", Hint: "the node has no route to the API server's network: check the default route and interfaces"},
	{ID: "conn-reset", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "connection reset by peer", Pattern: `connection reset by peer`,
		Label: "API connection reset", Hint: "something between the kubelet and the API server resets connections (load balancer, proxy, firewall): check it"},
	{ID: "tls-handshake-timeout", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "TLS handshake timeout", Pattern: `TLS handshake timeout`,
		Label: "API TLS handshake timeout", Hint: "the API server accepts TCP but does not finish TLS in time: overloaded API server, MTU or load balancer problem"},
	{ID: "client-timeout", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "Client.Timeout exceeded", Pattern: `Client\.Timeout exceeded`,
		Label: "API request timed out", Hint: "API server requests time out: check API server load and the network path from this node"},
	{ID: "request-canceled", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "request canceled while waiting for connection", Pattern: `request canceled while waiting for connection`,
		Label: "API request timed out", Hint: "API server requests time out: check API server load and the network path from this node"},
	{ID: "io-timeout", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "i/o timeout", Pattern: `i/o timeout`,
		Label: "API server i/o timeout", Hint: "packets to the API server are dropped: check firewalls, security groups and the load balancer"},
	{ID: "deadline-exceeded", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "context deadline exceeded", Pattern: `context deadline exceeded`,
		Label: "API request deadline exceeded", Hint: "API server requests time out: check API server load and the network path from this node"},
	{ID: "http2-lost", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "http2: client connection lost", Pattern: `http2: client connection lost`,
		Label: "API connection lost", Hint: "the connection to the API server dropped (API server restart, load balancer idle timeout)"},
	{ID: "apiserver-timeout", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "unable to return a response in the time allotted", Pattern: `unable to return a response in the time allotted`,
		Label: "API server overloaded", Hint: "the API server answers too slowly (overloaded, etcd slow): check the control plane"},
	{ID: "apiserver-unavailable", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "the server is currently unable to handle the request", Pattern: `the server is currently unable to handle the request`,
		Label: "API server unavailable", Hint: "the API server answers 503: check the control plane and its etcd"},
	{ID: "eof", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: ": EOF", Pattern: `: EOF`,
		Label: "API connection closed", Hint: "the API server or its load balancer closed the connection: check the load balancer's backends and TLS passthrough"},
	{ID: "unexpected-eof", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "unexpected EOF", Pattern: `unexpected EOF`,
		Label: "API connection closed", Hint: "the API server or its load balancer closed the connection: check the load balancer's backends and TLS passthrough"},
	{ID: "closed-conn", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "use of closed network connection", Pattern: `use of closed network connection`,
		Label: "API connection closed", Hint: "the connection to the API server was closed under a request (API server restart, load balancer, client rotation): persistent means an unstable path"},
	{ID: "broken-pipe", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "write: broken pipe", Pattern: `write: broken pipe`,
		Label: "API connection closed", Hint: "the API server or its load balancer closed the connection: check the load balancer's backends and idle timeouts"},
	{ID: "http-to-https", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "server gave HTTP response to HTTPS client", Pattern: `server gave HTTP response to HTTPS client`,
		Label: "API endpoint is not TLS", Hint: "the server: address in kubelet.conf points at a plain-HTTP port: use the API server's secure port"},
	{ID: "not-tls", Kind: KindCause, Category: APIServerConnectivity, Group: CauseConn, Alone: true,
		Literal: "first record does not look like a TLS handshake", Pattern: `first record does not look like a TLS handshake`,
		Label: "API endpoint is not TLS", Hint: "the server: address in kubelet.conf points at a plain-HTTP port: use the API server's secure port"},

	{ID: "csr-unauthorized", Kind: KindCause, Category: Bootstrap, Group: CauseCSR, Alone: true,
		Literal: "certificate signing request: ", Pattern: `certificate signing request: (?:Unauthorized|the server has asked for the client to provide credentials)`,
		Label: "bootstrap token rejected", Hint: hintBootToken},
	{ID: "csr-forbidden", Kind: KindCause, Category: Bootstrap, Group: CauseCSR, Alone: true, Capture: 1,
		Literal: "certificatesigningrequests.certificates.k8s.io", Pattern: `certificatesigningrequests\.certificates\.k8s\.io(?: "[^"]*")? is forbidden: (User "[^"]*")`,
		Label: "CSR creation forbidden", Hint: "the bootstrap identity may not create CSRs: check the system:node-bootstrapper ClusterRoleBinding for system:bootstrappers (kubeadm init phase bootstrap-token)"},
	{ID: "csr-denied", Kind: KindCause, Category: Bootstrap, Group: CauseCSR, Alone: true, Capture: 1,
		Literal: "certificate signing request is denied", Pattern: `certificate signing request is denied, reason: ([^,"]*)`,
		Label: "CSR denied", Hint: "the node's CSR was denied: kubectl get csr; check the approver's policy and the requested names"},
	{ID: "csr-failed", Kind: KindCause, Category: Bootstrap, Group: CauseCSR, Alone: true, Capture: 1,
		Literal: "certificate signing request failed", Pattern: `certificate signing request failed, reason: ([^,"]*)`,
		Label: "CSR failed", Hint: "the signer failed the node's CSR: check kube-controller-manager's signing key flags and logs"},
	{ID: "csr-deleted", Kind: KindCause, Category: Bootstrap, Group: CauseCSR, Alone: true,
		Literal: "\" was deleted", Pattern: `csr "[^"]*" was deleted`,
		Label: "CSR deleted before issued", Hint: "the node's CSR was deleted before it was signed (CSR cleaner or manual delete): restart the kubelet to request again"},
	{ID: "csr-changed", Kind: KindCause, Category: Bootstrap, Group: CauseCSR, Alone: true,
		Literal: "\" changed UIDs", Pattern: `csr "[^"]*" changed UIDs`,
		Label: "CSR replaced before issued", Hint: "the node's CSR was deleted before it was signed (CSR cleaner or manual delete): restart the kubelet to request again"},

	{ID: "node-restriction-node", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true, Capture: 1,
		Literal: "modify node \"", Pattern: `(node "[^"]*" (?:is not allowed to|cannot) modify node "[^"]*")`,
		Label: "node name mismatch", Hint: "the node name (hostname, --hostname-override, cloud provider) differs from the CN system:node:<name> of the kubelet's client certificate"},
	{ID: "node-restriction-labels", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true, Capture: 1,
		Literal: "is not allowed to ", Pattern: `is not allowed to (?:modify labels|set the following labels): ?([^"]*)`,
		Label: "restricted node labels", Hint: "--node-labels sets labels the NodeRestriction admission forbids (node-role.kubernetes.io/*, node-restriction.kubernetes.io/*): set them with kubectl instead"},
	{ID: "node-restriction-taints", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true,
		Literal: "is not allowed to modify taints", Pattern: `is not allowed to modify taints`,
		Label: "restricted node taints", Hint: "the kubelet may not change taints of an existing node: remove --register-with-taints changes or set taints with kubectl"},
	{ID: "node-authorizer", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true,
		Literal: "no relationship ", Pattern: `no relationship (?:found between node|to this object was found)`,
		Label: "node authorizer denied", Hint: "the node authorizer found no pod on this node using the object: transient for new pods; if persistent the node's identity does not match its pods' nodeName"},
	{ID: "unknown-node", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true,
		Literal: "unknown node", Pattern: `unknown node (?:for user|')`,
		Label: "node identity unknown", Hint: "the client certificate's CN is not system:node:<node name> (or is empty): re-bootstrap the kubelet's client certificate"},
	{ID: "forbidden-anonymous", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true, Capture: 1,
		Literal: "User \"system:anonymous\"", Pattern: `(User "system:anonymous" cannot \w+(?: resource)? ?"?[\w.]*"?)`,
		Label: "anonymous: no client credentials", Hint: "the kubelet sent no usable client certificate: kubelet.conf lacks client-certificate or the certificate is rejected; check /var/lib/kubelet/pki"},
	{ID: "forbidden-node", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true, Capture: 1,
		Literal: "User \"system:node:", Pattern: `(User "system:node:[^"]*" cannot \w+(?: resource)? ?"?[\w.]*"?)`,
		Label: "node RBAC forbidden", Hint: "the Node authorizer or RBAC denies the kubelet: check --authorization-mode includes Node and the system:nodes group binding"},
	{ID: "forbidden", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true, Capture: 1,
		Literal: "is forbidden: ", Pattern: `is forbidden: (User "[^"]*" cannot \w+(?: resource)? ?"?[\w.]*"?)`,
		Label: "RBAC forbidden", Hint: "the kubelet's identity lacks RBAC permission: its certificate should have CN system:node:<name> and O system:nodes"},
	{ID: "unauthorized", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true,
		Literal: "Unauthorized", Pattern: `Unauthorized`,
		Label: "credentials rejected (401)", Hint: hintAuth},
	{ID: "provide-credentials", Kind: KindCause, Category: Authorization, Group: CauseAuth, Alone: true,
		Literal: "the server has asked for the client to provide credentials", Pattern: `the server has asked for the client to provide credentials`,
		Label: "credentials rejected (401)", Hint: hintAuth},

	{ID: "node-not-found", Kind: KindCause, Category: Registration, Group: CauseNode, Alone: true, BootTransient: true, Capture: 1,
		Literal: "\" not found", Pattern: `node(?:s)? "([^"]*)" not found`,
		Label: "node not registered", Hint: hintNotFound},
	{ID: "status-retries", Kind: KindCause, Category: Registration, Group: CauseNode, Alone: true,
		Literal: "update node status exceeds retry count", Pattern: `update node status exceeds retry count`,
		Label: "node status retries exhausted", Hint: hintRegister},
	{ID: "lease-retries", Kind: KindCause, Category: Registration, Group: CauseNode, Alone: true,
		Literal: " attempts to update ", Pattern: `failed \d+ attempts to update (?:node )?lease`,
		Label: "node lease retries exhausted", Hint: hintLease},

	{ID: "socket-dir-missing", Kind: KindCause, Category: Resources, Group: CauseHostPath, Alone: true, Capture: 1,
		Literal: ": bind: no such file or directory", Pattern: `listen unix (\S+): bind: no such file or directory`,
		Label: "socket directory missing", Hint: hintHostPath},
	{ID: "port-in-use", Kind: KindCause, Category: Resources, Group: CauseHostPath, Alone: true, Capture: 1,
		Literal: "bind: address already in use", Pattern: `listen tcp (\S+): bind: address already in use`,
		Label: "kubelet port in use", Hint: "another process holds the kubelet's port: ss -ltnp (a second kubelet, or a leftover container?)"},
	{ID: "oom-score-adj", Kind: KindCause, Category: Resources, Group: CauseHostPath, Alone: true,
		Literal: "oom_score_adj: permission denied", Pattern: `oom_score_adj: permission denied`,
		Label: "oom_score_adj not writable", Hint: "the kubelet cannot set oom_score_adj (rootless or unprivileged kubelet): run it as root or enable the KubeletInUserNamespace gate"},
	{ID: "too-many-open-files", Kind: KindCause, Category: Resources, Group: CauseHostPath, Alone: true,
		Literal: "too many open files", Pattern: `too many open files`,
		Label: "open file or inotify limit reached", Hint: "raise LimitNOFILE of the kubelet unit and fs.inotify.max_user_instances / max_user_watches (sysctl)"},
	{ID: "read-only-fs", Kind: KindCause, Category: Resources, Group: CauseHostPath, Capture: CaptureBefore,
		Literal: "read-only file system", Pattern: `read-only file system`,
		Label: "host path read-only", Hint: hintHostPath},
	{ID: "permission-denied", Kind: KindCause, Category: Resources, Group: CauseHostPath, Capture: CaptureBefore,
		Literal: "permission denied", Pattern: `permission denied`,
		Label: "host path permission denied", Hint: hintHostPath},
	{ID: "no-space", Kind: KindCause, Category: Resources, Group: CauseHostPath, Capture: CaptureBefore,
		Literal: "no space left on device", Pattern: `no space left on device`,
		Label: "disk full", Hint: "the file system is full: df -h /var/lib/kubelet /var/log"},
	{ID: "cross-device", Kind: KindCause, Category: Resources, Group: CauseHostPath,
		Literal: "invalid cross-device link", Pattern: `invalid cross-device link`,
		Label: "socket on another file system", Hint: "the kubelet's socket directory spans mounts: keep /var/lib/kubelet/pod-resources on the kubelet's root file system"},

	{ID: "strict-decoding", Kind: KindCause, Category: KubeletConfig, Group: CauseConfig, Capture: 1,
		Literal: "strict decod", Pattern: `strict decod(?:ing|er) error[^"]*?(unknown field "[^"]*")`,
		Label: "unknown field in kubelet config", Hint: "the kubelet config has a field this kubelet does not know (typo or version drift): remove or fix it"},
	{ID: "no-kind", Kind: KindCause, Category: KubeletConfig, Group: CauseConfig, Capture: 1,
		Literal: " is registered for version", Pattern: `no kind "(\w+)" is registered for version`,
		Label: "wrong kind in kubelet config", Hint: "--config must be a KubeletConfiguration (a kubeconfig passed as --config?)"},
	{ID: "yaml-invalid", Kind: KindCause, Category: KubeletConfig, Group: CauseConfig,
		Literal: "error converting YAML to JSON", Pattern: `error converting YAML to JSON`,
		Label: "kubelet config YAML invalid", Hint: "the kubelet config is not valid YAML: check indentation and tabs"},
	{ID: "decode-failed", Kind: KindCause, Category: KubeletConfig, Group: CauseConfig,
		Literal: "failed to decode", Pattern: `failed to decode`,
		Label: "kubelet config undecodable", Hint: hintConfigFile},
}

// Conditions returns the conditions in a stable order: one per category,
// then KubeletStartupProblem.
func Conditions() []Condition {
	out := make([]Condition, len(conditions))
	copy(out, conditions)
	return out
}

// ConditionByType returns the condition of type t.
func ConditionByType(t string) (Condition, bool) {
	for _, c := range conditions {
		if c.Type == t {
			return c, true
		}
	}
	return Condition{}, false
}

// ConditionFor returns the condition of category c ("" for the startup
// condition).
func ConditionFor(c Category) (Condition, bool) {
	for _, cond := range conditions {
		if cond.Category == c {
			return cond, true
		}
	}
	return Condition{}, false
}

// Rules returns a copy of the registry in evaluation order.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	copy(out, rules)
	return out
}
