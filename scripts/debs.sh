#!/usr/bin/env bash
# Downloads Debian's packages of the shared libraries kubelet-doctor needs at run time
# (`apt-get download`, the candidate versions) into the cache, only when missing, and
# prints their paths on stdout, one a line:
#   libc6        the binary is cgo (ldd: libc.so.6, ld-linux)
#   libsystemd0  dlopened by go-systemd's sdjournal to read the journal
#   libcap2 libgcrypt20 libgpg-error0 liblzma5 libzstd1 liblz4-1
#                libsystemd.so.0's own DT_NEEDED (ldd /lib/x86_64-linux-gnu/libsystemd.so.0);
#                lz4/zstd/xz also decompress compressed journal entries.
# The image (scripts/image.sh) and the runc pod test (test/e2e/pod) build their roots
# from these files; the image records each version in a label.
set -euo pipefail

pkgs=(libc6 libsystemd0 libcap2 libgcrypt20 libgpg-error0 liblzma5 libzstd1 liblz4-1)
cache="${KD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-doctor}/debs"
mkdir -p "$cache"
cd "$cache"

say() { echo "debs: $*" >&2; }

# 'URI' file size hash: the file name apt-get download writes, for the candidate version.
# Asked from an empty directory: apt prints nothing for a file already in the current one.
names() {
  local empty
  empty=$(mktemp -d)
  (cd "$empty" && apt-get download --print-uris "${pkgs[@]}" 2>/dev/null | awk '{print $2}')
  rmdir "$empty"
}

want=$(names || true)
if [ "$(printf '%s\n' "$want" | grep -c .)" -ne ${#pkgs[@]} ]; then
  # A fresh machine has no package lists: apt knows the installed packages but no URI.
  say "no download candidates for ${pkgs[*]}: apt-get update"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  want=$(names)
fi

missing=()
for f in $want; do
  [ -s "$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "downloading ${missing[*]}"
  # As root, apt warns that its _apt sandbox user cannot write here; the download is the same.
  apt-get download -q "${pkgs[@]}" 2> >(grep -v 'Download is performed unsandboxed' >&2) >/dev/null
fi
for f in $want; do
  [ -s "$f" ] || { say "apt-get download did not write $cache/$f"; exit 1; }
  echo "$cache/$f"
done
