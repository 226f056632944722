#include "config/ini_text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace trainyard {

std::string trim(const std::string& s) {
  const char* space = " \t\r\n\v\f";
  auto first = s.find_first_not_of(space);
  if (first == std::string::npos)
    return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& known) {
  for (const auto& k : known)
    if (edit_distance(k, name) <= 2)
      return " (did you mean '" + k + "'?)";
  return "";
}

std::optional<double> parse_real(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end || !std::isfinite(value))
    return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(const std::string& text) {
  auto t = lower(text);
  if (t == "true" || t == "yes" || t == "1")
    return true;
  if (t == "false" || t == "no" || t == "0")
    return false;
  return std::nullopt;
}

}  // namespace trainyard
