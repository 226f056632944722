#!/usr/bin/env bash
# The GPU check of trainyard's training runtime: builds device_check/ (a CMake project of its own
# that needs LibTorch alone, see device_check/CMakeLists.txt) and runs its tests and its benchmark.
# Made for the lent GPU machine, which has a CUDA PyTorch but none of Debian's packages and no
# network; it runs the same on a CPU-only machine (GPU checks then SKIP and say why).
#
#   scripts/device-check.sh --prepare [--train-images N]
#       Here, where Debian's gzipped Fashion-MNIST is (/usr/share/datasets/fashion-mnist): writes
#       uncompressed IDX files into device_check/data/ (the GPU machine has no zlib): the first N
#       training images (default 30,000: 22.4 MiB) and all 10,000 test images (7.5 MiB).
#       That folder is ignored by git; the device tool must carry it (carry: device_check/data).
#
#   scripts/device-check.sh [--quick] [--device auto|cpu|cuda:N] [--build DIR] [--jobs N]
#       Finds LibTorch (the PyTorch of `python3`, else find_package's default, Debian's), builds in
#       DIR (default ${TMPDIR:-/tmp}/trainyard-device-check), runs device_check_tests, then
#       device_check, and writes ${OUT:-.}/device-check.json (build, tests, benchmark, libraries)
#       and ${OUT:-.}/device-check.log. --quick: small slices, a CPU finishes in about a minute
#       after the build. Everything stays within DEVICE_CHECK_SECONDS (default 540) so a 10-minute
#       command holds it, build included.
#
# Exit status: 0 when the build, every test and the benchmark succeeded; 1 otherwise.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/device_check/data"

