#pragma once
// The built-in JSON codec: a writer that appends to a caller's string, and a strict pull reader
// that decodes straight into typed structs without building a DOM. Strict means RFC 8259: no
// trailing commas, no leading zeros, no invalid escapes or lone surrogates, valid UTF-8 only,
// nothing after the value, and a nesting limit. Integers are parsed as integers (run timestamps are
// nanoseconds above 2^53, which a double cannot hold), and an integer that does not fit is an
// error, never a silent wrap.
//
// Structs describe their JSON shape once, with json_fields(); both this codec and the nlohmann/json
// adapter read that description, so a model type is written in one place.

#include <cfloat>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "aihub/detail/utf8.hpp"
#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN
namespace json {

// ---------------------------------------------------------------------------------------------------
// Field descriptions

enum class presence : std::uint8_t { optional, required };

template <class Class, class Member>
struct field_t {
  std::string_view name;
  Member Class::*member;
  presence need;
};

/// A member that may be absent from the JSON object.
template <class Class, class Member>
constexpr field_t<Class, Member> field(std::string_view name, Member Class::*member) noexcept {
  return {name, member, presence::optional};
}
/// A member the JSON object must contain; its absence is a decode error naming it.
template <class Class, class Member>
constexpr field_t<Class, Member> required(std::string_view name, Member Class::*member) noexcept {
  return {name, member, presence::required};
}

namespace detail {
template <std::size_t I, class Field>
struct field_slot {
  Field field;
};
template <class Indices, class... Fields>
struct field_list_base;
template <std::size_t... I, class... Fields>
struct field_list_base<std::index_sequence<I...>, Fields...> : field_slot<I, Fields>... {};
}  // namespace detail

/// The fields of a model, as json_fields() returns them. A plain aggregate rather than std::tuple:
/// std::tuple's constrained constructors cost thousands of template instantiations per
/// translation unit, and every model has one of these.
template <class... Fields>
struct field_list : detail::field_list_base<std::index_sequence_for<Fields...>, Fields...> {
  static constexpr std::size_t size = sizeof...(Fields);
};

namespace detail {
// Field is deduced from the one base class field_slot<I, Field> of the list.
template <std::size_t I, class Field>
constexpr const Field& slot_field(const field_slot<I, Field>& slot) noexcept {
  return slot.field;
}
}  // namespace detail

/// The I-th field of a field_list.
template <std::size_t I, class List>
constexpr const auto& field_at(const List& list) noexcept {
  return detail::slot_field<I>(list);
}

/// `return json::fields(json::field("id", &T::id), ...);` in a model's json_fields().
template <class... Fields>
constexpr field_list<Fields...> fields(Fields... each) noexcept {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    field_list<Fields...> list{};
    ((static_cast<detail::field_slot<I, Fields>&>(list).field = each), ...);
    return list;
  }
  (std::index_sequence_for<Fields...>{});
}

/// Calls f(field) for each field of a field_list, in order.
template <class List, class F>
constexpr void for_each_field(const List& list, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(field_at<I>(list)), ...);
  }
  (std::make_index_sequence<List::size>{});
}

/// A type whose JSON shape is described by `static constexpr auto json_fields()`.
template <class T>
concept described = requires {
  T::json_fields();
};

/// An enum that maps to JSON strings through ADL functions `from_string(std::string_view, E&) ->
/// bool` and `to_string(E) -> std::string_view`.
template <class T>
concept string_enum = std::is_enum_v<T> && requires(std::string_view s, T& v) {
  { from_string(s, v) } -> std::same_as<bool>;
  { to_string(v) } -> std::convertible_to<std::string_view>;
};

/// An integer the API sends either as a number or as a numeric string (file_size, some ids).
struct flex_int {
  std::int64_t value = 0;
  friend bool operator==(const flex_int&, const flex_int&) = default;
};

/// A string the API sends either as a string or as a number (batch_id in run results). Kept as
/// text.
struct flex_string {
  std::string value;
  friend bool operator==(const flex_string&, const flex_string&) = default;
};

/// Any JSON value kept verbatim (validated), for free-form parts of the API such as field values.
struct raw {
  std::string text;
  friend bool operator==(const raw&, const raw&) = default;
};

struct limits {
  std::uint32_t max_depth = 64;
};

