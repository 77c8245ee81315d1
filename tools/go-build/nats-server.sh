#!/usr/bin/env bash
# Builds nats-server from the Go module proxy into the cache, once:
#   $STAFETTE_CACHE/nats-server-v$VERSION/bin/nats-server
# The integration harness (test/harness/nats-server.ts) runs this binary.
#
# Why 2.14: docs/reliability.md §4 was checked against the 2.14 line; it has sync_interval,
# the MaxDeliver retention fix (#7845) and the work-queue consumer fixes the queue relies on.
# Override with STAFETTE_NATS_SERVER_VERSION to test another release.
# Prints nothing when the binary is already cached; logs the build time otherwise.
# With --print-bin, prints the binary's path on stdout (after building it if needed):
# the harness uses this so the version is chosen in this one place.
set -euo pipefail

version=${STAFETTE_NATS_SERVER_VERSION:-2.14.9}
cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
dir="$cache/nats-server-v$version"
bin="$dir/bin/nats-server"

print_bin=false
[ "${1:-}" = "--print-bin" ] && print_bin=true

if [ -x "$bin" ]; then
  $print_bin && echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "nats-server.sh: go is required to build nats-server" >&2; exit 1; }

echo "nats-server.sh: building nats-server v$version into $dir" >&2
start=$(date +%s)
mkdir -p "$dir"
# Build into a temporary bin and move it in place, so an interrupted build never
# leaves a half-written binary that the next run would take as cached.
tmp=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
  go install "github.com/nats-io/nats-server/v2@v$version"
mkdir -p "$dir/bin"
mv "$tmp/nats-server" "$bin"
echo "nats-server.sh: built nats-server v$version in $(( $(date +%s) - start ))s" >&2
$print_bin && echo "$bin"
exit 0
