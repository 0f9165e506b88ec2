# The test node(s): containerd + runc from Debian's packages and a kubelet each, plus one kube-scheduler.
# Sourced by up.sh (start_nodes) and down.sh (stop_nodes); docs/controlplane.md says why each setting is
# there. Everything lives in $CLUSTER_DIR/nodes/<n>: containerd's root, state and socket, the kubelet's
# root dir, pod logs, certificates and logs. Nothing touches the host firewall (no CNI plugin runs, the
# kubelet makes no iptables chains, there is no kube-proxy); Pods use hostNetwork.
#
# Two nodes by default (PT_NODE_COUNT): a Deployment of two hostNetwork replicas needs two nodes, as on
# a real cluster, because each replica binds the same port. Each node has its own loopback address
# (127.X.Y.(10+n), X and Y random per cluster) as its name and InternalIP, so the replicas bind
# <their node's address>:port and never collide.

NODES_DIR="$CLUSTER_DIR/nodes"
NODE_COUNT="${PT_NODE_COUNT:-2}"
PAUSE_IMAGE="pt-operator.test/pause:1"
# The sysctls the kubelet sets at start-up (it cannot be told not to: protectKernelDefaults makes it
# refuse to start instead). start_nodes saves them and stop_nodes puts them back.
KUBELET_SYSCTLS="vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes"

node_dir() { echo "$NODES_DIR/$1"; }
node_socket() { echo "$(node_dir "$1")/containerd/containerd.sock"; }
node_ctr() { # <n> <ctr args...>: ctr on node n's containerd, in the CRI namespace
  local n="$1"; shift
  ctr --address "$(node_socket "$n")" --namespace k8s.io "$@"
}
# cgroup v1 hierarchies (one directory per controller, plus the named systemd one) the kubelet uses.
cgroup_v1_hierarchies() {
  awk '$3 == "cgroup" { print $2 }' /proc/mounts
}

# Certificates, kubeconfigs and apiserver flags the node needs; called by up.sh before the apiserver starts.
prepare_node_pki() {
  # The apiserver's client identity towards kubelets (exec, logs, port-forward): system:masters, so the
  # kubelet's webhook authorization (a SubjectAccessReview) allows it.
  issue_cert apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client/O=system:masters" clientAuth
  issue_cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
  NODE_SUBNET="127.$((RANDOM % 150 + 100)).$((RANDOM % 256))"
  local n
  for n in $(seq "$NODE_COUNT"); do
    local ip="$NODE_SUBNET.$((n + 10))"
    mkdir -p "$(node_dir "$n")"
    echo "$ip" > "$(node_dir "$n")/address"
    # The node's client certificate: user system:node:<name> in group system:nodes (bound to system:node below).
    issue_cert "node-$n" "/CN=system:node:$ip/O=system:nodes" clientAuth
    issue_cert "node-$n-serving" "/CN=$ip" serverAuth "IP:$ip"
  done
}
apiserver_node_flags() {
  echo "--kubelet-client-certificate=$PKI/apiserver-kubelet-client.crt"
  echo "--kubelet-client-key=$PKI/apiserver-kubelet-client.key"
  echo "--kubelet-certificate-authority=$PKI/ca.crt"
  echo "--kubelet-preferred-address-types=InternalIP"
}

write_containerd_config() { # <n>
  local dir; dir="$(node_dir "$1")"
  mkdir -p "$dir/containerd/root" "$dir/containerd/state" "$dir/cni/net.d" "$dir/cni/bin"
  # A stub CNI configuration: the CRI plugin reports the network ready when a configuration exists, so the
  # node becomes Ready. No plugin binary exists: a Pod without hostNetwork fails with a clear CNI error
  # instead of getting a network the tests never made.
  cat > "$dir/cni/net.d/10-hostnetwork-only.conflist" <<CNI
{"cniVersion": "1.0.0", "name": "pt-operator-hostnetwork-only", "plugins": [{"type": "pt-operator-no-pod-network"}]}
CNI
  cat > "$dir/containerd/config.toml" <<TOML
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
# Plugins that need kernel features or services this node does not use.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$dir/containerd/containerd.sock"
[ttrpc]
  address = "$dir/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Without CAP_SYS_RESOURCE runc cannot lower a process's oom_score_adj below its parent's:
  # "can't get final child's PID from pipe: EOF". This keeps every container's value >= ours.
  restrict_oom_score_adj = true
  # kubectl exec/logs stream through the kubelet to this server: loopback only, any free port.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # The kubelet uses the cgroupfs driver (cgroup v1, no systemd); runc's state stays in our directory.
        SystemdCgroup = false
        Root = "$dir/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/cni/bin"
    conf_dir = "$dir/cni/net.d"
TOML
}

