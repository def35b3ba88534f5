package cluster_test

import (
	"regexp"
	"time"
)

// scenario is one node-state failure, end to end: the journal that shows
// it, the NodeCondition it must raise, and the journal that shows it fixed.
// A new check adds its failure here as one entry.
type scenario struct {
	name string
	// condition is the NodeCondition type that must turn True. Its problem
	// reason, healthy reason and Event reason are read from config/npd, so
	// the table cannot drift from what is deployed.
	condition string
	// message must match the condition's message: it names the cause.
	message *regexp.Regexp
	// also are conditions the same journal must turn True as well (a fatal
	// config error is a config problem and a crash loop); they are only
	// checked for True.
	also []string
	// fail writes the failure into the journal, ending near now. Kubelet
	// starts lie well before the failures, so boot-transient errors have
	// outlived the boot grace (5m) and all of them sit in the window (10m).
	fail func(tl *timeline, now time.Time)
	// again is more, newer occurrences of the same failure (the kubelet
	// retrying): the condition must stay True with the same
	// lastTransitionTime, and the alert must not turn them into an Event
	// per run. The clock starts where fail left it, a few seconds ago.
	again func(tl *timeline)
	// recover is what the journal shows once the node is fixed.
	recover func(tl *timeline)
}

// apiserver is the control-plane endpoint the simulated kubelets use; it
// only ever appears inside log lines.
const apiserver = "https://10.0.0.10:6443"

// persistent writes kubelet start at now-9m and then the failure line
// every 20s from now-8m30s until now-5s.
func persistent(line func(*timeline)) func(*timeline, time.Time) {
	return func(tl *timeline, now time.Time) {
		tl.at(now.Add(-9 * time.Minute)).kubeletStarted()
		tl.at(now.Add(-510*time.Second)).repeat(now.Add(-5*time.Second), 20*time.Second, line)
	}
}

// fixedAndRegistered: the operator fixed the node and restarted the
// kubelet, which then registered.
func fixedAndRegistered(tl *timeline) { tl.kubeletRestarted().registered() }

