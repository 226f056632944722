// The field tables of the specs users configure. For each struct of specs.hpp that a campaign
// declares, `fields(f, x)` names every member once: its key (the JSON key, and the campaign INI
// key where that differs), its bounds and a one-line description; its default is the member's
// value in a default-constructed struct. Like CAF's `inspect`, a table is one call
// `f(type_name, field(...)...)` and the visitor decides what to do with the fields.
//
// The tables drive the CAF serialisation (actors/protocol.hpp), the JSON codec
// (runtime/store/spec_json.cpp), the campaign reader and the `--help` listing of campaign keys
// (config/campaign_fields.hpp), and the bounds checked by validate (runtime/core/validate.hpp).
// A member missing from its table is missing everywhere, which the round-trip test catches.
// No CAF, no torch, no JSON here.
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/core/specs.hpp"

namespace trainyard {

/// One accepted spelling of an enum or string value. Aliases are read from JSON, never written.
template <class T>
struct choice {
  const char* name;
  T value;
  bool alias = false;
};

/// Numeric limits of a field; an open side excludes its limit.
struct field_bounds {
  std::optional<double> lo;
  std::optional<double> hi;
  bool lo_open = false;
  bool hi_open = false;

  bool admits(double v) const;
  /// The limits alone, e.g. "from 4 to 4096", ">= 0 and < 1"; "" when there are none.
  std::string limits() const;
  /// What a value must be, e.g. "a whole number of pixels from 4 to 4096", "a number >= 0 and < 1".
  std::string expectation(bool whole, const char* unit) const;
};

/// How a field appears in a campaign section.
enum class ini_form : std::uint8_t {
  value,      ///< `key = value`
  path,       ///< a file or folder, relative to the campaign file; not empty
  reference,  ///< required: the name of a [KEY.NAME] section (a nested spec: its `name`)
  flat,       ///< a nested struct whose keys sit in the same section
  none,       ///< not a key (the section's name)
};

/// One row of a field table: a member and what is known about it.
template <class T>
struct field_def {
  field_def(const char* k, T* v) : key(k), value(v), ini_key(k) {}

  const char* key;                ///< JSON key; also the INI key unless `ini_key` differs
  T* value;
  const char* ini_key;            ///< campaign key
  const char* description = "";   ///< one line for --help
  const char* unit = nullptr;     ///< "pixels", "degrees": words of the expectation message
  field_bounds range;
  bool zero_is_auto = false;      ///< 0 means "auto"; the campaign writes `auto`, not 0
  /// A negative value (auto_recipe_value) means "auto": the campaign writes `auto`, and the
  /// bounds apply to the other values only.
  bool negative_is_auto = false;
  ini_form form = ini_form::value;
  const std::vector<choice<T>>* choices = nullptr;  ///< the accepted names (enums, subset)

