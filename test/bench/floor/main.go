//go:build cgo

// Command floor is the benchmark's floor: the least work any sd_journal
// reader of the kubelet's entries can do. It opens a journal directory,
// installs the same match as kubelet-doctor (_SYSTEMD_UNIT=kubelet.service
// OR SYSLOG_IDENTIFIER=kubelet OR UNIT=kubelet.service with _PID=1), seeks
// to -since-us and reads MESSAGE of every entry to the end, matching
// nothing. It prints "entries N bytes B". Like kubelet-doctor, it opens
// only the journal files that can hold entries at or after -since-us.
//
// With -ident it uses NPD log-counter's match instead
// (SYSLOG_IDENTIFIER=kubelet only), to count what log-counter can read.
// With -tail it prints the realtime (µs) of the journal's newest entry.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(1)
	}
}

// open opens the journal files of dir. By default it does what
// kubelet-doctor's reader does: list the *.journal files and hand
// sd_journal_open_files only the active files and the archives whose last
// entry (header tail_entry_realtime) is at or after since, so that a short
// window does not pay for mapping every archive. -all-files hands it every
// file, -open-dir uses sd_journal_open_directory (what NPD's log-counter
// does).
func open(dir string, since uint64, allFiles, byDir bool) (*sdjournal.Journal, error) {
	if byDir {
		j, err := sdjournal.NewJournalFromDir(dir)
		if err != nil {
			return nil, fmt.Errorf("open journal directory %s: %w", dir, err)
		}
		return j, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no *.journal files in %s (%v)", dir, err)
	}
	var keep []string
	for _, f := range files {
		if allFiles || since == 0 || !strings.Contains(filepath.Base(f), "@") {
			keep = append(keep, f)
			continue
		}
		tail, err := tailRealtime(f)
		if err != nil {
			return nil, err
		}
		if tail >= since {
			keep = append(keep, f)
		}
	}
	j, err := sdjournal.NewJournalFromFiles(keep...)
	if err != nil {
		return nil, fmt.Errorf("open journal files in %s: %w", dir, err)
	}
	return j, nil
}

// tailRealtime reads tail_entry_realtime (le64 at offset 192 of the header,
// systemd's journal-def.h) of a journal file.
func tailRealtime(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	var h [200]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, fmt.Errorf("read header of %s: %w", path, err)
	}
	if string(h[:8]) != "LPKSHHRH" {
		return 0, fmt.Errorf("%s: not a journal file", path)
	}
	return binary.LittleEndian.Uint64(h[192:]), nil
}

func run() error {
	dir := flag.String("dir", "", "journal directory")
	since := flag.Uint64("since-us", 0, "first entry's realtime, µs since the epoch (0: the head)")
	ident := flag.Bool("ident", false, "match SYSLOG_IDENTIFIER=kubelet only (log-counter's match)")
	tail := flag.Bool("tail", false, "print the newest entry's realtime in µs and exit")
	allFiles := flag.Bool("all-files", false, "open every file, also archives older than -since-us")
	byDir := flag.Bool("open-dir", false, "open with sd_journal_open_directory (implies -all-files)")
	flag.Parse()
	if *dir == "" {
		return errors.New("-dir is required")
	}
	j, err := open(*dir, *since, *allFiles || *tail, *byDir)
	if err != nil {
		return err
	}
	defer j.Close()

	if *tail {
		if err := j.SeekTail(); err != nil {
			return fmt.Errorf("seek tail: %w", err)
		}
		if _, err := j.Previous(); err != nil {
			return fmt.Errorf("read tail: %w", err)
		}
		us, err := j.GetRealtimeUsec()
		if err != nil {
			return fmt.Errorf("tail time: %w", err)
		}
		fmt.Println(us)
		return nil
	}

	// Same as kubelet-doctor's reader: the threshold is a hint, 0 = all.
	if err := j.SetDataThreshold(0); err != nil {
		return fmt.Errorf("set data threshold: %w", err)
	}
	terms := []string{"_SYSTEMD_UNIT=kubelet.service", "+", "UNIT=kubelet.service", "_PID=1", "+", "SYSLOG_IDENTIFIER=kubelet"}
	if *ident {
		terms = []string{"SYSLOG_IDENTIFIER=kubelet"}
	}
	for _, t := range terms {
		if t == "+" {
			err = j.AddDisjunction()
		} else {
			err = j.AddMatch(t)
		}
		if err != nil {
			return fmt.Errorf("add match %q: %w", t, err)
		}
	}
	if *since > 0 {
		err = j.SeekRealtimeUsec(*since)
	} else {
		err = j.SeekHead()
	}
	if err != nil {
		return fmt.Errorf("seek: %w", err)
	}
	var entries, bytes int
	for {
		n, err := j.Next()
		if err != nil {
			return fmt.Errorf("next entry: %w", err)
		}
		if n == 0 {
			break
		}
		msg, err := j.GetDataValue("MESSAGE")
		if err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("read MESSAGE: %w", err)
		}
		entries++
		bytes += len(msg)
	}
	fmt.Printf("entries %d bytes %d\n", entries, bytes)
	return nil
}
