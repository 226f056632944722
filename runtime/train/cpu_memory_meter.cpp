// The CPU memory meter (cpu_memory_meter.hpp), and the glibc allocator settings CPU training runs
// with (tune_malloc_for_training, engine.hpp).
#include "runtime/train/cpu_memory_meter.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#include "runtime/train/engine.hpp"

namespace trainyard {

namespace {

std::uint64_t read_kib_field(const char* path, const char* field) {
  std::ifstream in(path);
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.compare(0, prefix.size(), prefix) == 0)
      return std::strtoull(line.c_str() + prefix.size(), nullptr, 10) * 1024;
  return 0;
}

}  // namespace

cpu_memory_meter::cpu_memory_meter(double share) {
  const std::uint64_t available = read_kib_field("/proc/meminfo", "MemAvailable");
  const double part = static_cast<double>(available) * std::clamp(share, 0.0, 1.0);
  budget_ = read_kib_field("/proc/self/status", "VmRSS") + static_cast<std::uint64_t>(part);
}

void cpu_memory_meter::reset_peak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  resettable_ = static_cast<bool>(out);
}

std::uint64_t cpu_memory_meter::peak_bytes() {
  // Without a resettable high-water mark (old kernels, restricted /proc) the current resident
  // size after the trial is the best available reading.
  return read_kib_field("/proc/self/status", resettable_ ? "VmHWM" : "VmRSS");
}

// LibTorch allocates and frees 1-30 MB activation buffers every step; above glibc's default mmap
// threshold each is a fresh mmap/munmap with its page faults. Serving them from the heap and
// trimming rarely removes that churn. Once per process.
void tune_malloc_for_training() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    // Training runs on the worker's own thread, which glibc would serve from a secondary arena:
    // those grow and shrink in 64 MiB heaps and churn pages as the untuned main arena does
    // (bench/train_overhead compares the two paths). One arena keeps every thread on the tuned
    // main heap.
    mallopt(M_ARENA_MAX, 1);
  });
}

}  // namespace trainyard
