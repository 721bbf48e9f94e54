// A consumer of aihub, built by each of tests/consumers/*: it builds a createBatch request and
// decodes a createBatch response, with the library alone (no transport, no network). Any surprise
// is a non-zero exit.
#include <aihub/aihub.hpp>

#include <cstdio>
#include <string_view>
#include <variant>

namespace {
int fail(const char* what) {
  std::fprintf(stderr, "consumer: %s\n", what);
  return 1;
}
}  // namespace

int main() {
#ifdef AIHUB_EXPECTED_VERSION
  // The version the build system found (package config, project(), pkg-config) is the headers' one.
  if (std::string_view(AIHUB_VERSION_STRING) != AIHUB_EXPECTED_VERSION)
    return fail("AIHUB_VERSION_STRING differs from the version the build system reported");
#endif
  aihub::settings settings;
  settings.token = "abcdefghijklmnopqrst1234567890";
  const aihub::create_batch op{.name = "consumer-batch", .workspace = "my-workspace"};

  const auto request = aihub::build_request(op, settings);
  if (!request) return fail(request.error().message.c_str());
  if (request->verb != aihub::http::method::post || request->target != "/v2/batches")
    return fail("unexpected method or target");
  const auto* body = std::get_if<aihub::http::json_body>(&request->body);
  if (!body || body->text != R"({"name":"consumer-batch","workspace":"my-workspace"})")
    return fail("unexpected request body");

  const aihub::http::response response{200, {}, R"({"id": 42})"};
  const auto created = aihub::decode_response(op, response);
  if (!created) return fail(created.error().message.c_str());
  if (created->id != 42) return fail("decoded the wrong batch id");

  std::printf("aihub %s: createBatch built and decoded (batch %lld)\n", AIHUB_VERSION_STRING,
              static_cast<long long>(created->id));
  return 0;
}