  field_def& ini(const char* k) { ini_key = k; return *this; }
  field_def& describe(const char* d) { description = d; return *this; }
  field_def& in(const char* u) { unit = u; return *this; }
  field_def& at_least(double v) { range.lo = v; range.lo_open = false; return *this; }
  field_def& above(double v) { range.lo = v; range.lo_open = true; return *this; }
  field_def& at_most(double v) { range.hi = v; range.hi_open = false; return *this; }
  field_def& below(double v) { range.hi = v; range.hi_open = true; return *this; }
  field_def& bounds(double lo, double hi) { return at_least(lo).at_most(hi); }
  field_def& auto_when_zero() { zero_is_auto = true; return at_least(0); }
  field_def& auto_when_negative() { negative_is_auto = true; return *this; }
  /// Whether `v` is this field's "auto".
  bool is_auto(double v) const { return (zero_is_auto && v == 0) || (negative_is_auto && v < 0); }
  field_def& one_of(const std::vector<choice<T>>& c) { choices = &c; return *this; }
  field_def& as_path() { form = ini_form::path; return *this; }
  field_def& as_reference() { form = ini_form::reference; return *this; }
  field_def& as_flat() { form = ini_form::flat; return *this; }
  field_def& not_in_campaign() { form = ini_form::none; return *this; }
};

template <class T>
field_def<T> field(const char* key, T& value) {
  return field_def<T>(key, &value);
}

// --- names of enum values ------------------------------------------------------------------------

const std::vector<choice<dataset_kind>>& dataset_kind_choices();
const std::vector<choice<split_mode>>& split_mode_choices();
/// The registered tool kinds' names (runtime/tasks/kinds.hpp), in registration order.
const std::vector<choice<std::string>>& tool_kind_choices();
const std::vector<choice<std::string>>& fashion_subset_choices();
const std::vector<choice<std::string>>& optimizer_choices();
const std::vector<choice<std::string>>& schedule_choices();
const std::vector<choice<std::string>>& model_size_choices();

/// The written name of a value (the first non-alias choice holding it); "" when none does.
template <class T>
const char* name_of(const std::vector<choice<T>>& choices, const T& value) {
  for (const auto& c : choices)
    if (!c.alias && c.value == value)
      return c.name;
  return "";
}

/// "a, b, c": the names a value may take (aliases left out).
template <class T>
std::string names_of(const std::vector<choice<T>>& choices) {
  std::string out;
  for (const auto& c : choices)
    if (!c.alias)
      out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

// --- the tables ----------------------------------------------------------------------------------

template <class F>
decltype(auto) fields(F&& f, dataset_spec& x) {
  return f("dataset_spec",
           field("name", x.name).not_in_campaign().describe("unique within a workspace"),
           field("kind", x.kind).one_of(dataset_kind_choices())
               .describe("fashion-mnist (IDX files), folder (path/<label>/*.png), coco (boxes), "
                         "masks (label masks) or anomaly (path/good, path/defect)"),
           field("path", x.path).as_path()
               .describe("folder of the images; fashion-mnist: /usr/share/datasets/fashion-mnist"),
           field("subset", x.subset).one_of(fashion_subset_choices())
               .describe("fashion-mnist only: all (70,000 images), train (60,000) or "
                         "test (10,000)"),
           field("color", x.color).describe("folder only: decode images as RGB, not grayscale"),
           field("annotations", x.annotations).as_path()
               .describe("coco: the COCO JSON file of boxes; masks: the label table file"),
           field("masks", x.masks).as_path()
               .describe("masks: folder of label masks (one PNG per image, same name); anomaly: "
                         "optional folder of defect masks"));
}

template <class F>
decltype(auto) fields(F&& f, split_spec& x) {
  return f("split_spec",
           field("name", x.name).not_in_campaign().describe("unique within a workspace"),
           field("dataset", x.dataset).as_reference().describe("the dataset to split"),
           field("mode", x.mode).one_of(split_mode_choices())
               .describe("proportion: train, validation, test are fractions; count: image "
                         "counts; official: the dataset's own test part is the test set, "
                         "validation a fraction or count of its training part, train of the "
                         "rest"),
           field("train", x.train).above(0)
               .describe("training set: a fraction (<= 1) or a count (>= 1)"),
           field("validation", x.validation).at_least(0)
               .describe("validation set: a fraction or a count"),
           field("test", x.test).at_least(0).describe("test set: a fraction or a count"),
           field("seed", x.seed).at_least(0).describe("shuffling seed"),
           field("stratified", x.stratified).describe("keep class proportions in every set"));
}

template <class F>
decltype(auto) fields(F&& f, tool_spec& x) {
  return f("tool_spec",
           field("name", x.name).not_in_campaign().describe("unique within a workspace"),
           field("kind", x.kind).one_of(tool_kind_choices())
               .describe("classify (a label per image), locate (boxes), segment (a label per "
                         "pixel) or anomaly (a score per image, trained on good images)"),
           field("dataset", x.dataset).as_reference()
               .describe("the dataset it learns from (fixes classes and channels)"),
           field("input_width", x.input_width).ini("width").bounds(4, 4096).in("pixels")
               .describe("images are resized to this width"),
           field("input_height", x.input_height).ini("height").bounds(4, 4096).in("pixels")
               .describe("images are resized to this height"),
           field("model_width", x.model_width).bounds(1, 1024).in("channels")
               .describe("channels of the first convolution"),
           field("batch_norm", x.batch_norm)
               .describe("batch normalisation layers (off: data-parallel runs match one device)"),
           field("dropout", x.dropout).at_least(0).below(1)
               .describe("classify: dropout probability before the last layer"),
           field("model", x.model).one_of(model_size_choices())
               .describe("classify: small, normal, medium or large network (speed against "
                         "accuracy)"),
           field("max_objects", x.max_objects).bounds(1, 10000).in("boxes")
               .describe("locate: most boxes kept per image"),
           field("detection_threshold", x.detection_threshold).ini("threshold").bounds(0, 1)
               .describe("locate: least score of a kept box"));
}

template <class F>
decltype(auto) fields(F&& f, augmentation_settings& x) {
  return f("augmentation_settings",
           field("flip_horizontal", x.flip_horizontal)
               .describe("mirror left-right with probability 1/2"),
           field("flip_vertical", x.flip_vertical)
               .describe("mirror top-bottom with probability 1/2"),
           field("rotation", x.rotation).bounds(0, 180).in("degrees")
               .describe("rotate by up to this many degrees either way"),
           field("scale", x.scale).at_least(0).below(1)
               .describe("zoom by a factor in [1-s, 1+s]"),
           field("shift", x.shift).at_least(0).below(1)
               .describe("shift by up to this fraction of the image size per axis"),
           field("shear", x.shear).at_least(0).below(90).in("degrees")
               .describe("shear by up to this many degrees"),
           // Pixels are in [0, 1]: a larger shift would turn every image white or black.
           field("brightness", x.brightness).bounds(0, 1)
               .describe("add up to this much to [0, 1] pixels"),
           field("contrast", x.contrast).at_least(0).below(1)
               .describe("scale contrast by a factor in [1-c, 1+c] around the image mean"),
           field("noise", x.noise).bounds(0, 1)
               .describe("standard deviation of Gaussian noise on [0, 1] pixels"),
           field("test_time_flips", x.test_time_flips)
               .describe("with flip_horizontal: average each image's and its mirror's outputs "
                         "at validation, evaluate and predict"));
}

template <class F>
decltype(auto) fields(F&& f, training_settings& x) {
  return f("training_settings",
           field("iterations", x.iterations).auto_when_zero().at_most(100000)
               .describe("iterations to train; auto = stop early on the monitored metric "
                         "(anomaly: on the autoencoder's val_loss)"),
           field("max_iterations", x.max_iterations).auto_when_zero().at_most(100000)
               .describe("auto jobs' length; auto = from the training set's size (at least 12 "
                         "iterations and 10,000 images seen)"),
           field("patience", x.patience).at_least(0).in("iterations")
               .describe("auto: iterations without improvement before stopping (at 12 "
                         "iterations; longer auto jobs scale it)"),
           field("min_delta", x.min_delta).at_least(0)
               .describe("auto: smallest gain of the monitored metric (anomaly: fall of "
                         "val_loss) that counts"),
           field("batch_size", x.batch_size).auto_when_zero().at_most(65536)
               .describe("images per step; auto = the largest that fits memory"),
           field("learning_rate", x.learning_rate).auto_when_negative().above(0)
               .describe("the optimizer's peak step size; auto: the kind's"),
           field("optimizer", x.optimizer).one_of(optimizer_choices())
               .describe("adam, adamw, sgd (Nesterov momentum 0.9), or auto: the kind's"),
           field("weight_decay", x.weight_decay).auto_when_negative().at_least(0).below(1)
               .describe("L2 penalty (adam, sgd) or decoupled decay (adamw); auto: the kind's"),
           field("schedule", x.schedule).one_of(schedule_choices())
               .describe("learning rate over the job: constant, one_cycle, cosine, or auto: "
                         "the kind's"),
           field("warmup", x.warmup).auto_when_negative().at_least(0).below(1)
               .describe("share of the job's steps the rate rises over (one_cycle, cosine)"),
           field("label_smoothing", x.label_smoothing).auto_when_negative().at_least(0).below(1)
               .describe("classify: share of each target spread over all classes"),
           field("weight_averaging", x.weight_averaging).auto_when_negative().at_least(0).below(1)
               .describe("decay per step of a moving average of the weights that validation, "
                         "best.pt and predict use; 0 = off"),
           field("deterministic", x.deterministic).describe("bit-identical reruns (slower)"),
           field("seed", x.seed).at_least(0)
               .describe("seed of weights, shuffling and augmentation"),
           field("threads", x.threads).bounds(0, 1024)
               .describe("intra-op CPU threads; 0 = all cores; more than the worker has: all"),
           field("memory_share", x.memory_share).above(0).at_most(1)
               .describe("CPU: share of available memory the batch-size probe may use"),
           field("devices", x.devices).bounds(1, 1024).in("devices")
               .describe("devices one job trains on (data-parallel ranks)"),
           field("augmentation", x.augmentation).as_flat().describe("augmentation ranges"));
}

template <class F>
decltype(auto) fields(F&& f, job_spec& x) {
  return f("job_spec",
           field("name", x.name).not_in_campaign()
               .describe("unique within a workspace; a resubmitted name is the same job"),
           field("tool", x.tool).as_reference().describe("the tool it trains"),
           field("split", x.split).as_reference().describe("the split it trains on"),
           field("continue_training", x.continue_training).ini("continue")
               .describe("resume the tool's last state and train `iterations` more"),
           field("initialize_from", x.initialize_from)
               .describe("a trained tool (same kind and input) whose weights this tool starts "
                         "from; a new output layer where the classes differ"),
           field("settings", x.settings).as_flat().describe("how it trains"),
           field("written_settings", x.written_settings).not_in_campaign()
               .describe("continue jobs: the keys their campaign section wrote"),
           field("inherited_settings", x.inherited_settings).not_in_campaign()
               .describe("continue jobs: the settings taken from the tool's previous job"));
}

/// A visitor that accepts any table; only used to detect which types have one.
struct any_field_visitor {
  template <class... Fields>
  int operator()(const char*, Fields&&...) const { return 0; }
};

/// True for the structs that have a field table.
template <class T, class = void>
struct has_fields : std::false_type {};

template <class T>
struct has_fields<T, std::void_t<decltype(fields(std::declval<any_field_visitor&>(),
                                                 std::declval<T&>()))>> : std::true_type {};

template <class T>
constexpr bool has_fields_v = has_fields<T>::value;

/// The table of a spec that is only read (JSON writer, --help, validate): the visitors given
/// here never write through the pointers.
template <class F, class T>
decltype(auto) fields_of(F&& f, const T& x) {
  return fields(std::forward<F>(f), const_cast<T&>(x));
}

}  // namespace trainyard
