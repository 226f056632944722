// COCO detection files and label tables: a valid file read back field by field, then tables of
// malformed files, each of which must fail with the right code and a message naming the file,
// the entry and the problem.
#include "runtime/data/annotations.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/temp_folder.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::temp_folder;

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

/// A folder with two (empty) image files; read_coco only checks that they exist.
struct coco_folder {
  temp_folder dir{"annotations-test"};
  coco_folder() {
    write_text(dir / "images/a.png", "x");
    write_text(dir / "images/b.png", "x");
  }
  std::string json_path() const { return (dir / "boxes.json").string(); }
  std::string root() const { return (dir / "images").string(); }
};

const char* valid_coco = R"({
  "images": [
    {"id": 7, "file_name": "b.png", "width": 96, "height": 64},
    {"id": 3, "file_name": "a.png", "width": 50, "height": 40}
  ],
  "categories": [{"id": 5, "name": "shoe"}, {"id": 2, "name": "bag"}],
  "annotations": [
    {"id": 1, "image_id": 7, "category_id": 5, "bbox": [10, 20.5, 30, 40]},
    {"id": 2, "image_id": 7, "category_id": 2, "bbox": [0, 0, 96, 64]},
    {"id": 3, "image_id": 3, "category_id": 2, "bbox": [-0.4, 1, 50.6, 39]}
  ]
})";

TEST(ReadCoco, ReadsImagesLabelsAndBoxes) {
  coco_folder f;
  write_text(f.json_path(), valid_coco);
  auto d = read_coco(f.json_path(), f.root());
  ASSERT_TRUE(d) << d.error().message;
  // Labels in ascending category id.
  EXPECT_EQ(d->labels, (std::vector<std::string>{"bag", "shoe"}));
  EXPECT_EQ(d->category_ids, (std::vector<std::int64_t>{2, 5}));
  ASSERT_EQ(d->images.size(), 2u);
  const box_image& b = d->images[0];
  EXPECT_EQ(b.file, (f.dir.path() / "images" / "b.png").string());
  EXPECT_EQ(b.coco_id, 7);
  EXPECT_EQ(b.width, 96);
  EXPECT_EQ(b.height, 64);
  ASSERT_EQ(b.boxes.size(), 2u);
  EXPECT_EQ(b.boxes[0].label, 1);
  EXPECT_FLOAT_EQ(b.boxes[0].x, 10);
  EXPECT_FLOAT_EQ(b.boxes[0].y, 20.5f);
  EXPECT_FLOAT_EQ(b.boxes[0].width, 30);
  EXPECT_FLOAT_EQ(b.boxes[0].height, 40);
  EXPECT_EQ(b.boxes[1].label, 0);
  // A box a rounding error outside its image is clipped to it.
  const box_image& a = d->images[1];
  ASSERT_EQ(a.boxes.size(), 1u);
  EXPECT_FLOAT_EQ(a.boxes[0].x, 0);
  EXPECT_FLOAT_EQ(a.boxes[0].width, 50);
}

TEST(ReadCoco, ImageWithoutBoxesIsKept) {
  coco_folder f;
  write_text(f.json_path(), R"({"images": [{"id": 1, "file_name": "a.png", "width": 4,
    "height": 4}], "annotations": [], "categories": [{"id": 1, "name": "x"}]})");
  auto d = read_coco(f.json_path(), f.root());
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->images.size(), 1u);
  EXPECT_TRUE(d->images[0].boxes.empty());
}

struct bad_coco_case {
  const char* name;
  std::string json;
  error_code code;
  std::vector<std::string> message_parts;  // each must appear in the message
};

std::string with_annotation(const std::string& annotation) {
  return R"({"images": [{"id": 1, "file_name": "a.png", "width": 50, "height": 40}],
    "categories": [{"id": 1, "name": "x"}], "annotations": [)" +
         annotation + "]}";
}

std::string with_image(const std::string& image) {
  return R"({"images": [)" + image +
         R"(], "categories": [{"id": 1, "name": "x"}], "annotations": []})";
}

