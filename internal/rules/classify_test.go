package rules

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kubelet-doctor/kubelet-doctor/internal/klog"
)

var classifier = New()

type variant struct{ wrapper, line string }

// variants returns line in every wrapper a kubelet line reaches us in:
// the journald MESSAGE itself, journalctl's short and precise prefixes,
// rsyslog, k3s's embedded kubelet, k0s's logrus re-wrapping (one more level
// of quoting) and klog's JSON format for structured lines. Raw lines (no
// klog header) only get the journal prefixes.
func variants(line string, raw bool, ident string) []variant {
	return variantsOf(line, raw, false, ident)
}

func variantsOf(line string, raw, textOnly bool, ident string) []variant {
	if ident == "" {
		ident = "kubelet[1234]"
	}
	v := []variant{
		{"message", line},
		{"journalctl", "Nov 25 10:00:01 worker-1 " + ident + ": " + line},
	}
	if raw {
		return v
	}
	v = append(v,
		variant{"journalctl-precise", "Nov 25 10:00:01.123456 worker-1 " + ident + ": " + line},
		variant{"syslog", "Nov 25 10:00:01 worker-1 kubelet: " + line},
		variant{"k3s", "Nov 25 10:00:01 worker-1 k3s[812]: " + line},
		variant{"k0s", `time="2025-11-25 10:00:01" level=info msg=` + strconv.Quote(line) + ` component=kubelet`},
	)
	if j, ok := asJSON(line); ok && !textOnly {
		v = append(v, variant{"json", j})
	}
	return v
}

// asJSON renders a structured klog line as --logging-format=json would:
// zapr puts "v" on info entries only (klog warnings are info there too).
func asJSON(line string) (string, bool) {
	l := klog.Parse(line)
	if l.Format != klog.FormatStructured || l.Severity == 'F' {
		return "", false
	}
	var b strings.Builder
	q := func(s string) string { out, _ := json.Marshal(s); return string(out) }
	b.WriteString(`{"ts":1764064801123.456,"caller":` + q("kubelet/"+l.Source) + `,"msg":` + q(l.Msg))
	if l.Severity != 'E' {
		b.WriteString(`,"v":0`)
	}
	if l.Err != "" {
		b.WriteString(`,"err":` + q(l.Err))
	}
	for _, kv := range l.KVs {
		b.WriteString("," + q(kv.Key) + ":" + q(kv.Value))
	}
	b.WriteString("}")
	return b.String(), true
}

// checkCase reports the differences between v and the case's expectation.
func checkCase(c tc, v Verdict) []string {
	var diffs []string
	if v.Category != c.cat {
		diffs = append(diffs, "category "+string(v.Category)+" want "+string(c.cat))
	}
	if v.Rule != c.rule {
		diffs = append(diffs, "rule "+v.Rule+" want "+c.rule)
	}
	if c.label != "" && v.Label != c.label {
		diffs = append(diffs, "label "+strconv.Quote(v.Label)+" want "+strconv.Quote(c.label))
	}
	switch {
	case c.cause == "-" && v.Cause != "":
		diffs = append(diffs, "cause "+strconv.Quote(v.Cause)+" want empty")
	case c.cause != "" && c.cause != "-" && v.Cause != c.cause:
		diffs = append(diffs, "cause "+strconv.Quote(v.Cause)+" want "+strconv.Quote(c.cause))
	}
	if v.Fatal != c.fatal {
		diffs = append(diffs, "fatal "+strconv.FormatBool(v.Fatal))
	}
	if v.NotNode != c.notNode {
		diffs = append(diffs, "notNode "+strconv.FormatBool(v.NotNode))
	}
	if v.BootTransient != c.boot {
		diffs = append(diffs, "bootTransient "+strconv.FormatBool(v.BootTransient))
	}
	if cond, ok := ConditionFor(c.cat); ok && v.Condition != cond.Type {
		diffs = append(diffs, "condition "+v.Condition+" want "+cond.Type)
	}
	if v.Hint == "" {
		diffs = append(diffs, "no hint")
	}
	return diffs
}

func TestCatalogueProblemLinesInEveryWrapper(t *testing.T) {
	for _, c := range problemCases {
		for _, w := range variantsOf(c.line, c.raw, c.textOnly, "") {
			t.Run(c.name+"/"+w.wrapper, func(t *testing.T) {
				v := classifier.Classify(w.line)
				if d := checkCase(c, v); len(d) > 0 {
					t.Errorf("%s\n  line: %s\n  got:  %+v", strings.Join(d, "; "), w.line, v)
				}
			})
		}
	}
}

