// Tests of the built-in JSON codec (include/aihub/json.hpp): RFC 8259 acceptance and rejection,
// typed decoding into described structs, error paths and offsets, and the writer.
//
// Behaviours pinned here on purpose:
// - Duplicate keys: the last occurrence wins, for nested objects too (the later object replaces the
//   earlier one, it is not merged into it). Every occurrence is still validated against the member
//   type.
// - Decoding into a struct that already holds values replaces them all: members absent from the
// input
//   are reset to their defaults.
// - A json::raw that was never set (empty text) is written as null.
// - Numbers that overflow or underflow a double are rejected when read as double; skipping or
// capturing
//   them (unknown members, raw, flex_string) only checks the RFC 8259 grammar.
//
// REQUIRE is not used: doctest removes it when exceptions are disabled, and these tests also run
// with -fno-exceptions. Tests stop early with CHECK + return instead.

#include <doctest/doctest.h>

#include <bit>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "aihub/json.hpp"

namespace {

namespace j = aihub::json;
using namespace std::string_view_literals;

// ---------------------------------------------------------------------------------------------------
// Model types used by the tests

enum class color : std::uint8_t { red, green, blue };

constexpr std::string_view to_string(color c) {
  switch (c) {
    case color::red:
      return "red";
    case color::green:
      return "green";
    case color::blue:
      return "blue";
  }
  return "red";
}

bool from_string(std::string_view s, color& out) {
  if (s == "red") {
    out = color::red;
    return true;
  }
  if (s == "green") {
    out = color::green;
    return true;
  }
  if (s == "blue") {
    out = color::blue;
    return true;
  }
  return false;
}

static_assert(j::string_enum<color>);

struct item {
  std::int64_t id = 0;
  std::optional<std::string> label;
  std::vector<int> values;

  static constexpr auto json_fields() {
    return aihub::json::fields(j::required("id", &item::id), j::field("label", &item::label),
                               j::field("values", &item::values));
  }
  friend bool operator==(const item&, const item&) = default;
};

/// One member of every kind the codec supports.
struct everything {
  bool flag = false;
  int small = 0;
  std::int64_t big = 0;
  std::uint64_t ubig = 0;
  double real = 0;
  std::string text;
  std::optional<std::int64_t> maybe;
  std::vector<std::string> tags;
  item child;
  std::optional<item> maybe_child;
  std::vector<item> children;
  color hue = color::red;
  std::optional<color> maybe_hue;
  j::flex_int size;
  j::flex_string batch;
  j::raw extra;
  std::vector<std::vector<std::int64_t>> grid;
  std::vector<std::optional<std::int64_t>> holes;

