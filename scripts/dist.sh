#!/usr/bin/env bash
# Builds the host-install release tarball in node-problem-detector's own shape:
#   scripts/dist.sh KUBELET_DOCTOR NPD VERSION OUTDIR
# writes OUTDIR/kubelet-doctor-VERSION-linux_ARCH.tar.gz (bin/, config/ rendered for
# /opt/kubelet-doctor, config/systemd/kubelet-doctor-npd.service, README.md) and its
# .sha512 (sha512sum's format, as NPD publishes), and prints the tarball's path.
# Same inputs and SOURCE_DATE_EPOCH (default 0): same bytes.
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: scripts/dist.sh KUBELET_DOCTOR NPD VERSION OUTDIR" >&2
  exit 2
fi
bin=$1 npd=$2 version=$3 out=$4
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) echo "dist: unknown machine $(uname -m)" >&2; exit 1 ;;
esac
name="kubelet-doctor-$version-linux_$arch"

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage="$out/$name.stage"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/config/kubernetes"
install -m 0755 "$bin" "$stage/bin/kubelet-doctor"
install -m 0755 "$npd" "$stage/bin/node-problem-detector"
install -m 0644 "$repo/config/kubernetes/rbac.yaml" "$stage/config/kubernetes/rbac.yaml"
(cd "$repo" && go run ./config/dist -prefix /opt/kubelet-doctor -out "$stage")

# Sorted, root-owned, one fixed time, gzip without a name or time: reproducible.
tar --sort=name --mtime="@${SOURCE_DATE_EPOCH:-0}" --owner=0 --group=0 --numeric-owner \
  -C "$stage" -cf - README.md bin config | gzip -n > "$out/$name.tar.gz"
(cd "$out" && sha512sum "$name.tar.gz" > "$name.tar.gz.sha512")
rm -rf "$stage"
echo "$out/$name.tar.gz"
