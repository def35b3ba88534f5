package main

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
	"github.com/kubelet-doctor/kubelet-doctor/internal/timeline"
)

func TestCLIDocIsCurrent(t *testing.T) {
	got := cliDoc()
	if *update {
		if err := os.WriteFile(cliDocPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(cliDocPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("docs/cli.md is stale: run go generate ./cmd/kubelet-doctor")
	}
}

func TestCLIDocCoversEveryCommandAndFlag(t *testing.T) {
	doc := cliDoc()
	for _, c := range commands {
		if usageLines[c.name] == "" || strings.TrimSpace(cliProse()[c.name]) == "" {
			t.Errorf("command %s has no synopsis or text in the reference", c.name)
		}
		// What -h prints is what the reference lists.
		var errb bytes.Buffer
		run([]string{c.name, "-h"}, strings.NewReader(""), &bytes.Buffer{}, &errb)
		for _, name := range flagNames(c.name) {
			if !strings.Contains(errb.String(), "-"+strings.TrimPrefix(name, "--")+" ") && !strings.Contains(errb.String(), "-"+strings.TrimPrefix(name, "--")+"\n") {
				t.Errorf("%s -h does not show %s: the documented flag set is not the command's", c.name, name)
			}
			if !strings.Contains(doc, "`"+name) {
				t.Errorf("%s %s is not in the reference", c.name, name)
			}
		}
	}
}

// TestCLIDocNamesEveryJSONField keeps the documented JSON contracts whole.
func TestCLIDocNamesEveryJSONField(t *testing.T) {
	doc := cliDoc()
	for _, v := range []any{sink.Report{}, sink.ReportSummary{}, sink.ReportCondition{}, sink.ReportEvidence{},
		sink.ReportCheck{}, waitResult{}, timeline.Milestone{}, group{}, explained{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(doc, `"`+name+`"`) && !strings.Contains(doc, "`"+name) && !strings.Contains(doc, "."+name) {
				t.Errorf("%s field %q is not documented in docs/cli.md", rt.Name(), name)
			}
		}
	}
}