TEST(ReadCoco, MalformedFilesAreRefusedWithTheEntryAndTheFix) {
  const std::vector<bad_coco_case> cases = {
      {"not json", "{\"images\": [", error_code::invalid_config, {"is not valid JSON"}},
      {"number beyond a double", "{\"images\": 1e400}", error_code::invalid_config,
       {"is not valid JSON", "number overflow"}},
      {"top level array", "[]", error_code::invalid_config, {"not an object"}},
      {"no images", R"({"annotations": [], "categories": []})", error_code::invalid_config,
       {"no \"images\" array"}},
      {"no annotations", R"({"images": [], "categories": []})", error_code::invalid_config,
       {"no \"annotations\" array"}},
      {"no categories", R"({"images": [], "annotations": []})", error_code::invalid_config,
       {"no \"categories\" array"}},
      {"images not array", R"({"images": {}, "annotations": [], "categories": []})",
       error_code::invalid_config, {"\"images\" is a object, not an array"}},
      {"empty categories", R"({"images": [], "annotations": [], "categories": []})",
       error_code::invalid_config, {"\"categories\" is empty"}},
      {"category id string",
       R"({"images": [], "annotations": [], "categories": [{"id": "1", "name": "x"}]})",
       error_code::invalid_config, {"categories[0]", "\"id\" must be a whole number"}},
      {"category without name", R"({"images": [], "annotations": [], "categories": [{"id": 1}]})",
       error_code::invalid_config, {"categories[0] (id 1)", "missing \"name\""}},
      {"duplicate category id",
       R"({"images": [], "annotations": [], "categories": [{"id": 1, "name": "x"},
         {"id": 1, "name": "y"}]})",
       error_code::invalid_config, {"categories[1] (id 1)", "ids must be unique"}},
      {"duplicate category name",
       R"({"images": [], "annotations": [], "categories": [{"id": 1, "name": "x"},
         {"id": 2, "name": "x"}]})",
       error_code::invalid_config, {"categories[1] (id 2)", "names must be unique"}},
      {"image not object", with_image("3"), error_code::invalid_config,
       {"images[0]", "not an object"}},
      {"image id float", with_image(R"({"id": 1.5, "file_name": "a.png", "width": 5,
         "height": 5})"),
       error_code::invalid_config, {"images[0]", "\"id\" must be a whole number, not 1.5"}},
      {"image without file", with_image(R"({"id": 1, "width": 5, "height": 5})"),
       error_code::invalid_config, {"images[0] (id 1)", "missing \"file_name\""}},
      {"image width string", with_image(R"({"id": 1, "file_name": "a.png", "width": "5",
         "height": 5})"),
       error_code::invalid_config, {"images[0] (id 1)", "\"width\" must be a whole number"}},
      {"image zero height", with_image(R"({"id": 1, "file_name": "a.png", "width": 5,
         "height": 0})"),
       error_code::invalid_config, {"images[0] (id 1)", "not a valid image size"}},
      {"duplicate image id",
       with_image(R"({"id": 4, "file_name": "a.png", "width": 5, "height": 5},
         {"id": 4, "file_name": "b.png", "width": 5, "height": 5})"),
       error_code::invalid_config, {"images[1] (id 4)", "images[0] too", "must be unique"}},
      {"missing image file",
       with_image(R"({"id": 9, "file_name": "gone.png", "width": 5, "height": 5})"),
       error_code::dataset_unreadable, {"images[0] (id 9)", "gone.png does not exist"}},
      {"annotation unknown image",
       with_annotation(R"({"id": 11, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]})"),
       error_code::invalid_config, {"annotations[0] (id 11)", "image_id 2 is not the id"}},
      {"annotation unknown category",
       with_annotation(R"({"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]})"),
       error_code::invalid_config, {"annotations[0]", "category_id 3 is not the id"}},
      {"annotation without image id", with_annotation(R"({"category_id": 1, "bbox": [0, 0, 1,
         1]})"),
       error_code::invalid_config, {"annotations[0]", "missing \"image_id\""}},
      {"annotation without bbox", with_annotation(R"({"image_id": 1, "category_id": 1})"),
       error_code::invalid_config, {"annotations[0]", "missing \"bbox\""}},
      {"bbox three numbers",
       with_annotation(R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1]})"),
       error_code::invalid_config, {"annotations[0]", "must be 4 numbers", "[0,0,1]"}},
      {"bbox with string",
       with_annotation(R"({"image_id": 1, "category_id": 1, "bbox": [0, "0", 1, 1]})"),
       error_code::invalid_config, {"annotations[0]", "must be 4 numbers"}},
      {"bbox negative width",
       with_annotation(R"({"id": 5, "image_id": 1, "category_id": 1, "bbox": [10, 10, -3, 4]})"),
       error_code::invalid_config, {"annotations[0] (id 5)", "width -3", "must be above 0"}},
      {"bbox zero height",
       with_annotation(R"({"image_id": 1, "category_id": 1, "bbox": [10, 10, 3, 0]})"),
       error_code::invalid_config, {"annotations[0]", "height 0", "must be above 0"}},
      {"bbox past right edge",
       with_annotation(R"({"image_id": 1, "category_id": 1, "bbox": [40, 0, 12, 4]})"),
       error_code::invalid_config, {"annotations[0]", "outside its image", "50x40"}},
      {"bbox above top edge",
       with_annotation(R"({"image_id": 1, "category_id": 1, "bbox": [0, -2, 5, 4]})"),
       error_code::invalid_config, {"annotations[0]", "outside its image"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    coco_folder f;
    write_text(f.json_path(), c.json);
    auto d = read_coco(f.json_path(), f.root());
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, c.code) << d.error().message;
    EXPECT_NE(d.error().message.find(f.json_path()), std::string::npos) << d.error().message;
    for (const auto& part : c.message_parts) {
      EXPECT_NE(d.error().message.find(part), std::string::npos)
          << "'" << part << "' not in: " << d.error().message;
    }
  }
}

