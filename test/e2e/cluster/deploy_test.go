package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// registry is where the README's overlay pushes the image; nothing is
// pulled in a dry run.
const registry = "registry.example/team/kubelet-doctor"

// testKustomize: the README's overlay over config/kubernetes, pinning the
// image `make image` builds by its digest, renders with kubectl's own
// kustomize and passes server-side validation and admission.
func (s *suite) testKustomize(t *testing.T) {
	ctx := context.Background()
	digest := s.imageDigest(t)
	overlay := t.TempDir()
	base, err := filepath.Rel(overlay, filepath.Join(s.repo, "config", "kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	k := fmt.Sprintf("resources:\n- %s\nimages:\n- name: kubelet-doctor\n  newName: %s\n  digest: %s\n", base, registry, digest)
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := s.cp.Kubectl(ctx, "kustomize", overlay)
	if err != nil {
		t.Fatal(err)
	}
	want := "image: " + registry + "@" + digest
	if !strings.Contains(out, want) {
		t.Errorf("kustomize output lacks %q:\n%s", want, out)
	}
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"} {
		if !strings.Contains(out, "\nkind: "+kind+"\n") {
			t.Errorf("kustomize output has no %s", kind)
		}
	}
	applied, err := s.cp.Kubectl(ctx, "apply", "--dry-run=server", "-k", overlay)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(applied, "daemonset.apps/kubelet-doctor") {
		t.Errorf("apply -k did not apply the DaemonSet: %s", applied)
	}
	t.Logf("apply -k: %s", strings.TrimSpace(applied))
}

// imageDigest builds the image as `make image` does and returns its digest.
func (s *suite) imageDigest(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(s.repo, "scripts", "image.sh"), s.bin, "cluster-test", t.TempDir()).Output()
	if err != nil {
		t.Fatalf("scripts/image.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// testHelmValues: the pod parts of config/helm/values.yaml, placed where the
// deliveryhero chart's daemonset.yaml template puts them, pass server-side
// validation; with KD_HELM and KD_NPD_CHART, the chart itself is rendered
// with `helm template` and everything it makes is applied in a dry run.
func (s *suite) testHelmValues(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(s.repo, "config", "helm", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	t.Run("pod parts in the chart's places", func(t *testing.T) {
		ds, err := json.Marshal(chartDaemonSet(v))
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.cp.KubectlAs(context.Background(), s.cp.Admin, ds, "apply", "--dry-run=server", "-f", "-")
		if err != nil {
			t.Fatalf("%v\n%s", err, ds)
		}
		t.Log(strings.TrimSpace(out))
	})
	t.Run("helm template of the chart", func(t *testing.T) {
		helm, chart := os.Getenv("KD_HELM"), os.Getenv("KD_NPD_CHART")
		if helm == "" || chart == "" {
			t.Skip("KD_HELM (a helm binary) and KD_NPD_CHART (the deliveryhero node-problem-detector chart 2.4.1) unset: the chart's source is not part of this repository")
		}
		cmd := exec.Command(helm, "template", "kubelet-doctor", chart, "--namespace", "kube-system",
			"-f", filepath.Join(s.repo, "config", "helm", "values.yaml"))
		rendered, err := cmd.Output()
		if err != nil {
			t.Fatalf("helm template: %v: %s", err, stderrOf(err))
		}
		for _, want := range []string{"install-kubelet-doctor", `--config\.custom-plugin-monitor=\S*/custom-config/kubelet-ca-trust\.json`, "DAC_READ_SEARCH", `kubelet-ca-trust\.json: \|`} {
			if !regexp.MustCompile(want).Match(rendered) {
				t.Errorf("helm template output lacks %s", want)
			}
		}
		out, err := s.cp.KubectlAs(context.Background(), s.cp.Admin, rendered, "apply", "--dry-run=server", "-f", "-")
		if err != nil {
			t.Fatalf("%v\n%s", err, rendered)
		}
		t.Log(strings.TrimSpace(out))
	})
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// chartDaemonSet places the values as the chart's templates/daemonset.yaml
// does: initContainers and extraVolumes on the pod, securityContext,
// resources and extraVolumeMounts on the one NPD container, whose command
// lists settings.custom_plugin_monitors, beside the chart's own log,
// localtime and custom-config volumes.
func chartDaemonSet(v map[string]any) map[string]any {
	settings, _ := v["settings"].(map[string]any)
	image, _ := v["image"].(map[string]any)
	var monitors []string
	for _, m := range settings["custom_plugin_monitors"].([]any) {
		monitors = append(monitors, m.(string))
	}
	labels := map[string]any{"app.kubernetes.io/name": "node-problem-detector", "app.kubernetes.io/instance": "kubelet-doctor"}
	mounts := []any{
		map[string]any{"name": "log", "mountPath": "/var/log/", "readOnly": true},
		map[string]any{"name": "localtime", "mountPath": "/etc/localtime", "readOnly": true},
		map[string]any{"name": "custom-config", "mountPath": "/custom-config", "readOnly": true},
	}
	mounts = append(mounts, v["extraVolumeMounts"].([]any)...)
	volumes := []any{
		map[string]any{"name": "log", "hostPath": map[string]any{"path": "/var/log/"}},
		map[string]any{"name": "localtime", "hostPath": map[string]any{"path": "/etc/localtime", "type": "FileOrCreate"}},
		map[string]any{"name": "custom-config", "configMap": map[string]any{"name": "kubelet-doctor-node-problem-detector-custom-config", "defaultMode": 493}},
	}
	volumes = append(volumes, v["extraVolumes"].([]any)...)
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "DaemonSet",
		"metadata": map[string]any{"name": "kubelet-doctor-node-problem-detector", "namespace": "kube-system", "labels": labels},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{
					"priorityClassName": "system-node-critical",
					"initContainers":    v["initContainers"],
					"tolerations":       v["tolerations"],
					"containers": []any{map[string]any{
						"name":            "node-problem-detector",
						"image":           fmt.Sprintf("%s:%s", image["repository"], image["tag"]),
						"command":         []string{"/bin/sh", "-c", "exec /node-problem-detector --logtostderr --config.custom-plugin-monitor=" + strings.Join(monitors, ",") + " --prometheus-address=0.0.0.0 --prometheus-port=20257 --k8s-exporter-heartbeat-period=5m0s"},
						"securityContext": v["securityContext"],
						"resources":       v["resources"],
						"env":             []any{map[string]any{"name": "NODE_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "spec.nodeName"}}}},
						"volumeMounts":    mounts,
						"ports":           []any{map[string]any{"containerPort": 20257, "name": "exporter"}},
					}},
					"volumes": volumes,
				},
			},
		},
	}
}
