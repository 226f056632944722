// The anomaly tool as a tool_task: trained on good images only.
//
// Method: a convolutional autoencoder learns to reconstruct good images. Three scores come out
// for an image, each put on the scale of the good training images (z-score: minus their mean,
// over their standard deviation); the image score is the pixel memory's (see
// reconstruction_weight); the other two remain as metrics, and the reconstruction map is the
// defect map. Since the monitored validation AUROC is then the pixel memory's, which training
// does not change, early stopping and the best weights follow the autoencoder's validation loss
// (the kind's stopping metric, runtime/tasks/kinds.hpp):
//   pixel memory    the mean distance from the image's pixels (0-1, cube-rooted, pooled to at
//                   most 32x32, smoothed by a Gaussian of one cell) to their three nearest
//                   neighbours among the good training images';
//   memory bank     the distance from the image's encoder features (pooled to at most 4x4) to
//                   their nearest neighbour among the good training images' features;
//   reconstruction  the mean of the highest 10% of the per-pixel anomaly map, where the map is
//                   the squared reconstruction error (channel mean), smoothed by a 3x3 Gaussian.
// The per-pixel map is the defect map (heatmaps, pixel AUROC). The decision threshold on the
// image score is tuned on the validation set for the best balanced accuracy.
// Measured on the ten one-class Fashion-MNIST settings: bench/anomaly_one_class.cpp.
//
// Autoencoder (w = model_width / 2, at least 4): conv3x3(w) → conv3x3/2(2w) → conv3x3/2(2w)
// [latent at H/4] → up → conv3x3(w) → up → conv3x3(w) → conv1x1(channels), each conv but the last
// with BN (when tool.batch_norm) and ReLU; it reconstructs the normalised input (MSE).
//
// Metrics (prefixed "val_", "test_"): loss (MSE on good images), auroc (image, monitored),
// auroc_reconstruction, auroc_knn and auroc_pixel_knn (each score alone), balanced_accuracy and
// the defect class's precision, recall and F1 (at the tuned threshold, once there is one),
// pixel_auroc (when the set has defect masks).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "runtime/metrics/class_scores.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/onnx_graph.hpp"
#include "runtime/train/tool_files.hpp"
#include "runtime/train/tool_task.hpp"

namespace trainyard {

namespace {

namespace F = torch::nn::functional;
namespace nn = torch::nn;
namespace fs = std::filesystem;

struct autoencoder_shape {
  int channels = 1;
  int width = 16;
  bool batch_norm = true;
};

class AutoencoderImpl : public nn::Cloneable<AutoencoderImpl> {
 public:
  explicit AutoencoderImpl(const autoencoder_shape& shape) : shape_(shape) { reset(); }

  void reset() override {
    const int w = shape_.width;
    enc1_ = register_module("enc1", layer(shape_.channels, w, 1));
    enc2_ = register_module("enc2", layer(w, 2 * w, 2));
    enc3_ = register_module("enc3", layer(2 * w, 2 * w, 2));
    dec2_ = register_module("dec2", layer(2 * w, w, 1));
    dec1_ = register_module("dec1", layer(w, w, 1));
    out_ = register_module("out", nn::Conv2d(nn::Conv2dOptions(w, shape_.channels, 1)));
  }

