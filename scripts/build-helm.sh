#!/usr/bin/env bash
# Builds helm at the version test/tools/helm pins into the cache, only when it is missing,
# and prints its path: KD_HELM=$(scripts/build-helm.sh). Not part of `make test`: the chart
# it renders (deliveryhero node-problem-detector 2.4.1) is not in this repository, so the
# cluster suite runs `helm template` only when KD_HELM and KD_NPD_CHART are both set.
# A cold build took 19 minutes on a busy 2-core machine.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod="$repo/test/tools/helm"
version=$(awk '$1 == "helm.sh/helm/v3" { print $2 }' "$mod/go.mod")
hash=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-12)
dir="${KD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-doctor}/helm-$version-$hash"
bin="$dir/helm"
if [ -x "$bin" ]; then
  echo "build-helm: cached $bin" >&2
  echo "$bin"
  exit 0
fi
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ ! -x "$bin" ]; then
  echo "build-helm: building helm $version into $bin" >&2
  export GOWORK=off
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp.$$" helm.sh/helm/v3/cmd/helm)
  mv "$bin.tmp.$$" "$bin"
fi
echo "$bin"
