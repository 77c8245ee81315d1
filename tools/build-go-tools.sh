#!/usr/bin/env bash
# Builds the Go programs the tests run (kube-apiserver, etcd, helm, nats-server, ...)
# from the Go module proxy, once; later runs find them in the cache.
# Each program has its own script in tools/go-build/; each one is idempotent,
# logs its build time, and prints nothing when its binary is already cached.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in tools/go-build/*.sh; do
  [ -e "$script" ] || continue
  bash "$script"
done
