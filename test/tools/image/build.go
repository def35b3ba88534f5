package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// build makes the image from o and writes it in both forms; it returns the
// manifest digest.
func build(o options) (string, error) {
	tag, err := name.NewTag("kubelet-doctor:" + o.version)
	if err != nil {
		return "", fmt.Errorf("version %q does not make an image tag: %w", o.version, err)
	}
	bin, err := os.ReadFile(o.bin)
	if err != nil {
		return "", fmt.Errorf("read the binary: %w", err)
	}
	arch, err := archOf(o.bin)
	if err != nil {
		return "", err
	}
	files := []file{{name: binPath, mode: 0o755, data: bin}}
	var pkgs []pkg
	for _, d := range o.debs {
		p, err := readDeb(d)
		if err != nil {
			return "", err
		}
		pkgs = append(pkgs, p)
		files = append(files, p.files...)
	}
	layerTar, err := tarOf(files, o.time())
	if err != nil {
		return "", err
	}
	img, err := image(layerTar, arch, pkgs, o)
	if err != nil {
		return "", err
	}
	digest, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	if err := write(img, tag, o); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(o.out, "digest"), []byte(digest.String()+"\n"), 0o644); err != nil {
		return "", err
	}
	return digest.String(), nil
}

// archOf is the OCI architecture of an ELF binary: the image must say what
// the binary runs on, whatever machine built it.
func archOf(p string) (string, error) {
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("read %s as ELF: %w", p, err)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("%s: ELF machine %v has no OCI architecture here", p, f.Machine)
}

// tarOf is the layer: every file and its parent directories, sorted, owned
// by root, all dated at. Two packages may ship the same path only with the
// same content.
func tarOf(files []file, mtime time.Time) ([]byte, error) {
	byName := map[string]file{}
	dirs := map[string]bool{}
	for _, f := range files {
		if prev, ok := byName[f.name]; ok && (prev.link != f.link || !bytes.Equal(prev.data, f.data)) {
			return nil, fmt.Errorf("two packages ship %s with different contents", f.name)
		}
		byName[f.name] = f
		for d := path.Dir(f.name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var names []string
	for n := range byName {
		names = append(names, n)
	}
	for d := range dirs {
		if _, isFile := byName[d]; isFile {
			return nil, fmt.Errorf("%s is both a file and a directory", d)
		}
		names = append(names, d)
	}
	// A parent is a prefix of its children, so it sorts before them.
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, ModTime: mtime, Uname: "root", Gname: "root"}
		f, isFile := byName[n]
		switch {
		case !isFile:
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, n+"/", 0o755
		case f.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.link, 0o777
		default:
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, f.mode, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", n, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", n, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// image is the OCI image: empty base, the one layer, a config that runs the
// binary as a non-root user, labels naming the source and every Debian
// package version inside.
func image(layerTar []byte, arch string, pkgs []pkg, o options) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	created := v1.Time{Time: o.time()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: created, CreatedBy: "kubelet-doctor test/tools/image", Comment: "kubelet-doctor and the shared libraries of " + pkgNames(pkgs)},
	})
	if err != nil {
		return nil, fmt.Errorf("append the layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = arch, "linux", created
	cf.Config.Entrypoint = []string{"/" + binPath}
	cf.Config.User = nonRoot
	cf.Config.Env = []string{"PATH=/usr/local/bin"}
	cf.Config.Labels = labels(pkgs, o)
	return mutate.ConfigFile(img, cf)
}

func labels(pkgs []pkg, o options) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "kubelet-doctor",
		"org.opencontainers.image.description": "node-problem-detector plugins naming why a kubelet cannot join or stay Ready",
		"org.opencontainers.image.version":     o.version,
		"org.opencontainers.image.created":     o.time().Format("2006-01-02T15:04:05Z"),
		"org.opencontainers.image.base.name":   "scratch",
	}
	if o.revision != "" {
		l["org.opencontainers.image.revision"] = o.revision
	}
	for _, p := range pkgs {
		l[labelPrefix+"deb."+p.name] = p.version
	}
	return l
}

func pkgNames(pkgs []pkg) string {
	var n []string
	for _, p := range pkgs {
		n = append(n, p.name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// write replaces o.out's oci/ and kubelet-doctor.tar with img.
func write(img v1.Image, tag name.Tag, o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	dir := filepath.Join(o.out, "oci")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	// ref.name is the tag skopeo's oci:DIR:TAG and crane find it by.
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": o.version})); err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	tarPath := filepath.Join(o.out, "kubelet-doctor.tar")
	if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
		return fmt.Errorf("tarball %s: %w", tarPath, err)
	}
	return nil
}
