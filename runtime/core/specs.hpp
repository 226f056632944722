// What a user declares: datasets, splits, tools, training settings and jobs. Plain structs with
// defaults, one comment per field (unit, default). Each configured struct has a field table in
// runtime/core/fields.hpp (keys, bounds, descriptions) through which it is parsed from campaign
// files (config/campaign.hpp), stored as JSON (runtime/store/spec_json.hpp) and carried inside
// actor messages (actors/protocol.hpp); a new member goes into its table too. No CAF, no torch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trainyard {

using job_id = std::uint64_t;
using metric_map = std::map<std::string, double>;

enum class dataset_kind : std::uint8_t {
  fashion_mnist = 0,  ///< gzipped IDX files (train-*, t10k-*) in one folder
  image_folder = 1,   ///< root/<label>/*.{png,jpg,jpeg,bmp}, decoded with OpenCV
  coco = 2,           ///< locate: images under `path`, boxes in the COCO JSON `annotations`
  masks = 3,          ///< segment: images under `path`, label masks (PNG) under `masks`,
                      ///< label table in `annotations`
  anomaly = 4,        ///< anomaly: path/good/*, path/defect/*, optional defect masks under `masks`
};

/// A set of labelled images.
struct dataset_spec {
  std::string name;                                  ///< unique within a workspace
  dataset_kind kind = dataset_kind::fashion_mnist;   ///< default fashion_mnist
  std::string path;                                  ///< folder of the IDX files, or the folder root
  bool color = false;  ///< image_folder: decode as 3 channels (RGB); default grayscale
  /// fashion_mnist: "all" (70,000 images: the 60,000 training ones then the 10,000 test ones,
  /// default), "train" or "test".
  std::string subset = "all";
  /// coco: the COCO JSON file of boxes; masks: the label table file. Empty otherwise.
  std::string annotations;
  /// masks: folder of label masks (one PNG per image, same file stem); anomaly: optional folder
  /// of ground-truth defect masks. Empty otherwise.
  std::string masks;
};

enum class split_mode : std::uint8_t {
  proportion = 0,  ///< train/validation/test are fractions of the dataset (sum <= 1)
  count = 1,       ///< train/validation/test are image counts (per dataset, sum <= size)
  /// The dataset's own test part (fashion-mnist subset all: the 10,000 t10k images) is the test
  /// set; validation is drawn from its training part (a fraction of it, <= 1, or a count, > 1),
  /// then train from the rest (a fraction of the rest, 1 = all of it, or a count); `test` is not
  /// used.
  official = 2,
};

/// Which set of a split an image belongs to. Stored as one byte per dataset image.
enum split_set : std::uint8_t { unused = 0, train_set = 1, validation_set = 2, test_set = 3 };

/// A named, seeded partition of a dataset. Images not drawn into any set are `unused`.
struct split_spec {
  std::string name;                     ///< unique within a workspace
  std::string dataset;                  ///< dataset name
  split_mode mode = split_mode::proportion;  ///< default proportion
  double train = 0.8;                   ///< fraction or count; default 0.8
  double validation = 0.1;              ///< fraction or count; default 0.1
  double test = 0.1;                    ///< fraction or count; default 0.1
  std::uint64_t seed = 42;              ///< shuffling seed; default 42
  bool stratified = true;               ///< keep class proportions in every set; default true
};

/// A model of one kind with its settings. Its trained state lives in `<workspace>/tools/<name>/`.
struct tool_spec {
  std::string name;                       ///< unique within a workspace
  /// The tool kind's name, one of the registered kinds (runtime/tasks/kinds.hpp): classify (a
  /// label per image), locate (boxes), segment (a label per pixel), anomaly (a score per image
  /// and a defect map); default classify.
  std::string kind = "classify";
  std::string dataset;                    ///< dataset it is trained on (fixes classes, channels)
  int input_width = 28;                   ///< pixels; images are resized to it; default 28
  int input_height = 28;                  ///< pixels; default 28
  int model_width = 32;                   ///< channels of the first convolution; default 32
  /// Batch normalisation layers in the model; default on. Off gives a model without batch
  /// statistics, whose data-parallel training matches one device exactly.
  bool batch_norm = true;
  /// classify: dropout probability before the last layer; default 0 (dropout 0.25 cost the
  /// default recipe accuracy and time on Fashion-MNIST: docs/performance.md, "Time to accuracy").
  double dropout = 0;
  /// classify: the network's size, "small", "normal", "medium" or "large" (speed against
  /// accuracy, see docs/recipes.md); the other kinds have one network and take "normal" only.
  /// Default normal.
  std::string model = "normal";
  int max_objects = 100;                  ///< locate: most boxes kept per image; default 100
  double detection_threshold = 0.5;       ///< locate: least score of a kept box; default 0.5
};