  /// The latent features [B, 2w, H/4, W/4] of a normalised batch.
  torch::Tensor encode(const torch::Tensor& x) {
    return enc3_->forward(enc2_->forward(enc1_->forward(x)));
  }
  /// The reconstruction [B, C, H, W] of a normalised batch and its latent features.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    const torch::Tensor z = encode(x);
    const std::int64_t h = x.size(2), w = x.size(3);
    torch::Tensor y = dec2_->forward(up(z, (h + 1) / 2, (w + 1) / 2));
    y = dec1_->forward(up(y, h, w));
    return {out_->forward(y), z};
  }
  /// The layers in eval mode on `x` [N, C, height, width] in `graph`: the reconstruction's and
  /// the latent features' values, as forward.
  std::pair<std::string, std::string> to_onnx(onnx_graph& graph, const std::string& x,
                                              std::int64_t height, std::int64_t width) const {
    const std::string z = graph.sequential(
        graph.sequential(graph.sequential(x, *enc1_), *enc2_), *enc3_);
    // Each stride-2 convolution (kernel 3, padding 1) halves a size rounding up.
    const std::int64_t h2 = (height + 1) / 2, w2 = (width + 1) / 2;
    const std::int64_t h4 = (h2 + 1) / 2, w4 = (w2 + 1) / 2;
    std::string y = graph.sequential(graph.resize_nearest(z, h4, w4, h2, w2), *dec2_);
    y = graph.sequential(graph.resize_nearest(y, h2, w2, height, width), *dec1_);
    return {graph.conv(y, *out_), z};
  }

 private:
  nn::Sequential layer(int in, int out, int stride) const {
    nn::Sequential s;
    s->push_back(nn::Conv2d(
        nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(!shape_.batch_norm)));
    if (shape_.batch_norm)
      s->push_back(nn::BatchNorm2d(out));
    s->push_back(nn::ReLU(nn::ReLUOptions(true)));
    return s;
  }
  static torch::Tensor up(const torch::Tensor& x, std::int64_t h, std::int64_t w) {
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<std::int64_t>{h, w})
                                 .mode(torch::kNearest));
  }

  autoencoder_shape shape_;
  nn::Sequential enc1_{nullptr}, enc2_{nullptr}, enc3_{nullptr}, dec2_{nullptr}, dec1_{nullptr};
  nn::Conv2d out_{nullptr};
};
TORCH_MODULE(Autoencoder);

// Most memory-bank rows kept (evenly strided over the training set): bounds the kNN cost.
constexpr std::int64_t max_bank_rows = 8192;
// Weights of the feature-kNN and reconstruction z-scores next to the pixel-kNN one (weight 1) in
// the image score: 0. On one-class Fashion-MNIST the pixel kNN alone separates best (mean AUROC
// 0.9505; with the reconstruction at 0.05 0.9498, with the features at 0.25 0.9497, with both at
// 0.5 and 0.1 0.947; the features alone 0.920, the reconstruction alone 0.764:
// bench/anomaly_one_class; docs/performance.md, "The three annotated tools, measured").
constexpr double feature_weight = 0;
constexpr double reconstruction_weight = 0;
// The reconstruction's weight in the score of a tool saved without a pixel bank.
constexpr double legacy_reconstruction_weight = 0.25;

// The latent features are average-pooled to at most this many cells a side for the memory bank.
constexpr std::int64_t max_feature_cells = 4;
// The pixel memory bank holds each image's pixels (0-1) raised to pixel_power, average-pooled to
// at most max_pixel_cells a side, then smoothed by a Gaussian of pixel_sigma cells (edges
// replicated); its score is the mean distance to the pixel_neighbours nearest rows. The power
// brings faint parts of an item close to bright ones, so the item's shape counts more than its
// shade; on one-class Fashion-MNIST this separates better than raw pixels or the autoencoder's
// features (bench/anomaly_one_class; docs/performance.md).
constexpr double pixel_power = 1.0 / 3;
constexpr std::int64_t max_pixel_cells = 32;
constexpr double pixel_sigma = 1.0;
constexpr std::int64_t pixel_neighbours = 3;
// The reconstruction score is the mean of an image's highest map values, 1 in this many.
constexpr std::int64_t top_share = 10;

// Training images whose scores set the z-score scales.
constexpr std::int64_t scale_rows = 1024;

// Scores of a set of images with the current weights.
struct image_scores {
  torch::Tensor reconstruction;  ///< double [N]
  torch::Tensor knn;             ///< double [N]
  torch::Tensor maps;            ///< float [N, H, W], smoothed squared error
  torch::Tensor features;        ///< float [N, D]
  torch::Tensor pixels;          ///< float [N, P]: pixel_features
  torch::Tensor pixel_knn;       ///< double [N]
  torch::Tensor mse;             ///< double [N]: summed squared error per image
};

