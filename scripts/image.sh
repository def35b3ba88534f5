#!/usr/bin/env bash
# Builds the kubelet-doctor image without a container engine (test/tools/image, on
# go-containerregistry): scripts/image.sh BINARY VERSION OUTDIR writes OUTDIR/oci (an OCI
# layout), OUTDIR/kubelet-doctor.tar (a docker-style tarball) and OUTDIR/digest, and
# prints the digest. Same binary, same Debian packages, same VERSION, revision and
# SOURCE_DATE_EPOCH (default 0): same digest.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: scripts/image.sh BINARY VERSION OUTDIR" >&2
  exit 2
fi
bin=$1 version=$2 out=$3
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

mkdir -p "$out"
tool="$out/.image-tool"
# The Go build cache makes this a link step after the first build (about 30s cold).
GOWORK=off go build -C "$repo/test/tools/image" -trimpath -o "$tool" .

args=()
while read -r deb; do args+=(-deb "$deb"); done < <("$repo/scripts/debs.sh")
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || true)
"$tool" -bin "$bin" -version "$version" -revision "$revision" -out "$out" "${args[@]}"
