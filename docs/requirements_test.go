package docs_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/plugins"
)

// requirementsHeader starts every table of docs/node-requirements.md.
const requirementsHeader = "| requirement | condition | journal rules | node-state check |"

// requirement is one row of docs/node-requirements.md.
type requirement struct {
	line      int
	text      string
	condition string
	journal   []string // registry rule ids
	nodeState []string // packages, each followed by its ids or reasons
}

func loadRequirements(t *testing.T) []requirement {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "node-requirements.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []requirement
	inTable := false
	for i, l := range strings.Split(string(data), "\n") {
		switch {
		case l == requirementsHeader:
			inTable = true
			continue
		case !strings.HasPrefix(l, "|"):
			inTable = false
			continue
		case !inTable || strings.HasPrefix(l, "|---"):
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		if len(cells) != 4 {
			t.Errorf("node-requirements.md:%d: %d cells, want 4: %s", i+1, len(cells), l)
			continue
		}
		r := requirement{line: i + 1, text: strings.TrimSpace(cells[0]), condition: strings.TrimSpace(cells[1])}
		for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
			r.journal = append(r.journal, m[1])
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[3], -1) {
			r.nodeState = append(r.nodeState, m[1])
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		t.Fatalf("node-requirements.md has no table with the header %q", requirementsHeader)
	}
	return out
}

func TestRequirementsNameRulesThatLeadToTheirCondition(t *testing.T) {
	byID := map[string]rules.Rule{}
	for _, r := range rules.Rules() {
		byID[r.ID] = r
	}
	for _, req := range loadRequirements(t) {
		where := "node-requirements.md:" + strconv.Itoa(req.line)
		c, ok := condition.ByType(req.condition)
		if !ok {
			t.Errorf("%s: no condition %q", where, req.condition)
			continue
		}
		if len(req.journal) == 0 && len(req.nodeState) == 0 {
			t.Errorf("%s: %q is verified by nothing: name a journal rule or a node-state check", where, req.text)
		}
		for _, id := range req.journal {
			r, ok := byID[id]
			switch {
			case !ok:
				t.Errorf("%s names rule `%s`, which is not in the registry", where, id)
			case !leadsTo(r, c):
				t.Errorf("%s names rule `%s`, which leads to %s, not to %s", where, id, r.Category, c.Type)
			}
		}
		if len(req.nodeState) > 0 && !strings.HasPrefix(req.nodeState[0], "plugins/") {
			t.Errorf("%s: the node-state cell must start with a check package (`plugins/...`)", where)
		}
		checkNodeState(t, where, req.nodeState)
	}
}

// TestEveryCheckIsARequirement: a check added to the plugin list must say
// here what it verifies. The journal check is the rules column.
func TestEveryCheckIsARequirement(t *testing.T) {
	named := map[string]bool{}
	for _, req := range loadRequirements(t) {
		for _, w := range req.nodeState {
			if strings.HasPrefix(w, "plugins/") {
				named[w] = true
			}
		}
	}
	const module = "github.com/kubelet-doctor/kubelet-doctor/"
	for _, c := range plugins.Checks(plugins.Options{}) {
		typ := reflect.TypeOf(c)
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		pkg := strings.TrimPrefix(typ.PkgPath(), module)
		if pkg == "plugins/logs" {
			continue
		}
		if !named[pkg] {
			t.Errorf("check %q (%s) is in plugins.Checks but not in docs/node-requirements.md", c.Name(), pkg)
		}
	}
}
