package pod

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The parts of the DaemonSet the test runs as specified. Field names are
// Kubernetes' own, so the shipped YAML decodes into them unchanged.
type daemonSet struct {
	Spec struct {
		Template struct {
			Spec podSpec `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type podSpec struct {
	InitContainers []container `json:"initContainers"`
	Containers     []container `json:"containers"`
	Volumes        []volume    `json:"volumes"`
}

type container struct {
	Name            string   `json:"name"`
	Image           string   `json:"image"`
	Command         []string `json:"command"`
	Args            []string `json:"args"`
	Env             []envVar `json:"env"`
	SecurityContext struct {
		RunAsUser                *int64 `json:"runAsUser"`
		RunAsGroup               *int64 `json:"runAsGroup"`
		RunAsNonRoot             *bool  `json:"runAsNonRoot"`
		ReadOnlyRootFilesystem   *bool  `json:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool  `json:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Add  []string `json:"add"`
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
		ReadOnly  bool   `json:"readOnly"`
	} `json:"volumeMounts"`
	Resources struct {
		Limits map[string]string `json:"limits"`
	} `json:"resources"`
}

type envVar struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `json:"fieldPath"`
		} `json:"fieldRef"`
	} `json:"valueFrom"`
}

type volume struct {
	Name     string    `json:"name"`
	EmptyDir *struct{} `json:"emptyDir"`
	HostPath *struct {
		Path string `json:"path"`
	} `json:"hostPath"`
	ConfigMap *struct {
		Name     string `json:"name"`
		Optional bool   `json:"optional"`
	} `json:"configMap"`
}

func readDaemonSet(t *testing.T) podSpec {
	t.Helper()
	var ds daemonSet
	decodeYAML(t, filepath.Join(repo, "config", "kubernetes", "daemonset.yaml"), &ds)
	p := ds.Spec.Template.Spec
	if len(p.InitContainers) != 1 || len(p.Containers) != 1 {
		t.Fatalf("daemonset.yaml has %d init containers and %d containers; this test runs one of each", len(p.InitContainers), len(p.Containers))
	}
	return p
}

// configMapData is the data of configmap.yaml: the files NPD reads.
func configMapData(t *testing.T) map[string]string {
	t.Helper()
	return npdConfigMap(t).Data
}

type configMap struct {
	Metadata struct{ Name string } `json:"metadata"`
	Data     map[string]string     `json:"data"`
}

// npdConfigMap is configmap.yaml: the ConfigMap of NPD's configs.
func npdConfigMap(t *testing.T) configMap {
	t.Helper()
	var cm configMap
	decodeYAML(t, filepath.Join(repo, "config", "kubernetes", "configmap.yaml"), &cm)
	if len(cm.Data) == 0 {
		t.Fatal("configmap.yaml has no data")
	}
	return cm
}

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// user is the uid:gid the container runs as: the securityContext's, else
// the image's USER, else root (as the kubelet decides).
func (c container) user(imageUser string) (uid, gid int64, err error) {
	if imageUser != "" {
		u, g, _ := strings.Cut(imageUser, ":")
		if uid, err = strconv.ParseInt(u, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("image user %q is not numeric", imageUser)
		}
		if g != "" {
			if gid, err = strconv.ParseInt(g, 10, 64); err != nil {
				return 0, 0, fmt.Errorf("image group %q is not numeric", imageUser)
			}
		}
	}
	if sc := c.SecurityContext; sc.RunAsUser != nil {
		uid = *sc.RunAsUser
	}
	if sc := c.SecurityContext; sc.RunAsGroup != nil {
		gid = *sc.RunAsGroup
	}
	if nr := c.SecurityContext.RunAsNonRoot; nr != nil && *nr && uid == 0 {
		return 0, 0, fmt.Errorf("container %s: runAsNonRoot with uid 0: the kubelet refuses to start it", c.Name)
	}
	return uid, gid, nil
}

// capabilities are the container's capability set: the runtime's default
// set minus drop plus add; "ALL" in drop empties the default.
func (c container) capabilities(t *testing.T) []string {
	t.Helper()
	caps := []string{}
	dropsAll := false
	for _, d := range c.SecurityContext.Capabilities.Drop {
		dropsAll = dropsAll || d == "ALL"
	}
	if !dropsAll {
		t.Fatalf("container %s keeps the runtime's default capabilities; the DaemonSet drops ALL", c.Name)
	}
	for _, a := range c.SecurityContext.Capabilities.Add {
		caps = append(caps, "CAP_"+strings.TrimPrefix(a, "CAP_"))
	}
	return caps
}

// memoryLimit parses the container's memory limit ("64Mi", "300Mi", "1Gi").
func (c container) memoryLimit(t *testing.T) int64 {
	t.Helper()
	q, ok := c.Resources.Limits["memory"]
	if !ok {
		return 0
	}
	for suffix, mult := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				t.Fatalf("container %s: memory limit %q", c.Name, q)
			}
			return v * mult
		}
	}
	t.Fatalf("container %s: memory limit %q has no suffix this test knows", c.Name, q)
	return 0
}

// env resolves the container's environment the way the kubelet would for
// the fields the DaemonSet uses.
func (c container) env(t *testing.T, nodeName string) []string {
	t.Helper()
	var out []string
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			if e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
				t.Fatalf("container %s: env %s comes from a source this test does not provide", c.Name, e.Name)
			}
			v = nodeName
		}
		out = append(out, e.Name+"="+v)
	}
	return out
}
