// Package dist builds the host-install release tarball the way `make dist`
// does (scripts/dist.sh) and checks it as a node would use it: the .sha512
// verifies, it unpacks under /opt/kubelet-doctor of a scratch root, every
// config loads through NPD v1.36.0's own code and runs the installed plugin
// on the host's own root, and systemd itself accepts the unit.
package dist

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	cpmtypes "k8s.io/node-problem-detector/pkg/custompluginmonitor/types"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npdconfig"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

var repo = filepath.Join("..", "..", "..")

const prefix = "/opt/kubelet-doctor"

func TestDistTarball(t *testing.T) {
	bin, npd := os.Getenv("KD_BIN"), os.Getenv("KD_NPD")
	if bin == "" || npd == "" {
		t.Skip("KD_BIN and KD_NPD (scripts/build-npd.sh) must both be set; `make test` sets them")
	}
	var tarballs [2]string
	for i := range tarballs {
		tarballs[i] = build(t, bin, npd, t.TempDir())
	}
	t.Run("two builds give the same bytes", func(t *testing.T) {
		a, b := readFile(t, tarballs[0]), readFile(t, tarballs[1])
		if !bytes.Equal(a, b) {
			t.Error("two builds of the same inputs differ")
		}
	})
	t.Run("sha512 file verifies", func(t *testing.T) {
		cmd := exec.Command("sha512sum", "--check", "--strict", filepath.Base(tarballs[0])+".sha512")
		cmd.Dir = filepath.Dir(tarballs[0])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha512sum --check: %v: %s", err, out)
		}
	})

	root := t.TempDir()
	dest := filepath.Join(root, prefix)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xzf", tarballs[0], "-C", dest).CombinedOutput(); err != nil {
		t.Fatalf("unpack: %v: %s", err, out)
	}
	shipped, err := npdconfig.Files()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("holds exactly NPD's layout", func(t *testing.T) {
		want := []string{"README.md", "bin/kubelet-doctor", "bin/node-problem-detector", "config/kubernetes/rbac.yaml", "config/systemd/kubelet-doctor-npd.service"}
		for n := range shipped {
			want = append(want, "config/"+n)
		}
		sort.Strings(want)
		if got := files(t, dest); !slices.Equal(got, want) {
			t.Errorf("tarball holds\n%v\nwant\n%v", got, want)
		}
		for _, c := range []struct{ in, src string }{{"bin/kubelet-doctor", bin}, {"bin/node-problem-detector", npd}} {
			if !bytes.Equal(readFile(t, filepath.Join(dest, c.in)), readFile(t, c.src)) {
				t.Errorf("%s is not %s", c.in, c.src)
			}
		}
	})
	t.Run("every config is valid for NPD and runs the host install", func(t *testing.T) {
		for n := range shipped {
			loadConfig(t, filepath.Join(dest, "config", n), filepath.Join(dest, "bin", "kubelet-doctor"))
		}
	})
	t.Run("unit runs a second NPD with its own credentials and ports", func(t *testing.T) {
		unit := string(readFile(t, filepath.Join(dest, "config", "systemd", "kubelet-doctor-npd.service")))
		args := execStart(t, unit)
		if args[0] != prefix+"/bin/node-problem-detector" {
			t.Errorf("ExecStart runs %s", args[0])
		}
		var configs []string
		for n := range shipped {
			configs = append(configs, prefix+"/config/"+n)
		}
		sort.Strings(configs)
		flags := map[string]string{}
		for _, a := range args[1:] {
			k, v, _ := strings.Cut(a, "=")
			flags[k] = v
		}
		if got := strings.Split(flags["--config.custom-plugin-monitor"], ","); !slices.Equal(got, configs) {
			t.Errorf("--config.custom-plugin-monitor=%v, want every config file %v", got, configs)
		}
		// The stock NPD listens on 20256 and 20257.
		for _, f := range []string{"--port", "--prometheus-port"} {
			if v := flags[f]; v == "" || v == "20256" || v == "20257" {
				t.Errorf("%s=%q: must be set and differ from the stock NPD's", f, v)
			}
		}
		auth := regexp.MustCompile(`auth=([^&\s]+)`).FindStringSubmatch(flags["--apiserver-override"])
		// The kubelet's credentials live under /etc/kubernetes and /var/lib/kubelet.
		if auth == nil || strings.HasPrefix(auth[1], "/etc/kubernetes/") || strings.HasPrefix(auth[1], "/var/lib/kubelet/") {
			t.Errorf("--apiserver-override=%q: NPD must use its own kubeconfig, never the kubelet's", flags["--apiserver-override"])
		}
	})
	t.Run("systemd accepts the unit as installed", func(t *testing.T) {
		verifyUnit(t, root, filepath.Join(dest, "config", "systemd", "kubelet-doctor-npd.service"))
	})
}

