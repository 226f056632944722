// The `locate` tool's model: a one-stage, anchor-free box detector in the manner of CenterNet
// ("Objects as Points", Zhou et al. 2019), sized for two CPU cores and inputs of about 96x96.
// Each object is the peak of a per-class centre heatmap on a grid of stride 4; the same cell
// regresses the box size and the centre's sub-cell offset. Also here: the target encoding from
// boxes, the loss, and the decoding of the heads back into boxes (peaks by 3x3 max-pooling, score
// threshold, at most max_objects, class-aware NMS from runtime/metrics/detection_metrics.hpp),
// and the export of the networks as ONNX (export_detector; deploy/locate_boxes.cpp decodes the
// exported heads the same way without LibTorch).
//
// Internal to the training runtime (runtime/train/, runtime/tasks/): includes LibTorch. The
// torch-free face for tests and benches is runtime/lab/detector_training.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "runtime/core/error.hpp"
#include "runtime/data/annotations.hpp"
#include "runtime/tasks/common/box_classifier.hpp"

namespace trainyard {

class onnx_graph;

/// What fixes the detector's layers.
struct detector_shape {
  int channels = 1;      ///< input channels: 1 gray, 3 RGB
  int height = 96;       ///< input pixels; any size (multiples of 8 align the grid best)
  int width = 96;
  int classes = 10;      ///< labels; one heatmap each
  int model_width = 16;  ///< channels of the first convolution; the stride-4 features have 2x
  bool batch_norm = true;  ///< batch normalisation after each backbone convolution
  /// Channels of the first layer of the box classifier; 0 = none (one stage). With a box
  /// classifier the heatmap has one channel (is there an object's centre here, of any label) and
  /// each found box's label comes from a second network that sees the box's pixels cropped and
  /// resampled to box_crop_size (see DetectorImpl::classify_crops).
  int box_classifier_width = 0;
  /// Whether the box classifier also sees each crop mirrored and averages (item_probabilities):
  /// only for detectors trained with horizontal flips. Not part of the weights.
  bool mirror_views = false;

  bool two_stage() const { return box_classifier_width > 0; }
  /// Channels of the heatmap: one per class, or one when a box classifier labels the boxes.
  int heatmap_channels() const { return two_stage() ? 1 : classes; }
};

/// Labels a box may be reported with in two-stage mode, best first (each scored separately):
/// a shirt the classifier half takes for a T-shirt still counts for AP as a shirt, lower ranked.
inline constexpr int labels_per_box = 3;

/// Input pixels per output cell.
inline constexpr int detector_stride = 4;

/// Output grid of an input size: each stride-2 convolution (kernel 3, padding 1) rounds up.
inline std::int64_t detector_cells(std::int64_t pixels) { return ((pixels + 1) / 2 + 1) / 2; }

/// The detector's outputs, all on the stride-4 grid [batch, *, cells_y, cells_x].
struct detection_heads {
  torch::Tensor heatmap;  ///< [N, heatmap_channels, h, w] centre logits (sigmoid → score)
  torch::Tensor size;     ///< [N, 2, h, w] box width, height in cells (input pixels / stride)
  torch::Tensor offset;   ///< [N, 2, h, w] centre x, y within its cell, in cells ([0, 1))
};

/// The network:
///   conv3x3/2(w) → conv3x3(w) → conv3x3/2(2w) → conv3x3(2w) = C4            (stride 4)
///   → conv3x3/2(4w) → conv3x3(4w) = C8                                       (stride 8)
///   F = conv3x3(2w)(C4 + conv1x1(2w)(upsample(C8)))                          (stride 4)
///   heads: H = ReLU(conv3x3(2w)(F)), then conv1x1 of H to classes, 2 and 2 channels
/// (one shared 3x3 for the three heads: separate ones cost a third of the model's work)
/// Every backbone convolution is followed by batch norm (when on) and ReLU. The receptive field
/// of F (about 43 px, plus the head's 3x3) spans a 28-40 px object, which the size head needs.
/// The heatmap's last bias starts at -2.19 (prior 0.1), as CenterNet does, so the focal loss
/// does not start swamped by the background.
///
/// Two stages (shape.box_classifier_width = c > 0), in the manner of Faster R-CNN's second
/// stage but on pixels rather than shared features: the one-channel heatmap finds items of any
/// label, and a small classifier labels each box from its square crop, resampled to 28x28 so an
/// item looks the same at every zoom. On the generated scenes labels, not boxes, held AP50 down
/// (class-agnostic AP50 0.98): the classifier sees every item at one scale, with the detector's
/// full width for telling garments apart. The classifier is make_box_classifier's (box_classifier.hpp).
class DetectorImpl : public torch::nn::Cloneable<DetectorImpl> {
 public:
  explicit DetectorImpl(const detector_shape& shape);
  /// (Re)creates and registers every layer, as Cloneable requires.
  void reset() override;
  /// Heads of a normalised float batch [N, channels, height, width].
  detection_heads forward(torch::Tensor x);
  /// Label logits [M, classes] of crops [M, channels, box_crop_size, box_crop_size] (see
  /// crop_boxes). Only in two-stage mode (throws otherwise).
  torch::Tensor classify_crops(torch::Tensor crops);
  /// Label probabilities of crops, each also seen mirrored with shape().mirror_views
  /// (item_probabilities). Two-stage only.
  torch::Tensor label_probabilities(const torch::Tensor& crops);
  const detector_shape& shape() const { return shape_; }
  /// Adds forward's layers to `g` (batch norms folded) from `image`, the value of a normalised
  /// batch [N, channels, height, width], and declares the heads as the outputs "heatmap",
  /// "size" and "offset".
  void add_to_graph(onnx_graph& g, const std::string& image) const;
  /// The box classifier (two-stage only; nullptr otherwise).
  const ClassifierImpl* box_classifier() const { return box_classifier_.get(); }
  /// The box classifier's dropout draws from `generator` (see ClassifierImpl).
  void set_dropout_generator(torch::Generator generator) {
    if (box_classifier_)
      box_classifier_->set_dropout_generator(std::move(generator));
  }

