package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npdconfig"
)

// chartValues is the values schema of the deliveryhero node-problem-detector
// chart 2.4.1 (its values.yaml and the templates that read it), key for key
// with the types the templates expect. The chart ignores a key it does not
// know, so a typo would deploy NPD without our pod parts and nobody would
// see it: the values are decoded strictly into this.
type chartValues struct {
	Settings struct {
		CustomMonitorDefinitions map[string]string `json:"custom_monitor_definitions"`
		LogMonitors              []string          `json:"log_monitors"`
		CustomPluginMonitors     []string          `json:"custom_plugin_monitors"`
		ExtraArgs                []string          `json:"extraArgs"`
		PrometheusAddress        string            `json:"prometheus_address"`
		PrometheusPort           int               `json:"prometheus_port"`
		HeartBeatPeriod          string            `json:"heartBeatPeriod"`
	} `json:"settings"`
	LogDir *struct {
		Host string `json:"host"`
		Pod  string `json:"pod"`
	} `json:"logDir"`
	Image struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		Digest     string `json:"digest"`
		PullPolicy string `json:"pullPolicy"`
	} `json:"image"`
	ImagePullSecrets  []map[string]string `json:"imagePullSecrets"`
	NameOverride      string              `json:"nameOverride"`
	FullnameOverride  string              `json:"fullnameOverride"`
	RBAC              map[string]any      `json:"rbac"`
	HostNetwork       *bool               `json:"hostNetwork"`
	HostPID           *bool               `json:"hostPID"`
	HostUsers         *bool               `json:"hostUsers"`
	DNSPolicy         string              `json:"dnsPolicy"`
	DNSConfig         map[string]any      `json:"dnsConfig"`
	Volume            map[string]any      `json:"volume"`
	PriorityClassName string              `json:"priorityClassName"`
	SecurityContext   map[string]any      `json:"securityContext"`
	Resources         map[string]any      `json:"resources"`
	ResizePolicy      []map[string]any    `json:"resizePolicy"`
	Annotations       map[string]string   `json:"annotations"`
	Labels            map[string]string   `json:"labels"`
	Tolerations       []map[string]any    `json:"tolerations"`
	ServiceAccount    map[string]any      `json:"serviceAccount"`
	Affinity          map[string]any      `json:"affinity"`
	NodeSelector      map[string]string   `json:"nodeSelector"`
	Metrics           map[string]any      `json:"metrics"`
	Env               []map[string]any    `json:"env"`
	ExtraVolumes      []map[string]any    `json:"extraVolumes"`
	ExtraVolumeMounts []map[string]any    `json:"extraVolumeMounts"`
	InitContainers    []map[string]any    `json:"initContainers"`
	ExtraContainers   []map[string]any    `json:"extraContainers"`
	UpdateStrategy    string              `json:"updateStrategy"`
	MaxUnavailable    any                 `json:"maxUnavailable"`
}

func readValues(t *testing.T) (chartValues, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "helm", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("values.yaml is not YAML: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var v chartValues
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("values.yaml does not fit the chart's values: %v", err)
	}
	return v, raw
}

