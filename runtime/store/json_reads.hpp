// Typed reads of JSON values for the readers of trainyard's JSON files (spec_json.cpp,
// runtime/train/tool_files.cpp): a value of the wrong type or out of its range throws
// read_error naming its dotted path, instead of nlohmann's get<T>() silently wrapping 2^40 into
// an int or converting 1e100 with undefined behaviour. Included by .cpp files only, so nlohmann
// stays out of the public headers.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace trainyard::json_reads {

using json = nlohmann::json;

/// Thrown by the reads below; every parser catches it and returns storage_failed at its edge.
struct read_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string join(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

inline std::string type_of(const json& j) { return j.type_name(); }

// --- typed reads of one value -------------------------------------------------------------------

inline void read_value(const json& j, const std::string& where, std::string& out) {
  if (!j.is_string()) throw read_error(where + ": expected a string, found " + type_of(j));
  out = j.get<std::string>();
}

inline void read_value(const json& j, const std::string& where, bool& out) {
  if (!j.is_boolean()) throw read_error(where + ": expected true or false, found " + type_of(j));
  out = j.get<bool>();
}

inline void read_value(const json& j, const std::string& where, double& out) {
  if (j.is_number()) {
    out = j.get<double>();
    return;
  }
  if (j.is_null()) {  // what other writers make of NaN
    out = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "nan" || s == "NaN") {
      out = std::numeric_limits<double>::quiet_NaN();
      return;
    }
    if (s == "inf" || s == "Infinity") {
      out = std::numeric_limits<double>::infinity();
      return;
    }
    if (s == "-inf" || s == "-Infinity") {
      out = -std::numeric_limits<double>::infinity();
      return;
    }
  }
  throw read_error(where + ": expected a number, found " + type_of(j));
}

template <class Int>
std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>> read_value(
    const json& j, const std::string& where, Int& out) {
  using limits = std::numeric_limits<Int>;
  auto out_of_range = [&] {
    return read_error(where + ": " + j.dump() + " is out of range " +
                      std::to_string(limits::min()) + ".." + std::to_string(limits::max()));
  };
  if (j.is_number_unsigned()) {
    auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(limits::max())) throw out_of_range();
    out = static_cast<Int>(v);
  } else if (j.is_number_integer()) {
    auto v = j.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<Int>) {
      if (v < 0) throw out_of_range();
      if (static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(limits::max())) {
        throw out_of_range();
      }
    } else {
      if (v < static_cast<std::int64_t>(limits::min()) ||
          v > static_cast<std::int64_t>(limits::max())) {
        throw out_of_range();
      }
    }
    out = static_cast<Int>(v);
  } else if (j.is_number_float() && std::floor(j.get<double>()) == j.get<double>()) {
    // 32.0 from a hand-edited file: accept whole numbers written as floats.
    double v = j.get<double>();
    if (v < static_cast<double>(limits::min()) || v > static_cast<double>(limits::max())) {
      throw out_of_range();
    }
    out = static_cast<Int>(v);
  } else {
    throw read_error(where + ": expected a whole number, found " +
                     (j.is_number() ? j.dump() : type_of(j)));
  }
}

/// An object being read: fields present are read, absent ones keep the default already in `out`.
class object_reader {
 public:
  object_reader(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) {
      throw read_error((where_.empty() ? std::string("the document") : where_) +
                       ": expected an object, found " + type_of(j_));
    }
  }

  template <class T>
  void field(const char* key, T& out) const {
    auto it = j_.find(key);
    if (it != j_.end()) read_value(*it, join(where_, key), out);
  }

  /// A nested object read by `fn(const json&, where, out)`.
  template <class T, class Fn>
  void object(const char* key, T& out, Fn fn) const {
    auto it = j_.find(key);
    if (it != j_.end()) fn(*it, join(where_, key), out);
  }

  /// An enum written as a name; `parse` returns false for an unknown name.
  template <class E, class Parse>
  void name(const char* key, E& out, Parse parse, const char* expected) const {
    auto it = j_.find(key);
    if (it == j_.end()) return;
    std::string text;
    read_value(*it, join(where_, key), text);
    if (!parse(text, out)) {
      throw read_error(join(where_, key) + ": '" + text + "' is not one of " + expected);
    }
  }

 private:
  const json& j_;
  std::string where_;
};

}  // namespace trainyard::json_reads
