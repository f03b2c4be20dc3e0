#!/usr/bin/env bash
# Installs every Debian 12 package spikeblox needs to build, test, benchmark and analyse.
# Idempotent: when everything is present it prints nothing and exits 0.
# Usage (as root): bash scripts/install-deps.sh [--with-peers]
#   --with-peers  also installs what bench/ uses besides: the peer simulators (Brian2, NEURON)
#                 and perf (bench/profile_workloads.py).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost-graph-dev libboost-dev
  libtomlplusplus-dev doctest-dev
  libhdf5-dev hdf5-tools zlib1g-dev  # zlib: the run file deflates its own chunks (engine/io/chunk_codec.cpp)
  libcli11-dev libfmt-dev
  libopenmpi-dev openmpi-bin
  python3 python3-h5py python3-numpy python3-pandas python3-matplotlib
  graphviz python3-bmtk  # tests: DOT output rendered by dot; run files read by bmtk (SONATA)
  clang libclang-rt-14-dev  # tests/fuzz: libFuzzer targets (-fsanitize=fuzzer)
)
if [[ "${1:-}" == "--with-peers" ]]; then
  packages+=(python3-brian python3-scipy neuron python3-neuron neuron-dev linux-perf)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
