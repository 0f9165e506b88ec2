#!/usr/bin/env bash
# Starts a throw-away control plane (etcd + kube-apiserver + kube-controller-manager) on loopback for tests
# and the demo.
#   PT_CLUSTER_DIR (default <repo>/.cluster) holds certificates, data, logs and:
#     env                  shell-sourceable KEY=VALUE (see write_env below)
#     admin.kubeconfig     system:masters
#     operator.kubeconfig  system:serviceaccount:pt-operator-system:pt-operator (only what RBAC grants)
# Idempotent: if PT_CLUSTER_DIR/env describes a healthy running cluster, it is reused.
# Binaries come from build.sh (built or reused from the cache). Stop with down.sh.
# --with-node (or PT_WITH_NODE=1) adds node(s) that run Pods: containerd + kubelet, and kube-scheduler
# (node.sh; needs root).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WITH_NODE=false
[ "${PT_WITH_NODE:-}" = 1 ] && WITH_NODE=true
for arg in "$@"; do
  case "$arg" in
    --with-node) WITH_NODE=true ;;
    *) die "up.sh: unknown argument $arg (usage: up.sh [--with-node])" ;;
  esac
done
if [ "$WITH_NODE" = true ]; then
  source "$CONTROLPLANE_DIR/node.sh"
  BUILD_ARGS=(--with-node)
else
  BUILD_ARGS=()
fi

START_TIMEOUT_SECONDS="${PT_CLUSTER_START_TIMEOUT:-180}"
PKI="$CLUSTER_DIR/pki"
LOGS="$CLUSTER_DIR/logs"

for tool in openssl curl base64; do
  command -v "$tool" >/dev/null || die "$tool is required to start the test control plane"
done

cluster_is_healthy() { # reads $CLUSTER_DIR/env in a subshell so a stale file cannot leak variables
  [ -f "$CLUSTER_DIR/env" ] || return 1
  ( set +u; source "$CLUSTER_DIR/env"
    kill -0 "$ETCD_PID" 2>/dev/null && kill -0 "$APISERVER_PID" 2>/dev/null \
      && kill -0 "$CONTROLLER_MANAGER_PID" 2>/dev/null \
      && { [ "$WITH_NODE" = false ] || kill -0 "${KUBE_SCHEDULER_PID:-}" 2>/dev/null; } \
      && curl -sf --max-time 5 --cacert "$CA_FILE" "$APISERVER_URL/readyz" >/dev/null )
}

if cluster_is_healthy; then
  echo "up: reusing the healthy cluster described in $CLUSTER_DIR/env"
  exit 0
fi
if [ -f "$CLUSTER_DIR/env" ]; then
  echo "up: $CLUSTER_DIR/env describes a cluster that is not healthy; stopping what is left of it"
  bash "$CONTROLPLANE_DIR/down.sh"
fi

# Build or reuse the binaries; its progress goes to stderr so stdout stays quiet for callers.
bash "$CONTROLPLANE_DIR/build.sh" "${BUILD_ARGS[@]}" >&2

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  fi
}

if [ -e "$CLUSTER_DIR" ] && [ ! -f "$CLUSTER_MARKER" ] && [ -n "$(ls -A "$CLUSTER_DIR")" ]; then
  die "$CLUSTER_DIR exists and was not created by up.sh; choose another PT_CLUSTER_DIR"
fi
rm -rf "$CLUSTER_DIR"
mkdir -p "$PKI" "$LOGS" "$CLUSTER_DIR/etcd-data"
chmod 700 "$CLUSTER_DIR"
touch "$CLUSTER_MARKER"

