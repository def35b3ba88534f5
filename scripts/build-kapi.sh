#!/usr/bin/env bash
# Builds kapi (the real kube-apiserver + etcd + kubectl as one multi-call binary, see
# test/tools/kube) into the cache, only when it is missing, and prints its path on stdout.
# Everything else goes to stderr so that callers can do KD_KAPI=$(scripts/build-kapi.sh).
#
# The cold build takes minutes and ~2 GB of RAM (k8s.io/kubernetes/pkg/... dominates), so
# the result is cached outside the tree: ${KD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-doctor}.
# The directory is keyed by the Kubernetes version and by a hash of the tools module
# (go.mod, go.sum, main.go): a changed module gets a fresh directory instead of a stale binary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mod="$here/../test/tools/kube"
mod=$(cd "$mod" && pwd)

# The version is read from the module so that bumping go.mod is the only edit needed.
version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3} $1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2}' "$mod/go.mod" | head -n1)
if [ -z "$version" ]; then
  echo "build-kapi: cannot find the k8s.io/kubernetes version in $mod/go.mod" >&2
  exit 1
fi
minor=${version#v1.}
minor=${minor%%.*}

hash=$(cat "$mod/go.mod" "$mod/go.sum" "$mod/main.go" | sha256sum | cut -c1-12)
cache="${KD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-doctor}"
dir="$cache/kapi-$version-$hash"
bin="$dir/kapi"

if [ -x "$bin" ]; then
  echo "build-kapi: cached $bin" >&2
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
# Two concurrent callers (make -j, parallel CI steps) must not both spend minutes and
# 2 GB each on the same build: the second waits for the first and then finds the binary.
exec 9>"$dir/.lock"
if ! flock -n 9; then
  echo "build-kapi: another build of $bin is running; waiting for it" >&2
  flock 9
fi
if [ -x "$bin" ]; then
  echo "build-kapi: cached $bin (built by a concurrent run)" >&2
  echo "$bin"
  exit 0
fi

echo "build-kapi: building kube-apiserver+etcd+kubectl $version from $mod into $bin" >&2
echo "build-kapi: a cold build takes several minutes and ~2 GB RAM; later runs reuse the cache" >&2
start=$(date +%s)
# The -X flags only make --version / kubectl version print the real version instead of
# v0.0.0-master; -s -w drop ~100 MB of debug info nobody needs from a test tool.
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$version"
# Build to a temporary name and rename: an interrupted build must never look cached.
tmp="$dir/kapi.tmp.$$"
# A go.work above the repo must not pull the tools module into another build list.
export GOWORK=off
trap 'rm -f "$tmp"' EXIT
(cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp" .)
mv "$tmp" "$bin"
trap - EXIT
echo "build-kapi: built $bin in $(( $(date +%s) - start ))s ($(du -h "$bin" | cut -f1))" >&2
echo "$bin"
