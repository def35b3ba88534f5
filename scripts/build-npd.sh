#!/usr/bin/env bash
# Builds the real node-problem-detector (and its journald log-counter) at the
# version pinned by test/tools/npd/go.mod into a cache directory keyed by that
# version, only when the binaries are missing, and prints the NPD path on
# stdout (progress goes to stderr), so callers can do
#   KD_NPD=$(scripts/build-npd.sh)
# A cold build takes minutes on 2 cores; a warm run is a few stat calls.
set -euo pipefail

# The version is spelled once here and checked against the tools module, so a
# bump of one without the other fails loudly instead of caching a binary under
# the wrong key.
NPD_VERSION=v1.36.0

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$repo/test/tools/npd"
cache="${KD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-doctor}/npd-$NPD_VERSION"
npd="$cache/node-problem-detector"
logcounter="$cache/log-counter"

say() { echo "build-npd: $*" >&2; }

pinned=$(awk '$1 == "k8s.io/node-problem-detector" { print $2 }' "$tools/go.mod")
if [ "$pinned" != "$NPD_VERSION" ]; then
  say "test/tools/npd/go.mod pins node-problem-detector ${pinned:-<none>}, this script builds $NPD_VERSION: update both together"
  exit 1
fi

if [ -x "$npd" ] && [ -x "$logcounter" ]; then
  say "using cached $cache"
  echo "$npd"
  exit 0
fi

mkdir -p "$cache"
# Two test runs may start at once (parallel packages, a developer plus CI on
# one machine): serialise on a lock so neither sees a half-written binary.
exec 9>"$cache/.lock"
if command -v flock >/dev/null; then
  flock 9
fi

# -trimpath and the version stamp make the binary reproducible and make
# `node-problem-detector --version` say v1.36.0 instead of UNKNOWN.
ldflags="-s -w -X k8s.io/node-problem-detector/pkg/version.version=$NPD_VERSION"
# GOWORK=off: a go.work at the repo root must not pull the tools module into
# the project's build list (NPD keeps its own client-go).
export GOWORK=off

build() { # build OUTPUT PACKAGE [go build flags...]
  local out=$1 pkg=$2
  shift 2
  if [ -x "$out" ]; then
    return 0
  fi
  say "building $pkg@$NPD_VERSION -> $out (a cold build takes a few minutes)"
  local start=$SECONDS
  # Build next to the target and rename, so an interrupted build never
  # leaves a truncated binary that the warm path would trust.
  go build -C "$tools" -trimpath -ldflags "$ldflags" "$@" -o "$out.tmp.$$" "$pkg"
  mv -f "$out.tmp.$$" "$out"
  say "built $(basename "$out") in $((SECONDS - start))s"
}

build "$npd" k8s.io/node-problem-detector/cmd/nodeproblemdetector
# log-counter reads the journal through sdjournal: cgo, the journald tag and
# libsystemd-dev headers (scripts/deps.sh installs them).
if [ ! -x "$logcounter" ] && [ ! -e /usr/include/systemd/sd-journal.h ]; then
  say "log-counter needs /usr/include/systemd/sd-journal.h: run scripts/deps.sh first"
  exit 1
fi
CGO_ENABLED=1 build "$logcounter" k8s.io/node-problem-detector/cmd/logcounter -tags journald

echo "$npd"
