#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (ctest, two at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
ctest --test-dir build --output-on-failure -j 2 --timeout 900
