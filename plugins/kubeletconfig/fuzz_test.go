package kubeletconfig

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

func yamlOf(v any) ([]byte, error) { return yaml.Marshal(v) }

func seed(f *testing.F, pattern string) {
	m, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, p := range m {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzDecode: any bytes as a kubelet config or a reference: an answer or an
// error, never a panic.
func FuzzDecode(f *testing.F) {
	seed(f, "*.yaml")
	seed(f, "*.json")
	seed(f, "config.d/*")
	f.Fuzz(func(t *testing.T, b []byte) {
		if doc, _, err := Decode(b); err == nil && doc == nil {
			t.Fatal("no error and no document")
		}
		_, _, _ = ParseReference(b)
	})
}

// FuzzRuntimeConfig: containerd and CRI-O config files.
func FuzzRuntimeConfig(f *testing.F) {
	seed(f, "*.toml")
	seed(f, "*.conf")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = ParseContainerd(b)
		_, _, _ = ParseCRIO(b)
	})
}

// FuzzProc: /proc/meminfo, cpuinfo and swaps.
func FuzzProc(f *testing.F) {
	f.Add([]byte("MemTotal:        8388608 kB\n"))
	f.Add([]byte("processor\t: 0\n\nprocessor\t: 1\n"))
	f.Add([]byte("Filename Type Size Used Priority\n/swap.img file 4194300 0 -2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseMemTotal(b); err == nil && m <= 0 {
			t.Fatalf("MemTotal %d without error", m)
		}
		_ = CountCPUs(b)
		_ = ParseSwaps(b)
	})
}
