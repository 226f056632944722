#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (see fuzz/CMakeLists.txt) with AddressSanitizer and
# UndefinedBehaviorSanitizer:   scripts/fuzz.sh [SECONDS] [TARGET...]
# Builds fuzz/ with clang in build-fuzz/, then runs each TARGET (default: all) for SECONDS
# (default 600) on its seed corpus fuzz/corpus/TARGET. New inputs go to build-fuzz/found/TARGET,
# not into the repository; a crash, leak, timeout or out-of-memory input is written to
# build-fuzz/crashes/TARGET/ and the script exits 1 naming it. Keep a fixed crash input as a
# regression in fuzz/corpus/TARGET/regressions/, which the normal build's tests replay.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
all=(campaign spec_json tool_settings coco idx gray_png label_table image_decode export_tool)
targets=("${@:-${all[@]}}")
if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ is missing; install clang and libclang-rt-14-dev" >&2
  exit 2
fi
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=1
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CXX=clang++ cmake -S fuzz -B build-fuzz -G Ninja >/dev/null
fi
cmake --build build-fuzz -j "${FUZZ_JOBS:-2}" --target "${targets[@]}"
failed=0
for t in "${targets[@]}"; do
  found=build-fuzz/found/$t crashes=build-fuzz/crashes/$t
  mkdir -p "$found" "$crashes"
  echo "== $t: ${seconds}s on fuzz/corpus/$t"
  # -rss_limit_mb and -timeout make unbounded memory and hangs findings like crashes are.
  status=0
  ./build-fuzz/"$t" "$found" fuzz/corpus/"$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" \
    >build-fuzz/"$t".log 2>&1 || status=$?
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|SUMMARY|artifact_prefix|stat::number_of_executed_units|stat::peak_rss)' \
    build-fuzz/"$t".log | tail -n 8 || true
  if [ "$status" != 0 ] || ls "$crashes"/* >/dev/null 2>&1; then
    echo "fuzz.sh: $t found a failing input: $(ls "$crashes"/* 2>/dev/null | tr '\n' ' ')" \
         "(log build-fuzz/$t.log)" >&2
    failed=1
  fi
done
exit $failed
