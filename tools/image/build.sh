#!/usr/bin/env bash
# `make image`: builds ./Containerfile with docker on the Node 24 base of
# tools/image/base.sh (no registry is contacted: the base is imported, the build's RUN
# steps reach only Debian's packages and the npm registry) and tags the result
#   ghcr.io/stafette/stafette:<appVersion>   the chart's default image
#   stafette:dev                             helm/kind.yaml's image
# It then saves both tags to an archive under $STAFETTE_CACHE/images/, keyed by a hash
# of everything the build reads, which the real node imports into its containerd
# (test/harness/node/); a second run with the same inputs does nothing.
#
# Docker: the daemon at $DOCKER_HOST (or the default socket) when one answers, else a
# private dockerd started for the build and stopped after it, with its own data root in
# the cache (so layers stay cached) and no networking of its own (no bridge, no iptables
# rules, no ip_forward change): RUN steps use the host's network (--network=host).
#
# --print: prints the archive's path (building it first when needed).
set -euo pipefail
cd "$(dirname "$0")/../.."

print=false
[ "${1:-}" = "--print" ] && print=true
cache=${STAFETTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stafette}
app_version=$(awk '$1 == "appVersion:" { gsub(/"/, "", $2); print $2 }' charts/stafette/Chart.yaml)
repository=ghcr.io/stafette/stafette
tags=("$repository:$app_version" "stafette:dev")

# What the build reads: the Containerfile, .dockerignore and the files it lets through
# (the same exclusions, approximately: a file too many only costs a rebuild).
recipe=1
inputs() {
  echo "recipe $recipe ${tags[*]}"
  cat "$0" tools/image/base.sh
  git ls-files -co --exclude-standard -- . \
    ':!:test' ':!:bench' ':!:tools' ':!:charts' ':!:helm' ':!:examples' ':!:docs' ':!:bin' ':!:.ci' ':!:Makefile' \
    ':!:fuzz' ':!:eslint.config.js' ':!:.prettierrc' ':!:.prettierignore' ':!:.editorconfig' \
    ':!:*.test.ts' ':!:*.md' ':!:*testdata*' \
    | LC_ALL=C sort | while read -r f; do [ -f "$f" ] && sha256sum "$f"; done
}
key=$(inputs | sha256sum | cut -c1-16)
archive="$cache/images/stafette-$app_version-$key.tar"
if [ -f "$archive" ]; then
  $print && echo "$archive"
  exit 0
fi

base_tarball=$(bash tools/image/base.sh)
base_ref="stafette.local/node-base:$(basename "$base_tarball" .tar | sed 's/^node-//')"
start=$(date +%s)

# One build at a time per cache: a private dockerd owns its data root.
mkdir -p "$cache/images" "$cache/docker"
exec 9>"$cache/docker/lock"
flock 9

docker=/usr/bin/docker   # the daemon's own client (another docker on PATH may be newer)
[ -x "$docker" ] || docker=$(command -v docker)
run=""
stop_dockerd() {
  [ -n "$run" ] || return 0
  local pid
  pid=$(cat "$run/dockerd.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && grep -q "dockerd" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
  fi
  rm -rf "$run"
}
if ! "$docker" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "image/build.sh: no docker daemon answers and dockerd is missing (tools/node/install-packages.sh)" >&2; exit 1; }
  run=$(mktemp -d /tmp/stafette-dockerd.XXXXXX)
  trap stop_dockerd EXIT
  echo '{}' > "$run/daemon.json"
  dockerd --config-file "$run/daemon.json" \
    --data-root "$cache/docker/root" --exec-root "$run/exec" --pidfile "$run/dockerd.pid" \
    --host "unix://$run/docker.sock" \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --log-level=warn >"$run/dockerd.log" 2>&1 &
  export DOCKER_HOST="unix://$run/docker.sock"
  for _ in $(seq 1 150); do "$docker" info >/dev/null 2>&1 && break; sleep 0.2; done
  "$docker" info >/dev/null 2>&1 || { echo "image/build.sh: dockerd did not start:" >&2; tail -20 "$run/dockerd.log" >&2; exit 1; }
fi

if ! "$docker" image inspect "$base_ref" >/dev/null 2>&1; then
  "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' "$base_tarball" "$base_ref" >/dev/null
fi

echo "image/build.sh: building ${tags[*]} from Containerfile on $base_ref" >&2
tag_args=()
for t in "${tags[@]}"; do tag_args+=(-t "$t"); done
# The host's CA bundle for the build's npm ci (see the Containerfile's `ca` secret).
ca=${STAFETTE_IMAGE_CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}}
secret_args=()
# The commit this build ran at: the cache key covers every input, so an image reused by a later
# commit was built from identical sources and keeps the revision it was first built at.
revision=$(git rev-parse HEAD 2>/dev/null || true)
[ -s "$ca" ] && secret_args=(--secret "id=ca,src=$ca")
DOCKER_BUILDKIT=1 "$docker" build --network=host --progress=plain "${secret_args[@]}" \
  --build-arg "NODE_IMAGE=$base_ref" --build-arg "VERSION=$app_version" --build-arg "REVISION=$revision" \
  "${tag_args[@]}" -f Containerfile . >"$cache/images/build.log" 2>&1 \
  || { tail -40 "$cache/images/build.log" >&2; echo "image/build.sh: docker build failed; log: $cache/images/build.log" >&2; exit 1; }
"$docker" save -o "$archive.partial" "${tags[@]}"
mv "$archive.partial" "$archive"
find "$cache/images" -maxdepth 1 -name 'stafette-*.tar' ! -name "$(basename "$archive")" -delete
size=$("$docker" image inspect -f '{{.Size}}' "${tags[0]}")
echo "image/build.sh: built ${tags[*]} ($(( size / 1000000 )) MB) in $(( $(date +%s) - start )) s; archive $archive" >&2
$print && echo "$archive"
exit 0
