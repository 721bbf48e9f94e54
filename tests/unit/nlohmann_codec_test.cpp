// Tests of the nlohmann/json codec adapter (adapters/nlohmann): it must decode what the built-in
// codec decodes into equal structs, reject what it rejects with the same error kind and JSON path,
// write JSON that both codecs read back equal, and never throw or abort (these tests also run with
// -fno-exceptions, where nlohmann/json would abort instead of throwing).
//
// The test executable must link aihub::adapter.

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "aihub/json.hpp"
#include "aihub/nlohmann_codec.hpp"

namespace {

namespace j = aihub::json;
using namespace std::string_view_literals;

enum class shade : std::uint8_t { light, dark };

constexpr std::string_view to_string(shade s) {
  return s == shade::dark ? "dark" : "light";
}

bool from_string(std::string_view text, shade& out) {
  if (text == "light") {
    out = shade::light;
    return true;
  }
  if (text == "dark") {
    out = shade::dark;
    return true;
  }
  return false;
}

struct part {
  std::int64_t id = 0;
  std::optional<std::string> label;
  std::vector<int> values;

  static constexpr auto json_fields() {
    return aihub::json::fields(j::required("id", &part::id), j::field("label", &part::label),
                               j::field("values", &part::values));
  }
  friend bool operator==(const part&, const part&) = default;
};

/// One member of every kind both codecs support.
struct sample {
  bool flag = false;
  int small = 0;
  std::int64_t big = 0;
  std::uint64_t ubig = 0;
  double real = 0;
  std::string text;
  std::optional<std::int64_t> maybe;
  std::vector<std::string> tags;
  part child;
  std::optional<part> maybe_child;
  std::vector<part> children;
  shade tone = shade::light;
  std::optional<shade> maybe_tone;
  j::flex_int size;
  j::flex_string batch;
  j::raw extra;
  std::vector<std::vector<std::int64_t>> grid;
  std::vector<std::optional<std::int64_t>> holes;

  static constexpr auto json_fields() {
    return aihub::json::fields(
        j::field("flag", &sample::flag), j::field("small", &sample::small),
        j::field("big", &sample::big), j::field("ubig", &sample::ubig),
        j::field("real", &sample::real), j::field("text", &sample::text),
        j::field("maybe", &sample::maybe), j::field("tags", &sample::tags),
        j::field("child", &sample::child), j::field("maybe_child", &sample::maybe_child),
        j::field("children", &sample::children), j::field("tone", &sample::tone),
        j::field("maybe_tone", &sample::maybe_tone), j::field("size", &sample::size),
        j::field("batch", &sample::batch), j::field("extra", &sample::extra),
        j::field("grid", &sample::grid), j::field("holes", &sample::holes));
  }
  friend bool operator==(const sample&, const sample&) = default;
};

/// Only strings, integers, enums and optionals: both codecs write it byte for byte the same.
struct plain {
  std::int64_t id = 0;
  std::optional<std::string> name;
  std::vector<part> parts;
  shade tone = shade::light;
  std::optional<std::uint64_t> count;

  static constexpr auto json_fields() {
    return aihub::json::fields(j::required("id", &plain::id), j::field("name", &plain::name),
                               j::field("parts", &plain::parts), j::field("tone", &plain::tone),
                               j::field("count", &plain::count));
  }
  friend bool operator==(const plain&, const plain&) = default;
};

static_assert(j::codec<aihub::nlohmann_json::codec>);

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

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

template <class T, class Codec>
aihub::result<T> decode(const Codec& codec, std::string_view text) {
  T value{};
  auto r = codec.decode(text, value);
  if (!r) return aihub::unexpected(std::move(r).error());
  return value;
}

template <class T, class Codec>
std::string encode(const Codec& codec, const T& value) {
  std::string out;
  codec.encode(value, out);
  return out;
}

const j::builtin_codec builtin{};
const aihub::nlohmann_json::codec adapter{};

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

/// A filled sample whose raw text is already in nlohmann/json's compact form.
sample filled_sample() {
  sample s;
  s.flag = true;
  s.small = std::numeric_limits<int>::min();
  s.big = std::numeric_limits<std::int64_t>::min();
  s.ubig = std::numeric_limits<std::uint64_t>::max();
  s.real = 0.1 + 0.2;
  s.text = std::string("ctl\x01\x1F\x7F \"q\" \\ caf\xC3\xA9 \xF0\x9F\x98\x80 nul:") + '\0';
  s.maybe = 1710000000123456789;
  s.tags = {"", "a,b", "[]"};
  s.child = part{1, "c", {1, 2, 3}};
  s.maybe_child = part{2, std::nullopt, {}};
  s.children = {part{3, "x", {}}, part{4, std::nullopt, {-1}}};
  s.tone = shade::dark;
  s.maybe_tone = shade::light;
  s.size.value = std::numeric_limits<std::int64_t>::max();
  s.batch.value = "007";
  s.extra.text = R"({"free":["form",{"x":null}],"n":-1.5e-07,"t":true})";
  s.grid = {{}, {1}, {2, 3}};
  s.holes = {std::nullopt, 0, std::nullopt};
  return s;
}

}  // namespace

