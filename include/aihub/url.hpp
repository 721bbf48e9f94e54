#pragma once
// Percent-encoding per RFC 3986 and a builder for request targets. Everything outside the
// unreserved set (ALPHA / DIGIT / "-" / "." / "_" / "~") is encoded, in path segments and query
// values alike, so a space, '#', '?', '%', '+', '/' or a non-ASCII name always round-trips and
// never changes the meaning of the URL ('+' in particular is sent as %2B, never left for a server
// to read as a space).

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN
namespace url {

namespace detail {
constexpr bool compute_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}
struct unreserved_table {
  bool yes[256] = {};
  constexpr unreserved_table() {
    for (int c = 0; c < 256; ++c) yes[c] = compute_unreserved(static_cast<unsigned char>(c));
  }
};
inline constexpr unreserved_table unreserved{};
}  // namespace detail

constexpr bool is_unreserved(unsigned char c) noexcept {
  return detail::unreserved.yes[c];
}

/// Appends `text` percent-encoded (uppercase hex digits, as RFC 3986 recommends) to a string-like
/// `out` (std::string, http::target_string).
template <class Out>
void append_encoded(Out& out, std::string_view text) {
  constexpr char hex[] = "0123456789ABCDEF";
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (is_unreserved(c)) continue;
    out.append(text.substr(plain_from, i - plain_from));
    const char escape[3] = {'%', hex[c >> 4], hex[c & 15]};
    out.append(std::string_view(escape, 3));
    plain_from = i + 1;
  }
  out.append(text.substr(plain_from));
}

inline std::string encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_encoded(out, text);
  return out;
}

/// Decodes %XX escapes; '+' stays '+'. A malformed escape is an error, not a guess.
inline result<std::string> decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (text.size() - i < 3) return make_error(error_kind::decode, "truncated percent escape");
    int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return make_error(error_kind::decode, "invalid percent escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

/// Writes "/path/seg?name=value&..." into a string-like `out` (std::string, http::target_string):
/// literal path pieces as they are, segments and query values percent-encoded.
template <class Out>
class target_writer {
 public:
  explicit target_writer(Out& out) noexcept : out_(out) {}

  target_writer& path(std::string_view literal) {
    out_.append(literal);
    return *this;
  }
  target_writer& segment(std::string_view value) {
    out_.push_back('/');
    append_encoded(out_, value);
    return *this;
  }
  target_writer& segment(std::int64_t value) {
    out_.push_back('/');
    append_integer(value);
    return *this;
  }
  target_writer& query(std::string_view name, std::string_view value) {
    start_parameter(name);
    append_encoded(out_, value);
    return *this;
  }
  target_writer& query(std::string_view name, std::int64_t value) {
    start_parameter(name);
    append_integer(value);
    return *this;
  }
  target_writer& query(std::string_view name, bool value) {
    start_parameter(name);
    out_.append(value ? std::string_view("true") : std::string_view("false"));
    return *this;
  }

 private:
  void start_parameter(std::string_view name) {
    out_.push_back(has_query_ ? '&' : '?');
    has_query_ = true;
    append_encoded(out_, name);
    out_.push_back('=');
  }
  void append_integer(std::int64_t value) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }

  Out& out_;
  bool has_query_ = false;
};

}  // namespace url
AIHUB_NAMESPACE_END
