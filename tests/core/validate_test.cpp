// validate(): the bounds of the field tables, the checks across fields and what each tool kind
// needs, each refused with the spec, the field and what to do.
#include "runtime/core/validate.hpp"
#include "runtime/tasks/kinds.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace trainyard {
namespace {

dataset_spec fashion() {
  dataset_spec d;
  d.name = "fashion";
  d.path = "/data/fashion";
  return d;
}

job_spec valid_job() {
  job_spec j;
  j.name = "j";
  j.tool.name = "t";
  j.tool.dataset = "fashion";
  j.split = "s";
  return j;
}

TEST(Validate, AutoRecipeValuesResolveToTheKindsRecipeAndExplicitOnesStay) {
  job_spec j = valid_job();
  const training_settings classify = resolve_recipe(j.tool, j.settings);
  EXPECT_EQ(classify.optimizer, "adamw");
  EXPECT_EQ(classify.schedule, "one_cycle");
  EXPECT_GT(classify.label_smoothing, 0);
  EXPECT_GT(classify.weight_averaging, 0);
  j.tool.kind = "anomaly";
  const training_settings anomaly = resolve_recipe(j.tool, j.settings);
  EXPECT_EQ(anomaly.optimizer, "adam");
  EXPECT_EQ(anomaly.schedule, "constant");
  EXPECT_EQ(anomaly.label_smoothing, 0);
  EXPECT_EQ(anomaly.weight_averaging, 0);
  j.tool.kind = "classify";
  j.settings.optimizer = "sgd";
  j.settings.label_smoothing = 0;
  const training_settings set = resolve_recipe(j.tool, j.settings);
  EXPECT_EQ(set.optimizer, "sgd");
  EXPECT_EQ(set.label_smoothing, 0);
  EXPECT_EQ(set.schedule, "one_cycle");  // still the kind's
}

TEST(Validate, TheDefaultsWithNamesAreValid) {
  EXPECT_TRUE(validate(valid_job(), fashion()));
  EXPECT_TRUE(validate(valid_job()));
  EXPECT_TRUE(validate(fashion()));
  split_spec s;
  s.name = "s";
  s.dataset = "fashion";
  EXPECT_TRUE(validate(s));
}

struct job_case {
  const char* label;
  std::function<void(job_spec&, dataset_spec&)> edit;
  std::string message;  // the failure's whole message
};

TEST(Validate, RefusedJobsNameTheSpecTheFieldAndWhatToDo) {
  const std::vector<job_case> cases = {
      {"width 2", [](job_spec& j, dataset_spec&) { j.tool.input_width = 2; },
       "tool 't': input_width: expected a whole number of pixels from 4 to 4096, got 2"},
      {"height too large", [](job_spec& j, dataset_spec&) { j.tool.input_height = 5000; },
       "tool 't': input_height: expected a whole number of pixels from 4 to 4096, got 5000"},
      {"model width 0", [](job_spec& j, dataset_spec&) { j.tool.model_width = 0; },
       "tool 't': model_width: expected a whole number of channels from 1 to 1024, got 0"},
      {"dropout 1", [](job_spec& j, dataset_spec&) { j.tool.dropout = 1; },
       "tool 't': dropout: expected a number >= 0 and < 1, got 1"},
      {"label smoothing for anomaly",
       [](job_spec& j, dataset_spec& d) {
         j.tool.kind = "anomaly";
         d.kind = dataset_kind::anomaly;
         j.settings.label_smoothing = 0.1;
       },
       "job 'j': label_smoothing: a anomaly tool has no image labels to smooth; remove "
       "label_smoothing (or set 0) for this job"},
      {"large locate",
       [](job_spec& j, dataset_spec& d) {
         j.tool.kind = "locate";
         d.kind = dataset_kind::coco;
         d.annotations = "boxes.json";
         j.tool.model = "large";
       },
       "tool 't': model: a locate tool has one network size; remove model (or set normal): "
       "small, medium and large are classify's"},
      {"label smoothing 1", [](job_spec& j, dataset_spec&) { j.settings.label_smoothing = 1; },
       "job 'j': label_smoothing: expected a number >= 0 and < 1, got 1"},
      {"optimizer", [](job_spec& j, dataset_spec&) { j.settings.optimizer = "rmsprop"; },
       "job 'j': optimizer: expected one of auto, adam, adamw, sgd, got 'rmsprop'"},
      {"learning rate 0", [](job_spec& j, dataset_spec&) { j.settings.learning_rate = 0; },
       "job 'j': learning_rate: expected a number > 0, got 0"},
      {"negative batch", [](job_spec& j, dataset_spec&) { j.settings.batch_size = -1; },
       "job 'j': batch_size: expected a whole number from 0 to 65536, got -1"},
      {"no devices", [](job_spec& j, dataset_spec&) { j.settings.devices = 0; },
       "job 'j': devices: expected a whole number of devices from 1 to 1024, got 0"},
      // Resource settings are bounded: threads = 100000 once spawned about 32,000 threads.
      {"a hundred thousand threads",
       [](job_spec& j, dataset_spec&) { j.settings.threads = 100000; },
       "job 'j': threads: expected a whole number from 0 to 1024, got 100000"},
      {"a billion iterations",
       [](job_spec& j, dataset_spec&) { j.settings.iterations = 1000000000; },
       "job 'j': iterations: expected a whole number from 0 to 100000, got 1000000000"},
      {"rotation", [](job_spec& j, dataset_spec&) { j.settings.augmentation.rotation = 200; },
       "job 'j': rotation: expected a number of degrees from 0 to 180, got 200"},
      {"continue on auto", [](job_spec& j, dataset_spec&) { j.continue_training = true; },
       "job 'j': continue_training, iterations: continue training needs an explicit "
       "iterations count, e.g. iterations = 2"},
      {"small segment",
       [](job_spec& j, dataset_spec&) {
         j.tool.kind = "segment";
         j.tool.input_width = 6;
       },
       "tool 't': input_width, input_height: a segment tool needs width and height of at least "
       "8 pixels (its U-Net halves the image three times); raise them"},
      {"segment without masks",
       [](job_spec& j, dataset_spec&) { j.tool.kind = "segment"; },
       "tool 't': dataset: a segment tool needs a dataset with label masks: dataset 'fashion' "
       "must name its label table (annotations) and mask folder (masks)"},
      {"locate without boxes", [](job_spec& j, dataset_spec&) { j.tool.kind = "locate"; },
       "tool 't': dataset: a locate tool needs a coco dataset (boxes in a COCO file): dataset "
       "'fashion' is fashion-mnist; set its kind to coco and its annotations to the COCO file"},
      {"locate turning its images",
       [](job_spec& j, dataset_spec& d) {
         j.tool.kind = "locate";
         d.kind = dataset_kind::coco;
         d.path = "images";
         d.annotations = "boxes.json";
         j.settings.augmentation.shear = 5;
       },
       "job 'j': shear: augmentation rotation and shear cannot keep boxes exact; set them to 0 "
       "for locate tools"},
      {"unknown kind", [](job_spec& j, dataset_spec&) { j.tool.kind = "paint"; },
       "tool 't': kind: expected one of classify, locate, segment, anomaly, got 'paint'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    job_spec job = valid_job();
    dataset_spec dataset = fashion();
    c.edit(job, dataset);
    auto ok = validate(job, dataset);
    ASSERT_FALSE(ok);
    EXPECT_EQ(ok.error().code, error_code::invalid_config);
    EXPECT_EQ(ok.error().message, c.message);
  }
}

TEST(Validate, AJobWithoutItsDatasetIsCheckedForAllButWhatItsKindNeedsOfTheDataset) {
  job_spec locate = valid_job();
  locate.tool.kind = "locate";
  EXPECT_TRUE(validate(locate));
  EXPECT_FALSE(validate(locate, fashion()));
  job_spec narrow = valid_job();
  narrow.tool.input_width = 3;
  EXPECT_FALSE(validate(narrow));
}

TEST(Validate, SplitsAndDatasets) {
  split_spec s;
  s.name = "s";
  s.dataset = "fashion";
  s.train = 0.9;
  s.validation = 0.2;
  auto over = find_problem(s);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->keys, (std::vector<std::string>{"train", "validation", "test"}));
  EXPECT_NE(over->message.find("sum to at most 1"), std::string::npos) << over->message;
  s.mode = split_mode::count;
  s.train = 10.5;
  auto fraction = find_problem(s);
  ASSERT_TRUE(fraction);
  EXPECT_EQ(fraction->keys, std::vector<std::string>{"train"});
  EXPECT_NE(fraction->message.find("whole number"), std::string::npos) << fraction->message;
  s.train = 10;
  s.validation = 5;
  s.test = 5;
  EXPECT_FALSE(find_problem(s));

  dataset_spec coco = fashion();
  coco.kind = dataset_kind::coco;
  auto no_boxes = find_problem(coco);
  ASSERT_TRUE(no_boxes);
  EXPECT_EQ(no_boxes->keys, std::vector<std::string>{"annotations"});
  dataset_spec subset = fashion();
  subset.subset = "half";
  EXPECT_EQ(validate(subset).error().message,
            "dataset 'fashion': subset: expected one of all, train, test, got 'half'");
}

}  // namespace
}  // namespace trainyard