prepare() {
  local train_images=$1 source=${DEVICE_CHECK_SOURCE:-/usr/share/datasets/fashion-mnist}
  mkdir -p "$data"
  python3 - "$source" "$data" "$train_images" <<'PY'
import gzip, os, struct, sys
source, target, train_images = sys.argv[1], sys.argv[2], int(sys.argv[3])
# IDX: big-endian magic (0x0803 images, 0x0801 labels), the count, then rows and cols for images.
for prefix, limit in (("train", train_images), ("t10k", 0)):
    for kind, magic, header in (("images", 0x0803, 16), ("labels", 0x0801, 8)):
        name = f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
        with gzip.open(os.path.join(source, name + ".gz"), "rb") as f:
            raw = f.read()
        if struct.unpack(">I", raw[:4])[0] != magic:
            sys.exit(f"{name}.gz: not an IDX {kind} file")
        count = struct.unpack(">I", raw[4:8])[0]
        keep = min(count, limit) if limit > 0 else count
        item = 784 if kind == "images" else 1
        out = raw[:4] + struct.pack(">I", keep) + raw[8:header] + raw[header:header + keep * item]
        with open(os.path.join(target, name + ".tmp"), "wb") as f:
            f.write(out)
        os.replace(os.path.join(target, name + ".tmp"), os.path.join(target, name))
        print(f"{name}: {keep} of {count} {kind}, {len(out)} bytes")
PY
  du -b "$data"/*-ubyte |
    awk '{s += $1} END {printf "device_check/data: %d bytes (%.1f MiB)\n", s, s / 1048576}'
}

# A JSON string literal of $1.
json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\t'/ }; s=${s//$'\r'/}; s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}

quick=0 device=auto build_base=${DEVICE_CHECK_BUILD:-${TMPDIR:-/tmp}/trainyard-device-check}
jobs=$(nproc 2>/dev/null || echo 2) train_images=30000 mode=run
while [[ $# -gt 0 ]]; do
  case $1 in
    --prepare) mode=prepare ;;
    --train-images) train_images=$2; shift ;;
    --quick) quick=1 ;;
    --device) device=$2; shift ;;
    --build) build_base=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    *) echo "usage: $0 --prepare [--train-images N] | [--quick] [--device auto|cpu|cuda:N]" \
            "[--build DIR] [--jobs N]" >&2; exit 2 ;;
  esac
  shift
done
if [[ $mode == prepare ]]; then
  prepare "$train_images"
  exit $?
fi

out_dir=${OUT:-.}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
json="$out_dir/device-check.json" log="$out_dir/device-check.log"
exec > >(tee "$log") 2>&1
deadline=$((SECONDS + ${DEVICE_CHECK_SECONDS:-540}))
left() { echo $((deadline - SECONDS)); }
# Seconds a step may take: what is left minus $1 kept for the steps after it, at least 10.
limit() { local t=$(( $(left) - $1 )); (( t < 10 )) && t=10; echo "$t"; }
echo "device-check: $(date -u +%FT%TZ) on $(hostname), $(nproc) cores, quick=$quick"

# --- data: prepared here and carried; prepared on the spot where the gzipped set is -------------
source_dir=${DEVICE_CHECK_SOURCE:-/usr/share/datasets/fashion-mnist}
if [[ ! -f $data/train-images-idx3-ubyte && -d $source_dir ]]; then
  prepare "$train_images"
fi

# --- LibTorch: the PyTorch install's, else find_package's default --------------------------------
torch_prefix="" torch_root="" torch_abi="" torch_version="" torch_cuda="" cuda_hints=""
for python in python3 /usr/bin/python3 python; do
  info=$("$python" - 2>/dev/null <<'PY'
import glob, os, site, torch
print(torch.utils.cmake_prefix_path)
print(os.path.dirname(torch.__file__))
print(int(torch._C._GLIBCXX_USE_CXX11_ABI))
print(torch.__version__)
print(torch.version.cuda or "")
folders = site.getsitepackages() + [site.getusersitepackages()]
print(";".join(h for d in folders for h in glob.glob(os.path.join(d, "nvidia", "*"))))
PY
) || continue
  { read -r torch_prefix; read -r torch_root; read -r torch_abi; read -r torch_version
    read -r torch_cuda; read -r cuda_hints; } <<<"$info"
  echo "LibTorch: PyTorch $torch_version (CUDA ${torch_cuda:-none}) of $python at $torch_root"
  break
done
[[ -z $torch_root ]] && echo "LibTorch: no PyTorch in python3; find_package(Torch)'s default"

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja)
elif ! command -v make >/dev/null; then echo "neither ninja nor make: cannot build"; fi

# Configures and builds in $1 with the remaining arguments; the meter's CUDA part is the one
# piece that needs CUDA headers, so a failed build is retried once without it.
build_in() {
  local dir=$1; shift
  (( $(left) < 180 )) && { echo "no time left to build"; return 1; }
  timeout 120 cmake -S "$root/device_check" -B "$dir" "${generator[@]}" "$@" || return 1
  timeout "$(limit 150)" cmake --build "$dir" -j "$jobs" && return 0
  echo "build failed; once more without the CUDA memory meter"
  timeout 60 cmake -S "$root/device_check" -B "$dir" -DDEVICE_CHECK_CUDA_METER=OFF || return 1
  timeout "$(limit 150)" cmake --build "$dir" -j "$jobs"
}

# One build folder per checkout and LibTorch: CMake refuses a folder configured for another
# source tree, and a cached Torch_DIR must never point at another install.
key=$(printf '%s|%s%s' "$root" "$torch_prefix" "$torch_root" | cksum | cut -d' ' -f1)
build_start=$SECONDS build_ok=0 attempts=()
if [[ -n $torch_prefix ]]; then
  dir="$build_base/$key-find-package"
  attempts+=("find_package(Torch) with CMAKE_PREFIX_PATH=$torch_prefix")
  build_in "$dir" -DCMAKE_PREFIX_PATH="$torch_prefix" -DDEVICE_CHECK_TORCH_ROOT= && build_ok=1
  if (( !build_ok )); then
    # TorchConfig of a CUDA PyTorch wants a CUDA toolkit; without one, take LibTorch by hand.
    dir="$build_base/$key-by-hand"
    attempts+=("by hand from $torch_root")
    build_in "$dir" -DDEVICE_CHECK_TORCH_ROOT="$torch_root" -DDEVICE_CHECK_CXX11_ABI="$torch_abi" \
      -DDEVICE_CHECK_CUDA_HINTS="$cuda_hints" && build_ok=1
  fi
else
  dir="$build_base/$key-default"
  attempts+=("find_package(Torch) at its default location")
  build_in "$dir" && build_ok=1
fi
build_seconds=$((SECONDS - build_start))
echo "build: ok=$build_ok in ${build_seconds}s (${attempts[*]})"

# --- tests, then the benchmark ------------------------------------------------------------------
tests_json=null bench_json=null tests_rc=-1 bench_rc=-1 needs=() missing=() loads=0
if (( build_ok )); then
  # What the benchmark links itself (LibTorch and the C and C++ runtimes only), what it loads in
  # all (LibTorch's own dependencies too: the log lists them), and what the loader cannot find.
  mapfile -t needs < <(readelf -d "$dir/device_check" 2>/dev/null |
                         sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  echo "device_check needs: ${needs[*]}"
  ldd "$dir/device_check" | sed 's/^/  loads /'
  loads=$(ldd "$dir/device_check" | grep -c '=>')
  mapfile -t missing < <(ldd "$dir/device_check" | awk '/not found/ {print $1}')
  explicit=(); [[ $device != auto ]] && explicit=(--device "$device")
  test_device=(); [[ $device == cuda* ]] && test_device=(--device "$device")
  tests_limit=$(limit 60); (( tests_limit > 120 )) && tests_limit=120
  timeout "$tests_limit" "$dir/device_check_tests" "${test_device[@]}" \
    --out "$out_dir/device-check-tests.json"
  tests_rc=$?
  [[ -s $out_dir/device-check-tests.json ]] && tests_json=$(cat "$out_dir/device-check-tests.json")
  quick_flag=(); (( quick )) && quick_flag=(--quick)
  timeout "$(limit 5)" "$dir/device_check" --data "$data" "${explicit[@]}" \
    "${quick_flag[@]}" --out "$out_dir/device-check-benchmark.json" >/dev/null
  bench_rc=$?
  [[ -s $out_dir/device-check-benchmark.json ]] &&
    bench_json=$(cat "$out_dir/device-check-benchmark.json")
fi

# A JSON array of the arguments' strings.
json_list() { local x; for x in "$@"; do json_str "$x"; echo; done | paste -sd, -; }
{
  printf '{"script":"scripts/device-check.sh","quick":%s,"host":%s,"cores":%s,' \
    "$([[ $quick == 1 ]] && echo true || echo false)" "$(json_str "$(hostname)")" "$(nproc)"
  printf '"libtorch":{"python_torch":%s,"torch_cuda":%s,"root":%s},' \
    "$(json_str "$torch_version")" "$(json_str "$torch_cuda")" "$(json_str "$torch_root")"
  printf '"build":{"ok":%s,"seconds":%s,"folder":%s,"attempts":[%s]},' \
    "$([[ $build_ok == 1 ]] && echo true || echo false)" "$build_seconds" "$(json_str "$dir")" \
    "$(json_list "${attempts[@]}")"
  printf '"device_check_needs":[%s],"device_check_loads":%s,"device_check_missing":[%s],' \
    "$(json_list "${needs[@]}")" "$loads" "$(json_list "${missing[@]}")"
  printf '"tests_exit":%s,"tests":%s,"benchmark_exit":%s,"benchmark":%s,"seconds":%s}\n' \
    "$tests_rc" "$tests_json" "$bench_rc" "$bench_json" "$SECONDS"
} >"$json"
echo "wrote $json and $log"
(( build_ok && tests_rc == 0 && bench_rc == 0 ))
