#include "actors/dataset.hpp"

#include <algorithm>
#include <map>

#include <caf/all.hpp>

#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/store/spec_json.hpp"
#include "runtime/store/store.hpp"

namespace trainyard {

namespace {

// Two declarations mean the same thing when every field agrees; comparing their JSON keeps
// that true when a field is added (the scheduler compares resubmitted jobs the same way).
template <class Spec>
bool same(const Spec& a, const Spec& b) {
  return to_json(a) == to_json(b);
}

split_summary summarize(const split_record& split) {
  split_summary s;
  s.name = split.spec.name;
  s.locked = split.locked;
  for (auto set : split.assignment) {
    switch (set) {
      case train_set: ++s.train; break;
      case validation_set: ++s.validation; break;
      case test_set: ++s.test; break;
      default: ++s.unused; break;
    }
  }
  return s;
}

// The folders and files a dataset is made of.
std::vector<std::string> roots_of(const dataset_spec& d) {
  std::vector<std::string> roots;
  for (const auto& r : {d.path, d.annotations, d.masks})
    if (!r.empty())
      roots.push_back(r);
  return roots;
}

struct dataset_state {
  std::unique_ptr<store> db;
  std::map<std::string, dataset_spec> datasets;      // declared or stored
  std::map<std::string, std::int64_t> sizes;         // image count of loaded indexes
  std::string workspace;                             // serves its tools/ folder to nodes
  static inline const char* name = "dataset";

  expected<split_record> split(const std::string& name) {
    auto found = db->load_split(name);
    if (!found)
      return found.error();
    if (!*found)
      return make_failure(error_code::unknown_split,
                          "no split named '" + name + "' in this workspace; declare it in a "
                          "[split." + name + "] section of the campaign");
    return std::move(**found);
  }

  // Declares (or re-declares identically) a dataset; answers its image count.
  expected<std::int64_t> define(const dataset_spec& spec) {
    auto known = datasets.find(spec.name);
    if (known != datasets.end() && same(known->second, spec) && sizes.count(spec.name))
      return sizes[spec.name];
    if (known != datasets.end() && !same(known->second, spec))
      // Splits (maybe locked by trained tools) index this dataset's images: changing what the
      // name means would silently change them.
      return make_failure(error_code::already_exists,
                          "dataset '" + spec.name + "' is already declared in this workspace "
                          "with other settings (path '" + known->second.path +
                            "'); keep them or declare the dataset under a new name");
    auto index = load_dataset_index(spec);
    if (!index)
      return index.error();
    if (auto ok = db->save_dataset(spec); !ok)
      return ok.error();
    datasets[spec.name] = spec;
    sizes[spec.name] = static_cast<std::int64_t>(index->size());
    return sizes[spec.name];
  }

  // Declares a split: drawn once, kept while unchanged, redrawn only while unlocked.
  expected<split_summary> define(const split_spec& spec) {
    auto ds = datasets.find(spec.dataset);
    if (ds == datasets.end())
      return make_failure(error_code::unknown_dataset,
                          "split '" + spec.name + "' names dataset '" + spec.dataset +
                            "', which is not declared; add a [dataset." + spec.dataset +
                            "] section");
    auto stored = db->load_split(spec.name);
    if (!stored)
      return stored.error();
    if (*stored) {
      auto& existing = **stored;
      if (same(existing.spec, spec))
        return summarize(existing);
      if (existing.locked)
        return make_failure(error_code::split_locked,
                            "split '" + spec.name + "' is locked (a trained tool uses it) and "
                            "cannot be redrawn with other settings; keep its settings or "
                            "declare a split with a new name");
    }
    auto index = load_dataset_index(ds->second);
    if (!index)
      return index.error();
    auto assignment = make_split(*index, spec);
    if (!assignment)
      return assignment.error();
    split_record rec{spec, std::move(*assignment), false};
    if (auto ok = db->save_split(rec); !ok)
      return ok.error();
    return summarize(rec);
  }

  // Hands out a split, locking it first when `lock` is set.
  expected<split_grant> grant(const std::string& name, bool lock) {
    auto found = split(name);
    if (!found)
      return found.error();
    auto ds = datasets.find(found->spec.dataset);
    if (ds == datasets.end())
      return make_failure(error_code::unknown_dataset,
                          "split '" + name + "' is on dataset '" + found->spec.dataset +
                            "', which this workspace does not know");
    if (lock && !found->locked) {
      found->locked = true;
      if (auto ok = db->save_split(*found); !ok)
        return ok.error();
    }
    return split_grant{ds->second, found->spec, std::move(found->assignment), found->locked};
  }

  // Unlocks a split (saved); whether it was locked.
  expected<bool> unlock(const std::string& name) {
    auto found = split(name);
    if (!found)
      return found.error();
    if (!found->locked)
      return false;
    found->locked = false;
    if (auto ok = db->save_split(*found); !ok)
      return ok.error();
    return true;
  }

