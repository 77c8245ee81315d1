#!/usr/bin/env bash
# Installs the Debian packages the tests and the local run need, once.
# The list lives here so a fresh machine gets exactly what CI had.
set -euo pipefail

packages=(
  # Added by the issues that need them (nats tooling is Go-built, see build-go-tools.sh).
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-debian-packages: installing ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
