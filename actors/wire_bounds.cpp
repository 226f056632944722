// The two definitions that bound what a peer's declared sizes can make a member allocate (see
// wire_bounds.hpp). Each keeps CAF's behaviour for every input CAF's own encoder writes.
#include "actors/wire_bounds.hpp"

#include <dlfcn.h>

#include <cstring>

#include <caf/binary_deserializer.hpp>
#include <caf/error.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/sec.hpp>

namespace {

constexpr const char* begin_sequence_symbol = "_ZN3caf19binary_deserializer14begin_sequenceERm";
constexpr const char* valid_header_symbol = "_ZN3caf2io4basp5validERKNS1_6headerE";

using valid_header_fn = bool (*)(const caf::io::basp::header&);

// CAF's own header check, the next definition after the program's in the search order.
valid_header_fn cafs_valid_header() {
  static const auto fn = reinterpret_cast<valid_header_fn>(dlsym(RTLD_NEXT, valid_header_symbol));
  return fn;
}

// Where the dynamic linker resolves `symbol` for every library: the program's own definition
// when the interposition took.
bool resolves_to_this_program(const char* symbol, const void* ours) {
  void* found = dlsym(RTLD_DEFAULT, symbol);
  Dl_info where_found{}, where_ours{};
  return found != nullptr && dladdr(found, &where_found) != 0 &&
         dladdr(ours, &where_ours) != 0 && where_found.dli_fbase == where_ours.dli_fbase;
}

}  // namespace

// CAF 0.17 writes a sequence's size as a varbyte (7 bits a byte, low bits first, at most a
// uint32) and reads it back here. Every element of every type on trainyard's wire takes at least
// one byte, so a size larger than the bytes left cannot be true: it is refused here, before the
// caller resizes a container to it.
caf::error caf::binary_deserializer::begin_sequence(size_t& list_size) {
  std::uint32_t size = 0;
  std::uint8_t low7 = 0;
  int shift = 0;
  do {
    if (auto err = apply_impl(low7))
      return err;
    size |= static_cast<std::uint32_t>(low7 & 0x7F) << (shift & 31);
    shift += 7;
  } while ((low7 & 0x80) != 0);
  if (size > remaining())
    return caf::make_error(caf::sec::end_of_stream,
                           "a sequence declares " + std::to_string(size) +
                             " elements with only " + std::to_string(remaining()) +
                             " bytes left in its message");
  list_size = size;
  return caf::none;
}

// CAF's check of a BASP header, plus the frame bound: CAF closes a connection whose header is not
// valid, before it allocates the payload's buffer.
bool caf::io::basp::valid(const header& hdr) {
  auto cafs = cafs_valid_header();
  return hdr.payload_len <= trainyard::wire::max_frame_bytes && cafs != nullptr && cafs(hdr);
}

namespace trainyard::wire {

std::string bounds_not_in_effect() {
  // Any function of this program marks its image; the symbols must resolve into it.
  const auto* here = reinterpret_cast<const void*>(&bounds_not_in_effect);
  std::string missing;
  if (!resolves_to_this_program(begin_sequence_symbol, here))
    missing = "the bound on declared sequence sizes";
  if (!resolves_to_this_program(valid_header_symbol, here) || cafs_valid_header() == nullptr)
    missing += std::string(missing.empty() ? "" : " and ") + "the bound on frame sizes";
  return missing;
}

}  // namespace trainyard::wire
