// The README's table of campaign keys is the one the code generates from its field tables
// (`trainyard help keys --markdown`), so a default or a key changed in the code cannot leave the
// README behind. To update it, replace the lines between the markers with that command's output.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "config/campaign_keys.hpp"

namespace trainyard::testing {
namespace {

TEST(ReadmeKeys, TheReadmeTableIsTheGeneratedOne) {
  std::ifstream in(std::string(TRAINYARD_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const std::string begin = "<!-- campaign-keys:begin -->\n", end = "<!-- campaign-keys:end -->";
  const auto from = readme.find(begin);
  const auto to = readme.find(end);
  ASSERT_NE(from, std::string::npos) << "README.md lacks the line " << begin;
  ASSERT_NE(to, std::string::npos) << "README.md lacks the line " << end;
  ASSERT_LT(from, to);
  const std::string table = readme.substr(from + begin.size(), to - from - begin.size());
  EXPECT_EQ(table, campaign_keys_markdown())
    << "README.md's key table differs from the code's: put the output of "
       "`./build/trainyard help keys --markdown` between the markers";
  // Spot checks of what the table must say: real defaults, every section.
  for (const char* row : {"| `iterations` | auto |", "| `learning_rate` | auto |",
                          "| `patience` | 3 |", "`[sweep.NAME]`", "| `workspace` | yard |"})
    EXPECT_NE(table.find(row), std::string::npos) << row << "\n" << table;
}

}  // namespace
}  // namespace trainyard::testing
