package journal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

func TestDirs(t *testing.T) {
	tests := []struct {
		name     string
		exist    []string // host dirs created under the root
		override []string
		want     []string // host paths, resolved under the root
	}{
		{"neither exists: both, so that Open's error names them", nil, nil, []string{hostpath.PersistentJournal, hostpath.VolatileJournal}},
		{"only volatile", []string{hostpath.VolatileJournal}, nil, []string{hostpath.VolatileJournal}},
		{"only persistent", []string{hostpath.PersistentJournal}, nil, []string{hostpath.PersistentJournal}},
		{"both merged", []string{hostpath.PersistentJournal, hostpath.VolatileJournal}, nil, []string{hostpath.PersistentJournal, hostpath.VolatileJournal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := hostpath.Root(t.TempDir())
			for _, d := range tt.exist {
				if err := os.MkdirAll(root.Path(d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			for _, d := range tt.want {
				want = append(want, root.Path(d))
			}
			if got := Dirs(root, tt.override); !reflect.DeepEqual(got, want) {
				t.Fatalf("Dirs = %v, want %v", got, want)
			}
		})
	}
	t.Run("override wins, unchanged", func(t *testing.T) {
		root := hostpath.Root(t.TempDir())
		os.MkdirAll(root.Path(hostpath.PersistentJournal), 0o755)
		over := []string{"/elsewhere/a", "relative/b"}
		if got := Dirs(root, over); !reflect.DeepEqual(got, over) {
			t.Fatalf("Dirs = %v, want %v", got, over)
		}
	})
}

func TestFindFilesFollowsSdJournalNaming(t *testing.T) {
	dir := t.TempDir()
	mid := "0123456789abcdef0123456789abcdef"
	for _, f := range []string{
		"system.journal", "user-1000@x.journal~", "x.log", "journal.tmp",
		mid + "/system@a-b-c.journal", mid + "/notes.txt",
		"foo/system.journal",         // not a machine-id dir: ignored
		"0123456789abcdef/x.journal", // too short for a machine id
	} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	got, err := findFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, mid, "system@a-b-c.journal"),
		filepath.Join(dir, "system.journal"),
		filepath.Join(dir, "user-1000@x.journal~"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("findFiles = %v, want %v", got, want)
	}
}

func TestCursorRealtime(t *testing.T) {
	tests := []struct {
		cursor string
		want   time.Time
	}{
		{"s=a9d3;i=4c4b3e;b=0123;m=14f46a3980;t=64bb72f01a800;x=eef6", time.UnixMicro(0x64bb72f01a800)},
		{"memory;i=3;t=64bb72f01a800", time.UnixMicro(0x64bb72f01a800)},
		{"s=a9d3;i=4c4b3e", time.Time{}},
		{"t=zz", time.Time{}},
		{"garbage", time.Time{}},
	}
	for _, tt := range tests {
		if got := cursorRealtime(tt.cursor); !got.Equal(tt.want) {
			t.Errorf("cursorRealtime(%q) = %v, want %v", tt.cursor, got, tt.want)
		}
	}
}

func TestCheckFileReportsVanishedFileApart(t *testing.T) {
	// Rotation renames system.journal between listing and opening: scan
	// lists again instead of failing, so the error must not be ErrUnreadable.
	info := checkFile(filepath.Join(t.TempDir(), "system.journal"))
	if !errors.Is(info.err, fs.ErrNotExist) || errors.Is(info.err, ErrUnreadable) {
		t.Fatalf("err = %v, want fs.ErrNotExist only", info.err)
	}
}
