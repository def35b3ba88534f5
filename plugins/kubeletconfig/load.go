// Package kubeletconfig loads the kubelet's configuration the way the
// kubelet does (the --config file, then the drop-in directory merged in
// lexical order) and checks it: strict decoding with the
// k8s.io/kubelet/config/v1beta1 types, the fields whose mistakes stop nodes,
// the container runtime's cgroup driver, reservations against the node's
// size, and drift from the cluster's reference configuration.
package kubeletconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/kubelet-doctor/kubelet-doctor/internal/hostpath"
)

// The only apiVersion and kind a kubelet 1.36 reads from its config file.
const (
	APIVersion = "kubelet.config.k8s.io/v1beta1"
	Kind       = "KubeletConfiguration"
)

// maxFile bounds what is read of one config file: a kubelet config is a few
// KiB, and a bigger file is not one.
const maxFile = 1 << 20

// Files names what the kubelet was told to read.
type Files struct {
	Config    string // --config; empty: the kubelet runs on built-in defaults
	ConfigDir string // --config-dir; empty: no drop-ins are read
	// From says how Config was found ("flag", "cmdline", "kubeadm-flags.env",
	// "default"...). Known is true when it comes from what the kubelet was
	// actually told (its command line or unit), so an empty Config means
	// "no --config" rather than "not found".
	From  string
	Known bool
	// Found is false when nothing under the root says a kubelet is there
	// (kubeletfiles.Files.Found): node-state checks then have nothing to
	// judge and leave the condition to the journal.
	Found bool
	// Flags are the kubelet's command-line flags: the few that set config
	// fields override the files, as they do in the kubelet.
	Flags map[string]string
}

// Loaded is a kubelet configuration as the kubelet would see it.
type Loaded struct {
	Files   Files
	DropIns []string // drop-in files merged, in order
	Skipped []string // files in the drop-in dir without the .conf suffix
	// Raw is the merged JSON object: only what the files set.
	Raw map[string]any
	// Config is Raw decoded leniently, as a 1.36 kubelet does with v1beta1,
	// into the fields the checks read.
	Config Config
	// Strict lists what strict decoding refused (unknown or duplicate
	// fields), per file: the kubelet logs these once and ignores the fields.
	Strict []Strict
}

// Strict is one complaint of strict decoding about one file.
type Strict struct {
	Path string
	// Field is the unknown field's path, "" for other complaints.
	Field string
	Msg   string
}

// DecodeError is a config the kubelet would refuse to start with.
type DecodeError struct {
	Path string
	Msg  string // short, first in the message
	Err  error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("kubelet config %q: %s: %v", e.Path, e.Msg, e.Err)
}
func (e *DecodeError) Unwrap() error { return e.Err }

// Load reads files under root. A missing --config file, an unreadable one or
// one the kubelet would refuse is a *DecodeError; other errors mean the
// files could not be looked at.
func Load(root hostpath.Root, files Files) (*Loaded, error) {
	l := &Loaded{Files: files, Raw: map[string]any{}}
	if files.Config != "" {
		doc, strict, err := readDoc(root, files.Config)
		if err != nil {
			return nil, err
		}
		l.Raw, l.Strict = doc, strict
	}
	if files.ConfigDir != "" {
		if err := l.mergeDropIns(root); err != nil {
			return nil, err
		}
	}
	if err := applyFlags(l.Raw, files.Flags); err != nil {
		return nil, &DecodeError{Path: "kubelet flags", Msg: "flag invalid: " + err.Error(), Err: err}
	}
	b, err := json.Marshal(l.Raw)
	if err != nil {
		return nil, fmt.Errorf("marshal merged kubelet config: %w", err)
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, &l.Config); err != nil {
		return nil, &DecodeError{Path: files.Config, Msg: "does not decode: " + firstLine(err.Error()), Err: err}
	}
	if files.Config != "" {
		resolveRelative(&l.Config, path.Dir(files.Config))
	}
	return l, nil
}

// configFlags are the kubelet flags that set a config field this package
// checks, with the field's JSON name and kind.
var configFlags = []struct{ flag, field, kind string }{
	{"cgroup-driver", "cgroupDriver", "string"},
	{"cluster-domain", "clusterDomain", "string"},
	{"cluster-dns", "clusterDNS", "list"},
	{"container-runtime-endpoint", "containerRuntimeEndpoint", "string"},
	{"resolv-conf", "resolvConf", "string"},
	{"pod-manifest-path", "staticPodPath", "string"},
	{"fail-swap-on", "failSwapOn", "bool"},
	{"rotate-certificates", "rotateCertificates", "bool"},
}