// ---------------------------------------------------------------------------------------------------
// Writer

class writer {
 public:
  explicit writer(std::string& out) noexcept : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  void key(std::string_view name) {
    separate();
    quoted(name);
    out_.push_back(':');
    after_key_ = true;
  }
  void string(std::string_view s) {
    separate();
    quoted(s);
  }
  void integer(std::int64_t v) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  void uinteger(std::uint64_t v) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  /// Non-finite numbers have no JSON form and are written as null.
  void number(double v) {
    separate();
    if (v != v || v == std::numeric_limits<double>::infinity() ||
        v == -std::numeric_limits<double>::infinity()) {
      out_.append("null");
      return;
    }
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  void boolean(bool v) {
    separate();
    out_.append(v ? "true" : "false");
  }
  void null() {
    separate();
    out_.append("null");
  }
  /// Inserts already-serialised JSON (trusted: from json::raw, which the reader validated).
  void raw_json(std::string_view text) {
    separate();
    out_.append(text);
  }

  /// Appends `s` as a JSON string: quotes, backslash and control characters escaped, well-formed
  /// UTF-8 copied as it is. A byte that does not begin a well-formed UTF-8 sequence is written as
  /// U+FFFD: the requests validate their text first, so this never changes what a caller meant
  /// to send, but the writer on its own can never produce a document that is not JSON.
  static void append_quoted(std::string& out, std::string_view s) {
    out.push_back('"');
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        if (std::size_t len = ::aihub::detail::utf8_sequence_length(s, i); len != 0) {
          i += len - 1;
          continue;
        }
        out.append(s.data() + run, i - run);
        out.append("\xEF\xBF\xBD");
        run = i + 1;
        continue;
      }
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out.append(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        default: {
          constexpr char hex[] = "0123456789abcdef";
          char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          out.append(esc, 6);
        }
      }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
  }

 private:
  void open(char c) {
    separate();
    out_.push_back(c);
    ++depth_;
    first_ = true;
  }
  void close(char c) {
    out_.push_back(c);
    --depth_;
    first_ = false;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ > 0 && !first_) out_.push_back(',');
    first_ = false;
  }
  void quoted(std::string_view s) { append_quoted(out_, s); }

  std::string& out_;
  std::uint32_t depth_ = 0;
  bool first_ = true;
  bool after_key_ = false;
};

// ---------------------------------------------------------------------------------------------------
// Reader

enum class value_kind : std::uint8_t { object, array, string, number, boolean, null, none };

/// A strict pull parser. Every read returns false on failure and records the first error (message
/// and byte offset); callers stop at the first false.
class reader {
 public:
  explicit reader(std::string_view text, limits lim = {}) noexcept
      : p_(text.data()), begin_(text.data()), end_(text.data() + text.size()), limits_(lim) {}

  bool ok() const noexcept { return message_ == nullptr; }
  const char* message() const noexcept { return message_ ? message_ : ""; }
  std::size_t offset() const noexcept { return static_cast<std::size_t>(error_at_ - begin_); }

  /// Records a failure at the current position (the first one wins). Always returns false.
  bool fail(const char* message) noexcept {
    if (!message_) {
      message_ = message;
      error_at_ = p_;
    }
    return false;
  }

  value_kind peek() noexcept {
    skip_ws();
    if (p_ == end_) return value_kind::none;
    switch (*p_) {
      case '{':
        return value_kind::object;
      case '[':
        return value_kind::array;
      case '"':
        return value_kind::string;
      case 't':
      case 'f':
        return value_kind::boolean;
      case 'n':
        return value_kind::null;
      default:
        return (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) ? value_kind::number : value_kind::none;
    }
  }

  /// What a member guess passed to read_object() did with the member at the reader's position.
  enum class guess : std::uint8_t {
    miss,      ///< not the member it expected; nothing consumed
    consumed,  ///< name, ':' and value consumed
    failed,    ///< name consumed, the value was invalid (the error is recorded)
  };

  /// Reads an object, calling on_member(key) for each member; on_member must consume the value
  /// (read it or skip_value()) and return false to stop on failure.
  template <class F>
  bool read_object(F&& on_member) {
    return read_object([]() noexcept { return guess::miss; }, on_member);
  }

