// Tests of the batch-size probe under a small simulated device: memory grows with the batch size
// as fixed + per_image x size, throughput follows a table, and allocations can be made to fail.
// Nothing is timed; the "measurements" are the fakes' answers.
#include "runtime/policy/batch_size_probe.hpp"

#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace trainyard {
namespace {

// A device whose peak memory is that of the last batch size a trial ran.
class fake_meter : public memory_meter {
 public:
  fake_meter(std::uint64_t budget, std::uint64_t fixed, std::uint64_t per_image)
      : budget_(budget), fixed_(fixed), per_image_(per_image) {}

  std::uint64_t budget_bytes() override { return budget_; }
  void reset_peak() override {
    ++resets;
    last_size_ = 0;
  }
  std::uint64_t peak_bytes() override {
    return last_size_ == 0 ? 0 : fixed_ + per_image_ * static_cast<std::uint64_t>(last_size_);
  }
  // Called by the fake trials: the memory the trial at this size touched.
  void ran(int batch_size) { last_size_ = batch_size; }

  int resets = 0;

 private:
  std::uint64_t budget_;
  std::uint64_t fixed_;
  std::uint64_t per_image_;
  int last_size_ = 0;
};

// A training (or inference) trial: throughput by size from a table, failure from a threshold.
struct fake_trial {
  explicit fake_trial(fake_meter* m, std::map<int, double> speeds = {}, int fail = 0)
      : meter(m), images_per_s(std::move(speeds)), fail_from(fail) {}

  fake_meter* meter = nullptr;
  std::map<int, double> images_per_s;
  int fail_from = 0;  // sizes >= this fail to allocate; 0 = never
  std::vector<int> tried;

