#pragma once
// The API's input rules as functions that run before a request is built, each failure naming the
// field and the rule. The name types (batch_name, file_name) check string literals at compile time
// and carry runtime strings to the same rules at run time, so both paths share one definition.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "aihub/detail/ascii.hpp"
#include "aihub/detail/utf8.hpp"
#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN

/// Number of code points in `text`, or -1 when it is not valid UTF-8 (overlongs, surrogates and
/// values above U+10FFFF are invalid).
constexpr std::int64_t utf8_length(std::string_view text) noexcept {
  std::int64_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++count) {
    const std::size_t len = detail::utf8_sequence_length(text, i);
    if (len == 0) return -1;
    i += len;
  }
  return count;
}

/// Why a name breaks the rules, or nullptr. Shared by the runtime validators and the consteval
/// constructors, so compile-time and runtime checks cannot drift apart.
namespace rules {
inline constexpr std::size_t max_name_length = 255;

/// Printable ASCII only (the common case): then the length is the size and nothing is a control.
constexpr bool is_printable_ascii(std::string_view text) noexcept {
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

constexpr const char* batch_name_problem(std::string_view name) noexcept {
  if (name.empty()) return "must not be empty";
  if (is_printable_ascii(name))
    return name.size() > max_name_length ? "must be at most 255 characters" : nullptr;
  std::int64_t n = utf8_length(name);
  if (n < 0) return "must be valid UTF-8";
  if (static_cast<std::size_t>(n) > max_name_length) return "must be at most 255 characters";
  for (char c : name)
    if (detail::is_control(static_cast<unsigned char>(c)))
      return "must not contain control characters";
  return nullptr;
}

constexpr const char* file_name_problem(std::string_view name) noexcept {
  if (name.empty()) return "must not be empty";
  std::int64_t n = utf8_length(name);
  if (n < 0) return "must be valid UTF-8";
  if (static_cast<std::size_t>(n) > max_name_length) return "must be at most 255 characters";
  if (name == "." || name == "..") return "must not be '.' or '..'";
  for (char c : name) {
    if (c == '/' || c == '\\') return "must not contain '/' or '\\'";
    if (detail::is_control(static_cast<unsigned char>(c)))
      return "must not contain control characters";
  }
  return nullptr;
}

/// Header values are built from these; rejecting CR, LF, NUL and every other control character
/// makes header injection impossible by construction.
constexpr const char* header_value_problem(std::string_view value) noexcept {
  for (char c : value)
    if (detail::is_control(static_cast<unsigned char>(c)))
      return "must not contain control characters (CR, LF, NUL...)";
  return nullptr;
}
}  // namespace rules

inline result<void> check(std::string_view field, const char* problem) {
  if (problem) return validation_error(field, problem);
  return {};
}

inline result<void> check_positive(std::string_view field, std::int64_t value) {
  if (value <= 0) return validation_error(field, "must be positive");
  return {};
}

inline result<void> check_non_negative(std::string_view field, std::int64_t value) {
  if (value < 0) return validation_error(field, "must not be negative");
  return {};
}

inline result<void> check_not_empty(std::string_view field, std::string_view value) {
  if (value.empty()) return validation_error(field, "must not be empty");
  return {};
}

/// Text that may be empty: it must be valid UTF-8 (no overlong forms, no UTF-16 surrogates, nothing
/// above U+10FFFF), because it travels in JSON or in a URL, and a server decodes both as UTF-8.
inline result<void> check_utf8(std::string_view field, std::string_view value) {
  if (utf8_length(value) < 0) return validation_error(field, "must be valid UTF-8");
  return {};
}

/// The rule for every free-text field of every operation (workspace, username, app name, tags,
/// page tokens...): present and valid UTF-8. One rule in one place, so no field can slip through.
inline result<void> check_text(std::string_view field, std::string_view value) {
  if (value.empty()) return validation_error(field, "must not be empty");
  return check_utf8(field, value);
}

template <class Optional>
result<void> check_optional_text(std::string_view field, const Optional& value) {
  if (value) return check_text(field, *value);
  return {};
}

/// An id that becomes one path segment: non-empty, valid UTF-8, no control characters, and not "."
/// or ".." (which a proxy normalising dot-segments would turn into another resource).
inline result<void> check_path_id(std::string_view field, std::string_view value) {
  if (!value.empty() && value != "." && value != ".." && !rules::header_value_problem(value) &&
      utf8_length(value) >= 0)
    return {};
  AIHUB_TRY(check_not_empty(field, value));
  if (value == "." || value == "..") return validation_error(field, "must not be '.' or '..'");
  AIHUB_TRY(check(field, rules::header_value_problem(value)));
  return check_utf8(field, value);
}

namespace detail {
// literal_breaks_the_rules is called only when a literal breaks a rule inside a consteval
// constructor: a call to a non-constexpr function there is a compile error whose message names the
// rule type.

struct batch_name_rule {
  static constexpr const char* problem(std::string_view v) noexcept {
    return rules::batch_name_problem(v);
  }
  static void literal_breaks_the_rules(const char*) {}
  static constexpr std::string_view field = "name";
};
struct file_name_rule {
  static constexpr const char* problem(std::string_view v) noexcept {
    return rules::file_name_problem(v);
  }
  static void literal_breaks_the_rules(const char*) {}
  static constexpr std::string_view field = "file_name";
};
}  // namespace detail

/// A name held in a fixed inline buffer large enough for 255 code points of UTF-8 (no heap, and
/// usable in a consteval constructor, which a std::string member is not).
///
/// A string literal is checked at compile time: `create_batch{.name = "x/y"}` style mistakes fail
/// to build. A runtime string (std::string, std::string_view, const char*) is checked when the
/// request is built; one too long to store is remembered as such and reported by validate(). There
/// is no default constructor, so a request that omits a name does not compile. A non-const char
/// array is taken as a literal and must be a constant: pass `std::string_view(buffer)` for a
/// runtime buffer.
template <class Rule>
class checked_name {
 public:
  static constexpr std::size_t capacity = rules::max_name_length * 4;

