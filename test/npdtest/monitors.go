package npdtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Monitor is one permanent rule of a shipped custom plugin monitor file:
// the condition it sets and the reason it gives when the condition is True.
type Monitor struct {
	File, Condition, Reason string
}

// Monitors reads the permanent rules of dir/*.json (config/npd, as the
// suites find it relative to their package), sorted by condition: one file
// per condition; the alerts file has only temporary rules and adds none.
// A directory without a config fails the test.
func Monitors(t testing.TB, dir string) []Monitor {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no NPD config in %s: %v", dir, err)
	}
	var out []Monitor
	for _, f := range files {
		var cfg struct {
			Rules []struct{ Type, Condition, Reason string }
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range cfg.Rules {
			if r.Type == "permanent" {
				out = append(out, Monitor{File: f, Condition: r.Condition, Reason: r.Reason})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Condition < out[j].Condition })
	return out
}