  static constexpr auto json_fields() {
    return aihub::json::fields(
        j::field("flag", &everything::flag), j::field("small", &everything::small),
        j::field("big", &everything::big), j::field("ubig", &everything::ubig),
        j::field("real", &everything::real), j::field("text", &everything::text),
        j::field("maybe", &everything::maybe), j::field("tags", &everything::tags),
        j::field("child", &everything::child), j::field("maybe_child", &everything::maybe_child),
        j::field("children", &everything::children), j::field("hue", &everything::hue),
        j::field("maybe_hue", &everything::maybe_hue), j::field("size", &everything::size),
        j::field("batch", &everything::batch), j::field("extra", &everything::extra),
        j::field("grid", &everything::grid), j::field("holes", &everything::holes));
  }
  friend bool operator==(const everything&, const everything&) = default;
};

struct metadata {
  std::int64_t size = 0;
  std::optional<std::string> unit;
  static constexpr auto json_fields() {
    return aihub::json::fields(j::required("size", &metadata::size),
                               j::field("unit", &metadata::unit));
  }
  friend bool operator==(const metadata&, const metadata&) = default;
};

struct node {
  std::string name;
  metadata meta;
  static constexpr auto json_fields() {
    return aihub::json::fields(j::required("name", &node::name),
                               j::required("metadata", &node::meta));
  }
};

struct tree {
  std::vector<node> nodes;
  static constexpr auto json_fields() {
    return aihub::json::fields(j::required("nodes", &tree::nodes));
  }
};

/// Names that are prefixes of one another: the decoder compares the name it expects next with the
/// input in place, and "nam" must neither match "name" nor the other way round.
struct prefixes {
  std::int64_t name = 0;
  std::int64_t names = 0;
  std::int64_t nam = 0;
  static constexpr auto json_fields() {
    return aihub::json::fields(j::field("name", &prefixes::name),
                               j::field("names", &prefixes::names),
                               j::field("nam", &prefixes::nam));
  }
  friend bool operator==(const prefixes&, const prefixes&) = default;
};

/// Names whose JSON form needs escapes, so they cannot be compared with the input in place.
struct escaped_names {
  std::int64_t quoted = 0;
  std::int64_t backslash = 0;
  std::int64_t tab = 0;
  static constexpr auto json_fields() {
    return aihub::json::fields(j::field("say \"hi\"", &escaped_names::quoted),
                               j::field("a\\b", &escaped_names::backslash),
                               j::field("a\tb", &escaped_names::tab));
  }
  friend bool operator==(const escaped_names&, const escaped_names&) = default;
};

template <class T>
struct holder {
  T value{};
  static constexpr auto json_fields() {
    return aihub::json::fields(j::required("v", &holder::value));
  }
};

// ---------------------------------------------------------------------------------------------------
// Helpers

/// Printable form of arbitrary bytes for failure messages.
std::string shown(std::string_view bytes) {
  std::string out;
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(ch);
    } else {
      constexpr char hex[] = "0123456789ABCDEF";
      out.append("\\x").push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

struct outcome {
  bool ok = false;
  std::string message;
  std::size_t offset = 0;
};

/// Runs the reader over one whole document: skip_value then finish.
outcome validate(std::string_view text, j::limits lim = {}) {
  j::reader r(text, lim);
  outcome o;
  o.ok = r.skip_value() && r.finish();
  if (!o.ok) {
    o.message = r.message();
    o.offset = r.offset();
  }
  return o;
}

template <class T>
aihub::result<T> decode(std::string_view text, j::builtin_codec codec = {}) {
  T value{};
  auto r = codec.decode(text, value);
  if (!r) return aihub::unexpected(std::move(r).error());
  return value;
}

template <class T>
std::string encode(const T& value) {
  std::string out;
  j::builtin_codec{}.encode(value, out);
  return out;
}

/// The error of a decode that must fail; a failed check (and an empty error) if it succeeded.
template <class T>
aihub::error decode_error(std::string_view text, j::builtin_codec codec = {}) {
  auto r = decode<T>(text, codec);
  if (r) {
    FAIL_CHECK("decoded although it must fail: " << shown(text));
    return {};
  }
  return r.error();
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out.append("{\"a\":");
  out.append("1");
  out.append(depth, '}');
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Grammar

TEST_CASE("json reader: RFC 8259 documents are accepted") {
  const std::string_view accepted[] = {
      "0",
      "-0",
      "-0.0",
      "123",
      "-123",
      "1.5",
      "1e5",
      "1E5",
      "1e+5",
      "1e-5",
      "-1.25E-10",
      "0.000001",
      "1e400",  // valid grammar; only a typed double read refuses it
      "true",
      "false",
      "null",
      "\"\"",
      "\"plain\"",
      "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
      "\"\\u0041\\u00e9\\u20AC\"",
      "\"\\uD83D\\uDE00\"",
      "\"\\u0000\"",
      "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"",
      "\"\xED\x9F\xBF\"",      // U+D7FF, just below the surrogates
      "\"\xEE\x80\x80\"",      // U+E000, just above them
      "\"\xEF\xBF\xBF\"",      // U+FFFF
      "\"\xF4\x8F\xBF\xBF\"",  // U+10FFFF, the last code point
      "\"\x7F\"",              // DEL is not a control character for JSON
      "[]",
      "{}",
      "[1,2,3]",
      "[[],{},[[]],{\"a\":{}}]",
      "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
      "{\"\":0}",
      " \t\r\n[ 1 , 2 ]\n\t\r ",
      "{ \"a\" : 1 }",
  };
  for (auto text : accepted) {
    INFO("input: ", shown(text));
    auto o = validate(text);
    CHECK_MESSAGE(o.ok, o.message);
  }
}

TEST_CASE("json reader: malformed documents are rejected with the reason") {
  struct row {
    std::string_view input;
    std::string_view message;
  };
  const row rejected[] = {
      // structure
      {"", "unexpected end of input"},
      {"   \n\t\r ", "unexpected end of input"},
      {"[1,2,]", "expected a JSON value"},
      {"[,1]", "expected a JSON value"},
      {"[1,,2]", "expected a JSON value"},
      {"{\"a\":1,}", "expected a member name"},
      {"{,}", "expected a member name"},
      {"{\"a\" 1}", "expected ':' after a member name"},
      {"{\"a\":}", "expected a JSON value"},
      {"{1:2}", "expected a member name"},
      {"{'a':1}", "expected a member name"},
      {"{a:1}", "expected a member name"},
      {"[1 2]", "expected ',' or ']' in an array"},
      {"{\"a\":1 \"b\":2}", "expected ',' or '}' in an object"},
      {"[1,2", "unterminated array"},
      {"{\"a\":1", "unterminated object"},
      {"[", "unexpected end of input"},
      {"{", "expected a member name"},
      {"]", "expected a JSON value"},
      // trailing garbage
      {"1 2", "unexpected data after the JSON value"},
      {"{}x", "unexpected data after the JSON value"},
      {"[]]", "unexpected data after the JSON value"},
      {"1\0"sv, "unexpected data after the JSON value"},
      {"null null", "unexpected data after the JSON value"},
      {"truex", "unexpected data after the JSON value"},
      // numbers
      {"01", "leading zeros are not allowed"},
      {"-01", "leading zeros are not allowed"},
      {"00", "leading zeros are not allowed"},
      {"-", "expected a number"},
      {"-a", "expected a number"},
      {"1.", "expected a digit after '.'"},
      {"1.e5", "expected a digit after '.'"},
      {".5", "expected a JSON value"},
      {"+1", "expected a JSON value"},
      {"1e", "expected a digit in the exponent"},
      {"1e+", "expected a digit in the exponent"},
      {"1E-", "expected a digit in the exponent"},
      {"0x10", "unexpected data after the JSON value"},
      {"NaN", "expected a JSON value"},
      {"Infinity", "expected a JSON value"},
      {"-Infinity", "expected a number"},
      // literals
      {"tru", "expected true or false"},
      {"fals", "expected true or false"},
      {"nul", "invalid literal"},
      {"True", "expected a JSON value"},
      {"undefined", "expected a JSON value"},
      // escapes
      {"\"\\x41\"", "invalid escape in a string"},
      {"\"\\a\"", "invalid escape in a string"},
      {"\"\\'\"", "invalid escape in a string"},
      {"\"\\u12\"", "truncated \\u escape"},
      {"[\"\\u12\",1]", "invalid \\u escape"},
      {"\"\\u12", "truncated \\u escape"},
      {"\"\\u12G4\"", "invalid \\u escape"},
      {"\"\\U0041\"", "invalid escape in a string"},
      {"\"\\", "unterminated escape"},
      {"\"\\uD800\"", "lone high surrogate in \\u escape"},
      {"\"\\uDBFFx\"", "lone high surrogate in \\u escape"},
      {"\"\\uDC00\"", "lone low surrogate in \\u escape"},
      {"\"\\uDFFF\\uD800\"", "lone low surrogate in \\u escape"},
      {"\"\\uD800\\u0041\"", "invalid surrogate pair in \\u escape"},
      {"\"\\uD800\\uD800\"", "invalid surrogate pair in \\u escape"},
      {"\"\\uD800\\n\"", "lone high surrogate in \\u escape"},
      // control characters must be escaped
      {"\"a\x01z\"", "control character in a string"},
      {"\"\t\"", "control character in a string"},
      {"\"line\nbreak\"", "control character in a string"},
      {"\"\x1F\"", "control character in a string"},
      {"\"\0\""sv, "control character in a string"},
      {"\"\\n\x02\"", "control character in a string"},  // after an escape (slow path)
      // invalid UTF-8
      {"\"\xC0\xAF\"", "invalid UTF-8 in a string"},          // overlong '/'
      {"\"\xC1\xBF\"", "invalid UTF-8 in a string"},          // overlong
      {"\"\xE0\x80\xAF\"", "invalid UTF-8 in a string"},      // overlong 3 bytes
      {"\"\xF0\x80\x80\xAF\"", "invalid UTF-8 in a string"},  // overlong 4 bytes
      {"\"\xED\xA0\x80\"", "invalid UTF-8 in a string"},      // U+D800 encoded
      {"\"\xED\xBF\xBF\"", "invalid UTF-8 in a string"},      // U+DFFF encoded
      {"\"\xF4\x90\x80\x80\"", "invalid UTF-8 in a string"},  // above U+10FFFF
      {"\"\xF5\x80\x80\x80\"", "invalid UTF-8 in a string"},  // lead byte > F4
      {"\"\xFF\"", "invalid UTF-8 in a string"},
      {"\"\xFE\"", "invalid UTF-8 in a string"},
      {"\"\x80\"", "invalid UTF-8 in a string"},             // lone continuation byte
      {"\"\xC3\"", "invalid UTF-8 in a string"},             // truncated, then the quote
      {"\"\xE2\x82\"", "invalid UTF-8 in a string"},         // truncated, then the quote
      {"\"\xF0\x9F\x98\"", "invalid UTF-8 in a string"},     // truncated, then the quote
      {"\"\xE2\x82", "truncated UTF-8 sequence"},            // truncated by the end of input
      {"\"\\n\xE2\x82\xFF\"", "invalid UTF-8 in a string"},  // after an escape (slow path)
      {"\"\xC3\xA9\xC3\"", "invalid UTF-8 in a string"},
      {"{\"\xC0\xAF\":1}", "invalid UTF-8 in a string"},  // in a member name
      // outside strings
      {"\xEF\xBB\xBF{}", "expected a JSON value"},  // a byte order mark is not JSON whitespace
      {"\f1", "expected a JSON value"},
      {"\v1", "expected a JSON value"},
      {"// comment\n1", "expected a JSON value"},
      {"[1]/**/", "unexpected data after the JSON value"},
      {"\"unterminated", "unterminated string"},
  };
  for (const auto& r : rejected) {
    INFO("input: ", shown(r.input));
    auto o = validate(r.input);
    CHECK_FALSE(o.ok);
    CHECK(o.message == r.message);
    CHECK(o.offset <= r.input.size());
  }
}

TEST_CASE("json reader: the error offset is the byte where the problem is") {
  struct row {
    std::string_view input;
    std::size_t offset;
  };
  const row rows[] = {
      {"[1,2,]", 5},       {"[1,2", 4},         {"01", 1},         {"1 2", 2},
      {"  x", 2},          {"\"ab\\x\"", 4},    {"{\"a\":1,}", 7}, {"\"a\x01\"", 2},
      {"\"\xE2\x82\"", 1}, {"[0,[1,[2,]]]", 9}, {"[1.]", 3},       {"", 0},
  };
  for (const auto& r : rows) {
    INFO("input: ", shown(r.input));
    auto o = validate(r.input);
    CHECK_FALSE(o.ok);
    CHECK(o.offset == r.offset);
  }
}

TEST_CASE("json reader: a special byte is found wherever it falls in an 8-byte word") {
  // Plain string bytes are scanned eight at a time; each special byte, at every position of a
  // string long enough for several words, must still stop the scan and get its usual treatment.
  struct special {
    std::string_view bytes;
    std::string_view message;  // empty: accepted
    std::string_view decoded;  // what the bytes decode to when accepted
  };
  const special specials[] = {
      {"\x01", "control character in a string", {}},
      {"\x1F", "control character in a string", {}},
      {"\0"sv, "control character in a string", {}},
      {"\x80", "invalid UTF-8 in a string", {}},
      {"\xFF", "invalid UTF-8 in a string", {}},
      {"\\q", "invalid escape in a string", {}},
      {"\x7F", {}, "\x7F"},
      {" ", {}, " "},
      {"~", {}, "~"},
      {"\xC3\xA9", {}, "\xC3\xA9"},
      {"\\n", {}, "\n"},
      {"\\\"", {}, "\""},
      {"\\\\", {}, "\\"},
      {"\\u0041", {}, "A"},
  };
  for (std::size_t length = 0; length <= 20; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      for (const auto& sp : specials) {
        std::string text(length + 2, 'a');
        text.front() = '"';
        text.back() = '"';
        text.insert(1 + at, sp.bytes);
        INFO("input: ", shown(text));
        j::reader reader(text);
        std::string out;
        const bool ok = reader.read_string(out) && reader.finish();
        if (sp.message.empty()) {
          CHECK(ok);
          CHECK(out ==
                std::string(at, 'a') + std::string(sp.decoded) + std::string(length - at, 'a'));
        } else {
          CHECK_FALSE(ok);
          CHECK(reader.message() == sp.message);
          CHECK(reader.offset() == 1 + at + (sp.bytes[0] == '\\' ? 1 : 0));
        }
      }
      // The closing quote itself at every position, then the end of input instead of it.
      std::string quoted(at + 2, 'b');
      quoted.front() = '"';
      quoted.back() = '"';
      auto closed = validate(quoted);
      CHECK_MESSAGE(closed.ok, shown(quoted));
      auto open = validate(quoted.substr(0, quoted.size() - 1));
      CHECK_FALSE(open.ok);
      CHECK(open.message == "unterminated string");
      CHECK(open.offset == quoted.size() - 1);
    }
  }
}

TEST_CASE("json reader: \\u escapes and surrogate pairs decode to UTF-8") {
  struct row {
    std::string_view input;
    std::string_view expected;
  };
  const row rows[] = {
      {"\"\\u0041\"", "A"},
      {"\"\\u00e9\"", "\xC3\xA9"},
      {"\"\\u00E9\"", "\xC3\xA9"},
      {"\"\\u07FF\"", "\xDF\xBF"},
      {"\"\\u0800\"", "\xE0\xA0\x80"},
      {"\"\\u20ac\"", "\xE2\x82\xAC"},
      {"\"\\uFFFF\"", "\xEF\xBF\xBF"},
      {"\"\\uD800\\uDC00\"", "\xF0\x90\x80\x80"},  // U+10000
      {"\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80"},  // U+1F600
      {"\"\\ud834\\udd1e\"", "\xF0\x9D\x84\x9E"},  // U+1D11E, lower-case hex
      {"\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF"},  // U+10FFFF
      {"\"\\u0000\"", "\0"sv},
      {"\"a\\u0000b\"", "a\0b"sv},
      {"\"x\\\"y\\\\z\\/\"", "x\"y\\z/"},
      {"\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t"},
      {"\"caf\xC3\xA9\\n\xF0\x9F\x98\x80!\"", "caf\xC3\xA9\n\xF0\x9F\x98\x80!"},
  };
  for (const auto& r : rows) {
    INFO("input: ", shown(r.input));
    std::string out = "stale";
    j::reader reader(r.input);
    CHECK(reader.read_string(out));
    CHECK(reader.finish());
    CHECK(out == r.expected);
  }
}

TEST_CASE("json reader: nesting up to the limit is accepted, deeper is refused") {
  CHECK(validate(nested_arrays(64)).ok);
  CHECK(validate(nested_objects(64)).ok);

  auto arrays = validate(nested_arrays(65));
  CHECK_FALSE(arrays.ok);
  CHECK(arrays.message == "nesting deeper than the limit"sv);
  CHECK(arrays.offset == 64);

  auto objects = validate(nested_objects(65));
  CHECK_FALSE(objects.ok);
  CHECK(objects.message == "nesting deeper than the limit"sv);
  CHECK(objects.offset == 64 * 5);

  SUBCASE("a custom limit") {
    CHECK(validate("[[1]]", j::limits{2}).ok);
    CHECK_FALSE(validate("[[[1]]]", j::limits{2}).ok);
    CHECK(decode<holder<std::vector<std::int64_t>>>("{\"v\":[1]}", j::builtin_codec{{2}}));
    auto e = decode_error<holder<std::vector<std::vector<std::int64_t>>>>("{\"v\":[[1]]}",
                                                                          j::builtin_codec{{2}});
    CHECK(contains(e.message, "nesting deeper than the limit"));
  }
}

TEST_CASE("json reader: 100k levels of nesting fail cleanly without exhausting the stack") {
  const std::string open(100000, '[');
  auto o = validate(open);
  CHECK_FALSE(o.ok);
  CHECK(o.message == "nesting deeper than the limit"sv);

  auto closed = validate(nested_arrays(100000));
  CHECK_FALSE(closed.ok);
  CHECK(closed.message == "nesting deeper than the limit"sv);

  CHECK_FALSE(validate(nested_objects(100000)).ok);

  // Through every path that recurses: unknown members, raw capture, typed reads.
  auto unknown = decode_error<item>("{\"x\":" + open);
  CHECK(unknown.kind == aihub::error_kind::decode);
  CHECK(contains(unknown.message, "nesting deeper than the limit"));
  auto captured = decode_error<j::raw>(open);
  CHECK(contains(captured.message, "nesting deeper than the limit"));
  auto typed = decode_error<std::vector<std::vector<std::int64_t>>>(open);
  CHECK(contains(typed.message, "expected an integer"));  // the type stops it at level 3
}

// ---------------------------------------------------------------------------------------------------
// Typed decoding

TEST_CASE("json decode: every member kind") {
  const std::string_view text = R"({
    "flag": true, "small": -42, "big": 1710000000123456789, "ubig": 18446744073709551615,
    "real": -2.5e-3, "text": "h\u00e9llo\n", "maybe": 7, "tags": ["a", "", "c"],
    "child": {"id": 1, "label": "one", "values": [1, 2]},
    "maybe_child": {"id": 2},
    "children": [{"id": 3}, {"id": 4, "values": []}],
    "hue": "green", "maybe_hue": "blue", "size": "1024", "batch": 9876,
    "extra": {"k": [1, "two", null]}, "grid": [[1, 2], [], [3]], "holes": [1, null, 3]
  })";
  auto r = decode<everything>(text);
  CHECK_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  if (!r) return;
  const everything& e = *r;
  CHECK(e.flag);
  CHECK(e.small == -42);
  CHECK(e.big == 1710000000123456789);
  CHECK(e.ubig == std::numeric_limits<std::uint64_t>::max());
  CHECK(e.real == -2.5e-3);
  CHECK(e.text == "h\xC3\xA9llo\n");
  CHECK(e.maybe == 7);
  CHECK(e.tags == std::vector<std::string>{"a", "", "c"});
  CHECK(e.child == item{1, "one", {1, 2}});
  CHECK(e.maybe_child == item{2, std::nullopt, {}});
  CHECK(e.children == std::vector<item>{{3, std::nullopt, {}}, {4, std::nullopt, {}}});
  CHECK(e.hue == color::green);
  CHECK(e.maybe_hue == color::blue);
  CHECK(e.size.value == 1024);
  CHECK(e.batch.value == "9876");
  CHECK(e.extra.text == R"({"k": [1, "two", null]})");
  CHECK(e.grid == std::vector<std::vector<std::int64_t>>{{1, 2}, {}, {3}});
  CHECK(e.holes == std::vector<std::optional<std::int64_t>>{1, std::nullopt, 3});
}

