// The image grid of `trainyard augment-preview`: a few dataset images, each as it is, at the
// lower and the upper limit of a job's augmentation ranges and under random draws, with boxes
// drawn and masks overlaid where the dataset has them. OpenCV lives in augment_preview.cpp; this
// header is torch- and OpenCV-free.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// What to show.
struct preview_request {
  dataset_spec dataset;                 ///< the job's dataset
  std::string kind = "classify";  ///< the job's tool kind (locate refuses rotation/shear)
  augmentation_settings augmentation;   ///< the job's ranges
  int images = 4;                       ///< rows: dataset images picked with `seed`; default 4
  int samples = 4;                      ///< random draws per image; default 4
  std::uint64_t seed = 1;               ///< seed of the picks and the draws; default 1
  int cell = 128;                       ///< pixels of one grid cell (images are fitted into it)
  std::string out;                      ///< PNG file to write
};

/// What was written.
struct preview_summary {
  int rows = 0, columns = 0;  ///< columns: original, lower, upper, then the draws
  int width = 0, height = 0;  ///< of the PNG
  bool boxes = false;         ///< boxes were drawn
  bool masks = false;         ///< masks were overlaid
};

/// Draws and writes the grid. The errors of check_augmentation, of the dataset's index and
/// files, and storage_failed when the PNG cannot be written.
expected<preview_summary> write_augment_preview(const preview_request& request);

}  // namespace trainyard
