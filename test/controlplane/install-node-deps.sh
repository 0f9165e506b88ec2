#!/usr/bin/env bash
# Installs what the test node needs from Debian's packages: containerd (1.6) and runc, plus the
# ctr client that comes with containerd. Idempotent: does nothing when both are already installed.
# Needs root (CI runs as root on the same kind of machine). Only the binaries are used: the package's
# systemd unit is never started; up.sh --with-node runs containerd itself with its root, state and
# socket inside the cluster directory.
set -euo pipefail

missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-node-deps: containerd $(containerd --version | awk '{print $3}') and runc already installed"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "install-node-deps: need root to apt-get install ${missing[*]}" >&2; exit 1; }
command -v apt-get >/dev/null || { echo "install-node-deps: no apt-get; install ${missing[*]} by hand" >&2; exit 1; }

echo "install-node-deps: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: runc recommends criu (checkpointing), which the node never uses.
apt-get install -y -qq --no-install-recommends containerd runc >/dev/null
echo "install-node-deps: installed containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | head -n1 | awk '{print $3}')"
