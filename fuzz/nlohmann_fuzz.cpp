// libFuzzer target for the nlohmann/json codec adapter. For any input:
// - decoding never throws, aborts or crashes;
// - when it decodes into the model, writing that value (with either codec) and decoding the text
// with
//   either codec gives an equal value: the two codecs agree on everything they write.
// Any violation aborts, which libFuzzer reports as a crash. Build it with -fno-exceptions too,
// where a throw inside nlohmann/json would abort.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aihub/json.hpp"
#include "aihub/nlohmann_codec.hpp"
#include "fuzz_model.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "nlohmann_fuzz: %s %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

template <class Codec>
void expect_round_trip(const Codec& reader, std::string_view text,
                       const fuzz_model::run& expected) {
  fuzz_model::run back;
  if (auto r = reader.decode(text, back); !r) fail("re-decode failed:", r.error().message);
  if (!(back == expected)) fail("re-decoded value differs; text:", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const aihub::nlohmann_json::codec adapter;
  const aihub::json::builtin_codec builtin;

  aihub::json::raw whole;
  (void)adapter.decode(text, whole);

  fuzz_model::run value;
  auto decoded = adapter.decode(text, value);
  if (!decoded) {
    if (decoded.error().kind != aihub::error_kind::decode) fail("decode error of the wrong kind");
    return 0;
  }
  std::string by_adapter, by_builtin;
  adapter.encode(value, by_adapter);
  builtin.encode(value, by_builtin);
  expect_round_trip(adapter, by_adapter, value);
  expect_round_trip(builtin, by_adapter, value);
  expect_round_trip(adapter, by_builtin, value);
  expect_round_trip(builtin, by_builtin, value);
  return 0;
}
