package pod

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// imageConfig is the part of an OCI image config a runtime uses here.
type imageConfig struct {
	Config struct {
		Entrypoint []string `json:"Entrypoint"`
		Cmd        []string `json:"Cmd"`
		Env        []string `json:"Env"`
		User       string   `json:"User"`
	} `json:"config"`
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
}

// unpackLayout unpacks the one image of the OCI layout at dir into rootfs,
// as a runtime would, and returns its config.
func unpackLayout(t *testing.T, dir, rootfs string) imageConfig {
	t.Helper()
	var index struct{ Manifests []descriptor }
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("%s lists %d images, want 1", dir, len(index.Manifests))
	}
	var m struct {
		Config descriptor
		Layers []descriptor
	}
	readJSON(t, blobPath(dir, index.Manifests[0].Digest), &m)
	var cfg imageConfig
	readJSON(t, blobPath(dir, m.Config.Digest), &cfg)
	for _, l := range m.Layers {
		untarGz(t, blobPath(dir, l.Digest), rootfs)
	}
	return cfg
}

func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", strings.Replace(digest, ":", string(filepath.Separator), 1))
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// untarGz extracts a layer: directories, regular files and symlinks (all
// the image has), refusing names that climb out of root.
func untarGz(t *testing.T, path, root string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsLocal(h.Name) {
			t.Fatalf("layer entry %q is not inside the root", h.Name)
		}
		p := filepath.Join(root, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, os.FileMode(h.Mode))
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		case tar.TypeReg:
			var out *os.File
			if out, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, os.FileMode(h.Mode)); err == nil {
				_, err = io.Copy(out, tr)
				out.Close()
			}
		default:
			t.Fatalf("layer entry %s has type %c, which the image never holds", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// debRoot is a root made of whole Debian packages, as NPD's Debian-based
// image has them.
func debRoot(t *testing.T, debs []string, rootfs string) {
	t.Helper()
	for _, d := range debs {
		if out, err := exec.Command("dpkg-deb", "-x", d, rootfs).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -x %s: %v: %s", d, err, out)
		}
	}
}

// mount is one bind mount of a volume into a container.
type mount struct {
	source, destination string
	readOnly            bool
}

// bundle is a container to run: an OCI runtime bundle directory.
type bundle struct {
	dir, rootfs string
	args, env   []string
	uid, gid    int64
	caps        []string
	readOnly    bool
	noNewPrivs  bool
	memory      int64
	mounts      []mount
}

// write writes config.json: the OCI runtime spec a CRI runtime would give
// runc for this container (namespaces of a pod, default masked paths,
// the container's user, capabilities and root).
func (b bundle) write(t *testing.T) {
	t.Helper()
	caps := b.caps
	if caps == nil {
		caps = []string{}
	}
	mounts := []map[string]any{
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": []string{"nosuid", "noexec", "nodev"}},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": []string{"nosuid", "noexec", "nodev", "ro"}},
	}
	for _, m := range b.mounts {
		opts := []string{"rbind", "rprivate"}
		if m.readOnly {
			opts = append(opts, "ro")
		}
		mounts = append(mounts, map[string]any{"destination": m.destination, "type": "bind", "source": m.source, "options": opts})
	}
	resources := map[string]any{"devices": []map[string]any{{"allow": false, "access": "rwm"}}}
	if b.memory > 0 {
		resources["memory"] = map[string]any{"limit": b.memory}
	}
	spec := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": false,
			"user":     map[string]any{"uid": b.uid, "gid": b.gid},
			"args":     b.args,
			"env":      b.env,
			"cwd":      "/",
			"capabilities": map[string]any{
				"bounding": caps, "effective": caps, "permitted": caps,
			},
			"noNewPrivileges": b.noNewPrivs,
		},
		"root":     map[string]any{"path": b.rootfs, "readonly": b.readOnly},
		"hostname": "kubelet-doctor",
		"mounts":   mounts,
		"linux": map[string]any{
			"resources": resources,
			"namespaces": []map[string]string{
				{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
			},
			"maskedPaths": []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"},
			"readonlyPaths": []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runtime is runc with a state directory of the test's own.
type runtime struct {
	runc, state string
}

// run runs the bundle to completion and returns its combined output and
// exit error.
func (r runtime) run(t *testing.T, id string, b bundle) (string, error) {
	t.Helper()
	b.write(t)
	out, err := exec.Command(r.runc, "--root", r.state, "run", "--bundle", b.dir, id).CombinedOutput()
	_ = exec.Command(r.runc, "--root", r.state, "delete", "--force", id).Run()
	return string(out), err
}

// start runs the bundle in the background with its output in logPath; the
// returned channel is closed when the container exits. The container is
// killed and deleted when the test ends.
func (r runtime) start(t *testing.T, id string, b bundle, logPath string) <-chan struct{} {
	t.Helper()
	b.write(t)
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(r.runc, "--root", r.state, "run", "--bundle", b.dir, id)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("runc run %s: %v", id, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(done) }()
	t.Cleanup(func() {
		_ = exec.Command(r.runc, "--root", r.state, "kill", id, "KILL").Run()
		<-done
		if out, err := exec.Command(r.runc, "--root", r.state, "delete", "--force", id).CombinedOutput(); err != nil {
			t.Logf("runc delete %s: %v: %s", id, err, out)
		}
	})
	return done
}
