package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"path"
	"regexp"
	"strings"
)

// pkg is what one .deb contributes: its identity (for the labels) and the
// files kept from it.
type pkg struct {
	name, version string
	files         []file
}

// file is one layer entry; link is set for a symlink.
type file struct {
	name string // relative, no leading "./" or "/"
	mode int64
	link string
	data []byte
}

// sharedLib matches the shared libraries of a package's library directory
// (lib/, usr/lib/, lib64/, and their multiarch x86_64-linux-gnu/), not the
// plugin trees below them (gconv, audit): the binary and libsystemd load
// nothing from those.
var sharedLib = regexp.MustCompile(`^(usr/)?lib(64)?(/[a-z0-9_]+-linux-gnu)?/[^/]+\.so(\.[0-9]+)*$`)

// keep says whether a file of package p goes into the image: its shared
// libraries and its copyright file (the licences of what is shipped, LGPL
// glibc included, travel with it).
func keep(p, name string) bool {
	return sharedLib.MatchString(name) || name == "usr/share/doc/"+p+"/copyright"
}

// readDeb reads a Debian package with dpkg-deb (this tool runs on Debian;
// dpkg-deb knows every compression a .deb may use).
func readDeb(debPath string) (pkg, error) {
	fields, err := exec.Command("dpkg-deb", "--show", "--showformat", "${Package}\t${Version}", debPath).Output()
	if err != nil {
		return pkg{}, fmt.Errorf("read the control fields of %s: %w%s", debPath, err, stderrOf(err))
	}
	nameVersion := strings.SplitN(string(fields), "\t", 2)
	if len(nameVersion) != 2 || nameVersion[0] == "" || nameVersion[1] == "" {
		return pkg{}, fmt.Errorf("%s: dpkg-deb printed %q, not PACKAGE<TAB>VERSION", debPath, fields)
	}
	p := pkg{name: nameVersion[0], version: nameVersion[1]}
	data, err := exec.Command("dpkg-deb", "--fsys-tarfile", debPath).Output()
	if err != nil {
		return pkg{}, fmt.Errorf("extract the files of %s: %w%s", debPath, err, stderrOf(err))
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return pkg{}, fmt.Errorf("read the files of %s: %w", debPath, err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if !keep(p.name, name) {
			continue
		}
		f := file{name: name, mode: h.Mode & 0o7777}
		switch h.Typeflag {
		case tar.TypeSymlink:
			f.link = h.Linkname
		case tar.TypeReg:
			if f.data, err = io.ReadAll(tr); err != nil {
				return pkg{}, fmt.Errorf("read %s from %s: %w", name, debPath, err)
			}
		default:
			continue
		}
		p.files = append(p.files, f)
	}
	if len(p.files) == 0 {
		return pkg{}, fmt.Errorf("%s (%s) has no shared library to ship", debPath, p.name)
	}
	return p, nil
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
