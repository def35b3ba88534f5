// Package docs_test keeps the documentation in step with the code: the
// runbooks (docs/runbooks/<Type>.md) with the condition table and the rule
// registry, and docs/node-requirements.md with the list of checks.
package docs_test

// Conventions a runbook follows:
//
//   - The same sections, in order (runbookSections), and under Recovery one
//     subsection per distribution family (recoverySections).
//   - A paragraph starting with "Rules:" lists registry rule ids in backticks.
//     Every id must exist and must lead to the runbook's condition (its
//     category, a recovery marker that clears it, or a kubelet exit for
//     KubeletStartupProblem); every rule that can raise or clear the
//     condition is named on such a line.
//   - A paragraph starting with "Node state:" names node-state checks by
//     package in backticks (`plugins/certs`), each followed by the rule ids or
//     reasons that check reports, in backticks. A package that exists must
//     have each as a string literal in its sources or its tests (what its
//     tests assert on is its vocabulary); a package not merged yet must be
//     one of pendingChecks, and its words are verified once it lands.
//   - Rule ids appear in backticks only on those paragraphs.
//   - Any backticked word that looks like a reason or type (Kubelet...) must
//     be a condition type or a reason of the table or of a check.
//   - Relative links resolve to files of the repository.

import (
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

var runbookSections = []string{
	"What it means", "What breaks while it is True", "Confirm on the node", "Confirm from the cluster",
	"Causes", "Recovery", "Automatic repair",
}

var recoverySections = []string{"kubeadm", "EKS-style", "k3s / rke2"}

// pendingChecks are node-state check packages the runbooks and
// node-requirements.md may name before they are merged (issues 10 and 11).
// Once a package exists its ids are verified against its source; remove it
// from here then.
var pendingChecks = map[string]string{
	"plugins/certs":         "issue 10",
	"plugins/catrust":       "issue 10",
	"plugins/bootstrap":     "issue 10",
	"plugins/apiserver":     "issue 10",
	"plugins/kubeletconfig": "issue 11",
	"plugins/dns":           "issue 11",
	"plugins/podresources":  "issue 11",
	"plugins/hostpaths":     "issue 11",
	"plugins/unit":          "issue 11",
}

type runbook struct {
	cond  condition.Condition
	path  string // repository-relative
	lines []string
}

func loadRunbooks(t *testing.T) []runbook {
	t.Helper()
	var out []runbook
	for _, c := range condition.All() {
		data, err := os.ReadFile(filepath.Join(repoRoot, c.Runbook()))
		if err != nil {
			continue // TestEveryConditionHasARunbook says so
		}
		out = append(out, runbook{cond: c, path: c.Runbook(), lines: strings.Split(string(data), "\n")})
	}
	return out
}

func TestEveryConditionHasARunbook(t *testing.T) {
	for _, c := range condition.All() {
		if _, err := os.Stat(filepath.Join(repoRoot, c.Runbook())); err != nil {
			t.Errorf("%s has no runbook: %v", c.Type, err)
		}
	}
}

func TestEveryRunbookIsACondition(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "runbooks", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".md")
		if _, ok := condition.ByType(name); !ok && name != "README" {
			t.Errorf("%s: no condition %q in the table: rename or remove the runbook", f, name)
		}
	}
}

// headings returns the level-n headings in order, outside code blocks.
func headings(lines []string, level int) []string {
	prefix := strings.Repeat("#", level) + " "
	var out []string
	fence := false
	for _, l := range lines {
		if strings.HasPrefix(l, "```") {
			fence = !fence
		}
		if !fence && strings.HasPrefix(l, prefix) {
			out = append(out, strings.TrimPrefix(l, prefix))
		}
	}
	return out
}

// prose returns the lines outside fenced code blocks.
func prose(lines []string) []string {
	var out []string
	fence := false
	for _, l := range lines {
		if strings.HasPrefix(l, "```") {
			fence = !fence
			continue
		}
		if !fence {
			out = append(out, l)
		}
	}
	return out
}

