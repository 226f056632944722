// tool.json as trainyard_runtime reads it, written by hand (no training, no model): numbers
// that do not fit their field are refused with what is wrong, never converted or wrapped.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "deploy/trainyard_runtime.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::deploy {
namespace {

// A classify tool.json whose `key` (a JSON fragment such as "\"width\": 28") is replaced by
// `replacement`.
std::string tool_json(const std::string& key, const std::string& replacement) {
  std::string text = R"({"format": "trainyard-export", "format_version": 1,
    "trainyard_version": "0.1.0", "name": "shirts", "kind": "classify",
    "input": {"width": 28, "height": 28, "channels": 1},
    "normalization": {"mean": [0.3], "std": [0.35]}, "class_names": ["a", "b"],
    "colours": [[0, 0, 0], [255, 0, 0]], "best_batch": 4,
    "settings": {"model_file": "model.onnx"}})";
  return text.replace(text.find(key), key.size(), replacement);
}

std::string open_error(const std::string& text) {
  testing::temp_folder folder("deploy-tool-json");
  std::ofstream(folder / "tool.json") << text;
  std::string error;
  EXPECT_FALSE(tool::open(folder.str(), error));
  return error;
}

TEST(ToolJson, NumbersThatDoNotFitTheirFieldAreRefused) {
  // 1e100 and 1e30 as an int were undefined behaviour; 300 and -1 wrapped into a colour.
  const struct {
    const char* key;
    const char* replacement;
  } cases[] = {{"\"width\": 28", "\"width\": 1e100"},
               {"\"best_batch\": 4", "\"best_batch\": 1e30"},
               {"\"channels\": 1", "\"channels\": 4294967297"},
               {"[255, 0, 0]", "[300, 0, 0]"},
               {"[255, 0, 0]", "[255, -1, 0]"},
               {"\"format_version\": 1", "\"format_version\": 1.5"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.replacement);
    const std::string error = open_error(tool_json(c.key, c.replacement));
    EXPECT_NE(error.find("is not a whole number from"), std::string::npos) << error;
    EXPECT_NE(error.find("export the tool again"), std::string::npos) << error;
  }
}

TEST(ToolJson, AWholeDescriptionWithoutItsModelIsRefusedNamingTheModel) {
  const std::string error = open_error(tool_json("\"best_batch\": 4", "\"best_batch\": 4.0"));
  EXPECT_NE(error.find("model.onnx is missing"), std::string::npos) << error;
}

}  // namespace
}  // namespace trainyard::deploy
