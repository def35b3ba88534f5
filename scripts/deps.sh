#!/usr/bin/env bash
# Installs what building and testing kubelet-doctor need on Debian, only when it is missing.
# Idempotent: a second run prints "all present" and touches nothing.
set -euo pipefail

# binary-or-file -> Debian package that provides it
declare -A need=(
  [/usr/bin/gcc]=gcc
  [/usr/include/systemd/sd-journal.h]=libsystemd-dev
  [/usr/bin/journalctl]=systemd
  [/lib/systemd/systemd-journal-remote]=systemd-journal-remote
  [/usr/bin/dbus-daemon]=dbus-daemon
  [/usr/bin/flock]=util-linux
  [/usr/bin/zsh]=zsh
  [/usr/bin/tmux]=tmux
  # test/e2e/kubelet: the real kubelet's runtime, started by the suite itself
  # (never as a service), and the tools that build its network namespace.
  [/usr/bin/containerd]=containerd
  [/usr/sbin/runc]=runc
  [/usr/bin/unshare]=util-linux
  [/usr/bin/nsenter]=util-linux
  [/sbin/ip]=iproute2
)

missing=()
for path in "${!need[@]}"; do
  [ -e "$path" ] || missing+=("${need[$path]}")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps.sh: all present (gcc, libsystemd-dev, systemd, systemd-journal-remote, dbus-daemon, zsh, tmux, containerd, runc, iproute2)"
  exit 0
fi

# shellcheck disable=SC2207
pkgs=($(printf '%s\n' "${missing[@]}" | sort -u))
echo "deps.sh: installing ${pkgs[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; an update is cheap next to a failed install.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
echo "deps.sh: installed ${pkgs[*]}"
