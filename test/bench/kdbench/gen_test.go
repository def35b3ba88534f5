package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDateArchivesSetsTheRotationTime: an archive's mtime becomes its last
// entry's time (header tail_entry_realtime); the active file is left alone.
func TestDateArchivesSetsTheRotationTime(t *testing.T) {
	dir := t.TempDir()
	tail := time.Date(2026, 12, 1, 3, 4, 5, 0, time.UTC)
	h := make([]byte, 208)
	binary.LittleEndian.PutUint64(h[192:], uint64(tail.UnixMicro()))
	archive := filepath.Join(dir, "system@0123-0001-0002.journal")
	active := filepath.Join(dir, "system.journal")
	for _, p := range []string{archive, active} {
		if err := os.WriteFile(p, h, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := dateArchives(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(archive); !fi.ModTime().Equal(tail) {
		t.Errorf("archive mtime %s, want %s", fi.ModTime().UTC(), tail)
	}
	if fi, _ := os.Stat(active); fi.ModTime().Equal(tail) {
		t.Error("the active file was dated too")
	}
}
