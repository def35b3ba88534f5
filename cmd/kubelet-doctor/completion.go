package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kubelet-doctor/kubelet-doctor/internal/condition"
)

// commandFlags registers a command's flags on fs, exactly as the command
// does: completion and docs/cli.md are made from these, so they cannot
// drift from what the commands accept. A command without flags is absent.
var commandFlags = map[string]func(fs *flag.FlagSet){
	"explain": func(fs *flag.FlagSet) { (&explainFlags{}).register(fs) },
	"check":   func(fs *flag.FlagSet) { (&pluginFlags{}).register(fs) },
	"alert":   func(fs *flag.FlagSet) { (&pluginFlags{}).register(fs) },
	"report":  func(fs *flag.FlagSet) { (&reportFlags{}).register(fs) },
	"wait":    func(fs *flag.FlagSet) { (&waitFlags{}).register(fs) },
	"metrics": func(fs *flag.FlagSet) { (&metricsFlags{}).register(fs) },
}

// flagSet is the command's flags, empty for a command without any.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if reg := commandFlags[name]; reg != nil {
		reg(fs)
	}
	return fs
}

// flagNames are the command's flags as "--name", sorted.
func flagNames(name string) []string {
	var out []string
	flagSet(name).VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name) })
	sort.Strings(out)
	return out
}

// Flags whose value is a directory, and the fixed values of some flags.
var (
	dirFlags    = []string{"--root", "--journal-dir", "--state-dir", "--textfile"}
	flagChoices = map[string][]string{
		"--output":    {"text", "json"},
		"--log-level": {"debug", "info", "warning", "error"},
	}
)

// commandArgs are the words a command takes besides flags.
func commandArgs(name string) []string {
	switch name {
	case "check", "alert":
		return condition.Types()
	case "completion":
		return []string{"bash", "zsh"}
	}
	return nil
}

func runCompletion(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		fmt.Fprintln(stderr, "usage: kubelet-doctor completion bash|zsh\n\n  bash: source <(kubelet-doctor completion bash)\n  zsh:  kubelet-doctor completion zsh > \"${fpath[1]}/_kubelet-doctor\"")
		return 2
	}
	var err error
	if args[0] == "bash" {
		_, err = io.WriteString(stdout, bashCompletion())
	} else {
		_, err = io.WriteString(stdout, zshCompletion())
	}
	if err != nil {
		fmt.Fprintf(stderr, "completion: %v\n", err)
		return 2
	}
	return 0
}

// allCommands is the command list; a function set in init, because the
// list itself names runCompletion.
var allCommands func() []command

func init() { allCommands = func() []command { return commands } }

func commandNames() []string {
	var out []string
	for _, c := range allCommands() {
		out = append(out, c.name)
	}
	return out
}

func bashCompletion() string {
	var b strings.Builder
	b.WriteString(`# bash completion for kubelet-doctor: source <(kubelet-doctor completion bash)
_kubelet_doctor() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" flags="" args=""
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "` + strings.Join(commandNames(), " ") + `" -- "$cur"))
    return
  fi
  case "$prev" in
    ` + strings.Join(dirFlags, "|") + `) COMPREPLY=($(compgen -d -- "$cur")); return ;;
`)
	for _, name := range sortedKeys(flagChoices) {
		fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", name, strings.Join(flagChoices[name], " "))
	}
	b.WriteString("  esac\n  case \"${COMP_WORDS[1]}\" in\n")
	for _, c := range allCommands() {
		fmt.Fprintf(&b, "    %s) flags=%q; args=%q ;;\n", c.name, strings.Join(flagNames(c.name), " "), strings.Join(commandArgs(c.name), " "))
	}
	b.WriteString(`  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$args" -- "$cur"))
  fi
}
complete -o default -F _kubelet_doctor kubelet-doctor
`)
	return b.String()
}

func zshCompletion() string {
	var b strings.Builder
	b.WriteString("#compdef kubelet-doctor\n# zsh completion for kubelet-doctor: kubelet-doctor completion zsh > \"${fpath[1]}/_kubelet-doctor\"\n")
	b.WriteString("_kubelet_doctor() {\n  local -a cmds\n  cmds=(\n")
	for _, c := range allCommands() {
		fmt.Fprintf(&b, "    '%s:%s'\n", c.name, zshQuote(zshText(c.summary)))
	}
	b.WriteString("  )\n  if (( CURRENT == 2 )); then\n    _describe 'command' cmds\n    return\n  fi\n")
	b.WriteString("  local cmd=${words[2]}\n  shift words\n  (( CURRENT-- ))\n  case $cmd in\n")
	for _, c := range allCommands() {
		fmt.Fprintf(&b, "    %s)\n      _arguments", c.name)
		flagSet(c.name).VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(&b, " \\\n        '--%s[%s]%s'", f.Name, zshQuote(zshText(f.Usage)), zshValue(f))
		})
		if args := commandArgs(c.name); len(args) > 0 {
			fmt.Fprintf(&b, " \\\n        '1:argument:(%s)'", strings.Join(args, " "))
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString("  esac\n}\n_kubelet_doctor \"$@\"\n")
	return b.String()
}

// zshValue is the _arguments value spec of a flag: none for a boolean,
// directories, fixed choices, or any word.
func zshValue(f *flag.Flag) string {
	if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
		return ""
	}
	name := "--" + f.Name
	for _, d := range dirFlags {
		if d == name {
			return ":directory:_files -/"
		}
	}
	if ch := flagChoices[name]; ch != nil {
		return ":value:(" + strings.Join(ch, " ") + ")"
	}
	kind, _ := flag.UnquoteUsage(f)
	if kind == "" {
		kind = "value"
	}
	return ":" + kind + ": "
}

// zshText is the first clause of a usage text, without the characters an
// _arguments description cannot hold.
func zshText(s string) string {
	if i := strings.IndexAny(s, ":;("); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(strings.NewReplacer("[", "", "]", "", "`", "", "\\", "", "$", "").Replace(s))
}

// zshQuote escapes a string for single quotes.
func zshQuote(s string) string { return strings.ReplaceAll(s, "'", "'\\''") }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
