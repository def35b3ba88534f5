package npdconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Local says how to run a shipped config file outside a cluster: the end-to-end
// suites and `make demo` run the real NPD with config/npd/*.json pointed at a
// node root of their own.
type Local struct {
	Bin      string        // kubelet-doctor binary: every rule's path
	Root     string        // replaces --root=
	StateDir string        // replaces --state-dir=
	Interval time.Duration // invoke_interval; 0 keeps the file's
	Hold     time.Duration // replaces --hold=; 0 keeps the file's
	// Reference replaces the path of --reference= (in the pod, the mount
	// of kube-system/kubelet-config). Empty drops --reference= and
	// --reference-optional: no drift check, and the rules read nothing
	// outside Root but their own state.
	Reference string
	// Keep selects the rules to keep (nil: all).
	Keep func(ruleType, condition, reason string) bool
}

// Rewrite turns a shipped config file into a local one. Unknown keys are
// kept; a rule without --root= or --state-dir= is an error, since the file
// would then not be the one deployed.
func Rewrite(data []byte, l Local) ([]byte, error) {
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	pc, ok := cfg["pluginConfig"].(map[string]any)
	if !ok {
		return nil, errors.New("config has no pluginConfig")
	}
	if l.Interval > 0 {
		pc["invoke_interval"] = l.Interval.String()
	}
	all, _ := cfg["rules"].([]any)
	kept := []any{}
	for _, r := range all {
		rule, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("rule %v is not an object", r)
		}
		typ, _ := rule["type"].(string)
		cond, _ := rule["condition"].(string)
		reason, _ := rule["reason"].(string)
		if l.Keep != nil && !l.Keep(typ, cond, reason) {
			continue
		}
		rule["path"] = l.Bin
		args, root, state := l.rewriteArgs(rule["args"])
		if !root || !state {
			return nil, fmt.Errorf("rule %q lacks --root= or --state-dir=", reason)
		}
		rule["args"] = args
		kept = append(kept, rule)
	}
	cfg["rules"] = kept
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return append(out, '\n'), nil
}

// rewriteArgs returns a rule's arguments with the local paths, and whether
// --root= and --state-dir= were among them.
func (l Local) rewriteArgs(in any) (out []any, root, state bool) {
	args, _ := in.([]any)
	out = []any{}
	for _, a := range args {
		s, _ := a.(string)
		switch {
		case strings.HasPrefix(s, "--root="):
			a, root = "--root="+l.Root, true
		case strings.HasPrefix(s, "--state-dir="):
			a, state = "--state-dir="+l.StateDir, true
		case strings.HasPrefix(s, "--hold=") && l.Hold > 0:
			a = "--hold=" + l.Hold.String()
		case (strings.HasPrefix(s, "--reference=") || strings.HasPrefix(s+"=", "--reference-optional=")) && l.Reference == "":
			continue
		case strings.HasPrefix(s, "--reference="):
			a = "--reference=" + l.Reference
		}
		out = append(out, a)
	}
	return out, root, state
}