write_kubelet_config() { # <n> <kubelet port> <healthz port>
  local n="$1" dir ip; dir="$(node_dir "$1")"; ip="$(cat "$dir/address")"
  mkdir -p "$dir/kubelet" "$dir/pod-logs" "$dir/volume-plugins"
  cat > "$dir/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Serve only on this node's loopback address (the apiserver reaches it there for exec and logs).
address: $ip
port: $2
readOnlyPort: 0
healthzBindAddress: $ip
healthzPort: $3
tlsCertFile: $PKI/node-$n-serving.crt
tlsPrivateKeyFile: $PKI/node-$n-serving.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$(node_socket "$n")
# This machine has cgroup v1 and no systemd.
failCgroupV1: false
cgroupDriver: cgroupfs
# Each node's Pods in their own cgroup tree, so one kubelet never removes the other's Pod cgroups.
cgroupRoot: /$(cgroup_root_name "$n")
failSwapOn: false
# Never touch the host firewall.
makeIPTablesUtilChains: false
# Without CAP_SYS_RESOURCE the kubelet cannot set its own oom_score_adj to -999.
oomScoreAdj: 0
podLogsDir: $dir/pod-logs
volumePluginDir: $dir/volume-plugins
# A shared build machine's disk and memory are not this node's to manage: no eviction, no image GC.
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1Mi"
  nodefs.inodesFree: "1"
  imagefs.available: "1Mi"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# Projected tokens and ConfigMaps refresh at this period.
syncFrequency: 10s
resolvConf: /etc/resolv.conf
YAML
}

cgroup_root_name() { # <n>: unique per cluster directory and node
  echo "pt-operator-$(echo "$CLUSTER_DIR" | sha256sum | cut -c1-8)-node$1"
}
create_cgroup_root() { # <n>: the kubelet refuses a cgroupRoot that does not exist
  local name h; name="$(cgroup_root_name "$1")"
  for h in $(cgroup_v1_hierarchies); do
    mkdir -p "$h/$name"
    # A new cpuset cgroup starts with no CPUs and no memory nodes; inherit the parent's.
    if [ -f "$h/cpuset.cpus" ]; then
      cat "$h/cpuset.cpus" > "$h/$name/cpuset.cpus"
      cat "$h/cpuset.mems" > "$h/$name/cpuset.mems"
    fi
  done
}
remove_cgroup_root() { # <n>: deepest first; only empty cgroups can be removed
  local name h; name="$(cgroup_root_name "$1")"
  for h in $(cgroup_v1_hierarchies); do
    [ -d "$h/$name" ] && find "$h/$name" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}

save_sysctls() {
  local key
  [ -f "$NODES_DIR/sysctls.before" ] && return
  for key in $KUBELET_SYSCTLS; do echo "$key $(cat "/proc/sys/$key")"; done > "$NODES_DIR/sysctls.before"
}
restore_sysctls() {
  local key value
  [ -f "$NODES_DIR/sysctls.before" ] || return 0
  while read -r key value; do
    [ "$(cat "/proc/sys/$key")" = "$value" ] || echo "$value" > "/proc/sys/$key"
  done < "$NODES_DIR/sysctls.before"
}

