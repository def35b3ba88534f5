package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

// One failure as the kubelet logs it on one line, and as a `key=<` block
// that journald stores as one entry per line.
var (
	x509OneLine = `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`
	x509Block   = []string{
		`"Unable to register node with API server" err=<`,
		"\tPost \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority",
		` > node="worker-1"`,
	}
)

func TestABlockExplainsLikeOneLine(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 2, 0, time.UTC)
	head := func(msg string) string { return klog(at, 'E', "kubelet_node_status.go:107", msg).Message }
	in := strings.Join(append([]string{head(x509OneLine), head(x509Block[0])}, x509Block[1:]...), "\n")
	_, out, _ := runCmd(t, in, "explain", "--output", "json")
	var got []explained
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var e explained
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, e)
	}
	if len(got) != 4 {
		t.Fatalf("%d objects for 4 lines", len(got))
	}
	one, block := got[0], got[1]
	if one.Category != "ca-trust" || block.Category != one.Category || block.Rule != one.Rule || block.Cause != one.Cause {
		t.Errorf("block explained as %+v, one line as %+v", block, one)
	}
	for _, e := range got[2:] {
		if e.Category != "none" {
			t.Errorf("value line %d explained as %s", e.Line, e.Category)
		}
	}
}

// Through check, on a real journal: the block raises the same condition
// with the same message as the one-line form.
func TestABlockChecksLikeOneLineOnARealJournal(t *testing.T) {
	now := time.Now()
	at := now.Add(-time.Minute)
	messages := map[string]string{}
	for name, lines := range map[string][]string{"one line": {x509OneLine}, "block": x509Block} {
		n := newNode(t)
		var es []journalexport.Entry
		for i, l := range lines {
			if i == 0 {
				es = append(es, klog(at, 'E', "kubelet_node_status.go:107", l))
			} else {
				es = append(es, journalexport.Kubelet(at, l)) // value lines carry no klog header
			}
		}
		n.append(es...)
		code, out := n.check("check", "KubeletCATrustProblem")
		if code != 1 {
			t.Fatalf("%s: exit %d %q, want 1", name, code, out)
		}
		messages[name] = out
	}
	if messages["block"] != messages["one line"] {
		t.Errorf("block: %q\none line: %q", messages["block"], messages["one line"])
	}
}
