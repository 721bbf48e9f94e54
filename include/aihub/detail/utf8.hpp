#pragma once
// The one definition of well-formed UTF-8 (RFC 3629): no overlong forms, no UTF-16 surrogates,
// nothing above U+10FFFF. Validation, the JSON writer and the terminal escaping all use it, so
// they cannot disagree about what is text.

#include <cstddef>
#include <string_view>

#include "aihub/version.hpp"

AIHUB_NAMESPACE_BEGIN
namespace detail {

/// Length of the well-formed sequence starting at text[at] (1 to 4), or 0 when the bytes there are
/// not one.
constexpr std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept {
  const unsigned char lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (lead == 0xED) hi = 0x9F;  // U+D800..U+DFFF are surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0) lo = 0x90;  // overlong below U+10000
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - at < len) return 0;
  const unsigned char second = static_cast<unsigned char>(text[at + 1]);
  if (second < lo || second > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    const unsigned char c = static_cast<unsigned char>(text[at + k]);
    if (c < 0x80 || c > 0xBF) return 0;
  }
  return len;
}

/// The code point of the well-formed sequence of `len` bytes at text[at].
constexpr char32_t utf8_decode(std::string_view text, std::size_t at, std::size_t len) noexcept {
  const auto byte = [&](std::size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[at + k]));
  };
  switch (len) {
    case 1:
      return byte(0);
    case 2:
      return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3:
      return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    default:
      return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
             (byte(3) & 0x3F);
  }
}

}  // namespace detail
AIHUB_NAMESPACE_END
