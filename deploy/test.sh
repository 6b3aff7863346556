#!/usr/bin/env bash
# Installs what is missing, builds in Release, and runs the whole test suite.
#   ./deploy/test.sh            # build into ./build and run ctest
#   BUILD_DIR=/tmp/b ./deploy/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/deps.sh

BUILD_DIR="${BUILD_DIR:-build}"
attex_install_deps
attex_build "$BUILD_DIR"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 600