// section returns the lines of the level-2 section named name.
func section(lines []string, name string) []string {
	var out []string
	in := false
	for _, l := range lines {
		if strings.HasPrefix(l, "## ") {
			in = strings.TrimPrefix(l, "## ") == name
			continue
		}
		if in {
			out = append(out, l)
		}
	}
	return out
}

func TestRunbooksHaveTheSameSections(t *testing.T) {
	for _, rb := range loadRunbooks(t) {
		if h := headings(rb.lines, 1); len(h) != 1 || h[0] != rb.cond.Type {
			t.Errorf("%s: title %q, want one '# %s'", rb.path, h, rb.cond.Type)
		}
		if h := headings(rb.lines, 2); !slices.Equal(h, runbookSections) {
			t.Errorf("%s: sections %q, want %q", rb.path, h, runbookSections)
		}
		if h := headings(section(rb.lines, "Recovery"), 3); !slices.Equal(h, recoverySections) {
			t.Errorf("%s: recovery for %q, want %q", rb.path, h, recoverySections)
		}
		if h := headings(section(rb.lines, "Causes"), 3); len(h) < 2 {
			t.Errorf("%s: %d cause subsections, want one per cause family and what clears it", rb.path, len(h))
		}
	}
}

var backticked = regexp.MustCompile("`([^`]+)`")

// tagged returns the backticked words of each paragraph starting with tag
// (a paragraph ends at a blank line).
func tagged(lines []string, tag string) [][]string {
	var out [][]string
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], tag) {
			continue
		}
		var words []string
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			for _, m := range backticked.FindAllStringSubmatch(lines[i], -1) {
				words = append(words, m[1])
			}
		}
		out = append(out, words)
	}
	return out
}