TEST_CASE("json decode: 64-bit integer limits") {
  using i64 = holder<std::int64_t>;
  using u64 = holder<std::uint64_t>;
  using i32 = holder<int>;

  auto max = decode<i64>(R"({"v":9223372036854775807})");
  CHECK((max && max->value == std::numeric_limits<std::int64_t>::max()));
  auto min = decode<i64>(R"({"v":-9223372036854775808})");
  CHECK((min && min->value == std::numeric_limits<std::int64_t>::min()));
  auto umax = decode<u64>(R"({"v":18446744073709551615})");
  CHECK((umax && umax->value == std::numeric_limits<std::uint64_t>::max()));
  auto zero = decode<u64>(R"({"v":0})");
  CHECK((zero && zero->value == 0));

  // A nanosecond timestamp above 2^53: exact, not rounded through a double.
  auto ts = decode<i64>(R"({"v":1710000000123456789})");
  CHECK((ts && ts->value == 1710000000123456789));
  CHECK((ts && ts->value != static_cast<std::int64_t>(1710000000123456789.0)));

  auto i32max = decode<i32>(R"({"v":2147483647})");
  CHECK((i32max && i32max->value == 2147483647));
  auto i32min = decode<i32>(R"({"v":-2147483648})");
  CHECK((i32min && i32min->value == std::numeric_limits<int>::min()));

  struct row {
    std::string_view input;
    std::string_view message;
  };
  const row i64_rejects[] = {
      {R"({"v":9223372036854775808})", "integer does not fit in 64 bits"},
      {R"({"v":-9223372036854775809})", "integer does not fit in 64 bits"},
      {R"({"v":99999999999999999999999})", "integer does not fit in 64 bits"},
      {R"({"v":1.0})", "expected an integer, found a fraction or exponent"},
      {R"({"v":1e3})", "expected an integer, found a fraction or exponent"},
      {R"({"v":"1"})", "expected an integer"},
      {R"({"v":true})", "expected an integer"},
  };
  for (const auto& r : i64_rejects) {
    INFO("input: ", r.input);
    auto e = decode_error<i64>(r.input);
    CHECK(e.kind == aihub::error_kind::decode);
    CHECK(e.field == "v");
    CHECK(contains(e.message, r.message));
  }
  const row u64_rejects[] = {
      {R"({"v":18446744073709551616})", "integer does not fit in 64 bits"},
      {R"({"v":-1})", "expected a non-negative integer"},
      {R"({"v":-0})", "expected a non-negative integer"},
      {R"({"v":0.5})", "expected an integer, found a fraction or exponent"},
  };
  for (const auto& r : u64_rejects) {
    INFO("input: ", r.input);
    CHECK(contains(decode_error<u64>(r.input).message, r.message));
  }
  CHECK(contains(decode_error<i32>(R"({"v":2147483648})").message, "does not fit in 32 bits"));
  CHECK(contains(decode_error<i32>(R"({"v":-2147483649})").message, "does not fit in 32 bits"));
}

