#!/usr/bin/env bash
# Installs what is missing (Debian packages), configures and builds trainyard into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# ccache in preprocessor mode: it hashes each file's preprocessed text, so an object is reused
# only for the same code. Direct mode (the default) once handed a clean clone a stale object built
# from another checkout of this repository on the same machine.
export CCACHE_NODIRECT=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
