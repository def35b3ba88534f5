package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestExplainJournalSummaryGroupsByCause(t *testing.T) {
	n := newNode(t)
	n.append(failingNode(t0)...)
	code, out, errOut := runCmd(t, "", "explain", "--journal", "--root", n.root, "--since", "0", "--summary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "explain-summary.txt", out)

	code, out, _ = runCmd(t, "", "explain", "--journal", "--root", n.root, "--since", "0", "--summary", "--output", "json")
	if code != 0 {
		t.Fatalf("json: exit %d", code)
	}
	var groups []group
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var g group
		if err := json.Unmarshal([]byte(l), &g); err != nil {
			t.Fatalf("not one object per line: %v: %s", err, l)
		}
		groups = append(groups, g)
	}
	byCause := map[string]group{}
	for _, g := range groups {
		byCause[g.Category+" "+g.Rule] = g
	}
	exits, config := byCause["exit "], byCause["kubelet-config config-file-missing"]
	if exits.Count != 3 {
		t.Errorf("exits grouped as %+v, want the three crashes counted", groups)
	}
	if config.Count != 3 || !config.First.Equal(t0.Add(10200*time.Millisecond)) || !config.Last.Equal(t0.Add(50200*time.Millisecond)) {
		t.Errorf("config group %+v, want 3 from 10:00:10.2 to 10:00:50.2", config)
	}
}

func TestExplainJournalReadsOnlyTheLastSpan(t *testing.T) {
	n := newNode(t)
	now := time.Now()
	n.append(failingNode(now.Add(-3 * time.Hour))...)
	n.append(healthyNode(now.Add(-10 * time.Minute))...)
	code, out, errOut := runCmd(t, "", "explain", "--journal", "--root", n.root, "--since", "1h", "--all")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "config-file-missing") || strings.Contains(out, "ca-trust") {
		t.Errorf("entries older than --since were read:\n%s", out)
	}
	if got := strings.Count(out, "\n"); got != 6 {
		t.Errorf("%d lines, want the 5 recent entries and the summary line:\n%s", got, out)
	}
	if !strings.Contains(out, now.Add(-10*time.Minute).UTC().Format("2006-01-02T15:04")) {
		t.Errorf("journal lines are not shown with their times:\n%s", out)
	}
}

func TestExplainJournalCannotReadIsAnError(t *testing.T) {
	n := newNode(t) // no journal files
	code, _, errOut := runCmd(t, "", "explain", "--journal", "--root", n.root)
	if code != 2 || !strings.Contains(errOut, "journal") {
		t.Errorf("exit %d %q, want 2 naming the journal", code, errOut)
	}
	if code, _, _ := runCmd(t, "", "explain", "--journal", "FILE"); code != 2 {
		t.Errorf("--journal with a FILE: exit %d, want 2", code)
	}
}