TEST_CASE("json decode: doubles") {
  using f64 = holder<double>;
  struct row {
    std::string_view input;
    double expected;
  };
  const row rows[] = {
      {R"({"v":0})", 0.0},
      {R"({"v":-1.5})", -1.5},
      {R"({"v":1e300})", 1e300},
      {R"({"v":2.5E-3})", 2.5e-3},
      {R"({"v":9007199254740993})", 9007199254740992.0},  // 2^53 + 1 rounds to nearest even
      {R"({"v":5e-324})", 5e-324},
  };
  for (const auto& r : rows) {
    INFO("input: ", r.input);
    auto v = decode<f64>(r.input);
    CHECK((v && v->value == r.expected));
  }
  CHECK(contains(decode_error<f64>(R"({"v":1e400})").message, "number out of range"));
  CHECK(contains(decode_error<f64>(R"({"v":"1"})").message, "expected a number"));
  CHECK(contains(decode_error<f64>(R"({"v":null})").message, "expected a number"));
}

TEST_CASE("json decode: short decimals give exactly the double from_chars gives") {
  // Digits that make an integer m <= 2^53 with a power of ten 10^k, |k| <= 22, are converted with
  // one exact multiplication or division; all other numbers by std::from_chars. The results must
  // be the same bits either way: checked against from_chars and against the compiler's reading of
  // the same literal.
  using f64 = holder<double>;
  auto decoded_bits = [](std::string_view number) -> std::optional<std::uint64_t> {
    auto v = decode<f64>("{\"v\":" + std::string(number) + "}");
    if (!v) return std::nullopt;
    return std::bit_cast<std::uint64_t>(v->value);
  };
  auto from_chars_bits = [](std::string_view number) {
    double d = -1;
    auto r = std::from_chars(number.data(), number.data() + number.size(), d);
    CHECK(r.ec == std::errc());
    return std::bit_cast<std::uint64_t>(d);
  };
  struct row {
    std::string_view input;
    double expected;
  };
  const row rows[] = {
      {"0", 0.0},
      {"-0", -0.0},
      {"-0.0", -0.0},
      {"-0e5", -0.0},
      {"0e-400", 0.0},
      {"-0.000e400", -0.0},
      {"0.1", 0.1},
      {"0.2", 0.2},
      {"0.3", 0.3},
      {"-0.1", -0.1},
      {"1.50", 1.5},
      {"123.456", 123.456},
      {"4.35", 4.35},
      {"0.000001", 0.000001},
      {"2.5E-3", 2.5e-3},
      {"1.5e+10", 1.5e10},
      // 15, 16 and 17 significant digits
      {"3.14159265358979", 3.14159265358979},
      {"3.141592653589793", 3.141592653589793},
      {"2.7182818284590452", 2.7182818284590452},
      {"0.30000000000000004", 0.30000000000000004},
      {"123456789012345", 123456789012345.0},
      {"1234567890123456", 1234567890123456.0},
      {"12345678901234567", 12345678901234567.0},
      {"-1.2345678901234567e5", -1.2345678901234567e5},
      // the mantissa bound: 2^53 is exact, 2^53 + 1 is a tie that rounds to even
      {"9007199254740992", 9007199254740992.0},
      {"9007199254740993", 9007199254740992.0},
      {"-9007199254740993", -9007199254740992.0},
      {"9007199254740995", 9007199254740996.0},
      {"900719925474099.3", 900719925474099.3},
      {"9007199254740993e-16", 0.9007199254740993},
      {"90071992547409920e-1", 9007199254740992.0},
      // the power bound: 10^22 is exact, 10^23 is not
      {"1e22", 1e22},
      {"1e23", 1e23},
      {"1e-22", 1e-22},
      {"1e-23", 1e-23},
      {"0.0000000000000000000001", 1e-22},
      {"0.00000000000000000000001", 1e-23},
      {"10000000000000000000000", 1e22},
      {"100000000000000000000000", 1e23},
      {"9007199254740992e22", 9007199254740992e22},
      {"9007199254740992e-22", 9007199254740992e-22},
      {"9007199254740993e22", 9007199254740993e22},
      {"0.1e23", 0.1e23},
      {"100e-24", 100e-24},
      {"1.0000000000000000000000001", 1.0},
      // far outside the exact cases
      {"1.7976931348623157e308", 1.7976931348623157e308},
      {"2.2250738585072014e-308", 2.2250738585072014e-308},
      {"4.9406564584124654e-324", 4.9406564584124654e-324},
      {"123456789012345678901234567890", 123456789012345678901234567890.0},
      {"1e00000000000000000000000000000000000000001", 10.0},
  };
  for (const auto& r : rows) {
    INFO("input: ", r.input);
    auto bits = decoded_bits(r.input);
    CHECK(bits.has_value());
    if (!bits) continue;
    CHECK(*bits == from_chars_bits(r.input));
    CHECK(*bits == std::bit_cast<std::uint64_t>(r.expected));
  }

  // Around both bounds, with the power of ten written as an exponent and as a fraction.
  const std::string_view mantissas[] = {"1",
                                        "7",
                                        "3",
                                        "999999999999999",
                                        "4503599627370497",
                                        "9007199254740991",
                                        "9007199254740992",
                                        "9007199254740993",
                                        "9999999999999999",
                                        "18014398509481985"};
  for (auto m : mantissas) {
    for (int k = -25; k <= 25; ++k) {
      std::string scientific = std::string(m) + "e" + std::to_string(k);
      INFO("input: ", scientific);
      auto bits = decoded_bits(scientific);
      CHECK((bits && *bits == from_chars_bits(scientific)));
      if (k < 0 && static_cast<std::size_t>(-k) < m.size()) {
        const std::size_t point = m.size() - static_cast<std::size_t>(-k);
        std::string decimal(m.substr(0, point));
        decimal.append(".").append(m.substr(point));
        INFO("input: ", decimal);
        auto dbits = decoded_bits(decimal);
        CHECK((dbits && *dbits == from_chars_bits(decimal)));
      }
    }
  }

  // Out of range stays an error, whatever the path.
  for (std::string_view n : {"1e400", "-1e400", "1e-400", "9007199254740992e-400"}) {
    INFO("input: ", n);
    CHECK(contains(decode_error<f64>("{\"v\":" + std::string(n) + "}").message,
                   "number out of range"));
  }
}

