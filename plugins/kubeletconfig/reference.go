package kubeletconfig

import (
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"
)

// ConfigMapKey is the key of kube-system/kubelet-config that holds the
// cluster's KubeletConfiguration (kubeadm's constants.KubeletBaseConfigurationConfigMapKey).
const ConfigMapKey = "kubelet"

// Reference is the cluster's kubelet configuration that nodes should share.
type Reference struct {
	Path string
	Raw  map[string]any // what the reference sets
	From string         // "KubeletConfiguration" or "ConfigMap kube-system/kubelet-config"
}

// LoadReference reads the reference: a raw KubeletConfiguration (the
// ConfigMap mounted as a directory gives that) or the ConfigMap object
// itself, YAML or JSON. It is read from the path as given, not under the
// host root: the reference is kubelet-doctor's own input (a DaemonSet mount),
// not a host path.
func LoadReference(path string) (*Reference, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read reference %q: %w", path, err)
	}
	raw, from, err := ParseReference(b)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w", path, err)
	}
	return &Reference{Path: path, Raw: raw, From: from}, nil
}

// ParseReference decodes a reference document.
func ParseReference(b []byte) (map[string]any, string, error) {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, "", fmt.Errorf("not YAML: %s", firstLine(err.Error()))
	}
	var head struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Data       map[string]any `json:"data"`
	}
	if err := json.Unmarshal(j, &head); err != nil {
		return nil, "", errors.New("not a YAML mapping")
	}
	switch {
	case head.APIVersion == "v1" && head.Kind == "ConfigMap":
		s, ok := head.Data[ConfigMapKey].(string)
		if !ok {
			return nil, "", fmt.Errorf("ConfigMap has no data.%s", ConfigMapKey)
		}
		doc, _, err := Decode([]byte(s))
		if err != nil {
			return nil, "", fmt.Errorf("ConfigMap data.%s: %w", ConfigMapKey, err)
		}
		name, _ := head.Metadata["name"].(string)
		ns, _ := head.Metadata["namespace"].(string)
		return doc, "ConfigMap " + ns + "/" + name, nil
	case head.APIVersion == APIVersion && head.Kind == Kind:
		doc, _, err := Decode(b)
		return doc, Kind, err
	}
	return nil, "", fmt.Errorf("kind %q %q, want %s or a v1 ConfigMap", head.APIVersion, head.Kind, Kind)
}
