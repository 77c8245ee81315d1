#!/usr/bin/env bash
# Runs a TypeScript entry point with the project's Node (>= 24, which runs .ts directly):
# npm runs scripts with whatever node is on PATH, which may be older. ensure-node.sh finds
# or installs Node 24 (docs/performance.md §2.5).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
PATH="$("$here/ensure-node.sh"):$PATH"
export PATH
exec node "$@"