TEST_CASE("json decode: null goes into optionals only") {
  auto r =
      decode<everything>(R"({"maybe":null,"maybe_child":null,"maybe_hue":null,"holes":[null]})");
  CHECK(r.has_value());
  if (!r) return;
  CHECK_FALSE(r->maybe.has_value());
  CHECK_FALSE(r->maybe_child.has_value());
  CHECK_FALSE(r->maybe_hue.has_value());
  CHECK(r->holes == std::vector<std::optional<std::int64_t>>{std::nullopt});

  struct row {
    std::string_view input;
    std::string_view field;
    std::string_view message;
  };
  const row rows[] = {
      {R"({"big":null})", "big", "expected an integer"},
      {R"({"ubig":null})", "ubig", "expected an integer"},
      {R"({"small":null})", "small", "expected an integer"},
      {R"({"flag":null})", "flag", "expected true or false"},
      {R"({"real":null})", "real", "expected a number"},
      {R"({"text":null})", "text", "expected a string"},
      {R"({"tags":null})", "tags", "expected an array"},
      {R"({"child":null})", "child", "expected an object"},
      {R"({"hue":null})", "hue", "expected a string"},
      {R"({"size":null})", "size", "expected an integer"},
      {R"({"batch":null})", "batch", "expected a string or a number"},
      {R"({"tags":[null]})", "tags[0]", "expected a string"},
  };
  for (const auto& row : rows) {
    INFO("input: ", row.input);
    auto e = decode_error<everything>(row.input);
    CHECK(e.kind == aihub::error_kind::decode);
    CHECK(e.field == row.field);
    CHECK(contains(e.message, row.message));
  }
  // raw keeps a null as the text "null".
  auto raw_null = decode<everything>(R"({"extra":null})");
  CHECK((raw_null && raw_null->extra.text == "null"));
}

TEST_CASE("json decode: flex_int and flex_string") {
  using fi = holder<j::flex_int>;
  using fs = holder<j::flex_string>;
  struct int_row {
    std::string_view input;
    std::int64_t expected;
  };
  const int_row ints[] = {
      {R"({"v":42})", 42},
      {R"({"v":"42"})", 42},
      {R"({"v":-7})", -7},
      {R"({"v":"-7"})", -7},
      {R"({"v":"1710000000123456789"})", 1710000000123456789},
      {R"({"v":"9223372036854775807"})", std::numeric_limits<std::int64_t>::max()},
  };
  for (const auto& r : ints) {
    INFO("input: ", r.input);
    auto v = decode<fi>(r.input);
    CHECK((v && v->value.value == r.expected));
  }
  const std::string_view int_rejects[] = {
      R"({"v":"12x"})", R"({"v":""})",    R"({"v":"1.5"})",
      R"({"v":" 12"})", R"({"v":"0x1"})", R"({"v":"9223372036854775808"})",
      R"({"v":1.5})",   R"({"v":true})",  R"({"v":[1]})",
  };
  for (auto input : int_rejects) {
    INFO("input: ", input);
    auto e = decode_error<fi>(input);
    CHECK(e.kind == aihub::error_kind::decode);
    CHECK(e.field == "v");
  }
  CHECK(contains(decode_error<fi>(R"({"v":"12x"})").message,
                 "expected an integer or a string holding one"));

  struct string_row {
    std::string_view input;
    std::string_view expected;
  };
  const string_row strings[] = {
      {R"({"v":"abc"})", "abc"},       {R"({"v":""})", ""},
      {R"({"v":"\u0041"})", "A"},      {R"({"v":12345})", "12345"},
      {R"({"v":-1.50e3})", "-1.50e3"},  // the number's exact text
      {R"({"v": 0 })", "0"},
  };
  for (const auto& r : strings) {
    INFO("input: ", r.input);
    auto v = decode<fs>(r.input);
    CHECK((v && v->value.value == r.expected));
  }
  for (auto input : {R"({"v":true})"sv, R"({"v":null})"sv, R"({"v":{}})"sv, R"({"v":[]})"sv}) {
    INFO("input: ", input);
    CHECK(contains(decode_error<fs>(input).message, "expected a string or a number"));
  }
}

