#!/usr/bin/env bash
# Builds the images the real node runs besides Stafette's own (tools/image/build.sh):
#   pause        the pod sandbox (containerd's sandbox_image), a static C program
#   coredns      cluster DNS, a small Go module importing only the plugins it needs
#   nats-server  the queue, the binary tools/go-build/nats-server.sh builds
# Each is one static binary in a single-layer OCI archive (tools/node/oci-archive.sh),
# imported into the node's containerd at start; nothing is pulled from a registry. Each
# archive is cached under $STAFETTE_CACHE/node-images/, keyed by a hash of its inputs;
# a second run prints nothing. With --print, prints "<image ref> <archive>" per image.
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
out="$cache/node-images"
mkdir -p "$out"
print=false
[ "${1:-}" = "--print" ] && print=true
# Bump when a build below changes in a way its inputs do not show.
recipe=1
lines=()

hash_of() { (echo "recipe $recipe"; cat "$@") | sha256sum | cut -c1-16; }

# image <name> <ref> <hash> <build-function>: the archive, built unless cached.
image() {
  local name=$1 ref=$2 hash=$3 build=$4
  local archive="$out/$name-$hash.tar"
  if [ ! -f "$archive" ]; then
    local start rootfs
    start=$(date +%s)
    rootfs=$(mktemp -d)
    "$build" "$rootfs"
    bash tools/node/oci-archive.sh "$ref" "$rootfs" "$archive" "${entrypoint:?}" "${user:?}"
    rm -rf "$rootfs"
    # Older archives of this image are stale now.
    find "$out" -maxdepth 1 -name "$name-*.tar" ! -name "$name-$hash.tar" -delete
    echo "build-images.sh: built $ref in $(( $(date +%s) - start )) s" >&2
  fi
  lines+=("$ref $archive")
}

build_pause() {
  gcc -static -Os -s -o "$1/pause" test/node/images/pause/pause.c
}
entrypoint='["/pause"]' user=65535 \
  image pause stafette.local/pause:1 "$(hash_of test/node/images/pause/pause.c <(gcc --version))" build_pause

coredns_dir=test/node/images/coredns
coredns_version=$(awk '$1 == "require" && $2 == "github.com/coredns/coredns" { print $3 }' "$coredns_dir/go.mod")
build_coredns() {
  command -v go >/dev/null || { echo "build-images.sh: Go is needed to build CoreDNS" >&2; exit 1; }
  echo "build-images.sh: building CoreDNS $coredns_version with the plugins of $coredns_dir/main.go (first time only)" >&2
  (cd "$coredns_dir" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$1/coredns" .)
}
entrypoint='["/coredns"]' user=65532 \
  image coredns "stafette.local/coredns:$coredns_version" \
    "$(hash_of "$coredns_dir/go.mod" "$coredns_dir/go.sum" "$coredns_dir/main.go" <(go version))" build_coredns

nats_server=$(bash tools/go-build/nats-server.sh --print-bin)
nats_version=$("$nats_server" --version | awk '{ print $2 }' | sed 's/^v//')
build_nats() {
  cp "$nats_server" "$1/nats-server"
}
entrypoint='["/nats-server"]' user=65532 \
  image nats-server "stafette.local/nats-server:$nats_version" "$(hash_of "$nats_server")" build_nats

if $print; then printf '%s\n' "${lines[@]}"; fi
