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

constexpr bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

/// Appends `text` percent-encoded (uppercase hex digits, as RFC 3986 recommends).
inline void append_encoded(std::string& out, std::string_view text) {
  constexpr char hex[] = "0123456789ABCDEF";
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
      out.append(esc, 3);
    }
  }
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

/// Builds "/path/seg?name=value&..." in one buffer: literal path pieces are appended as they are,
/// segments and query values encoded.
class target_builder {
 public:
  explicit target_builder(std::size_t reserve = 64) { out_.reserve(reserve); }

  target_builder& path(std::string_view literal) {
    out_.append(literal);
    return *this;
  }
  target_builder& segment(std::string_view value) {
    out_.push_back('/');
    append_encoded(out_, value);
    return *this;
  }
  target_builder& segment(std::int64_t value) {
    out_.push_back('/');
    append_integer(value);
    return *this;
  }
  target_builder& query(std::string_view name, std::string_view value) {
    start_parameter(name);
    append_encoded(out_, value);
    return *this;
  }
  target_builder& query(std::string_view name, std::int64_t value) {
    start_parameter(name);
    append_integer(value);
    return *this;
  }
  target_builder& query(std::string_view name, bool value) {
    start_parameter(name);
    out_.append(value ? "true" : "false");
    return *this;
  }

  std::string take() && { return std::move(out_); }
  const std::string& str() const noexcept { return out_; }

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
    out_.append(buf, r.ptr);
  }

  std::string out_;
  bool has_query_ = false;
};

}  // namespace url
AIHUB_NAMESPACE_END
