#!/usr/bin/env bash
# Stops the control plane started by up.sh (exactly the PIDs recorded in PT_CLUSTER_DIR/env) and
# removes its data directory.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [ ! -e "$CLUSTER_DIR" ]; then
  echo "down: nothing to stop ($CLUSTER_DIR does not exist)"
  exit 0
fi
[ -f "$CLUSTER_MARKER" ] \
  || die "$CLUSTER_DIR was not created by up.sh (no .pt-operator-cluster marker); refusing to delete it"

# A PID is only ours if the process still runs one of our binaries on this cluster's files; this
# guards against a recycled PID after a reboot or a long pause.
is_our_process() { # <pid>
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "$CLUSTER_DIR/"
}
stop_process() { # <name> <pid>
  local name="$1" pid="$2"
  if ! is_our_process "$pid"; then return; fi
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { echo "down: stopped $name (pid $pid)"; return; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "down: killed $name (pid $pid) after 10s"
}

# The node(s) first: their kubelets and containers talk to the apiserver, and they own mounts and cgroups.
source "$CONTROLPLANE_DIR/node.sh"
nodes_clean=true
stop_nodes || nodes_clean=false

if [ -f "$CLUSTER_DIR/env" ]; then
  CONTROLLER_MANAGER_PID="$(sed -n 's/^CONTROLLER_MANAGER_PID=//p' "$CLUSTER_DIR/env")"
  APISERVER_PID="$(sed -n 's/^APISERVER_PID=//p' "$CLUSTER_DIR/env")"
  ETCD_PID="$(sed -n 's/^ETCD_PID=//p' "$CLUSTER_DIR/env")"
  stop_process kube-controller-manager "${CONTROLLER_MANAGER_PID:-}"   # clients first
  stop_process kube-apiserver "${APISERVER_PID:-}"   # first, so it does not log etcd errors while stopping
  stop_process etcd "${ETCD_PID:-}"
fi
[ "$nodes_clean" = true ] || die "the node(s) left something behind (see above); $CLUSTER_DIR is kept for a look"
rm -rf "$CLUSTER_DIR"
echo "down: removed $CLUSTER_DIR"