// applyFlags puts the flags over the files: the kubelet's precedence.
func applyFlags(raw map[string]any, flags map[string]string) error {
	for _, cf := range configFlags {
		v, ok := flags[cf.flag]
		if !ok {
			continue
		}
		switch cf.kind {
		case "string":
			raw[cf.field] = v
		case "list":
			var l []any
			for _, s := range strings.Split(v, ",") {
				l = append(l, strings.TrimSpace(s))
			}
			raw[cf.field] = l
		case "bool":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("--%s=%q", cf.flag, v)
			}
			raw[cf.field] = b
		}
	}
	return nil
}

// resolveRelative makes the config's relative paths absolute against the
// config file's directory, as the kubelet's file loader does.
func resolveRelative(c *Config, dir string) {
	for _, p := range []*string{&c.StaticPodPath, &c.Authentication.X509.ClientCAFile, &c.TLSCertFile,
		&c.TLSPrivateKeyFile, c.ResolverConfig} {
		if p != nil && *p != "" && !path.IsAbs(*p) {
			*p = path.Join(dir, *p)
		}
	}
}

// mergeDropIns applies every *.conf file under the drop-in directory, in the
// lexical order of filepath.WalkDir, as JSON merge patches (the kubelet's
// mergeKubeletConfigurations).
func (l *Loaded) mergeDropIns(root hostpath.Root) error {
	dir := HostPath(root, l.Files.ConfigDir)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		hostPath := path.Join(l.Files.ConfigDir, rel)
		if filepath.Ext(d.Name()) != ".conf" {
			l.Skipped = append(l.Skipped, hostPath)
			return nil
		}
		doc, strict, err := readDoc(root, hostPath)
		if err != nil {
			return err
		}
		l.DropIns = append(l.DropIns, hostPath)
		l.Strict = append(l.Strict, strict...)
		l.Raw = mergePatch(l.Raw, doc).(map[string]any)
		return nil
	})
	var de *DecodeError
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return &DecodeError{Path: l.Files.ConfigDir, Msg: "config-dir missing", Err: err}
	}
	if err != nil {
		return fmt.Errorf("read kubelet drop-in dir %q: %w", l.Files.ConfigDir, err)
	}
	return nil
}

// readDoc reads one KubeletConfiguration file into its JSON object and the
// strict decoding complaints about it.
func readDoc(root hostpath.Root, path string) (map[string]any, []Strict, error) {
	b, err := readFile(HostPath(root, path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &DecodeError{Path: path, Msg: "config missing", Err: err}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read kubelet config %q: %w", path, err)
	}
	doc, strict, err := Decode(b)
	if err != nil {
		return nil, nil, &DecodeError{Path: path, Msg: err.Error(), Err: err}
	}
	var out []Strict
	for _, m := range strict {
		st := Strict{Path: path, Msg: m}
		if f, ok := strings.CutPrefix(m, "unknown field "); ok {
			st.Field = strings.Trim(f, `"`)
		}
		out = append(out, st)
	}
	return doc, out, nil
}

// HostPath is host path p under root with its symlinks resolved inside the
// root (an absolute link on the host must not lead out of a container's
// --root); a path that cannot be resolved (a loop) is returned unresolved so
// that opening it fails.
func HostPath(root hostpath.Root, p string) string {
	if real, err := root.Resolve(p); err == nil {
		return real
	}
	return root.Path(p)
}

func readFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFile+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxFile {
		return nil, fmt.Errorf("larger than %d bytes", maxFile)
	}
	return buf.Bytes(), nil
}

// Decode parses one kubelet config document (YAML or JSON). The error is a
// document the kubelet refuses (not YAML, not an object, wrong
// apiVersion/kind, a field of the wrong type); strict lists the unknown and
// duplicate fields that the kubelet's strict decoder names before it falls
// back to lenient decoding. Fields are checked against the v1beta1 schema.
func Decode(b []byte) (doc map[string]any, strict []string, err error) {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, nil, fmt.Errorf("not YAML: %s", firstLine(err.Error()))
	}
	if err := json.Unmarshal(j, &doc); err != nil || doc == nil {
		return nil, nil, errors.New("not a mapping: want a KubeletConfiguration object")
	}
	av, _ := doc["apiVersion"].(string)
	kind, _ := doc["kind"].(string)
	if av != APIVersion || kind != Kind {
		return nil, nil, fmt.Errorf("wrong apiVersion/kind: %q %q, want %s %s", av, kind, APIVersion, Kind)
	}
	if _, err := yaml.YAMLToJSONStrict(b); err != nil {
		msg := strings.TrimPrefix(strings.Join(strings.Fields(err.Error()), " "), "error converting YAML to JSON: ")
		strict = append(strict, strings.TrimPrefix(msg, "yaml: unmarshal errors: "))
	}
	if err := checkSchema(doc, "", &strict); err != nil {
		return nil, nil, fmt.Errorf("does not decode: %w", err)
	}
	return doc, strict, nil
}

// mergePatch is RFC 7386 JSON merge patch, as the kubelet applies drop-ins.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
