// Command extract sweeps the kubelet's own source for logged message
// templates and error texts at several Kubernetes versions and merges them
// into test/sweep/templates.tsv. The source comes from the Go module cache
// (go mod download fetches it once through the module proxy); the command
// is slow on a cold cache and needs the proxy, so it is not part of make
// test: the table it writes is checked in and TestTemplatesTable holds the
// registry to it without any network.
//
//	go run ./test/sweep/cmd/extract [-o test/sweep/templates.tsv]
//
// Rows whose reason was written by hand keep their category and reason;
// every other row gets the category the registry gives it now and the
// reason "rule <id>" or "no rule (<package>)", so that the table's diff
// shows what a rule change moved, to be reviewed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/test/sweep"
)

// Where the kubelet's messages are, per module. A directory is swept with
// its subdirectories.
var (
	kubernetesDirs = []string{"cmd/kubelet", "pkg/kubelet"}
	clientGoDirs   = []string{"util/certificate", "transport", "tools/cache/reflector.go", "tools/record/event.go"}
	criClientDirs  = []string{"."}
)

// errorFiles are the places whose error texts are kept even when no rule
// matches them: start-up, certificates, the CRI client, the container
// manager, node status, lease and DNS, where an error reaching err= is a
// node failure. Elsewhere an error text is kept only when a rule knows it.
var errorFiles = []string{"cmd/kubelet/app/", "pkg/kubelet/certificate/", "util/certificate/", "remote/",
	"cri-client", "pkg/kubelet/cm/container_manager", "pkg/kubelet/kubelet_node_status", "pkg/kubelet/nodelease",
	"pkg/kubelet/network/dns/", "pkg/kubelet/kubelet.go", "pkg/kubelet/nodestatus/"}

func main() {
	out := flag.String("o", "test/sweep/templates.tsv", "table to merge into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "extract:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	found := map[string]*found{}
	for _, r := range sweep.Releases() {
		if err := sweepRelease(r, found); err != nil {
			return err
		}
	}
	old, err := readOld(out)
	if err != nil {
		return err
	}
	table := merge(found, old)
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := sweep.Write(w, table); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// sweepRelease adds the templates of one release's modules to found.
func sweepRelease(r sweep.Release, found map[string]*found) error {
	type module struct {
		path, version string
		dirs          []string
	}
	mods := []module{
		{"k8s.io/kubernetes", r.Kubernetes, kubernetesDirs},
		{"k8s.io/client-go", r.ClientGo, clientGoDirs},
	}
	if r.CRIClient != "" {
		mods = append(mods, module{"k8s.io/cri-client", r.CRIClient, criClientDirs})
	}
	n := 0
	for _, m := range mods {
		dir, err := download(m.path, m.version)
		if err != nil {
			return err
		}
		for _, d := range m.dirs {
			k, err := sweepDir(filepath.Join(dir, d), m.path, dir, r.Minor, found)
			if err != nil {
				return err
			}
			n += k
		}
	}
	fmt.Fprintf(os.Stderr, "extract: %s: %d call sites\n", r.Minor, n)
	return nil
}

// readOld reads the table being replaced, by template key; none when the
// file does not exist yet.
func readOld(path string) (map[string]sweep.Template, error) {
	old := map[string]sweep.Template{}
	f, err := os.Open(path)
	if err != nil {
		return old, nil
	}
	defer f.Close()
	ts, err := sweep.Read(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	for _, t := range ts {
		old[t.Key()] = t
	}
	return old, nil
}

// merge gives every template found its category and reason (a reviewer's
// from the old table, else the registry's now) and keeps those that matter,
// sorted by text.
func merge(found map[string]*found, old map[string]sweep.Template) []sweep.Template {
	c := rules.New()
	var table []sweep.Template
	for _, f := range found {
		t := f.t
		t.Source = f.source()
		v := c.Classify(t.Line())
		prev, ok := old[t.Key()]
		switch {
		case ok && prev.HandWritten():
			t.Category, t.Reason = prev.Category, prev.Reason
		default:
			t.Category = string(v.Category)
			t.Reason = "no rule (" + area(f.files[0]) + ")"
			switch {
			case v.Rule != "" && v.BootTransient:
				t.Reason = "rule " + v.Rule + " (start-up transient)"
			case v.Rule != "":
				t.Reason = "rule " + v.Rule
			}
		}
		if (ok && prev.HandWritten()) || keep(t, v, f.files) {
			table = append(table, t)
		}
	}
	sort.Slice(table, func(i, j int) bool {
		if table[i].Text != table[j].Text {
			return table[i].Text < table[j].Text
		}
		return table[i].Key() < table[j].Key()
	})
	return table
}

// keep reports whether a template matters: every warning, error and fatal
// message; info messages the registry reads (markers, info-level
// problems); error texts of the start-up and node paths, or known to a rule.
func keep(t sweep.Template, v rules.Verdict, files []string) bool {
	known := v.Category != rules.None || v.Rule != ""
	switch {
	case t.Kind == sweep.KindError:
		return known || slices.ContainsFunc(files, func(f string) bool {
			return slices.ContainsFunc(errorFiles, func(e string) bool { return strings.Contains(f, e) })
		})
	case t.Severity == 'I':
		return known
	}
	return true
}

// area is the package a template was found in, for a reviewer of a row no
// rule decides: "k8s.io/kubernetes/pkg/kubelet/volumemanager/reconciler".
func area(file string) string {
	return strings.TrimPrefix(filepath.ToSlash(filepath.Dir(file)), "k8s.io/kubernetes/")
}

// found is one template across the swept versions: files lists every file
// that logs it (oldest version first), byVersion the files of each version.
type found struct {
	t         sweep.Template
	files     []string
	byVersion map[string][]string
}

// source is where the newest version that has the template logs it, the
// k8s.io/kubernetes files relative to the module, the others with their
// module path, sorted.
func (f *found) source() []string {
	newest := f.t.Versions[len(f.t.Versions)-1]
	var out []string
	for _, file := range f.byVersion[newest] {
		out = append(out, strings.TrimPrefix(file, "k8s.io/kubernetes/"))
	}
	sort.Strings(out)
	return out
}

func download(path, version string) (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", path+"@"+version).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", path, version, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", path, version, err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", path, version, m.Error)
	}
	return m.Dir, nil
}

// sweepDir parses the Go files under root (a file or a directory) and adds
// their templates for minor to found.
func sweepDir(root, module, modDir, minor string, seen map[string]*found) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testing", "testdata", "fake", "vendor", "e2e":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(modDir, path)
		file := module + "/" + filepath.ToSlash(rel)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			if t, ok := template(call); ok {
				n++
				k := t.Key()
				if seen[k] == nil {
					seen[k] = &found{t: t, byVersion: map[string][]string{}}
				}
				e := seen[k]
				if !slices.Contains(e.t.Versions, minor) {
					e.t.Versions = append(e.t.Versions, minor)
				}
				if !slices.Contains(e.files, file) {
					e.files = append(e.files, file)
				}
				if !slices.Contains(e.byVersion[minor], file) {
					e.byVersion[minor] = append(e.byVersion[minor], file)
				}
			}
			return true
		})
		return nil
	})
	return n, err
}

