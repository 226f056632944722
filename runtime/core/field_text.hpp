// A field's value as a campaign writes it (runtime/core/fields.hpp): `auto` for an automatic
// number, true/false, an enum's name, "(none)" for an empty string, a reference by the name it
// refers to. What `--help`, `compare` and a continue job's inherited settings print.
#pragma once

#include <sstream>
#include <string>
#include <type_traits>

#include "runtime/core/fields.hpp"

namespace trainyard {

template <class T>
std::string value_text(const field_def<T>& def) {
  const T& v = *def.value;
  if constexpr (has_fields_v<T>) {
    if constexpr (std::is_same_v<T, tool_spec>)
      return v.name;
    return "";
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_enum_v<T>) {
    return name_of(*def.choices, v);
  } else if constexpr (std::is_arithmetic_v<T>) {
    if (def.is_auto(static_cast<double>(v)))
      return "auto";
    std::ostringstream out;
    out << v;
    return out.str();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v.empty() ? "(none)" : v;
  } else {
    return "";
  }
}

}  // namespace trainyard