  /// Reads an object, first offering each member to guess_member(), which may recognise it by its
  /// name in place (try_member_name) and consume it whole; the members it misses are scanned and
  /// passed to on_member(key) as above. Decoders of described structs guess the member that
  /// follows the last one they matched: servers send members in schema order, so most guesses hit
  /// and most keys are never scanned, unescaped or compared with every field name.
  template <class G, class F>
  bool read_object(G&& guess_member, F&& on_member) {
    skip_ws();
    if (p_ == end_ || *p_ != '{') return fail("expected an object");
    if (++depth_ > limits_.max_depth) return fail("nesting deeper than the limit");
    ++p_;
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      --depth_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (p_ == end_ || *p_ != '"') return fail("expected a member name");
      switch (guess_member()) {
        case guess::consumed:
          break;
        case guess::failed:
          return fail("invalid member value");
        case guess::miss: {
          std::string_view key;
          if (!parse_string_view(key, key_scratch_)) return false;
          skip_ws();
          if (p_ == end_ || *p_ != ':') return fail("expected ':' after a member name");
          ++p_;
          if (!on_member(key)) return fail("invalid member value");
          break;
        }
      }
      skip_ws();
      if (p_ == end_) return fail("unterminated object");
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == '}') {
        ++p_;
        --depth_;
        return true;
      }
      return fail("expected ',' or '}' in an object");
    }
  }

  /// True when `name`, quoted, is its own JSON form: printable ASCII without '"' or '\\'. Only
  /// such names may be given to try_member_name.
  static constexpr bool is_verbatim_name(std::string_view name) noexcept {
    for (char c : name)
      if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') return false;
    return true;
  }

  /// At a member name (p_ at its '"'): consumes `"name"` and the ':' after it when they are the
  /// very next bytes, and returns false having consumed nothing otherwise. `name` must be verbatim
  /// (is_verbatim_name): then matching bytes are a valid string without escapes, and nothing is
  /// left to check. A key that equals `name` only once unescaped ("na\u006de") does not match
  /// here; the caller then scans it with parse_string_view, which still finds the member.
  bool try_member_name(std::string_view name) noexcept {
    const char* const start = p_;
    if (static_cast<std::size_t>(end_ - p_) < name.size() + 2 || *p_ != '"' ||
        std::memcmp(p_ + 1, name.data(), name.size()) != 0 || p_[1 + name.size()] != '"')
      return false;
    p_ += name.size() + 2;
    skip_ws();
    if (p_ == end_ || *p_ != ':') {
      p_ = start;  // the generic path reports the missing ':' at the same byte
      return false;
    }
    ++p_;
    return true;
  }

  /// Reads an array, calling on_element() for each element, which must consume it.
  template <class F>
  bool read_array(F&& on_element) {
    skip_ws();
    if (p_ == end_ || *p_ != '[') return fail("expected an array");
    if (++depth_ > limits_.max_depth) return fail("nesting deeper than the limit");
    ++p_;
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      --depth_;
      return true;
    }
    for (;;) {
      if (!on_element()) return fail("invalid array element");
      skip_ws();
      if (p_ == end_) return fail("unterminated array");
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == ']') {
        ++p_;
        --depth_;
        return true;
      }
      return fail("expected ',' or ']' in an array");
    }
  }

  bool read_string(std::string& out) {
    skip_ws();
    if (p_ == end_ || *p_ != '"') return fail("expected a string");
    std::string_view view;
    out.clear();
    if (!parse_string_view(view, out)) return false;
    if (view.data() != out.data()) out.assign(view);
    return true;
  }

  bool read_int64(std::int64_t& out) {
    if (peek() != value_kind::number) return fail("expected an integer");
    std::string_view text;
    bool integral = false;
    if (!scan_number(text, integral)) return false;
    if (!integral) return fail("expected an integer, found a fraction or exponent");
    auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    if (r.ec == std::errc::result_out_of_range) return fail("integer does not fit in 64 bits");
    return r.ec == std::errc() ? true : fail("invalid integer");
  }

  bool read_uint64(std::uint64_t& out) {
    if (peek() != value_kind::number) return fail("expected an integer");
    std::string_view text;
    bool integral = false;
    if (!scan_number(text, integral)) return false;
    if (!integral) return fail("expected an integer, found a fraction or exponent");
    if (text[0] == '-') return fail("expected a non-negative integer");
    auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    if (r.ec == std::errc::result_out_of_range) return fail("integer does not fit in 64 bits");
    return r.ec == std::errc() ? true : fail("invalid integer");
  }

  bool read_double(double& out) {
    std::string_view text;
    bool integral = false;
    if (!scan_number(text, integral)) return false;
    if (convert_exact_decimal(text, out)) return true;
    auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    if (r.ec == std::errc::result_out_of_range) return fail("number out of range");
    return r.ec == std::errc() ? true : fail("invalid number");
  }

  bool read_bool(bool& out) {
    skip_ws();
    if (literal("true")) {
      out = true;
      return true;
    }
    if (literal("false")) {
      out = false;
      return true;
    }
    return fail("expected true or false");
  }

  /// Consumes a null if one is next; leaves the input alone otherwise.
  bool try_null() noexcept {
    skip_ws();
    return literal("null");
  }

  /// Skips one value of any kind, validating it as strictly as a typed read would.
  bool skip_value() {
    switch (peek()) {
      case value_kind::object:
        return read_object([this](std::string_view) { return skip_value(); });
      case value_kind::array:
        return read_array([this] { return skip_value(); });
      case value_kind::string: {
        std::string_view ignored;
        return parse_string_view(ignored, skip_scratch_);
      }
      case value_kind::number: {
        std::string_view ignored;
        bool integral = false;
        return scan_number(ignored, integral);
      }
      case value_kind::boolean: {
        bool ignored = false;
        return read_bool(ignored);
      }
      case value_kind::null:
        if (literal("null")) return true;
        return fail("invalid literal");
      case value_kind::none:
        break;
    }
    return fail(p_ == end_ ? "unexpected end of input" : "expected a JSON value");
  }

  /// Skips one value and returns its exact text.
  bool capture_value(std::string_view& out) {
    skip_ws();
    const char* start = p_;
    if (!skip_value()) return false;
    out = std::string_view(start, static_cast<std::size_t>(p_ - start));
    return true;
  }

  /// Succeeds when only whitespace is left.
  bool finish() noexcept {
    skip_ws();
    return p_ == end_ ? true : fail("unexpected data after the JSON value");
  }

 private:
  void skip_ws() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0)
      return false;
    p_ += word.size();
    return true;
  }

  bool scan_number(std::string_view& out, bool& integral) {
    skip_ws();
    const char* start = p_;
    integral = true;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return fail("expected a number");
    if (*p_ == '0') {
      ++p_;
      if (p_ != end_ && *p_ >= '0' && *p_ <= '9') return fail("leading zeros are not allowed");
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return fail("expected a number");
    }
    if (p_ != end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ == end_ || !(*p_ >= '0' && *p_ <= '9')) return fail("expected a digit after '.'");
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !(*p_ >= '0' && *p_ <= '9'))
        return fail("expected a digit in the exponent");
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    out = std::string_view(start, static_cast<std::size_t>(p_ - start));
    return true;
  }

  // convert_exact_decimal relies on each double operation being rounded once, to double: IEEE
  // doubles, no x87 excess precision, no -ffast-math (which may turn x / 10^k into x * 10^-k).
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && !defined(__FAST_MATH__)
  static constexpr bool double_ops_round_once = std::numeric_limits<double>::is_iec559;
