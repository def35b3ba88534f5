package runbooks

import (
	"strings"
	"testing"
)

// hostDirs are the top-level directories whose paths a documented command
// reads or writes on the node.
var hostDirs = []string{"/etc/", "/var/", "/run/"}

// rooted moves the host paths of a shell command line under root, only
// where the shell treats them as words of a command (unquoted, or inside a
// $(...) command substitution, also within double quotes), never inside
// quoted text: `sed -i 's|a|resolvConf: /etc/x|' /var/lib/kubelet/config.yaml`
// edits the file under root but writes the node's own path into it.
func rooted(line, root string) string {
	var out strings.Builder
	last := 0
	words(line, func(i int) {
		if hostPath(line[i:]) {
			out.WriteString(line[last:i])
			out.WriteString(root)
			last = i
		}
	})
	out.WriteString(line[last:])
	return out.String()
}

// escapes returns the absolute paths a rooted line would still touch
// outside root: a guard against a quoting case rooted does not know, since
// the tests run the lines as root on the real machine.
func escapes(rootedLine, root string) []string {
	var out []string
	words(rootedLine, func(i int) {
		w := rootedLine[i:]
		if end := strings.IndexAny(w, " \t;&|)<>\"'"); end >= 0 {
			w = w[:end]
		}
		if strings.HasPrefix(w, "/") && !strings.HasPrefix(w, root+"/") && w != "/dev/null" {
			out = append(out, w)
		}
	})
	return out
}

// words calls at with the index of every word start in command context.
func words(line string, at func(i int)) {
	// ctx is the stack of quoting contexts: 'c' command words, '"' double
	// quotes, '\'' single quotes.
	ctx := []byte{'c'}
	for i := 0; i < len(line); i++ {
		top, ch := ctx[len(ctx)-1], line[i]
		switch {
		case top == '\'':
			if ch == '\'' {
				ctx = ctx[:len(ctx)-1]
			}
		case ch == '\\':
			i++ // the escaped character is literal
		case top == '"' && ch == '"':
			ctx = ctx[:len(ctx)-1]
		case ch == '$' && i+1 < len(line) && line[i+1] == '(':
			i++
			ctx = append(ctx, 'c')
		case top == 'c' && ch == ')' && len(ctx) > 1:
			ctx = ctx[:len(ctx)-1]
		case top == 'c' && ch == '\'':
			ctx = append(ctx, '\'')
		case top == 'c' && ch == '"':
			ctx = append(ctx, '"')
		case top == 'c' && ch == '/' && wordStart(line, i):
			at(i)
		}
	}
}

// wordStart reports whether a word may start at i: at the start, or after
// a blank, a redirection or an opening parenthesis.
func wordStart(line string, i int) bool {
	if i == 0 {
		return true
	}
	return strings.ContainsRune(" \t<>(=", rune(line[i-1]))
}

func hostPath(s string) bool {
	for _, d := range hostDirs {
		if strings.HasPrefix(s, d) {
			return true
		}
	}
	return false
}

func TestRootedMovesOnlyTheCommandsPaths(t *testing.T) {
	for _, tc := range []struct{ name, line, want string }{
		{"operands and redirections",
			`awk '!/^nameserver/ || ++n <= 3' /etc/resolv.conf > /etc/kubernetes/resolv.conf`,
			`awk '!/^nameserver/ || ++n <= 3' /R/etc/resolv.conf > /R/etc/kubernetes/resolv.conf`},
		{"single-quoted text stays the node's",
			`sed -i 's|^resolvConf: .*|resolvConf: /etc/kubernetes/resolv.conf|' /var/lib/kubelet/config.yaml`,
			`sed -i 's|^resolvConf: .*|resolvConf: /etc/kubernetes/resolv.conf|' /R/var/lib/kubelet/config.yaml`},
		{"a command substitution inside double quotes is a command",
			`sed -i "s|data: .*|data: $(base64 -w0 /etc/kubernetes/pki/ca.crt)|" /etc/kubernetes/kubelet.conf`,
			`sed -i "s|data: .*|data: $(base64 -w0 /R/etc/kubernetes/pki/ca.crt)|" /R/etc/kubernetes/kubelet.conf`},
		{"double-quoted text stays the node's",
			`echo "see /etc/x" /etc/y`, `echo "see /etc/x" /R/etc/y`},
		{"other paths and words untouched",
			`install -m 0644 config.yaml /usr/local/x etc/var`, `install -m 0644 config.yaml /usr/local/x etc/var`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rooted(tc.line, "/R"); got != tc.want {
				t.Errorf("rooted(%q)\n got %q\nwant %q", tc.line, got, tc.want)
			}
		})
	}
}

func TestEscapesNamesPathsLeftOutsideTheRoot(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       []string
	}{
		{"all rooted", rooted(`mv /etc/a /var/b/* /run/c/ 2>/dev/null`, "/R"), nil},
		{"quoted text is not a path", rooted(`sed -i 's|x|/etc/y|' /etc/z`, "/R"), nil},
		{"a path rooted does not move", rooted(`cp /etc/a /usr/local/b`, "/R"), []string{"/usr/local/b"}},
		{"inside a substitution", rooted(`echo "$(cat /opt/x)"`, "/R"), []string{"/opt/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := escapes(tc.line, "/R")
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("escapes(%q) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}
