package faults

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

const (
	caTrust = "KubeletCATrustProblem"
	startup = "KubeletStartupProblem"
)

// Pending marks: whose work, not merged yet, makes the row hold.
const ()

type row struct {
	name    string
	pending string // "" when it holds today
	run     func(f *F, n *node)
}

var rows = []row{
	// ---- forged evidence: what any local user can log.
	{"forged identifier lines raise nothing", "", func(f *F, n *node) {
		n.healthy()
		n.append(-2*time.Minute, repeat(5, forged('E', "kubelet_node_status.go:107", `"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": x509: certificate signed by unknown authority"`))...)
		n.expect(n.check(caTrust), 0)
		// Also when identifier entries are read: they count from root only.
		n.expect(n.check(caTrust, "--identifier", "kubelet"), 0)
		// The kubelet's own failures still count.
		n.caFailures(-time.Minute, 3)
		n.expect(n.check(caTrust), 1, "unknown authority")
	}},
	{"forged recovery clears nothing", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-3*time.Minute, 5)
		n.append(-2*time.Minute, forged('I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`))
		n.expect(n.check(caTrust), 1, "unknown authority")
		n.append(-time.Minute, forged('I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`))
		n.expect(n.check(caTrust, "--identifier", "kubelet"), 1, "unknown authority")
		// The kubelet's own recovery still clears.
		n.append(-30*time.Second, registered)
		n.expect(n.check(caTrust), 0)
	}},
	{"forged systemd exits raise no crash loop", "", func(f *F, n *node) {
		n.healthy()
		fake := func(msg string) entry {
			return func(at time.Time) journalexport.Entry {
				return journalexport.Entry{Time: at, Message: msg, Unit: "session-1.scope", Identifier: "systemd", PID: 4000,
					AboutUnit: "kubelet.service", Fields: map[string]string{"_UID": "1000", "_TRANSPORT": "journal"}}
			}
		}
		var es []entry
		for i := 1; i <= 3; i++ {
			es = append(es, fake("kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
				fake(fmt.Sprintf("kubelet.service: Scheduled restart job, restart counter is at %d.", i)))
		}
		n.append(-time.Minute, es...)
		n.expect(n.check(startup), 0)
	}},

	// ---- damaged journals: Unknown, never a wrong answer.
	{"truncated journal is Unknown, then a good one is read", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 3)
		if err := os.Truncate(n.file, 4<<20); err != nil {
			f.Fatal(err)
		}
		n.expect(n.check(caTrust), 2, "truncated")
		os.Remove(n.file)
		n.last = time.Time{}
		n.healthy()
		n.caFailures(-time.Minute, 3)
		n.expect(n.check(caTrust), 1, "unknown authority")
	}},
	{"MESSAGE damaged in place is Unknown", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-3*time.Minute, 5)
		n.append(-time.Minute, kubelet('I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-2"`))
		// Without the hash check this reads as another message, the
		// recovery is missed and the node reads as failing.
		damage(f, n.file, `registered node" node="worker-2"`, "Z")
		n.expect(n.check(caTrust), 2, "damaged")
		n.expect(n.check(caTrust), 2, "damaged")
	}},
	{"FIFO named like the journal file does not hang", "", func(f *F, n *node) {
		mkfifo(f, n.file)
		n.expect(n.check(caTrust), 2, "not a regular file")
	}},
	{"FIFO named like an archive the window needs does not hang", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 3)
		mkfifo(f, filepath.Join(n.jdir, "system@00000000000000000000000000000001-0000000000000001-0000000000000001.journal"))
		n.expect(n.check(caTrust), 2, "not a regular file")
	}},
	{"cold directory of 3,000 archives answers within the deadline", "", func(f *F, n *node) {
		manyArchives(f, n, 3000)
		n.healthy()
		n.caFailures(-time.Minute, 3)
		dropCache(f, n.root)
		st := time.Now()
		n.expect(n.check(caTrust, "--timeout", "4s"), 1, "unknown authority")
		f.Logf("cold check over 3,000 archives took %v", time.Since(st))
	}},
	{"permission denied is said so", "", func(f *F, n *node) {
		if os.Geteuid() != 0 {
			f.Skip("needs root to run the binary as uid 65534")
		}
		n.healthy()
		os.Chmod(n.jdir, 0o700)
		os.MkdirAll(n.state, 0o700)
		os.Chown(n.state, 65534, 65534)
		bin := copyBin(f, n.bin, n.root)
		nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		n.bin = bin
		n.expect(n.run(nobody, append([]string{"check", caTrust}, n.flags()...)...), 2, "permission denied")
	}},

	// ---- messages: no control character, no secret, anywhere.
	{"control characters never reach the output or the state", "", func(f *F, n *node) {
		n.healthy()
		nasty := "\x1b]0;pwned\x07\x1b[31m\u009b31m\x00\x7f\xff\xfe"
		n.append(-time.Minute, repeat(3, kubelet('E', "kubelet_node_status.go:107",
			`"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes`+nasty+`\": x509: certificate signed by unknown authority" node="worker-1"`))...)
		outs := []result{n.check(caTrust), n.alert(caTrust), n.explain(nil, "--all"), n.explain(nil, "--output", "json")}
		n.expect(outs[0], 1, "unknown authority")
		for _, r := range outs {
			if !printable(r.stdout) || !printable(r.stderr) {
				f.Errorf("control characters or invalid UTF-8 in the output: %s", r)
			}
		}
		for p, b := range n.stateFiles() {
			if !printable(strings.ReplaceAll(string(b), "\t", " ")) {
				f.Errorf("control characters or invalid UTF-8 in %s: %q", p, b)
			}
		}
	}},
	{"secret canaries never reach any output or the state", "", func(f *F, n *node) {
		n.healthy()
		n.append(-2*time.Minute, repeat(3, kubelet('E', "kubelet_node_status.go:107",
			`"Unable to register node with API server" err="Post \"https://admin:`+canaries["url password"]+`@10.0.0.10:6443/api/v1/nodes?access_token=`+canaries["access_token"]+`\": x509: certificate signed by unknown authority" node="worker-1"`))...)
		n.append(-time.Minute, crashLoopWith(`"command failed" err="failed to load kubelet config file: aws_secret_access_key=`+canaries["aws secret"]+
			` `+canaries["aws key id"]+` password: `+canaries["yaml password"]+` {\"token\":\"`+canaries["json token"]+`\"} Authorization: Basic `+canaries["basic"]+
			` `+canaries["jwt"]+` client-key-data: `+canaries["key data"]+` client_secret = `+canaries["client secret"]+` --token `+canaries["bootstrap token"]+
			` https://u:p@ss`+canaries["url with @"]+`@h:6443/x -----BEGIN PRIVATE KEY-----\n`+canaries["pem"]+`"`)...)
		outs := []result{
			n.check(caTrust, "--log-level", "debug"), n.check(startup, "--log-level", "debug"),
			n.alert(caTrust, "--log-level", "debug"), n.alert(startup, "--log-level", "debug"),
			n.explain(nil, "--all"), n.explain(nil, "--output", "json"),
		}
		n.expect(outs[0], 1, "unknown authority")
		n.expect(outs[1], 1)
		for name, c := range canaries {
			for _, r := range outs {
				if strings.Contains(r.stdout+r.stderr, c) {
					f.Errorf("canary %s leaked: %s", name, r)
				}
			}
			for p, b := range n.stateFiles() {
				if strings.Contains(string(b), c) {
					f.Errorf("canary %s leaked into %s", name, p)
				}
			}
		}
	}},

	// ---- what holds today and must keep holding.
	{"concurrent runs agree", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 5)
		for round := 0; round < 2; round++ {
			var wg sync.WaitGroup
			res := make([]result, 8)
			for i := range res {
				wg.Add(1)
				go func() { defer wg.Done(); res[i] = n.check(caTrust) }()
			}
			wg.Wait()
			for _, r := range res {
				n.expect(r, 1, "unknown authority")
				if r.stdout != res[0].stdout {
					f.Errorf("runs disagree: %q and %q", r.stdout, res[0].stdout)
				}
			}
		}
	}},
	{"SIGKILL mid-run leaves no wrong answer", "", func(f *F, n *node) {
		n.healthy()
		n.append(-4*time.Minute, repeat(30000, kubelet('I', "kubelet.go:2400", `"SyncLoop (PLEG): event for pod" pod="kube-system/kube-proxy-abcde"`))...)
		n.caFailures(-time.Minute, 3)
		killLoop(f, n, 15)
		n.expect(n.check(caTrust), 1, "unknown authority")
	}},
	{"temp files of killed runs are cleaned", "", func(f *F, n *node) {
		n.healthy()
		n.expect(n.check(caTrust), 0)
		// What a run killed while saving leaves, a minute old: the store's
		// temp name, .<namespace>~<random>.tmp (internal/state).
		old := time.Now().Add(-time.Minute)
		for _, ns := range n.namespaces() {
			stale := filepath.Join(n.state, "."+ns+"~0123456789abcdef.tmp")
			if err := os.WriteFile(stale, []byte(`{"version":1`), 0o600); err != nil {
				f.Fatal(err)
			}
			os.Chtimes(stale, old, old)
		}
		n.expect(n.check(caTrust), 0)
		tmps, _ := filepath.Glob(filepath.Join(n.state, ".*tmp*"))
		if len(tmps) > 0 {
			f.Errorf("temp files left after a clean run: %v", tmps)
		}
	}},
	{"rotated journals keep their evidence", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-2*time.Minute, 5)
		n.expect(n.check(caTrust), 1, "unknown authority")
		if _, err := journalexport.Archive(n.file); err != nil {
			f.Fatal(err)
		}
		n.append(-time.Minute, kubelet('I', "kubelet.go:2400", `"SyncLoop (PLEG): event for pod" pod="kube-system/kube-proxy-abcde"`))
		n.expect(n.check(caTrust), 1, "unknown authority")
		n.append(-30*time.Second, registered)
		n.expect(n.check(caTrust), 0)
	}},
	{"tiny --timeout is Unknown, the next run is right", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 5)
		// The deadline stops it wherever it is: taking the lock, opening
		// the files, or reading them (an incomplete scan).
		r := n.check(caTrust, "--timeout", "1us")
		n.expect(r, 2)
		if out := r.stdout + r.stderr; !strings.Contains(out, "incomplete") && !strings.Contains(out, "deadline") {
			f.Errorf("output names neither the deadline nor an incomplete scan: %s", r)
		}
		n.expect(n.check(caTrust), 1, "unknown authority")
	}},
	{"--max-entries N with exactly N entries is complete", "", func(f *F, n *node) {
		n.healthy() // 5 entries
		n.caFailures(-time.Minute, 3)
		r := n.check(caTrust, "--max-entries", "8")
		n.expect(r, 1, "unknown authority")
		if strings.Contains(r.stdout, "incomplete") {
			f.Errorf("exactly --max-entries entries read as incomplete: %s", r)
		}
	}},
	{"--max-entries below the entries is Unknown, the next run reads on", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 3)
		n.expect(n.check(caTrust, "--max-entries", "4"), 2, "incomplete")
		n.expect(n.check(caTrust), 1, "unknown authority")
	}},

	// ---- the state: cannot be forged, poisoned or turned into a hang.
	{"FIFO in place of a state file does not hang", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 3)
		n.expect(n.check(caTrust), 1, "unknown authority")
		for _, ns := range n.namespaces() {
			p := filepath.Join(n.state, ns+".json")
			os.Remove(p)
			mkfifo(f, p)
		}
		n.expect(n.check(caTrust), 2, "state")
		for _, ns := range n.namespaces() {
			os.Remove(filepath.Join(n.state, ns+".json"))
		}
		n.expect(n.check(caTrust), 1, "unknown authority")
	}},
	{"state dir writable by others is refused", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 3)
		n.expect(n.check(caTrust), 1, "unknown authority")
		os.Chmod(n.state, 0o777)
		n.expect(n.check(caTrust), 2, "state", "writable")
		os.Chmod(n.state, 0o700)
		n.expect(n.check(caTrust), 1, "unknown authority")
	}},
	{"state file owned by another user is refused", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 3)
		n.expect(n.check(caTrust), 1, "unknown authority")
		for _, ns := range n.namespaces() {
			os.Chown(filepath.Join(n.state, ns+".json"), 1000, 1000)
		}
		n.expect(n.check(caTrust), 2, "state")
	}},
	{"null in the state's evidence is rebuilt, not a crash", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 3)
		n.expect(n.check(caTrust), 1, "unknown authority")
		poisoned := false
		for _, ns := range n.namespaces() {
			poisoned = nullFirstElement(f, filepath.Join(n.state, ns+".json")) || poisoned
		}
		if !poisoned {
			f.Fatal("state has no evidence list to poison")
		}
		n.expect(n.check(caTrust), 1, "unknown authority")
		n.expect(n.check(caTrust), 1, "unknown authority")
	}},
	{"lock that is a symlink is not followed", "", func(f *F, n *node) {
		n.healthy()
		n.expect(n.check(caTrust), 0)
		elsewhere := filepath.Join(n.root, "elsewhere")
		os.MkdirAll(elsewhere, 0o755)
		locks, _ := filepath.Glob(filepath.Join(n.state, "*lock"))
		if len(locks) == 0 {
			f.Fatal("no lock file in the state directory")
		}
		for _, l := range locks {
			os.Remove(l)
			if err := os.Symlink(filepath.Join(elsewhere, filepath.Base(l)), l); err != nil {
				f.Fatal(err)
			}
		}
		r := n.check(caTrust)
		if made, _ := os.ReadDir(elsewhere); len(made) > 0 {
			f.Errorf("a lock symlink was followed: %s created (%s)", made[0].Name(), r)
		}
		if r.code != 2 && r.code != 0 {
			f.Errorf("exit %d: %s", r.code, r)
		}
	}},

	// ---- clocks.
	{"clock stepped back keeps the evidence", "", func(f *F, n *node) {
		// The entries are this machine's boot's, stamped on its monotonic
		// clock as journald would: a checker that measures elapsed time on
		// that clock sees failures a minute old whatever the wall clock
		// (--now, an hour back here: the machine's own clock is not ours
		// to step) says.
		n.thisBoot(f)
		n.healthy()
		n.caFailures(-time.Minute, 5)
		n.expect(n.check(caTrust), 1, "unknown authority")
		back := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
		n.expect(n.check(caTrust, "--now", back), 1, "unknown authority")
	}},
	{"reboot with an earlier clock does not bring back the old boot's crash loop", "", func(f *F, n *node) {
		n.healthy()
		n.append(-2*time.Minute, crashLoopWith(`"command failed" err="failed to load kubelet config file /var/lib/kubelet/config.yaml: no such file or directory"`)...)
		n.expect(n.check(startup), 1)
		// The next boot's clock is 40 minutes behind: its entries are
		// older by the wall clock than the crash loop, newer in fact.
		n.boot = "0123456789abcdef0123456789abcdef"
		at := time.Now().Add(-40 * time.Minute)
		var es []journalexport.Entry
		for i, e := range append(append([]entry{}, started...), kubelet('I', "kubelet.go:2488", `"Starting kubelet main sync loop"`), registered) {
			x := e(at.Add(time.Duration(i) * time.Second))
			x.BootID, x.Monotonic = n.boot, time.Duration(20+i)*time.Second
			es = append(es, x)
		}
		if err := journalexport.Append(n.file, es); err != nil {
			f.Fatal(err)
		}
		// Six minutes into the new boot, and 45 minutes in: by then its
		// clock has passed the old boot's crash loop, which a wall-clock
		// window counts as 7 minutes old, though the kubelet started in
		// this boot 45 minutes ago and stayed up.
		for _, after := range []time.Duration{6 * time.Minute, 45 * time.Minute} {
			n.expect(n.check(startup, "--now", at.Add(after).UTC().Format(time.RFC3339Nano)), 0)
		}
	}},

	// ---- alerts: at least once.
	{"alert killed between saving and printing still raises its Event", "", func(f *F, n *node) {
		n.healthy()
		n.caFailures(-time.Minute, 5)
		// A closed pipe on stdout: the write kills the run with SIGPIPE,
		// as a kill after saving the state would.
		pr, pw, err := os.Pipe()
		if err != nil {
			f.Fatal(err)
		}
		pr.Close()
		cmd := exec.Command(n.bin, append([]string{"alert", caTrust}, n.flags()...)...)
		cmd.Stdout = pw
		cmd.Run()
		pw.Close()
		n.expect(n.alert(caTrust), 1, "unknown authority")
	}},
}