build_pause_image() { # -> OCI archive of the pause image (cached next to the binaries)
  local out="$K8S_BIN_DIR/pause-image.tar"
  if [ ! -f "$out" ] || [ "$PAUSE_BIN" -nt "$out" ]; then
    local rootfs; rootfs="$(mktemp -d)"
    install -D -m 0755 "$PAUSE_BIN" "$rootfs/pause"
    oci_archive "$rootfs" '{"Entrypoint":["/pause"],"User":"65535:65535"}' "$PAUSE_IMAGE" "$out"
    rm -rf "$rootfs"
  fi
  echo "$out"
}

start_nodes() {
  source "$CONTROLPLANE_DIR/oci.sh"
  bash "$CONTROLPLANE_DIR/install-node-deps.sh" >&2
  local node_started=$SECONDS
  "$KUBECTL_BIN" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" apply -f - >/dev/null <<YAML
# What the Node authorizer and the system:nodes default binding give a kubelet on a real cluster.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pt-operator-test:nodes
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:node
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: system:nodes
YAML
  save_sysctls
  # containerd-shim-runc-v2 puts its sockets in /run/containerd/s whatever containerd's state dir is.
  [ -e /run/containerd ] || touch "$NODES_DIR/run-containerd.created"
  # The kubelet links every container log into /var/log/containers (not configurable).
  [ -e /var/log/containers ] || touch "$NODES_DIR/var-log-containers.created"
  local pause_archive; pause_archive="$(build_pause_image)"
  local n dir ip pid
  for n in $(seq "$NODE_COUNT"); do
    dir="$(node_dir "$n")"; ip="$(cat "$dir/address")"
    write_containerd_config "$n"
    setsid containerd --config "$dir/containerd/config.toml" </dev/null >"$LOGS/containerd-$n.log" 2>&1 &
    pid=$!; echo "$pid" > "$dir/containerd.pid"
    wait_until "containerd (node $n)" "$pid" "$LOGS/containerd-$n.log" ctr --address "$(node_socket "$n")" version
    node_ctr "$n" images import "$pause_archive" >/dev/null

    write_kubelet_config "$n" "$(free_port)" "$(free_port)"
    write_kubeconfig "$dir/kubelet.kubeconfig" "system:node:$ip" "node-$n"
    create_cgroup_root "$n"
    setsid "$KUBELET_BIN" --config="$dir/kubelet-config.yaml" --kubeconfig="$dir/kubelet.kubeconfig" \
      --root-dir="$dir/kubelet" --hostname-override="$ip" --v=1 \
      </dev/null >"$LOGS/kubelet-$n.log" 2>&1 &
    pid=$!; echo "$pid" > "$dir/kubelet.pid"
  done

  write_kubeconfig "$CLUSTER_DIR/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
  # One scheduler, so no leader election; no serving port (nothing scrapes it).
  setsid "$KUBE_SCHEDULER_BIN" --kubeconfig="$CLUSTER_DIR/kube-scheduler.kubeconfig" \
    --leader-elect=false --secure-port=0 \
    </dev/null >"$LOGS/kube-scheduler.log" 2>&1 &
  echo "$!" > "$NODES_DIR/kube-scheduler.pid"

  for n in $(seq "$NODE_COUNT"); do
    dir="$(node_dir "$n")"; ip="$(cat "$dir/address")"
    wait_until "kubelet (node $n)" "$(cat "$dir/kubelet.pid")" "$LOGS/kubelet-$n.log" \
      "$KUBECTL_BIN" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" wait "node/$ip" --for=condition=Ready --timeout=1s
  done
  echo "up: $NODE_COUNT node(s) Ready in $((SECONDS - node_started))s: $(node_addresses)" >&2
}

node_addresses() { local n; for n in $(seq "$NODE_COUNT"); do cat "$(node_dir "$n")/address"; done | paste -sd, -; }
node_sockets() { local n; for n in $(seq "$NODE_COUNT"); do node_socket "$n"; done | paste -sd, -; }

write_node_env() {
  env_line NODE_COUNT "$NODE_COUNT"
  env_line NODE_ADDRESSES "$(node_addresses)"
  env_line NODE_CONTAINERD_SOCKETS "$(node_sockets)"
  env_line KUBE_SCHEDULER_PID "$(cat "$NODES_DIR/kube-scheduler.pid")"
  env_line NODE_LOGS "$LOGS"
}

