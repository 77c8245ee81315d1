#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from the Go module proxy into
#   $STAFETTE_CACHE/kube-v<version>/bin
# for the integration harness (test/harness/kube-apiserver.ts) and `make cluster`.
# There are no release downloads on the build machines, so the binaries come from the
# module graph pinned in test/kube-binaries/go.{mod,sum}. The folder is keyed by the
# Kubernetes version and the build records a hash of its inputs: a second run prints
# nothing, a version bump or go.sum change rebuilds.
set -euo pipefail
cd "$(dirname "$0")/../.."

module=test/kube-binaries
version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ { print $2; exit }' "$module/go.mod")
[ -n "$version" ] || { echo "kube.sh: no k8s.io/kubernetes version in $module/go.mod" >&2; exit 1; }
cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
dir="$cache/kube-$version"
# Bump when the build command below changes in a way that changes the binaries.
recipe=1
inputs=$( (echo "recipe $recipe"; cat "$module/go.mod" "$module/go.sum" "$module"/cmd/*/*.go) | sha256sum | cut -c1-16)

if [ -f "$dir/inputs" ] && [ "$(cat "$dir/inputs")" = "$inputs" ] \
  && [ -x "$dir/bin/kube-apiserver" ] && [ -x "$dir/bin/etcd" ] && [ -x "$dir/bin/kubectl" ]; then
  exit 0
fi

command -v go >/dev/null || { echo "kube.sh: Go is needed to build kube-apiserver (see README)" >&2; exit 1; }
echo "kube.sh: building kube-apiserver, etcd and kubectl $version from the Go module proxy (first time only; 7-20 min on 2 cores)" >&2
start=$(date +%s)

# The version variables a release build stamps in, so `kubectl version` and /version
# report the real release instead of v0.0.0-master.
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$(echo "${version#v}" | cut -d. -f1)"
ldflags+=" -X $pkg.gitMinor=$(echo "$version" | cut -d. -f2) -X $pkg.gitTreeState=clean"
ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"

rm -rf "$dir.partial"
mkdir -p "$dir.partial/bin"
# One `go build` for all three shares the compiled packages; -trimpath and -s -w keep
# the binaries (and the build cache) smaller. CGO is off: static binaries, no C toolchain.
(
  cd "$module"
  CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="$ldflags" \
    -o "$dir.partial/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl ./cmd/etcd
)
"$dir.partial/bin/kube-apiserver" --version >/dev/null
echo "$inputs" > "$dir.partial/inputs"
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "kube.sh: built $dir/bin/{kube-apiserver,etcd,kubectl} in $(( $(date +%s) - start )) s" >&2
