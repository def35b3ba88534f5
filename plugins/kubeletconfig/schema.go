package kubeletconfig

import (
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// schemaText is every JSON field path of k8s.io/kubelet/config/v1beta1's
// KubeletConfiguration (Kubernetes 1.36) with its JSON kind, generated from
// the real types by TestSchemaIsCurrent (go test -run TestSchemaIsCurrent
// -update). The product keeps this table rather than the types: importing
// them links k8s.io/component-base (Prometheus, OpenTelemetry) into every
// plugin run, 27 MB of binary and ~40 ms of package init per invocation.
//
//go:embed schema.txt
var schemaText string

// Kinds of the schema. "duration" is a metav1.Duration (a Go duration
// string); "scalar" is a type with its own JSON form
// (metav1.Duration, metav1.Time, resource.Quantity): a string or a number.
// A map's values are at path ".*", a list's elements at "[]".
var schema = func() map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(schemaText), "\n") {
		if line == "" {
			continue
		}
		path, kind, ok := strings.Cut(line, "\t")
		if !ok {
			panic("kubeletconfig: schema.txt: line without a kind: " + line) // a constant: caught by every test
		}
		m[path] = kind
	}
	m[""] = "object"
	return m
}()

// checkSchema walks a decoded document against the schema as the kubelet's
// strict decoder does: an unknown field (names are case-sensitive) is a
// strict complaint, a value of the wrong JSON type an error (the kubelet
// cannot decode the file at all).
func checkSchema(v any, path string, strict *[]string) error {
	kind, ok := schema[path]
	if !ok {
		*strict = append(*strict, fmt.Sprintf("unknown field %q", strings.ReplaceAll(path, "[]", "")))
		return nil
	}
	if v == nil {
		return nil // null is the zero value
	}
	bad := func() error { return fmt.Errorf("%s: want %s, got %s", displayPath(path), kind, jsonKind(v)) }
	switch kind {
	case "string":
		if _, ok := v.(string); !ok {
			return bad()
		}
	case "bool":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "int", "float":
		f, ok := v.(float64)
		if !ok || kind == "int" && f != math.Trunc(f) {
			return bad()
		}
	case "duration":
		d, ok := v.(string)
		if !ok {
			return bad()
		}
		if _, err := time.ParseDuration(d); err != nil {
			return fmt.Errorf("%s: %q is not a duration", displayPath(path), d)
		}
	case "scalar":
		switch v.(type) {
		case string, float64:
		default:
			return bad()
		}
	case "object", "map":
		m, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			child := path + ".*"
			if kind == "object" {
				child = join(path, k)
			}
			if err := checkSchema(m[k], child, strict); err != nil {
				return err
			}
		}
	case "list":
		l, ok := v.([]any)
		if !ok {
			return bad()
		}
		for _, e := range l {
			if err := checkSchema(e, path+"[]", strict); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func displayPath(p string) string { return strings.ReplaceAll(p, ".*", "[*]") }

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}