#else
  static constexpr bool double_ops_round_once = false;
#endif
  /// 10^0 .. 10^22: the powers of ten a double holds exactly (5^22 < 2^53 < 5^23).
  static constexpr double exact_powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

  /// Converts a number scan_number accepted without std::from_chars when one exact operation does
  /// it (Clinger's fast path): the value is m * 10^k with m the digits read as an integer; when
  /// m <= 2^53 and |k| <= 22, m and 10^|k| are exact doubles and one IEEE multiplication or
  /// division rounds the true value correctly, which is also what from_chars returns, bit for bit
  /// (negative zero included). Most numbers in responses are that short, and from_chars with the
  /// scan around it was about a fifth of the instructions spent decoding a page of run results.
  /// Returns false, leaving `out` alone, for the others: longer mantissas, larger powers, and so
  /// every overflow and underflow.
  static bool convert_exact_decimal(std::string_view text, double& out) noexcept {
    if (!double_ops_round_once) return false;
    constexpr std::uint64_t max_mantissa = std::uint64_t{1} << 53;
    constexpr std::int64_t max_power = 22;
    auto digit = [](char c) noexcept { return static_cast<std::uint64_t>(c - '0'); };
    auto is_digit = [](char c) noexcept { return c >= '0' && c <= '9'; };
    // The grammar is checked already: -?digits(.digits)?([eE][+-]?digits)?
    const char* q = text.data();
    const char* const end = q + text.size();
    const bool negative = *q == '-';
    if (negative) ++q;
    const char* const integer = q;
    std::uint64_t mantissa = 0;
    for (; q != end && is_digit(*q); ++q) mantissa = mantissa * 10 + digit(*q);
    std::ptrdiff_t digits = q - integer;
    std::int64_t power = 0;
    if (q != end && *q == '.') {
      const char* const fraction = ++q;
      for (; q != end && is_digit(*q); ++q) mantissa = mantissa * 10 + digit(*q);
      digits += q - fraction;
      power = -(q - fraction);
    }
    // Up to 19 digits cannot wrap (10^19 < 2^64); past that `mantissa` may have wrapped, which is
    // harmless for unsigned arithmetic: it is not used.
    if (digits > 19 || mantissa > max_mantissa) return false;
    if (q != end) {
      ++q;  // 'e' or 'E'
      const bool negative_exponent = *q == '-';
      if (*q == '-' || *q == '+') ++q;
      std::int64_t exponent = 0;
      for (; q != end; ++q) {
        exponent = exponent * 10 + static_cast<std::int64_t>(digit(*q));
        // Rare, and left to from_chars; also keeps `exponent` from overflowing.
        if (exponent > 1000) return false;
      }
      power += negative_exponent ? -exponent : exponent;
    }
    if (power < -max_power || power > max_power) return false;
    double value = static_cast<double>(mantissa);
    if (power < 0)
      value /= exact_powers_of_ten[static_cast<std::size_t>(-power)];
    else
      value *= exact_powers_of_ten[static_cast<std::size_t>(power)];
    out = negative ? -value : value;
    return true;
  }

  static int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool read_hex4(std::uint32_t& out) noexcept {
    if (end_ - p_ < 4) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      int v = hex_value(p_[i]);
      if (v < 0) return fail("invalid \\u escape");
      out = (out << 4) | static_cast<std::uint32_t>(v);
    }
    p_ += 4;
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  /// Validates one UTF-8 sequence starting at p_ (a byte >= 0x80) and advances past it.
  bool skip_utf8_sequence() noexcept {
    auto byte = [this](std::ptrdiff_t i) { return static_cast<unsigned char>(p_[i]); };
    unsigned char lead = byte(0);
    std::ptrdiff_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      len = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      len = 3;
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      len = 4;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    } else {
      return fail("invalid UTF-8 in a string");
    }
    if (end_ - p_ < len) return fail("truncated UTF-8 sequence");
    if (byte(1) < lo || byte(1) > hi) return fail("invalid UTF-8 in a string");
    for (std::ptrdiff_t i = 2; i < len; ++i)
      if (byte(i) < 0x80 || byte(i) > 0xBF) return fail("invalid UTF-8 in a string");
    p_ += len;
    return true;
  }

  /// Advances p_ over whole 8-byte words of ASCII from 0x20 up other than '"' and '\\': bytes the
  /// string scan would accept one by one with nothing else to do. Strings are mostly such bytes,
  /// and testing a word at a time takes a fraction of the per-byte tests. Stops before the first
  /// word holding any other byte (or fewer than 8 left), which the byte loop then handles.
  void skip_plain_words() noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101, high_bits = 0x8080808080808080;
    while (end_ - p_ >= 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p_, 8);  // unaligned load; byte order does not matter to the test
      // (x - ones) & ~x & high_bits is nonzero exactly when a byte of x is zero (x ^ c: a byte
      // equal to c). w - 0x20 in every byte sets a high bit exactly when a byte is below 0x20,
      // given no byte is 0x80 or above, which w & high_bits itself catches.
      const std::uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
      const std::uint64_t flagged =
          ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | (w - ones * 0x20) | w;
      if (flagged & high_bits) return;
      p_ += 8;
    }
  }

  /// Parses the string at p_ (which is '"'). Without escapes, `out` views the input; with escapes
  /// the unescaped text is built in `scratch` and `out` views that.
  bool parse_string_view(std::string_view& out, std::string& scratch) {
    ++p_;
    const char* start = p_;
    // Fast path: no escapes up to the closing quote, so `out` can view the input.
    for (;;) {
      skip_plain_words();
      if (p_ == end_) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\') break;
      if (c < 0x20) return fail("control character in a string");
      if (c >= 0x80) {
        if (!skip_utf8_sequence()) return false;
        continue;
      }
      ++p_;
    }
    scratch.assign(start, static_cast<std::size_t>(p_ - start));
    for (;;) {
      if (p_ == end_) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        out = scratch;
        return true;
      }
      if (c < 0x20) return fail("control character in a string");
      if (c >= 0x80) {
        const char* seq = p_;
        if (!skip_utf8_sequence()) return false;
        scratch.append(seq, static_cast<std::size_t>(p_ - seq));
        continue;
      }
      if (c != '\\') {
        const char* run = p_;
        while (p_ != end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20 &&
               static_cast<unsigned char>(*p_) < 0x80)
          ++p_;
        scratch.append(run, static_cast<std::size_t>(p_ - run));
        continue;
      }
      ++p_;
      if (p_ == end_) return fail("unterminated escape");
      char e = *p_++;
      switch (e) {
        case '"':
          scratch.push_back('"');
          break;
        case '\\':
          scratch.push_back('\\');
          break;
        case '/':
          scratch.push_back('/');
          break;
        case 'b':
          scratch.push_back('\b');
          break;
        case 'f':
          scratch.push_back('\f');
          break;
        case 'n':
          scratch.push_back('\n');
          break;
        case 'r':
          scratch.push_back('\r');
          break;
        case 't':
          scratch.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!read_hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u')
              return fail("lone high surrogate in \\u escape");
            p_ += 2;
            std::uint32_t low = 0;
            if (!read_hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return fail("invalid surrogate pair in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(scratch, cp);
          break;
        }
        default:
          --p_;
          return fail("invalid escape in a string");
      }
    }
  }

  const char* p_;
  const char* begin_;
  const char* end_;
  const char* error_at_ = nullptr;
  const char* message_ = nullptr;
  limits limits_;
  std::uint32_t depth_ = 0;
  std::string key_scratch_;
  std::string skip_scratch_;
};

