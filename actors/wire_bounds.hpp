// Bounds on what a peer's bytes can make a member allocate before any handler (or the gate) sees
// them. CAF 0.17 trusts two sizes that arrive on the wire:
// - a BASP frame's header declares its payload's length (up to 4 GB), and CAF's stream resizes
//   its read buffer to that length as soon as the 32-byte header is in;
// - a serialized sequence (a string, a vector, a map) declares its element count, and CAF resizes
//   a byte vector to that count before it finds the bytes missing.
// Neither has a setting. trainyard bounds both by giving the two library functions that read
// those sizes a definition of its own (wire_bounds.cpp): the program's definition comes first in
// the dynamic linker's search order, so CAF's own calls reach it (ELF symbol interposition; CAF's
// Debian libraries export both and call them through relocations, not directly).
#pragma once

#include <cstdint>
#include <string>

namespace trainyard::wire {

/// The largest BASP payload a peer may send: a larger frame closes its connection before its
/// bytes are read. trainyard's largest message is a 16 MB chunk of a dataset file (actors/
/// dataset.cpp), so 64 MB leaves room and bounds what one connection can make a member hold.
constexpr std::uint32_t max_frame_bytes = 64u << 20;

/// Empty when both bounds are what CAF's library calls reach; otherwise what is not (a CAF
/// built statically or with symbols bound inside the library would not call them).
std::string bounds_not_in_effect();

}  // namespace trainyard::wire
