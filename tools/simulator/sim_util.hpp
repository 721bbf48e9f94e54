// Small string helpers used by the AI Hub simulator (percent-decoding, UTF-8 checks, base64,
// strict integer parsing). Kept free of any HTTP library so they can be unit-tested directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aihub_sim {

// Strict RFC 3986 percent-decoding of one path segment. '+' stays '+' (it only means a space
// in form-encoded query strings). Returns nullopt on a malformed escape ("%", "%4", "%zz").
std::optional<std::string> percent_decode(std::string_view in);

// Decodes UTF-8 into code points; nullopt for invalid UTF-8 (overlong forms, surrogates,
// code points above U+10FFFF, truncated sequences).
std::optional<std::vector<char32_t>> decode_utf8(std::string_view in);

// Standard base64 (with '+', '/' and '=' padding), strict decoding.
std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

// Digits only, no sign, no whitespace, no overflow.
std::optional<std::uint64_t> parse_u64(std::string_view in);
// Optional leading '-', then digits only.
std::optional<std::int64_t> parse_i64(std::string_view in);
// "true"/"false"/"1"/"0" (case-insensitive).
std::optional<bool> parse_bool(std::string_view in);

std::vector<std::string_view> split(std::string_view in, char sep);

// RFC 9110 IMF-fixdate of Unix seconds: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::int64_t unix_seconds);

}  // namespace aihub_sim
