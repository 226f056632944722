// The length of an auto job: small training sets train longer, and their patience grows too.
#include "runtime/policy/job_length.hpp"

#include <gtest/gtest.h>

namespace trainyard {

TEST(JobLength, AFixedCountIsKeptWhateverTheSetsSize) {
  training_settings s;
  s.iterations = 7;
  EXPECT_EQ(length_of_job(s, 25).iterations, 7);
  EXPECT_EQ(length_of_job(s, 60000).iterations, 7);
}

TEST(JobLength, TheAutoCapGrowsForASmallSetAndStaysAtTheMinimumForALargeOne) {
  training_settings s;  // iterations and max_iterations auto
  EXPECT_EQ(length_of_job(s, 25).iterations, 400);
  EXPECT_EQ(length_of_job(s, 50).iterations, 200);
  EXPECT_EQ(length_of_job(s, 100).iterations, 100);
  EXPECT_EQ(length_of_job(s, 1000).iterations, auto_minimum_iterations);
  EXPECT_EQ(length_of_job(s, 55000).iterations, auto_minimum_iterations);
  // Patience grows with the length: 3 at 12 iterations, 100 at 400.
  EXPECT_EQ(length_of_job(s, 55000).patience, s.patience);
  EXPECT_EQ(length_of_job(s, 25).patience, s.patience * 400 / auto_minimum_iterations);
}

// A tool that starts from a trained tool's weights needs fewer iterations (the studio's advice):
// half the images seen, so a job from scratch gets more iterations than a pretrained one.
TEST(JobLength, APretrainedJobGetsHalfTheLengthOfOneFromScratch) {
  training_settings s;
  EXPECT_EQ(length_of_job(s, 25, true).iterations, 200);
  EXPECT_EQ(length_of_job(s, 100, true).iterations, 50);
  EXPECT_LT(length_of_job(s, 50, true).iterations, length_of_job(s, 50).iterations);
  EXPECT_EQ(length_of_job(s, 55000, true).iterations, auto_minimum_iterations);
  EXPECT_EQ(length_of_job(s, 25, true).patience, s.patience * 200 / auto_minimum_iterations);
  s.max_iterations = 30;
  EXPECT_EQ(length_of_job(s, 25, true).iterations, 30) << "a cap the user set stands";
}

TEST(JobLength, AnExplicitCapIsTheLength) {
  training_settings s;
  s.max_iterations = 30;
  EXPECT_EQ(length_of_job(s, 25).iterations, 30);
  EXPECT_EQ(length_of_job(s, 55000).iterations, 30);
  EXPECT_EQ(length_of_job(s, 25).patience, s.patience);  // as set, with the length set
}

}  // namespace trainyard
