// Command kubelet-doctor names the root cause of a kubelet that cannot join
// or keep its node Ready: `explain` classifies log lines, `check` and
// `alert` are node-problem-detector custom plugins.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = []command{
	{"explain", "classify kubelet log lines: journalctl -u kubelet | kubelet-doctor explain", runExplain},
	{"check", "NPD plugin: report one condition (exit 0 False, 1 True, 2 Unknown)", runCheck},
	{"alert", "NPD temporary rule: exit 1 once per new failure of a condition", runAlert},
	{"report", "every condition of this node at once, with evidence (exit 1 problem, 2 unknown, 0 ok)", runReport},
	{"wait", "wait for the kubelet to register and stay healthy, or stop on a failure (bootstrap scripts)", runWait},
	{"metrics", "conditions, registration, restarts and checks as Prometheus metrics (node_exporter textfile)", runMetrics},
	{"install", "copy this binary to DEST atomically (the image's init container)", runInstall},
	{"conditions", "list the conditions and their reasons", runConditions},
	{"completion", "print a shell completion script: completion bash|zsh", runCompletion},
	{"version", "print the version", func([]string, io.Reader, io.Writer, io.Writer) int { fmt.Println(version); return 0 }},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	logrus.SetOutput(stderr)
	logrus.SetLevel(logrus.WarnLevel)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "kubelet-doctor: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: kubelet-doctor COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'kubelet-doctor COMMAND -h' for a command's flags.")
}