// template recognises a logging call or an error constructor with a
// constant text.
func template(call *ast.CallExpr) (sweep.Template, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return sweep.Template{}, false
	}
	name := sel.Sel.Name
	recv := ""
	switch x := sel.X.(type) {
	case *ast.Ident:
		recv = x.Name
	case *ast.CallExpr:
		// klog.V(2).Infof: verbose, not written at the default level.
		if s, ok := x.Fun.(*ast.SelectorExpr); ok && (s.Sel.Name == "V" || s.Sel.Name == "FromContext") {
			if s.Sel.Name == "V" {
				return sweep.Template{}, false
			}
			recv = "logger"
		}
	}
	switch {
	case recv == "fmt" && name == "Errorf", recv == "errors" && name == "New":
		if len(call.Args) == 0 {
			return sweep.Template{}, false
		}
		s, ok := constString(call.Args[0])
		return sweep.Template{Severity: 'E', Kind: sweep.KindError, Text: s}, ok && s != ""
	case recv == "klog" || recv == "glog":
		return klogCall(name, call.Args)
	case strings.Contains(strings.ToLower(recv), "logger") || recv == "log":
		switch name {
		case "Error":
			return structured('E', call.Args, 1)
		case "Info":
			return structured('I', call.Args, 0)
		}
	}
	return sweep.Template{}, false
}

func klogCall(name string, args []ast.Expr) (sweep.Template, bool) {
	sev := byte(0)
	switch {
	case strings.HasPrefix(name, "Info"):
		sev = 'I'
	case strings.HasPrefix(name, "Warning"):
		sev = 'W'
	case strings.HasPrefix(name, "Error"):
		sev = 'E'
	case strings.HasPrefix(name, "Fatal"), strings.HasPrefix(name, "Exit"):
		sev = 'F'
	default:
		return sweep.Template{}, false
	}
	base := strings.TrimSuffix(name, "Depth")
	switch {
	case base == "ErrorS":
		if strings.HasSuffix(name, "Depth") {
			return structured(sev, args, 2)
		}
		return structured(sev, args, 1)
	case base == "InfoS":
		if strings.HasSuffix(name, "Depth") {
			return structured(sev, args, 1)
		}
		return structured(sev, args, 0)
	case strings.HasSuffix(base, "f"):
		if strings.HasSuffix(name, "Depth") || strings.HasSuffix(name, "Depthf") {
			return sweep.Template{}, false
		}
		if len(args) == 0 {
			return sweep.Template{}, false
		}
		s, ok := constString(args[0])
		return sweep.Template{Severity: sev, Kind: sweep.KindPrintf, Text: s}, ok && s != ""
	case base == "Info", base == "Warning", base == "Error", base == "Fatal", base == "Exit",
		base == "Infoln", base == "Warningln", base == "Errorln", base == "Fatalln", base == "Exitln":
		if len(args) == 0 {
			return sweep.Template{}, false
		}
		s, ok := constString(args[0])
		if !ok || s == "" {
			return sweep.Template{}, false
		}
		if len(args) == 1 {
			return sweep.Template{Severity: sev, Kind: sweep.KindPrintf, Text: strings.ReplaceAll(s, "%", "%%")}, true
		}
		return sweep.Template{Severity: sev, Kind: sweep.KindPrint, Text: s}, true
	}
	return sweep.Template{}, false
}

// structured reads msg at args[at] and the constant keys after it.
func structured(sev byte, args []ast.Expr, at int) (sweep.Template, bool) {
	if len(args) <= at {
		return sweep.Template{}, false
	}
	s, ok := constString(args[at])
	if !ok || s == "" {
		return sweep.Template{}, false
	}
	t := sweep.Template{Severity: sev, Kind: sweep.KindStructured, Text: s}
	for i := at + 1; i < len(args); i += 2 {
		if k, ok := constString(args[i]); ok && k != "" && !strings.ContainsAny(k, " \t\n\",") {
			t.Keys = append(t.Keys, k)
		}
	}
	return t, true
}

// constString evaluates a string literal or a concatenation of literals.
func constString(e ast.Expr) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		a, ok1 := constString(x.X)
		b, ok2 := constString(x.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return constString(x.X)
	}
	return "", false
}