TEST_CASE("json decode: raw keeps the exact text of any value") {
  struct row {
    std::string_view input;
    std::string_view text;
  };
  const row rows[] = {
      {R"({"v":  {"a" : [1, 2.50, "x\u0041"] } , "w":0})", R"({"a" : [1, 2.50, "x\u0041"] })"},
      {R"({"v":[ ]})", "[ ]"},
      {R"({"v":"s\"q"})", R"("s\"q")"},
      {R"({"v":-0.0e+1})", "-0.0e+1"},
      {R"({"v":true})", "true"},
      {R"({"v":null})", "null"},
      {"{\"v\":\n[[{}],\t{\"\":[]}]\n}", "[[{}],\t{\"\":[]}]"},
  };
  for (const auto& r : rows) {
    INFO("input: ", r.input);
    auto v = decode<holder<j::raw>>(r.input);
    CHECK((v && v->value.text == r.text));
  }
  // The captured value is validated like any other.
  CHECK(contains(decode_error<holder<j::raw>>(R"({"v":[1,]})").message, "expected a JSON value"));
  CHECK(contains(decode_error<holder<j::raw>>(R"({"v":"\uD800"})").message, "lone high surrogate"));
}

TEST_CASE("json decode: string enums") {
  auto v = decode<holder<color>>(R"({"v":"blue"})");
  CHECK((v && v->value == color::blue));
  auto unknown = decode_error<holder<color>>(R"({"v":"purple"})");
  CHECK(unknown.kind == aihub::error_kind::decode);
  CHECK(unknown.field == "v");
  CHECK(contains(unknown.message, "unknown enumeration value"));
  CHECK(contains(decode_error<holder<color>>(R"({"v":"Blue"})").message,
                 "unknown enumeration value"));
  CHECK(contains(decode_error<holder<color>>(R"({"v":2})").message, "expected a string"));
  auto in_array = decode_error<holder<std::vector<color>>>(R"({"v":["red","mauve"]})");
  CHECK(in_array.field == "v[1]");
}

TEST_CASE("json decode: unknown members are skipped, nested ones included") {
  auto r = decode<item>(
      R"({"x":{"y":[1,{"z":"w","n":null}],"q":{}},"id":3,"zz":[],"label":"l","t":true,"e":-1e-9})");
  CHECK(r.has_value());
  CHECK((r && *r == item{3, "l", {}}));
  // Skipped members are still validated.
  auto bad = decode_error<item>(R"({"x":[1,],"id":3})");
  CHECK(contains(bad.message, "expected a JSON value"));
  CHECK(contains(decode_error<item>(R"({"x":"\x","id":3})").message, "invalid escape"));
  CHECK(contains(decode_error<item>(R"({"x":01,"id":3})").message, "leading zeros"));
}

TEST_CASE("json decode: duplicate keys, the last one wins") {
  auto scalar = decode<item>(R"({"id":1,"id":2})");
  CHECK((scalar && scalar->id == 2));

  auto array = decode<everything>(R"({"tags":["a"],"tags":["b","c"]})");
  CHECK((array && array->tags == std::vector<std::string>{"b", "c"}));

  // A later object replaces the earlier one entirely; it is not merged into it.
  auto object =
      decode<everything>(R"({"child":{"id":1,"label":"a","values":[1]},"child":{"id":2}})");
  CHECK((object && object->child == item{2, std::nullopt, {}}));
  auto optional_object =
      decode<everything>(R"({"maybe_child":{"id":1,"label":"a"},"maybe_child":{"id":2}})");
  CHECK((optional_object && optional_object->maybe_child == item{2, std::nullopt, {}}));
  auto nulled = decode<everything>(R"({"maybe":1,"maybe":null})");
  CHECK((nulled && !nulled->maybe));

  // Every occurrence is type-checked, including the ones that lose.
  auto e = decode_error<item>(R"({"id":"x","id":1})");
  CHECK(e.field == "id");
}

TEST_CASE("json decode: members are found in any order, however their names are written") {
  // The decoder first compares the name it expects next (the field after the last one matched)
  // with the input in place; anything else must still work exactly as the generic path.
  auto in_order = decode<item>(R"({"id":1,"label":"a","values":[2]})");
  CHECK((in_order && *in_order == item{1, "a", {2}}));
  auto reversed = decode<item>(R"({"values":[2],"label":"a","id":1})");
  CHECK((reversed && *reversed == item{1, "a", {2}}));
  auto spaced = decode<item>("{ \"id\" \t: 1 ,\n\"label\"\r\n:\"a\" , \"values\" : [ 2 ] }");
  CHECK((spaced && *spaced == item{1, "a", {2}}));
  auto with_unknown =
      decode<item>(R"({"id":1,"lab":0,"labels":0,"label":"a","x":{},"values":[2]})");
  CHECK((with_unknown && *with_unknown == item{1, "a", {2}}));

  // Escaped names, the expected one included, are found once unescaped.
  auto escaped =
      decode<item>(R"({"\u0069d":1,"l\u0061bel":"a","values\u0000":[1],"valu\u0065s":[2]})");
  CHECK((escaped && *escaped == item{1, "a", {2}}));
  auto solidus = decode<item>(R"({"id":1,"label\/":"x","lab\u0065l":"a"})");
  CHECK((solidus && *solidus == item{1, "a", {}}));

  // Names that are prefixes of each other, in every order.
  auto p1 = decode<prefixes>(R"({"name":1,"names":2,"nam":3})");
  CHECK((p1 && *p1 == prefixes{1, 2, 3}));
  auto p2 = decode<prefixes>(R"({"nam":3,"names":2,"name":1})");
  CHECK((p2 && *p2 == prefixes{1, 2, 3}));
  auto p3 = decode<prefixes>(R"({"names":2,"name":1,"nam":3,"na":9,"namesake":9,"name ":9})");
  CHECK((p3 && *p3 == prefixes{1, 2, 3}));
  auto p4 = decode<prefixes>(R"({"name":1,"name":4,"names":2,"names":5})");
  CHECK((p4 && *p4 == prefixes{4, 5, 0}));

  // Names whose JSON form needs escapes are matched only once unescaped.
  auto e1 = decode<escaped_names>(R"({"say \"hi\"":1,"a\\b":2,"a\tb":3})");
  CHECK((e1 && *e1 == escaped_names{1, 2, 3}));
  CHECK(contains(decode_error<escaped_names>(R"({"say "hi"":1})").message,
                 "expected ':' after a member name"));
  auto e2 = decode<escaped_names>(R"({"say \"hi\"":1,"a\b":2})");  // "a<backspace>": unknown
  CHECK((e2 && *e2 == escaped_names{1, 0, 0}));
  CHECK(contains(
      decode_error<escaped_names>("{\"say \\\"hi\\\"\":1,\"a\\\\b\":2,\"a\tb\":3}").message,
      "control character in a string"));
  CHECK(encode(escaped_names{1, 2, 3}) == R"({"say \"hi\"":1,"a\\b":2,"a\tb":3})");

  // An expected name followed by bytes that make the key invalid is still rejected, at the same
  // byte as before.
  const auto control = decode_error<item>("{\"id\x01\":1}");
  CHECK(control.message == "invalid JSON: control character in a string (byte 4)");
  const auto utf8 = decode_error<item>("{\"id\":1,\"label\xFF\":\"a\"}");
  CHECK(utf8.message == "invalid JSON: invalid UTF-8 in a string (byte 14)");
  const auto unterminated = decode_error<item>("{\"id");
  CHECK(unterminated.message == "invalid JSON: unterminated string (byte 4)");
  const auto no_colon = decode_error<item>(R"({"id" 1})");
  CHECK(no_colon.message == "invalid JSON: expected ':' after a member name (byte 6)");
  const auto no_colon_at_end = decode_error<item>(R"({"id")");
  CHECK(no_colon_at_end.message == "invalid JSON: expected ':' after a member name (byte 5)");
  // The next member's name right after a value, without a comma: one member per step.
  const auto no_comma = decode_error<item>(R"({"id":1"label":"a"})");
  CHECK(no_comma.message == "invalid JSON: expected ',' or '}' in an object (byte 7)");
  const auto no_comma_spaced = decode_error<item>(R"({"id":1 "label":"a"})");
  CHECK(no_comma_spaced.message == "invalid JSON: expected ',' or '}' in an object (byte 8)");
  // A bad value under an expected name names the member.
  const auto bad_value = decode_error<item>(R"({"id":1,"label":5})");
  CHECK(bad_value.field == "label");
  CHECK(bad_value.message == "invalid JSON at label: expected a string (byte 16)");

  // The nesting limit holds through members found either way.
  CHECK(decode<holder<item>>(R"({"v":{"id":1}})", j::builtin_codec{{2}}));
  CHECK(contains(
      decode_error<holder<item>>(R"({"v":{"id":1,"values":[]}})", j::builtin_codec{{2}}).message,
      "nesting deeper than the limit"));
  CHECK(contains(
      decode_error<holder<item>>(R"({"v":{"values":[],"id":1}})", j::builtin_codec{{2}}).message,
      "nesting deeper than the limit"));
}

