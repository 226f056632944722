// The second stage of the locate and segment tools: a small classifier that labels one item from
// its square crop, resampled to a fixed size so that an item looks the same at every zoom.
//
// The classifier is the classify tool's model (runtime/tasks/classify/classifier.hpp), so one
// network serves all three tools. Segment uses its deep form (two convolutions per stage), which
// names items better at about twice the cost (bench/item_classifier); locate uses the plain form.
//
// Why: a one-stage model sees each item at its own scale through a narrow field per pixel or grid
// cell, and finds items far better than it names them. The crop classifier sees the whole item,
// framed as Fashion-MNIST frames it (docs/performance.md, "The three annotated tools,
// measured").
//
// Also here: the crops themselves (bilinear, through an affine grid, with optional jitter for
// training) and the items of label masks (connected parts of the foreground), which the segment
// tool crops and labels.
//
// Internal to the training runtime (runtime/train/, runtime/tasks/) (includes LibTorch).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "runtime/data/annotations.hpp"
#include "runtime/tasks/common/box_crops.hpp"
#include "runtime/tasks/classify/classifier.hpp"

namespace trainyard {

/// The classifier: the classify tool's model (classifier.hpp) on crops [M, channels, 28, 28],
/// of width `width`, with its dropout; `deep`: two convolutions in each of its first two stages
/// (classifier_shape::deep).
Classifier make_box_classifier(int channels, int width, int classes, bool batch_norm,
                               bool deep = false);

/// The classifier's width for a tool of `model_width`: twice it (32 at the default 16, the
/// classify tool's own default); a width of 64 trained slower without a clear gain
/// (docs/performance.md, "The three annotated tools, measured").
inline int box_classifier_width(int model_width) { return 2 * (model_width > 0 ? model_width : 1); }

/// The labels of boxes, one vector per image, in order: int64 [M] on the CPU.
torch::Tensor box_labels(const std::vector<std::vector<box>>& boxes);

/// Label probabilities [M, classes] of crops: the classifier's softmax, and with `mirror_views`
/// the mean of it on each crop and on its mirror image. Mirror views only for tools trained with
/// horizontal flips: then both views are as likely (the mean gave about a point of label
/// accuracy on the generated scenes); without flips a mirror may be another label (a left part
/// and a right part). Without gradients.
torch::Tensor item_probabilities(ClassifierImpl& classifier, const torch::Tensor& crops,
                                 bool mirror_views);

/// Square crops of `x` [N, C, H, W] around each box (given in x's pixels, one vector per image,
/// in order), side = box_crop_margin x the box's longer side, resampled bilinearly to
/// box_crop_size; outside the image reads 0 (the normalised mean). `jitter`, when defined, is
/// [M, 3] in [-1, 1] per box: the centre moves by up to 10% of the side on each axis and the
/// side scales by up to 15% (training crops that look like found boxes, which are not exact).
/// Returns [M, C, box_crop_size, box_crop_size]; M = 0 gives an empty tensor.
torch::Tensor crop_boxes(const torch::Tensor& x, const std::vector<std::vector<box>>& boxes,
                         const torch::Tensor& jitter = {});

/// Crops of items cut out of their images: like crop_boxes, but each item's crop shows only the
/// pixels of its own part (`parts` [N, H, W] int64, the item numbers of mask_items: counted over
/// all images in the order of `items`), every other pixel reads `background` ([1, C, 1, 1], the
/// normalised value of black), so an item on a textured scene looks like a Fashion-MNIST item on
/// its black ground. `jitter` as for crop_boxes; `mask_change`, when defined, is [M] int64 in
/// {-1, 0, 1}: the item's part eroded, kept or dilated by one pixel (training crops whose outline
/// is as unsure as a predicted one).
torch::Tensor crop_items(const torch::Tensor& x, const torch::Tensor& parts,
                         const std::vector<std::vector<box>>& items,
                         const torch::Tensor& background, const torch::Tensor& jitter = {},
                         const torch::Tensor& mask_change = {});

/// Uniform jitter in [-1, 1] for `count` crops from `generator` (training), or an undefined
/// tensor when there is no generator (evaluation: exact crops).
torch::Tensor crop_jitter(std::int64_t count, torch::Generator* generator);

/// The items of a batch of label masks [N, H, W] (any integer type; 0 = background), as the
/// array form in box_crops.hpp; `parts`, when given, receives [N, H, W] int64.
std::vector<std::vector<box>> mask_items(const torch::Tensor& masks, int least_pixels,
                                         torch::Tensor* parts = nullptr,
                                         bool separate_labels = false);

/// Items as the segment tool's instance stage sees them: item numbers per pixel [N, H, W] int64
/// (counted over all images in the order of `boxes`, -1 off items) and each item's box.
struct image_items {
  torch::Tensor parts;
  std::vector<std::vector<box>> boxes;
};

/// Centres and offsets of items: what the segment tool's centre head learns to output.
struct item_centres {
  torch::Tensor heat;    ///< [N, 1, H, W] in [0, 1]: Gaussian bumps, 1 at each item's centre pixel
  torch::Tensor offset;  ///< [N, 2, H, W] x, y from each item pixel to its item's centre, pixels
  torch::Tensor on;      ///< [N, 1, H, W] 1 on item pixels, else 0
};

/// Encodes items (mask_items' form: `parts` [N, H, W], `boxes` per image): an item's centre is
/// the centre of its box; the bump's radius is CenterNet's for the box (detector.hpp).
item_centres encode_item_centres(const torch::Tensor& parts,
                                 const std::vector<std::vector<box>>& boxes);

/// Decoding: the centres are the local maxima of `heat` [N, 1, H, W] over centre_window pixels
/// scoring at least centre_threshold, at most most_items_per_image per image (the best one alone
/// when an image has foreground but no such peak); each pixel of `foreground` [N, H, W] (bool)
/// joins the centre nearest to where its `offset` [N, 2, H, W] (pixels) points. Items that no
/// pixel joined are dropped; numbers have no gaps; boxes are the items' extents, label 0.
image_items find_items(const torch::Tensor& foreground, const torch::Tensor& heat,
                       const torch::Tensor& offset);

inline constexpr float centre_threshold = 0.3f;
/// Two items' centres closer than this window's half rarely occur on the generated scenes.
inline constexpr int centre_window = 7;
inline constexpr int most_items_per_image = 32;

}  // namespace trainyard
