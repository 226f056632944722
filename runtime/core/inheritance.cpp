// Walks the field tables of the two settings in lockstep (runtime/core/fields.hpp): both are the
// same type, so their tables list the same fields in the same order.
#include "runtime/core/inheritance.hpp"

#include <set>
#include <sstream>

#include "runtime/core/field_text.hpp"
#include "runtime/core/fields.hpp"

namespace trainyard {

namespace {

struct inheritance {
  std::set<std::string> written;
  std::string taken;

  template <class S>
  void walk(S& job, const S& previous) {
    fields(
      [&](const char*, auto... mine) {
        fields_of([&](const char*, auto... theirs) { (take(mine, theirs), ...); }, previous);
      },
      job);
  }

  template <class T>
  void take(const field_def<T>& mine, const field_def<T>& theirs) {
    if constexpr (has_fields_v<T>) {
      if (mine.form == ini_form::flat)
        walk(*mine.value, static_cast<const T&>(*theirs.value));
    } else {
      const std::string key = mine.ini_key;
      if (key == "iterations" || written.count(key) || *mine.value == *theirs.value)
        return;
      *mine.value = *theirs.value;
      taken += (taken.empty() ? "" : ", ") + key + " = " + value_text(mine);
    }
  }
};

}  // namespace

std::string inherit_settings(training_settings& job, const training_settings& previous,
                             const std::string& written) {
  inheritance walker;
  std::istringstream keys(written);
  for (std::string key; std::getline(keys, key, ',');)
    if (!key.empty())
      walker.written.insert(key);
  walker.walk(job, previous);
  return walker.taken;
}

}  // namespace trainyard
