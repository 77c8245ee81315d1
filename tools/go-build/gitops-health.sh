#!/usr/bin/env bash
# Builds test/gitops-health (kstatus as Flux and kpt use it; Argo CD health scripts in the
# Lua VM Argo CD embeds) from the Go module proxy into
#   $STAFETTE_CACHE/gitops-health-<inputs>/bin/gitops-health
# where <inputs> is a hash of the module's go.mod, go.sum and sources, so branches with
# different pins keep their own builds. Prints nothing when the binary is cached; logs the
# build time otherwise. With --print-bin, prints the binary's path on stdout (after building
# it if needed): the test harness (test/harness/gitops-health.ts) finds it that way.
set -euo pipefail
cd "$(dirname "$0")/../.."

module=test/gitops-health
cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
inputs=$(cat "$module/go.mod" "$module/go.sum" "$module"/*.go | sha256sum | cut -c1-16)
dir="$cache/gitops-health-$inputs"
bin="$dir/bin/gitops-health"

print_bin=false
[ "${1:-}" = "--print-bin" ] && print_bin=true

if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "gitops-health.sh: Go is needed to build the checker (see README)" >&2; exit 1; }
  echo "gitops-health.sh: building $module from the Go module proxy (first time only)" >&2
  start=$(date +%s)
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial/bin"
  (cd "$module" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$dir.partial/bin/gitops-health" .)
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
  echo "gitops-health.sh: built $bin in $(( $(date +%s) - start )) s" >&2
fi
$print_bin && echo "$bin"
exit 0