TEST_CASE("json decode: decoding into a used struct replaces every member") {
  everything e;
  e.maybe = 5;
  e.text = "old";
  e.child.label = "old";
  e.maybe_child = item{9, "old", {9}};
  e.tags = {"old"};
  CHECK(j::builtin_codec{}.decode(R"({"child":{"id":1}})", e));
  CHECK_FALSE(e.maybe.has_value());
  CHECK(e.text.empty());
  CHECK(e.child == item{1, std::nullopt, {}});
  CHECK_FALSE(e.maybe_child.has_value());
  CHECK(e.tags.empty());
}

TEST_CASE("json decode: a missing required member is named") {
  auto top = decode_error<item>(R"({"label":"x"})");
  CHECK(top.kind == aihub::error_kind::decode);
  CHECK(top.field == "id");
  CHECK(contains(top.message, "required member is missing"));
  CHECK(contains(top.message, "at id"));

  auto nested =
      decode_error<tree>(R"({"nodes":[{"name":"a","metadata":{"size":1}},{"name":"b"}]})");
  CHECK(nested.field == "nodes[1].metadata");

  auto deeper = decode_error<tree>(R"({"nodes":[{"name":"a","metadata":{"unit":"kb"}}]})");
  CHECK(deeper.field == "nodes[0].metadata.size");
  CHECK(contains(deeper.message, "required member is missing"));

  // A required member that is present but null is a type error, not a missing one.
  auto null_required = decode_error<item>(R"({"id":null})");
  CHECK(null_required.field == "id");
  CHECK(contains(null_required.message, "expected an integer"));
}

TEST_CASE("json decode: errors carry the JSON path and the byte offset") {
  const std::string_view text =
      R"({"nodes":[{"name":"a","metadata":{"size":1}},{"name":"b","metadata":{"size":"big"}}]})";
  auto e = decode_error<tree>(text);
  CHECK(e.kind == aihub::error_kind::decode);
  CHECK(e.field == "nodes[1].metadata.size");
  const auto offset = text.find("\"big\"");
  CHECK(e.message == "invalid JSON at nodes[1].metadata.size: expected an integer (byte " +
                         std::to_string(offset) + ")");

  // Nested arrays put one index after another.
  auto grid = decode_error<everything>(R"({"grid":[[1],[2,"x"]]})");
  CHECK(grid.field == "grid[1][1]");
  auto children = decode_error<everything>(R"({"children":[{"id":1},{"id":2,"values":[1,true]}]})");
  CHECK(children.field == "children[1].values[1]");

  // Syntax errors have no path, only the offset.
  auto syntax = decode_error<tree>(R"({"nodes":[] "x":1})");
  CHECK(syntax.field.empty());
  CHECK(syntax.message == "invalid JSON: expected ',' or '}' in an object (byte 12)");
  auto trailing = decode_error<item>(R"({"id":1} x)");
  CHECK(trailing.message == "invalid JSON: unexpected data after the JSON value (byte 9)");
  // A top-level value of the wrong kind.
  auto kind = decode_error<item>("[]");
  CHECK(kind.message == "invalid JSON: expected an object (byte 0)");
}

// ---------------------------------------------------------------------------------------------------
// Writer

TEST_CASE("json writer: string escaping") {
  const std::string_view control[32] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
      "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
      "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
  };
  for (int c = 0; c < 32; ++c) {
    INFO("char: ", c);
    const std::string in = "a" + std::string(1, static_cast<char>(c)) + "b";
    std::string out;
    j::writer::append_quoted(out, in);
    CHECK(out == "\"a" + std::string(control[c]) + "b\"");
    // and it reads back
    std::string back;
    j::reader r(out);
    CHECK(r.read_string(back));
    CHECK(back == in);
  }
  struct row {
    std::string_view in;
    std::string_view out;
  };
  const row rows[] = {
      {"", R"("")"},
      {"\"", R"("\"")"},
      {"\\", R"("\\")"},
      {"a\"b\\c", R"("a\"b\\c")"},
      {"/", R"("/")"},
      {"\x7F", "\"\x7F\""},
      {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
       "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\""},
      // What is not well-formed UTF-8 goes out as U+FFFD, one per byte, so the output is JSON.
      {"\xFF", "\"\xEF\xBF\xBD\""},
      {"a\xC0\xAF"
       "b",
       "\"a\xEF\xBF\xBD\xEF\xBF\xBD"
       "b\""},                                                                       // overlong '/'
      {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},                  // a surrogate
      {"\xF4\x90\x80\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  // > U+10FFFF
      {"\xE2\x82", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},                                  // cut short
      {"\xE2\x82\xAC\xFF\"", "\"\xE2\x82\xAC\xEF\xBF\xBD\\\"\""},  // then an escape
  };
  for (const auto& r : rows) {
    INFO("input: ", shown(r.in));
    std::string out = "prefix:";
    j::writer::append_quoted(out, r.in);
    CHECK(out == "prefix:" + std::string(r.out));
  }
}

