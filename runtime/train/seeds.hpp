// Seeds of a job's random streams: every draw of an iteration comes from a seed derived from
// (the job's seed, the iteration, the stream), so an iteration depends only on the state saved
// after the previous one. Torch-free.
#pragma once

#include <cstdint>

namespace trainyard {

// splitmix64: spreads (seed, iteration, stream) over 64 bits so nearby iterations get unrelated
// random streams.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The random draws of an iteration, each from its own stream.
enum class random_stream : std::uint64_t { dropout = 1, shuffle = 2, augmentation = 3 };

inline std::uint64_t iteration_seed(std::uint64_t seed, int iteration, random_stream stream) {
  // Generators take 63-bit seeds without complaint; keep them positive for readability.
  return splitmix64(splitmix64(seed) ^ splitmix64(static_cast<std::uint64_t>(iteration) * 131 +
                             static_cast<std::uint64_t>(stream))) >>
         1;
}

}  // namespace trainyard