TEST_CASE("nlohmann codec: decodes the same inputs into the same structs as the built-in codec") {
  const std::string at_depth_limit = "{\"extra\":" + nested_arrays(63) + "}";
  const std::string_view inputs[] = {
      "{}",
      " \n{ } \t",
      R"({"flag":true,"small":-42,"big":1710000000123456789,"ubig":18446744073709551615,)"
      R"("real":-2.5e-3,"text":"h\u00e9llo\n\uD83D\uDE00","maybe":7,"tags":["a","","c"],)"
      R"("child":{"id":1,"label":"one","values":[1,2]},"maybe_child":{"id":2},)"
      R"("children":[{"id":3},{"id":4,"values":[]}],"tone":"dark","maybe_tone":"light",)"
      R"("size":"1024","batch":9876,"extra":{"k":[1,"two",null]},"grid":[[1,2],[],[3]],)"
      R"("holes":[1,null,3]})",
      R"({"big":9223372036854775807,"small":2147483647,"ubig":0})",
      R"({"big":-9223372036854775808,"small":-2147483648})",
      R"({"real":1e300,"size":-7,"batch":"text"})",
      R"({"real":9007199254740993})",
      R"({"real":18446744073709551615})",
      R"({"real":-9223372036854775808})",
      R"({"real":5e-324})",
      R"({"real":-0})",
      R"({"size":"-9223372036854775808"})",
      R"({"batch":-12})",
      R"({"maybe":null,"maybe_child":null,"maybe_tone":null,"holes":[null],"extra":null})",
      R"({"extra":"s\"q"})",
      R"({"extra":[[{}],{"":[]}]})",
      R"({"extra":2.5})",
      R"({"unknown":{"deep":[1,{"x":[true,false,null,"s",-1.5e-9]}]},"child":{"id":5,"z":{}}})",
      R"({"big":1,"big":2})",
      R"({"child":{"id":1,"label":"a","values":[1]},"child":{"id":2}})",
      R"({"tags":["a"],"tags":["b","c"]})",
      R"({"maybe":1,"maybe":null})",
      R"({"text":"\"\\\/\b\f\n\r\t\u0000\u001f"})",
      "{\"text\":\"\xF4\x8F\xBF\xBF\xEF\xBF\xBF\x7F\"}",
      at_depth_limit,
  };
  for (auto text : inputs) {
    INFO("input: ", shown(text));
    auto a = decode<sample>(builtin, text);
    auto b = decode<sample>(adapter, text);
    CHECK_MESSAGE(a.has_value(), (a ? "" : a.error().message));
    CHECK_MESSAGE(b.has_value(), (b ? "" : b.error().message));
    CHECK((a && b && *a == *b));
  }
}