func TestCatalogueBenignLinesAreNone(t *testing.T) {
	for _, line := range benignLines {
		raw := klog.Parse(line).Format == klog.FormatNone
		for _, w := range variants(line, raw, "") {
			v := classifier.Classify(w.line)
			if v.Category != None || v.Condition != "" || v.Fatal || len(v.Recovers) > 0 || v.Lifecycle != LifecycleNone {
				t.Errorf("%s: want none, got %+v\n  line: %s", w.wrapper, v, w.line)
			}
		}
	}
}

func TestLifecycleMarkers(t *testing.T) {
	for _, c := range lifecycleCases {
		raw := klog.Parse(c.line).Format == klog.FormatNone
		ident := ""
		if raw {
			ident = "systemd[1]"
		}
		for _, w := range variants(c.line, raw, ident) {
			v := classifier.Classify(w.line)
			if v.Lifecycle != c.want || v.Rule != c.rule || v.Category != None || v.Fatal {
				t.Errorf("%s/%s: got %+v, want lifecycle %d rule %s\n  line: %s", c.name, w.wrapper, v, c.want, c.rule, w.line)
			}
		}
	}
}

func TestRecoveryMarkers(t *testing.T) {
	for _, c := range recoveryCases {
		for _, w := range variants(c.line, false, "") {
			v := classifier.Classify(w.line)
			if v.Category != None || v.Rule != c.rule || !reflect.DeepEqual(v.Recovers, c.want) {
				t.Errorf("%s/%s: got %+v, want rule %s recovers %v", c.name, w.wrapper, v, c.rule, c.want)
			}
		}
	}
}

// The same kubelet message is decided by what is inside err=.
func TestCauseDecidesCategory(t *testing.T) {
	const msg = `"Unable to register node with API server" err="%s" node="worker-1"`
	for _, c := range []struct {
		err  string
		want Category
	}{
		{`Post \"https://10.0.0.10:6443/api/v1/nodes\": x509: certificate signed by unknown authority`, CATrust},
		{`Post \"https://10.0.0.10:6443/api/v1/nodes\": dial tcp 10.0.0.10:6443: connect: connection refused`, APIServerConnectivity},
		{`Unauthorized`, Authorization},
		{`nodes is forbidden: User \"system:anonymous\" cannot create resource \"nodes\" in API group \"\" at the cluster scope`, Authorization},
		{`nodes \"worker-1\" is forbidden: node \"worker-2\" is not allowed to modify node \"worker-1\"`, Authorization},
		{`Node \"worker-1\" is invalid: spec.podCIDR: Invalid value`, Registration},
	} {
		line := kl('E', "kubelet_node_status.go:107", strings.Replace(msg, "%s", c.err, 1))
		if v := classifier.Classify(line); v.Category != c.want {
			t.Errorf("err %s: got %s (%s), want %s", c.err, v.Category, v.Rule, c.want)
		}
	}
	// The CRI's DeadlineExceeded is the runtime, not the API server; the
	// CSR step's 401 is bootstrap, not authorization.
	for line, want := range map[string]Category{
		kl('E', "remote_runtime.go:277", `"ListPodSandbox with filter from runtime service failed" err="rpc error: code = DeadlineExceeded desc = context deadline exceeded"`):       Runtime,
		kl('E', "run.go:72", `"command failed" err="failed to run Kubelet: cannot create certificate signing request: Unauthorized"`):                                                Bootstrap,
		kl('E', "certificate_manager.go:596", `"Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Unauthorized"`): Bootstrap,
	} {
		if v := classifier.Classify(line); v.Category != want {
			t.Errorf("%s: got %s (%s), want %s", line, v.Category, v.Rule, want)
		}
	}
}

