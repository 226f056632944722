// Box pictures (runtime/tasks/locate/box_drawing.hpp): the PNG decodes to the image with coloured pixels
// along each box's edges, and nothing changed away from the boxes and their captions.
#include <gtest/gtest.h>

#include <fstream>

#include "runtime/tasks/locate/box_drawing.hpp"
#include "runtime/train/images.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard {
namespace {

using testing::temp_folder;

// Decodes PNG bytes to planar RGB through the runtime's own decoder.
std::vector<std::uint8_t> decode_rgb(const std::vector<std::uint8_t>& png, int width, int height) {
  temp_folder dir("boxes");
  const std::string path = (dir / "boxes.png").string();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  const image_geometry g{3, width, height};
  std::vector<std::uint8_t> out(g.bytes());
  auto decoded = decode_image_file(path, g, out.data());
  EXPECT_TRUE(decoded) << decoded.error().message;
  return out;
}

bool changed(const std::vector<std::uint8_t>& rgb, int width, int height, int x, int y,
             std::uint8_t background) {
  const std::size_t plane = static_cast<std::size_t>(width * height);
  const std::size_t at = static_cast<std::size_t>(y * width + x);
  return rgb[at] != background || rgb[plane + at] != background ||
         rgb[2 * plane + at] != background;
}

TEST(BoxDrawing, EdgesChangeAndTheRestStays) {
  const int w = 80, h = 64;
  const std::uint8_t background = 100;
  const std::vector<std::uint8_t> gray(static_cast<std::size_t>(w * h), background);
  const box b{2, 10, 20, 30, 25};  // edges at x 10 and 39, y 20 and 44
  auto png = draw_boxes(gray.data(), w, h, 1, {scored_box{b, 0.87f}}, {"a", "b", "coat"});
  ASSERT_TRUE(png) << png.error().message;
  const auto rgb = decode_rgb(*png, w, h);
  for (int x = 10; x <= 39; ++x) {
    EXPECT_TRUE(changed(rgb, w, h, x, 20, background)) << "top edge at x " << x;
    EXPECT_TRUE(changed(rgb, w, h, x, 44, background)) << "bottom edge at x " << x;
  }
  for (int y = 20; y <= 44; ++y) {
    EXPECT_TRUE(changed(rgb, w, h, 10, y, background)) << "left edge at y " << y;
    EXPECT_TRUE(changed(rgb, w, h, 39, y, background)) << "right edge at y " << y;
  }
  // Inside the box (below its caption's row band) and far outside it: untouched.
  for (int y = 25; y <= 42; ++y)
    for (int x = 12; x <= 37; ++x)
      EXPECT_FALSE(changed(rgb, w, h, x, y, background)) << x << "," << y;
  for (int y = 50; y < h; ++y)
    for (int x = 45; x < w; ++x)
      EXPECT_FALSE(changed(rgb, w, h, x, y, background)) << x << "," << y;
  // Just outside the edges: untouched below and to the right.
  EXPECT_FALSE(changed(rgb, w, h, 40, 30, background));
  EXPECT_FALSE(changed(rgb, w, h, 20, 45, background));
}

TEST(BoxDrawing, ColourImagesKeepTheirPixels) {
  const int w = 16, h = 8;
  std::vector<std::uint8_t> planar(static_cast<std::size_t>(3 * w * h));
  for (std::size_t i = 0; i < planar.size(); ++i)
    planar[i] = static_cast<std::uint8_t>(i / (w * h) == 0 ? 200 : i / (w * h) == 1 ? 50 : 10);
  auto png = draw_boxes(planar.data(), w, h, 3, {}, {});
  ASSERT_TRUE(png);
  EXPECT_EQ(decode_rgb(*png, w, h), planar);
}

TEST(BoxDrawing, RefusesBadImages) {
  const std::vector<std::uint8_t> pixels(16, 0);
  EXPECT_EQ(draw_boxes(pixels.data(), 4, 4, 2, {}, {}).error().code,
            error_code::invalid_request);
  EXPECT_EQ(draw_boxes(nullptr, 4, 4, 1, {}, {}).error().code, error_code::invalid_request);
  EXPECT_EQ(draw_boxes(pixels.data(), 0, 4, 1, {}, {}).error().code,
            error_code::invalid_request);
}

}  // namespace
}  // namespace trainyard