# Stops everything start_nodes started, in an order that leaves nothing behind: the kubelets (so they
# restart nothing), every container (their shims and processes outlive containerd), containerd, then the
# mounts the kubelet and containerd made, the cgroups, the sysctls and /var/log/containers links.
stop_nodes() {
  [ -d "$NODES_DIR" ] || return 0
  local n dir
  stop_process kube-scheduler "$(cat "$NODES_DIR/kube-scheduler.pid" 2>/dev/null)"
  for n in $(ls "$NODES_DIR" | grep -E '^[0-9]+$'); do
    stop_process "kubelet (node $n)" "$(cat "$(node_dir "$n")/kubelet.pid" 2>/dev/null)"
  done
  for n in $(ls "$NODES_DIR" | grep -E '^[0-9]+$'); do
    dir="$(node_dir "$n")"
    local containerd_pid; containerd_pid="$(cat "$dir/containerd.pid" 2>/dev/null)"
    if is_our_process "$containerd_pid" && [ -S "$(node_socket "$n")" ]; then
      local task
      for task in $(node_ctr "$n" tasks list --quiet 2>/dev/null); do
        node_ctr "$n" tasks kill --all --signal SIGKILL "$task" >/dev/null 2>&1 || true
      done
      for task in $(node_ctr "$n" tasks list --quiet 2>/dev/null); do
        for _ in $(seq 50); do
          node_ctr "$n" tasks delete "$task" >/dev/null 2>&1 && break
          sleep 0.1
        done
      done
    fi
    stop_process "containerd (node $n)" "$containerd_pid"
  done
  # Shims whose container could not be deleted: their command line names our containerd socket.
  local pid
  for pid in $(pgrep -f containerd-shim 2>/dev/null); do
    stop_process containerd-shim "$pid"
  done
  unmount_under "$CLUSTER_DIR"
  for n in $(ls "$NODES_DIR" | grep -E '^[0-9]+$'); do remove_cgroup_root "$n"; done
  restore_sysctls
  # Only what we created, and only when empty (the shims remove their sockets when they exit).
  [ -f "$NODES_DIR/run-containerd.created" ] && find /run/containerd -depth -type d -empty -delete 2>/dev/null
  [ -d /var/log/containers ] && find /var/log/containers -maxdepth 1 -type l -lname "$CLUSTER_DIR/*" -delete
  [ -f "$NODES_DIR/var-log-containers.created" ] && rmdir /var/log/containers 2>/dev/null
  verify_nodes_left_nothing
}

# Fails loudly when anything of the nodes is left: a mount, a Pod cgroup (so a container process), a
# shim, or a changed sysctl.
verify_nodes_left_nothing() {
  local problems=() n h key value
  while read -r mount_point; do problems+=("mount $mount_point"); done \
    < <(awk -v prefix="$CLUSTER_DIR/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts)
  for n in $(ls "$NODES_DIR" | grep -E '^[0-9]+$'); do
    for h in $(cgroup_v1_hierarchies); do
      [ -d "$h/$(cgroup_root_name "$n")" ] && problems+=("cgroup $h/$(cgroup_root_name "$n") (processes still in it?)")
    done
  done
  for pid in $(pgrep -f "$NODES_DIR/" 2>/dev/null); do
    [ "$pid" = "$$" ] || problems+=("process $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)")
  done
  if [ -f "$NODES_DIR/sysctls.before" ]; then
    while read -r key value; do
      [ "$(cat "/proc/sys/$key")" = "$value" ] || problems+=("sysctl $key is $(cat "/proc/sys/$key"), was $value")
    done < "$NODES_DIR/sysctls.before"
  fi
  if [ "${#problems[@]}" -gt 0 ]; then
    printf 'down: left behind: %s\n' "${problems[@]}" >&2
    return 1
  fi
}

unmount_under() { # <dir>: deepest first; a lazy unmount for a mount still busy
  local mount_point
  for mount_point in $(awk -v prefix="$1/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r -u); do
    umount "$mount_point" 2>/dev/null || umount -l "$mount_point" 2>/dev/null || echo "down: could not unmount $mount_point" >&2
  done
}
