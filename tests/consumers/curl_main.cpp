// A consumer of aihub's libcurl transport, built by each of tests/consumers/*: it constructs both
// transports and sends a createBatch request to a closed loopback port, which must fail as a
// connection error (this runs libcurl for real without any network beyond 127.0.0.1).
#ifdef AIHUB_CONSUMER_SINGLE_HEADER
#include <aihub/curl.hpp>
#else
#include <aihub/aihub.hpp>
#include <aihub/curl/multi_transport.hpp>
#include <aihub/curl/transport.hpp>
#endif

#include <chrono>
#include <cstdio>

static_assert(aihub::transport<aihub::curl::transport>);
static_assert(aihub::transport<aihub::curl::multi_transport> &&
              aihub::async_transport<aihub::curl::multi_transport>);

int main() {
  aihub::curl::transport transport({.api_root = "http://127.0.0.1:1"});
  aihub::curl::multi_transport multi({.api_root = "http://127.0.0.1:1"});

  aihub::settings settings;
  settings.token = "abcdefghijklmnopqrst1234567890";
  const auto request =
      aihub::build_request(aihub::create_batch{.name = "consumer-batch"}, settings);
  if (!request) {
    std::fprintf(stderr, "curl consumer: %s\n", request.error().message.c_str());
    return 1;
  }
  aihub::send_options options;
  options.timeout = std::chrono::seconds(10);
  const auto response = transport.send(*request, options);
  if (response) {
    std::fprintf(stderr, "curl consumer: port 1 answered (status %d)\n", response->status);
    return 1;
  }
  if (response.error().kind != aihub::error_kind::transport &&
      response.error().kind != aihub::error_kind::timeout) {
    std::fprintf(stderr, "curl consumer: unexpected error: %s\n", response.error().message.c_str());
    return 1;
  }
  std::printf("aihub %s over libcurl %s: the closed port gave: %s\n", AIHUB_VERSION_STRING,
              curl_version_info(CURLVERSION_NOW)->version, response.error().message.c_str());
  return 0;
}