TEST(ReadCoco, MissingFileIsUnreadable) {
  temp_folder dir("annotations-test");
  auto d = read_coco((dir / "none.json").string(), dir.str());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, error_code::dataset_unreadable);
  EXPECT_NE(d.error().message.find("none.json does not exist"), std::string::npos);
}

TEST(ReadLabelTable, ReadsIndicesNamesAndColours) {
  temp_folder dir("annotations-test");
  write_text(dir / "labels.txt",
             "# the labels\n1 shoe 10 20 30\n\n0 background   # comment\n2 bag\n");
  auto t = read_label_table((dir / "labels.txt").string());
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].index, 0);
  EXPECT_EQ((*t)[0].name, "background");
  EXPECT_EQ((*t)[0].r + (*t)[0].g + (*t)[0].b, 0);  // background is black by default
  EXPECT_EQ((*t)[1].name, "shoe");
  EXPECT_EQ((*t)[1].r, 10);
  EXPECT_EQ((*t)[1].g, 20);
  EXPECT_EQ((*t)[1].b, 30);
  EXPECT_EQ((*t)[2].name, "bag");
  std::uint8_t r = 0, g = 0, b = 0;
  default_label_colour(2, r, g, b);
  EXPECT_EQ((*t)[2].r, r);
  EXPECT_EQ((*t)[2].g, g);
  EXPECT_EQ((*t)[2].b, b);
  EXPECT_GT(r + g + b, 0);
}

TEST(ReadLabelTable, MalformedTablesNameTheLine) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"", {"declares no labels"}},
      {"# only a comment\n", {"declares no labels"}},
      {"1 shoe\n", {"has no label 0"}},
      {"0 background\n2 bag\n", {"index 1 is missing", "line 2"}},
      {"0 background\n0 other\n", {":2:", "already declared on line 1"}},
      {"0 background\n1 background\n", {":2:", "\"background\" is already used"}},
      {"0 background\n256 x\n", {":2:", "not a whole number 0-255"}},
      {"0 background\n-1 x\n", {":2:", "not a whole number 0-255"}},
      {"0 background\n1 x 1 2\n", {":2:", "has 4 words"}},
      {"0 background\n1 x 1 2 300\n", {":2:", "colour \"300\""}},
      {"zero background\n", {":1:", "index \"zero\""}},
  };
  for (const auto& [text, parts] : cases) {
    SCOPED_TRACE(text);
    temp_folder dir("annotations-test");
    std::string path = (dir / "labels.txt").string();
    write_text(path, text);
    auto t = read_label_table(path);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, error_code::invalid_config);
    EXPECT_NE(t.error().message.find(path), std::string::npos) << t.error().message;
    for (const auto& part : parts) {
      EXPECT_NE(t.error().message.find(part), std::string::npos)
          << "'" << part << "' not in: " << t.error().message;
    }
  }
}

TEST(ReadLabelTable, MissingFileIsUnreadable) {
  temp_folder dir("annotations-test");
  auto t = read_label_table((dir / "labels.txt").string());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, error_code::dataset_unreadable);
}

}  // namespace
}  // namespace trainyard