// outsideRules returns the backticked words of the prose outside the
// Rules: and Node state: paragraphs.
func outsideRules(lines []string) []string {
	var out []string
	lines = prose(lines)
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "Rules:") || strings.HasPrefix(lines[i], "Node state:") {
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			}
			continue
		}
		for _, m := range backticked.FindAllStringSubmatch(lines[i], -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// leadsTo reports whether rule r can raise or clear condition c.
func leadsTo(r rules.Rule, c condition.Condition) bool {
	switch {
	case r.Kind == rules.KindRecovery:
		return slices.Contains(r.Recovers, c.Category)
	case c.Type == condition.TypeStartup:
		return r.Kind == rules.KindLifecycle || r.Fatal
	case r.Kind == rules.KindMessage || r.Kind == rules.KindCause:
		return r.Category == c.Category
	}
	return false
}

// mustName reports whether c's runbook must name r: every rule of its
// category and every marker that clears it; for the startup condition the
// process lifecycle (its fatal errors belong to their own conditions).
func mustName(r rules.Rule, c condition.Condition) bool {
	if c.Type == condition.TypeStartup {
		return r.Kind == rules.KindLifecycle
	}
	return leadsTo(r, c)
}

func TestRunbooksNameExactlyTheRulesOfTheirCondition(t *testing.T) {
	byID := map[string]rules.Rule{}
	for _, r := range rules.Rules() {
		byID[r.ID] = r
	}
	for _, rb := range loadRunbooks(t) {
		named := map[string]bool{}
		for _, words := range tagged(rb.lines, "Rules:") {
			if len(words) == 0 {
				t.Errorf("%s: a Rules: line names no rule in backticks", rb.path)
			}
			for _, id := range words {
				r, ok := byID[id]
				switch {
				case !ok:
					t.Errorf("%s names rule `%s`, which is not in the registry (internal/rules/registry.go)", rb.path, id)
				case !leadsTo(r, rb.cond):
					t.Errorf("%s names rule `%s`, which leads to %s, not to %s", rb.path, id, r.Category, rb.cond.Type)
				case named[id]:
					t.Errorf("%s names rule `%s` twice", rb.path, id)
				}
				named[id] = true
			}
		}
		for _, id := range outsideRules(rb.lines) {
			if _, ok := byID[id]; ok {
				t.Errorf("%s names rule `%s` outside a Rules: paragraph: name rule ids only there", rb.path, id)
			}
		}
		var missing []string
		for _, r := range rules.Rules() {
			if mustName(r, rb.cond) && !named[r.ID] {
				missing = append(missing, r.ID)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s does not name these rules of %s on a Rules: line: %s", rb.path, rb.cond.Type, strings.Join(missing, ", "))
		}
	}
}

// knownReasons are the table's types and reasons, and every Kubelet...
// string literal in the checks' sources (the specific reasons of
// node-state findings).
func knownReasons(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, c := range condition.All() {
		for _, s := range []string{c.Type, c.ProblemReason, c.HealthyReason, c.EventReason} {
			if s != "" {
				known[s] = true
			}
		}
	}
	lit := regexp.MustCompile(`"(Kubelet[A-Z][A-Za-z]+)"`)
	err := filepath.WalkDir(filepath.Join(repoRoot, "plugins"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		for _, m := range lit.FindAllStringSubmatch(string(src), -1) {
			known[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return known
}

var reasonLike = regexp.MustCompile(`^Kubelet[A-Z][A-Za-z]+$`)

func TestRunbooksNameOnlyReasonsThatExist(t *testing.T) {
	known := knownReasons(t)
	for _, rb := range loadRunbooks(t) {
		text := strings.Join(prose(rb.lines), "\n")
		for _, w := range outsideRules(rb.lines) {
			if reasonLike.MatchString(w) && !known[w] {
				t.Errorf("%s names `%s`: no condition, reason or event reason of that name", rb.path, w)
			}
		}
		want := []string{rb.cond.ProblemReason, rb.cond.HealthyReason}
		if rb.cond.Alerts {
			want = append(want, rb.cond.EventReason)
		}
		for _, r := range want {
			if !strings.Contains(text, "`"+r+"`") {
				t.Errorf("%s does not name its reason `%s`", rb.path, r)
			}
		}
	}
}

// stringLiterals are the string literals of a package's sources and tests,
// read with the Go scanner (raw strings and escapes included).
func stringLiterals(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, pkg, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		var s scanner.Scanner
		s.Init(fset.AddFile(f, fset.Base(), len(src)), src, nil, 0)
		for {
			_, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok == token.STRING {
				if v, err := strconv.Unquote(lit); err == nil {
					out[v] = true
				}
			}
		}
	}
	return out
}

// checkNodeState verifies the words of one "Node state:" paragraph or
// table cell: packages, each followed by the ids or reasons it reports.
func checkNodeState(t *testing.T, where string, words []string) {
	t.Helper()
	var pkg string
	var lits map[string]bool
	for _, w := range words {
		if strings.HasPrefix(w, "plugins/") {
			pkg, lits = w, nil
			if _, err := os.Stat(filepath.Join(repoRoot, pkg)); err == nil {
				lits = stringLiterals(t, pkg)
			} else if _, pending := pendingChecks[pkg]; !pending {
				t.Errorf("%s names check %s, which does not exist and is not pending", where, pkg)
			}
			continue
		}
		switch {
		case pkg == "":
			t.Errorf("%s: id `%s` before any check package", where, w)
		case lits != nil && !lits[w]:
			t.Errorf("%s: %s reports no rule id or reason %q (not a string literal in its sources or tests)", where, pkg, w)
		}
	}
}

func TestRunbooksNameOnlyChecksThatExist(t *testing.T) {
	for _, rb := range loadRunbooks(t) {
		for _, words := range tagged(rb.lines, "Node state:") {
			checkNodeState(t, rb.path, words)
		}
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)

func TestRunbookLinksResolve(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "runbooks", "*.md"))
	files = append(files, filepath.Join(repoRoot, "docs", "node-requirements.md"))
	// The pages that link to the runbooks, for those links: the reference
	// and the README.
	linking := []string{filepath.Join(repoRoot, "docs", "conditions.md"), filepath.Join(repoRoot, "README.md")}
	files = append(files, linking...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || (slices.Contains(linking, f) && !strings.Contains(target, "runbooks") && !strings.Contains(target, "node-requirements")) {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, target)
			}
		}
	}
}