// Info lines only match rules allowed at info level; header-less lines are
// checked against everything.
func TestSeverityGate(t *testing.T) {
	for _, c := range []struct {
		name string
		line string
		want Category
	}{
		{"info lease error is not a problem", kl('I', "controller.go:145", `"Failed to ensure lease exists, will retry" err="Unauthorized"`), None},
		{"error lease error is", kl('E', "controller.go:145", `"Failed to ensure lease exists, will retry" err="Unauthorized"`), Authorization},
		{"info x509 in unknown message", kl('I', "foo.go:1", `"Something happened" err="x509: certificate signed by unknown authority"`), None},
		{"error x509 in unknown message", kl('E', "foo.go:1", `"Something happened" err="x509: certificate signed by unknown authority"`), CATrust},
		{"no header", `Unable to register node "worker-1" with API server: Post https://10.0.0.10:6443/api/v1/nodes: x509: certificate signed by unknown authority`, CATrust},
		{"no header info-only rule", `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 1.1.1.1 8.8.8.8 9.9.9.9`, DNS},
		{"warning is checked", kl('W', "reflector.go:561", `k8s.io/client-go/informers/factory.go:160: failed to list *v1.Node: Unauthorized`), Authorization},
		{"refused without API request is not the API server", kl('E', "foo.go:1", `"Failed to dial device plugin" err="dial unix /var/lib/kubelet/device-plugins/nvidia.sock: connect: connection refused"`), None},
	} {
		if v := classifier.Classify(c.line); v.Category != c.want {
			t.Errorf("%s: got %s (%s), want %s", c.name, v.Category, v.Rule, c.want)
		}
	}
}

// Skipping the parse of lines with no literal never changes a verdict.
func TestRawPrefilterIsSound(t *testing.T) {
	for _, line := range allTestLines() {
		l := klog.Parse(line)
		if got, want := classifier.Classify(line), classifier.ClassifyParsed(&l); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got  %+v\n want %+v", line, got, want)
		}
	}
}

func TestFatalUnknownLine(t *testing.T) {
	v := classifier.Classify(kl('F', "server.go:1", `something nobody has seen`))
	if !v.Fatal || v.Category != None || v.Cause != "something nobody has seen" {
		t.Errorf("got %+v", v)
	}
}

func TestContinuationAndEmptyLinesAreNone(t *testing.T) {
	for _, line := range []string{"", "   ", "\n", "\tFilename Type Size", " >", "#011/swap.img file 2097148 0 -2"} {
		if v := classifier.Classify(line); !reflect.DeepEqual(v, Verdict{Category: None}) {
			t.Errorf("%q: got %+v", line, v)
		}
	}
	if v := classifier.ClassifyParsed(nil); v.Category != None {
		t.Errorf("nil: got %+v", v)
	}
	cont := klog.Line{Msg: "Unauthorized", Continuation: true}
	if v := classifier.ClassifyParsed(&cont); v.Category != None {
		t.Errorf("continuation: got %+v", v)
	}
}

