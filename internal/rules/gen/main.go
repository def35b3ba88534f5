// Command gen writes docs/conditions.md from the rule registry. It is run
// by `go generate` (make generate) from internal/rules; -o names the output,
// and by default it is docs/conditions.md under the module root, found by
// walking up to go.mod so that the command works from any directory.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

func main() {
	out := flag.String("o", "", "output file (default: docs/conditions.md under the module root)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if out == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		out = filepath.Join(root, "docs", "conditions.md")
	}
	if err := os.WriteFile(out, []byte(rules.Markdown()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