TEST_CASE("nlohmann codec: rejects the same malformed inputs as the built-in codec") {
  // Malformed documents. The built-in codec, reading as it parses, names the member it was in (or
  // reports a type error met first); nlohmann/json parses everything first, so only the rejection
  // and the error kind are compared.
  const std::string too_deep = "{\"extra\":" + nested_arrays(64) + "}";
  const std::string very_deep = std::string(100000, '[');
  const std::string very_deep_member = "{\"unknown\":" + very_deep;
  const std::string_view malformed[] = {
      "",
      " \t\r\n",
      "{\"tags\":[1,2,]}",
      "{\"big\":1,}",
      "{\"big\":01}",
      "{\"big\":-}",
      "{\"real\":1.}",
      "{\"real\":.5}",
      "{\"real\":1e}",
      "{\"real\":NaN}",
      "{\"real\":1e400}",
      "{\"text\":\"\\x41\"}",
      "{\"text\":\"\\u12\"}",
      "{\"text\":\"\\uD800\"}",
      "{\"text\":\"\\uDC00\"}",
      "{\"text\":\"\\uD800\\u0041\"}",
      "{\"text\":\"a\x01\"}",
      "{\"text\":\"a\tb\"}",
      "{\"text\":\"\xC0\xAF\"}",
      "{\"text\":\"\xE0\x80\xAF\"}",
      "{\"text\":\"\xED\xA0\x80\"}",
      "{\"text\":\"\xF4\x90\x80\x80\"}",
      "{\"text\":\"\xF5\x80\x80\x80\"}",
      "{\"text\":\"\xE2\x82\"}",
      "{\"text\":\"\xE2\x82",
      "{\"text\":\"\x80\"}",
      "{} x",
      "{}{}",
      "{}\0"sv,
      "{}\0{}"sv,
      "\0{}"sv,
      "{\"big\":1 \"small\":2}",
      "{\"big\":tru}",
      "{\"big\":nul}",
      "// c\n{}",
      "\xEF\xBB\xBF{}",
      "{\"unknown\":[1,]}",
      too_deep,
      very_deep,
      very_deep_member,
      "[]",
      "null",
  };
  for (auto input : malformed) {
    INFO("input: ", shown(input.substr(0, 80)));
    sample a, b;
    auto ra = builtin.decode(input, a);
    auto rb = adapter.decode(input, b);
    CHECK_FALSE(ra.has_value());
    CHECK_FALSE(rb.has_value());
    if (ra || rb) continue;
    CHECK(ra.error().kind == aihub::error_kind::decode);
    CHECK(rb.error().kind == aihub::error_kind::decode);
    CHECK(rb.error().message.rfind("invalid JSON: ", 0) == 0);
  }

  // Well-formed documents of the wrong shape: both codecs name the same JSON path.
  struct row {
    std::string_view input;
    std::string_view field;
  };
  const row wrong[] = {
      {R"({"big":"1"})", "big"},
      {R"({"big":1.0})", "big"},
      {R"({"big":1e2})", "big"},
      {R"({"big":9223372036854775808})", "big"},
      {R"({"big":-9223372036854775809})", "big"},
      {R"({"big":99999999999999999999999})", "big"},
      {R"({"ubig":-1})", "ubig"},
      {R"({"ubig":-0})", "ubig"},
      {R"({"ubig":18446744073709551616})", "ubig"},
      {R"({"ubig":0.5})", "ubig"},
      {R"({"small":2147483648})", "small"},
      {R"({"small":-2147483649})", "small"},
      {R"({"flag":1})", "flag"},
      {R"({"flag":null})", "flag"},
      {R"({"real":"1"})", "real"},
      {R"({"text":1})", "text"},
      {R"({"text":null})", "text"},
      {R"({"tags":"a"})", "tags"},
      {R"({"tags":[1]})", "tags[0]"},
      {R"({"child":[]})", "child"},
      {R"({"child":{}})", "child.id"},
      {R"({"child":{"id":1,"values":[1,"2"]}})", "child.values[1]"},
      {R"({"children":[{"id":1},{"id":"2"}]})", "children[1].id"},
      {R"({"children":[{"id":1},{}]})", "children[1].id"},
      {R"({"maybe_child":{"label":"x"}})", "maybe_child.id"},
      {R"({"tone":"purple"})", "tone"},
      {R"({"tone":1})", "tone"},
      {R"({"maybe_tone":"Dark"})", "maybe_tone"},
      {R"({"size":"12x"})", "size"},
      {R"({"size":""})", "size"},
      {R"({"size":"1.5"})", "size"},
      {R"({"size":1.5})", "size"},
      {R"({"size":"9223372036854775808"})", "size"},
      {R"({"size":true})", "size"},
      {R"({"batch":true})", "batch"},
      {R"({"batch":null})", "batch"},
      {R"({"batch":{}})", "batch"},
      {R"({"grid":[[1],[2,"x"]]})", "grid[1][1]"},
      {R"({"holes":[1,"x"]})", "holes[1]"},
  };
  for (const auto& r : wrong) {
    INFO("input: ", shown(r.input));
    sample a, b;
    auto ra = builtin.decode(r.input, a);
    auto rb = adapter.decode(r.input, b);
    CHECK_FALSE(ra.has_value());
    CHECK_FALSE(rb.has_value());
    if (ra || rb) continue;
    INFO("built-in: ", ra.error().message);
    INFO("nlohmann: ", rb.error().message);
    CHECK(ra.error().kind == aihub::error_kind::decode);
    CHECK(rb.error().kind == aihub::error_kind::decode);
    CHECK(ra.error().field == r.field);
    CHECK(rb.error().field == r.field);
    CHECK(rb.error().message.rfind("invalid JSON", 0) == 0);
  }
}

