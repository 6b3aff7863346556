#!/usr/bin/env bash
# Installs the Debian 12 packages attex builds with, when any is missing.
# Sourced by quickstart.sh and test.sh; runs apt-get only when needed.
set -euo pipefail

ATTEX_PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libeigen3-dev libspdlog-dev libfmt-dev
  libsqlite3-dev sqlite3 libssl-dev zlib1g-dev
  prometheus-cpp-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  libhnswlib-dev
  libboost-dev libsimdjson-dev
  openssl curl
  libpqxx-dev postgresql
  libhiredis-dev redis-server
  python3 python3-numpy python3-torch python3-sklearn python3-matplotlib python3-protobuf
  python3-yaml
  haproxy
  python3-grpcio python3-grpc-tools
)

attex_install_deps() {
  local missing=()
  for pkg in "${ATTEX_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "attex: all build packages are installed"
    return 0
  fi
  echo "attex: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

# Configures $1 with the further cmake arguments given: with Ninja when it is
# installed and the folder is new (a folder keeps the generator it was made
# with).
attex_configure() {
  local build_dir="$1"
  shift
  local generator=()
  if [ ! -f "$build_dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then
    generator=(-G Ninja)
  fi
  cmake -S . -B "$build_dir" "${generator[@]}" "$@"
}

# Configures and builds into $1 (default ./build) in Release, as a unity
# build (ATTEX_UNITY_BUILD: about half the compile time from scratch; for
# incremental work reconfigure with -DATTEX_UNITY_BUILD=OFF).
attex_build() {
  local build_dir="${1:-build}"
  local jobs
  jobs="$(nproc 2>/dev/null || echo 2)"
  attex_configure "$build_dir" -DCMAKE_BUILD_TYPE=Release -DATTEX_UNITY_BUILD=ON
  cmake --build "$build_dir" -j "$jobs"
}
