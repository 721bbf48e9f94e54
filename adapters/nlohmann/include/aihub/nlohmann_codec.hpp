#pragma once
// aihub::nlohmann_json::codec: the same model descriptions (json_fields()) read and written through
// nlohmann/json instead of the built-in codec, for applications that already use that library.
//
// It satisfies aihub::json::codec and supports every member kind the built-in codec does. It never
// throws and never aborts on bad input, so it works with -fno-exceptions (where nlohmann/json turns
// every throw into abort()): the text is parsed with allow_exceptions=false, every value's type is
// checked before it is read (through get_ptr, which cannot throw), and output is dumped with
// invalid UTF-8 replaced rather than reported by an exception.
//
// Differences from the built-in codec, all inherent to going through a DOM:
// - json::raw and number-valued json::flex_string hold the value re-serialised compactly by
// nlohmann/json
//   ({"a" : 1.50} becomes {"a":1.5}), not the exact input text.
// - Of duplicate keys nlohmann/json keeps only the last, so an earlier duplicate is never
// type-checked.
// - nlohmann/json rejects a number too large for a double anywhere in the document (even in an
// unknown
//   member), and reads one too small for a double as 0 where the built-in codec rejects it.
// - Errors found after parsing (types, missing members) name the JSON path but carry no byte
// offset.
// - On encode, invalid UTF-8 in a string is replaced by U+FFFD, and a json::raw whose text is not
// valid
//   JSON (or nests deeper than the limit) is written as null.

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstddef>
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