TEST_CASE("nlohmann codec: error messages look like the built-in codec's") {
  sample s;
  auto path = adapter.decode(R"({"children":[{"id":1},{"id":"2"}]})", s);
  CHECK_FALSE(path.has_value());
  if (path) return;
  CHECK(path.error().message == "invalid JSON at children[1].id: expected an integer");

  auto missing = adapter.decode(R"({"child":{}})", s);
  CHECK((!missing &&
         missing.error().message == "invalid JSON at child.id: required member is missing"));
  auto overflow = adapter.decode(R"({"big":9223372036854775808})", s);
  CHECK((!overflow &&
         overflow.error().message == "invalid JSON at big: integer does not fit in 64 bits"));
  auto enumeration = adapter.decode(R"({"tone":"purple"})", s);
  CHECK((!enumeration &&
         enumeration.error().message == "invalid JSON at tone: unknown enumeration value"));

  // Syntax errors carry the byte offset, and do not echo the input.
  auto syntax = adapter.decode(R"({"tags":[1,2,]} )", s);
  CHECK_FALSE(syntax.has_value());
  if (syntax) return;
  CHECK(syntax.error().field.empty());
  CHECK(contains(syntax.error().message, "(byte 13)"));
  CHECK_FALSE(contains(syntax.error().message, "json.exception"));
  CHECK_FALSE(contains(syntax.error().message, "last read"));

  auto secret = adapter.decode(R"({"text":"token-abc123)", s);
  CHECK((!secret && !contains(secret.error().message, "abc123")));

  auto deep = adapter.decode(std::string(100000, '['), s);
  CHECK((!deep && deep.error().message == "invalid JSON: nesting deeper than the limit"));

  auto nul = adapter.decode("{}\0"sv, s);
  CHECK((!nul &&
         nul.error().message == "invalid JSON: unexpected data after the JSON value (byte 2)"));
}

TEST_CASE("nlohmann codec: decoding into a used struct replaces every member") {
  sample s = filled_sample();
  CHECK(adapter.decode(R"({"child":{"id":1}})", s));
  sample expected;
  expected.child.id = 1;
  CHECK(s == expected);
}

TEST_CASE("nlohmann codec: the nesting limit is configurable") {
  aihub::nlohmann_json::codec shallow{{2}};
  std::vector<std::vector<std::int64_t>> grid;
  CHECK(shallow.decode("[[1],[2]]", grid));
  CHECK(grid == std::vector<std::vector<std::int64_t>>{{1}, {2}});
  auto deeper = shallow.decode("[[[1]]]", grid);
  CHECK((!deeper && contains(deeper.error().message, "nesting deeper than the limit")));
  // an unknown member counts too
  part p;
  CHECK(shallow.decode(R"({"id":1,"x":[1]})", p));
  CHECK_FALSE(shallow.decode(R"({"id":1,"x":[[1]]})", p));
}

TEST_CASE("nlohmann codec: encode output reads back equal with both codecs") {
  const sample s = filled_sample();
  const std::string from_nlohmann = encode(adapter, s);
  const std::string from_builtin = encode(builtin, s);
  INFO("nlohmann wrote: ", shown(from_nlohmann));
  INFO("built-in wrote: ", shown(from_builtin));
  for (const auto& text : {from_nlohmann, from_builtin}) {
    auto a = decode<sample>(builtin, text);
    auto b = decode<sample>(adapter, text);
    CHECK_MESSAGE(a.has_value(), (a ? "" : a.error().message));
    CHECK_MESSAGE(b.has_value(), (b ? "" : b.error().message));
    CHECK((a && *a == s));
    CHECK((b && *b == s));
  }

  // Without doubles and raw values the two writers agree byte for byte: same member order, empty
  // optionals left out the same way.
  plain p{
      -9, "n\xC3\xA9\"", {part{1, std::nullopt, {2}}, part{3, "x", {}}}, shade::dark, std::nullopt};
  CHECK(encode(adapter, p) == encode(builtin, p));
  CHECK(encode(adapter, p) ==
        R"({"id":-9,"name":"n)"
        "\xC3\xA9"
        R"(\"","parts":[{"id":1,"values":[2]},{"id":3,"label":"x","values":[]}],)"
        R"("tone":"dark"})");
  p.count = std::numeric_limits<std::uint64_t>::max();
  CHECK(encode(adapter, p) == encode(builtin, p));
  CHECK(contains(encode(adapter, p), R"("count":18446744073709551615)"));
  auto back = decode<plain>(adapter, encode(adapter, p));
  CHECK((back && *back == p));

  // encode appends, as the built-in codec does
  std::string out = "x";
  adapter.encode(part{1, std::nullopt, {}}, out);
  CHECK(out == R"(x{"id":1,"values":[]})");
}

