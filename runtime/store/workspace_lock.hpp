// One process at a time trains in a workspace: `trainyard run` and `trainyard scheduler` hold
// <workspace>/trainyard.lock while they run. Two of them on one workspace would train the same
// job into the same files; the second is refused at once, naming the holder.
//
// The lock is an flock(2) on that file, which the kernel drops when its holder exits or is
// killed, so a lock left by a killed process is free again by itself; the file only records
// who holds it (pid, host, command, start time) for the refusal's message.
#pragma once

#include <memory>
#include <string>

#include "runtime/core/error.hpp"

namespace trainyard {

class workspace_lock {
 public:
  /// Takes the workspace's lock for `command` ("run", "scheduler"); already_exists naming the
  /// holder when another process has it, storage_failed when the file cannot be opened.
  static expected<std::unique_ptr<workspace_lock>> acquire(const std::string& workspace,
                                                          const std::string& command);
  ~workspace_lock();
  workspace_lock(const workspace_lock&) = delete;
  workspace_lock& operator=(const workspace_lock&) = delete;

  /// The lock file's path.
  static std::string path_in(const std::string& workspace);

 private:
  explicit workspace_lock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace trainyard