  template <std::size_t N>
  consteval checked_name(const char (&literal)[N]) {
    // A string literal ends in its one NUL; a padded or unterminated array is not a name.
    std::string_view text(literal, N - 1);
    if (literal[N - 1] != '\0' || text.find('\0') != std::string_view::npos)
      Rule::literal_breaks_the_rules("a name literal must be a plain string literal");
    if (const char* problem = Rule::problem(text)) Rule::literal_breaks_the_rules(problem);
    assign(text);
  }
  template <class S>
  requires(std::is_convertible_v<const S&, std::string_view> &&
           !std::is_array_v<S>) constexpr checked_name(const S& text) {
    assign(std::string_view(text));
  }

  constexpr std::string_view value() const noexcept { return std::string_view(buffer_, size_); }
  /// Whether the runtime string was longer than any valid name can be.
  constexpr bool truncated() const noexcept { return truncated_; }

  result<void> validate(std::string_view field = Rule::field) const {
    if (truncated_) return validation_error(field, "must be at most 255 characters");
    return check(field, Rule::problem(value()));
  }

  friend constexpr bool operator==(const checked_name& a, const checked_name& b) noexcept {
    return a.truncated_ == b.truncated_ && a.value() == b.value();
  }

 private:
  constexpr void assign(std::string_view text) noexcept {
    if (text.size() > capacity) {
      truncated_ = true;
      return;
    }
    for (std::size_t i = 0; i < text.size(); ++i) buffer_[i] = text[i];
    size_ = static_cast<std::uint16_t>(text.size());
  }

  char buffer_[capacity] = {};
  std::uint16_t size_ = 0;
  bool truncated_ = false;
};

using batch_name = checked_name<detail::batch_name_rule>;
using file_name = checked_name<detail::file_name_rule>;

AIHUB_NAMESPACE_END