func TestRestartCounter(t *testing.T) {
	for msg, want := range map[string]int{
		"kubelet.service: Scheduled restart job, restart counter is at 37.": 37,
		"Scheduled restart job, restart counter is at 1.":                   1,
	} {
		if n, ok := RestartCounter(msg); !ok || n != want {
			t.Errorf("%q: got %d %v", msg, n, ok)
		}
	}
	for _, msg := range []string{"kubelet.service: Scheduled restart job.", "restart counter is at x."} {
		if _, ok := RestartCounter(msg); ok {
			t.Errorf("%q: want no counter", msg)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"token abcdef.0123456789abcdef in text":                            "token <token> in text",
		"--token abcdef.0123456789abcdef":                                  "--token <redacted>",
		"--token=s3cr3t":                                                   "--token=<redacted>",
		"https://x/?token=s3cr3t&a=b":                                      "https://x/?token=<redacted>&a=b",
		"Authorization: Bearer eyJhbGciOi.x.y":                             "Authorization: Bearer <redacted>",
		"https://admin:s3cret@10.0.0.10:6443/api":                          "https://admin:<redacted>@10.0.0.10:6443/api",
		"a -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE----- b": "a <pem> b",
		"cut -----BEGIN RSA PRIVATE KEY-----\nMIIE":                        "cut <pem>",
		"nothing secret: 10.0.0.10:6443":                                   "nothing secret: 10.0.0.10:6443",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

var tokenPattern = regexp.MustCompile(`[a-z0-9]{6}\.[a-z0-9]{16}`)

// A bootstrap token anywhere in a line never reaches Label, Cause or Hint.
func TestTokenNeverLeaks(t *testing.T) {
	const tok = "abcdef.0123456789abcdef"
	for _, line := range []string{
		kl('E', "run.go:72", `"command failed" err="failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/`+tok+`: no such file or directory"`),
		kl('E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes?token=`+tok+`\": x509: certificate signed by unknown authority"`),
		kl('E', "foo.go:1", `"Something" err="Get \"https://`+tok+`.example.com/api\": dial tcp 10.0.0.1:443: connect: connection refused"`),
		kl('E', "kubelet_node_status.go:486", `"Error updating node status, will retry" err="bootstrap token `+tok+` rejected"`),
		`Error: unknown flag: --token ` + tok,
		kl('I', "kubelet_node_status.go:118", `"Unable to register node with API server, no node instance returned" node="`+tok+`"`),
	} {
		v := classifier.Classify(line)
		if v.Category == None {
			t.Errorf("line not classified: %s", line)
		}
		for _, s := range []string{v.Label, v.Cause, v.Hint} {
			if strings.Contains(s, "0123456789abcdef") || tokenPattern.MatchString(s) {
				t.Errorf("token leaked in %q (line %s)", s, line)
			}
		}
	}
}

func TestCauseIsShortAndOneLine(t *testing.T) {
	long := kl('E', "kubelet_node_status.go:486", `"Error updating node status, will retry" err="`+strings.Repeat("x", 500)+`"`)
	v := classifier.Classify(long)
	if len(v.Cause) > maxCause || strings.ContainsAny(v.Cause, "\n\t") {
		t.Errorf("cause %q", v.Cause)
	}
}

func TestClassifyIsSafeForConcurrentUse(t *testing.T) {
	lines := allTestLines()
	want := make([]Verdict, len(lines))
	for i, l := range lines {
		want[i] = classifier.Classify(l)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, l := range lines {
				if got := classifier.Classify(l); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("concurrent verdict differs for %s", l)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// The common case, a benign info line, allocates nothing in the classifier.
func TestBenignInfoLinesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, line := range benignLines {
		l := klog.Parse(line)
		if l.Severity != 'I' {
			continue
		}
		if n := testing.AllocsPerRun(50, func() { classifier.ClassifyParsed(&l) }); n != 0 {
			t.Errorf("ClassifyParsed allocates %.0f times: %s", n, line)
		}
	}
}

// A routine line, the bulk of a journal, is rejected before parsing and
// costs no allocation at all.
func TestRoutineLinesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, line := range routineLines {
		if classifier.mayMatch(line) {
			continue
		}
		if n := testing.AllocsPerRun(50, func() { classifier.Classify(line) }); n != 0 {
			t.Errorf("Classify allocates %.0f times: %s", n, line)
		}
	}
}

// allTestLines returns every line of the corpus in every wrapper.
func allTestLines() []string {
	var out []string
	for _, c := range problemCases {
		for _, w := range variantsOf(c.line, c.raw, c.textOnly, "") {
			out = append(out, w.line)
		}
	}
	for _, line := range benignLines {
		raw := klog.Parse(line).Format == klog.FormatNone
		for _, w := range variants(line, raw, "") {
			out = append(out, w.line)
		}
	}
	for _, c := range lifecycleCases {
		out = append(out, c.line)
	}
	for _, c := range recoveryCases {
		out = append(out, c.line)
	}
	return append(out, routineLines...)
}

// TestCatalogueSummary prints, per category, how many case lines (in
// every wrapper) expect it and how many are classified exactly as expected
// (category, rule, label, cause, flags). Run with -v to see the table.
func TestCatalogueSummary(t *testing.T) {
	type row struct{ expected, right int }
	rows := map[string]*row{}
	add := func(cat string, ok bool) {
		r := rows[cat]
		if r == nil {
			r = &row{}
			rows[cat] = r
		}
		r.expected++
		if ok {
			r.right++
		}
	}
	for _, c := range problemCases {
		for _, w := range variantsOf(c.line, c.raw, c.textOnly, "") {
			add(string(c.cat), len(checkCase(c, classifier.Classify(w.line))) == 0)
		}
	}
	for _, line := range benignLines {
		raw := klog.Parse(line).Format == klog.FormatNone
		for _, w := range variants(line, raw, "") {
			v := classifier.Classify(w.line)
			add("none (benign)", v.Category == None && !v.Fatal && v.Lifecycle == LifecycleNone && len(v.Recovers) == 0)
		}
	}
	for _, c := range lifecycleCases {
		add("lifecycle", classifier.Classify(c.line).Lifecycle == c.want)
	}
	for _, c := range recoveryCases {
		add("recovery", reflect.DeepEqual(classifier.Classify(c.line).Recovers, c.want))
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	total := row{}
	t.Logf("%-24s %8s %8s", "category", "expected", "right")
	for _, n := range names {
		r := rows[n]
		total.expected += r.expected
		total.right += r.right
		t.Logf("%-24s %8d %8d", n, r.expected, r.right)
	}
	t.Logf("%-24s %8d %8d", "total", total.expected, total.right)
}
