package cluster_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The helpers below run without any binary: a broken rewrite or journal
// builder shows up in a plain `go test`, not only in the slow suite.

func TestRewriteArgs(t *testing.T) {
	node := &testNode{Name: "n", Root: "/tmp/n/root", State: "/tmp/n/state"}
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{
			name: "separate values",
			in:   []string{"check", "--root", "/host", "--state-dir", "/var/lib/kubelet-doctor", "KubeletCATrustProblem"},
			want: []string{"check", "--root", "/tmp/n/root", "--state-dir", "/tmp/n/state", "KubeletCATrustProblem"},
		},
		{
			name: "equals form and paths under the shipped root",
			in:   []string{"alert", "--root=/host", "--journal-dir=/host/var/log/journal", "--state-dir=/x", "C"},
			want: []string{"alert", "--root=/tmp/n/root", "--journal-dir=/tmp/n/root/var/log/journal", "--state-dir=/tmp/n/state", "C"},
		},
		{
			name: "defaults are made explicit",
			in:   []string{"check", "C"},
			want: []string{"check", "C", "--root", "/tmp/n/root", "--state-dir", "/tmp/n/state"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewriteArgs(tt.in, node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRewriteConfig(t *testing.T) {
	src := `{"plugin":"custom","pluginConfig":{"invoke_interval":"30s","timeout":"5s","unknown":1},
	 "rules":[{"type":"permanent","path":"/opt/kubelet-doctor/bin/kubelet-doctor","args":["check","--root","/host","C"]}]}`
	node := &testNode{Root: "/r", State: "/s"}
	out, _, err := rewriteConfig([]byte(src), "/bin/kd", node, 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	pc := got["pluginConfig"].(map[string]any)
	rule := got["rules"].([]any)[0].(map[string]any)
	if pc["invoke_interval"] != "2s" || pc["timeout"] != "5s" || pc["unknown"] != float64(1) {
		t.Errorf("pluginConfig = %v", pc)
	}
	if rule["path"] != "/bin/kd" {
		t.Errorf("path = %v", rule["path"])
	}
	if args := rule["args"].([]any); len(args) != 6 || args[2] != "/r" || args[5] != "/s" {
		t.Errorf("args = %v", args)
	}
}

func TestRewriteConfigKeepsOnlyTheConditions(t *testing.T) {
	src := `{"conditions":[],"rules":[
	 {"type":"temporary","reason":"AFailed","args":["alert","A","--root=/host"]},
	 {"type":"temporary","reason":"BFailed","args":["alert","B","--root=/host"]},
	 {"type":"permanent","condition":"A","reason":"AFailing","args":["check","A"]}]}`
	out, kept, err := rewriteConfig([]byte(src), "/bin/kd", &testNode{Root: "/r", State: "/s"}, time.Second, []string{"A"})
	if err != nil {
		t.Fatal(err)
	}
	if kept != 2 || strings.Contains(string(out), "BFailed") || !strings.Contains(string(out), "AFailing") {
		t.Errorf("kept %d rules:\n%s", kept, out)
	}
}

func TestFindGauge(t *testing.T) {
	metrics := `# HELP problem_gauge Whether a specific type of problem is affecting the node or not.
# TYPE problem_gauge gauge
problem_gauge{reason="KubeletCAUntrusted",type="KubeletCATrustProblem"} 1
problem_gauge{reason="KubeletCATrusted",type="KubeletCATrustProblem"} 0
`
	v, ok, err := findGauge(strings.NewReader(metrics), "KubeletCATrustProblem", "KubeletCAUntrusted")
	if err != nil || !ok || v != 1 {
		t.Errorf("got %v %v %v, want 1 true nil", v, ok, err)
	}
	if _, ok, _ := findGauge(strings.NewReader(metrics), "KubeletCATrustProblem", "Other"); ok {
		t.Error("absent series found")
	}
}

// TestScenarioJournals checks what every scenario writes: strictly
// increasing times, klog headers stamped with the entry's own time, the
// node's name substituted, and the failure inside the 10m window.
func TestScenarioJournals(t *testing.T) {
	header := regexp.MustCompile(`^[IWEF](\d{4} \d{2}:\d{2}:\d{2}\.\d{6}) +\d+ [^ ]+:\d+\] `)
	now := time.Now()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			tl := newTimeline("node-x", time.Time{})
			sc.fail(tl, now)
			n := len(tl.entries)
			sc.again(tl)
			tl.at(time.Now())
			sc.recover(tl)
			if n == 0 || len(tl.entries) == n {
				t.Fatalf("fail wrote %d entries, again+recover %d", n, len(tl.entries)-n)
			}
			var prev time.Time
			for i, e := range tl.entries {
				if !e.Time.After(prev) {
					t.Fatalf("entry %d at %v is not after %v", i, e.Time, prev)
				}
				prev = e.Time
				// A journal entry from the future would test the clock, not the rules.
				if e.Time.After(time.Now().Add(time.Second)) {
					t.Errorf("entry %d at %v is in the future", i, e.Time)
				}
				if e.Time.Before(now.Add(-10 * time.Minute)) {
					t.Errorf("entry %d at %v is outside the 10m window", i, e.Time)
				}
				if strings.Contains(e.Message, "%!") || strings.Contains(e.Message, "%[") {
					t.Errorf("entry %d: bad format: %s", i, e.Message)
				}
				if e.Identifier != "kubelet" {
					continue
				}
				m := header.FindStringSubmatch(e.Message)
				if m == nil {
					t.Fatalf("entry %d has no klog header: %s", i, e.Message)
				}
				if want := e.Time.UTC().Format("0102 15:04:05.000000"); m[1] != want {
					t.Errorf("entry %d: header time %s, entry time %s", i, m[1], want)
				}
			}
		})
	}
}