// build runs make dist's script into out and returns the tarball's path.
func build(t *testing.T, bin, npd, out string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(repo, "scripts", "dist.sh"), bin, npd, "dist-test", out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/dist.sh: %v\n%s", err, stderr.String())
	}
	p := strings.TrimSpace(string(b))
	if !strings.HasSuffix(p, ".tar.gz") {
		t.Fatalf("scripts/dist.sh printed %q, not a tarball", b)
	}
	return p
}

// loadConfig reads one file the way NPD v1.36.0 does (json.Unmarshal,
// ApplyConfiguration, Validate), strictly, and checks its rules run the
// unpacked plugin on the host's own root and state directory.
func loadConfig(t *testing.T, path, unpackedBin string) {
	t.Helper()
	data := readFile(t, path)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var cfg cpmtypes.CustomPluginConfig
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("%s: not an NPD custom plugin config: %v", path, err)
	}
	if err := cfg.ApplyConfiguration(); err != nil {
		t.Fatalf("%s: NPD ApplyConfiguration: %v", path, err)
	}
	for _, r := range cfg.Rules {
		if r.Path != prefix+"/bin/kubelet-doctor" {
			t.Errorf("%s: rule %s runs %s", path, r.Reason, r.Path)
		}
		want := []string{"--root=/", "--state-dir=" + npdconfig.StateDir}
		if c, ok := rules.ConditionByType(r.Condition); ok && npdconfig.UsesReference(c) {
			// No ConfigMap mount on a host: the same path, a file an operator may put there.
			want = append(want, "--reference="+npdconfig.Reference, "--reference-optional")
		}
		for _, want := range want {
			if !slices.Contains(r.Args, want) {
				t.Errorf("%s: rule %s args %v lack %s", path, r.Reason, r.Args, want)
			}
		}
		// Validate stats the path: the unpacked file stands in for the
		// installed one.
		r.Path = unpackedBin
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("%s: NPD Validate: %v", path, err)
	}
}

// execStart returns the unit's ExecStart split into words, with systemd's
// line continuations joined.
func execStart(t *testing.T, unit string) []string {
	t.Helper()
	joined := strings.ReplaceAll(unit, "\\\n", " ")
	m := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindStringSubmatch(joined)
	if m == nil {
		t.Fatal("the unit has no ExecStart")
	}
	return strings.Fields(m[1])
}

// verifyUnit installs the unit in a scratch root next to the tarball and
// the host's own system units, then runs systemd-analyze verify on it:
// unknown keys, bad values and a missing executable are all errors here.
func verifyUnit(t *testing.T, root, unit string) {
	t.Helper()
	sysUnits := "/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(sysUnits, "sysinit.target")); err != nil {
		t.Fatalf("no systemd units at %s (scripts/deps.sh installs systemd): %v", sysUnits, err)
	}
	for _, d := range []string{"usr/lib/systemd", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "-r", sysUnits, filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copy the system units: %v: %s", err, out)
	}
	installed := filepath.Join(root, "etc/systemd/system", filepath.Base(unit))
	if err := os.WriteFile(installed, readFile(t, unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--root="+root, "/etc/systemd/system/"+filepath.Base(unit)).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v: %s", err, out)
	}
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, rel)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