class anomaly_task final : public task_with_net<anomaly_task, Autoencoder> {
 public:
  explicit anomaly_task(const task_setup& s)
      : task_with_net(s, Autoencoder(autoencoder_shape{
                             s.channels, std::max(4, s.tool.model_width / 2), s.tool.batch_norm})) {}

  torch::Tensor batch_loss(const task_data& train, const torch::Tensor& rows,
                           torch::Generator& gen) override {
    const torch::Tensor x = training_batch(train.images, rows, transform_, augment_, gen);
    return F::mse_loss(model_->forward(x).first, x);
  }

  void infer(const torch::Tensor& x) override { (void)anomaly_maps(x, model_->forward(x).first); }

  void prepare(const task_data& train) override {
    const std::int64_t n = train.size();
    const std::int64_t stride = std::max<std::int64_t>(1, (n + max_bank_rows - 1) / max_bank_rows);
    const torch::Tensor rows = torch::arange(0, n, stride, torch::kLong);
    const image_scores s = score(train.images.index_select(0, rows), /*with_knn=*/false);
    bank_ = s.features;
    pixel_bank_ = s.pixels;
    // Scales from the good training images; kNN leave-one-out (the nearest row is the image).
    const std::int64_t m = std::min<std::int64_t>(scale_rows, bank_.size(0));
    const torch::Tensor knn =
        nearest_distance(bank_.narrow(0, 0, m), bank_, /*skip_self=*/true, 1);
    knn_mean_ = knn.mean().item<double>();
    knn_std_ = std::max(1e-12, knn.std().item<double>());
    const torch::Tensor pixel_knn =
        nearest_distance(pixel_bank_.narrow(0, 0, m), pixel_bank_, /*skip_self=*/true,
                         pixel_neighbours);
    pixel_mean_ = pixel_knn.mean().item<double>();
    pixel_std_ = std::max(1e-12, pixel_knn.std().item<double>());
    rec_mean_ = s.reconstruction.mean().item<double>();
    rec_std_ = std::max(1e-12, s.reconstruction.std().item<double>());
    const torch::Tensor sample = s.maps.narrow(0, 0, std::min<std::int64_t>(512, s.maps.size(0)));
    pixel_scale_ =
        std::max(1e-12, torch::quantile(sample.flatten(), 0.995).item<double>());
  }

  metric_map evaluate(const task_data& set, const std::string& prefix) override {
    const image_scores s = score(set.images, /*with_knn=*/true);
    const torch::Tensor combined = combine(s);
    metric_map out;
    const torch::Tensor good = set.labels.eq(0);
    const std::int64_t good_count = good.sum().item<std::int64_t>();
    const double pixels_per_image =
        static_cast<double>(set.images.size(1) * set.images.size(2) * set.images.size(3));
    // Loss: the training objective on the good images (all images when there are none).
    out[prefix + "loss"] =
        (good_count > 0 ? s.mse.index_select(0, good.nonzero().flatten()).sum().item<double>() /
                              static_cast<double>(good_count)
                        : s.mse.mean().item<double>()) /
        pixels_per_image;
    out[prefix + "auroc"] = auroc(combined, set.labels);
    out[prefix + "auroc_reconstruction"] = auroc(s.reconstruction, set.labels);
    out[prefix + "auroc_knn"] = auroc(s.knn, set.labels);
    if (s.pixel_knn.defined())
      out[prefix + "auroc_pixel_knn"] = auroc(s.pixel_knn, set.labels);
    if (has_threshold_) {
      const torch::Tensor flagged = combined.ge(threshold_);
      const torch::Tensor defect = set.labels.gt(0);
      out[prefix + "balanced_accuracy"] = balanced_accuracy(flagged, defect);
      // The defect class's precision, recall and F1 at the threshold, where defined.
      const auto count = [](const torch::Tensor& t) { return t.sum().item<std::int64_t>(); };
      const torch::Tensor passed = flagged.logical_not(), good = defect.logical_not();
      const class_scores scores = class_scores_of(
          {{count(passed.logical_and(good)), count(flagged.logical_and(good))},
           {count(passed.logical_and(defect)), count(flagged.logical_and(defect))}});
      for (const auto& [name, value] :
           {std::pair<const char*, double>{"defect_precision", scores.precision[1]},
            {"defect_recall", scores.recall[1]},
            {"defect_f1", scores.f1[1]}})
        if (!std::isnan(value))
          out[prefix + name] = value;
    }
    if (set.masks.defined() && set.masks.gt(0).any().item<bool>())
      out[prefix + "pixel_auroc"] = auroc(s.maps, set.masks);
    return out;
  }

