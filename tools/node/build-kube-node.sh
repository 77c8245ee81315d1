#!/usr/bin/env bash
# Builds the node components of the real node (test/harness/node/): kubelet, kube-proxy,
# kube-scheduler and kube-controller-manager, from the same Go module as kube-apiserver
# (test/kube-binaries, where they are `tool` lines), into
#   $STAFETTE_CACHE/kube-node-<version>/bin
# Keyed like tools/go-build/kube.sh: the folder by the Kubernetes version, the build by a
# hash of the module's inputs; a second run prints nothing. With the Go caches warm from
# kube.sh most packages are already compiled (about 1-3 min more on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."

module=test/kube-binaries
version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ { print $2; exit }' "$module/go.mod")
[ -n "$version" ] || { echo "build-kube-node.sh: no k8s.io/kubernetes version in $module/go.mod" >&2; exit 1; }
cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
dir="$cache/kube-node-$version"
binaries=(kubelet kube-proxy kube-scheduler kube-controller-manager)
# Bump when the build command below changes in a way that changes the binaries.
recipe=1
inputs=$( (echo "recipe $recipe"; cat "$module/go.mod" "$module/go.sum") | sha256sum | cut -c1-16)

cached=true
for b in "${binaries[@]}"; do [ -x "$dir/bin/$b" ] || cached=false; done
if $cached && [ -f "$dir/inputs" ] && [ "$(cat "$dir/inputs")" = "$inputs" ]; then
  exit 0
fi

command -v go >/dev/null || { echo "build-kube-node.sh: Go is needed to build the kubelet (see README)" >&2; exit 1; }
echo "build-kube-node.sh: building ${binaries[*]} $version from the Go module proxy (first time only)" >&2
start=$(date +%s)

# The release's version stamps, as kube.sh does (the kubelet reports it on the Node).
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$(echo "${version#v}" | cut -d. -f1)"
ldflags+=" -X $pkg.gitMinor=$(echo "$version" | cut -d. -f2) -X $pkg.gitTreeState=clean"
ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"

rm -rf "$dir.partial"
mkdir -p "$dir.partial/bin"
# CGO off, as for the control plane: static binaries and no C toolchain (the kubelet's
# cgo parts are optional: cAdvisor's libpfm and the like).
(
  cd "$module"
  CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$dir.partial/bin/" \
    "${binaries[@]/#/k8s.io/kubernetes/cmd/}"
)
"$dir.partial/bin/kubelet" --version >/dev/null
echo "$inputs" > "$dir.partial/inputs"
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "build-kube-node.sh: built $dir/bin/{$(IFS=,; echo "${binaries[*]}")} in $(( $(date +%s) - start )) s" >&2
