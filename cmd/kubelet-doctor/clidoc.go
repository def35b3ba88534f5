package main

import (
	_ "embed"
	"flag"
	"fmt"
	"strings"
	"sync"
)

//go:generate go test -run ^TestCLIDocIsCurrent$ -update .

// cliDocPath is the command-line reference, made by cliDoc from the flag
// definitions; a test fails when the committed file is stale.
const cliDocPath = "../../docs/cli.md"

// usageLines are the synopsis of each command.
var usageLines = map[string]string{
	"explain":    "kubelet-doctor explain [flags] [FILE]",
	"check":      "kubelet-doctor check CONDITION [flags]",
	"alert":      "kubelet-doctor alert CONDITION [flags]",
	"report":     "kubelet-doctor report [flags]",
	"wait":       "kubelet-doctor wait [--timeout 10m] [flags]",
	"metrics":    "kubelet-doctor metrics [--textfile DIR] [flags]",
	"install":    "kubelet-doctor install DEST",
	"conditions": "kubelet-doctor conditions",
	"completion": "kubelet-doctor completion bash|zsh",
	"version":    "kubelet-doctor version",
}

// cliDoc renders docs/cli.md: for each command its synopsis, its contract
// (cliProse) and a table of its flags as the command defines them.
func cliDoc() string {
	var b strings.Builder
	b.WriteString("<!-- Generated from the flag definitions by `go generate ./cmd/kubelet-doctor`; edit cmd/kubelet-doctor/cliprose.md or the flags, not this file. -->\n")
	b.WriteString("# kubelet-doctor command line (contract shared by the code, config/ and the tests)\n\n")
	b.WriteString("One binary, `kubelet-doctor`, subcommands:\n\n")
	for _, c := range allCommands() {
		fmt.Fprintf(&b, "- [`%s`](#%s): %s\n", c.name, c.name, c.summary)
	}
	for _, c := range allCommands() {
		fmt.Fprintf(&b, "\n## %s\n\n`%s`\n\n", c.name, usageLines[c.name])
		if p := cliProse()[c.name]; p != "" {
			b.WriteString(strings.TrimSpace(p) + "\n")
		}
		if table := flagTable(c.name); table != "" {
			b.WriteString("\n" + table)
		}
	}
	b.WriteString("\n" + strings.TrimSpace(cliProse()[""]) + "\n")
	return b.String()
}

// flagTable is the markdown table of a command's flags.
func flagTable(name string) string {
	var b strings.Builder
	flagSet(name).VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		arg := "--" + f.Name
		if kind != "" {
			arg += " " + argName(f.Name, kind)
		}
		def := "`" + f.DefValue + "`"
		if f.DefValue == "" || f.DefValue == "[]" {
			def = "(none)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", arg, def, strings.ReplaceAll(usage, "|", "\\|"))
	})
	if b.Len() == 0 {
		return ""
	}
	return "| flag | default | meaning |\n|---|---|---|\n" + b.String()
}

//go:embed cliprose.md
var cliProseText string

// cliProse is each command's contract from cliprose.md ("@@ name" starts a
// command's text; "@@" alone the closing sections). Parsed on first use:
// every NPD plugin run starts this binary, and none of them needs it.
var cliProse = sync.OnceValue(func() map[string]string { return parseProse(cliProseText) })

func parseProse(s string) map[string]string {
	parts := map[string]*strings.Builder{}
	name := ""
	for _, line := range strings.SplitAfter(s, "\n") {
		if rest, ok := strings.CutPrefix(line, "@@"); ok {
			name = strings.TrimSpace(rest)
			continue
		}
		if parts[name] == nil {
			parts[name] = &strings.Builder{}
		}
		parts[name].WriteString(line)
	}
	out := make(map[string]string, len(parts))
	for k, b := range parts {
		out[k] = b.String()
	}
	return out
}

// argNames name a flag's value where its type says too little.
var argNames = map[string]string{"now": "TIME", "log-level": "LEVEL", "output": "FORMAT", "healthz-url": "URL",
	"unit": "NAME", "identifier": "NAME", "duration": "DUR", "int": "N"}

func argName(flagName, kind string) string {
	for _, d := range dirFlags {
		if d == "--"+flagName {
			return "DIR"
		}
	}
	if n := argNames[flagName]; n != "" {
		return n
	}
	if n := argNames[kind]; n != "" {
		return n
	}
	return strings.ToUpper(kind)
}
