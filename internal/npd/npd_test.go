package npd

import "testing"

func TestFitKeepsOneShortLine(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short line unchanged", "x509 unknown authority", 80, "x509 unknown authority"},
		{"newlines and runs of spaces fold", " a\n b\t\tc ", 80, "a b c"},
		{"cut at max bytes", "abcdefghij", 4, "abcd"},
		{"no split inside a UTF-8 character", "ab\u00e9cd", 3, "ab"},
		{"zero max keeps everything", "abc", 0, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fit(tt.in, tt.max); got != tt.want {
				t.Errorf("Fit(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestExitCodesAreNPDs(t *testing.T) {
	for _, tt := range []struct {
		s    Status
		want int
	}{{OK, 0}, {NonOK, 1}, {Unknown, 2}} {
		if got := (Result{Status: tt.s}).ExitCode(); got != tt.want {
			t.Errorf("exit code of %v = %d, want %d", tt.s, got, tt.want)
		}
	}
}
