// Command messages writes docs/kubelet-messages.md, the reference of the
// kubelet's own messages, from test/sweep/templates.tsv and the rule
// registry. make generate runs it (go generate ./test/sweep/...); it needs no
// network. TestMessagesDocUpToDate fails when the file is stale.
//
//	go run ./test/sweep/cmd/messages [-in test/sweep/templates.tsv] [-o docs/kubelet-messages.md]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kubelet-doctor/kubelet-doctor/test/sweep"
)

func main() {
	in := flag.String("in", "test/sweep/templates.tsv", "table of templates to read")
	out := flag.String("o", "docs/kubelet-messages.md", "reference to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "messages:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("open table: %w", err)
	}
	defer f.Close()
	ts, err := sweep.Read(f)
	if err != nil {
		return fmt.Errorf("read table %q: %w", in, err)
	}
	if err := os.WriteFile(out, []byte(sweep.Messages(ts)), 0o644); err != nil {
		return fmt.Errorf("write %q: %w", out, err)
	}
	return nil
}
