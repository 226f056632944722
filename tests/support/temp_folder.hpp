// The one way tests get a scratch folder: a fresh, uniquely named folder under the system's
// temporary directory that is removed, with everything in it, when the owning object goes away.
// Shared by every test binary (runtime, config, torch, actors, nodes); header-only, no trainyard
// code, so any test can include it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace trainyard::testing {

/// A unique folder "trainyard-<tag>-<pid>-<random>-<counter>" under
/// std::filesystem::temp_directory_path(), created by the constructor (which throws
/// std::filesystem::filesystem_error if it cannot) and removed by the destructor (which never
/// throws; a folder it cannot remove is left behind).
class temp_folder {
 public:
  /// `tag` names the test area in the folder name, e.g. "store-test".
  explicit temp_folder(const std::string& tag) {
    // The pid separates concurrent test binaries, the counter the folders of one binary, and the
    // random part a reused pid from a stale folder an earlier crash left behind. A name that
    // exists anyway is skipped rather than reused, so a test never sees another's files.
    static std::atomic<unsigned long> counter{0};
    std::random_device rd;
    const auto root = std::filesystem::temp_directory_path();
    do {
      path_ = root / ("trainyard-" + tag + "-" + std::to_string(::getpid()) + "-" +
                      std::to_string(rd()) + "-" + std::to_string(counter++));
    } while (!std::filesystem::create_directory(path_));
  }
  ~temp_folder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_folder(const temp_folder&) = delete;
  temp_folder& operator=(const temp_folder&) = delete;

  /// The folder itself.
  const std::filesystem::path& path() const { return path_; }
  /// The folder as a string, for APIs that take one.
  std::string str() const { return path_.string(); }
  /// A path inside the folder (nothing is created).
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace trainyard::testing
