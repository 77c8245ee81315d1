#!/usr/bin/env bash
# Builds kube-router from the Go module proxy, once, into
#   $STAFETTE_CACHE/kube-router-<version>/bin/kube-router
# The real node (test/harness/node/kube-router.ts) runs it as its NetworkPolicy controller
# only (firewall on, routing and service proxy off), beside the CNI bridge plugin, which
# enforces no NetworkPolicy by itself. Keyed by the version and a recipe number like
# build-kube-node.sh; a second run prints nothing.
#
# Why v2.1.0: it is the only v2 release the module proxy offers here (go list -m -versions),
# and security flaws are reported against it (which ones was not checked here). It runs only
# on the test node, never in the chart or the image, with routing and the service proxy off
# and a read-only ClusterRole (test/harness/node/kube-router.ts). Override with
# STAFETTE_KUBE_ROUTER_VERSION to try another release. With --print-bin, prints the
# binary's path on stdout (after building it if needed).
set -euo pipefail

version=${STAFETTE_KUBE_ROUTER_VERSION:-v2.1.0}
cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
dir="$cache/kube-router-$version"
bin="$dir/bin/kube-router"
# Bump when the build command below changes in a way that changes the binary.
recipe=1

print_bin=false
[ "${1:-}" = "--print-bin" ] && print_bin=true

if [ -x "$bin" ] && [ "$(cat "$dir/recipe" 2>/dev/null)" = "$recipe" ]; then
  $print_bin && echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "build-kube-router.sh: Go is needed to build kube-router (see README)" >&2; exit 1; }
echo "build-kube-router.sh: building kube-router $version from the Go module proxy (first time only)" >&2
start=$(date +%s)
rm -rf "$dir.partial"
mkdir -p "$dir.partial/bin"
# CGO off: a static binary; kube-router calls iptables, ip6tables and ipset as programs
# (tools/node/install-packages.sh installs them). The version stamp is what
# `kube-router --version` prints.
GOBIN="$dir.partial/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
  go install -trimpath -ldflags="-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$version" \
  "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$version"
"$dir.partial/bin/kube-router" --version >/dev/null
echo "$recipe" > "$dir.partial/recipe"
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "build-kube-router.sh: built $bin in $(( $(date +%s) - start )) s" >&2
$print_bin && echo "$bin"
exit 0
