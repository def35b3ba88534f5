// Command kdbench is the harness behind scripts/bench.sh: it generates the
// benchmark journal, measures kubelet-doctor against the sd_journal floor,
// journalctl | grep and NPD's log-counter (wall, CPU, peak anonymous and
// file-backed RSS per process), and writes the results as Markdown.
//
// It is a Go program rather than shell because the numbers come from
// wait4's rusage, a ptrace stop at the measured process's exit and a
// 1 ms /proc sampler, none of which bash can do.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = cmdGen(os.Args[2:])
	case "append":
		err = cmdAppend(os.Args[2:])
	case "patterns":
		err = cmdPatterns(os.Args[2:])
	case "run":
		err = cmdRun(os.Args[2:])
	case "measure":
		err = cmdMeasure(os.Args[2:])
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kdbench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: kdbench COMMAND [flags]
  gen       generate (or reuse) the cached benchmark journal
  append    append entries of the same mix to DIR/system.journal
  patterns  write the registry's patterns as grep -E patterns (ERE)
  run       measure every variant, interleaved, and write the report
  measure   run one command and print its wall, CPU and peak RSS`)
}