// ---------------------------------------------------------------------------------------------------
// Typed reading and writing

/// Where a decode failed: "nodes[3].metadata.size". Built while unwinding, so success costs
/// nothing.
class decode_context {
 public:
  void push_member(std::string_view name) {
    std::string part(name);
    if (!path_.empty() && path_.front() != '[') part.push_back('.');
    path_.insert(0, part);
  }
  void push_index(std::size_t index) {
    std::string part = "[" + std::to_string(index) + "]";
    if (!path_.empty() && path_.front() != '[') part.push_back('.');
    path_.insert(0, part);
  }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Declared up front so that the templates below find each other whatever the nesting order.
template <class E>
requires string_enum<E>
bool read_value(reader& r, E& out, decode_context& ctx);
template <class T>
bool read_value(reader& r, std::optional<T>& out, decode_context& ctx);
template <class T>
bool read_value(reader& r, std::vector<T>& out, decode_context& ctx);
template <described T>
bool read_value(reader& r, T& out, decode_context& ctx);

template <class E>
requires string_enum<E>
void write_value(writer& w, E v);
template <class T>
void write_value(writer& w, const std::optional<T>& v);
template <class T>
void write_value(writer& w, const std::vector<T>& v);
template <described T>
void write_value(writer& w, const T& value);

inline bool read_value(reader& r, bool& out, decode_context&) {
  return r.read_bool(out);
}
inline bool read_value(reader& r, std::int64_t& out, decode_context&) {
  return r.read_int64(out);
}
inline bool read_value(reader& r, std::uint64_t& out, decode_context&) {
  return r.read_uint64(out);
}
inline bool read_value(reader& r, int& out, decode_context&) {
  std::int64_t v = 0;
  if (!r.read_int64(v)) return false;
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return r.fail("integer does not fit in 32 bits");
  out = static_cast<int>(v);
  return true;
}
inline bool read_value(reader& r, double& out, decode_context&) {
  return r.read_double(out);
}
inline bool read_value(reader& r, std::string& out, decode_context&) {
  return r.read_string(out);
}
inline bool read_value(reader& r, raw& out, decode_context&) {
  std::string_view text;
  if (!r.capture_value(text)) return false;
  out.text.assign(text);
  return true;
}
inline bool read_value(reader& r, flex_int& out, decode_context&) {
  if (r.peek() != value_kind::string) return r.read_int64(out.value);
  std::string text;
  if (!r.read_string(text)) return false;
  auto res = std::from_chars(text.data(), text.data() + text.size(), out.value);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || text.empty())
    return r.fail("expected an integer or a string holding one");
  return true;
}
inline bool read_value(reader& r, flex_string& out, decode_context&) {
  switch (r.peek()) {
    case value_kind::string:
      return r.read_string(out.value);
    case value_kind::number: {
      std::string_view text;
      if (!r.capture_value(text)) return false;
      out.value.assign(text);
      return true;
    }
    default:
      return r.fail("expected a string or a number");
  }
}

