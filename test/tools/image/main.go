// Command image builds the kubelet-doctor container image without a
// container engine: an empty base, one layer holding the binary and the
// glibc shared libraries it needs (taken from Debian's .deb packages, whose
// versions become labels), fixed timestamps, so two builds of the same
// inputs give the same digest.
//
// It writes, under -out:
//
//	oci/                    an OCI image layout (skopeo copy oci:...; crane push oci/)
//	kubelet-doctor.tar      a docker-style tarball (crane push, skopeo copy docker-archive:...)
//	digest                  the manifest digest, sha256:...
//
// and prints the digest on stdout.
//
//	image -bin bin/kubelet-doctor -version v1 -deb libc6_2.36-9+deb12u14_amd64.deb ... -out bin/image
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// binPath is where the binary lives in the image: the path the DaemonSet's
// init container runs.
const binPath = "usr/local/bin/kubelet-doctor"

// nonRoot is the image's default user: the init container only copies the
// binary into an emptyDir, which needs no privilege.
const nonRoot = "65532:65532"

// labelPrefix namespaces the labels that are not OCI's own.
const labelPrefix = "io.github.kubelet-doctor."

type debList []string

func (d *debList) String() string     { return strings.Join(*d, ",") }
func (d *debList) Set(v string) error { *d = append(*d, v); return nil }

func main() {
	var (
		o    options
		debs debList
	)
	flag.StringVar(&o.bin, "bin", "", "the kubelet-doctor binary to ship (required)")
	flag.Var(&debs, "deb", "a Debian package whose shared libraries go into the image (repeatable)")
	flag.StringVar(&o.version, "version", "dev", "image version: the tag and org.opencontainers.image.version")
	flag.StringVar(&o.revision, "revision", "", "source revision (git commit) for org.opencontainers.image.revision")
	flag.StringVar(&o.out, "out", "", "output directory (required)")
	flag.Int64Var(&o.epoch, "epoch", epochFromEnv(), "timestamp of every file and of the image, seconds since 1970 (default $SOURCE_DATE_EPOCH or 0)")
	flag.Parse()
	o.debs = debs
	if o.bin == "" || o.out == "" || len(o.debs) == 0 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: image -bin BINARY -deb PKG.deb [-deb ...] -out DIR [-version V] [-revision R] [-epoch S]")
		os.Exit(2)
	}
	digest, err := build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(digest)
}

// epochFromEnv honours SOURCE_DATE_EPOCH (reproducible-builds.org), else 0.
func epochFromEnv() int64 {
	var s int64
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		if _, err := fmt.Sscan(v, &s); err != nil {
			fmt.Fprintf(os.Stderr, "image: SOURCE_DATE_EPOCH=%q is not a number of seconds\n", v)
			os.Exit(2)
		}
	}
	return s
}

type options struct {
	bin, version, revision, out string
	debs                        []string
	epoch                       int64
}

func (o options) time() time.Time { return time.Unix(o.epoch, 0).UTC() }