TEST_CASE("json writer: commas and nesting") {
  std::string s;
  j::writer w(s);
  w.begin_object();
  w.key("a");
  w.begin_array();
  w.end_array();
  w.key("b");
  w.begin_object();
  w.end_object();
  w.key("c");
  w.begin_array();
  w.integer(1);
  w.begin_array();
  w.end_array();
  w.begin_object();
  w.key("d");
  w.null();
  w.key("e");
  w.boolean(false);
  w.end_object();
  w.string("x");
  w.begin_array();
  w.begin_array();
  w.uinteger(2);
  w.end_array();
  w.end_array();
  w.end_array();
  w.key("f");
  w.raw_json("[1, 2]");
  w.end_object();
  CHECK(s == R"({"a":[],"b":{},"c":[1,[],{"d":null,"e":false},"x",[[2]]],"f":[1, 2]})");
  CHECK(validate(s).ok);

  std::string empty_array, empty_object;
  j::writer wa(empty_array);
  wa.begin_array();
  wa.end_array();
  j::writer wo(empty_object);
  wo.begin_object();
  wo.end_object();
  CHECK(empty_array == "[]");
  CHECK(empty_object == "{}");
}

TEST_CASE("json writer: numbers") {
  auto one = [](auto&& write) {
    std::string s;
    j::writer w(s);
    write(w);
    return s;
  };
  CHECK(one([](j::writer& w) { w.integer(std::numeric_limits<std::int64_t>::max()); }) ==
        "9223372036854775807");
  CHECK(one([](j::writer& w) { w.integer(std::numeric_limits<std::int64_t>::min()); }) ==
        "-9223372036854775808");
  CHECK(one([](j::writer& w) { w.integer(0); }) == "0");
  CHECK(one([](j::writer& w) { w.uinteger(std::numeric_limits<std::uint64_t>::max()); }) ==
        "18446744073709551615");
  CHECK(one([](j::writer& w) { w.integer(1710000000123456789); }) == "1710000000123456789");
  CHECK(one([](j::writer& w) { w.number(1.5); }) == "1.5");
  CHECK(one([](j::writer& w) { w.number(0.1); }) == "0.1");
  CHECK(one([](j::writer& w) { w.number(-2.0); }) == "-2");
  CHECK(one([](j::writer& w) { w.number(std::numeric_limits<double>::quiet_NaN()); }) == "null");
  CHECK(one([](j::writer& w) { w.number(std::numeric_limits<double>::infinity()); }) == "null");
  CHECK(one([](j::writer& w) { w.number(-std::numeric_limits<double>::infinity()); }) == "null");
  // Every finite double is written in a form that reads back to the same value.
  for (double d : {1e300, -1e-300, 5e-324, 0.1 + 0.2, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::lowest(), 123456789.123456789}) {
    std::string s = one([d](j::writer& w) { w.number(d); });
    INFO("written: ", s);
    CHECK(validate(s).ok);
    auto back = decode<double>(s);
    CHECK((back && *back == d));
  }
}

TEST_CASE("json encode: described structs") {
  item i{7, std::nullopt, {}};
  CHECK(encode(i) == R"({"id":7,"values":[]})");
  i.label = "x\"y";
  i.values = {1, -2};
  CHECK(encode(i) == R"({"id":7,"label":"x\"y","values":[1,-2]})");

  // Empty optional members are left out; an empty optional inside an array is null.
  everything e;
  e.holes = {1, std::nullopt};
  e.extra.text = "{\"k\" : 1}";
  const std::string out = encode(e);
  CHECK(out == R"({"flag":false,"small":0,"big":0,"ubig":0,"real":0,"text":"","tags":[],)"
               R"("child":{"id":0,"values":[]},"children":[],"hue":"red","size":0,"batch":"",)"
               R"("extra":{"k" : 1},"grid":[],"holes":[1,null]})");
  CHECK_FALSE(contains(out, "maybe"));

  // A raw value that was never set is written as null.
  CHECK(encode(holder<j::raw>{}) == R"({"v":null})");
  CHECK(encode(std::vector<std::optional<std::int64_t>>{std::nullopt}) == "[null]");
  CHECK(encode(std::vector<std::vector<int>>{{}, {1}, {}}) == "[[],[1],[]]");
  CHECK(encode(holder<std::int64_t>{std::numeric_limits<std::int64_t>::min()}) ==
        R"({"v":-9223372036854775808})");
  CHECK(encode(holder<j::flex_int>{{-5}}) == R"({"v":-5})");
  CHECK(encode(holder<j::flex_string>{{"12"}}) == R"({"v":"12"})");
  CHECK(encode(holder<color>{color::blue}) == R"({"v":"blue"})");

  // encode appends
  std::string appended = "x";
  j::builtin_codec{}.encode(item{1, std::nullopt, {}}, appended);
  CHECK(appended == R"(x{"id":1,"values":[]})");
}

TEST_CASE("json encode then decode gives back an equal nested struct") {
  everything e;
  e.flag = true;
  e.small = std::numeric_limits<int>::min();
  e.big = std::numeric_limits<std::int64_t>::min();
  e.ubig = std::numeric_limits<std::uint64_t>::max();
  e.real = 0.1 + 0.2;
  e.text = std::string("ctl\x01\x1F\x7F \"q\" \\ caf\xC3\xA9 \xF0\x9F\x98\x80 nul:") + '\0';
  e.maybe = 1710000000123456789;
  e.tags = {"", "a,b", "[]"};
  e.child = item{1, "c", {1, 2, 3}};
  e.maybe_child = item{2, std::nullopt, {}};
  e.children = {item{3, "x", {}}, item{4, std::nullopt, {-1}}};
  e.hue = color::blue;
  e.maybe_hue = color::green;
  e.size.value = std::numeric_limits<std::int64_t>::max();
  e.batch.value = "007";
  e.extra.text = R"({"free":["form",{"x":null}],"n":-1.5e-7})";
  e.grid = {{}, {1}, {2, 3}};
  e.holes = {std::nullopt, 0, std::nullopt};

  const std::string text = encode(e);
  INFO("encoded: ", shown(text));
  auto back = decode<everything>(text);
  CHECK_MESSAGE(back.has_value(), (back ? "" : back.error().message));
  CHECK((back && *back == e));
  // and the encoding is stable
  CHECK((back && encode(*back) == text));
}

TEST_CASE("json: builtin_codec satisfies the codec concept") {
  static_assert(j::codec<j::builtin_codec>);
  struct not_a_codec {};
  static_assert(!j::codec<not_a_codec>);
  j::codec_probe probe;
  CHECK(j::builtin_codec{}.decode(R"({"id":12})", probe));
  CHECK(probe.id == 12);
}

// ---------------------------------------------------------------------------------------------------
// Regressions

TEST_CASE("json regression: an object replaces a reused struct instead of merging into it") {
  // Found while writing these tests: the later of two duplicate objects used to be merged into the
  // earlier one, and decoding into a reused struct kept members the new document did not have.
  metadata m{5, "kb"};
  CHECK(j::builtin_codec{}.decode(R"({"size":6})", m));
  CHECK(m == metadata{6, std::nullopt});
}
