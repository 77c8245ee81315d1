#!/usr/bin/env bash
# Installs the Debian packages the tests, benchmarks and the local run need, once.
# The list lives here so a fresh machine gets exactly what CI had.
set -euo pipefail

packages=(
  postfix   # smtp-source / smtp-sink (load and remote servers) and the Postfix benchmark anchor
  swaks     # a real SMTP client for the integration tests and the quick start
  openssl   # certificates for the test harness
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-debian-packages: installing ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# Postfix must not configure itself as a system mailer: the tests run their own instances.
echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
