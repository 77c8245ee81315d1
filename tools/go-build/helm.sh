#!/usr/bin/env bash
# Builds helm from the Go module proxy into $STAFETTE_CACHE/helm-<version>/bin/helm for
# the chart's tests. helm's go.mod has no replace directives, so `go install pkg@version`
# builds exactly the release's pinned module graph (checked against sum.golang.org).
# The folder is keyed by version: a second run prints nothing, a bump rebuilds.
set -euo pipefail

version=${STAFETTE_HELM_VERSION:-v3.22.0}
# helm's Makefile stamps the Kubernetes version it was built against (client-go v0.37
# => 1.37); it is the default .Capabilities.KubeVersion of `helm template`.
kube_minor=37
cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
dir="$cache/helm-$version"

[ -x "$dir/bin/helm" ] && exit 0

command -v go >/dev/null || { echo "helm.sh: Go is needed to build helm (see README)" >&2; exit 1; }
echo "helm.sh: building helm $version from the Go module proxy (first time only)" >&2
start=$(date +%s)

v=helm.sh/helm/v3/internal/version
ldflags="-s -w -X $v.version=$version -X $v.gitTreeState=clean"
for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$kube_minor"
done

rm -rf "$dir.partial"
mkdir -p "$dir.partial/bin"
# Outside any module, so this checkout's go.mod files cannot change helm's graph.
(
  cd "$dir.partial"
  CGO_ENABLED=0 GOBIN="$dir.partial/bin" go install -trimpath -buildvcs=false -ldflags="$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$version"
)
"$dir.partial/bin/helm" version --short >/dev/null
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "helm.sh: built $dir/bin/helm in $(( $(date +%s) - start )) s" >&2
