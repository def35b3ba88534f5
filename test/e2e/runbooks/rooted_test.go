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
	var b strings.Builder
	// ctx is the stack of quoting contexts: 'c' command words, '"' double
	// quotes, '\'' single quotes.
	ctx := []byte{'c'}
	for i := 0; i < len(line); i++ {
		top := ctx[len(ctx)-1]
		ch := line[i]
		switch {
		case top == '\'':
			if ch == '\'' {
				ctx = ctx[:len(ctx)-1]
			}
		case ch == '\\' && i+1 < len(line):
			b.WriteByte(ch)
			i++
			ch = line[i]
		case top == '"' && ch == '"':
			ctx = ctx[:len(ctx)-1]
		case ch == '$' && i+1 < len(line) && line[i+1] == '(':
			b.WriteString("$(")
			i++
			ctx = append(ctx, 'c')
			continue
		case top == 'c' && ch == ')' && len(ctx) > 1:
			ctx = ctx[:len(ctx)-1]
		case top == 'c' && ch == '\'':
			ctx = append(ctx, '\'')
		case top == 'c' && ch == '"':
			ctx = append(ctx, '"')
		case top == 'c' && wordStart(line, i) && hostPath(line[i:]):
			b.WriteString(root)
		}
		b.WriteByte(ch)
	}
	return b.String()
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
