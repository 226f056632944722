#!/usr/bin/env bash
# Installs, from Debian's packages only, everything trainyard needs to build, test and run.
# Idempotent: packages already present are not touched. Runs as root, or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libtorch-dev libgloo-dev libopenblas0-openmp
  libopencv-dev libonnx-dev libboost-program-options-dev
  libgtest-dev googletest libsqlite3-dev zlib1g-dev
  nlohmann-json3-dev libncurses-dev tmux libssl-dev openssl procps python3
  dataset-fashion-mnist
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "setup: missing packages (${missing[*]}) and neither root nor sudo: install them as root" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