  metric_map tune(const task_data& validation) override {
    const torch::Tensor scores = combine(score(validation.images, true));
    const torch::Tensor defect = validation.labels.gt(0);
    const std::int64_t defects = defect.sum().item<std::int64_t>();
    const std::int64_t goods = validation.size() - defects;
    if (defects == 0 || goods == 0) {
      // Nothing to balance: flag what scores above every good validation image.
      threshold_ = scores.numel() > 0 ? scores.max().item<double>() + 1e-6 : 0.0;
    } else {
      const auto sorted = scores.sort();
      const torch::Tensor v = std::get<0>(sorted);
      const torch::Tensor d = defect.index_select(0, std::get<1>(sorted)).to(torch::kLong);
      // Flag scores >= v[i]: defects caught = defects at or above i; goods passed = goods below i.
      const torch::Tensor defects_below = torch::cat({torch::zeros({1}, torch::kLong), d.cumsum(0)});
      const std::int64_t n = v.numel();
      const auto below = defects_below.accessor<std::int64_t, 1>();
      const auto values = v.accessor<double, 1>();
      double best = -1;
      std::int64_t best_i = 0;
      for (std::int64_t i = 0; i <= n; ++i) {
        if (i > 0 && i < n && values[i] == values[i - 1])
          continue;  // a threshold cannot split equal scores
        const double tpr = static_cast<double>(defects - below[i]) / static_cast<double>(defects);
        const double tnr = static_cast<double>(i - below[i]) / static_cast<double>(goods);
        if ((tpr + tnr) / 2 > best) {
          best = (tpr + tnr) / 2;
          best_i = i;
        }
      }
      threshold_ = best_i == 0   ? values[0] - 1e-6
                   : best_i == n ? values[n - 1] + 1e-6
                                 : (values[best_i - 1] + values[best_i]) / 2;
    }
    has_threshold_ = true;
    return {{"threshold", threshold_}};
  }

  bool save_state(torch::serialize::OutputArchive& a) const override {
    a.write("bank", bank_);
    if (pixel_bank_.defined()) {
      a.write("pixel_bank", pixel_bank_);
      a.write("pixel_scales", torch::tensor({pixel_mean_, pixel_std_}, torch::kDouble));
      a.write("pixel_method", pixel_method());
    }
    a.write("scales", torch::tensor({knn_mean_, knn_std_, rec_mean_, rec_std_, pixel_scale_,
                                     threshold_, has_threshold_ ? 1.0 : 0.0},
                                    torch::kDouble));
    return true;
  }
  void load_state(torch::serialize::InputArchive& a) override {
    torch::Tensor scales;
    a.read("bank", bank_);
    a.read("scales", scales);
    // Tools saved before the pixel bank existed have none, and a bank made another way does
    // not fit today's pixel features: their score stays the feature kNN's, as it was tuned.
    torch::Tensor pixel_scales, method;
    if (a.try_read("pixel_bank", pixel_bank_) && a.try_read("pixel_scales", pixel_scales) &&
        a.try_read("pixel_method", method) && method.equal(pixel_method())) {
      pixel_mean_ = pixel_scales[0].item<double>();
      pixel_std_ = pixel_scales[1].item<double>();
    } else {
      pixel_bank_ = torch::Tensor();
    }
    const auto v = scales.accessor<double, 1>();
    knn_mean_ = v[0];
    knn_std_ = v[1];
    rec_mean_ = v[2];
    rec_std_ = v[3];
    pixel_scale_ = v[4];
    threshold_ = v[5];
    has_threshold_ = v[6] > 0.5;
  }

