// settings.json of a tool folder (runtime/train/tool_files.hpp): what it writes reads back, and
// numbers that do not fit their field are refused naming the field.
#include <gtest/gtest.h>

#include <string>

#include "runtime/train/tool_files.hpp"

namespace trainyard {
namespace {

tool_state small_state() {
  tool_state s;
  s.tool.name = "shirts";
  s.tool.kind = "classify";
  s.class_names = {"a", "b"};
  s.norm.mean = {0.25};
  s.norm.std = {0.5};
  s.batch_size = 32;
  s.completed = 7;
  return s;
}

// settings.json's text with the number of `key` replaced by `value`.
std::string with_number(const std::string& key, const std::string& value) {
  std::string text = to_json(small_state());
  const std::string field = "\"" + key + "\": ";
  const auto at = text.find(field) + field.size();
  return text.replace(at, text.find_first_of(",\n", at) - at, value);
}

TEST(ToolSettings, WhatIsWrittenReadsBack) {
  auto read = tool_state_from_json(to_json(small_state()), "settings.json");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->class_names, small_state().class_names);
  EXPECT_EQ(read->batch_size, 32);
  EXPECT_EQ(read->completed, 7);
  EXPECT_EQ(read->channels, 1);
}

TEST(ToolSettings, NumbersThatDoNotFitTheirFieldAreRefusedNamingIt) {
  // 1e100 as an int was undefined behaviour; 2^40 wrapped around silently.
  const struct {
    const char* key;
    const char* value;
  } cases[] = {{"channels", "5.5e91"}, {"batch_size", "1099511627776"},
               {"trained_iterations", "-1e300"}, {"job_id", "-3"}, {"threads", "2.5"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    auto read = tool_state_from_json(with_number(c.key, c.value), "settings.json");
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, error_code::storage_failed);
    EXPECT_NE(read.error().message.find(c.key), std::string::npos) << read.error().message;
    EXPECT_NE(read.error().message.find("settings.json is malformed"), std::string::npos);
  }
  // A whole number written as a float still reads, as before.
  auto read = tool_state_from_json(with_number("batch_size", "64.0"), "settings.json");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->batch_size, 64);
}

}  // namespace
}  // namespace trainyard
