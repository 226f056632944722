// check_dataset_files (data_check.hpp).
#include "runtime/train/data_check.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "runtime/data/dataset_index.hpp"
#include "runtime/train/images.hpp"

namespace trainyard {

data_check check_dataset_files(const std::vector<dataset_spec>& datasets, int threads,
                               const std::function<void(std::int64_t, std::int64_t)>& progress) {
  data_check out;
  std::vector<std::string> files;
  for (const dataset_spec& d : datasets) {
    auto index = load_dataset_index(d);
    if (!index) {
      out.unreadable.push_back(index.error());
      continue;
    }
    if (d.kind == dataset_kind::fashion_mnist) {
      // One file holds every image: reading it whole checks its header, size and pixels.
      if (auto pixels = load_idx_images(d); !pixels)
        out.unreadable.push_back(pixels.error());
      else
        ++out.checked;
      continue;
    }
    files.insert(files.end(), index->files.begin(), index->files.end());
    for (const std::string& mask : index->mask_files)
      if (!mask.empty())
        files.push_back(mask);
  }
  // Any size will do to find what does not decode; a small one keeps the resizing cheap.
  const image_geometry geometry{1, 16, 16};
  std::vector<failure> failures(files.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> done{0};
  std::mutex reporting;
  const auto total = static_cast<std::int64_t>(files.size());
  const auto work = [&] {
    std::vector<std::uint8_t> pixels(geometry.bytes());
    for (std::size_t i = next++; i < files.size(); i = next++) {
      if (auto decoded = decode_image_file(files[i], geometry, pixels.data()); !decoded)
        failures[i] = decoded.error();
      const std::int64_t now = ++done;
      if (progress && (now % 256 == 0 || now == total)) {
        std::lock_guard<std::mutex> lock(reporting);
        progress(now, total);
      }
    }
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < std::clamp(threads, 1, 64) && static_cast<std::size_t>(t) < files.size(); ++t)
    workers.emplace_back(work);
  work();
  for (auto& w : workers)
    w.join();
  out.checked += total;
  for (failure& f : failures)
    if (f.code != error_code::none)
      out.unreadable.push_back(std::move(f));
  return out;
}

std::vector<dataset_spec> datasets_in_use(const std::vector<dataset_spec>& declared,
                                          const std::vector<job_spec>& jobs) {
  std::vector<dataset_spec> out;
  for (const dataset_spec& d : declared)
    if (std::any_of(jobs.begin(), jobs.end(),
                    [&d](const job_spec& j) { return j.tool.dataset == d.name; }))
      out.push_back(d);
  return out;
}

}  // namespace trainyard
