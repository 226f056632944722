// The wire bounds (actors/wire_bounds.hpp): sizes a peer declares cannot make a member allocate
// what the bytes it sent do not hold. The messages are read by CAF's own deserializer, through
// the library's compiled code, as the network layer reads them.
#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/io/basp/header.hpp>
#include <gtest/gtest.h>

#include "actors/protocol.hpp"
#include "actors/wire_bounds.hpp"

namespace trainyard::testing {
namespace {

class WireBounds : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    config_ = new caf::actor_system_config;
    register_protocol(*config_);
    config_->load<caf::io::middleman>();
    config_->set("scheduler.max-threads", 1);
    system_ = new caf::actor_system{*config_};
  }
  static void TearDownTestSuite() {
    delete system_;
    delete config_;
  }

  static std::vector<char> bytes_of(const caf::message& msg) {
    std::vector<char> out;
    caf::binary_serializer sink{*system_, out};
    EXPECT_FALSE(sink(msg));
    return out;
  }

  static caf::error read(const std::vector<char>& bytes, caf::message& msg) {
    caf::binary_deserializer source{*system_, bytes.data(), bytes.size()};
    return source(msg);
  }

  // Peak resident memory of this process in MB.
  static long peak_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024;
  }

  static inline caf::actor_system_config* config_ = nullptr;
  static inline caf::actor_system* system_ = nullptr;
};

TEST_F(WireBounds, CafsLibraryCallsTrainyardsBounds) {
  EXPECT_EQ(wire::bounds_not_in_effect(), "");
}

// A message holding one byte, whose sequence length is rewritten to declare 4 GB: CAF 0.17 would
// resize the vector to 4 GB (and zero it) before finding the bytes missing. CAF's message reader
// drops a message whose element does not read (an empty message, no error); what matters is that
// nothing near 4 GB was allocated on the way.
TEST_F(WireBounds, AByteSequenceDeclaringMoreThanTheMessageHoldsIsRefusedBeforeItIsAllocated) {
  const long before = peak_mb();
  for (const auto& msg : {caf::make_message(std::vector<char>{'x'}),  // one of CAF's own types
                          caf::make_message(std::vector<std::uint8_t>{7})}) {  // trainyard's
    auto bytes = bytes_of(msg);
    ASSERT_GE(bytes.size(), 2u);
    // The last two bytes are the varbyte length (1) and the element; declare 2^32 - 1 instead.
    bytes.resize(bytes.size() - 2);
    for (char b : {'\xff', '\xff', '\xff', '\xff', '\x0f'})
      bytes.push_back(b);
    caf::message read_back;
    read(bytes, read_back);
    EXPECT_EQ(read_back.size(), 0u) << "a message with a 4 GB byte sequence was accepted";
  }
  EXPECT_LT(peak_mb() - before, 100) << "the declared size was allocated";

  // The refusal itself, as the deserializer's callers get it.
  const char declared[] = {'\xff', '\xff', '\xff', '\xff', '\x0f'};
  caf::binary_deserializer source{*system_, declared, sizeof(declared)};
  std::size_t size = 0;
  auto err = static_cast<caf::deserializer&>(source).begin_sequence(size);
  ASSERT_TRUE(err);
  EXPECT_NE(caf::to_string(err).find("a sequence declares 4294967295 elements with only 0 bytes "
                                     "left in its message"),
            std::string::npos)
    << caf::to_string(err);
}

// The largest message trainyard sends (a 16 MB chunk of a dataset file) and every kind of
// sequence still read back whole.
TEST_F(WireBounds, TheLargestRealMessageAndEmptyAndNestedSequencesReadBack) {
  std::vector<std::uint8_t> chunk(16u << 20);
  for (std::size_t i = 0; i < chunk.size(); ++i)
    chunk[i] = static_cast<std::uint8_t>(i * 31);
  job_info info;
  info.name = "nested";
  info.last_metrics = {{"val_accuracy", 0.5}};
  for (const auto& msg :
       {caf::make_message(chunk), caf::make_message(std::vector<std::uint8_t>{}),
        caf::make_message(std::string()), caf::make_message(std::vector<job_info>{info, info})}) {
    const auto bytes = bytes_of(msg);
    caf::message read_back;
    ASSERT_FALSE(read(bytes, read_back));
    EXPECT_EQ(bytes_of(read_back), bytes);
  }
}

// A BASP header declaring a payload over the bound is invalid: CAF closes the connection instead
// of resizing its read buffer to the declared length. Below the bound, CAF's own rules decide.
TEST_F(WireBounds, AFrameDeclaringMoreThanTheBoundIsInvalid) {
  caf::io::basp::header hdr{caf::io::basp::message_type::direct_message, 0, 100, 0, 1, 2};
  ASSERT_TRUE(caf::io::basp::valid(hdr));
  hdr.payload_len = wire::max_frame_bytes;
  EXPECT_TRUE(caf::io::basp::valid(hdr));
  hdr.payload_len = wire::max_frame_bytes + 1;
  EXPECT_FALSE(caf::io::basp::valid(hdr));
  hdr.payload_len = 0xFFFFFFFFu;
  EXPECT_FALSE(caf::io::basp::valid(hdr));
}

}  // namespace
}  // namespace trainyard::testing
