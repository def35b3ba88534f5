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
		args, _ := rule["args"].([]any)
		var root, state bool
		for i, a := range args {
			s, _ := a.(string)
			switch {
			case strings.HasPrefix(s, "--root="):
				args[i], root = "--root="+l.Root, true
			case strings.HasPrefix(s, "--state-dir="):
				args[i], state = "--state-dir="+l.StateDir, true
			case strings.HasPrefix(s, "--hold=") && l.Hold > 0:
				args[i] = "--hold=" + l.Hold.String()
			}
		}
		if !root || !state {
			return nil, fmt.Errorf("rule %q lacks --root= or --state-dir=", reason)
		}
		kept = append(kept, rule)
	}
	cfg["rules"] = kept
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return append(out, '\n'), nil
}
