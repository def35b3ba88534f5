package sweep

import "strings"

// Release is one Kubernetes version swept: the kubernetes module, the
// client-go of the same release (its certificate manager, reflector and
// event recorder write into the kubelet's log) and the CRI client, a module
// of its own from 1.31 on ("" before).
type Release struct {
	Minor, Kubernetes, ClientGo, CRIClient string
}

// Releases are the versions swept, oldest first: the 1.18, 1.22,
// 1.26, 1.30, 1.34 and the newest one the module proxy served when the table
// was made. client-go v0.18.20 is not served: v0.18.19 is the same
// certificate code.
func Releases() []Release {
	return []Release{
		{"1.18", "v1.18.20", "v0.18.19", ""},
		{"1.22", "v1.22.17", "v0.22.17", ""},
		{"1.26", "v1.26.15", "v0.26.15", ""},
		{"1.30", "v1.30.14", "v0.30.14", ""},
		{"1.34", "v1.34.4", "v0.34.4", "v0.34.4"},
		{"1.37", "v1.37.2", "v0.37.2", "v0.37.2"},
	}
}

// Minors lists the swept minor versions, oldest first: "1.18".
func Minors() []string {
	var out []string
	for _, r := range Releases() {
		out = append(out, r.Minor)
	}
	return out
}

// HandWritten reports whether the row's reason was written by a reviewer:
// such a row keeps its category when the table is swept again, and
// TestTemplatesTable holds the registry to it. Rows the extractor wrote
// ("rule <id>", "no rule (<package>)") take the registry's verdict again.
func (t Template) HandWritten() bool {
	return !strings.HasPrefix(t.Reason, "rule ") && !strings.HasPrefix(t.Reason, "no rule")
}