# --- certificates: one throw-away CA signs the serving certificate and every client certificate ---
openssl_quiet() { openssl "$@" 2>"$LOGS/openssl.log" || { cat "$LOGS/openssl.log" >&2; die "openssl $1 failed"; }; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=pt-operator-test-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$PKI/ca.key" -out "$PKI/ca.crt"
issue_cert() { # <name> <subject> <extendedKeyUsage> [subjectAltName]
  local name="$1" subject="$2" usage="$3" san="${4:-}"
  openssl_quiet req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$PKI/$name.key" -out "$PKI/$name.csr"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' \
    "$usage" "${san:+subjectAltName=$san}" > "$PKI/$name.ext"
  openssl_quiet x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 7 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt"
}
issue_cert apiserver "/CN=kube-apiserver" serverAuth "DNS:localhost,IP:127.0.0.1"
issue_cert admin "/CN=pt-operator-test-admin/O=system:masters" clientAuth
OPERATOR_USER="system:serviceaccount:$OPERATOR_NAMESPACE:$OPERATOR_SERVICE_ACCOUNT"
# The groups a real ServiceAccount token carries; RBAC matches ServiceAccount subjects by this user name.
issue_cert operator "/CN=$OPERATOR_USER/O=system:serviceaccounts/O=system:serviceaccounts:$OPERATOR_NAMESPACE" clientAuth
# kube-controller-manager: the user its bootstrap ClusterRole is bound to; it serves /healthz with a
# certificate from the same CA.
issue_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
issue_cert controller-manager-serving "/CN=kube-controller-manager" serverAuth "DNS:localhost,IP:127.0.0.1"
[ "$WITH_NODE" = false ] || prepare_node_pki
openssl_quiet genrsa -out "$PKI/service-account.key" 2048
openssl_quiet rsa -in "$PKI/service-account.key" -pubout -out "$PKI/service-account.pub"

ETCD_CLIENT_PORT="$(free_port)"; ETCD_PEER_PORT="$(free_port)"; APISERVER_PORT="$(free_port)"
ETCD_URL="http://127.0.0.1:$ETCD_CLIENT_PORT"
APISERVER_NODE_FLAGS=()
[ "$WITH_NODE" = false ] || mapfile -t APISERVER_NODE_FLAGS < <(apiserver_node_flags)
APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"

# PT_APISERVER_AUDIT=1: an audit log (JSON lines, Metadata level) of every write to the operator's resources and to
# Events, so a benchmark can count the operator's apiserver writes on the server side (bench/rollout.ts).
APISERVER_AUDIT_FLAGS=()
AUDIT_LOG=""
if [ "${PT_APISERVER_AUDIT:-}" = 1 ]; then
  AUDIT_LOG="$LOGS/audit.log"
  cat > "$CLUSTER_DIR/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
    resources:
      - group: "serving.ptoperator.io"
      - group: ""
        resources: ["events"]
      - group: "events.k8s.io"
        resources: ["events"]
  - level: None
POLICY
  APISERVER_AUDIT_FLAGS=(--audit-policy-file="$CLUSTER_DIR/audit-policy.yaml" --audit-log-path="$AUDIT_LOG"
    --audit-log-format=json --audit-log-maxsize=2000 --audit-log-maxbackup=1)
fi

print_log_tail_and_fail() { # <component> <log file> <reason>
  echo "up: $1 $3; last lines of $2:" >&2
  tail -n 40 "$2" >&2 || true
  bash "$CONTROLPLANE_DIR/down.sh" >&2 || true
  exit 1
}
wait_until() { # <component> <pid> <log> <command...>: polls the command until it succeeds or the component dies
  local component="$1" pid="$2" log="$3"; shift 3
  local deadline=$((SECONDS + START_TIMEOUT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || print_log_tail_and_fail "$component" "$log" "exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || print_log_tail_and_fail "$component" "$log" "was not ready after ${START_TIMEOUT_SECONDS}s"
    sleep 0.5
  done
}

started=$SECONDS
# setsid: the processes outlive this script and are not hit by a Ctrl-C aimed at the caller's terminal.
setsid "$ETCD_BIN" --name=pt-operator-test --data-dir="$CLUSTER_DIR/etcd-data" --log-level=warn \
  --unsafe-no-fsync=true \
  --listen-client-urls="$ETCD_URL" --advertise-client-urls="$ETCD_URL" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="pt-operator-test=http://127.0.0.1:$ETCD_PEER_PORT" \
  </dev/null >"$LOGS/etcd.log" 2>&1 &
ETCD_PID=$!
# Written early so down.sh can stop a half-started cluster.
printf 'ETCD_PID=%s\n' "$ETCD_PID" > "$CLUSTER_DIR/env"
wait_until etcd "$ETCD_PID" "$LOGS/etcd.log" curl -sf --max-time 2 "$ETCD_URL/health"

# envtest's defaults (RBAC) plus a loopback advertise address, with the endpoint reconciler off because
# Endpoints reject loopback IPs. The ServiceAccount admission plugin stays on (as in a real cluster):
# kube-controller-manager creates each namespace's default ServiceAccount.
setsid "$KUBE_APISERVER_BIN" \
  --etcd-servers="$ETCD_URL" \
  --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
  --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
  --cert-dir="$PKI" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --authorization-mode=RBAC \
  --service-account-issuer="$APISERVER_URL" \
  --service-account-key-file="$PKI/service-account.pub" \
  --service-account-signing-key-file="$PKI/service-account.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --allow-privileged=true \
  "${APISERVER_NODE_FLAGS[@]}" "${APISERVER_AUDIT_FLAGS[@]}" \
  </dev/null >"$LOGS/kube-apiserver.log" 2>&1 &
APISERVER_PID=$!
printf 'ETCD_PID=%s\nAPISERVER_PID=%s\n' "$ETCD_PID" "$APISERVER_PID" > "$CLUSTER_DIR/env"
wait_until kube-apiserver "$APISERVER_PID" "$LOGS/kube-apiserver.log" \
  curl -sf --max-time 2 --cacert "$PKI/ca.crt" "$APISERVER_URL/readyz"

write_kubeconfig() { # <file> <user name> <cert basename>
  cat > "$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: pt-operator-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 < "$PKI/$3.crt")
    client-key-data: $(base64 -w0 < "$PKI/$3.key")
contexts:
- name: pt-operator-test
  context:
    cluster: pt-operator-test
    user: $2
current-context: pt-operator-test
KUBECONFIG
  chmod 600 "$1"
}
write_kubeconfig "$CLUSTER_DIR/admin.kubeconfig" pt-operator-test-admin admin
write_kubeconfig "$CLUSTER_DIR/operator.kubeconfig" "$OPERATOR_USER" operator
write_kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" system:kube-controller-manager controller-manager

# kube-controller-manager with every controller a real cluster runs by default ("*"): among them the
# namespace controller (deleted namespaces finish deleting), the garbage collector (owner references
# cascade), deployment/replicaset and serviceaccount, serviceaccount-token and root-ca-certificate-publisher. Each
# controller acts as its own ServiceAccount in kube-system (--use-service-account-credentials), with
# tokens signed by the key the apiserver verifies. One instance, so no leader election. No delegated
# authentication/authorization kubeconfigs: only /healthz is read (always allowed), and this apiserver has no
# request-header CA for them to load.
start_controller_manager() {
  setsid "$KUBE_CONTROLLER_MANAGER_BIN" \
    --kubeconfig="$CLUSTER_DIR/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$CONTROLLER_MANAGER_PORT" \
    --tls-cert-file="$PKI/controller-manager-serving.crt" --tls-private-key-file="$PKI/controller-manager-serving.key" \
    --client-ca-file="$PKI/ca.crt" \
    --controllers='*' \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/service-account.key" \
    --root-ca-file="$PKI/ca.crt" \
    --leader-elect=false \
    </dev/null >"$LOGS/kube-controller-manager.log" 2>&1 &
  CONTROLLER_MANAGER_PID=$!
  printf 'ETCD_PID=%s\nAPISERVER_PID=%s\nCONTROLLER_MANAGER_PID=%s\n' "$ETCD_PID" "$APISERVER_PID" "$CONTROLLER_MANAGER_PID" \
    > "$CLUSTER_DIR/env"
}
# Its port is picked just before it starts, and picked again if it was taken meanwhile: free_port's answer is a
# port nobody held a moment ago, in the range the kernel also hands out for outgoing connections (the API server's
# to etcd, seconds of them by now), so another socket can take it first ("bind: address already in use").
for attempt in 1 2 3; do
  CONTROLLER_MANAGER_PORT="$(free_port)"
  start_controller_manager
  until curl -sf --max-time 2 --cacert "$PKI/ca.crt" "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz" >/dev/null 2>&1 \
    || ! kill -0 "$CONTROLLER_MANAGER_PID" 2>/dev/null \
    || grep -q 'address already in use' "$LOGS/kube-controller-manager.log"; do
    sleep 0.2
  done
  grep -q 'address already in use' "$LOGS/kube-controller-manager.log" || break
  kill "$CONTROLLER_MANAGER_PID" 2>/dev/null || true
  wait "$CONTROLLER_MANAGER_PID" 2>/dev/null || true
  [ "$attempt" -lt 3 ] || print_log_tail_and_fail kube-controller-manager "$LOGS/kube-controller-manager.log" "found no free port in 3 tries"
  echo "up: port $CONTROLLER_MANAGER_PORT was taken before kube-controller-manager bound it; picking another" >&2
done
CONTROLLER_MANAGER_URL="https://127.0.0.1:$CONTROLLER_MANAGER_PORT"
wait_until kube-controller-manager "$CONTROLLER_MANAGER_PID" "$LOGS/kube-controller-manager.log" \
  curl -sf --max-time 2 --cacert "$PKI/ca.crt" "$CONTROLLER_MANAGER_URL/healthz"
# Healthy is not yet working: wait until the serviceaccount controller has made a namespace's
# default ServiceAccount, which proves the controllers run with their own credentials.
wait_until kube-controller-manager "$CONTROLLER_MANAGER_PID" "$LOGS/kube-controller-manager.log" \
  "$KUBECTL_BIN" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" get serviceaccount default --namespace default

env_line() { # values are plain paths/URLs; quote anything else so the file stays shell-sourceable
  case "$2" in
    *[!A-Za-z0-9_./:@,+=-]*) printf "%s='%s'\n" "$1" "${2//\'/}" ;;
    *) printf '%s=%s\n' "$1" "$2" ;;
  esac
}
write_env() {
  env_line CLUSTER_DIR "$CLUSTER_DIR"
  env_line K8S_VERSION "$K8S_VERSION"
  env_line APISERVER_URL "$APISERVER_URL"
  env_line ETCD_URL "$ETCD_URL"
  env_line CA_FILE "$PKI/ca.crt"
  env_line KUBECONFIG_ADMIN "$CLUSTER_DIR/admin.kubeconfig"
  env_line KUBECONFIG_OPERATOR "$CLUSTER_DIR/operator.kubeconfig"
  env_line OPERATOR_NAMESPACE "$OPERATOR_NAMESPACE"
  env_line OPERATOR_SERVICE_ACCOUNT "$OPERATOR_SERVICE_ACCOUNT"
  env_line OPERATOR_USER "$OPERATOR_USER"
  env_line KUBECTL "$KUBECTL_BIN"
  env_line HELM "$HELM_BIN"
  env_line ETCD_PID "$ETCD_PID"
  env_line APISERVER_PID "$APISERVER_PID"
  env_line CONTROLLER_MANAGER_PID "$CONTROLLER_MANAGER_PID"
  env_line CONTROLLER_MANAGER_URL "$CONTROLLER_MANAGER_URL"
  env_line ETCD_LOG "$LOGS/etcd.log"
  env_line APISERVER_LOG "$LOGS/kube-apiserver.log"
  env_line CONTROLLER_MANAGER_LOG "$LOGS/kube-controller-manager.log"
  [ -z "$AUDIT_LOG" ] || env_line AUDIT_LOG "$AUDIT_LOG"
}
write_env > "$CLUSTER_DIR/env.tmp" && mv "$CLUSTER_DIR/env.tmp" "$CLUSTER_DIR/env"
if [ "$WITH_NODE" = true ]; then
  start_nodes
  write_node_env >> "$CLUSTER_DIR/env"
fi

echo "up: kube-apiserver $K8S_VERSION ready at $APISERVER_URL, kube-controller-manager running, in $((SECONDS - started))s"
echo "up: admin kubeconfig:    $CLUSTER_DIR/admin.kubeconfig"
echo "up: operator kubeconfig: $CLUSTER_DIR/operator.kubeconfig"
echo "up: environment:         $CLUSTER_DIR/env   (source it; kubectl is \$KUBECTL)"