  trial_result operator()(int size) {
    tried.push_back(size);
    meter->ran(size);
    if (fail_from > 0 && size >= fail_from)
      return {false, 0, "CUDA out of memory. Tried to allocate 2.00 GiB"};
    auto it = images_per_s.find(size);
    return {true, it == images_per_s.end() ? 100.0 : it->second, ""};
  }
};

probe_options options(int min_batch, int max_batch, double margin = 0.2,
                      double give_up_ratio = 0.85) {
  probe_options o;
  o.min_batch = min_batch;
  o.max_batch = max_batch;
  o.margin = margin;
  o.give_up_ratio = give_up_ratio;
  return o;
}

// Wraps a fake in a callback that shares its record with the test.
batch_trial call(fake_trial& trial) {
  return [&trial](int size) { return trial(size); };
}

std::vector<int> sizes_of(const probe_result& r) {
  std::vector<int> sizes;
  for (const probe_row& row : r.rows)
    sizes.push_back(row.batch_size);
  return sizes;
}

TEST(BatchSizeProbe, PicksTheFastestFittingSizeUnderASmallBudget) {
  // Budget 1000 B, margin 20% -> 800 B allowed; peak = 100 + 10 x size: 8->180, 16->260,
  // 32->420, 64->740, 128->1380 (too big).
  fake_meter meter(1000, 100, 10);
  fake_trial train{&meter, {{8, 100}, {16, 180}, {32, 300}, {64, 290}, {128, 400}}};
  const probe_result r = probe_batch_sizes(options(8, 1024), meter, call(train), nullptr);

  EXPECT_EQ(r.train_batch_size, 32);
  EXPECT_EQ(r.inference_batch_size, 32);  // not measured: the training choice
  EXPECT_EQ(r.budget_bytes, 1000u);
  EXPECT_DOUBLE_EQ(r.margin, 0.2);
  EXPECT_EQ(train.tried, (std::vector<int>{8, 16, 32, 64, 128}));
  ASSERT_EQ(r.rows.size(), 5u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(r.rows[i].fits) << r.rows[i].batch_size;
    EXPECT_TRUE(r.rows[i].note.empty()) << r.rows[i].note;
  }
  EXPECT_EQ(r.rows[3].peak_bytes, 740u);
  EXPECT_DOUBLE_EQ(r.rows[3].train_images_per_s, 290);
  EXPECT_FALSE(r.rows[4].fits);
  EXPECT_EQ(r.rows[4].peak_bytes, 1380u);
  EXPECT_EQ(r.rows[4].note,
            "peak 1.3 KiB exceeds the allowed 800 B (budget 1000 B minus 20% margin)");
  EXPECT_EQ(meter.resets, 5);  // one fresh measurement per size
}

TEST(BatchSizeProbe, SurvivesAnAllocationFailureAndTriesNothingLarger) {
  fake_meter meter(1u << 30, 0, 1);  // memory is no limit; the allocator fails instead
  fake_trial train{&meter, {{8, 100}, {16, 200}, {32, 350}}, /*fail_from=*/64};
  const probe_result r = probe_batch_sizes(options(8, 1024), meter, call(train), nullptr);

  EXPECT_EQ(train.tried, (std::vector<int>{8, 16, 32, 64}));
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_FALSE(r.rows[3].fits);
  EXPECT_EQ(r.rows[3].train_images_per_s, 0);
  EXPECT_EQ(r.rows[3].note, "allocation failed: CUDA out of memory. Tried to allocate 2.00 GiB");
  EXPECT_EQ(r.train_batch_size, 32);
}

TEST(BatchSizeProbe, FailureAtTheSmallestSizeMeansNothingFits) {
  fake_meter meter(1u << 30, 0, 1);
  fake_trial train{&meter, {}, /*fail_from=*/1};
  fake_trial infer{&meter, {}};
  const probe_result r = probe_batch_sizes(options(8, 1024), meter, call(train), call(infer));
  EXPECT_EQ(train.tried, (std::vector<int>{8}));
  EXPECT_TRUE(infer.tried.empty());  // a size that does not fit is not measured for inference
  EXPECT_EQ(r.train_batch_size, 0);
  EXPECT_EQ(r.inference_batch_size, 0);
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_FALSE(r.rows[0].fits);
}

struct margin_case {
  std::string name;
  double margin;
  int expected_train;  // peak = 100 + 10 x size against budget 1000 x (1 - margin)
};

// Failure messages name the table row instead of dumping its bytes.
void PrintTo(const margin_case& c, std::ostream* os) { *os << c.name; }

class BatchSizeProbeMargin : public testing::TestWithParam<margin_case> {};

TEST_P(BatchSizeProbeMargin, RespectsTheMargin) {
  fake_meter meter(1000, 100, 10);
  fake_trial train{&meter, {}};  // throughput grows with size: the largest fitting size wins
  for (int size = 1; size <= 1024; size *= 2)
    train.images_per_s[size] = size;
  const probe_result r =
      probe_batch_sizes(options(8, 1024, GetParam().margin), meter, call(train), nullptr);
  EXPECT_EQ(r.train_batch_size, GetParam().expected_train);
  EXPECT_DOUBLE_EQ(r.margin, GetParam().margin);
  // Whatever was chosen keeps the margin free.
  for (const probe_row& row : r.rows) {
    if (row.fits) {
      EXPECT_LE(static_cast<double>(row.peak_bytes), 1000 * (1 - GetParam().margin));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    BatchSizeProbe, BatchSizeProbeMargin,
    testing::Values(margin_case{"no_margin", 0.0, 64},        // 740 <= 1000 < 1380
                    margin_case{"default_margin", 0.2, 64},   // 740 <= 800
                    margin_case{"quarter_kept_free", 0.25, 64},  // 740 <= 750
                    margin_case{"just_too_much_kept_free", 0.3, 32},  // 740 > 700
                    margin_case{"half_kept_free", 0.5, 32},   // 420 <= 500 < 740
                    margin_case{"most_kept_free", 0.8, 8}),   // 180 <= 200 < 260
    [](const testing::TestParamInfo<margin_case>& info) { return info.param.name; });

TEST(BatchSizeProbe, PeakExactlyAtTheAllowedMemoryFits) {
  // 110 + 10 x 64 = 750 = 1000 x (1 - 0.25): the limit itself is allowed, one byte more is not.
  fake_meter exact(1000, 110, 10);
  fake_trial train{&exact, {}};
  for (int size = 1; size <= 1024; size *= 2)
    train.images_per_s[size] = size;
  EXPECT_EQ(probe_batch_sizes(options(8, 1024, 0.25), exact, call(train), nullptr)
                .train_batch_size,
            64);

  fake_meter over(1000, 111, 10);
  fake_trial train_over{&over, train.images_per_s};
  EXPECT_EQ(probe_batch_sizes(options(8, 1024, 0.25), over, call(train_over), nullptr)
                .train_batch_size,
            32);
}

TEST(BatchSizeProbe, NothingFitsReturnsZero) {
  fake_meter meter(100, 100, 10);  // even the model alone uses the whole budget
  fake_trial train{&meter, {}};
  fake_trial infer{&meter, {}};
  const probe_result r = probe_batch_sizes(options(8, 1024), meter, call(train), call(infer));
  EXPECT_EQ(r.train_batch_size, 0);
  EXPECT_EQ(r.inference_batch_size, 0);
  EXPECT_EQ(train.tried, (std::vector<int>{8}));
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_FALSE(r.rows[0].fits);
  EXPECT_FALSE(r.rows[0].note.empty());
  EXPECT_EQ(r.budget_bytes, 100u);
}

TEST(BatchSizeProbe, ChoosesInferenceSizeByInferenceThroughput) {
  fake_meter meter(1u << 20, 0, 1);
  fake_trial train{&meter, {{8, 100}, {16, 150}, {32, 140}, {64, 145}}};
  fake_trial infer{&meter, {{8, 300}, {16, 500}, {32, 700}, {64, 650}}};
  const probe_result r = probe_batch_sizes(options(8, 64), meter, call(train), call(infer));
  EXPECT_EQ(r.train_batch_size, 16);
  EXPECT_EQ(r.inference_batch_size, 32);
  EXPECT_EQ(infer.tried, (std::vector<int>{8, 16, 32, 64}));
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_DOUBLE_EQ(r.rows[2].infer_images_per_s, 700);
}

TEST(BatchSizeProbe, FailedInferenceTrialLeavesZeroButTheSizeStillFitsForTraining) {
  fake_meter meter(1u << 20, 0, 1);
  fake_trial train{&meter, {{8, 100}, {16, 200}, {32, 300}}};
  fake_trial infer{&meter, {{8, 400}, {16, 900}}, /*fail_from=*/16};
  const probe_result r = probe_batch_sizes(options(8, 32), meter, call(train), call(infer));
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_TRUE(r.rows[1].fits);
  EXPECT_EQ(r.rows[1].infer_images_per_s, 0);
  EXPECT_EQ(r.train_batch_size, 32);
  EXPECT_EQ(r.inference_batch_size, 8);  // the only size with a measured inference speed
}

TEST(BatchSizeProbe, TiesGoToTheSmallerSize) {
  fake_meter meter(1u << 20, 0, 1);
  fake_trial train{&meter, {{8, 100}, {16, 200}, {32, 200}, {64, 200}}};
  fake_trial infer{&meter, {{8, 50}, {16, 50}, {32, 50}, {64, 50}}};
  const probe_result r = probe_batch_sizes(options(8, 64), meter, call(train), call(infer));
  EXPECT_EQ(r.train_batch_size, 16);
  EXPECT_EQ(r.inference_batch_size, 8);
}

TEST(BatchSizeProbe, GivesUpAfterTwoSlowSizesInARow) {
  fake_meter meter(1u << 30, 0, 1);
  // Best 1000 at 32; 64 and 128 are both below 0.85 x 1000: stop before 256.
  fake_trial train{&meter, {{8, 300}, {16, 600}, {32, 1000}, {64, 800}, {128, 700}, {256, 2000}}};
  const probe_result r = probe_batch_sizes(options(8, 1024), meter, call(train), nullptr);
  EXPECT_EQ(train.tried, (std::vector<int>{8, 16, 32, 64, 128}));
  EXPECT_EQ(r.train_batch_size, 32);
}

TEST(BatchSizeProbe, OneSlowSizeIsNotEnoughToGiveUp) {
  fake_meter meter(1u << 30, 0, 1);
  // 64 is slow, 128 recovers (>= 0.85 x best), so the slow streak resets and 256 is tried.
  fake_trial train{&meter, {{8, 300}, {16, 600}, {32, 1000}, {64, 800}, {128, 900},
                            {256, 1200}, {512, 100}, {1024, 100}}};
  const probe_result r = probe_batch_sizes(options(8, 1024), meter, call(train), nullptr);
  EXPECT_EQ(sizes_of(r), (std::vector<int>{8, 16, 32, 64, 128, 256, 512, 1024}));
  EXPECT_EQ(r.train_batch_size, 256);
}

TEST(BatchSizeProbe, TriesPowersOfTwoFromMinToMax) {
  fake_meter meter(1u << 30, 0, 1);
  fake_trial train{&meter, {}};  // flat throughput: never "slow", never faster
  const probe_result r = probe_batch_sizes(options(4, 100), meter, call(train), nullptr);
  EXPECT_EQ(train.tried, (std::vector<int>{4, 8, 16, 32, 64}));
  EXPECT_EQ(r.train_batch_size, 4);  // equal throughput everywhere: the smallest
}

TEST(BatchSizeProbe, MinAboveMaxTriesNothing) {
  fake_meter meter(1u << 30, 0, 1);
  fake_trial train{&meter, {}};
  const probe_result r = probe_batch_sizes(options(64, 32), meter, call(train), nullptr);
  EXPECT_TRUE(train.tried.empty());
  EXPECT_TRUE(r.rows.empty());
  EXPECT_EQ(r.train_batch_size, 0);
  EXPECT_EQ(r.inference_batch_size, 0);
}

// A GPU as the probe sees it through LibTorch's caching allocator: a trial's largest block stays
// reserved (cached) for reuse after the trial; a trial that fails part-way leaves what it had
// allocated stuck in the cache; only release_cached() returns both to the device.
class simulated_gpu : public memory_meter {
 public:
  simulated_gpu(std::uint64_t total, std::uint64_t per_image) : total_(total), per_image_(per_image) {}
  std::uint64_t budget_bytes() override { return total_; }
  void reset_peak() override { peak_ = reserved + stuck; }
  std::uint64_t peak_bytes() override { return peak_; }
  void release_cached() override {
    ++releases;
    reserved = stuck = 0;
  }
  // A training or inference step at `size`: CUDA's out-of-memory error when it cannot allocate.
  trial_result step(int size) {
    const std::uint64_t need = per_image_ * static_cast<std::uint64_t>(size);
    const std::uint64_t held = stuck + (need > reserved ? reserved : 0);  // what cannot serve it
    if (need + held > total_) {
      // The trial took the cached block and half of what it needed more, then failed: all of
      // it stays held by the allocator, fragmented.
      stuck = std::min(total_, stuck + reserved + need / 2);
      reserved = 0;
      peak_ = std::max(peak_, reserved + stuck);
      return {false, 0, "CUDA out of memory. Tried to allocate " + std::to_string(need) + " bytes"};
    }
    reserved = std::max(reserved, need);
    peak_ = std::max(peak_, reserved + stuck);
    return {true, 100.0 * size, ""};
  }

  std::uint64_t reserved = 0, stuck = 0;
  int releases = 0;

 private:
  std::uint64_t total_, per_image_, peak_ = 0;
};

TEST(BatchSizeProbe, ACudaOutOfMemoryTrialReturnsTheCacheAndLeavesTheDeviceUsable) {
  // 1000 bytes, 10 per image: 8 to 64 fit the 800 bytes the margin allows (64 needs 640); 128
  // needs 1280 and fails, leaving what it had allocated in the cache.
  simulated_gpu gpu(1000, 10);
  const batch_trial train = [&gpu](int size) { return gpu.step(size); };
  const probe_result r = probe_batch_sizes(options(8, 1024), gpu, train, nullptr);
  ASSERT_EQ(sizes_of(r), (std::vector<int>{8, 16, 32, 64, 128}));
  EXPECT_FALSE(r.rows.back().fits);
  EXPECT_EQ(r.rows.back().note, "allocation failed: CUDA out of memory. Tried to allocate 1280 bytes");
  EXPECT_EQ(r.train_batch_size, 64);
  EXPECT_EQ(gpu.releases, 1);
  EXPECT_EQ(gpu.reserved + gpu.stuck, 0u);  // what the trials left is back on the device
  // The job then trains at the chosen size; with the failure's leftovers still held, it could not.
  EXPECT_TRUE(gpu.step(r.train_batch_size).ok);
  simulated_gpu kept(1000, 10);
  (void)kept.step(64);
  (void)kept.step(128);
  EXPECT_FALSE(kept.step(64).ok);
}

TEST(BatchSizeProbe, AFailedInferenceTrialAlsoReturnsTheCache) {
  simulated_gpu gpu(1u << 20, 1);
  const batch_trial train = [&gpu](int size) { return gpu.step(size); };
  const batch_trial infer = [](int size) {
    return size >= 32 ? trial_result{false, 0, "CUDA out of memory"} : trial_result{true, 50.0, ""};
  };
  const probe_result r = probe_batch_sizes(options(8, 64), gpu, train, infer);
  EXPECT_EQ(r.train_batch_size, 64);
  EXPECT_EQ(r.inference_batch_size, 8);  // ties go to the smaller size
  EXPECT_EQ(gpu.releases, 2);            // after the inference failures at 32 and 64
  EXPECT_EQ(r.rows[2].note, "inference trial failed: CUDA out of memory");
}

probe_result probed(int train, int infer, const std::string& last_note = "") {
  probe_result r;
  r.train_batch_size = train;
  r.inference_batch_size = infer;
  probe_row row;
  row.batch_size = 512;
  row.note = last_note;
  r.rows.push_back(row);
  return r;
}

TEST(BatchSizeProbe, TheRanksAgreeOnTheSmallestSizeThatFitsEveryDevice) {
  std::string why;
  // An 80 GB and a 40 GB device: the smaller one decides both sizes.
  const probe_result agreed = agree_batch_sizes({probed(256, 512), probed(128, 1024)}, why);
  EXPECT_EQ(agreed.train_batch_size, 128);
  EXPECT_EQ(agreed.inference_batch_size, 512);
  EXPECT_TRUE(why.empty()) << why;
  EXPECT_EQ(agreed.rows.size(), 1u);  // rank 0's table
}

TEST(BatchSizeProbe, ARankThatRanOutOfMemoryFailsTheJobOnEveryRankSayingWhich) {
  std::string why;
  const probe_result agreed = agree_batch_sizes(
      {probed(256, 256), probed(256, 256), probed(0, 0, "allocation failed: CUDA out of memory")},
      why);
  EXPECT_EQ(agreed.train_batch_size, 0);
  EXPECT_EQ(agreed.inference_batch_size, 0);
  EXPECT_EQ(why, "rank 2: allocation failed: CUDA out of memory");
}

}  // namespace
}  // namespace trainyard

