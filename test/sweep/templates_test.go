package sweep

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
)

// The table is what cmd/extract found in the kubelet's source at each swept
// version (errors, warnings, fatal messages; the info messages and error
// texts the registry reads), with the category each must get.
func loadTable(t *testing.T) []Template {
	t.Helper()
	f, err := os.Open("templates.tsv")
	if err != nil {
		t.Fatalf("open table: %v", err)
	}
	defer f.Close()
	ts, err := Read(f)
	if err != nil {
		t.Fatalf("read table: %v", err)
	}
	return ts
}

// TestTemplatesTable fails when the registry classifies a template of the
// kubelet's own source differently from the table: a rule change that moves
// a real message must update the table (and say why in its reason).
func TestTemplatesTable(t *testing.T) {
	c := rules.New()
	ts := loadTable(t)
	swept := Minors()
	perVersion := map[string]int{}
	perCategory := map[string]int{}
	for _, tp := range ts {
		if tp.Category != string(rules.None) && !slices.Contains(rules.Categories(), rules.Category(tp.Category)) {
			t.Errorf("%q: category %q is not in the vocabulary", tp.Text, tp.Category)
			continue
		}
		if tp.Reason == "" {
			t.Errorf("%q: no reason", tp.Text)
		}
		for _, v := range tp.Versions {
			if !slices.Contains(swept, v) {
				t.Errorf("%q: version %s was not swept", tp.Text, v)
			}
			perVersion[v]++
		}
		perCategory[tp.Category]++
		line := tp.Line()
		v := c.Classify(line)
		if string(v.Category) != tp.Category {
			t.Errorf("%c %s %q: registry says %s (rule %q), table says %s (%s)\n  line: %s",
				tp.Severity, tp.Kind, tp.Text, v.Category, v.Rule, tp.Category, tp.Reason, line)
		}
	}
	for _, v := range swept {
		if perVersion[v] == 0 {
			t.Errorf("no template of %s in the table", v)
		}
		t.Logf("version %s: %d templates", v, perVersion[v])
	}
	cats := make([]string, 0, len(perCategory))
	for k := range perCategory {
		cats = append(cats, k)
	}
	sort.Strings(cats)
	for _, k := range cats {
		t.Logf("category %-22s %4d templates", k, perCategory[k])
	}
	t.Logf("%d templates", len(ts))
}

func TestFillLeavesNoVerb(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`Unable to register node %q with API server: %v`, `Unable to register node "x" with API server: x`},
		{`failed %d attempts to update node lease`, `failed 1 attempts to update node lease`},
		{`%s: Failed while requesting a signed certificate from the control plane: %+v`, `x: Failed while requesting a signed certificate from the control plane: x`},
		{`100%% done in %.2fs`, `100% done in 1s`},
		{`trailing %`, `trailing %`},
	} {
		if got := Fill(c.in); got != c.want {
			t.Errorf("Fill(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTableRoundTrip(t *testing.T) {
	in := []Template{{Severity: 'E', Kind: KindStructured, Text: "a\tb\\c\nd", Keys: []string{"node", "err"},
		Versions: []string{"1.18", "1.37"}, Source: []string{"pkg/kubelet/kubelet_node_status.go", "k8s.io/client-go/transport/cache.go"},
		Category: "registration", Reason: "rule register-node"}}
	var b strings.Builder
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := Read(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Text != in[0].Text || !slices.Equal(out[0].Keys, in[0].Keys) ||
		!slices.Equal(out[0].Versions, in[0].Versions) || !slices.Equal(out[0].Source, in[0].Source) ||
		out[0].Category != in[0].Category || out[0].Reason != in[0].Reason {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
}

func TestReadRejectsBadTables(t *testing.T) {
	for name, in := range map[string]string{
		"no header":      "E\tprintf\tx\t\t1.18\tpkg/kubelet/a.go\tnone\tno rule\n",
		"old header":     "severity\tkind\ttemplate\tkeys\tversions\tcategory\treason\nE\tprintf\tx\t\t1.18\tnone\tr\n",
		"short row":      Header + "\nE\tprintf\tx\n",
		"no source cell": Header + "\nE\tprintf\tx\t\t1.18\tnone\tr\n",
		"two-letter s":   Header + "\nEE\tprintf\tx\t\t1.18\tpkg/kubelet/a.go\tnone\tr\n",
	} {
		if _, err := Read(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