  /// model.onnx: "image" → "reconstruction" [N, C, H, W] and "features" [N, 2w, H/4, W/4]
  /// (sizes rounded up); bank.bin and pixel_bank.bin: the memory banks, float32 rows
  /// (little-endian, as this machine writes them); the settings hold the score's scales, weights
  /// and threshold. A tool without a pixel bank (trained before it existed) exports none.
  expected<nlohmann::json> export_onnx(const std::string& folder, std::int64_t batch) override {
    if (!bank_.defined())
      return make_failure(error_code::invalid_request,
                          "tool " + setup_.tool.name +
                              " has no memory bank (task.pt); train it again to export it");
    model_->eval();
    const tool_spec& t = setup_.tool;
    const std::int64_t h = t.input_height, w = t.input_width;
    onnx_graph graph("anomaly", batch);
    const std::string x = graph.input("image", {setup_.channels, h, w});
    const auto [reconstruction, z] = model_->to_onnx(graph, x, h, w);
    graph.output(reconstruction, "reconstruction", {setup_.channels, h, w});
    const std::int64_t features = 2 * std::max(4, t.model_width / 2);
    graph.output(z, "features", {features, ((h + 1) / 2 + 1) / 2, ((w + 1) / 2 + 1) / 2});
    if (auto ok = graph.save(folder + "/model.onnx"); !ok)
      return ok.error();
    const auto write_bank = [&](const torch::Tensor& rows, const std::string& file) {
      const torch::Tensor b = rows.to(torch::kFloat).contiguous();
      return write_file_atomically(folder + "/" + file,
                                   std::string(static_cast<const char*>(b.data_ptr()), b.nbytes()));
    };
    if (auto ok = write_bank(bank_, "bank.bin"); !ok)
      return ok.error();
    nlohmann::json pixel_settings = nlohmann::json::object();
    if (pixel_bank_.defined()) {
      if (auto ok = write_bank(pixel_bank_, "pixel_bank.bin"); !ok)
        return ok.error();
      pixel_settings = {{"pixel_bank_file", "pixel_bank.bin"},
                        {"pixel_bank_columns", pixel_bank_.size(1)},
                        {"pixel_power", pixel_power},
                        {"pixel_cells", max_pixel_cells},
                        {"pixel_sigma", pixel_sigma},
                        {"pixel_neighbours", pixel_neighbours},
                        {"pixel_knn_mean", pixel_mean_},
                        {"pixel_knn_std", pixel_std_},
                        {"knn_weight", feature_weight}};
    }
    nlohmann::json settings = {{"model_file", "model.onnx"},
                          {"bank_file", "bank.bin"},
                          {"bank_rows", bank_.size(0)},
                          {"bank_columns", bank_.size(1)},
                          {"feature_cells", max_feature_cells},
                          {"top_share", top_share},
                          {"knn_mean", knn_mean_},
                          {"knn_std", knn_std_},
                          {"reconstruction_mean", rec_mean_},
                          {"reconstruction_std", rec_std_},
                          {"reconstruction_weight", pixel_bank_.defined()
                                                        ? reconstruction_weight
                                                        : legacy_reconstruction_weight},
                          {"pixel_scale", pixel_scale_},
                          {"threshold", has_threshold_ ? nlohmann::json(threshold_) : nullptr}};
    settings.update(pixel_settings);
    return settings;
  }

