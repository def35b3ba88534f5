// Command gen writes the node-problem-detector config files generated from
// the condition registry: go run ./internal/npdconfig/gen -o config/npd
// (`make generate` runs it through go:generate).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npdconfig"
)

func main() {
	out := flag.String("o", "config/npd", "output directory")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "npdconfig/gen:", err)
		os.Exit(1)
	}
}

// write makes dir hold exactly the generated files: a condition removed
// from the registry must not leave a config behind that NPD would still load.
func write(dir string) error {
	files, err := npdconfig.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, p := range old {
		if _, keep := files[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("remove stale %s: %w", p, err)
			}
			fmt.Fprintf(os.Stderr, "removed %s\n", p)
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	changed := 0
	for _, name := range names {
		p := filepath.Join(dir, name)
		// Leave unchanged files alone so their mtimes do not churn.
		if cur, err := os.ReadFile(p); err == nil && bytes.Equal(cur, files[name]) {
			continue
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		changed++
	}
	fmt.Fprintf(os.Stderr, "npdconfig/gen: %d files in %s (%d written): %s\n", len(names), dir, changed, strings.Join(names, " "))
	return nil
}
