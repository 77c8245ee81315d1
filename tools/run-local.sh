#!/usr/bin/env bash
# `make run`: the local mail system on its embedded defaults, with all state under
# ./.stafette/ (git-ignored), so a second run keeps its keys and queue.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.stafette
mkdir -p "$state"

echo "== Rendering examples/ into $state/render (DKIM keys are generated once and kept)"
./bin/stafette render examples --out "$state/render"

cat <<MSG

== What you have now
  Configuration bundle:  $state/render/bundle/bundle.json and secrets.json
  DKIM private keys:     $state/render/dkim/
  DNS records:           $state/render/dns/*.zone

  Try a change: edit examples/*.yaml and run 'make run' again; the keys stay, the
  bundle revision changes only when the configuration does.
  A real Kubernetes API with the CRDs installed: 'make cluster' (see README).
MSG
