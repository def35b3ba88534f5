// Package image builds the kubelet-doctor image twice the way `make image`
// does (scripts/image.sh), from two separate builds of the binary, and
// checks that the two are the same bytes, and what is inside: the binary,
// every shared library it and libsystemd need, the labels, a non-root user.
// The runc pod test (test/e2e/pod) then runs it.
package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var repo = filepath.Join("..", "..", "..")

// version is the tag both builds use: the digest must not depend on the
// checkout's git describe.
const version = "repro-test"

// TestImage builds twice, compares, and then looks inside the first build.
func TestImage(t *testing.T) {
	if os.Getenv("KD_BIN") == "" {
		t.Skip("KD_BIN is unset: the image suite runs from `make test`, which builds the binary")
	}
	dirs := [2]string{t.TempDir(), t.TempDir()}
	var digests [2]string
	for i, dir := range dirs {
		bin := buildBinary(t, filepath.Join(dir, "kubelet-doctor"))
		digests[i] = buildImage(t, bin, filepath.Join(dir, "out"))
	}
	t.Logf("image digests: %s, %s", digests[0], digests[1])
	t.Run("two builds give the same bytes", func(t *testing.T) {
		if digests[0] != digests[1] {
			t.Fatalf("two builds of the same source gave %s and %s", digests[0], digests[1])
		}
		for _, f := range []string{"kubelet-doctor.tar", "oci/index.json", "oci/oci-layout"} {
			a := readFile(t, filepath.Join(dirs[0], "out", f))
			b := readFile(t, filepath.Join(dirs[1], "out", f))
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs between the two builds", f)
			}
		}
	})
	bin := filepath.Join(dirs[0], "kubelet-doctor")
	img := readLayout(t, filepath.Join(dirs[0], "out", "oci"), digests[0])

	t.Run("config runs the binary as a non-root user at a fixed time", func(t *testing.T) {
		c := img.config
		if got := strings.Join(c.Config.Entrypoint, " "); got != "/usr/local/bin/kubelet-doctor" {
			t.Errorf("entrypoint %q", got)
		}
		if c.Config.User == "" || strings.HasPrefix(c.Config.User, "0") || strings.HasPrefix(c.Config.User, "root") {
			t.Errorf("user %q: the init container runs as non-root", c.Config.User)
		}
		if !c.Created.Equal(time.Unix(0, 0)) {
			t.Errorf("created %v, want the epoch (SOURCE_DATE_EPOCH unset)", c.Created)
		}
		if c.OS != "linux" || c.Architecture == "" {
			t.Errorf("platform %s/%s", c.OS, c.Architecture)
		}
		if img.layers != 1 {
			t.Errorf("%d layers, want 1", img.layers)
		}
	})
	t.Run("labels name the source and every Debian package version", func(t *testing.T) {
		l := img.config.Config.Labels
		for k, want := range map[string]string{
			"org.opencontainers.image.title":   "kubelet-doctor",
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.created": "1970-01-01T00:00:00Z",
		} {
			if l[k] != want {
				t.Errorf("label %s=%q, want %q", k, l[k], want)
			}
		}
		for _, deb := range debs(t) {
			name, ver := debField(t, deb, "Package"), debField(t, deb, "Version")
			if got := l["io.github.kubelet-doctor.deb."+name]; got != ver {
				t.Errorf("label for %s is %q, want %q (%s)", name, got, ver, deb)
			}
		}
	})
	t.Run("layer holds the binary, dated at the epoch, owned by root", func(t *testing.T) {
		f, ok := img.files["usr/local/bin/kubelet-doctor"]
		if !ok || !bytes.Equal(f.data, readFile(t, bin)) || f.mode&0o111 == 0 {
			t.Fatalf("usr/local/bin/kubelet-doctor missing, different from the build or not executable")
		}
		for n, f := range img.files {
			if !f.mtime.Equal(time.Unix(0, 0)) || f.uid != 0 || f.gid != 0 {
				t.Errorf("%s: mtime %v uid %d gid %d", n, f.mtime, f.uid, f.gid)
			}
		}
	})
	t.Run("every library the binary needs and libsystemd's are inside", func(t *testing.T) {
		// libsystemd.so.0 is not in the binary's DT_NEEDED: sdjournal dlopens it.
		libsystemd := img.lookup("libsystemd.so.0")
		if libsystemd == "" {
			t.Fatal("libsystemd.so.0 is in no library directory of the image")
		}
		for _, root := range []string{"usr/local/bin/kubelet-doctor", libsystemd} {
			for _, missing := range img.unresolved(t, root) {
				t.Errorf("%s needs %s, which the image does not have", root, missing)
			}
		}
	})
}

// buildBinary builds kubelet-doctor as the Makefile does, into out.
func buildBinary(t *testing.T, out string) string {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version="+version, "-o", out, "./cmd/kubelet-doctor")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// buildImage runs `make image`'s script and returns the digest it printed.
func buildImage(t *testing.T, bin, out string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(repo, "scripts", "image.sh"), bin, version, out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, stderr.String())
	}
	digest := strings.TrimSpace(string(b))
	if !strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64 {
		t.Fatalf("scripts/image.sh printed %q, not a digest", b)
	}
	if f := strings.TrimSpace(string(readFile(t, filepath.Join(out, "digest")))); f != digest {
		t.Fatalf("%s/digest says %s, the script printed %s", out, f, digest)
	}
	return digest
}