func TestHelmValuesFitTheChart(t *testing.T) {
	v, _ := readValues(t)
	npdDir := filepath.Join("..", "..", "npd")
	files, err := filepath.Glob(filepath.Join(npdDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no config/npd files (%v)", err)
	}
	t.Run("every NPD config is a custom plugin monitor, verbatim", func(t *testing.T) {
		var want []string
		for _, f := range files {
			data, _ := os.ReadFile(f)
			name := filepath.Base(f)
			if v.Settings.CustomMonitorDefinitions[name] != string(data) {
				t.Errorf("custom_monitor_definitions[%s] is not config/npd/%s", name, name)
			}
			want = append(want, ChartMountDir+"/"+name)
		}
		if !slices.Equal(v.Settings.CustomPluginMonitors, want) {
			t.Errorf("custom_plugin_monitors = %v, want %v", v.Settings.CustomPluginMonitors, want)
		}
		if v.Settings.LogMonitors == nil || len(v.Settings.LogMonitors) != 0 {
			t.Errorf("log_monitors = %v: the chart's defaults need a privileged container; set it empty", v.Settings.LogMonitors)
		}
	})
	t.Run("the pod is not privileged and keeps only DAC_READ_SEARCH", func(t *testing.T) {
		sc := v.SecurityContext
		if sc["privileged"] != false {
			t.Errorf("privileged = %v: Helm merges maps, the chart's privileged: true stays unless set false", sc["privileged"])
		}
		caps, _ := sc["capabilities"].(map[string]any)
		if add, _ := json.Marshal(caps["add"]); string(add) != `["DAC_READ_SEARCH"]` {
			t.Errorf("capabilities.add = %s", add)
		}
	})
	t.Run("the init container installs the plugin where the configs run it", func(t *testing.T) {
		if len(v.InitContainers) != 1 {
			t.Fatalf("%d init containers", len(v.InitContainers))
		}
		cmd, _ := json.Marshal(v.InitContainers[0]["command"])
		if !strings.Contains(string(cmd), `"install","/opt/kubelet-doctor/kubelet-doctor"`) {
			t.Errorf("init container command %s", cmd)
		}
		var names []string
		for _, m := range v.ExtraVolumeMounts {
			names = append(names, m["mountPath"].(string))
		}
		for _, want := range []string{"/opt/kubelet-doctor", "/host", "/var/lib/kubelet-doctor"} {
			if !slices.Contains(names, want) {
				t.Errorf("extraVolumeMounts lack %s: %v", want, names)
			}
		}
	})
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct {
		in, repo, tag string
		ok            bool
	}{
		{"registry.k8s.io/node-problem-detector/node-problem-detector:v1.36.0", "registry.k8s.io/node-problem-detector/node-problem-detector", "v1.36.0", true},
		{"localhost:5000/npd", "", "", false},
		{"npd", "", "", false},
	} {
		repo, tag, ok := splitImage(tc.in)
		if repo != tc.repo || tag != tc.tag || ok != tc.ok {
			t.Errorf("splitImage(%q) = %q, %q, %v", tc.in, repo, tag, ok)
		}
	}
}

// TestChartValuesSchemaMatchesTheChart checks chartValues against the
// chart's own values.yaml when a checkout of the chart is at hand
// (KD_NPD_CHART=.../stable/node-problem-detector): every key the chart
// declares must be in the schema, so the strict decode above rejects only
// keys the chart does not read.
func TestChartValuesSchemaMatchesTheChart(t *testing.T) {
	chart := os.Getenv("KD_NPD_CHART")
	if chart == "" {
		t.Skip("KD_NPD_CHART is unset: point it at the deliveryhero node-problem-detector chart " + ChartVersion + " to check the schema against its values.yaml")
	}
	meta, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(meta), "\nversion: "+ChartVersion+"\n") {
		t.Fatalf("%s is not chart version %s:\n%s", chart, ChartVersion, meta)
	}
	raw, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var v chartValues
	if err := dec.Decode(&v); err != nil {
		t.Errorf("the chart's own values.yaml has a key the schema lacks: %v", err)
	}
}

// TestPodMountsTheReferenceTheConfigsRead: the DaemonSet and the Helm
// values mount kubeadm's kube-system/kubelet-config, optional and read-only,
// so that the file the drift rules name (npdconfig.Reference) is its key
// "kubelet" where the cluster has it, and the pod starts where it has not.
func TestPodMountsTheReferenceTheConfigsRead(t *testing.T) {
	ds, err := os.ReadFile(filepath.Join("..", "daemonset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pod, err := decodePod(ds)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := readValues(t)
	for _, tt := range []struct {
		name            string
		volumes, mounts []map[string]any
	}{
		{"daemonset.yaml", pod.Volumes, pod.Containers[0].VolumeMounts},
		{"helm values", v.ExtraVolumes, v.ExtraVolumeMounts},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mount map[string]any
			for _, m := range tt.mounts {
				if m["mountPath"] == filepath.Dir(npdconfig.Reference) {
					mount = m
				}
			}
			if mount == nil || mount["readOnly"] != true {
				t.Fatalf("no read-only mount at %s (the configs pass --reference=%s): %v", filepath.Dir(npdconfig.Reference), npdconfig.Reference, tt.mounts)
			}
			var cm map[string]any
			for _, vol := range tt.volumes {
				if vol["name"] == mount["name"] {
					cm, _ = vol["configMap"].(map[string]any)
				}
			}
			want := map[string]any{"name": "kubelet-config", "optional": true,
				"items": []any{map[string]any{"key": "kubelet", "path": filepath.Base(npdconfig.Reference)}}}
			got, _ := json.Marshal(cm)
			if w, _ := json.Marshal(want); string(got) != string(w) {
				t.Errorf("volume %v is %s, want configMap %s", mount["name"], got, w)
			}
		})
	}
	if npdconfig.ReferenceDir != filepath.Dir(npdconfig.Reference) {
		t.Errorf("npdconfig.Reference %s is not in ReferenceDir %s", npdconfig.Reference, npdconfig.ReferenceDir)
	}
}