TEST_CASE("nlohmann codec: writes what the built-in writer writes for edge values") {
  struct numbers {
    std::int64_t min = std::numeric_limits<std::int64_t>::min();
    std::int64_t max = std::numeric_limits<std::int64_t>::max();
    std::uint64_t umax = std::numeric_limits<std::uint64_t>::max();
    j::flex_int ts{1710000000123456789};
    static constexpr auto json_fields() {
      return aihub::json::fields(j::field("min", &numbers::min), j::field("max", &numbers::max),
                                 j::field("umax", &numbers::umax), j::field("ts", &numbers::ts));
    }
  };
  CHECK(
      encode(adapter, numbers{}) ==
      R"({"min":-9223372036854775808,"max":9223372036854775807,"umax":18446744073709551615,"ts":1710000000123456789})");

  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  controls.append("\"\\\x7F");
  CHECK(encode(adapter, controls) == encode(builtin, controls));

  // Non-finite doubles have no JSON form: null, as the built-in writer does.
  CHECK(encode(adapter, std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(encode(adapter, -std::numeric_limits<double>::infinity()) == "null");
  CHECK(encode(adapter, std::vector<std::optional<int>>{std::nullopt, 1}) == "[null,1]");
  CHECK(encode(adapter, j::raw{}) == "null");
}

TEST_CASE("nlohmann codec: never throws or aborts on bad input or bad values") {
  // Every decode of a malformed input above ran in this process; these are the cases where
  // nlohmann/json's own accessors would have thrown (or aborted with -fno-exceptions).
  sample s;
  CHECK_FALSE(adapter.decode(R"({"text":{"not":"a string"}})", s));
  CHECK_FALSE(adapter.decode(R"({"tags":{"a":1}})", s));
  CHECK_FALSE(adapter.decode(R"({"child":"x"})", s));
  CHECK_FALSE(adapter.decode(R"({"big":18446744073709551615})", s));
  CHECK_FALSE(adapter.decode(R"({"real":1e400})", s));  // overflow is a parse error in nlohmann
  CHECK_FALSE(adapter.decode("\xFF\xFE", s));

  // Invalid UTF-8 in a string being written is replaced, not reported by an exception.
  const std::string bad_utf8 = encode(adapter, std::string("a\xFF"
                                                           "b"));
  CHECK(bad_utf8 ==
        "\"a\xEF\xBF\xBD"
        "b\"");
  std::string back;
  CHECK(builtin.decode(bad_utf8, back));
  CHECK(back ==
        "a\xEF\xBF\xBD"
        "b");

  // A raw value that is not JSON, or nests too deeply to write recursively, is written as null.
  CHECK(encode(adapter, j::raw{"{not json"}) == "null");
  CHECK(encode(adapter, j::raw{std::string(100000, '[') + std::string(100000, ']')}) == "null");
  CHECK(encode(adapter, j::raw{"[1, {\"a\" : 2}]"}) == R"([1,{"a":2}])");

  MESSAGE("exceptions are ", std::string(AIHUB_HAS_EXCEPTIONS ? "enabled" : "disabled"),
          " in this build");
}

TEST_CASE("nlohmann codec: known differences from the built-in codec") {
  // raw and number-valued flex_string hold nlohmann/json's re-serialisation, not the input text.
  const std::string_view spaced = R"({"extra": {"b" : 1.50, "a":[ 1 ]}, "batch": 1.50e1})";
  auto a = decode<sample>(builtin, spaced);
  auto b = decode<sample>(adapter, spaced);
  CHECK((a && a->extra.text == R"({"b" : 1.50, "a":[ 1 ]})" && a->batch.value == "1.50e1"));
  CHECK((b && b->extra.text == R"({"b":1.5,"a":[1]})" && b->batch.value == "15.0"));

  // Only the last duplicate is seen by nlohmann/json, so an invalid earlier one goes unnoticed.
  CHECK_FALSE(decode<sample>(builtin, R"({"big":"x","big":1})"));
  auto dup = decode<sample>(adapter, R"({"big":"x","big":1})");
  CHECK((dup && dup->big == 1));

  // Numbers beyond a double: nlohmann/json refuses them anywhere and reads underflow as zero; the
  // built-in codec refuses both only where a double is read.
  CHECK(decode<sample>(builtin, R"({"unknown":1e400})"));
  CHECK_FALSE(decode<sample>(adapter, R"({"unknown":1e400})"));
  CHECK_FALSE(decode<sample>(builtin, R"({"real":1e-400})"));
  auto tiny = decode<sample>(adapter, R"({"real":1e-400})");
  CHECK((tiny && tiny->real == 0.0));
}
