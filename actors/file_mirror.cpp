#include "actors/file_mirror.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <caf/all.hpp>

#include "actors/blocking_request.hpp"

namespace trainyard {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t chunk_bytes = 4u << 20;
constexpr auto transfer_timeout = std::chrono::seconds(120);

std::string default_cache() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/trainyard";
}

// A server path's place in the cache: the same absolute path under cache/data.
std::string cached(const std::string& cache, const std::string& server_path) {
  return cache + "/data" + (server_path.empty() || server_path[0] != '/' ? "/" : "") +
         server_path;
}

}  // namespace

file_mirror::file_mirror(caf::actor_system& system, file_mirror_options options)
  : system_(system), options_(std::move(options)) {
  if (options_.cache.empty())
    options_.cache = default_cache();
}

bool file_mirror::needed(const training_request& request) const {
  if (!options_.datasets)
    return false;
  if (options_.always_fetch)
    return true;
  std::ifstream in(request.workspace + "/cluster-id");
  std::string token;
  return !(in && std::getline(in, token) && token == request.workspace_id);
}

expected<void> file_mirror::fetch(const file_entry& remote, const std::string& local) {
  std::error_code ec;
  if (fs::exists(local, ec) && fs::file_size(local, ec) == remote.size &&
      static_cast<std::int64_t>(fs::last_write_time(local, ec).time_since_epoch().count()) ==
        remote.mtime)
    return {};  // cached and unchanged
  std::vector<std::uint8_t> bytes;
  bytes.reserve(remote.size);
  while (bytes.size() < remote.size) {
    auto chunk = ask<std::vector<std::uint8_t>>(system_, options_.datasets, transfer_timeout,
                                                fetch_atom::value, remote.path,
                                                static_cast<std::uint64_t>(bytes.size()),
                                                chunk_bytes);
    if (!chunk)
      return chunk.error();
    if (chunk->empty())
      return make_failure(error_code::dataset_unreadable,
                          "'" + remote.path + "' on the scheduler ended early");
    bytes.insert(bytes.end(), chunk->begin(), chunk->end());
  }
  if (auto ok = write_file_atomically(local, bytes); !ok)
    return ok;
  fs::last_write_time(local, fs::file_time_type(fs::file_time_type::duration(remote.mtime)), ec);
  return {};
}

expected<training_request> file_mirror::localize(const training_request& request) {
  auto local = request;
  auto files = ask<std::vector<file_entry>>(system_, options_.datasets, transfer_timeout,
                                            files_atom::value, request.dataset);
  if (!files)
    return files.error();
  for (const auto& f : *files)
    if (auto ok = fetch(f, cached(options_.cache, f.path)); !ok)
      return ok.error();
  for (auto* path : {&local.dataset.path, &local.dataset.annotations, &local.dataset.masks})
    if (!path->empty())
      *path = cached(options_.cache, *path);
  // The tool's folder: what earlier jobs (or this job before an interruption) left.
  local.workspace = options_.cache + "/workspace";
  const auto& tool = request.spec.tool.name;
  auto tool_files = ask<std::vector<file_entry>>(system_, options_.datasets, transfer_timeout,
                                                 files_atom::value, tool);
  if (!tool_files)
    return tool_files.error();
  auto server_folder = fs::path(request.workspace) / "tools" / tool;
  for (const auto& f : *tool_files) {
    auto relative = fs::path(f.path).lexically_relative(server_folder);
    if (auto ok = fetch(f, (fs::path(local.workspace) / "tools" / tool / relative).string()); !ok)
      return ok.error();
  }
  return local;
}

expected<void> file_mirror::push_tool(const std::string& local_workspace,
                                      const std::string& tool) {
  auto folder = fs::path(local_workspace) / "tools" / tool;
  for (const auto& f : list_files(folder.string())) {
    auto relative = fs::path(f.path).lexically_relative(folder).string();
    // In chunks, as files are fetched: a message stays far below the frame bound of the
    // scheduler's door (actors/door.hpp) whatever the size of the tool's checkpoint.
    for (std::uint64_t offset = 0;;) {
      auto bytes = read_chunk(f.path, offset, chunk_bytes);
      if (!bytes)
        return bytes.error();
      const auto sent = bytes->size();
      const bool last = sent < chunk_bytes;  // read to the end (a file may be empty)
      auto ok = ask<bool>(system_, options_.datasets, transfer_timeout, put_atom::value, tool,
                          relative, offset, std::move(*bytes), last);
      if (!ok)
        return ok.error();
      if (last)
        break;
      offset += sent;
    }
  }
  return {};
}

}  // namespace trainyard