// Failure lines, written as kubelet v1.36 writes them
// (docs/kubelet-messages.md lists the messages, from the kubelet's source).
var (
	caUntrusted = func(tl *timeline) {
		tl.kubeletf('E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Post \"`+apiserver+`/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="%[1]s"`)
	}
	bootstrapRejected = func(tl *timeline) {
		tl.kubelet('E', "run.go:72", `"command failed" err="failed to run Kubelet: cannot create certificate signing request: Unauthorized"`)
		tl.systemd("kubelet.service: Main process exited, code=exited, status=1/FAILURE")
		tl.systemd("kubelet.service: Failed with result 'exit-code'.")
	}
	// The client certificate manager asks for a new certificate, nobody
	// signs the CSR, and it backs off (C5, C6). An Unauthorized here would be
	// the bootstrap credential instead (C4).
	rotationFailing = func(tl *timeline) {
		tl.kubelet('E', "certificate_manager.go:613", `"Certificate request was not signed" err="timed out waiting for the condition" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"`)
		tl.kubelet('E', "certificate_manager.go:461", `"Reached backoff limit, still unable to rotate certs" err="timed out waiting for the condition" logger="kubernetes.io/kube-apiserver-client-kubelet"`)
	}
	authorizationRefused = func(tl *timeline) {
		tl.kubeletf('E', "kubelet_node_status.go:113", `"Unable to register node with API server, error getting existing node" err="nodes \"%[1]s\" is forbidden: User \"system:anonymous\" cannot get resource \"nodes\" in API group \"\" at the cluster scope" node="%[1]s"`)
	}
	apiserverUnreachable = func(tl *timeline) {
		tl.kubeletf('E', "controller.go:145", `"Failed to ensure lease exists, will retry" err="Get \"`+apiserver+`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%[1]s?timeout=10s\": dial tcp 10.0.0.10:6443: connect: connection refused" interval="7s"`)
		tl.kubeletf('E', "kubelet_node_status.go:486", `"Error updating node status, will retry" err="error getting node \"%[1]s\": Get \"`+apiserver+`/api/v1/nodes/%[1]s?resourceVersion=0&timeout=10s\": dial tcp 10.0.0.10:6443: connect: connection refused"`)
	}
	registrationFailing = func(tl *timeline) {
		tl.kubeletf('E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Node \"%[1]s\" is invalid: metadata.labels: Invalid value: \"-gpu\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character" node="%[1]s"`)
	}
	// One crash of a kubelet whose config file is gone: start, fatal error,
	// exit.
	configCrash = func(tl *timeline) {
		tl.kubeletStarted()
		tl.kubelet('E', "run.go:72", `"command failed" err="failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory"`)
		tl.systemd("kubelet.service: Main process exited, code=exited, status=1/FAILURE")
		tl.systemd("kubelet.service: Failed with result 'exit-code'.")
	}
	// systemd's restart, RestartSec=10s after a crash.
	restarted = func(tl *timeline) {
		tl.after(10 * time.Second)
		tl.systemd("kubelet.service: Scheduled restart job, restart counter is at 7.")
		tl.systemd("Stopped kubelet.service - kubelet: The Kubernetes Node Agent.")
	}
)

// crashLooping is a kubelet that exits at every start, restarted by systemd
// every ~10s for the last 9 minutes (crash itself moves the clock on).
func crashLooping(crash func(*timeline)) func(*timeline, time.Time) {
	return func(tl *timeline, now time.Time) {
		tl.at(now.Add(-9*time.Minute)).repeat(now.Add(-12*time.Second), time.Second, crash)
	}
}

var scenarios = []scenario{
	{
		name:      "ca-untrusted",
		condition: "KubeletCATrustProblem",
		message:   regexp.MustCompile(`(?i)x509|unknown authority|\bCA\b`),
		fail:      persistent(caUntrusted),
		again:     caUntrusted,
		recover:   fixedAndRegistered,
	},
	{
		// A node whose kubelet went on failing after its condition turned
		// True. The first check sees three failures of eight minutes ago;
		// then the rest of the kubelet's retries (every 10s since) appear.
		// They are written late, stamped when the kubelet would have logged
		// them, so the count grows as it does over eight real minutes.
		// Remediation timers (MachineHealthCheck, NodeHealthCheck) run from
		// lastTransitionTime, so the growing count must not move it.
		name:      "ca-untrusted-keeps-failing",
		condition: "KubeletCATrustProblem",
		message:   regexp.MustCompile(`(?i)x509|unknown authority|\bCA\b`),
		fail: func(tl *timeline, now time.Time) {
			tl.at(now.Add(-9 * time.Minute)).kubeletStarted()
			tl.at(now.Add(-520*time.Second)).repeat(now.Add(-500*time.Second), 10*time.Second, caUntrusted)
		},
		again: func(tl *timeline) {
			tl.at(tl.t.Add(10*time.Second)).repeat(time.Now(), 10*time.Second, caUntrusted)
		},
		recover: fixedAndRegistered,
	},
	{
		name:      "bootstrap-token-rejected",
		condition: "KubeletBootstrapProblem",
		message:   regexp.MustCompile(`(?i)unauthori[sz]ed|bootstrap|token`),
		fail: func(tl *timeline, now time.Time) {
			crashLooping(func(tl *timeline) {
				tl.kubeletStarted()
				tl.kubelet('I', "bootstrap.go:120", `"Using bootstrap kubeconfig to generate TLS client cert, key and kubeconfig file"`)
				bootstrapRejected(tl)
				tl.after(10 * time.Second)
				tl.systemd("kubelet.service: Scheduled restart job, restart counter is at 3.")
			})(tl, now)
		},
		again: func(tl *timeline) {
			tl.kubeletStarted()
			bootstrapRejected(tl)
		},
		recover: func(tl *timeline) {
			tl.kubeletStarted()
			tl.kubelet('I', "bootstrap.go:120", `"Using bootstrap kubeconfig to generate TLS client cert, key and kubeconfig file"`)
			tl.kubelet('I', "csr.go:261", `"Certificate signing request is approved, waiting to be issued" csr="csr-8d2xq"`)
			tl.kubelet('I', "csr.go:257", `"Certificate signing request is issued" csr="csr-8d2xq"`)
			tl.registered()
		},
	},
	{
		name:      "client-certificate-rotation-failing",
		condition: "KubeletCertificateProblem",
		message:   regexp.MustCompile(`(?i)certificate|rotat|CSR|signing request`),
		fail:      persistent(rotationFailing),
		again:     rotationFailing,
		recover: func(tl *timeline) {
			tl.kubelet('I', "csr.go:257", `"Certificate signing request is issued" csr="csr-w7k2p"`)
			tl.kubelet('I', "transport.go:147", `"Certificate rotation detected, shutting down client connections to start using new credentials"`)
		},
	},
	{
		name:      "node-authorization-refused",
		condition: "KubeletAuthorizationProblem",
		message:   regexp.MustCompile(`(?i)forbidden|anonymous|authori[sz]|denied`),
		fail:      persistent(authorizationRefused),
		again:     authorizationRefused,
		recover:   fixedAndRegistered,
	},
	{
		name:      "apiserver-unreachable",
		condition: "KubeletAPIServerUnreachable",
		message:   regexp.MustCompile(`(?i)connection refused|unreachable|dial|10\.0\.0\.10`),
		fail:      persistent(apiserverUnreachable),
		again:     apiserverUnreachable,
		recover:   fixedAndRegistered,
	},
	{
		name:      "registration-failing",
		condition: "KubeletRegistrationProblem",
		message:   regexp.MustCompile(`(?i)regist|invalid`),
		fail:      persistent(registrationFailing),
		again:     registrationFailing,
		recover:   fixedAndRegistered,
	},
	{
		name:      "crash-loop-fatal-config",
		condition: "KubeletStartupProblem",
		also:      []string{"KubeletConfigProblem"},
		message:   regexp.MustCompile(`(?i)config|crash|restart|exit`),
		fail: crashLooping(func(tl *timeline) {
			configCrash(tl)
			restarted(tl)
		}),
		again: configCrash,
		recover: func(tl *timeline) {
			tl.kubeletStarted()
			tl.kubelet('I', "server.go:1423", `"Using cgroup driver setting received from the CRI runtime" cgroupDriver="systemd"`)
			tl.registered()
		},
	},
}
