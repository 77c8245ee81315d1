#!/usr/bin/env bash
# Installs the Debian packages the real node (test/node/) and `make image` need, once:
# the container runtime the kubelet talks to, the CNI plugins that put pods on the node's
# bridge, the netfilter tools kube-proxy, kube-router and the harness use, and what builds the image
# without a registry (dockerd for `docker build`, mmdebstrap for the local Debian base).
# Kept apart from tools/install-debian-packages.sh (the mail test tools): only the node
# test and the image need these.
set -euo pipefail

packages=(
  containerd                   # the CRI runtime of the kubelet (its own config, root and socket)
  runc                         # the OCI runtime containerd starts containers with
  containernetworking-plugins  # bridge, host-local, loopback in /usr/lib/cni
  iptables                     # kube-proxy (iptables mode), kube-router and the harness's FORWARD rules
  ipset                        # kube-router keeps the pods each NetworkPolicy selects in ipsets
  nftables                     # to check and clean what kube-proxy leaves in nf_tables
  nfacct                       # kube-proxy creates nfacct counters; the harness removes them
  conntrack                    # kube-proxy clears stale UDP entries with it
  docker.io                    # `make image`: docker build from a locally imported base
  mmdebstrap                   # `make image`: the Debian root filesystem of that base
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "node/install-packages: installing ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# containerd and docker must not start as system services: the harness and `make image`
# start their own, with their own state directories.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
fi
trap '[ -n "$created_policy" ] && $sudo rm -f "$policy"' EXIT
lock=(-o DPkg::Lock::Timeout=300)
$sudo apt-get "${lock[@]}" update -qq
$sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