func TestFaultMatrix(t *testing.T) {
	bin := needBin(t)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			runRow(t, r.pending, func(f *F) { r.run(f, newNode(f, bin)) })
		})
	}
}

// canaries are secrets planted in kubelet lines; none may come out.
var canaries = map[string]string{
	"url password":    "CANARYurlpass1",
	"access_token":    "CANARYaccesstoken2",
	"aws secret":      "CANARYawssecret3",
	"aws key id":      "AKIACANARYAWSKEY0004",
	"yaml password":   "CANARYyamlpass5",
	"json token":      "CANARYjsontoken6",
	"basic":           "Q0FOQVJZYmFzaWM3",
	"jwt":             "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDQU5BUlk4In0.Q0FOQVJZand0OA",
	"key data":        "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCkNBTkFSWTk=",
	"client secret":   "CANARYclientsecret10",
	"bootstrap token": "c4n4ry.11aaaabbbbccccdd",
	"url with @":      "CANARYurlat12",
	"pem":             "CANARYpem13",
}

// crashLoopWith is three kubelet starts that each die with fatal.
func crashLoopWith(fatal string) []entry {
	var out []entry
	for i := 1; i <= 3; i++ {
		out = append(out, started...)
		out = append(out,
			kubelet('E', "run.go:72", fatal),
			systemd("kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
			systemd(fmt.Sprintf("kubelet.service: Scheduled restart job, restart counter is at %d.", i)))
	}
	return out
}

func repeat(k int, e entry) []entry {
	out := make([]entry, k)
	for i := range out {
		out[i] = e
	}
	return out
}

// explain runs `explain` over the node's journal as journalctl -o cat
// would print it.
func (n *node) explain(attr *syscall.SysProcAttr, extra ...string) result {
	out, err := exec.Command("journalctl", "-D", filepath.Dir(n.jdir), "-o", "cat", "--no-pager").Output()
	if err != nil {
		n.f.Fatalf("journalctl: %v", err)
	}
	in := filepath.Join(n.root, "journal.txt")
	if err := os.WriteFile(in, out, 0o644); err != nil {
		n.f.Fatal(err)
	}
	return n.run(attr, append([]string{"explain", in}, extra...)...)
}

// damage overwrites the first byte after the first occurrence of s in file
// with b: bytes changed in place, the objects' structure intact.
func damage(f *F, file, s, b string) {
	data, err := os.ReadFile(file)
	if err != nil {
		f.Fatal(err)
	}
	i := strings.Index(string(data), s)
	if i < 0 {
		f.Fatalf("%q not in %s", s, file)
	}
	w, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		f.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteAt([]byte(b), int64(i+len(s)-1)); err != nil {
		f.Fatal(err)
	}
}

func mkfifo(f *F, path string) {
	if err := syscall.Mkfifo(path, 0o640); err != nil {
		f.Fatal(err)
	}
}

// manyArchives puts k small archives of a month ago into the node's
// journal directory, dated as rotation leaves them.
func manyArchives(f *F, n *node, k int) {
	tmpl := filepath.Join(f.TempDir(), "system.journal")
	old := time.Now().Add(-30 * 24 * time.Hour)
	var es []journalexport.Entry
	for i := 0; i < 20; i++ {
		es = append(es, journalexport.Kubelet(old.Add(time.Duration(i)*time.Second), klog(old, 'I', "kubelet.go:2400", `"SyncLoop (PLEG): event for pod"`)))
	}
	if err := journalexport.Append(tmpl, es); err != nil {
		f.Fatal(err)
	}
	paths := make([]string, k)
	for i := range paths {
		at := old.Add(time.Duration(i) * 10 * time.Minute)
		paths[i] = filepath.Join(n.jdir, fmt.Sprintf("system@%032x-%016x-%016x.journal", 1, i*20+1, at.UnixMicro()))
	}
	if err := journalexport.SparseCopy(tmpl, paths...); err != nil {
		f.Fatal(err)
	}
	for i, p := range paths {
		at := old.Add(time.Duration(i+1) * 10 * time.Minute)
		os.Chtimes(p, at, at)
	}
}

// killLoop starts check k times and SIGKILLs it at a random moment.
func killLoop(f *F, n *node, k int) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < k; i++ {
		cmd := exec.Command(n.bin, append([]string{"check", caTrust}, n.flags()...)...)
		if err := cmd.Start(); err != nil {
			f.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
}

// namespaces returns the state's namespaces: its *.json files, without
// the extension.
func (n *node) namespaces() []string {
	files, _ := filepath.Glob(filepath.Join(n.state, "*.json"))
	var ns []string
	for _, p := range files {
		ns = append(ns, strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	if len(ns) == 0 {
		n.f.Fatalf("no state file in %s", n.state)
	}
	return ns
}

// nullFirstElement replaces the first element of the first non-empty list
// in the state file's evidence by null, as a truncated or hand-edited file
// could hold. It reports whether there was one.
func nullFirstElement(f *F, file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		f.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		f.Fatal(err)
	}
	var poison func(v any) bool
	poison = func(v any) bool {
		switch x := v.(type) {
		case []any:
			if len(x) > 0 {
				x[0] = nil
				return true
			}
		case map[string]any:
			for _, c := range x {
				if poison(c) {
					return true
				}
			}
		}
		return false
	}
	if !poison(st["evidence"]) {
		return false
	}
	out, err := json.Marshal(st)
	if err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o600); err != nil {
		f.Fatal(err)
	}
	return true
}
