// Command demo is `make demo`: the real node-problem-detector runs the
// shipped config/npd files against a node root whose kubelet journal (real
// journal files, written by systemd-journal-remote) shows a kubelet failing
// in two seed ways and then recovering, and the demo prints each condition
// over time as NPD publishes it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/npdconfig"
	"github.com/kubelet-doctor/kubelet-doctor/internal/rules"
	"github.com/kubelet-doctor/kubelet-doctor/test/journalexport"
)

const interval = time.Second

func main() {
	bin := flag.String("bin", "bin/kubelet-doctor", "kubelet-doctor binary")
	npdBin := flag.String("npd", "", "node-problem-detector binary (scripts/build-npd.sh prints it)")
	configDir := flag.String("config", "config/npd", "directory of the shipped NPD config files")
	keep := flag.Bool("keep", false, "keep the demo's node root and NPD log")
	flag.Parse()
	if err := run(*bin, *npdBin, *configDir, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// step is one moment of the scenario: what happens on the node, written to
// its journal, then how long to watch NPD before the next step.
type step struct {
	say   string
	lines func(at time.Time, n int) []journalexport.Entry
	times int           // the lines are written this many times ...
	every time.Duration // ... this far apart
	watch time.Duration
	last  bool // the recovery: watch until every condition is False
}

func klogLine(level byte, src, msg string) func(at time.Time) journalexport.Entry {
	return func(at time.Time) journalexport.Entry {
		return journalexport.Kubelet(at, fmt.Sprintf("%c%s %7d %s] %s", level, at.UTC().Format("0102 15:04:05.000000"), journalexport.KubeletPID, src, msg))
	}
}

func entries(at time.Time, fs ...func(time.Time) journalexport.Entry) []journalexport.Entry {
	out := make([]journalexport.Entry, len(fs))
	for i, f := range fs {
		out[i] = f(at.Add(time.Duration(i) * time.Millisecond))
	}
	return out
}

func systemd(msg string) func(time.Time) journalexport.Entry {
	return func(at time.Time) journalexport.Entry { return journalexport.Systemd(at, "kubelet.service", msg) }
}

var scenario = []step{
	{
		say: "kubelet starts and TLS-bootstraps against an API server whose CA it does not trust",
		lines: func(at time.Time, n int) []journalexport.Entry {
			if n == 0 {
				return entries(at,
					systemd("Started kubelet.service - kubelet: The Kubernetes Node Agent."),
					klogLine('I', "server.go:529", `"Kubelet version" kubeletVersion="v1.36.3"`),
					klogLine('E', "certificate_manager.go:596", `"Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Post \"https://10.0.0.10:6443/apis/certificates.k8s.io/v1/certificatesigningrequests\": tls: failed to verify certificate: x509: certificate signed by unknown authority" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"`))
			}
			return entries(at,
				klogLine('E', "certificate_manager.go:596", `"Failed while requesting a signed certificate from the control plane" err="cannot create certificate signing request: Post \"https://10.0.0.10:6443/apis/certificates.k8s.io/v1/certificatesigningrequests\": tls: failed to verify certificate: x509: certificate signed by unknown authority" logger="kubernetes.io/kube-apiserver-client-kubelet.UnhandledError"`))
		},
		times: 4, every: time.Second, watch: 3 * time.Second,
	},
	{
		say: "the CA is fixed, but an upgrade removed the kubelet config file: the kubelet crash-loops",
		lines: func(at time.Time, n int) []journalexport.Entry {
			return entries(at,
				systemd("Started kubelet.service - kubelet: The Kubernetes Node Agent."),
				klogLine('E', "run.go:72", `"command failed" err="failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory"`),
				systemd("kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
				systemd("kubelet.service: Failed with result 'exit-code'."),
				systemd(fmt.Sprintf("kubelet.service: Scheduled restart job, restart counter is at %d.", n+1)))
		},
		times: 4, every: 2 * time.Second, watch: 3 * time.Second,
	},
	{
		say: "the config file is restored: the kubelet starts, joins and stays up",
		lines: func(at time.Time, n int) []journalexport.Entry {
			return entries(at,
				systemd("Started kubelet.service - kubelet: The Kubernetes Node Agent."),
				klogLine('I', "server.go:529", `"Kubelet version" kubeletVersion="v1.36.3"`),
				klogLine('I', "kubelet.go:1700", `"Started kubelet"`),
				klogLine('I', "kubelet.go:2468", `"Starting kubelet main sync loop"`),
				klogLine('I', "kubelet_node_status.go:75", `"Attempting to register node" node="worker-1"`),
				klogLine('I', "kubelet_node_status.go:78", `"Successfully registered node" node="worker-1"`))
		},
		times: 1, watch: 45 * time.Second, last: true,
	},
}

func run(bin, npdBin, configDir string, keep bool) error {
	if npdBin == "" {
		return errors.New("-npd is required (scripts/build-npd.sh prints it)")
	}
	for _, p := range []string{bin, npdBin} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("binary: %w", err)
		}
	}
	if err := journalexport.Available(); err != nil {
		return fmt.Errorf("%w (run scripts/deps.sh)", err)
	}
	bin, _ = filepath.Abs(bin)
	dir, err := os.MkdirTemp("", "kubelet-doctor-demo-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	root := filepath.Join(dir, "node")
	journalFile := filepath.Join(root, "var/log/journal", journalexport.MachineID, "system.journal")
	configs, err := writeConfigs(configDir, filepath.Join(dir, "npd"), npdconfig.Local{
		Bin: bin, Root: root, StateDir: filepath.Join(dir, "state"), Interval: interval,
	})
	if err != nil {
		return err
	}
	// A journal exists before NPD starts, as on a node.
	if err := journalexport.Append(journalFile, entries(time.Now().Add(-time.Minute), systemd("Starting kubelet.service - kubelet: The Kubernetes Node Agent..."))); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("kubelet-doctor demo: the real node-problem-detector (%s) runs config/npd/*.json every %s\n", filepath.Base(npdBin), interval)
	fmt.Printf("against a node root whose kubelet journal is written as the story goes (%s).\n\n", root)
	w := newWatcher(time.Now())
	stopNPD, err := startNPD(npdBin, configs, filepath.Join(dir, "npd.log"), w)
	if err != nil {
		return err
	}
	defer stopNPD()
	if err := play(ctx, w, journalFile); err != nil {
		return err
	}
	w.summary()
	if keep {
		fmt.Printf("\nnode root, state and NPD log kept in %s\n", dir)
	}
	return nil
}

// startNPD starts the real NPD on configs, its log copied to npdLog and
// followed by w; stop kills it and the plugins it runs.
func startNPD(npdBin string, configs []string, npdLog string, w *watcher) (stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(npdBin, "--enable-k8s-exporter=false", "--prometheus-address=127.0.0.1",
		fmt.Sprintf("--prometheus-port=%d", port), "--config.custom-plugin-monitor="+strings.Join(configs, ","))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(npdLog)
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start NPD: %w", err)
	}
	go w.follow(io.TeeReader(stderr, logf))
	return func() {
		// NPD and the plugins it runs share its process group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logf.Close()
	}, nil
}

// play writes the scenario's steps into the journal, watching NPD's
// conditions for each step's time (after the last one, until every
// condition is False again).
func play(ctx context.Context, w *watcher, journalFile string) error {
	for _, s := range scenario {
		w.say(s.say)
		for n := 0; n < max(s.times, 1); n++ {
			if n > 0 && !sleep(ctx, s.every) {
				return ctx.Err()
			}
			if err := journalexport.Append(journalFile, s.lines(time.Now(), n)); err != nil {
				return fmt.Errorf("write journal: %w", err)
			}
		}
		deadline := time.Now().Add(s.watch)
		for time.Now().Before(deadline) && !(s.last && w.allFalse()) {
			if !sleep(ctx, 250*time.Millisecond) {
				return ctx.Err()
			}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func writeConfigs(from, to string, l npdconfig.Local) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(from, "*.json"))
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("no config files in %s (run make generate)", from)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		local, err := npdconfig.Rewrite(data, l)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		p := filepath.Join(to, filepath.Base(n))
		if err := os.WriteFile(p, local, 0o644); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// NPD's own log lines for a condition change and for a temporary rule's
// event (pkg/util GenerateConditionChangeEvent, custom plugin monitor).
var (
	changeRE = regexp.MustCompile(`Node condition (\S+) is now: (\w+), reason: (\S+), message: "(.*)"`)
	eventRE  = regexp.MustCompile(`\{Severity:warn Timestamp:[^}]*?Reason:(\w+) Message:([^}]*)\}`)
)

// watcher prints NPD's condition changes and events as they come.
type watcher struct {
	mu     sync.Mutex
	start  time.Time
	last   map[string][3]string // condition -> status, reason, message
	events map[string]bool
}

func newWatcher(start time.Time) *watcher {
	return &watcher{start: start, last: map[string][3]string{}, events: map[string]bool{}}
}

func (w *watcher) stamp() string { return fmt.Sprintf("[%5.1fs]", time.Since(w.start).Seconds()) }

func (w *watcher) say(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Printf("%s node: %s\n", w.stamp(), s)
}

func (w *watcher) follow(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := changeRE.FindStringSubmatch(line); m != nil {
			w.mu.Lock()
			if w.last[m[1]] != [3]string{m[2], m[3], m[4]} {
				w.last[m[1]] = [3]string{m[2], m[3], m[4]}
				msg := m[4]
				if m[2] == "False" {
					msg = ""
				}
				fmt.Printf("%s   %-28s %-7s %-30s %s\n", w.stamp(), m[1], m[2], m[3], msg)
			}
			w.mu.Unlock()
		}
		for _, m := range eventRE.FindAllStringSubmatch(line, -1) {
			if strings.HasPrefix(m[2], "Node condition ") {
				continue // the change itself, printed above
			}
			w.mu.Lock()
			key := m[1] + m[2]
			if !w.events[key] {
				w.events[key] = true
				fmt.Printf("%s   event %-22s %s\n", w.stamp(), m[1], m[2])
			}
			w.mu.Unlock()
		}
	}
}

func (w *watcher) allFalse() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.last {
		if s[0] != "False" {
			return false
		}
	}
	return true
}

func (w *watcher) summary() {
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Printf("\nConditions at the end (kubectl describe node would show these):\n")
	var types []string
	for _, c := range rules.Conditions() {
		types = append(types, c.Type)
	}
	sort.Strings(types)
	for _, t := range types {
		c, _ := rules.ConditionByType(t)
		s, ok := w.last[t]
		if !ok {
			s = [3]string{"False", c.HealthyReason, c.HealthyMessage}
		}
		if s[2] == "" {
			s[2] = c.HealthyMessage
		}
		fmt.Printf("  %-28s %-7s %-30s %s\n", t, s[0], s[1], s[2])
	}
}
