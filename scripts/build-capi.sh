#!/usr/bin/env bash
# Builds the Cluster API core manager (sigs.k8s.io/cluster-api/core, the controllers of
# Cluster, Machine, MachineSet and MachineHealthCheck) at the version test/tools/capi pins
# into the cache, only when it is missing, and prints the manager's path on stdout
# (progress on stderr), so callers can do KD_CAPI=$(scripts/build-capi.sh).
# Its CRDs and webhook registrations come from the same module: $(dirname "$KD_CAPI")/crd
# holds core/config/crd/bases, $(dirname "$KD_CAPI")/webhook/manifests.yaml core/config/webhook's.
# The cache key is the version plus a hash of the tools module, like build-kapi.sh.
set -euo pipefail

CAPI_VERSION=v1.14.2

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod="$repo/test/tools/capi"
say() { echo "build-capi: $*" >&2; }

pinned=$(awk '$1 == "sigs.k8s.io/cluster-api" && $2 ~ /^v/ { print $2 }' "$mod/go.mod" | head -n1)
if [ "$pinned" != "$CAPI_VERSION" ]; then
  say "test/tools/capi/go.mod pins cluster-api ${pinned:-<none>}, this script builds $CAPI_VERSION: update both together"
  exit 1
fi
hash=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-12)
dir="${KD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-doctor}/capi-$CAPI_VERSION-$hash"
bin="$dir/capi-manager"

if [ -x "$bin" ] && [ -d "$dir/crd" ] && [ -f "$dir/webhook/manifests.yaml" ]; then
  say "cached $bin"
  echo "$bin"
  exit 0
fi
mkdir -p "$dir"
exec 9>"$dir/.lock"
if ! flock -n 9; then
  say "another build of $bin is running; waiting for it"
  flock 9
fi
if [ -x "$bin" ] && [ -d "$dir/crd" ] && [ -f "$dir/webhook/manifests.yaml" ]; then
  echo "$bin"
  exit 0
fi

export GOWORK=off
say "building sigs.k8s.io/cluster-api/core $CAPI_VERSION into $bin (a cold build takes minutes)"
start=$(date +%s)
tmp="$dir/capi-manager.tmp.$$"
trap 'rm -rf "$tmp" "$dir/crd.tmp"' EXIT
(cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp" sigs.k8s.io/cluster-api/core)
src=$(cd "$mod" && go list -m -f '{{.Dir}}' sigs.k8s.io/cluster-api)
rm -rf "$dir/crd.tmp" && mkdir -p "$dir/crd.tmp"
cp "$src"/core/config/crd/bases/*.yaml "$dir/crd.tmp/"
mkdir -p "$dir/webhook"
cp "$src"/core/config/webhook/manifests.yaml "$dir/webhook/manifests.yaml"
chmod -R u+w "$dir/crd.tmp" "$dir/webhook"
rm -rf "$dir/crd" && mv "$dir/crd.tmp" "$dir/crd"
mv "$tmp" "$bin"
trap - EXIT
say "built $bin in $(( $(date +%s) - start ))s"
echo "$bin"
