// What a continue job inherits from the job it continues: every training setting its campaign
// section did not write, except its own iterations; and the list of what changed, which `run`
// prints and the job's record keeps.
#include <gtest/gtest.h>

#include "runtime/core/inheritance.hpp"

namespace trainyard::testing {
namespace {

training_settings first_job() {
  training_settings s;
  s.iterations = 7;
  s.learning_rate = 0.002;
  s.optimizer = "sgd";
  s.augmentation.flip_horizontal = true;
  s.augmentation.rotation = 10;
  s.seed = 9;
  return s;
}

TEST(Inheritance, AContinueJobTakesWhatItsCampaignDoesNotWrite) {
  training_settings more;  // defaults, as the campaign reader leaves the keys not written
  more.iterations = 2;
  more.augmentation.rotation = 5;
  const std::string taken = inherit_settings(more, first_job(), "iterations,rotation");
  EXPECT_EQ(more.iterations, 2) << "a continue job's own count is never inherited";
  EXPECT_DOUBLE_EQ(more.learning_rate, 0.002);
  EXPECT_EQ(more.optimizer, "sgd");
  EXPECT_TRUE(more.augmentation.flip_horizontal);
  EXPECT_DOUBLE_EQ(more.augmentation.rotation, 5) << "written in the campaign: kept";
  EXPECT_EQ(more.seed, 9u);
  EXPECT_EQ(taken, "learning_rate = 0.002, optimizer = sgd, seed = 9, flip_horizontal = true");
}

TEST(Inheritance, WrittenKeysAreKeptEvenAtTheirDefaultAndNothingTakenSaysNothing) {
  training_settings more;
  more.iterations = 2;
  // learning_rate = auto and flip_horizontal = false written on purpose: the user's word stands.
  const std::string taken = inherit_settings(
    more, first_job(), "flip_horizontal,iterations,learning_rate,optimizer,rotation,seed");
  EXPECT_TRUE(more.learning_rate < 0) << "auto stays auto";
  EXPECT_FALSE(more.augmentation.flip_horizontal);
  EXPECT_EQ(taken, "");

  training_settings same = first_job();
  EXPECT_EQ(inherit_settings(same, first_job(), ""), "") << "equal values are not news";
}

TEST(Inheritance, AutoValuesAreWrittenAsAuto) {
  training_settings previous;  // learning_rate auto
  training_settings more;
  more.learning_rate = 0.01;
  EXPECT_EQ(inherit_settings(more, previous, ""), "learning_rate = auto");
  EXPECT_LT(more.learning_rate, 0);
}

}  // namespace
}  // namespace trainyard::testing
