package kubeletconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

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
//
// With optional, a path that does not exist is no reference: (nil, nil).
// The DaemonSet mounts kube-system/kubelet-config as an optional ConfigMap,
// which on a cluster without it (not made by kubeadm) is an empty directory.
// Anything else that keeps the file from being read (a directory, a
// permission, a loop of links, a bad document) is still an error: an
// operator's mistake must not quietly turn drift off.
func LoadReference(path string, optional bool) (*Reference, error) {
	b, err := readFile(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read reference %q: %w", path, err)
	}
	raw, from, err := ParseReference(b)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w", path, err)
	}
	return &Reference{Path: path, Raw: raw, From: from}, nil
}

// NoReference is the evidence of a healthy finding when an optional
// reference is absent: drift was not checked, and says why.
func NoReference(path string) string {
	return fmt.Sprintf("drift not checked: no reference at %q (--reference-optional)", path)
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