/// Augmentation ranges; every range is symmetric around "no change" and 0 disables it.
struct augmentation_settings {
  bool flip_horizontal = false;  ///< mirror left-right with probability 1/2; default off
  bool flip_vertical = false;    ///< mirror top-bottom with probability 1/2; default off
  double rotation = 0;           ///< degrees, uniform in [-r, r]; default 0
  double scale = 0;              ///< fraction, zoom uniform in [1-s, 1+s]; default 0
  double shift = 0;              ///< fraction of the image size, per axis in [-s, s]; default 0
  double shear = 0;              ///< degrees, uniform in [-s, s]; default 0
  double brightness = 0;         ///< added to [0,1] pixels, uniform in [-b, b]; default 0
  double contrast = 0;           ///< factor uniform in [1-c, 1+c] around the image mean; default 0
  double noise = 0;              ///< standard deviation of Gaussian noise on [0,1] pixels; default 0
  /// Tools trained with flip_horizontal average their outputs on each image and its mirror at
  /// validation, evaluate and predict (classify, locate, segment); default on.
  bool test_time_flips = true;
};

/// The value of a recipe number (weight_decay, warmup, label_smoothing, weight_averaging) that
/// means "the tool kind's own" (tool_kind_info::recipe); campaigns write it `auto`.
inline constexpr double auto_recipe_value = -1;

/// How a job trains. Every field has a default; 0 means "auto" where noted.
struct training_settings {
  int iterations = 0;        ///< epochs to train; 0 = auto (early stopping); default auto
  /// Length of an auto job; 0 = auto: from the training set's size (runtime/policy/job_length.hpp:
  /// at least 12 iterations and 10,000 images seen). Default auto.
  int max_iterations = 0;
  int patience = 3;          ///< auto: iterations without improvement before stopping, at 12
                             ///< iterations (longer jobs scale it); default 3
  double min_delta = 0.001;  ///< auto: smallest validation-accuracy gain that counts; default 0.001
  int batch_size = 0;        ///< images per step; 0 = auto (memory probe); default auto
  /// The optimizer's peak step size; auto_recipe_value = the kind's (classify 0.004, the others
  /// 0.001). Default auto.
  double learning_rate = auto_recipe_value;
  /// "adam", "adamw" (decoupled weight decay), "sgd" (Nesterov momentum 0.9), or "auto": the
  /// kind's recipe. Default auto.
  std::string optimizer = "auto";
  /// L2 penalty (adam, sgd) or decoupled decay (adamw); auto_recipe_value = the kind's.
  double weight_decay = auto_recipe_value;
  /// Learning-rate factor over the job's optimizer steps: "constant", "one_cycle" (linear rise
  /// to the peak at `warmup`, then linear fall to 0), "cosine" (linear warm-up over `warmup`,
  /// then a cosine down to 5%), or "auto": the kind's recipe. Default auto.
  std::string schedule = "auto";
  /// Fraction of the job's steps the rate rises over (one_cycle, cosine), in [0, 1); auto: the
  /// kind's.
  double warmup = auto_recipe_value;
  /// classify: the share of each label's target spread evenly over all classes, in [0, 1);
  /// auto: the kind's (0 for the kinds without image labels).
  double label_smoothing = auto_recipe_value;
  /// Decay per optimizer step of an exponential moving average of the weights, in [0, 1);
  /// 0 = off. Validation, best.pt, evaluate and predict use the averaged weights. auto: the
  /// kind's.
  double weight_averaging = auto_recipe_value;
  bool deterministic = false;   ///< bit-identical reruns (slower); default off
  std::uint64_t seed = 42;      ///< seed of weights, shuffling and augmentation; default 42
  int threads = 0;              ///< intra-op CPU threads; 0 = all cores; default 0
  double memory_share = 0.5;    ///< CPU: share of available RAM the batch-size probe may use; default 0.5
  int devices = 1;              ///< devices one job uses (data-parallel ranks); default 1
  augmentation_settings augmentation;  ///< default: none
};

/// Train `tool` on `split`, or continue its training.
struct job_spec {
  std::string name;                ///< unique within a workspace; a resubmitted name is the same job
  tool_spec tool;                  ///< the tool it trains (declared in the campaign)
  std::string split;               ///< split name
  bool continue_training = false;  ///< resume the tool's last state and train `iterations` more
  /// A trained tool of the same kind and input whose best weights a fresh tool starts from
  /// (a new output layer where the classes differ); empty: random initial weights. Default empty.
  std::string initialize_from;
  training_settings settings;
  /// The keys the job's campaign section wrote, sorted and comma-separated ("iterations,seed"),
  /// for continue jobs only: the settings a continue job does not inherit. Empty otherwise.
  std::string written_settings;
  /// A continue job: the settings it took from its tool's previous job (those its campaign did
  /// not write), as "key = value" pairs joined by ", "; filled when it is queued.
  std::string inherited_settings;
};

enum class job_state : std::uint8_t {
  queued = 0, running = 1, completed = 2, stopped = 3, failed = 4, cancelled = 5,
};

/// "queued", "running", ...
const char* to_string(job_state state);
/// true for completed, stopped, failed and cancelled.
inline bool is_final(job_state s) { return s != job_state::queued && s != job_state::running; }

const char* to_string(dataset_kind kind);

}  // namespace trainyard
