#include "runtime/store/workspace_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

namespace trainyard {

namespace {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0)
    return "?";
  return name;
}

// The holder's line as it wrote it; empty when it wrote nothing yet.
std::string read_holder(int fd) {
  std::string text;
  char buf[512];
  ssize_t n = 0;
  off_t at = 0;
  while ((n = ::pread(fd, buf, sizeof(buf), at)) > 0 && text.size() < 4096) {
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0'))
    text.pop_back();
  return text;
}

}  // namespace

std::string workspace_lock::path_in(const std::string& workspace) {
  return workspace + "/trainyard.lock";
}

expected<std::unique_ptr<workspace_lock>> workspace_lock::acquire(const std::string& workspace,
                                                                  const std::string& command) {
  const std::string path = path_in(workspace);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_failure(error_code::storage_failed,
                        "cannot open the workspace lock '" + path + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    std::string holder = read_holder(fd);
    ::close(fd);
    if (why != EWOULDBLOCK)
      return make_failure(error_code::storage_failed,
                          "cannot lock the workspace '" + workspace + "': " + std::strerror(why));
    return make_failure(error_code::already_exists,
                        "the workspace '" + workspace + "' is in use by " +
                          (holder.empty() ? std::string("another trainyard process") : holder) +
                          "; wait for it to end, stop it, or use another workspace (submit to "
                          "a running scheduler with 'trainyard submit')");
  }
  std::time_t now = std::time(nullptr);
  char when[32] = {};
  std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  const std::string line = "'trainyard " + command + "' (pid " + std::to_string(::getpid()) +
                           " on " + host_name() + ", since " + when + ")\n";
  // The previous holder's line (a killed process leaves it) is replaced. A lock whose line
  // could not be written still excludes; a refusal then names "another trainyard process".
  const bool described = ::ftruncate(fd, 0) == 0 &&
                         ::pwrite(fd, line.data(), line.size(), 0) == ssize_t(line.size());
  (void)described;
  return std::unique_ptr<workspace_lock>(new workspace_lock(fd));
}

workspace_lock::~workspace_lock() {
  // The file stays (removing it could race with a process that just opened it); the lock goes.
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace trainyard
