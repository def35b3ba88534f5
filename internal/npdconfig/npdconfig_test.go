package npdconfig

import (
	"bytes"
	"encoding/json"
	conds "github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	cpmtypes "k8s.io/node-problem-detector/pkg/custompluginmonitor/types"
	npdtypes "k8s.io/node-problem-detector/pkg/types"

	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/plugins"
)

// configDir is config/npd relative to this package.
var configDir = filepath.Join("..", "..", "config", "npd")

func mustFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := Files()
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return files
}

func TestCommittedConfigMatchesRegistry(t *testing.T) {
	files := mustFiles(t)
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(configDir, name))
		if err != nil {
			t.Errorf("config/npd/%s: %v: run make generate", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("config/npd/%s is stale: run make generate", name)
		}
	}
	on, err := filepath.Glob(filepath.Join(configDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range on {
		if _, ok := files[filepath.Base(p)]; !ok {
			t.Errorf("config/npd/%s is not generated from the registry (a removed condition?): run make generate", filepath.Base(p))
		}
	}
}

func TestGenerationIsDeterministic(t *testing.T) {
	a, b := mustFiles(t), mustFiles(t)
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// documentedFlags are the plugin flags of docs/cli.md: a rule must not pass a
// flag the command does not know (it would exit Unknown on every run).
var documentedFlags = map[string]bool{
	"root": true, "journal-dir": true, "unit": true, "identifier": true, "state-dir": true,
	"window": true, "boot-grace": true, "timeout": true, "max-output": true, "log-level": true, "hold": true,
	"reference": true, "reference-optional": true,
}

// boolFlags may stand alone: "--name" is "--name=true".
var boolFlags = map[string]bool{"reference-optional": true}

// pluginFlags parses "--name=value" arguments (a boolean flag may be bare);
// anything else fails the test.
func pluginFlags(t *testing.T, file string, args []string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	for _, a := range args {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok && boolFlags[name] {
			value, ok = "true", true
		}
		if !strings.HasPrefix(a, "--") || !ok {
			t.Errorf("%s: argument %q: want --flag=value", file, a)
			continue
		}
		if !documentedFlags[name] {
			t.Errorf("%s: flag --%s is not a documented flag of check/alert (docs/cli.md)", file, name)
		}
		out[name] = value
	}
	return out
}

// load reads one file the way NPD v1.36.0 does (custom_plugin_monitor.go:
// json.Unmarshal, ApplyConfiguration, Validate). Validate stats each rule's
// path, which is the deployment path of the binary, so the path is pointed
// at a file that exists here once it has been checked.
func load(t *testing.T, name string, data []byte) cpmtypes.CustomPluginConfig {
	t.Helper()
	var cfg cpmtypes.CustomPluginConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: unmarshal as NPD config: %v", name, err)
	}
	// NPD ignores unknown keys, so a typo (invokeInterval) would silently
	// fall back to a default: decode strictly as well.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var strict cpmtypes.CustomPluginConfig
	if err := dec.Decode(&strict); err != nil {
		t.Errorf("%s: key NPD does not know: %v", name, err)
	}
	if err := cfg.ApplyConfiguration(); err != nil {
		t.Fatalf("%s: NPD ApplyConfiguration: %v", name, err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg.Rules {
		if r.Path != Binary {
			t.Errorf("%s: rule %s runs %q, want the deployed binary %q", name, r.Reason, r.Path, Binary)
		}
		r.Path = exe
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s: NPD Validate: %v", name, err)
	}
	return cfg
}

func TestEveryFileIsAValidNPDConfig(t *testing.T) {
	files := mustFiles(t)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)

	permanent := make(map[string]string) // condition type -> file
	alerted := make(map[string]bool)     // condition type -> has an alert rule
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cfg := load(t, name, files[name])
			g := cfg.PluginGlobalConfig
			if cfg.Source != Source {
				t.Errorf("source %q, want %q", cfg.Source, Source)
			}
			if !*g.SkipInitialStatus {
				t.Error("skip_initial_status is false: an NPD restart would publish every condition False before the first run")
			}
			if *g.InvokeInterval <= 0 {
				t.Errorf("invoke_interval %v: NPD panics on a non-positive interval", *g.InvokeInterval)
			}
			if *g.MaxOutputLength < 80 || *g.MaxOutputLength > 4096 {
				t.Errorf("max_output_length %d: NPD caps stdout at 4096 bytes, and less than its default 80 loses the cause", *g.MaxOutputLength)
			}
			if len(cfg.Rules) == 0 {
				t.Fatal("no rules")
			}
			for _, r := range cfg.Rules {
				checkRule(t, name, cfg, r)
				c, _ := rules.ConditionByType(arg(r.Args, 1))
				switch r.Type {
				case npdtypes.Perm:
					if prev, dup := permanent[c.Type]; dup {
						t.Errorf("condition %s also has a permanent rule in %s: two rules on one condition flip-flop", c.Type, prev)
					}
					permanent[c.Type] = name
				case npdtypes.Temp:
					alerted[c.Type] = true
				}
			}
			if name == AlertsFile {
				if len(cfg.DefaultConditions) != 0 {
					t.Errorf("%d conditions in the alerts file: it holds temporary rules only", len(cfg.DefaultConditions))
				}
				return
			}
			if len(cfg.DefaultConditions) != 1 || len(cfg.Rules) != 1 {
				t.Fatalf("%d conditions and %d rules: want exactly one permanent condition per file (skip_initial_status caveat)",
					len(cfg.DefaultConditions), len(cfg.Rules))
			}
			dc, r := cfg.DefaultConditions[0], cfg.Rules[0]
			c, ok := rules.ConditionByType(dc.Type)
			if !ok {
				t.Fatalf("condition %q is not in the registry", dc.Type)
			}
			if r.Type != npdtypes.Perm || r.Condition != dc.Type {
				t.Errorf("rule is %s on %q, want permanent on %q", r.Type, r.Condition, dc.Type)
			}
			if dc.Reason != c.HealthyReason || dc.Message != c.HealthyMessage || r.Reason != c.ProblemReason {
				t.Errorf("reasons/message (%q, %q, %q) differ from the registry (%q, %q, %q)",
					dc.Reason, dc.Message, r.Reason, c.HealthyReason, c.HealthyMessage, c.ProblemReason)
			}
			if want := FileName(c); name != want {
				t.Errorf("file of %s is %s, want %s", c.Type, name, want)
			}
		})
	}

	for _, c := range rules.Conditions() {
		if _, ok := permanent[c.Type]; !ok {
			t.Errorf("condition %s has no permanent rule in any file", c.Type)
		}
	}
	// The brief's minimum: these failures stop a node from joining, and an
	// Event as they happen is worth more than a condition found later.
	for _, cat := range []rules.Category{rules.Registration, rules.Bootstrap, rules.CATrust, rules.Authorization, rules.Certificate, conds.Startup} {
		found := false
		for _, c := range rules.Conditions() {
			if c.Category == cat && alerted[c.Type] {
				found = true
			}
		}
		if !found {
			t.Errorf("no startup alert for the condition of category %q", cat)
		}
	}
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// checkRule checks that r runs a real subcommand of kubelet-doctor on a
// registry condition, with timeouts that nest: plugin deadline < rule
// timeout < global timeout (NPD ignores a rule timeout that is not below the
// global one and rejects one above it).
func checkRule(t *testing.T, file string, cfg cpmtypes.CustomPluginConfig, r *cpmtypes.CustomRule) {
	t.Helper()
	want := map[npdtypes.Type]string{npdtypes.Perm: "check", npdtypes.Temp: "alert"}[r.Type]
	if want == "" {
		t.Fatalf("%s: rule type %q: want %q or %q", file, r.Type, npdtypes.Perm, npdtypes.Temp)
	}
	if sub := arg(r.Args, 0); sub != want {
		t.Errorf("%s: %s rule runs %q, want kubelet-doctor %s", file, r.Type, sub, want)
	}
	c, ok := rules.ConditionByType(arg(r.Args, 1))
	if !ok {
		t.Fatalf("%s: rule %s names condition %q, which is not in the registry", file, r.Reason, arg(r.Args, 1))
	}
	if r.Type == npdtypes.Temp && r.Reason != c.EventReason {
		t.Errorf("%s: alert rule for %s has reason %q, want the registry's event reason %q", file, c.Type, r.Reason, c.EventReason)
	}
	flags := pluginFlags(t, file, r.Args[2:])
	if flags["root"] != Root || flags["state-dir"] != StateDir {
		t.Errorf("%s: --root=%q --state-dir=%q, want the DaemonSet's %q and %q", file, flags["root"], flags["state-dir"], Root, StateDir)
	}
	if UsesReference(c) && (flags["reference"] != Reference || flags["reference-optional"] != "true") {
		t.Errorf("%s: %s rule has --reference=%q --reference-optional=%q, want the DaemonSet's mount %q, optional",
			file, c.Type, flags["reference"], flags["reference-optional"], Reference)
	}
	if !UsesReference(c) && (flags["reference"] != "" || flags["reference-optional"] != "") {
		t.Errorf("%s: %s rule passes --reference, which none of its checks reads", file, c.Type)
	}
	if mo, err := strconv.Atoi(flags["max-output"]); err != nil || mo != *cfg.PluginGlobalConfig.MaxOutputLength {
		t.Errorf("%s: --max-output=%q, want max_output_length %d so that the plugin, not NPD, decides the cut", file, flags["max-output"], *cfg.PluginGlobalConfig.MaxOutputLength)
	}
	pluginTimeout, err := time.ParseDuration(flags["timeout"])
	if err != nil {
		t.Fatalf("%s: --timeout=%q: %v", file, flags["timeout"], err)
	}
	if r.Timeout == nil {
		t.Fatalf("%s: rule %s has no timeout", file, r.Reason)
	}
	global := *cfg.PluginGlobalConfig.Timeout
	if !(pluginTimeout < *r.Timeout && *r.Timeout < global) {
		t.Errorf("%s: want plugin --timeout %v < rule timeout %v < global timeout %v", file, pluginTimeout, *r.Timeout, global)
	}
	if *r.Timeout-pluginTimeout < 500*time.Millisecond {
		t.Errorf("%s: rule timeout %v leaves the plugin under 500ms after its own deadline %v to report", file, *r.Timeout, pluginTimeout)
	}
}

