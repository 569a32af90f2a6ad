#!/usr/bin/env bash
# Installs ctrack's build and test dependencies (Debian 12) and builds it.
# Usage: ./scripts/setup.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

packages=(
  build-essential cmake ninja-build pkg-config
  libpcap-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libmnl-dev libnetfilter-conntrack-dev libnetfilter-queue-dev
  # kernel-diff (differential tests against the kernel, in network namespaces)
  iproute2 nftables conntrack iptables
  # sanitizer and fuzzing runs
  clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTRACK_WERROR=ON >/dev/null
ninja -C "$build"
