#!/usr/bin/env bash
# Restarts the kube-apiserver of the cluster that up.sh started, with exactly the same command line, and
# records the new PID in PT_CLUSTER_DIR/env. etcd keeps running, so all objects survive; clients see their
# connections drop and must reconnect (tests use this to check that watches recover).
#   restart-apiserver.sh [seconds to stay down, default 0]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DOWN_SECONDS="${1:-0}"

[ -f "$CLUSTER_DIR/env" ] || die "no cluster in $CLUSTER_DIR (run up.sh first)"
APISERVER_PID="$(sed -n 's/^APISERVER_PID=//p' "$CLUSTER_DIR/env")"
APISERVER_URL="$(sed -n 's/^APISERVER_URL=//p' "$CLUSTER_DIR/env")"
CA_FILE="$(sed -n 's/^CA_FILE=//p' "$CLUSTER_DIR/env")"
APISERVER_LOG="$(sed -n 's/^APISERVER_LOG=//p' "$CLUSTER_DIR/env")"
[ -r "/proc/$APISERVER_PID/cmdline" ] && tr '\0' ' ' < "/proc/$APISERVER_PID/cmdline" | grep -qF -- "$CLUSTER_DIR/" \
  || die "pid $APISERVER_PID is not this cluster's kube-apiserver"

# The running process's own argv is the source of truth for its flags (no copy of up.sh's flag list here).
mapfile -d '' ARGS < "/proc/$APISERVER_PID/cmdline"
kill -TERM "$APISERVER_PID"
for _ in $(seq 100); do kill -0 "$APISERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$APISERVER_PID" 2>/dev/null || true
sleep "$DOWN_SECONDS"

setsid "${ARGS[@]}" </dev/null >>"$APISERVER_LOG" 2>&1 &
NEW_PID=$!
sed -i "s/^APISERVER_PID=.*/APISERVER_PID=$NEW_PID/" "$CLUSTER_DIR/env"
for _ in $(seq 240); do
  curl -sf --max-time 2 --cacert "$CA_FILE" "$APISERVER_URL/readyz" >/dev/null 2>&1 && { echo "restart: kube-apiserver ready (pid $NEW_PID)"; exit 0; }
  kill -0 "$NEW_PID" 2>/dev/null || die "kube-apiserver exited after restart; see $APISERVER_LOG"
  sleep 0.5
done
die "kube-apiserver not ready 120s after restart; see $APISERVER_LOG"