func TestFileNameFollowsCategoryOrType(t *testing.T) {
	tests := []struct {
		name string
		c    rules.Condition
		want string
	}{
		{"category names the file", rules.Condition{Type: "KubeletCATrustProblem", Category: rules.CATrust}, "kubelet-ca-trust.json"},
		{"category already saying kubelet is not doubled", rules.Condition{Type: "X", Category: rules.KubeletConfig}, "kubelet-config.json"},
		{"multi-word category keeps its dashes", rules.Condition{Type: "X", Category: rules.APIServerConnectivity}, "kubelet-apiserver-connectivity.json"},
		{"the startup condition is a row like the others", rules.Condition{Type: "KubeletStartupProblem", Category: conds.Startup}, "kubelet-startup.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FileName(tt.c); got != tt.want {
				t.Errorf("FileName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRewritePointsEveryRuleAtTheLocalNode(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	l := Local{Bin: "/tmp/kd", Root: "/tmp/node", StateDir: "/tmp/state", Interval: time.Second}
	for name, data := range files {
		out, err := Rewrite(data, l)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var cfg struct {
			PluginConfig struct {
				InvokeInterval string `json:"invoke_interval"`
			} `json:"pluginConfig"`
			Rules []struct {
				Path string   `json:"path"`
				Args []string `json:"args"`
			} `json:"rules"`
		}
		if err := json.Unmarshal(out, &cfg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.PluginConfig.InvokeInterval != "1s" {
			t.Errorf("%s: interval %q, want 1s", name, cfg.PluginConfig.InvokeInterval)
		}
		for _, r := range cfg.Rules {
			args := strings.Join(r.Args, " ")
			if r.Path != l.Bin || !strings.Contains(args, "--root=/tmp/node") || !strings.Contains(args, "--state-dir=/tmp/state") {
				t.Errorf("%s: rule not rewritten: %s %s", name, r.Path, args)
			}
		}
	}
	t.Run("the reference moves with Local.Reference, and goes without it", func(t *testing.T) {
		for _, tt := range []struct{ reference, want string }{
			{"", ""},
			{"/etc/kubelet-doctor/reference/kubelet", "--reference=/etc/kubelet-doctor/reference/kubelet --reference-optional"},
		} {
			l := l
			l.Reference = tt.reference
			out, err := Rewrite(files[FileName(mustCondition(t, conds.TypeConfig))], l)
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct{ Rules []struct{ Args []string } }
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			args := strings.Join(cfg.Rules[0].Args, " ")
			if i := strings.Index(args, "--reference"); tt.want == "" && i >= 0 || tt.want != "" && !strings.Contains(args, tt.want) {
				t.Errorf("Local.Reference %q: args %q, want %q", tt.reference, args, tt.want)
			}
		}
	})
	if _, err := Rewrite([]byte(`{"pluginConfig":{},"rules":[{"reason":"X","args":["check"]}]}`), l); err == nil {
		t.Error("a rule without --root= was accepted")
	}
}

func mustCondition(t *testing.T, typ string) rules.Condition {
	t.Helper()
	c, ok := rules.ConditionByType(typ)
	if !ok {
		t.Fatalf("condition %s is not in the registry", typ)
	}
	return c
}

// TestReferenceConditionsAreThoseWhoseChecksReadIt: the rules that get
// --reference are exactly the conditions of the checks that read it (a
// Reference field in plugins.Checks), so that a new drift check cannot be
// deployed without its reference, nor a rule pass one nobody reads.
func TestReferenceConditionsAreThoseWhoseChecksReadIt(t *testing.T) {
	readers := map[string]bool{}
	for _, c := range plugins.Checks(plugins.Options{Reference: "/ref", ReferenceOptional: true}) {
		v := reflect.ValueOf(c)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		ref, opt := v.FieldByName("Reference"), v.FieldByName("ReferenceOptional")
		if !ref.IsValid() {
			continue
		}
		if ref.String() != "/ref" || !opt.IsValid() || !opt.Bool() {
			t.Errorf("check %s: Reference %v, ReferenceOptional %v: plugins.Checks does not pass both", c.Name(), ref, opt)
		}
		for _, typ := range c.Conditions() {
			readers[typ] = true
		}
	}
	for _, c := range rules.Conditions() {
		if UsesReference(c) != readers[c.Type] {
			t.Errorf("%s: rules pass --reference %v, a check of it reads one %v", c.Type, UsesReference(c), readers[c.Type])
		}
	}
	if len(readers) == 0 {
		t.Fatal("no check reads a reference: the reflection found no Reference field")
	}
}
