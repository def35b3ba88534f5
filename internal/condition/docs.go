package condition

import (
	"fmt"
	"strings"
)

// Markdown renders the conditions section of docs/conditions.md: every
// condition with its reasons, how its failures are counted, whether it
// alerts, and the causal order that keeps a symptom from raising its own
// condition.
func Markdown() string {
	var b strings.Builder
	b.WriteString("## Conditions\n\n")
	b.WriteString("NPD polarity: `True` is a problem, `Unknown` means kubelet-doctor cannot tell (the cause is in the\n")
	b.WriteString("message). One condition per evidence category, and KubeletStartupProblem for the kubelet process itself.\n\n")
	b.WriteString("| type | category | problem reason | healthy reason | counted | alerts (event reason) | runbook |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, c := range table {
		alerts := "no"
		if c.Alerts {
			alerts = "yes (" + c.EventReason + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | [%s](%s) |\n", c.Type, c.Category, c.ProblemReason,
			c.HealthyReason, Counted(c), alerts, c.Type, strings.TrimPrefix(c.Runbook(), "docs/"))
	}
	b.WriteString("\nThe window is `--window` (default 10m); boot-transient errors (marked `boot` below) count only when they\n")
	b.WriteString("persist past `--boot-grace` (default 5m) after a kubelet start. A recovery marker (kind `recovery` below)\n")
	b.WriteString("clears the categories it names at once.\n\n")
	b.WriteString("### What each condition means\n\n")
	b.WriteString("| type | healthy message | description | first thing to check |\n|---|---|---|---|\n")
	for _, c := range table {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Type, cell(c.HealthyMessage), cell(c.Description), cell(c.Hint))
	}
	b.WriteString("\n### One root cause, one condition\n\n")
	b.WriteString("A condition listed under \"symptom of\" stays False while one of those conditions is True: its failures\n")
	b.WriteString("are what the cause looks like from further down (a kubelet that does not trust the API server's CA also\n")
	b.WriteString("fails to register). They are still counted and named in the cause's evidence, and raise their own\n")
	b.WriteString("condition once the cause has cleared and they go on.\n\n")
	b.WriteString("| condition | symptom of |\n|---|---|\n")
	for _, c := range table {
		if len(c.CausedBy) > 0 {
			fmt.Fprintf(&b, "| %s | %s |\n", c.Type, strings.Join(c.CausedBy, ", "))
		}
	}
	return b.String()
}

// Counted says in words how the condition's failures are counted.
func Counted(c Condition) string {
	switch c.Counting {
	case Lifecycle:
		return fmt.Sprintf("%d failed exits in the window with no start that stays up %s; or exited/stopped and not restarted within %s",
			CrashLoopExits, Settle, Settle)
	case Windowed:
		s := fmt.Sprintf("%d+ in the window", c.Threshold)
		if c.Threshold == 1 {
			s = "1 in the window"
		}
		if c.PerStart {
			s += "; non-fatal findings logged at start hold until the next start"
		}
		return s
	}
	return "?"
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
