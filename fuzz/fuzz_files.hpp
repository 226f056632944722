// Scratch files for the fuzz targets whose readers take a path: each process writes its inputs
// into a folder of its own under the system's temporary folder, removed when the process exits.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace trainyard::fuzz {

/// A folder of this process's own, made empty on first use and removed at exit.
class scratch_folder {
 public:
  scratch_folder() {
    path_ = std::filesystem::temp_directory_path() /
            ("trainyard-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~scratch_folder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_folder(const scratch_folder&) = delete;
  scratch_folder& operator=(const scratch_folder&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// Writes `size` bytes to NAME inside the folder (replacing it); returns its path.
  std::string write(const std::string& name, const std::uint8_t* data, std::size_t size) const {
    std::filesystem::path file = path_ / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

/// The process's scratch folder.
inline const scratch_folder& scratch() {
  static const scratch_folder folder;
  return folder;
}

}  // namespace trainyard::fuzz
