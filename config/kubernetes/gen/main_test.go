package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpToDate fails when configmap.yaml or the DaemonSet's config list no
// longer match config/npd: someone changed the registry and forgot
// `go generate ./config/kubernetes/gen`.
func TestUpToDate(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "config", "npd")); err != nil {
		t.Skipf("config/npd is not there yet: %v", err)
	}
	outs, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		cur, err := os.ReadFile(o.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cur, o.Data) {
			t.Errorf("%s is out of date: run go generate ./config/kubernetes/gen", filepath.Base(o.Path))
		}
	}
}

func TestLiteralBlock(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "one trailing newline", in: "{\n  \"a\": 1\n}\n", want: "|\n    {\n      \"a\": 1\n    }\n"},
		{name: "no trailing newline", in: "{}", want: "|-\n    {}\n"},
		{name: "two trailing newlines", in: "{}\n\n", want: "|+\n    {}\n\n"},
		{name: "blank line inside", in: "a\n\nb\n", want: "|\n    a\n\n    b\n"},
		{name: "empty", in: "", want: "\"\"\n"},
		{name: "carriage return", in: "{}\r\n", wantErr: true},
		{name: "leading space", in: " {}\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := literalBlock(tt.in, "    ")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDaemonSetArgs(t *testing.T) {
	ds := []byte("        args:\n        - --config.custom-plugin-monitor=/old.json\n        - --v=2\n")
	got, err := DaemonSetArgs(ds, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := "        - --config.custom-plugin-monitor=" + MountDir + "/a.json," + MountDir + "/b.json\n"
	if !strings.Contains(string(got), want) || !strings.Contains(string(got), "- --v=2\n") {
		t.Errorf("got:\n%s", got)
	}
	if _, err := DaemonSetArgs([]byte("args: []\n"), []string{"a.json"}); err == nil {
		t.Error("no argument line: want an error")
	}
}