  // Moves images of a split into the set `to` and saves the split.
  expected<split_summary> move(const std::string& name, const std::vector<std::int64_t>& images,
                               split_set to) {
    auto found = split(name);
    if (!found)
      return found.error();
    if (auto ok = move_images(found->assignment, images, to, found->locked); !ok)
      return make_failure(ok.error().code, "split '" + name + "': " + ok.error().message);
    if (auto ok = db->save_split(*found); !ok)
      return ok.error();
    return summarize(*found);
  }
};

// An answer for the requester: the value, or the failure as a CAF error.
template <class T>
caf::result<T> answer(expected<T> x) {
  if (!x)
    return make_caf_error(x.error());
  return std::move(*x);
}

dataset_actor::behavior_type dataset(dataset_actor::stateful_pointer<dataset_state> self,
                                     std::unique_ptr<store> db, std::string workspace) {
  self->state.db = std::move(db);
  self->state.workspace = std::move(workspace);
  if (auto stored = self->state.db->load_datasets())
    for (auto& d : *stored)
      self->state.datasets[d.name] = d;
  return {
    [=](define_atom, const dataset_spec& spec) -> caf::result<std::int64_t> {
      return answer(self->state.define(spec));
    },
    [=](define_atom, const split_spec& spec) -> caf::result<split_summary> {
      return answer(self->state.define(spec));
    },
    [=](split_atom, const std::string& name, bool lock) -> caf::result<split_grant> {
      return answer(self->state.grant(name, lock));
    },
    [=](unlock_atom, const std::string& name) -> caf::result<bool> {
      return answer(self->state.unlock(name));
    },
    [=](images_atom, const std::string& name, const std::vector<std::int64_t>& images,
        std::uint8_t to) -> caf::result<split_summary> {
      return answer(self->state.move(name, images, static_cast<split_set>(to)));
    },
    [=](files_atom, const dataset_spec& spec) -> caf::result<std::vector<file_entry>> {
      auto known = self->state.datasets.find(spec.name);
      if (known == self->state.datasets.end() || !same(known->second, spec))
        return make_caf_error(error_code::unknown_dataset,
                              "dataset '" + spec.name + "' is not declared with these settings");
      std::vector<file_entry> all;
      for (const auto& root : roots_of(known->second))
        for (auto& f : list_files(root))
          all.push_back(std::move(f));
      return all;
    },
    [=](files_atom, const std::string& tool) -> caf::result<std::vector<file_entry>> {
      if (tool.empty() || tool.find('/') != std::string::npos || tool.find("..") != std::string::npos)
        return make_caf_error(error_code::invalid_request, "bad tool name '" + tool + "'");
      return list_files(self->state.workspace + "/tools/" + tool);
    },
    [=](fetch_atom, const std::string& path, std::uint64_t offset,
        std::uint32_t length) -> caf::result<std::vector<std::uint8_t>> {
      // Only the files of declared datasets and of the workspace's tools are served.
      bool allowed = path_within(self->state.workspace + "/tools", path);
      for (const auto& [name, d] : self->state.datasets)
        for (const auto& root : roots_of(d))
          allowed = allowed || path_within(root, path);
      if (!allowed)
        return make_caf_error(error_code::invalid_request,
                              "'" + path + "' is no dataset or tool file of this scheduler");
      auto bytes = read_chunk(path, offset, std::min<std::uint32_t>(length, 16u << 20));
      if (!bytes)
        return make_caf_error(bytes.error());
      return std::move(*bytes);
    },
    [=](put_atom, const std::string& tool, const std::string& relative, std::uint64_t offset,
        const std::vector<std::uint8_t>& bytes, bool last) -> caf::result<bool> {
      auto folder = self->state.workspace + "/tools/" + tool;
      auto path = folder + "/" + relative;
      if (tool.empty() || tool.find('/') != std::string::npos || !path_within(folder, path) ||
          relative.empty())
        return make_caf_error(error_code::invalid_request,
                              "refused to write '" + relative + "' of tool '" + tool + "'");
      if (auto ok = write_file_part(path, offset, bytes, last); !ok)
        return make_caf_error(ok.error());
      return true;
    },
  };
}

}  // namespace

expected<dataset_actor> spawn_dataset_actor(caf::actor_system& system,
                                            const std::string& workspace) {
  auto db = store::open(workspace + "/trainyard.db");
  if (!db)
    return db.error();
  // Scheduled, not detached: its handle goes to every node and client, and a detached actor's
  // thread waits for the last reference to go, which a peer's proxy bookkeeping can keep past
  // shutdown (the scheduler then hung on Ctrl-C). Its SQLite calls and file listings are short.
  return system.spawn(dataset, std::move(*db), workspace);
}

}  // namespace trainyard
