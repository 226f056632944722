// Files sent between machines that share no filesystem: a node that cannot see the scheduler's
// dataset folders and workspace fetches the files in chunks (through the dataset actor), caches
// them, and sends its tool files back after every iteration. This file holds the plain file work;
// actors/file_mirror.* does the messaging. No CAF, no torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// A regular file as one side lists it.
struct file_entry {
  std::string path;        ///< absolute path on the side that listed it
  std::uint64_t size = 0;  ///< bytes
  std::int64_t mtime = 0;  ///< modification time, nanoseconds of the file clock
};

/// Regular files under `root` (recursively), or `root` itself when it is a file; sorted by path.
/// A missing root gives an empty list.
std::vector<file_entry> list_files(const std::string& root);

/// `length` bytes (fewer at the end) of a file from `offset`.
expected<std::vector<std::uint8_t>> read_chunk(const std::string& path, std::uint64_t offset,
                                               std::uint32_t length);

/// Writes through a temporary file in the same folder, flushed to the disk, and a rename, so
/// readers (and a crash) see either the old file or the new one. storage_failed naming the
/// file; on a full disk the message starts "disk full: free space in FOLDER". With `previous`
/// set, the file it replaces is kept under that name (the one kept before is removed first, so
/// the disk never holds more than two copies and the temporary at once).
expected<void> write_file_atomically(const std::string& path, const std::string& content,
                                     const std::string& previous = "");
/// The same for bytes, creating the file's folders first.
expected<void> write_file_atomically(const std::string& path,
                                     const std::vector<std::uint8_t>& bytes);

/// Writes a file that arrives in chunks, in order: the chunk at `offset` (0 starts the file over)
/// goes into a temporary file beside `path`, and the `last` one renames it into place, so a
/// reader never sees a half file under the real name. storage_failed when a chunk does not
/// follow the one before or the disk refuses it.
expected<void> write_file_part(const std::string& path, std::uint64_t offset,
                               const std::vector<std::uint8_t>& bytes, bool last);

/// True when `path`, normalised, lies inside `root` (no ".." escapes).
bool path_within(const std::string& root, const std::string& path);

}  // namespace trainyard
