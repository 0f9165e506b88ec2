# Shared paths and versions for the test control plane. Sourced by build.sh, up.sh and down.sh.
# Versions are read from the wrapper modules, so go.mod is the single place that pins them.
CONTROLPLANE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CONTROLPLANE_DIR/../.." && pwd)"
PT_OPERATOR_CACHE="${PT_OPERATOR_CACHE:-$HOME/.cache/pt-operator}"

# The identity the operator runs as; the chart's RBAC binds this ServiceAccount.
OPERATOR_NAMESPACE="pt-operator-system"
OPERATOR_SERVICE_ACCOUNT="pt-operator"

module_version() { # <wrapper dir> <module path> -> version required by that wrapper's go.mod
  sed -n "s|^[[:space:]]*\(require \)\{0,1\}$2 \(v[^ ]*\).*|\2|p" "$CONTROLPLANE_DIR/$1/go.mod" | head -n1
}

K8S_VERSION="$(module_version apiserver k8s.io/kubernetes)"
ETCD_VERSION="$(module_version etcd go.etcd.io/etcd/server/v3)"
HELM_VERSION="$(module_version helm helm.sh/helm/v3)"
K8S_BIN_DIR="$PT_OPERATOR_CACHE/k8s/$K8S_VERSION"
HELM_BIN_DIR="$PT_OPERATOR_CACHE/tools/helm-$HELM_VERSION"
KUBE_APISERVER_BIN="$K8S_BIN_DIR/kube-apiserver"
KUBECTL_BIN="$K8S_BIN_DIR/kubectl"
KUBE_CONTROLLER_MANAGER_BIN="$K8S_BIN_DIR/kube-controller-manager"
KUBE_SCHEDULER_BIN="$K8S_BIN_DIR/kube-scheduler"
KUBELET_BIN="$K8S_BIN_DIR/kubelet"
PAUSE_BIN="$K8S_BIN_DIR/pause"   # the Pod sandbox process (test/controlplane/pause)
ETCD_BIN="$K8S_BIN_DIR/etcd"
HELM_BIN="$HELM_BIN_DIR/helm"

die() { echo "controlplane: $*" >&2; exit 1; }

# Where up.sh keeps one cluster; PT_CLUSTER_DIR lets the demo and the tests run separate clusters.
CLUSTER_DIR="$(realpath -m "${PT_CLUSTER_DIR:-$REPO_ROOT/.cluster}")"
CLUSTER_MARKER="$CLUSTER_DIR/.pt-operator-cluster"   # proves a directory was created by up.sh
