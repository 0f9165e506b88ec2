#!/usr/bin/env bash
# Builds the operator's OCI image without a registry or a container engine, laid out like the Dockerfile's
# final stage, and imports it into the test node(s):
#   /usr/local/bin/node     Node from the npm package `node` (the devDependency; the version the Dockerfile's
#                           node:<version> image has), with the system libraries it links against
#   /app/node_modules       production dependencies only (npm ci --omit=dev --ignore-scripts)
#   /app/dist               tsc -p tsconfig.build.json
#   /app/package.json
#   user 65532:65532, WORKDIR /app, NODE_ENV=production, ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/main.js"], CMD ["run"]
# test/unit/image-layout.test.ts checks this against the Dockerfile (paths, user, entrypoint, Node version).
#
# Usage: build-image.sh [--plan] [--import] [--name NAME]
#   --plan    print the image config and the copied paths as JSON, build nothing
#   --import  import into every node of the cluster in PT_CLUSTER_DIR (ctr images import)
#   --name    image reference (default pt-operator.test/pt-operator:dev); prints the archive path
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$CONTROLPLANE_DIR/oci.sh"

IMAGE_NAME="pt-operator.test/pt-operator:dev"
PLAN=false
IMPORT=false
while [ $# -gt 0 ]; do
  case "$1" in
    --plan) PLAN=true ;;
    --import) IMPORT=true ;;
    --name) IMAGE_NAME="$2"; shift ;;
    *) die "build-image.sh: unknown argument $1 (usage: build-image.sh [--plan] [--import] [--name NAME])" ;;
  esac
  shift
done

WORKDIR=/app
USER_ID=65532:65532
NODE_PATH_IN_IMAGE=/usr/local/bin/node
NODE_VERSION="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$REPO_ROOT/node_modules/node/package.json" 2>/dev/null | head -n1)"
IMAGE_CONFIG="$(cat <<JSON
{"User":"$USER_ID","WorkingDir":"$WORKDIR","Entrypoint":["node","--max-semi-space-size=1","$WORKDIR/dist/main.js"],"Cmd":["run"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NODE_ENV=production","NODE_VERSION=$NODE_VERSION"],"ExposedPorts":{"8081/tcp":{}}}
JSON
)"
# Paths copied into the image, as the Dockerfile's final stage has them.
COPIED_PATHS='["/app/node_modules","/app/dist","/app/package.json"]'

if [ "$PLAN" = true ]; then
  printf '{"config":%s,"copied":%s,"node":{"path":"%s","version":"%s"}}\n' \
    "$IMAGE_CONFIG" "$COPIED_PATHS" "$NODE_PATH_IN_IMAGE" "$NODE_VERSION"
  exit 0
fi

NODE_BINARY="$REPO_ROOT/node_modules/node/bin/node"
[ -x "$NODE_BINARY" ] || die "no $NODE_BINARY: run npm ci first (the npm package node is the image's runtime)"
actual="$("$NODE_BINARY" --version)"
[ "$actual" = "v$NODE_VERSION" ] || die "$NODE_BINARY is $actual, its package.json says $NODE_VERSION"

started=$SECONDS
STAGE="$REPO_ROOT/.tmp/image"
rm -rf "$STAGE"
ROOTFS="$STAGE/rootfs"
mkdir -p "$ROOTFS$WORKDIR" "$ROOTFS/tmp" "$ROOTFS/usr/local/bin"
chmod 1777 "$ROOTFS/tmp"

# The Dockerfile's production-dependencies stage.
cp "$REPO_ROOT/package.json" "$REPO_ROOT/package-lock.json" "$ROOTFS$WORKDIR/"
(cd "$ROOTFS$WORKDIR" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
rm "$ROOTFS$WORKDIR/package-lock.json"
# The build stage: the same tsc project, its output where the Dockerfile copies it.
(cd "$REPO_ROOT" && node_modules/.bin/tsc -p tsconfig.build.json --outDir "$ROOTFS$WORKDIR/dist")

# The runtime: the node binary and the shared libraries it links against (ldd), at the same paths.
cp "$NODE_BINARY" "$ROOTFS$NODE_PATH_IN_IMAGE"
for library in $(ldd "$NODE_BINARY" | grep -o '/[^ ]*'); do
  mkdir -p "$ROOTFS$(dirname "$library")"
  cp -L "$library" "$ROOTFS$library"
done
# Who 65532 is, for tools that look the user up.
mkdir -p "$ROOTFS/etc"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$ROOTFS/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$ROOTFS/etc/group"

ARCHIVE="$STAGE/pt-operator.oci.tar"
oci_archive "$ROOTFS" "$IMAGE_CONFIG" "$IMAGE_NAME" "$ARCHIVE"
rm -rf "$ROOTFS"
echo "build-image: $IMAGE_NAME ($(du -m "$ARCHIVE" | cut -f1) MB) built in $((SECONDS - started))s" >&2

if [ "$IMPORT" = true ]; then
  [ -f "$CLUSTER_DIR/env" ] || die "no cluster in $CLUSTER_DIR (start one with up.sh --with-node)"
  sockets="$(sed -n 's/^NODE_CONTAINERD_SOCKETS=//p' "$CLUSTER_DIR/env")"
  [ -n "$sockets" ] || die "the cluster in $CLUSTER_DIR has no node (start it with up.sh --with-node)"
  for socket in ${sockets//,/ }; do
    ctr --address "$socket" --namespace k8s.io images import "$ARCHIVE" >/dev/null
  done
  echo "build-image: imported into $(echo "$sockets" | tr ',' '\n' | wc -l) node(s) in $((SECONDS - started))s" >&2
fi
echo "$ARCHIVE"
