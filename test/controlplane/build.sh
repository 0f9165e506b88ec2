#!/usr/bin/env bash
# Builds (or reuses) kube-apiserver, kubectl, kube-controller-manager, etcd and helm from the Go wrapper
# modules next to this script, into a cache outside the repository (and, with --with-node, the node's
# kubelet and kube-scheduler):
#   ${PT_OPERATOR_CACHE:-~/.cache/pt-operator}/k8s/<k8s version>/{kube-apiserver,kubectl,kube-controller-manager,etcd}
#   ${PT_OPERATOR_CACHE:-~/.cache/pt-operator}/k8s/<k8s version>/{kubelet,kube-scheduler,pause}   (--with-node)
#   ${PT_OPERATOR_CACHE:-~/.cache/pt-operator}/tools/helm-<helm version>/helm
# A binary is reused when its stamp (hash of the wrapper's go.mod + go.sum and the build flags) matches.
# Needs Go >= 1.26 and the Go module proxy on the first run (modules are verified against go.sum).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WITH_NODE=false
for arg in "$@"; do
  case "$arg" in
    --with-node) WITH_NODE=true ;;
    *) die "build.sh: unknown argument $arg (usage: build.sh [--with-node])" ;;
  esac
done

export GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off

command -v go >/dev/null || die "Go is not installed (need Go >= 1.26 to build kube-apiserver and etcd)"
GO_VERSION="$(go env GOVERSION)"
GO_MINOR="$(echo "$GO_VERSION" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
[ -n "$GO_MINOR" ] && [ "$GO_MINOR" -ge 26 ] || die "need Go >= 1.26, found $GO_VERSION"
[ -n "$K8S_VERSION" ] && [ -n "$ETCD_VERSION" ] && [ -n "$HELM_VERSION" ] \
  || die "could not read versions from the wrapper go.mod files in $CONTROLPLANE_DIR"

# What upstream's hack/lib/version.sh stamps, so /version and `kubectl version` report the real release.
k8s_version_ldflags() {
  local minor; minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  local flags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}
helm_ldflags() {
  local minor; minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  # Without these, `helm template` assumes Kubernetes v1.20 and `helm version` prints only v3.x.
  echo "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
    "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
}

stamp_of() { # <wrapper dir> <ldflags> -> hash that keys a cached binary
  cat "$CONTROLPLANE_DIR/$1/go.mod" "$CONTROLPLANE_DIR/$1/go.sum" <(echo "$2") | sha256sum | cut -d' ' -f1
}

# Progress for a newcomer's first build (about 25 minutes): which binary, how long so far, what comes after it.
PROGRESS_INTERVAL="${PT_BUILD_PROGRESS_INTERVAL:-30}"
BINARIES=()   # every binary this run builds or reuses, in order (filled in below, before the first build_one)
BUILT=0

remaining_after() { # <binary name> -> the names after it in BINARIES, comma-separated, or "nothing"
  local found=false rest=() name
  for name in "${BINARIES[@]}"; do
    if [ "$found" = true ]; then rest+=("$name"); fi
    if [ "$name" = "$1" ]; then found=true; fi
  done
  if [ "${#rest[@]}" -eq 0 ]; then echo "nothing"; else (IFS=,; echo "${rest[*]}" | sed 's/,/, /g'); fi
}

build_one() { # <wrapper dir> <package> <output path> <ldflags>
  local wrapper="$1" pkg="$2" out="$3" ldflags="$4"
  local name; name="$(basename "$out")"
  BUILT=$((BUILT + 1))
  local step="[$BUILT/${#BINARIES[@]}]"
  local stamp; stamp="$(stamp_of "$wrapper" "$ldflags")"
  if [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "build: $step reuse $out"
    return
  fi
  mkdir -p "$(dirname "$out")"
  local started; started="$(date +%s)"
  echo "build: $step $name from $pkg -> $out (first build on a machine takes minutes; then: $(remaining_after "$name"))"
  # A line every PROGRESS_INTERVAL seconds while go build is quiet, so a long first build never looks stuck.
  ( while sleep "$PROGRESS_INTERVAL"; do
      echo "build: $step still building $name: $(( $(date +%s) - started ))s elapsed; then: $(remaining_after "$name")"
    done ) &
  local heartbeat=$!
  # Build to a temporary name and rename, so an interrupted build never leaves a half-written binary.
  if ! (cd "$CONTROLPLANE_DIR/$wrapper" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg"); then
    kill "$heartbeat" 2>/dev/null || true
    rm -f "$out.tmp"
    die "go build of $pkg failed (wrapper module test/controlplane/$wrapper, $GO_VERSION)"
  fi
  kill "$heartbeat" 2>/dev/null || true
  wait "$heartbeat" 2>/dev/null || true
  mv -f "$out.tmp" "$out"
  echo "$stamp" > "$out.stamp"
  echo "build: $step $name built in $(( $(date +%s) - started ))s"
}

# One build at a time per cache: concurrent test runs would otherwise compile the same binaries twice.
mkdir -p "$PT_OPERATOR_CACHE"
exec 9>"$PT_OPERATOR_CACHE/.build.lock"
if ! flock -n 9; then
  echo "build: another build into $PT_OPERATOR_CACHE is running; waiting for it"
  flock 9
fi

total_started=$SECONDS
BINARIES=(kube-apiserver kubectl kube-controller-manager)
if [ "$WITH_NODE" = true ]; then BINARIES+=(kube-scheduler kubelet "$(basename "$PAUSE_BIN")"); fi
BINARIES+=(etcd helm)
build_one apiserver k8s.io/kubernetes/cmd/kube-apiserver "$KUBE_APISERVER_BIN" "$(k8s_version_ldflags)"
build_one apiserver k8s.io/kubernetes/cmd/kubectl "$KUBECTL_BIN" "$(k8s_version_ldflags)"
# The node wrapper pins the same module versions as the apiserver one, so this reuses its build cache.
build_one node k8s.io/kubernetes/cmd/kube-controller-manager "$KUBE_CONTROLLER_MANAGER_BIN" "$(k8s_version_ldflags)"
if [ "$WITH_NODE" = true ]; then
  build_one node k8s.io/kubernetes/cmd/kube-scheduler "$KUBE_SCHEDULER_BIN" "$(k8s_version_ldflags)"
  build_one node k8s.io/kubernetes/cmd/kubelet "$KUBELET_BIN" "$(k8s_version_ldflags)"
  build_one pause . "$PAUSE_BIN" "-s -w"
fi
build_one etcd go.etcd.io/etcd/server/v3 "$ETCD_BIN" "-s -w"
build_one helm helm.sh/helm/v3/cmd/helm "$HELM_BIN" "$(helm_ldflags)"

reported="$("$KUBE_APISERVER_BIN" --version)"
[ "$reported" = "Kubernetes $K8S_VERSION" ] \
  || die "$KUBE_APISERVER_BIN reports '$reported', expected 'Kubernetes $K8S_VERSION' (version ldflags not applied?)"
echo "build: done in $((SECONDS - total_started))s: k8s $K8S_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION in $K8S_BIN_DIR and $HELM_BIN_DIR"