  expected<std::vector<prediction>> predict(const torch::Tensor& images,
                                            const std::vector<std::string>& files,
                                            const std::string& output_folder) override {
    const image_scores s = score(images, true);
    const torch::Tensor combined = combine(s);
    std::error_code ec;
    fs::create_directories(output_folder, ec);
    const std::int64_t h = images.size(2), w = images.size(3);
    std::vector<prediction> out;
    for (std::int64_t i = 0; i < images.size(0); ++i) {
      // Heatmap: the map on the good images' scale (1 = their 99.5th percentile pixel, red
      // from about twice that), as a jet colour map blended half and half with the image.
      const torch::Tensor v = s.maps[i].div(2 * pixel_scale_).clamp(0, 1);
      const torch::Tensor jet =
          torch::stack({(1.5 - (4 * v - 3).abs()).clamp(0, 1), (1.5 - (4 * v - 2).abs()).clamp(0, 1),
                        (1.5 - (4 * v - 1).abs()).clamp(0, 1)})
              .mul(255);
      const torch::Tensor rgb =
          (images.size(1) == 1 ? images[i].repeat({3, 1, 1}) : images[i]).to(torch::kFloat);
      const torch::Tensor heat =
          rgb.mul(0.5).add(jet.mul(0.5)).round().clamp(0, 255).to(torch::kUInt8).contiguous();
      const std::string& file = files[static_cast<std::size_t>(i)];
      const std::string heat_file =
          (fs::path(output_folder) / (fs::path(file).stem().string() + "_heatmap.png")).string();
      if (auto ok = write_png(heat_file, image_geometry{3, static_cast<int>(w), static_cast<int>(h)},
                              heat.data_ptr<std::uint8_t>());
          !ok)
        return ok.error();
      prediction p;
      p.image = file;
      p.score = combined[i].item<double>();
      p.label = has_threshold_ && p.score >= threshold_ ? 1 : 0;
      p.label_name = p.label == 1 ? "defect" : "good";
      p.files = {heat_file};
      out.push_back(std::move(p));
    }
    return out;
  }

