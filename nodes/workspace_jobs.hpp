// What the commands that read a workspace's database directly (evaluate, queue, compare) share:
// opening it with a message that says what to pass instead, and printing a failure.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/store/store.hpp"

namespace trainyard {

/// The workspace's store and every job in it, in id order.
struct workspace_jobs {
  std::unique_ptr<store> db;
  std::vector<job_record> jobs;
};

/// storage_failed naming the folder and --workspace when it holds no trainyard.db.
expected<workspace_jobs> load_workspace_jobs(const std::string& workspace);

/// Prints "trainyard: MESSAGE" on stderr; returns the failure's exit code.
int print_failure(const failure& f);

}  // namespace trainyard
