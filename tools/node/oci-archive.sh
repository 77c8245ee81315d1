#!/usr/bin/env bash
# Writes a single-layer OCI image archive (an image layout in a tar, as `ctr images
# import` reads it) from a root filesystem folder, with no container engine:
#   oci-archive.sh <ref> <rootfs-dir> <out.tar> <entrypoint-json> [user]
# e.g. oci-archive.sh stafette.local/pause:1 ./rootfs pause.tar '["/pause"]' 65535
# The layer is reproducible (sorted, mtime 0, owner root), so the same files give the
# same digest. Used for the real node's small static images (tools/node/build-images.sh).
set -euo pipefail
ref=$1 rootfs=$2 out=$3 entrypoint=$4 user=${5:-65534}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .

blob() { # file -> "sha256:<hex> <size>", moved into blobs/
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$work/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

read -r layer_digest layer_size < <(blob "$work/layer.tar")
printf '{"architecture":"amd64","os":"linux","config":{"User":"%s","Entrypoint":%s,"WorkingDir":"/","Env":["PATH=/"]},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"tools/node/oci-archive.sh"}]}' \
  "$user" "$entrypoint" "$layer_digest" > "$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
  "$config_digest" "$config_size" "$layer_digest" "$layer_size" > "$work/manifest.json"
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest_digest" "$manifest_size" "$ref" "${ref##*:}" > "$work/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.partial" oci-layout index.json blobs
mv "$out.partial" "$out"
