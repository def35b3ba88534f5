package rules

import (
	"fmt"
	"testing"
)

// Each failure as the kubelet logs it on one line and as a `key=<` block:
// journald stores the block's lines as separate entries.
var foldPairs = []struct {
	name  string
	one   string
	block []string
}{
	{"runtime socket missing inside command failed",
		`E1125 10:00:00.000001    1234 run.go:72] "command failed" err="failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint \"unix:///run/containerd/containerd.sock\": rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or directory\""`,
		[]string{`E1125 10:00:00.000001    1234 run.go:72] "command failed" err=<`,
			"\tfailed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint \"unix:///run/containerd/containerd.sock\": rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or directory\"",
			" >"}},
	{"x509 with pairs after the block",
		`E1125 10:00:02.113254    1234 kubelet_node_status.go:107] "Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`,
		[]string{`E1125 10:00:02.113254    1234 kubelet_node_status.go:107] "Unable to register node with API server" err=<`,
			"\tPost \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority",
			` > node="worker-1"`}},
	{"container manager with a multi-line value",
		`E1125 10:00:00.000001    1234 kubelet.go:1704] "Failed to start ContainerManager" err="system validation failed - Following Cgroup subsystem not mounted: [cpuset]"`,
		[]string{`E1125 10:00:00.000001    1234 kubelet.go:1704] "Failed to start ContainerManager" err=<`,
			"\tsystem validation failed - Following Cgroup subsystem not mounted: [cpuset]",
			" >"}},
}

type tagged struct {
	tag int
	v   Verdict
}

func fold(lines []string) []tagged {
	var out []tagged
	f := NewFolder(New(), func(tag int, v Verdict) { out = append(out, tagged{tag, v}) })
	for i, l := range lines {
		f.Push(i, l)
	}
	f.Flush()
	return out
}

func same(a, b Verdict) bool {
	return a.Category == b.Category && a.Rule == b.Rule && a.Label == b.Label && a.Cause == b.Cause
}

func TestABlockClassifiesLikeTheSameFailureOnOneLine(t *testing.T) {
	for _, p := range foldPairs {
		t.Run(p.name, func(t *testing.T) {
			want := New().Classify(p.one)
			if want.Category == None {
				t.Fatalf("the one-line form is not a problem: %+v", want)
			}
			got := fold(append(append([]string{"I1125 10:00:00.000000    1234 server.go:1] \"before\""}, p.block...), "I1125 10:00:03.000000    1234 server.go:2] \"after\""))
			if len(got) != len(p.block)+2 {
				t.Fatalf("%d verdicts for %d lines: one per line is required", len(got), len(p.block)+2)
			}
			for i, g := range got {
				if g.tag != i {
					t.Fatalf("verdict %d has tag %d: order lost", i, g.tag)
				}
			}
			if !same(got[1].v, want) {
				t.Errorf("block head = %+v\nwant one-line %+v", got[1].v, want)
			}
			for _, g := range got[2 : len(got)-1] {
				if g.v.Category != None {
					t.Errorf("value line %d = %s, want none", g.tag, g.v.Category)
				}
			}
		})
	}
}

func TestAnUnclosedBlockIsDecidedOnWhatItHas(t *testing.T) {
	p := foldPairs[1]
	got := fold(p.block[:2]) // the closing line never comes
	if len(got) != 2 || got[0].v.Category != CATrust {
		t.Fatalf("unclosed block: %+v, want ca-trust from what was folded", got)
	}
	// A block that never closes is cut at maxBlock lines.
	lines := []string{p.block[0]}
	for i := 0; i < 2*maxBlock; i++ {
		lines = append(lines, fmt.Sprintf("\tline %d", i))
	}
	if got := fold(lines); len(got) != len(lines) {
		t.Fatalf("%d verdicts for %d lines", len(got), len(lines))
	}
}

func TestALineEndingInLessThanThatOpensNoBlockIsClassifiedAtOnce(t *testing.T) {
	got := fold([]string{`E1125 10:00:00.000001    1234 x.go:1] "compare" a=<`, "not a continuation"})
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
}