#include "aihub/json.hpp"
#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN
namespace nlohmann_json {

/// The DOM type. Ordered, so members keep their document order: the first error reported is the
/// first in the document, as with the built-in codec, and raw objects keep their member order.
using document = ::nlohmann::ordered_json;

namespace detail {

/// Compact text of a DOM value. Never throws: invalid UTF-8 (only possible in strings set by the
/// caller) is replaced.
inline std::string dump(const document& value) {
  return value.dump(-1, ' ', false, document::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------------------------
// Parsing

inline error syntax_error(std::string_view what, std::optional<std::size_t> byte) {
  std::string message = "invalid JSON: ";
  message.append(what);
  if (byte) message.append(" (byte ").append(std::to_string(*byte)).append(")");
  return make_error(error_kind::decode, std::move(message));
}

/// Turns nlohmann/json's exception text into a sentence like the built-in codec's: the exception id
/// and the line/column prefix go, and so does the "last read" echo of the input.
inline std::string clean_message(std::string_view what) {
  if (!what.empty() && what.front() == '[') {
    if (auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  if (what.substr(0, 11) == "parse error") {
    if (auto colon = what.find(": "); colon != std::string_view::npos)
      what.remove_prefix(colon + 2);
  }
  if (auto echo = what.find("; last read"); echo != std::string_view::npos)
    what = what.substr(0, echo);
  return std::string(what);
}

/// A SAX handler run only after a failed parse, to find the first problem in document order: a
/// syntax error (with its byte offset) or nesting deeper than the limit.
class diagnostics {
 public:
  using number_integer_t = document::number_integer_t;
  using number_unsigned_t = document::number_unsigned_t;
  using number_float_t = document::number_float_t;
  using string_t = document::string_t;
  using binary_t = document::binary_t;

  explicit diagnostics(std::uint32_t max_depth) noexcept : max_depth_(max_depth) {}

  bool null() noexcept { return true; }
  bool boolean(bool) noexcept { return true; }
  bool number_integer(number_integer_t) noexcept { return true; }
  bool number_unsigned(number_unsigned_t) noexcept { return true; }
  bool number_float(number_float_t, const string_t&) noexcept { return true; }
  bool string(string_t&) noexcept { return true; }
  bool binary(binary_t&) noexcept { return true; }
  bool key(string_t&) noexcept { return true; }
  bool start_object(std::size_t) { return open(); }
  bool end_object() noexcept { return close(); }
  bool start_array(std::size_t) { return open(); }
  bool end_array() noexcept { return close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const ::nlohmann::detail::exception& e) {
    // position counts the characters read; the offending one is the last of them.
    failure_ = syntax_error(clean_message(e.what()), position > 0 ? position - 1 : 0);
    return false;
  }

  /// The error found, or a generic one if the handler saw none (cannot happen for a failed parse).
  error take() && {
    return failure_ ? std::move(*failure_) : syntax_error("malformed document", std::nullopt);
  }

 private:
  bool open() {
    if (++depth_ <= max_depth_) return true;
    failure_ = syntax_error("nesting deeper than the limit", std::nullopt);
    return false;
  }
  bool close() noexcept {
    --depth_;
    return true;
  }

  std::uint32_t max_depth_;
  std::uint32_t depth_ = 0;
  std::optional<error> failure_;
};

/// Parses `text` into `doc` with the built-in codec's strictness and nesting limit; returns the
/// error on failure. The parser itself is iterative, so no input can exhaust the stack.
inline std::optional<error> parse(std::string_view text, json::limits lim, document& doc) {
  // nlohmann/json skips a UTF-8 byte order mark; the built-in reader, like most strict parsers,
  // does not (RFC 8259 allows either), and both codecs must accept the same documents.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") return syntax_error("expected a JSON value", 0);
  const char* first = text.data();
  const char* last = text.data() + text.size();
  bool too_deep = false;
  // Depth is 0 for the top-level value; the built-in reader counts that one as level 1.
  document::parser_callback_t limit_depth =
      [&too_deep, max = lim.max_depth](int depth, document::parse_event_t event, document&) {
        if ((event == document::parse_event_t::object_start ||
             event == document::parse_event_t::array_start) &&
            static_cast<std::uint32_t>(depth) >= max) {
          too_deep = true;
          return false;  // drop the subtree instead of building it
        }
        return true;
      };
  doc = document::parse(first, last, limit_depth, /*allow_exceptions=*/false);
  if (doc.is_discarded() || too_deep) {
    diagnostics handler(lim.max_depth);
    (void)document::sax_parse(first, last, &handler);
    doc = nullptr;
    return std::move(handler).take();
  }
  // nlohmann/json treats a NUL byte as the end of the input. Inside a string or before the value it
  // is rejected anyway, so a successful parse means it follows the value: trailing data.
  if (const void* nul = text.empty() ? nullptr : std::memchr(first, '\0', text.size())) {
    doc = nullptr;
    return syntax_error("unexpected data after the JSON value",
                        static_cast<std::size_t>(static_cast<const char*>(nul) - first));
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// Typed reading

/// The first failure of a typed read; the path is built while unwinding, as in the built-in codec.
struct decode_state {
  const char* message = nullptr;
  json::decode_context ctx;

  bool fail(const char* what) noexcept {
    if (!message) message = what;
    return false;
  }
};

// Declared up front so that the templates below find each other whatever the nesting order.
template <class E>
requires json::string_enum<E>
bool read_node(const document& j, E& out, decode_state& s);
template <class T>
bool read_node(const document& j, std::optional<T>& out, decode_state& s);
template <class T>
bool read_node(const document& j, std::vector<T>& out, decode_state& s);
template <json::described T>
bool read_node(const document& j, T& out, decode_state& s);

inline bool read_node(const document& j, bool& out, decode_state& s) {
  const auto* v = j.get_ptr<const document::boolean_t*>();
  if (!v) return s.fail("expected true or false");
  out = *v;
  return true;
}

// Numbers are told apart by type(), never by is_number_integer() or get_ptr<number_integer_t*>:
// both also accept an unsigned value, whose storage would then be read as signed.

inline bool read_node(const document& j, std::int64_t& out, decode_state& s) {
  switch (j.type()) {
    case document::value_t::number_integer:
      out = *j.get_ptr<const document::number_integer_t*>();
      return true;
    case document::value_t::number_unsigned: {
      const auto v = *j.get_ptr<const document::number_unsigned_t*>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return s.fail("integer does not fit in 64 bits");
      out = static_cast<std::int64_t>(v);
      return true;
    }
    // nlohmann/json stores fractions, exponents and integers beyond 64 bits alike as doubles.
    case document::value_t::number_float:
      return s.fail("expected an integer, found a fraction, an exponent or more than 64 bits");
    default:
      return s.fail("expected an integer");
  }
}

inline bool read_node(const document& j, std::uint64_t& out, decode_state& s) {
  switch (j.type()) {
    case document::value_t::number_unsigned:
      out = *j.get_ptr<const document::number_unsigned_t*>();
      return true;
    // A parsed document holds only numbers written with a '-' as signed integers (-0 included,
    // which the built-in codec also rejects here).
    case document::value_t::number_integer:
      return s.fail("expected a non-negative integer");
    case document::value_t::number_float:
      return s.fail("expected an integer, found a fraction, an exponent or more than 64 bits");
    default:
      return s.fail("expected an integer");
  }
}

inline bool read_node(const document& j, int& out, decode_state& s) {
  std::int64_t v = 0;
  if (!read_node(j, v, s)) return false;
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return s.fail("integer does not fit in 32 bits");
  out = static_cast<int>(v);
  return true;
}

inline bool read_node(const document& j, double& out, decode_state& s) {
  switch (j.type()) {
    case document::value_t::number_float:
      out = *j.get_ptr<const document::number_float_t*>();
      return true;
    case document::value_t::number_integer:
      out = static_cast<double>(*j.get_ptr<const document::number_integer_t*>());
      return true;
    case document::value_t::number_unsigned:
      out = static_cast<double>(*j.get_ptr<const document::number_unsigned_t*>());
      return true;
    default:
      return s.fail("expected a number");
  }
}

inline bool read_node(const document& j, std::string& out, decode_state& s) {
  const auto* v = j.get_ptr<const document::string_t*>();
  if (!v) return s.fail("expected a string");
  out = *v;
  return true;
}

inline bool read_node(const document& j, json::raw& out, decode_state&) {
  out.text = dump(j);
  return true;
}

inline bool read_node(const document& j, json::flex_int& out, decode_state& s) {
  const auto* text = j.get_ptr<const document::string_t*>();
  if (!text) return read_node(j, out.value, s);
  const char* end = text->data() + text->size();
  auto res = std::from_chars(text->data(), end, out.value);
  if (res.ec != std::errc() || res.ptr != end || text->empty())
    return s.fail("expected an integer or a string holding one");
  return true;
}

inline bool read_node(const document& j, json::flex_string& out, decode_state& s) {
  if (const auto* v = j.get_ptr<const document::string_t*>()) {
    out.value = *v;
    return true;
  }
  if (j.is_number()) {
    out.value = dump(j);
    return true;
  }
  return s.fail("expected a string or a number");
}

template <class E>
requires json::string_enum<E>
bool read_node(const document& j, E& out, decode_state& s) {
  const auto* v = j.get_ptr<const document::string_t*>();
  if (!v) return s.fail("expected a string");
  if (!from_string(std::string_view(*v), out)) return s.fail("unknown enumeration value");
  return true;
}

template <class T>
bool read_node(const document& j, std::optional<T>& out, decode_state& s) {
  if (j.is_null()) {
    out.reset();
    return true;
  }
  if (!out) out.emplace();
  return read_node(j, *out, s);
}

template <class T>
bool read_node(const document& j, std::vector<T>& out, decode_state& s) {
  const auto* items = j.get_ptr<const document::array_t*>();
  if (!items) return s.fail("expected an array");
  out.clear();
  out.reserve(items->size());
  for (const auto& item : *items) {
    out.emplace_back();
    if (!read_node(item, out.back(), s)) {
      s.ctx.push_index(out.size() - 1);
      return false;
    }
  }
  return true;
}

/// Reads `value` into the member described by the field whose name is `key`, if any. Returns false
/// on a failed read (unknown keys are ignored, as the built-in codec skips them).
template <class T, std::size_t... I>
bool read_member(std::string_view key, const document& value, T& out, std::uint64_t& seen,
                 decode_state& s, std::index_sequence<I...>) {
  constexpr auto fields = T::json_fields();
  bool good = true;
  (void)((json::field_at<I>(fields).name == key
              ? (seen |= (std::uint64_t{1} << I),
                 good = read_node(value, out.*(json::field_at<I>(fields).member), s),
                 good ? void() : s.ctx.push_member(json::field_at<I>(fields).name), true)
              : false) ||
         ...);
  return good;
}

template <json::described T>
bool read_node(const document& j, T& out, decode_state& s) {
  constexpr auto fields = T::json_fields();
  constexpr std::size_t count = decltype(fields)::size;
  static_assert(count <= 64, "at most 64 described fields per type");
  const auto* members = j.get_ptr<const document::object_t*>();
  if (!members) return s.fail("expected an object");
  out = T{};
  std::uint64_t seen = 0;
  for (const auto& [key, value] : *members)
    if (!read_member(key, value, out, seen, s, std::make_index_sequence<count>{})) return false;
  bool complete = true;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((complete && json::field_at<I>(fields).need == json::presence::required &&
              !(seen & (std::uint64_t{1} << I))
          ? (complete = false, s.ctx.push_member(json::field_at<I>(fields).name))
          : void()),
     ...);
  }
  (std::make_index_sequence<count>{});
  return complete ? true : s.fail("required member is missing");
}

inline error decode_failure(const decode_state& s) {
  std::string message = "invalid JSON";
  if (!s.ctx.path().empty()) message.append(" at ").append(s.ctx.path());
  message.append(": ").append(s.message ? s.message : "invalid value");
  return make_error(error_kind::decode, std::move(message), s.ctx.path());
}

// ---------------------------------------------------------------------------------------------------
// Writing

template <class E>
requires json::string_enum<E> document write_node(E v, json::limits lim);
template <class T>
document write_node(const std::optional<T>& v, json::limits lim);
template <class T>
document write_node(const std::vector<T>& v, json::limits lim);
template <json::described T>
document write_node(const T& value, json::limits lim);

inline document write_node(bool v, json::limits) {
  return document(v);
}
inline document write_node(int v, json::limits) {
  return document(static_cast<std::int64_t>(v));
}
inline document write_node(std::int64_t v, json::limits) {
  return document(v);
}
inline document write_node(std::uint64_t v, json::limits) {
  return document(v);
}
/// Non-finite numbers have no JSON form and are written as null, as by the built-in writer.
inline document write_node(double v, json::limits) {
  if (v != v || v == std::numeric_limits<double>::infinity() ||
      v == -std::numeric_limits<double>::infinity())
    return document(nullptr);
  return document(v);
}
inline document write_node(std::string_view v, json::limits) {
  return document(std::string(v));
}
inline document write_node(const std::string& v, json::limits) {
  return document(v);
}
inline document write_node(const json::flex_int& v, json::limits) {
  return document(v.value);
}
inline document write_node(const json::flex_string& v, json::limits) {
  return document(v.value);
}
/// Empty raw text is written as null, as by the built-in writer; so is text that is not valid JSON.
inline document write_node(const json::raw& v, json::limits lim) {
  if (v.text.empty()) return document(nullptr);
  document parsed;
  if (parse(v.text, lim, parsed)) return document(nullptr);
  return parsed;
}

template <class E>
requires json::string_enum<E> document write_node(E v, json::limits) {
  return document(std::string(std::string_view(to_string(v))));
}

template <class T>
document write_node(const std::optional<T>& v, json::limits lim) {
  return v ? write_node(*v, lim) : document(nullptr);
}

template <class T>
document write_node(const std::vector<T>& v, json::limits lim) {
  document items = document::array();
  for (const auto& item : v) items.push_back(write_node(item, lim));
  return items;
}

/// Writes every described member in description order; an empty optional member is left out.
template <json::described T>
document write_node(const T& value, json::limits lim) {
  document members = document::object();
  json::for_each_field(T::json_fields(), [&](const auto& fd) {
    const auto& member = value.*(fd.member);
    if constexpr (json::is_optional<std::remove_cvref_t<decltype(member)>>::value) {
      if (!member) return;
    }
    members[std::string(fd.name)] = write_node(member, lim);
  });
  return members;
}

}  // namespace detail

/// The nlohmann/json codec: a drop-in for json::builtin_codec.
struct codec {
  json::limits limit{};

  template <class T>
  result<void> decode(std::string_view text, T& out) const {
    document doc;
    if (auto failure = detail::parse(text, limit, doc)) return std::move(*failure);
    detail::decode_state state;
    if (!detail::read_node(doc, out, state)) return detail::decode_failure(state);
    return {};
  }

  /// Appends the JSON text of `value` to `out`.
  template <class T>
  void encode(const T& value, std::string& out) const {
    out.append(detail::dump(detail::write_node(value, limit)));
  }
};

static_assert(json::codec<codec>);

}  // namespace nlohmann_json
AIHUB_NAMESPACE_END