template <class E>
requires string_enum<E>
bool read_value(reader& r, E& out, decode_context&) {
  std::string text;
  if (!r.read_string(text)) return false;
  if (!from_string(text, out)) return r.fail("unknown enumeration value");
  return true;
}

template <class T>
bool read_value(reader& r, std::optional<T>& out, decode_context& ctx) {
  if (r.try_null()) {
    out.reset();
    return true;
  }
  if (!out) out.emplace();
  return read_value(r, *out, ctx);
}

template <class T>
bool read_value(reader& r, std::vector<T>& out, decode_context& ctx) {
  out.clear();
  return r.read_array([&] {
    out.emplace_back();
    if (read_value(r, out.back(), ctx)) return true;
    ctx.push_index(out.size() - 1);
    return false;
  });
}

/// Bit I is set when field I's name can be matched in place (reader::is_verbatim_name): in practice
/// every name.
template <class Fields, std::size_t... I>
constexpr std::uint64_t verbatim_names(const Fields& fields, std::index_sequence<I...>) noexcept {
  return (std::uint64_t{0} | ... |
          (reader::is_verbatim_name(field_at<I>(fields).name) ? std::uint64_t{1} << I
                                                              : std::uint64_t{0}));
}

template <described T>
bool read_value(reader& r, T& out, decode_context& ctx) {
  constexpr auto fields = T::json_fields();
  constexpr std::size_t count = decltype(fields)::size;
  static_assert(count <= 64, "at most 64 described fields per type");
  constexpr std::uint64_t verbatim =
      verbatim_names(T::json_fields(), std::make_index_sequence<count>{});
  // An object replaces the whole value, like every other kind: no stale members survive from a
  // reused struct, and of duplicate keys the last one wins entirely instead of two objects being
  // merged.
  out = T{};
  std::uint64_t seen = 0;
  // The field after the last one matched: servers send members in schema order, so it is usually
  // the next member, and it is tried in place before any key is scanned (reader::read_object).
  std::size_t expected = 0;
  // Every member that names a field is read here, whether guessed or found by its scanned key.
  auto read_field = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
    seen |= std::uint64_t{1} << I;
    expected = (I + 1) % count;
    if (read_value(r, out.*(field_at<I>(fields).member), ctx)) return true;
    ctx.push_member(field_at<I>(fields).name);
    return false;
  };
  auto guess_member = [&] {
    reader::guess outcome = reader::guess::miss;
    // A copy, as read_field moves `expected` on: one member per call.
    const std::size_t want = expected;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((I == want && ((verbatim >> I) & 1) != 0 && r.try_member_name(field_at<I>(fields).name)
            ? (void)(outcome = read_field(std::integral_constant<std::size_t, I>{})
                                   ? reader::guess::consumed
                                   : reader::guess::failed)
            : void()),
       ...);
    }
    (std::make_index_sequence<count>{});
    return outcome;
  };
  bool ok = r.read_object(guess_member, [&](std::string_view key) {
    bool matched = false;
    bool good = true;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      // Sizes first, then memcmp: most names differ in size, and string_view's == was left as an
      // out-of-line compare() call in this fold (profiled, bench/README.md).
      ((!matched && field_at<I>(fields).name.size() == key.size() &&
                std::memcmp(field_at<I>(fields).name.data(), key.data(), key.size()) == 0
            ? (void)(matched = true, good = read_field(std::integral_constant<std::size_t, I>{}))
            : void()),
       ...);
    }
    (std::make_index_sequence<count>{});
    return matched ? good : r.skip_value();
  });
  if (!ok) return false;
  bool complete = true;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((complete && field_at<I>(fields).need == presence::required &&
              !(seen & (std::uint64_t{1} << I))
          ? (complete = false, ctx.push_member(field_at<I>(fields).name))
          : void()),
     ...);
  }
  (std::make_index_sequence<count>{});
  return complete ? true : r.fail("required member is missing");
}

