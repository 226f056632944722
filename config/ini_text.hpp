// The text helpers of the campaign reader (campaign.cpp, sweep_grid.cpp): trimming, strict
// number and boolean parsing, and the "did you mean" of a misspelt name. No Boost, no files.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace trainyard {

/// `s` without blanks (space, tab, CR, LF, VT, FF) at either end.
std::string trim(const std::string& s);

/// `s` in ASCII lower case.
std::string lower(std::string s);

/// "a, b, c".
std::string join(const std::vector<std::string>& items);

/// Levenshtein distance between `a` and `b`.
std::size_t edit_distance(const std::string& a, const std::string& b);

/// " (did you mean 'x'?)" naming the first of `known` within two edits of `name`; "" when none is.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& known);

/// The whole text as an integer of type Int: no sign for unsigned types, no blanks.
template <class Int>
std::optional<Int> parse_integer(const std::string& text) {
  Int value{};
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end)
    return std::nullopt;
  return value;
}

/// The whole text as a finite real number.
std::optional<double> parse_real(const std::string& text);

/// true/yes/1 or false/no/0, in any case.
std::optional<bool> parse_bool(const std::string& text);

}  // namespace trainyard
