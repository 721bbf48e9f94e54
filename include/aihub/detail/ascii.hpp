#pragma once
// Locale-independent ASCII helpers (std::tolower depends on the C locale and on signed chars).

#include <cstddef>
#include <string_view>

#include "aihub/version.hpp"

AIHUB_NAMESPACE_BEGIN
namespace detail {

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

constexpr bool is_control(unsigned char c) noexcept {
  return c < 0x20 || c == 0x7f;
}

}  // namespace detail
AIHUB_NAMESPACE_END