inline void write_value(writer& w, bool v) {
  w.boolean(v);
}
inline void write_value(writer& w, std::int64_t v) {
  w.integer(v);
}
inline void write_value(writer& w, int v) {
  w.integer(v);
}
inline void write_value(writer& w, std::uint64_t v) {
  w.uinteger(v);
}
inline void write_value(writer& w, double v) {
  w.number(v);
}
inline void write_value(writer& w, std::string_view v) {
  w.string(v);
}
inline void write_value(writer& w, const std::string& v) {
  w.string(v);
}
inline void write_value(writer& w, const raw& v) {
  w.raw_json(v.text.empty() ? "null" : v.text);
}
inline void write_value(writer& w, const flex_int& v) {
  w.integer(v.value);
}
inline void write_value(writer& w, const flex_string& v) {
  w.string(v.value);
}

template <class E>
requires string_enum<E>
void write_value(writer& w, E v) {
  w.string(to_string(v));
}
template <class T>
void write_value(writer& w, const std::optional<T>& v) {
  if (v)
    write_value(w, *v);
  else
    w.null();
}
template <class T>
void write_value(writer& w, const std::vector<T>& v) {
  w.begin_array();
  for (const auto& item : v) write_value(w, item);
  w.end_array();
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// Writes every described member; an empty optional member is left out rather than written as null.
template <described T>
void write_value(writer& w, const T& value) {
  w.begin_object();
  for_each_field(T::json_fields(), [&](const auto& fd) {
    const auto& member = value.*(fd.member);
    if constexpr (is_optional<std::remove_cvref_t<decltype(member)>>::value) {
      if (!member) return;
    }
    w.key(fd.name);
    write_value(w, member);
  });
  w.end_object();
}

// ---------------------------------------------------------------------------------------------------
// Codecs

/// Builds the decode error for a failed read.
inline error decode_failure(const reader& r, const decode_context& ctx) {
  std::string message = "invalid JSON";
  if (!ctx.path().empty()) message.append(" at ").append(ctx.path());
  message.append(": ").append(r.message()).append(" (byte ").append(std::to_string(r.offset()));
  message.push_back(')');
  return make_error(error_kind::decode, std::move(message), ctx.path());
}

/// The default codec. A codec turns model types into JSON text and back; a user who prefers another
/// JSON library supplies a type with the same two members (see adapters/nlohmann).
struct builtin_codec {
  limits limit{};

  template <class T>
  result<void> decode(std::string_view text, T& out) const {
    reader r(text, limit);
    decode_context ctx;
    if (!read_value(r, out, ctx) || !r.finish()) return decode_failure(r, ctx);
    return {};
  }

  template <class T>
  void encode(const T& value, std::string& out) const {
    writer w(out);
    write_value(w, value);
  }
};

/// A type used to check the codec concept.
struct codec_probe {
  std::int64_t id = 0;
  static constexpr auto json_fields() { return json::fields(required("id", &codec_probe::id)); }
};

template <class C>
concept codec = requires(const C& c, std::string_view text, codec_probe& probe, std::string& out) {
  { c.decode(text, probe) } -> std::same_as<result<void>>;
  c.encode(std::as_const(probe), out);
};

static_assert(codec<builtin_codec>);

}  // namespace json
AIHUB_NAMESPACE_END
