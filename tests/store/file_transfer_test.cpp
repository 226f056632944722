// Files that arrive in chunks (a node's tool files sent back to the scheduler): in place only
// once whole, never half under the real name, and a chunk out of order is refused.
#include "runtime/store/file_transfer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/temp_folder.hpp"

namespace trainyard {
namespace {

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(FileTransfer, AFileInChunksAppearsWholeOnlyAfterItsLastChunk) {
  testing::temp_folder dir("transfer");
  const std::string path = dir.str() + "/tools/t/checkpoint.pt";
  const std::vector<std::uint8_t> a{'a', 'b', 'c'}, b{'d', 'e'};
  ASSERT_TRUE(write_file_part(path, 0, a, false));
  EXPECT_FALSE(std::filesystem::exists(path)) << "a half file under the real name";
  ASSERT_TRUE(write_file_part(path, 3, b, true));
  EXPECT_EQ(contents(path), "abcde");

  // Sent again, shorter: the file is replaced whole at its last chunk, the old one kept till then.
  ASSERT_TRUE(write_file_part(path, 0, b, false));
  EXPECT_EQ(contents(path), "abcde");
  ASSERT_TRUE(write_file_part(path, 2, {}, true));
  EXPECT_EQ(contents(path), "de");

  // A chunk that does not follow the ones before it is refused, saying so.
  ASSERT_TRUE(write_file_part(path, 0, a, false));
  auto gap = write_file_part(path, 7, b, true);
  ASSERT_FALSE(gap);
  EXPECT_NE(gap.error().message.find("does not follow"), std::string::npos)
    << gap.error().message;
  EXPECT_EQ(contents(path), "de");
}

}  // namespace
}  // namespace trainyard
