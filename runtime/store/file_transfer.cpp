#include "runtime/store/file_transfer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace trainyard {

namespace fs = std::filesystem;

namespace {

file_entry entry_of(const fs::path& p) {
  file_entry e;
  std::error_code ec;
  e.path = p.string();
  e.size = fs::file_size(p, ec);
  auto t = fs::last_write_time(p, ec);
  e.mtime = ec ? 0 : static_cast<std::int64_t>(t.time_since_epoch().count());
  return e;
}

}  // namespace

std::vector<file_entry> list_files(const std::string& root) {
  std::vector<file_entry> out;
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) {
    out.push_back(entry_of(root));
    return out;
  }
  if (!fs::is_directory(root, ec))
    return out;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec) && it->path().filename().string().rfind(".tmp-", 0) != 0)
      out.push_back(entry_of(it->path()));
  std::sort(out.begin(), out.end(),
            [](const file_entry& a, const file_entry& b) { return a.path < b.path; });
  return out;
}

expected<std::vector<std::uint8_t>> read_chunk(const std::string& path, std::uint64_t offset,
                                               std::uint32_t length) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_failure(error_code::dataset_unreadable, "cannot read '" + path + "'");
  in.seekg(static_cast<std::streamoff>(offset));
  std::vector<std::uint8_t> bytes(length);
  in.read(reinterpret_cast<char*>(bytes.data()), length);
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

expected<void> write_file_atomically(const std::string& path, const std::string& content,
                                     const std::string& previous) {
  const std::string temporary = path + ".tmp";
  if (!previous.empty())
    ::unlink(previous.c_str());
  const std::string folder = fs::path(path).parent_path().string();
  auto failed = [&](int why, const std::string& doing) -> expected<void> {
    ::unlink(temporary.c_str());  // a half file would only take space
    if (why == ENOSPC || why == EDQUOT)
      return make_failure(error_code::storage_failed,
                          "disk full: free space in " + folder + " (" + doing + " " + path +
                            "); what was saved before is intact, and the job resumes from it "
                            "when run again");
    return make_failure(error_code::storage_failed, "could not write " + path + " (" + doing +
                                                      "): " + std::strerror(why) +
                                                      "; check the folder is writable");
  };
  // Write, flush to the disk, then rename: a crash or a full disk never leaves a half file under
  // the real name.
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return failed(errno, "creating");
  for (std::size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      const int why = n < 0 ? errno : ENOSPC;
      ::close(fd);
      return failed(why, "writing");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int why = errno;
    ::close(fd);
    return failed(why, "flushing");
  }
  if (::close(fd) != 0)
    return failed(errno, "closing");
  // A crash between the two renames leaves the previous file and no current one: readers that
  // keep a previous file fall back to it.
  if (!previous.empty() && ::rename(path.c_str(), previous.c_str()) != 0 && errno != ENOENT)
    return failed(errno, "keeping the previous file of");
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return failed(errno, "replacing");
  return {};
}

expected<void> write_file_atomically(const std::string& path,
                                     const std::vector<std::uint8_t>& bytes) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  return write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

expected<void> write_file_part(const std::string& path, std::uint64_t offset,
                               const std::vector<std::uint8_t>& bytes, bool last) {
  fs::path target(path);
  std::error_code ec;
  auto temp = target.parent_path() / (".tmp-" + target.filename().string());
  if (offset == 0)
    fs::create_directories(target.parent_path(), ec);
  else if (auto have = fs::file_size(temp, ec); ec || have != offset)
    return make_failure(error_code::storage_failed,
                        "a chunk of '" + path + "' at byte " + std::to_string(offset) +
                          " does not follow the chunks before it; send the file again");
  {
    std::ofstream out(temp, std::ios::binary | (offset == 0 ? std::ios::trunc : std::ios::app));
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out)
      return make_failure(error_code::storage_failed, "cannot write '" + temp.string() +
                                                        "' (disk full or no permission?)");
  }
  if (!last)
    return {};
  fs::rename(temp, target, ec);
  if (ec)
    return make_failure(error_code::storage_failed,
                        "cannot move '" + temp.string() + "' into place: " + ec.message());
  return {};
}

bool path_within(const std::string& root, const std::string& path) {
  if (root.empty())
    return false;
  auto r = fs::path(root).lexically_normal();
  auto p = fs::path(path).lexically_normal();
  if (p == r)
    return true;
  auto rel = p.lexically_relative(r);
  return !rel.empty() && *rel.begin() != ".." && rel.is_relative();
}

}  // namespace trainyard
