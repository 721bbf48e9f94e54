// libFuzzer target for the built-in JSON codec. For any input:
// - the reader validates it with skip_value + finish, and a document it accepts is captured whole,
// and
//   byte for byte, by json::raw;
// - when it decodes into the model, writing that value and decoding the text again gives an equal
//   value, and writing it again gives the same text.
// Any violation aborts, which libFuzzer reports as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aihub/json.hpp"
#include "fuzz_model.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "json_fuzz: %s %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

std::string_view trim(std::string_view text) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && ws(text.front())) text.remove_prefix(1);
  while (!text.empty() && ws(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace j = aihub::json;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const j::builtin_codec codec;

  j::reader validator(text);
  const bool valid = validator.skip_value() && validator.finish();
  if (!valid && validator.offset() > size) fail("error offset past the end");

  j::raw whole;
  const bool captured = static_cast<bool>(codec.decode(text, whole));
  if (captured != valid) fail("raw capture and skip_value disagree on validity");
  if (captured && whole.text != trim(text)) fail("raw capture is not the exact text");

  fuzz_model::run value;
  auto decoded = codec.decode(text, value);
  if (decoded && !valid) fail("decoded a document the reader rejects");
  if (!decoded) {
    if (decoded.error().kind != aihub::error_kind::decode) fail("decode error of the wrong kind");
    return 0;
  }

  std::string once;
  codec.encode(value, once);
  fuzz_model::run again;
  if (auto r = codec.decode(once, again); !r) fail("re-decode failed:", r.error().message);
  if (!(again == value)) fail("re-decoded value differs; text:", once);
  std::string twice;
  codec.encode(again, twice);
  if (twice != once) fail("second encoding differs:", twice);
  return 0;
}
