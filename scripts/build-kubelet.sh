#!/usr/bin/env bash
# Builds the real kubelet of another Kubernetes version (e.g. v1.34.4) for
# `make e2e-versions`, into the cache, only when it is missing, and prints its path on
# stdout (everything else goes to stderr): KD_KUBELET=$(scripts/build-kubelet.sh v1.34.4).
#
# The newest kubelet is in the multi-call kapi binary (scripts/build-kapi.sh); an older
# one needs its own module: k8s.io/kubernetes at that version with its staging modules
# replaced by their published v0.MINOR.PATCH versions (what the repository's go.mod points
# at ./staging), and cmd/kubelet's main. A cold build takes minutes and ~2 GB RAM.
set -euo pipefail

version=${1:?usage: build-kubelet.sh vMAJOR.MINOR.PATCH}
if ! [[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "build-kubelet: $version is not a Kubernetes release version (v1.MINOR.PATCH)" >&2
  exit 1
fi
minor=${BASH_REMATCH[1]}
patch=${BASH_REMATCH[2]}
cache="${KD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-doctor}"
dir="$cache/kubelet-$version"
bin="$dir/kubelet"
if [ -x "$bin" ]; then
  echo "build-kubelet: cached $bin" >&2
  echo "$bin"
  exit 0
fi
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

export GOWORK=off GOFLAGS=-mod=mod
src="$dir/src"
rm -rf "$src"
mkdir -p "$src"
cd "$src"
go mod init kubelet-doctor.test/kubelet >/dev/null 2>&1
go mod download -json "k8s.io/kubernetes@$version" >/dev/null
kdir=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
{
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  echo "replace ("
  awk -v v="v0.$minor.$patch" '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " v}' "$kdir/go.mod"
  echo ")"
} >>go.mod
cp "$kdir/cmd/kubelet/kubelet.go" main.go
go mod tidy >&2
echo "build-kubelet: building kubelet $version into $bin (cold: minutes)" >&2
start=$(date +%s)
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
tmp="$dir/kubelet.tmp.$$"
trap 'rm -f "$tmp"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp" .
mv "$tmp" "$bin"
trap - EXIT
echo "build-kubelet: built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
