#!/usr/bin/env bash
# Installs the Debian packages the tests, benchmarks and the local run need, once.
# The list lives here so a fresh machine gets exactly what CI had.
set -euo pipefail

packages=(
  postfix   # smtp-source / smtp-sink (load and remote servers) and the Postfix benchmark anchor
  swaks     # a real SMTP client for the integration tests and the quick start
  libnet-ssleay-perl libio-socket-ssl-perl   # swaks --tls
  openssl   # certificates for the test harness
  dnsmasq-base   # a real DNS server on loopback serving MX/A records for test domains
  dovecot-core dovecot-lmtpd dovecot-imapd   # LMTP delivery target, read back over IMAP
  python3-dkim   # dkimpy: the independent DKIM verifier (dkimverify)
  python3-dnspython   # dkimpy's key lookups pointed at the test DNS server (test/transports/dkim-verify.py)
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
# Packaged daemons (dovecot) must not start as system services: tests start their own.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
fi
trap '[ -n "$created_policy" ] && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
