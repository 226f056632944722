#!/usr/bin/env bash
# The main job: install, build, and train the quickstart campaign (Fashion-MNIST classify tool,
# embedded scheduler, one CPU worker) into ./yard, printing live progress and test-set metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
exec ./build/trainyard run config/examples/quickstart.ini "$@"