 private:
  // Squared error per pixel (channel mean), smoothed by a 3x3 Gaussian: [B, H, W].
  static torch::Tensor anomaly_maps(const torch::Tensor& x, const torch::Tensor& reconstruction) {
    const torch::Tensor error = (reconstruction - x).pow(2).mean(1, /*keepdim=*/true);
    static const torch::Tensor kernel =
        (torch::tensor({1.f, 2.f, 1.f}).view({3, 1}) * torch::tensor({1.f, 2.f, 1.f}).view({1, 3}))
            .div(16)
            .view({1, 1, 3, 3});
    return F::conv2d(F::pad(error, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate)), kernel)
        .squeeze(1);
  }

  // The mean distance of each row to its `neighbours` nearest bank rows (leaving out the nearest,
  // the row itself, when the rows are bank rows; a one-row bank gives that row's distance).
  // In double precision: cdist computes distances through a matrix product (|a|^2 + |b|^2 -
  // 2ab), which in single precision was off by up to 1e-4 of the score; in double it costs
  // about twice the time and agrees with a direct computation (trainyard_runtime's).
  static torch::Tensor nearest_distance(const torch::Tensor& features,
                                        const torch::Tensor& bank_rows, bool skip_self,
                                        std::int64_t neighbours) {
    std::vector<torch::Tensor> parts;
    const std::int64_t skip = skip_self ? 1 : 0;
    const std::int64_t k = std::min(bank_rows.size(0), neighbours + skip);
    const torch::Tensor bank = bank_rows.to(torch::kDouble);
    for (std::int64_t start = 0; start < features.size(0); start += 1024) {
      const std::int64_t m = std::min<std::int64_t>(1024, features.size(0) - start);
      const torch::Tensor d = torch::cdist(features.narrow(0, start, m).to(torch::kDouble), bank);
      const torch::Tensor nearest = std::get<0>(d.topk(k, 1, /*largest=*/false));
      const std::int64_t first = std::min(skip, k - 1);
      parts.push_back(nearest.narrow(1, first, k - first).mean(1));
    }
    return parts.empty() ? torch::zeros({0}, torch::kDouble) : torch::cat(parts).to(torch::kDouble);
  }

  image_scores score(const torch::Tensor& images, bool with_knn) {
    const bool was_training = model_->is_training();
    model_->eval();
    torch::NoGradGuard no_grad;
    image_scores s;
    std::vector<torch::Tensor> maps, features, pixels, mse;
    for (std::int64_t start = 0; start < images.size(0); start += task_evaluation_batch) {
      const std::int64_t m = std::min<std::int64_t>(task_evaluation_batch, images.size(0) - start);
      const torch::Tensor x = transform_(images.narrow(0, start, m));
      const auto [reconstruction, z] = model_->forward(x);
      // Scores, maps and features come back to the CPU, where the memory bank and labels are.
      maps.push_back(anomaly_maps(x, reconstruction).to(torch::kCPU));
      mse.push_back((reconstruction - x).pow(2).sum({1, 2, 3}).to(torch::kCPU, torch::kDouble));
      const std::int64_t ph = std::min(max_feature_cells, z.size(2));
      const std::int64_t pw = std::min(max_feature_cells, z.size(3));
      features.push_back(torch::adaptive_avg_pool2d(z, {ph, pw}).flatten(1).to(torch::kCPU));
      pixels.push_back(pixel_features(images.narrow(0, start, m)));
    }
    model_->train(was_training);
    if (maps.empty()) {
      const torch::Tensor none = torch::zeros({0}, torch::kDouble);
      s.reconstruction = s.knn = s.pixel_knn = s.mse = none;
      s.maps = torch::zeros({0, images.size(2), images.size(3)});
      s.features = s.pixels = torch::zeros({0, 1});
      return s;
    }
    s.maps = torch::cat(maps);
    s.features = torch::cat(features);
    s.pixels = torch::cat(pixels);
    s.mse = torch::cat(mse);
    // The mean of the top 10% of each map.
    const torch::Tensor flat = s.maps.flatten(1);
    const std::int64_t top = std::max<std::int64_t>(1, flat.size(1) / top_share);
    s.reconstruction = std::get<0>(flat.topk(top, 1)).mean(1).to(torch::kDouble);
    if (with_knn && bank_.defined())
      s.knn = nearest_distance(s.features, bank_, false, 1);
    if (with_knn && pixel_bank_.defined())
      s.pixel_knn = nearest_distance(s.pixels, pixel_bank_, false, pixel_neighbours);
    return s;
  }

  // The image score: the z-scores summed with their weights. Before prepare (no banks) the
  // reconstruction's alone; a tool saved before the pixel bank existed has no pixel term, and
  // its feature kNN keeps the weight 1 it was tuned with (with reconstruction 0.25).
  torch::Tensor combine(const image_scores& s) const {
    const torch::Tensor rec = (s.reconstruction - rec_mean_) / rec_std_;
    if (!s.knn.defined())
      return rec;
    const torch::Tensor knn = (s.knn - knn_mean_) / knn_std_;
    if (!s.pixel_knn.defined())
      return knn + legacy_reconstruction_weight * rec;
    return (s.pixel_knn - pixel_mean_) / pixel_std_ + feature_weight * knn +
           reconstruction_weight * rec;
  }

  static double balanced_accuracy(const torch::Tensor& flagged, const torch::Tensor& defect) {
    const double defects = defect.sum().item<double>();
    const double goods = static_cast<double>(defect.numel()) - defects;
    const double tp = flagged.logical_and(defect).sum().item<double>();
    const double tn = flagged.logical_not().logical_and(defect.logical_not()).sum().item<double>();
    const double tpr = defects > 0 ? tp / defects : 1.0, tnr = goods > 0 ? tn / goods : 1.0;
    return (tpr + tnr) / 2;
  }

  // What makes the pixel bank, as a tensor saved with it: a bank made another way (an earlier
  // trainyard's) is not compared with today's features.
  static torch::Tensor pixel_method() {
    return torch::tensor({pixel_power, static_cast<double>(max_pixel_cells), pixel_sigma,
                          static_cast<double>(pixel_neighbours)},
                         torch::kDouble);
  }

  // A batch of 8-bit images [B, C, H, W] as the pixel memory bank's rows [B, C * ph * pw] on the
  // CPU: each pixel v / 255 raised to pixel_power, pooled to at most max_pixel_cells a side,
  // smoothed by a Gaussian of pixel_sigma cells (radius 3 sigma, edges replicated, one channel
  // at a time).
  static torch::Tensor pixel_features(const torch::Tensor& images) {
    const torch::Tensor x =
        images.to(torch::kCPU).to(torch::kFloat).div(255).pow(pixel_power);
    const std::int64_t ph = std::min(max_pixel_cells, x.size(2));
    const std::int64_t pw = std::min(max_pixel_cells, x.size(3));
    torch::Tensor p = ph == x.size(2) && pw == x.size(3)
                          ? x
                          : torch::adaptive_avg_pool2d(x, {ph, pw});
    const auto r = static_cast<std::int64_t>(std::ceil(3 * pixel_sigma));
    const torch::Tensor d = torch::arange(-r, r + 1, x.options().dtype(torch::kFloat));
    torch::Tensor g = torch::exp(d.pow(2).div(-2 * pixel_sigma * pixel_sigma));
    g = g.div(g.sum());
    p = p.reshape({-1, 1, ph, pw}).to(torch::kFloat);
    p = F::conv2d(F::pad(p, F::PadFuncOptions({r, r, 0, 0}).mode(torch::kReplicate)),
                  g.view({1, 1, 1, -1}));
    p = F::conv2d(F::pad(p, F::PadFuncOptions({0, 0, r, r}).mode(torch::kReplicate)),
                  g.view({1, 1, -1, 1}));
    return p.reshape({x.size(0), -1});
  }

  torch::Tensor bank_;   ///< float [rows, D]: good training images' features
  torch::Tensor pixel_bank_;  ///< float [rows, P]: their smoothed pixels (pixel_features)
  double pixel_mean_ = 0, pixel_std_ = 1;
  double knn_mean_ = 0, knn_std_ = 1, rec_mean_ = 0, rec_std_ = 1, pixel_scale_ = 1;
  double threshold_ = 0;
  bool has_threshold_ = false;
};

