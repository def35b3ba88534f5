package kubeletfiles

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// unitDirs are where systemd looks for kubelet.service and its drop-ins,
// highest precedence first.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// unitCommand reads kubelet.service and its drop-ins as systemd merges them
// and returns the kubelet's arguments from the effective ExecStart=, with
// Environment= and EnvironmentFile= expanded. unit is "" when there is no
// kubelet unit or it has no ExecStart.
func unitCommand(root hostpath.Root) (args []string, env map[string]string, unit string, err error) {
	files, err := unitFiles(root)
	if err != nil || len(files) == 0 {
		return nil, nil, "", err
	}
	env = map[string]string{}
	var exec string
	for _, f := range files {
		b, err := root.ReadFile(f)
		if err != nil {
			return nil, nil, "", fmt.Errorf("read kubelet unit %q: %w", f, err)
		}
		for _, kv := range unitKeys(b) {
			switch kv[0] {
			case "Environment":
				for _, w := range SplitWords(kv[1]) {
					if k, v, ok := strings.Cut(w, "="); ok {
						env[k] = v
					}
				}
			case "EnvironmentFile":
				p := strings.TrimPrefix(kv[1], "-")
				fe, err := readEnvFile(root, p)
				if err != nil && !(errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(kv[1], "-")) {
					return nil, nil, "", err
				}
				for k, v := range fe {
					env[k] = v
				}
			case "ExecStart":
				exec = kv[1] // an empty ExecStart= resets, a later one replaces
			}
		}
	}
	if strings.TrimSpace(exec) == "" {
		return nil, nil, "", nil
	}
	words := SplitWords(expand(strings.TrimLeft(exec, "-@+!:"), env))
	if len(words) == 0 {
		return nil, nil, "", nil
	}
	return words[1:], env, "kubelet.service (" + strings.Join(files, ", ") + ")", nil
}

// unitFiles lists the unit file and then its drop-ins in systemd's order:
// the first unit file found by precedence, drop-ins sorted by name with a
// name in a higher-precedence directory masking the same name below.
func unitFiles(root hostpath.Root) ([]string, error) {
	var files []string
	for _, d := range unitDirs {
		p := path.Join(d, "kubelet.service")
		if _, err := root.Stat(p); err == nil {
			files = append(files, p)
			break
		}
	}
	dropins := map[string]string{}
	for i := len(unitDirs) - 1; i >= 0; i-- {
		d := path.Join(unitDirs[i], "kubelet.service.d")
		real, err := root.Resolve(d)
		if err != nil {
			return nil, err
		}
		ents, err := os.ReadDir(real)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list kubelet drop-ins %q: %w", d, err)
		}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".conf") {
				dropins[e.Name()] = path.Join(d, e.Name())
			}
		}
	}
	names := make([]string, 0, len(dropins))
	for n := range dropins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, dropins[n])
	}
	return files, nil
}

// unitKeys returns the [Service] section's key=value pairs in order, with
// continuation lines joined.
func unitKeys(b []byte) [][2]string {
	var out [][2]string
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), hostpath.MaxFile)
	var cur string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur != "" {
			line, cur = cur+" "+line, ""
		}
		if strings.HasSuffix(line, "\\") {
			cur = strings.TrimSuffix(line, "\\")
			continue
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = strings.Trim(line, "[]")
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && section == "Service" {
			out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return out
}

// readEnvFile reads a KEY=value file (EnvironmentFile=, kubeadm-flags.env,
// /etc/default/kubelet).
func readEnvFile(root hostpath.Root, p string) (map[string]string, error) {
	b, err := root.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read kubelet environment file %q: %w", p, err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export "))
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if w := SplitWords(v); len(w) == 1 && (strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `'`)) {
			v = w[0]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env, nil
}

// expand replaces $VAR and ${VAR} with their values (unknown: empty).
func expand(s string, env map[string]string) string {
	return os.Expand(s, func(k string) string { return env[k] })
}

// SplitWords splits s on blanks, honouring double and single quotes and
// backslash escapes, as systemd and the shell split a command line.
func SplitWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote, esc := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			cur.WriteByte(c)
			esc = false
		case c == '\\' && quote != '\'':
			esc, in = true, true
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, in = c, true
		case quote == 0 && (c == ' ' || c == '\t' || c == '\n'):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// boolFlags are the kubelet's boolean flags that matter here: they take no
// separate value word.
var boolFlags = map[string]bool{"rotate-certificates": true, "rotate-server-certificates": true,
	"fail-swap-on": true, "register-node": true, "anonymous-auth": true, "exit-on-lock-contention": true}

// ParseFlags reads --name=value, --name value and -name forms into a map
// without dashes; a later flag wins as it does for the kubelet.
func ParseFlags(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			continue
		}
		name := strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(name, "="); ok {
			out[k] = v
			continue
		}
		if !boolFlags[name] && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			out[name] = args[i+1]
			i++
			continue
		}
		out[name] = "true"
	}
	return out
}
