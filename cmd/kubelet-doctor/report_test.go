package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/sink"
)

func TestReportNamesEveryConditionOfAFailingNode(t *testing.T) {
	n := newNode(t)
	n.append(failingNode(t0)...)
	code, out, errOut := runCmd(t, "", "report", "--root", n.root, nowFlag(2*time.Minute))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a problem)\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour off a terminal:\n%q", out)
	}
	golden(t, "report-failing.txt", out)

	code, out, _ = runCmd(t, "", "report", "--root", n.root, nowFlag(2*time.Minute), "--output", "json")
	if code != 1 {
		t.Fatalf("json: exit %d, want 1", code)
	}
	var r sink.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	golden(t, "report-failing.json", strings.ReplaceAll(blankDurations(out), n.root, "/ROOT"))
}

func TestReportExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		entries bool
		want    int
		status  string
	}{
		{name: "a registered kubelet is healthy", entries: true, want: 0, status: "ok"},
		{name: "no journal cannot be told", entries: false, want: 2, status: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			if tt.entries {
				n.append(healthyNode(t0)...)
			}
			code, out, errOut := runCmd(t, "", "report", "--root", n.root, nowFlag(5*time.Minute), "--output", "json")
			if code != tt.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.want, out, errOut)
			}
			var r sink.Report
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.status || len(r.Conditions) != 11 {
				t.Errorf("status %q with %d conditions, want %q for all 11", r.Status, len(r.Conditions), tt.status)
			}
		})
	}
}

func TestReportLeavesThePluginStateAlone(t *testing.T) {
	n := newNode(t)
	n.append(failingNode(t0)...)
	if code, _, _ := runCmd(t, "", "report", "--root", n.root, nowFlag(2*time.Minute)); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if fileExists(n.root + "/var/lib/kubelet-doctor") {
		t.Errorf("report created the plugin's state directory under the root")
	}
}

func TestReportRejectsBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"report", "--output", "yaml"},
		{"report", "extra"},
		{"report", "--timeout", "0s"},
		{"report", "--now", "yesterday"},
	} {
		if code, _, errOut := runCmd(t, "", args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, errOut)
		}
	}
}
