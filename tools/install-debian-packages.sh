#!/usr/bin/env bash
# Installs the Debian packages the tests, benchmarks and the local run need, once.
# The lists live here so a fresh machine gets exactly what CI had.
# `run` installs only what the local mail system uses (make run); `all` (the default)
# adds what the tests and benchmarks start or drive (make test).
set -euo pipefail

# What the local mail system itself needs at run time (`make run`, `make cluster`).
run_packages=(
  openssl   # the MTA's self-signed fallback certificate; the cluster harness's PKI
)
# Everything else the tests and benchmarks start or drive.
test_packages=(
  postfix   # smtp-source / smtp-sink (load and remote servers) and the Postfix benchmark anchor
  swaks     # a real SMTP client for the integration tests (make run only suggests it)
  libnet-ssleay-perl libio-socket-ssl-perl   # swaks --tls
  dnsmasq-base   # a real DNS server on loopback serving MX/A records for test domains
  dovecot-core dovecot-lmtpd dovecot-imapd   # LMTP delivery target, read back over IMAP
  python3-dkim   # dkimpy: the independent DKIM verifier (dkimverify)
  python3-dnspython   # dkimpy's key lookups pointed at the test DNS server (test/transports/dkim-verify.py)
  python3-authheaders python3-spf   # the independent SPF/DKIM/ARC/DMARC verifier the inbound checks are compared with
  python3-srs   # pysrs: an independent SRS implementation the SRS codec is compared with
  curl   # a real HTTPS client for the MTA-STS policy the MTA serves
  rspamd   # the spam filter the MX DATA path asks over HTTP (test/harness/rspamd.ts starts its own)
)

case "${1:-all}" in
  run) packages=("${run_packages[@]}") ;;
  all) packages=("${run_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 [run|all]   (run: only what make run needs; all: also the tests' packages)" >&2; exit 2 ;;
esac

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