expected<std::unique_ptr<tool_task>> make_anomaly_task(const task_setup& setup) {
  return std::unique_ptr<tool_task>(std::make_unique<anomaly_task>(setup));
}

expected<task_data> anomaly_targets(const task_setup& setup, const dataset_index& index,
                                    const std::vector<std::int64_t>& images, labelled_images decoded,
                                    split_set set) {
  const int good = good_class(index);
  task_data d;
  d.labels = decoded.labels.ne(good).to(torch::kLong);
  d.images = std::move(decoded.images);
  if (!index.spec.masks.empty()) {
    // Defect masks mark defects with any non-zero value (often 255): no value is out of range.
    auto masks = load_label_masks(index, images, /*label_count=*/256, setup.tool.input_width,
                                  setup.tool.input_height, /*required=*/false);
    if (!masks)
      return masks.error();
    d.masks = masks->gt(0).to(torch::kUInt8);
  }
  if (set == train_set) {  // trained on good images only, whatever the split holds
    const torch::Tensor keep = d.labels.eq(0).nonzero().flatten();
    d.images = d.images.index_select(0, keep);
    d.labels = d.labels.index_select(0, keep);
    if (d.masks.defined())
      d.masks = d.masks.index_select(0, keep);
  }
  return d;
}

expected<std::vector<std::string>> anomaly_class_names(const tool_spec&, const dataset_index&) {
  return std::vector<std::string>{"good", "defect"};
}

}  // namespace

const task_kind& anomaly_task_kind() {
  static const task_kind kind{"anomaly", anomaly_class_names, anomaly_targets, make_anomaly_task};
  return kind;
}

}  // namespace trainyard
