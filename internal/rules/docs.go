package rules

//go:generate go run ./gen -o ../../docs/conditions.md

import (
	"fmt"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
)

// Markdown renders docs/conditions.md from the registry.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Conditions and rules\n\n")
	b.WriteString("Generated from `internal/condition/condition.go` and `internal/rules/registry.go` by `make generate`; do not edit by hand.\n")
	b.WriteString("The rules are read from the kubelet's own messages: [kubelet-messages.md](kubelet-messages.md), generated from its\n")
	b.WriteString("source, lists them with the rule that reads each; a rule's id below links to its entry there.\n\n")
	b.WriteString(condition.Markdown())
	b.WriteString("\n## Rules\n\n")
	b.WriteString("How a line is decided: lifecycle and recovery markers, then message and guard rules, are tried in this\n")
	b.WriteString("order on the message and the err value; the first match decides. Then cause rules (kind `cause`, in this\n")
	b.WriteString("order) are looked for in the text from the message on, limited to the groups the message rule allows\n")
	b.WriteString("(`causes`); the first found decides the category. A line no message rule matches is decided by a cause\n")
	b.WriteString("rule marked `alone`. Info-level lines only try rules marked `info`. The literal is looked up before the\n")
	b.WriteString("regexp runs. Flags: `fatal` the kubelet exits (evidence for KubeletStartupProblem too), `boot` normal\n")
	b.WriteString("shortly after a start (counts only when it persists), `info` allowed on info lines, `systemd` only on\n")
	b.WriteString("systemd's own entries, `server` a connectivity cause that is the API server's own answer (alone it needs no\n")
	b.WriteString("request in the line), `workload` one pod's message: a cause other than the runtime being down or the\n")
	b.WriteString("node's DNS names that pod's problem (shown by explain, Verdict.NotNode, no node condition).\n\n")
	b.WriteString("| id | kind | category | condition | label | literal | flags | hint |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for i := range rules {
		r := &rules[i]
		cat, cond := string(r.Category), ""
		if r.Category == "" {
			cat = "none"
		}
		if c, ok := ConditionFor(r.Category); ok && r.Category != None && r.Category != "" {
			cond = c.Type
		}
		if r.Fatal || r.Kind == KindLifecycle {
			if cond != "" {
				cond += ", "
			}
			cond += "KubeletStartupProblem"
		}
		fmt.Fprintf(&b, "| [%s](kubelet-messages.md#rule-%s) | %s | %s | %s | %s | `%s` | %s | %s |\n", r.ID, r.ID, r.Kind, cat, cond,
			cell(r.Label), strings.ReplaceAll(cell(r.Literal), "`", "'"), flags(r), cell(r.Hint))
	}
	return b.String()
}

func flags(r *Rule) string {
	var f []string
	if r.Fatal {
		f = append(f, "fatal")
	}
	if r.BootTransient {
		f = append(f, "boot")
	}
	if r.Info {
		f = append(f, "info")
	}
	if r.NoHeader {
		f = append(f, "systemd")
	}
	if r.Alone {
		f = append(f, "alone")
	}
	if r.Server {
		f = append(f, "server")
	}
	if r.Workload {
		f = append(f, "workload")
	}
	if r.Kind == KindCause {
		f = append(f, "group "+groupNames(r.Group))
	} else if r.Causes != 0 {
		f = append(f, "causes "+groupNames(r.Causes))
	}
	if r.AuthAs != "" {
		f = append(f, "401/403 as "+string(r.AuthAs))
	}
	if len(r.Recovers) > 0 {
		var c []string
		for _, x := range r.Recovers {
			c = append(c, string(x))
		}
		f = append(f, "recovers "+strings.Join(c, " "))
	}
	switch r.Lifecycle {
	case LifecycleStarted:
		f = append(f, "started")
	case LifecycleExited:
		f = append(f, "exited")
	case LifecycleRestart:
		f = append(f, "restart")
	case LifecycleStopped:
		f = append(f, "stopped")
	}
	return strings.Join(f, ", ")
}

var groupName = []string{"trust", "cert", "runtime-down", "runtime", "conn", "csr", "auth", "node", "hostpath", "config", "dns"}

func groupNames(s CauseSet) string {
	if s == allCauses {
		return "all"
	}
	var n []string
	for i, name := range groupName {
		if s&(1<<i) != 0 {
			n = append(n, name)
		}
	}
	return strings.Join(n, " ")
}

// cell escapes s for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
