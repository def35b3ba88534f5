package printable

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"printable ASCII unchanged", `E1125 "x509: certificate" err=\"a\"`, `E1125 "x509: certificate" err=\"a\"`},
		{"printable UTF-8 unchanged", "Knoten überlastet: 証明書", "Knoten überlastet: 証明書"},
		{"ESC sequence (colour, OSC title)", "\x1b[31mred\x1b]0;pwned\x07", `\x1b[31mred\x1b]0;pwned\x07`},
		{"NUL and DEL", "a\x00b\x7fc", `a\x00b\x7fc`},
		{"tab, newline, carriage return", "a\tb\nc\rd", `a\tb\nc\rd`},
		{"C1 controls (CSI 0x9b)", "a\u009b31mb\u0085c", `a\u009b31mb\u0085c`},
		{"invalid UTF-8 bytes", "a\xff\xfeb\xc3", `a\xff\xfeb\xc3`},
		{"bidi override and zero-width joiner", "user\u202egnp.exe\u200d", `user\u202egnp.exe\u200d`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"non-ASCII space", "a\u00a0b", `a\u00a0b`},
		{"U+FFFD itself is printable", "a\uFFFDb", "a\uFFFDb"},
		{"astral format char", "a\U000e0001b", `a\U000e0001b`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Fatalf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStringMaxNeverCutsAnEscape(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"abc\x1bdef", 4, "abc"},
		{"abc\x1bdef", 7, `abc\x1b`},
		{"abc\x1bdef", 100, `abc\x1bdef`},
		{"aé", 2, "a"},
		{"aé", 3, "aé"},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		if got := StringMax(tt.in, tt.max); got != tt.want {
			t.Errorf("StringMax(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// BenchmarkStringClean is the common case: a printable kubelet line.
func BenchmarkStringClean(b *testing.B) {
	s := `E1125 10:00:02.113254    1234 kubelet_node_status.go:107] "Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": tls: failed to verify certificate: x509: certificate signed by unknown authority" node="worker-1"`
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		String(s)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31m", "a\xffb", "\u009b\u202e", "日本\x00", "\t\n\r\x7f"} {
		f.Add(s, 80)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		got := String(s)
		if !utf8.ValidString(got) {
			t.Fatalf("String(%q) = %q: invalid UTF-8", s, got)
		}
		for _, r := range got {
			if !unicode.IsPrint(r) {
				t.Fatalf("String(%q) = %q: unprintable %U", s, got, r)
			}
		}
		if again := String(got); again != got {
			t.Fatalf("String is not idempotent: %q then %q", got, again)
		}
		max = max % 200
		if max < 0 {
			max = -max
		}
		if m := StringMax(s, max); len(m) > max || !strings.HasPrefix(got, m) {
			t.Fatalf("StringMax(%q, %d) = %q: too long or not a prefix of %q", s, max, m, got)
		}
	})
}