 private:
  detector_shape shape_;
  torch::nn::Sequential stage4_{nullptr}, stage8_{nullptr}, lateral_{nullptr}, merge_{nullptr};
  torch::nn::Sequential head_{nullptr};
  torch::nn::Conv2d heatmap_{nullptr}, size_{nullptr}, offset_{nullptr};
  Classifier box_classifier_{nullptr};
};
TORCH_MODULE(Detector);

/// Training targets of a batch, on the output grid.
struct detection_targets {
  torch::Tensor heatmap;  ///< [N, heatmap_channels, h, w] Gaussian bumps, 1 at each centre cell
  torch::Tensor size;     ///< [N, 2, h, w] width, height in cells at centre cells, else 0
  torch::Tensor offset;   ///< [N, 2, h, w] sub-cell centre at centre cells, else 0
  torch::Tensor mask;     ///< [N, 1, h, w] 1 at centre cells, else 0
};

/// Encodes boxes given in input pixels (one vector per image) for a model of `shape`. The bump's
/// radius is CenterNet's (a centre that far off still overlaps the box at IoU 0.7). Boxes with a
/// label outside [0, classes) or an empty size are skipped; centres are clamped into the grid.
/// When two boxes share a centre cell the later one's size and offset are kept. In two-stage mode
/// every box goes to the one heatmap channel.
detection_targets encode_detections(const std::vector<std::vector<box>>& boxes,
                                    const detector_shape& shape);

/// CenterNet's Gaussian radius for a box of `height` x `width` (cells or pixels alike): the
/// largest centre displacement whose box still overlaps the true one at IoU `min_overlap`.
double gaussian_radius(double height, double width, double min_overlap = 0.7);

/// Raises `plane` [height, width] to a Gaussian bump of `radius` (sigma = (2 radius + 1) / 6,
/// CenterNet's) centred on cell (cx, cy), 1 there; cells keep the larger of old and new values.
void draw_centre_bump(float* plane, std::int64_t height, std::int64_t width, std::int64_t cx,
                      std::int64_t cy, int radius);

/// CenterNet's penalty-reduced focal loss (alpha 2, beta 4) of centre-heatmap logits against a
/// target of the same shape (1 at each centre, Gaussian bumps around), over the centres' count.
torch::Tensor centre_focal_loss(const torch::Tensor& logits, const torch::Tensor& target);

/// Loss terms of a batch (each a scalar tensor).
struct detection_loss_terms {
  torch::Tensor total;    ///< heatmap + 0.1 * size + offset (CenterNet's weights) + labels
  torch::Tensor heatmap;  ///< penalty-reduced focal loss (alpha 2, beta 4) over the object count
  torch::Tensor size;     ///< L1 at centre cells, per object and coordinate
  torch::Tensor offset;   ///< L1 at centre cells, per object and coordinate
  torch::Tensor labels;   ///< two-stage: cross-entropy of the box classifier per box; else 0
};
detection_loss_terms detection_loss(const detection_heads& heads,
                                    const detection_targets& targets);

/// The whole training loss of a normalised batch `x` whose heads are `heads` (model.forward(x))
/// with its boxes (in x's pixels): the heads' loss, and in two-stage mode the box classifier's
/// cross-entropy on crops of the true boxes, jittered with draws from `generator` when one is
/// given (training), exact otherwise (validation loss).
detection_loss_terms detector_loss(DetectorImpl& model, const torch::Tensor& x,
                                   const detection_heads& heads,
                                   const std::vector<std::vector<box>>& boxes,
                                   torch::Generator* generator);

/// How many of the true boxes (in x's pixels) the box classifier names right, and how many were
/// asked: the labels alone, apart from finding the boxes. {0, 0} in one-stage mode.
std::pair<std::int64_t, std::int64_t> count_right_labels(DetectorImpl& model,
                                                         const torch::Tensor& x,
                                                         const std::vector<std::vector<box>>& boxes);

/// Boxes found in a normalised batch `x` whose heads are `heads` (model.forward(x)), per image,
/// in x's pixels: one stage, decode_detections of the heads; two stages, the heatmap's boxes
/// (any label, NMS among them; decode_detections alone gives these, the first stage) each
/// labelled by the box classifier, reported with up to labels_per_box labels scored
/// objectness x probability, those >= `threshold`, best first, at most `max_objects` per image.
std::vector<std::vector<scored_box>> detect_boxes(DetectorImpl& model, const torch::Tensor& x,
                                                  const detection_heads& heads, float threshold,
                                                  int max_objects, float nms_iou);

/// Boxes from the heads, per image: local maxima of the sigmoid heatmap (3x3 max-pool), the best
/// `max_objects` over all classes with a score >= `threshold`, then class-aware NMS at `nms_iou`
/// (which also keeps at most max_objects). Boxes are clipped to the grid's extent (cells x
/// stride: the input itself when its size is a multiple of 4) and then scaled by
/// `scale_x`, `scale_y` (image pixels per input pixel), so they come out in the stored image's
/// pixels. Reads the heads without gradients; any device. For AP, decode with a low threshold
/// (fit_detector uses 0.05): AP ranks every detection; tool_spec::detection_threshold is for
/// predictions a person reads.
std::vector<std::vector<scored_box>> decode_detections(const detection_heads& heads,
                                                       float threshold, int max_objects,
                                                       float nms_iou, float scale_x = 1,
                                                       float scale_y = 1);

/// Writes the detector as ONNX files into `folder` (which exists): model.onnx, input "image"
/// [batch, channels, height, width] (0: dynamic batch), outputs "heatmap", "size" and "offset"
/// (forward's heads); with a box classifier also items.onnx, input "crops" [M, channels,
/// box_crop_size, box_crop_size], output "logits". Returns the settings the post-processing
/// needs: file names, grid stride, the decoding's `threshold`, `max_objects` and `nms_iou`, and
/// the second stage's crop size and margin, labels per box and mirror views.
expected<nlohmann::json> export_detector(DetectorImpl& model, const std::string& folder,
                                         std::int64_t batch, float threshold, int max_objects,
                                         float nms_iou);

/// Heads that a perfect detector would output for these targets (heatmap logits from the target
/// heatmap, sizes and offsets as given): decoding them gives back the encoded boxes, up to the
/// grid. For tests of the encoding and decoding.
detection_heads heads_from_targets(const detection_targets& targets);

}  // namespace trainyard