func debs(t *testing.T) []string {
	t.Helper()
	b, err := exec.Command(filepath.Join(repo, "scripts", "debs.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/debs.sh: %v", err)
	}
	return strings.Fields(string(b))
}

func debField(t *testing.T, deb, field string) string {
	t.Helper()
	b, err := exec.Command("dpkg-deb", "-f", deb, field).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -f %s %s: %v", deb, field, err)
	}
	return strings.TrimSpace(string(b))
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ociImage is what the test reads back from the layout, with nothing but
// the standard library: the OCI format itself is what is checked.
type ociImage struct {
	config struct {
		Architecture string    `json:"architecture"`
		OS           string    `json:"os"`
		Created      time.Time `json:"created"`
		Config       struct {
			Entrypoint []string          `json:"Entrypoint"`
			User       string            `json:"User"`
			Labels     map[string]string `json:"Labels"`
		} `json:"config"`
	}
	layers int
	files  map[string]layerFile
}

type layerFile struct {
	mode     int64
	link     string
	data     []byte
	mtime    time.Time
	uid, gid int
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
}

// readLayout reads the image digest from the layout at dir, checking every
// blob it reads against its digest.
func readLayout(t *testing.T, dir, digest string) ociImage {
	t.Helper()
	var index struct{ Manifests []descriptor }
	mustJSON(t, readFile(t, filepath.Join(dir, "index.json")), &index)
	if len(index.Manifests) != 1 || index.Manifests[0].Digest != digest {
		t.Fatalf("index.json lists %+v, want the one manifest %s", index.Manifests, digest)
	}
	var m struct {
		Config descriptor
		Layers []descriptor
	}
	mustJSON(t, blob(t, dir, digest), &m)
	var img ociImage
	mustJSON(t, blob(t, dir, m.Config.Digest), &img.config)
	img.layers = len(m.Layers)
	img.files = map[string]layerFile{}
	for _, l := range m.Layers {
		if l.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Fatalf("layer media type %q", l.MediaType)
		}
		readLayer(t, blob(t, dir, l.Digest), img.files)
	}
	return img
}

func blob(t *testing.T, dir, digest string) []byte {
	t.Helper()
	hexDigest, ok := strings.CutPrefix(digest, "sha256:")
	if !ok {
		t.Fatalf("digest %q is not sha256", digest)
	}
	b := readFile(t, filepath.Join(dir, "blobs", "sha256", hexDigest))
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hexDigest {
		t.Fatalf("blob %s has digest sha256:%x", digest, sum)
	}
	return b
}

func readLayer(t *testing.T, gz []byte, into map[string]layerFile) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
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
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		into[strings.TrimSuffix(h.Name, "/")] = layerFile{mode: h.Mode, link: h.Linkname, data: data, mtime: h.ModTime, uid: h.Uid, gid: h.Gid}
	}
}

// libDirs is where glibc's loader looks without an ld.so.cache (Debian's
// multiarch default path).
var libDirs = []string{"lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib", "usr/lib"}

// resolve follows symlinks inside the image; "" when p is not there.
func (img ociImage) resolve(p string) string {
	for range 40 {
		f, ok := img.files[p]
		if !ok {
			return ""
		}
		if f.link == "" {
			return p
		}
		if strings.HasPrefix(f.link, "/") {
			p = strings.TrimPrefix(f.link, "/")
		} else {
			p = path.Join(path.Dir(p), f.link)
		}
	}
	return ""
}

// lookup finds a library by soname as the loader does.
func (img ociImage) lookup(lib string) string {
	for _, d := range libDirs {
		if found := img.resolve(path.Join(d, lib)); found != "" {
			return found
		}
	}
	return ""
}

// unresolved walks the DT_NEEDED closure of file p and returns the
// libraries that no library directory of the image provides.
func (img ociImage) unresolved(t *testing.T, p string) []string {
	t.Helper()
	var missing []string
	seen := map[string]bool{}
	queue := []string{p}
	for len(queue) > 0 {
		cur := img.resolve(queue[0])
		queue = queue[1:]
		if cur == "" {
			t.Fatalf("%s is not in the image", p)
		}
		if seen[cur] {
			continue
		}
		seen[cur] = true
		f, err := elf.NewFile(bytes.NewReader(img.files[cur].data))
		if err != nil {
			t.Fatalf("%s: %v", cur, err)
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			t.Fatalf("%s: %v", cur, err)
		}
		if interp := f.Section(".interp"); interp != nil {
			b, _ := interp.Data()
			if img.resolve(strings.TrimPrefix(strings.TrimRight(string(b), "\x00"), "/")) == "" {
				missing = append(missing, "its interpreter "+string(b))
			}
		}
		for _, lib := range needed {
			found := img.lookup(lib)
			if found == "" {
				missing = append(missing, fmt.Sprintf("%s (needed by %s)", lib, cur))
				continue
			}
			queue = append(queue, found)
		}
	}
	return missing
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}
