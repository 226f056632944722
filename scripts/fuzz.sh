#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (see fuzz/CMakeLists.txt) with AddressSanitizer and
# UndefinedBehaviorSanitizer:   scripts/fuzz.sh [SECONDS] [TARGET...]
# Builds fuzz/ with clang in build-fuzz/ (or $FUZZ_BUILD), then runs each TARGET (default: all)
# for SECONDS (default 600) on its seed corpus fuzz/corpus/TARGET. New inputs go to
# BUILD/found/TARGET, not into the repository; a crash, leak, timeout or out-of-memory input is
# written to BUILD/crashes/TARGET/ and the script exits 1 naming it. Without clang or its fuzzer
# runtime it exits 77 (a skip for ctest) and says what to install. Keep a fixed crash input as a
# regression in fuzz/corpus/TARGET/regressions/, which the normal build's tests replay.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
all=(campaign spec_json tool_settings coco idx gray_png label_table image_decode export_tool
     caf_message)
targets=("${@:-${all[@]}}")
build=${FUZZ_BUILD:-build-fuzz}
if ! command -v clang++ >/dev/null ||
   [ ! -f "$(clang++ --print-runtime-dir)/libclang_rt.fuzzer-x86_64.a" ]; then
  echo "fuzz.sh: skipped: clang++ or its libFuzzer runtime is missing; install clang and" \
       "libclang-rt-14-dev (scripts/setup.sh does)" >&2
  exit 77
fi
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=1
if [ ! -f "$build"/CMakeCache.txt ]; then
  CXX=clang++ cmake -S fuzz -B "$build" -G Ninja >/dev/null
fi
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "${targets[@]}"
failed=0
for t in "${targets[@]}"; do
  found=$build/found/$t crashes=$build/crashes/$t
  mkdir -p "$found" "$crashes"
  echo "== $t: ${seconds}s on fuzz/corpus/$t"
  # Memory and time are findings like crashes are: inputs are at most 64 KB, so no reader may
  # allocate 128 MB at once for one, nor take 10 s. Image decoding may allocate what a header
  # declares up to its bound (max_decoded_pixels, 100 megapixels: 300 MB in colour), no more.
  status=0
  malloc_limit=128
  [ "$t" = image_decode ] && malloc_limit=512
  "$build/$t" "$found" fuzz/corpus/"$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -malloc_limit_mb="$malloc_limit" -timeout=10 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$crashes/" \
    >"$build/$t.log" 2>&1 || status=$?
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|SUMMARY|artifact_prefix|stat::number_of_executed_units|stat::peak_rss)' \
    "$build/$t.log" | tail -n 8 || true
  # libFuzzer exits non-zero on a finding; its input is the newest file of the crash folder
  # (older ones are from earlier runs).
  if [ "$status" != 0 ]; then
    echo "fuzz.sh: $t found a failing input: $crashes/$(ls -t "$crashes" | head -n 1)" \
         "(log $build/$t.log)" >&2
    failed=1
  fi
done
exit $failed
