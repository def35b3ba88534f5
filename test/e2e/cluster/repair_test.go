package cluster_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubelet-doctor/kubelet-doctor/test/clustertest"
)

// The repair scenario: the real Cluster API v1.14.2 core manager (KD_CAPI,
// scripts/build-capi.sh) runs against the suite's API server, which is both
// its management and its workload cluster. The test plays the
// infrastructure provider (stand-in CRDs; it gives each InfraMachine a
// providerID and creates the Node with that providerID) and a
// MachineHealthCheck acts on KubeletCATrustProblem as the real NPD with
// kubelet-doctor publishes it from each node's journal.
const (
	repairNS    = "repair"
	repairPool  = "kubelet-doctor.e2e/pool"
	infraGroup  = "infrastructure.e2e.kubelet-doctor.io"
	cpGroup     = "controlplane.e2e.kubelet-doctor.io"
	mhcTimeout  = 20 * time.Second
	repairWait  = 3 * time.Minute
	repairPolls = 250 * time.Millisecond
)

// standInCRDs are the provider kinds the Cluster refers to. The contract
// label tells Cluster API which version implements its v1beta2 contract.
func standInCRDs() []byte {
	var b strings.Builder
	for _, c := range []struct{ group, kind string }{
		{infraGroup, "KDInfraCluster"}, {infraGroup, "KDInfraMachine"}, {infraGroup, "KDInfraMachineTemplate"}, {cpGroup, "KDControlPlane"},
	} {
		plural := strings.ToLower(c.kind) + "s"
		fmt.Fprintf(&b, `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[1]s.%[2]s
  labels: {cluster.x-k8s.io/v1beta2: v1alpha1}
spec:
  group: %[2]s
  scope: Namespaced
  names: {kind: %[3]s, listKind: %[3]sList, plural: %[1]s, singular: %[4]s}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, plural, c.group, c.kind, strings.ToLower(c.kind))
	}
	return []byte(b.String())
}

// clusterObjects is the cluster as a provider would have made it, with the
// MachineSet of three workers and the MachineHealthCheck of
// config/kubernetes/README.md (a short timeout instead of 600s).
func clusterObjects(kubeconfig []byte, apiPort int) []byte {
	return []byte(fmt.Sprintf(`---
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: Secret
metadata:
  name: repair-kubeconfig
  namespace: %[1]s
  labels: {cluster.x-k8s.io/cluster-name: repair}
type: cluster.x-k8s.io/secret
data: {value: %[2]s}
---
apiVersion: v1
kind: Secret
metadata: {name: repair-bootstrap, namespace: %[1]s}
data: {value: ""}
---
apiVersion: %[3]s/v1alpha1
kind: KDInfraCluster
metadata: {name: repair, namespace: %[1]s}
spec:
  controlPlaneEndpoint: {host: 127.0.0.1, port: %[5]d}
---
apiVersion: %[4]s/v1alpha1
kind: KDControlPlane
metadata: {name: repair, namespace: %[1]s}
spec: {}
---
apiVersion: %[3]s/v1alpha1
kind: KDInfraMachineTemplate
metadata: {name: workers, namespace: %[1]s}
spec: {template: {spec: {}}}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: repair, namespace: %[1]s}
spec:
  controlPlaneRef: {apiGroup: %[4]s, kind: KDControlPlane, name: repair}
  infrastructureRef: {apiGroup: %[3]s, kind: KDInfraCluster, name: repair}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineSet
metadata:
  name: workers
  namespace: %[1]s
  # The preflight checks read a real control plane's version and rollout.
  annotations: {machineset.cluster.x-k8s.io/skip-preflight-checks: All}
spec:
  clusterName: repair
  replicas: 3
  selector: {matchLabels: {%[6]s: workers}}
  template:
    metadata: {labels: {%[6]s: workers}}
    spec:
      clusterName: repair
      bootstrap: {dataSecretName: repair-bootstrap}
      infrastructureRef: {apiGroup: %[3]s, kind: KDInfraMachineTemplate, name: workers}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineHealthCheck
metadata: {name: workers-kubelet-doctor, namespace: %[1]s}
spec:
  clusterName: repair
  selector: {matchLabels: {%[6]s: workers}}
  checks:
    nodeStartupTimeoutSeconds: 900
    unhealthyNodeConditions:
    - {type: Ready, status: Unknown, timeoutSeconds: 300}
    - {type: KubeletCATrustProblem, status: "True", timeoutSeconds: %[7]d}
    - {type: KubeletStartupProblem, status: "True", timeoutSeconds: 600}
  remediation:
    triggerIf: {unhealthyLessThanOrEqualTo: 40%%}
`, repairNS, base64.StdEncoding.EncodeToString(kubeconfig), infraGroup, cpGroup, apiPort, repairPool, int(mhcTimeout.Seconds())))
}

func (s *suite) testRepair(t *testing.T) {
	capi := os.Getenv("KD_CAPI")
	if capi == "" {
		t.Skip("KD_CAPI is unset: KD_CAPI=$(scripts/build-capi.sh) runs the Cluster API MachineHealthCheck scenario; `make test` sets it")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.installCAPI(t, capi)

	admin, err := os.ReadFile(s.cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	port, err := portOf(s.cp.URL)
	if err != nil {
		t.Fatal(err)
	}
	s.apply(t, clusterObjects(admin, port))
	// The provider reports its objects ready.
	s.patchStatus(t, infraGroup, "kdinfracluster", "repair", `{"status":{"ready":true,"initialization":{"provisioned":true}}}`)
	// The control plane is a managed one (the suite's API server, as on EKS,
	// AKS or GKE): without control-plane Machines, Cluster API drains and
	// deletes worker Nodes only when the control plane says so.
	s.patchStatus(t, cpGroup, "kdcontrolplane", "repair", `{"status":{"ready":true,"initialized":true,"externalManagedControlPlane":true,"initialization":{"controlPlaneInitialized":true}}}`)
	var provider sync.WaitGroup
	provider.Add(1)
	go func() { defer provider.Done(); s.playProvider(ctx, t) }()
	defer provider.Wait()
	defer cancel()

	nodes := s.waitMachinesWithNodes(t, 3)
	t.Logf("machines and their nodes: %v", nodes)
	names := make([]string, 0, len(nodes))
	for m := range nodes {
		names = append(names, m)
	}
	sort.Strings(names)
	persistentM, recoveredM, unknownM := names[0], names[1], names[2]

	npds := map[string]*npdRun{}
	hosts := map[string]*testNode{}
	for _, m := range names {
		node := s.newNode(t, nodes[m])
		if m != unknownM { // the third node has no journal: kubelet-doctor cannot tell
			tl := newTimeline(node.Name, time.Time{})
			persistent(caUntrusted)(tl, time.Now())
			s.appendJournal(t, node, tl)
		}
		hosts[m] = node
		npds[m] = startNPD(t, s, node, "KubeletCATrustProblem")
	}
	watch := s.watchNode(ctx, t, nodes[persistentM])

	// The recovered node: True, then the kubelet registers within the timeout.
	recTrue := s.waitCondition(t, npds[recoveredM], nodes[recoveredM], "KubeletCATrustProblem", "True", settle)
	// The operator fixed the CA: the kubelet restarts and registers.
	tl := newTimeline(nodes[recoveredM], time.Now())
	fixedAndRegistered(tl)
	s.appendJournal(t, hosts[recoveredM], tl)
	s.waitCondition(t, npds[recoveredM], nodes[recoveredM], "KubeletCATrustProblem", "False", settle)
	t.Logf("%s: KubeletCATrustProblem True at %s, back to False after %v", nodes[recoveredM], recTrue.LastTransitionTime.Format(time.RFC3339), time.Since(recTrue.LastTransitionTime).Round(time.Second))
	s.waitCondition(t, npds[unknownM], nodes[unknownM], "KubeletCATrustProblem", "Unknown", settle)

	// The persistent node: remediated.
	c := s.waitCondition(t, npds[persistentM], nodes[persistentM], "KubeletCATrustProblem", "True", settle)
	msg := s.waitMachineUnhealthy(t, persistentM)
	t.Logf("%s unhealthy: %q", persistentM, msg)
	for _, want := range []string{"KubeletCATrustProblem", "KubeletCAUntrusted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("HealthCheckSucceeded message %q does not name %s", msg, want)
		}
	}
	s.waitGone(t, "machine", persistentM)
	deleted := time.Now()
	t.Logf("condition True (lastTransitionTime %s) to Machine deleted: %v", c.LastTransitionTime.Format(time.RFC3339), deleted.Sub(c.LastTransitionTime).Round(time.Second))
	s.waitGone(t, "node", nodes[persistentM])
	if !watch.cordoned() {
		t.Errorf("node %s was deleted without being cordoned first", nodes[persistentM])
	}
	if evs := s.machineEvents(t, persistentM, "SuccessfulDrainNode"); evs == 0 {
		t.Errorf("no SuccessfulDrainNode Event for machine %s", persistentM)
	}
	replacement := s.waitMachinesWithNodes(t, 3)
	for m := range replacement {
		if !slices.Contains(names, m) {
			t.Logf("replacement machine %s with node %s", m, replacement[m])
		}
	}
	if _, still := replacement[persistentM]; still {
		t.Errorf("machine %s is still there", persistentM)
	}

	// Neither other machine was remediated: past the timeout, both are there
	// and healthy in the MachineHealthCheck's eyes.
	if wait := time.Until(recTrue.LastTransitionTime.Add(mhcTimeout + 10*time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	for _, m := range []string{recoveredM, unknownM} {
		if st, msg, found := s.machineCondition(t, m, "HealthCheckSucceeded"); !found || st != "True" {
			t.Errorf("machine %s: HealthCheckSucceeded %s %q (found %v), want True: it must not be remediated", m, st, msg, found)
		}
	}
}

// installCAPI installs Cluster API's CRDs and the stand-in provider's,
// starts the core manager with its webhooks served on loopback and
// registered with the API server, and waits until it is ready.
func (s *suite) installCAPI(t *testing.T, capi string) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Dir(capi)
	if out, err := s.cp.Kubectl(ctx, "apply", "--server-side", "-f", filepath.Join(dir, "crd")); err != nil {
		t.Fatalf("install Cluster API CRDs: %v\n%s", err, out)
	}
	s.apply(t, standInCRDs())
	if out, err := s.cp.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"); err != nil {
		t.Fatalf("CRDs not established: %v\n%s", err, out)
	}
	cert, key, err := s.cp.PKI.Issue("capi-webhook", &x509.Certificate{
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = clustertest.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	webhookPort, healthPort, diagPort := ports[0], ports[1], ports[2]
	p, err := clustertest.StartProc(t, t.TempDir(), "capi-manager", 60, nil, capi,
		"--kubeconfig="+s.cp.Admin,
		"--leader-elect=false",
		"--webhook-port="+strconv.Itoa(webhookPort),
		"--webhook-cert-dir="+filepath.Dir(cert),
		"--webhook-cert-name="+filepath.Base(cert),
		"--webhook-key-name="+filepath.Base(key),
		"--health-addr=127.0.0.1:"+strconv.Itoa(healthPort),
		"--diagnostics-address=127.0.0.1:"+strconv.Itoa(diagPort),
		"--insecure-diagnostics",
		// The storage migration serves CRDs installed by clusterctl; these are plain.
		"--skip-crd-migration-phases=StorageVersionMigration,CleanupManagedFields",
	)
	if err != nil {
		t.Fatal(err)
	}
	err = clustertest.Poll(90*time.Second, 500*time.Millisecond, func() error {
		if done, err := p.Exited(); done {
			return fmt.Errorf("capi-manager exited: %v", err)
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("capi-manager not ready: %v\n%s", err, clustertest.Tail(p.Log, 40))
	}
	hooks, err := webhooks(filepath.Join(dir, "webhook", "manifests.yaml"), fmt.Sprintf("https://127.0.0.1:%d", webhookPort), s.cp.PKI.CACert)
	if err != nil {
		t.Fatal(err)
	}
	s.apply(t, hooks)
}

// webhooks turns Cluster API's webhook registrations (a Service in the
// manager's namespace) into ones that call the manager on loopback.
func webhooks(manifests, base, caFile string) ([]byte, error) {
	raw, err := os.ReadFile(manifests)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("decode %s: %w", manifests, err)
		}
		if obj == nil {
			continue
		}
		hooks, _ := obj["webhooks"].([]any)
		for _, h := range hooks {
			hook := h.(map[string]any)
			svc, _ := hook["clientConfig"].(map[string]any)["service"].(map[string]any)
			path, _ := svc["path"].(string)
			if path == "" {
				return nil, fmt.Errorf("webhook %v has no service path", hook["name"])
			}
			hook["clientConfig"] = map[string]any{"url": base + path, "caBundle": base64.StdEncoding.EncodeToString(ca)}
		}
		meta := obj["metadata"].(map[string]any)
		meta["name"] = "capi-" + meta["name"].(string)
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// apply applies objects (YAML or JSON stream) as the admin.
func (s *suite) apply(t *testing.T, objects []byte) {
	t.Helper()
	if out, err := s.cp.KubectlAs(context.Background(), s.cp.Admin, objects, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

func (s *suite) patchStatus(t *testing.T, group, kind, name, patch string) {
	t.Helper()
	if out, err := s.cp.Kubectl(context.Background(), "patch", kind+"."+group, name, "-n", repairNS,
		"--subresource=status", "--type=merge", "-p", patch); err != nil {
		t.Fatalf("patch %s status: %v\n%s", kind, err, out)
	}
}

// playProvider does an infrastructure provider's part until ctx ends: each
// new InfraMachine gets a providerID and is reported provisioned, and its
// machine joins as a Node with that providerID.
func (s *suite) playProvider(ctx context.Context, t *testing.T) {
	done := map[string]bool{}
	for ctx.Err() == nil {
		out, err := s.cp.Kubectl(ctx, "get", "kdinframachine."+infraGroup, "-n", repairNS, "-o", "json")
		if err == nil {
			var list struct {
				Items []struct {
					Metadata struct{ Name string } `json:"metadata"`
				} `json:"items"`
			}
			_ = json.Unmarshal([]byte(out), &list)
			for _, im := range list.Items {
				name := im.Metadata.Name
				if done[name] {
					continue
				}
				if err := s.provision(ctx, name); err != nil {
					if ctx.Err() == nil {
						t.Logf("provision %s: %v (retrying)", name, err)
					}
					continue
				}
				done[name] = true
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(repairPolls):
		}
	}
}

func (s *suite) provision(ctx context.Context, name string) error {
	providerID := "kubelet-doctor-e2e://" + name
	if _, err := s.cp.Kubectl(ctx, "patch", "kdinframachine."+infraGroup, name, "-n", repairNS, "--type=merge",
		"-p", fmt.Sprintf(`{"spec":{"providerID":%q}}`, providerID)); err != nil {
		return err
	}
	if _, err := s.cp.Kubectl(ctx, "patch", "kdinframachine."+infraGroup, name, "-n", repairNS, "--subresource=status", "--type=merge",
		"-p", `{"status":{"ready":true,"initialization":{"provisioned":true}}}`); err != nil {
		return err
	}
	node, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": name, "labels": map[string]string{"kubernetes.io/hostname": name}},
		"spec":     map[string]any{"providerID": providerID},
	})
	if out, err := s.cp.KubectlAs(ctx, s.cp.Admin, node, "create", "-f", "-"); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		return fmt.Errorf("create node: %w: %s", err, out)
	}
	return nil
}

// machine is the part of a Machine the scenario reads.
type machine struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Status struct {
		NodeRef *struct {
			Name string `json:"name"`
		} `json:"nodeRef"`
		Conditions []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
	} `json:"status"`
}

func (s *suite) machines(t *testing.T) []machine {
	t.Helper()
	out, err := s.cp.Kubectl(context.Background(), "get", "machines.cluster.x-k8s.io", "-n", repairNS, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []machine }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// waitMachinesWithNodes waits for n Machines whose nodeRef is set and
// returns machine name -> node name.
func (s *suite) waitMachinesWithNodes(t *testing.T, n int) map[string]string {
	t.Helper()
	var got map[string]string
	err := clustertest.Poll(repairWait, repairPolls, func() error {
		got = map[string]string{}
		ms := s.machines(t)
		for _, m := range ms {
			if m.Status.NodeRef != nil && m.Status.NodeRef.Name != "" {
				got[m.Metadata.Name] = m.Status.NodeRef.Name
			}
		}
		if len(got) != n || len(ms) != n {
			return fmt.Errorf("%d machines, %d with a node: %v", len(ms), len(got), got)
		}
		return nil
	})
	if err != nil {
		out, _ := s.cp.Kubectl(context.Background(), "get", "cluster,machineset,machine,kdinframachine", "-n", repairNS, "-o", "yaml")
		t.Fatalf("machines with nodes: %v\n%s", err, out)
	}
	return got
}

func (s *suite) machineCondition(t *testing.T, name, typ string) (status, message string, found bool) {
	t.Helper()
	for _, m := range s.machines(t) {
		if m.Metadata.Name != name {
			continue
		}
		for _, c := range m.Status.Conditions {
			if c.Type == typ {
				return c.Status, c.Message, true
			}
		}
	}
	return "", "", false
}

// waitMachineUnhealthy waits for the MachineHealthCheck's verdict on the
// machine and returns its message. The MachineSet may delete the machine
// right after: its deletion also counts as the verdict having been reached
// only when the verdict was seen, so the poll is tight.
func (s *suite) waitMachineUnhealthy(t *testing.T, name string) string {
	t.Helper()
	var msg string
	err := clustertest.Poll(repairWait, 100*time.Millisecond, func() error {
		st, m, found := s.machineCondition(t, name, "HealthCheckSucceeded")
		if found && st == "False" {
			msg = m
			return nil
		}
		return fmt.Errorf("HealthCheckSucceeded is %q (%q)", st, m)
	})
	if err != nil {
		t.Fatalf("machine %s never marked unhealthy: %v", name, err)
	}
	return msg
}

func (s *suite) waitGone(t *testing.T, kind, name string) {
	t.Helper()
	resource := kind
	if kind == "machine" {
		resource = "machines.cluster.x-k8s.io"
	}
	err := clustertest.Poll(repairWait, repairPolls, func() error {
		_, err := s.cp.Kubectl(context.Background(), "get", resource, name, "-n", repairNS)
		if err != nil && strings.Contains(err.Error(), "NotFound") {
			return nil
		}
		return fmt.Errorf("%s %s still exists (%v)", kind, name, err)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *suite) machineEvents(t *testing.T, machineName, reason string) int {
	t.Helper()
	out, err := s.cp.Kubectl(context.Background(), "get", "events", "-n", repairNS, "--field-selector",
		"involvedObject.kind=Machine,involvedObject.name="+machineName+",reason="+reason, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []event }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// nodeWatch records what a kubectl watch of one Node showed.
type nodeWatch struct {
	mu          sync.Mutex
	unscheduled bool
}

func (w *nodeWatch) cordoned() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.unscheduled
}

// watchNode streams every version of the Node until ctx ends, so that a
// cordon that lasts milliseconds before the deletion is still seen.
func (s *suite) watchNode(ctx context.Context, t *testing.T, name string) *nodeWatch {
	t.Helper()
	w := &nodeWatch{}
	cmd := exec.CommandContext(ctx, s.cp.Kapi, "kubectl", "--kubeconfig", s.cp.Admin, "get", "node", name, "--watch", "-o", "json")
	cmd.Env = append(os.Environ(), s.cp.KubectlEnv()...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		dec := json.NewDecoder(stdout)
		for {
			var n struct {
				Spec struct {
					Unschedulable bool `json:"unschedulable"`
				} `json:"spec"`
			}
			if err := dec.Decode(&n); err != nil {
				break
			}
			if n.Spec.Unschedulable {
				w.mu.Lock()
				w.unscheduled = true
				w.mu.Unlock()
			}
		}
		_ = cmd.Wait()
	}()
	return w
}

func portOf(u string) (int, error) {
	i := strings.LastIndexByte(u, ':')
	if i < 0 {
		return 0, fmt.Errorf("no port in %s", u)
	}
	return strconv.Atoi(u[i+1:])
}
