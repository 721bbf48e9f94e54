// Hostile servers: responses that are truncated, huge, slow, wrongly typed, duplicated, deeply
// nested, a 200 carrying an error, not HTTP at all, redirects to elsewhere, floods of headers or
// interim responses. Each must end in a clear error (kind, operation, field or limit named), with
// no crash, bounded memory and no wait beyond the configured time limits.
//
// The library is driven as users drive it: aihub::client<aihub::curl::transport> or
// aihub::execute over a real loopback socket to a scripted server (hostile_server.hpp).
#include <aihub/aihub.hpp>
#include <aihub/curl/multi_transport.hpp>
#include <aihub/curl/transport.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "hostile_server.hpp"

namespace curl = aihub::curl;
using aihub::error_kind;
using hostile::connection;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view token = "hostile-test-token-0123456789abcdef";

aihub::settings settings_for(const hostile::server& s) {
  aihub::settings out;
  out.api_root = s.root();
  out.token = std::string(token);
  return out;
}

curl::transport_options transport_for(const hostile::server& s) {
  curl::transport_options o;
  o.api_root = s.root();
  o.proxy = "";  // loopback: never through a proxy the environment may name
  o.connect_timeout = 5s;
  o.timeout = 20s;  // a safety net only: every test sets its own, shorter send timeout
  return o;
}

aihub::send_options send_with(std::chrono::milliseconds timeout,
                              std::uint64_t max_response_bytes = 64u << 20) {
  aihub::send_options o;
  o.timeout = timeout;
  o.max_response_bytes = max_response_bytes;
  return o;
}

/// One operation through aihub::execute over a fresh libcurl transport.
template <class Op>
aihub::result<typename Op::response_type> fetch(const hostile::server& s, const Op& op,
                                                const aihub::send_options& send = send_with(5s)) {
  curl::transport t(transport_for(s));
  return aihub::execute(t, op, settings_for(s), {}, send);
}

aihub::retry_policy quick_retries(int attempts) {
  aihub::retry_policy p;
  p.max_attempts = attempts;
  p.initial_backoff = 10ms;
  p.max_backoff = 40ms;
  p.jitter_seed = 7;
  return p;
}

aihub::client<curl::transport> make_client(const hostile::server& s, aihub::retry_policy retry,
                                           aihub::send_options send) {
  aihub::client_options<curl::transport> o;
  o.retry = retry;
  o.send = std::move(send);
  return aihub::client<curl::transport>(curl::transport(transport_for(s)), settings_for(s),
                                        std::move(o));
}

class stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

template <class T>
std::string why(const aihub::result<T>& r) {
  return r ? std::string("(a value, not an error)") : r.error().describe();
}

/// The error's one-line description names every word given, and never shows the token.
void check_mentions(const aihub::error& e, std::initializer_list<std::string_view> words) {
  const std::string text = e.describe();
  for (std::string_view w : words)
    CHECK_MESSAGE(contains(text, w), "\"" << text << "\" should mention \"" << w << "\"");
  CHECK_MESSAGE(!contains(text, token), "the token leaked into \"" << text << "\"");
}

std::string repeat(std::string_view part, std::size_t times) {
  std::string out;
  out.reserve(part.size() * times);
  for (std::size_t i = 0; i < times; ++i) out.append(part);
  return out;
}

/// Reads the request, then sends `head` and filler until the client stops reading (at most 1 GiB):
/// what a broken or malicious server does with an endless body. The filler continues the JSON
/// string the head opens, so only the size can be what fails.
constexpr std::uint64_t offered_bytes = 1ull << 30;
hostile::server::script flood(std::string head, bool chunked) {
  return [head = std::move(head), chunked](connection& c) {
    if (!c.read_request() || !c.send(head)) return;
    const std::string piece(16 * 1024, 'x');
    const std::string framed = chunked ? hostile::chunk(piece) : piece;
    for (std::uint64_t sent = 0; sent < offered_bytes; sent += piece.size())
      if (!c.send(framed)) return;
  };
}

}  // namespace

// =================================================================================================
// 1. Truncated responses

TEST_CASE(
    "hostile: a body cut short of its Content-Length is a retryable transport error saying so") {
  hostile::server s([](connection& c) {
    if (!c.read_request()) return;
    c.send(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        R"({"id":1,"na)");
  });  // the script returns: the connection closes 89 bytes early
  REQUIRE(s.ok());
  stopwatch clock;
  auto r = fetch(s, aihub::get_batch{.batch_id = 1}, send_with(5s));
  const double elapsed = clock.seconds();
  REQUIRE_MESSAGE(!r, "a truncated body must not decode");
  CHECK(r.error().kind == error_kind::transport);
  CHECK(r.error().retryable);
  CHECK(r.error().operation == "getBatch");
  check_mentions(r.error(), {"getBatch", "truncated"});
  CHECK(elapsed < 5.0);  // ends on the close, not on the timeout
}

TEST_CASE(
    "hostile: a chunked body that ends without its terminating chunk is an error, not a success") {
  // The one chunk holds a complete, valid batch: only the missing "0\r\n\r\n" is wrong, so a
  // client that treated the close as the end of the body would report a success.
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
      hostile::chunk(R"({"id":1,"name":"complete-looking"})");

  SUBCASE("then the connection closes") {
    hostile::server s([&](connection& c) {
      if (c.read_request()) c.send(head);
    });
    REQUIRE(s.ok());
    stopwatch clock;
    auto r = fetch(s, aihub::get_batch{.batch_id = 1}, send_with(5s));
    const double elapsed = clock.seconds();
    REQUIRE_MESSAGE(!r, "a chunked body without its last chunk was taken as complete");
    CHECK(r.error().kind == error_kind::transport);
    CHECK(r.error().retryable);
    check_mentions(r.error(), {"getBatch", "GET", "/v2/batches/1"});
    CHECK(elapsed < 5.0);
  }
  SUBCASE("then the connection stays open: the time limit ends it") {
    hostile::server s([&](connection& c) {
      if (c.read_request() && c.send(head)) c.hold();
    });
    REQUIRE(s.ok());
    stopwatch clock;
    auto r = fetch(s, aihub::get_batch{.batch_id = 1}, send_with(1000ms));
    const double elapsed = clock.seconds();
    REQUIRE_MESSAGE(!r, "a chunked body without its last chunk was taken as complete");
    CHECK(r.error().kind == error_kind::timeout);
    check_mentions(r.error(), {"getBatch", "timed out"});
    CHECK(elapsed >= 0.9);
    CHECK(elapsed < 1.0 + 2.0);
  }
}

TEST_CASE(
    "hostile: a complete response whose JSON is cut mid-value is a decode error naming field and "
    "byte") {
  struct cut {
    std::string body;
    std::string field;   // the JSON path the error names ("" when the object itself is cut)
    std::string phrase;  // the reader's explanation
  };
  const std::vector<cut> cuts = {
      {R"({"id":1,"name":"ab)", "name", "unterminated string (byte 18)"},
      {R"({"id":12)", "", "unterminated object (byte 8)"},
      {R"({"id":1,"na)", "", "unterminated string"},
      {R"({"id":1,"name":"b","created_at_ms":)", "created_at_ms", "expected an integer (byte 35)"},
      {R"({"id":1,"name":"b","updated_at_ms":17)", "", "unterminated object"},
      {R"({"id":-)", "id", "expected a number"},
      {R"({"id":1,"name":"\u00)", "name", "truncated \\u escape"},
      {"{\"id\":1,\"name\":\"caf\xc3", "name", "truncated UTF-8 sequence"},
  };
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    const cut& c = cuts[i];
    CAPTURE(i);
    CAPTURE(c.body);
    hostile::server s(hostile::always(hostile::response(200, c.body)));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE_MESSAGE(!r, "a cut JSON body decoded");
    CHECK(r.error().kind == error_kind::decode);
    CHECK(r.error().operation == "getBatch");
    CHECK(r.error().field == c.field);
    check_mentions(r.error(), {"getBatch", "invalid JSON", c.phrase});
    if (!c.field.empty()) check_mentions(r.error(), {"at " + c.field + ":"});
  }
}

TEST_CASE(
    "hostile: the client retries a truncated GET, but not a truncated POST that may have created a "
    "batch") {
  hostile::server s([](connection& c) {
    if (!c.read_request()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"id\":");
  });
  REQUIRE(s.ok());
  auto hub = make_client(s, quick_retries(3), send_with(5s));

  SUBCASE("getBatch is idempotent: three attempts, then the transport error") {
    stopwatch clock;
    auto r = hub.call(aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::transport);
    check_mentions(r.error(), {"getBatch", "truncated"});
    CHECK(s.requests() == 3);
    CHECK(clock.seconds() < 5.0);
  }
  SUBCASE("createBatch is not: one attempt only") {
    auto r = hub.call(aihub::create_batch{.name = "invoices"});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::transport);
    check_mentions(r.error(), {"createBatch", "truncated"});
    CHECK(s.requests() == 1);
  }
}

TEST_CASE(
    "hostile: a server that closes or resets without answering is a retryable transport error") {
  SUBCASE("orderly close after reading the request") {
    hostile::server s([](connection& c) { (void)c.read_request(); });
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::transport);
    CHECK(r.error().retryable);
    check_mentions(r.error(), {"getBatch", "closed the connection without answering"});
  }
  SUBCASE("TCP reset half way through the headers") {
    hostile::server s([](connection& c) {
      if (!c.read_request()) return;
      c.send("HTTP/1.1 200 OK\r\nContent-Ty");
      c.pause(50ms);
      c.reset_on_close();
    });
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::transport);
    CHECK(r.error().retryable);
    check_mentions(r.error(), {"getBatch", "GET"});
  }
}

// =================================================================================================
// 2. Huge responses

TEST_CASE(
    "hostile: a body past max_response_bytes stops the transfer with a protocol error, memory "
    "bounded") {
  constexpr std::uint64_t cap = 64 * 1024;
  const std::string json_start = R"({"id":1,"name":")";
  std::string head;
  bool chunked = false;
  std::string announced;  // what the message must say about the announced size, if anything
  SUBCASE("announced by Content-Length (1 GiB)") {
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(offered_bytes) + "\r\n\r\n" + json_start;
    announced = "announces " + std::to_string(offered_bytes) + " bytes";
  }
  SUBCASE("chunked, no length, endless") {
    head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
        hostile::chunk(json_start);
    chunked = true;
  }
  SUBCASE("no length at all: the body runs until the server closes, which it never does") {
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" +
           json_start;
  }
  SUBCASE("a Content-Length that overflows 64 bits, then an endless body") {
    head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Content-Length: 99999999999999999999999\r\n\r\n" +
        json_start;
  }
  CAPTURE(head.substr(0, head.find("\r\n\r\n")));
  hostile::server s(flood(head, chunked));
  REQUIRE(s.ok());

  hostile::rss_watch memory;
  stopwatch clock;
  auto r = fetch(s, aihub::get_batch{.batch_id = 1}, send_with(10s, cap));
  const double elapsed = clock.seconds();
  const std::uint64_t grown = memory.stop();

  REQUIRE_MESSAGE(!r, "a body over the cap was accepted");
  CHECK(r.error().kind == error_kind::protocol);
  CHECK(!r.error().retryable);
  check_mentions(r.error(), {"getBatch", "64 KiB", "max_response_bytes", "stopped"});
  if (!announced.empty()) check_mentions(r.error(), {announced});
  CHECK(elapsed < 5.0);
  // The server offered 1 GiB; the client kept at most the cap plus libcurl's buffers.
  CHECK_MESSAGE(grown < 16u << 20, "resident memory grew by " << grown << " bytes");
  // The client hung up: the server's next sends failed, and it stopped within moments.
  CHECK(s.wait_idle(3s));
  CHECK(s.peer_went_away());
  CHECK_MESSAGE(s.bytes_sent() < 32u << 20,
                "the server got to send " << s.bytes_sent() << " bytes before the client hung up");
}

TEST_CASE("hostile: a body of exactly max_response_bytes is accepted, one byte more is refused") {
  constexpr std::size_t cap = 4096;
  auto body_of = [](std::size_t size) {
    const std::string start = R"({"id":1,"name":")", end = R"("})";
    return start + std::string(size - start.size() - end.size(), 'n') + end;
  };
  for (bool chunked : {false, true}) {
    CAPTURE(chunked);
    for (std::size_t size : {cap, cap + 1}) {
      CAPTURE(size);
      const std::string body = body_of(size);
      REQUIRE(body.size() == size);
      const std::string bytes = chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                              hostile::chunk(body.substr(0, 1000)) +
                                              hostile::chunk(body.substr(1000)) + "0\r\n\r\n"
                                        : hostile::response(200, body);
      hostile::server s(hostile::always(bytes));
      REQUIRE(s.ok());
      auto r = fetch(s, aihub::get_batch{.batch_id = 1}, send_with(5s, cap));
      if (size == cap) {
        REQUIRE_MESSAGE(r, why(r));
        CHECK(r->name.size() == cap - 18);
      } else {
        REQUIRE(!r);
        CHECK(r.error().kind == error_kind::protocol);
        check_mentions(r.error(), {"getBatch", "4 KiB", "max_response_bytes"});
      }
    }
  }
}

TEST_CASE("hostile: the client does not retry a response that broke max_response_bytes") {
  hostile::server s(flood("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true));
  REQUIRE(s.ok());
  auto hub = make_client(s, quick_retries(5), send_with(10s, 64 * 1024));
  stopwatch clock;
  auto r = hub.call(aihub::get_run_results{.run_id = "run-1"});
  REQUIRE(!r);
  CHECK(r.error().kind == error_kind::protocol);
  check_mentions(r.error(), {"getRunResults", "max_response_bytes"});
  CHECK(s.requests() == 1);
  CHECK(clock.seconds() < 5.0);
}

TEST_CASE("hostile: libcurl's multi_transport enforces the same cap on an endless body") {
  hostile::server s(flood("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true));
  REQUIRE(s.ok());
  curl::multi_transport t(transport_for(s));
  hostile::rss_watch memory;
  stopwatch clock;
  auto r = aihub::execute(t, aihub::get_batch{.batch_id = 1}, settings_for(s), {},
                          send_with(10s, 64 * 1024));
  const std::uint64_t grown = memory.stop();
  REQUIRE(!r);
  CHECK(r.error().kind == error_kind::protocol);
  check_mentions(r.error(), {"getBatch", "64 KiB", "max_response_bytes"});
  CHECK(clock.seconds() < 5.0);
  CHECK_MESSAGE(grown < 16u << 20, "resident memory grew by " << grown << " bytes");
  CHECK(s.wait_idle(3s));
  CHECK(s.peer_went_away());
}

// =================================================================================================
// 3. Slow servers

TEST_CASE("hostile: a server that sends its headers one byte per second ends at send.timeout") {
  hostile::server s([](connection& c) {
    if (c.read_request()) c.trickle(hostile::response(200, R"({"id":1,"name":"b"})"), 1000ms);
  });
  REQUIRE(s.ok());
  auto hub = make_client(s, aihub::retry_policy::none(), send_with(1500ms));
  stopwatch clock;
  auto r = hub.call(aihub::get_batch{.batch_id = 1});
  const double elapsed = clock.seconds();
  REQUIRE_MESSAGE(!r, "a response trickled over more than a minute arrived within 1.5 s");
  CHECK(r.error().kind == error_kind::timeout);
  CHECK(r.error().retryable);
  check_mentions(r.error(), {"getBatch", "timed out"});
  CHECK(elapsed >= 1.4);
  CHECK(elapsed < 1.5 + 2.0);
  CHECK(s.requests() == 1);
}

TEST_CASE("hostile: a server that sends its body one byte per second ends at send.timeout") {
  const std::string body = R"({"id":1,"name":"slow"})";
  hostile::server s([&](connection& c) {
    if (!c.read_request()) return;
    std::string full = hostile::response(200, body);
    std::string head = full.substr(0, full.size() - body.size());
    if (c.send(head)) c.trickle(body, 1000ms);
  });
  REQUIRE(s.ok());
  auto hub = make_client(s, aihub::retry_policy::none(), send_with(1500ms));
  stopwatch clock;
  auto r = hub.call(aihub::get_batch{.batch_id = 1});
  const double elapsed = clock.seconds();
  REQUIRE(!r);
  CHECK(r.error().kind == error_kind::timeout);
  check_mentions(r.error(), {"getBatch", "timed out"});
  CHECK(elapsed >= 1.4);
  CHECK(elapsed < 1.5 + 2.0);
}

TEST_CASE(
    "hostile: a server that accepts and never answers ends at send.timeout, attempt after "
    "attempt") {
  hostile::server s([](connection& c) {
    if (c.read_request()) c.hold();
  });
  REQUIRE(s.ok());

  SUBCASE("no retries: one attempt, one timeout") {
    auto hub = make_client(s, aihub::retry_policy::none(), send_with(1000ms));
    stopwatch clock;
    auto r = hub.call(aihub::poll_batches_job{.job_id = "job-1"});
    const double elapsed = clock.seconds();
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::timeout);
    check_mentions(r.error(), {"pollBatchesJob", "timed out"});
    CHECK(elapsed >= 0.9);
    CHECK(elapsed < 1.0 + 2.0);
    CHECK(s.requests() == 1);
  }
  SUBCASE("three attempts: three timeouts, and the total stays within 3 x timeout + backoff") {
    auto hub = make_client(s, quick_retries(3), send_with(500ms));
    stopwatch clock;
    auto r = hub.call(aihub::poll_batches_job{.job_id = "job-1"});
    const double elapsed = clock.seconds();
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::timeout);
    CHECK(s.requests() == 3);
    CHECK(elapsed >= 3 * 0.45);
    CHECK(elapsed < 3 * 0.5 + 2.0);
  }
}

TEST_CASE("hostile: without an overall timeout, the low-speed limit ends a body that never comes") {
  // The headers arrive, then nothing. (After some body bytes, libcurl averages the speed over a
  // window of about five seconds, so a stall is noticed up to that much later than low_speed_time.)
  hostile::server s([](connection& c) {
    if (!c.read_request()) return;
    if (c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")) c.hold();
  });
  REQUIRE(s.ok());
  curl::transport_options o = transport_for(s);
  o.timeout = 0ms;  // no overall limit at all
  o.low_speed_limit_bytes_per_second = 1;
  o.low_speed_time = 1s;
  curl::transport t(o);
  stopwatch clock;
  auto r = aihub::execute(t, aihub::get_batch{.batch_id = 1}, settings_for(s), {}, send_with(0ms));
  const double elapsed = clock.seconds();
  REQUIRE(!r);
  CHECK(r.error().kind == error_kind::timeout);
  check_mentions(r.error(), {"getBatch", "timed out"});
  CHECK(elapsed >= 0.9);
  CHECK(elapsed < 1.0 + 3.0);
}

// =================================================================================================
// 4. Wrongly typed fields

namespace {

struct typed_case {
  std::string body;
  std::string field;   ///< the JSON path the error must name ("" for the document itself)
  std::string phrase;  ///< the reader's explanation
};

/// Serves each body with the operation's success status and checks the decode error.
template <class Op>
void check_decode_errors(const Op& op, int status, const std::vector<typed_case>& cases) {
  const std::string operation_id(Op::endpoint_info.operation_id);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const typed_case& c = cases[i];
    CAPTURE(operation_id);
    CAPTURE(i);
    CAPTURE(c.body);
    hostile::server s(hostile::always(hostile::response(status, c.body)));
    REQUIRE(s.ok());
    auto r = fetch(s, op);
    REQUIRE_MESSAGE(!r, "a wrongly typed body decoded");
    CHECK(r.error().kind == error_kind::decode);
    CHECK(r.error().operation == operation_id);
    CHECK(r.error().field == c.field);
    check_mentions(r.error(), {operation_id, "invalid JSON", c.phrase, "(byte "});
    if (!c.field.empty()) check_mentions(r.error(), {"at " + c.field + ":"});
  }
}

}  // namespace

TEST_CASE("hostile: wrongly typed fields in a batch are decode errors naming the field") {
  check_decode_errors(
      aihub::get_batch{.batch_id = 1}, 200,
      {
          {R"({"id":"1","name":"b"})", "id", "expected an integer"},
          {R"({"id":true,"name":"b"})", "id", "expected an integer"},
          {R"({"id":null,"name":"b"})", "id", "expected an integer"},
          {R"({"id":[1],"name":"b"})", "id", "expected an integer"},
          {R"({"id":1.0,"name":"b"})", "id", "found a fraction or exponent"},
          {R"({"id":1e400,"name":"b"})", "id", "found a fraction or exponent"},
          {R"({"id":18446744073709551616,"name":"b"})", "id", "does not fit in 64 bits"},
          {R"({"id":9223372036854775808,"name":"b"})", "id", "does not fit in 64 bits"},
          {R"({"id":-9223372036854775809,"name":"b"})", "id", "does not fit in 64 bits"},
          {R"({"id":1,"name":null})", "name", "expected a string"},
          {R"({"id":1,"name":["b"]})", "name", "expected a string"},
          {R"({"id":1,"name":{"first":"b"}})", "name", "expected a string"},
          {R"({"id":1,"name":"b","workspace":7})", "workspace", "expected a string"},
          {R"({"id":1,"name":"b","created_at_ms":"1700000000000"})", "created_at_ms",
           "expected an integer"},
          {R"({"id":1,"name":"b","updated_at_ms":-1.5})", "updated_at_ms", "fraction or exponent"},
          {R"([{"id":1,"name":"b"}])", "", "expected an object"},
      });
}

TEST_CASE(
    "hostile: wrongly typed fields in a file page are decode errors naming the nested field") {
  check_decode_errors(
      aihub::list_files{.batch_id = 1}, 200,
      {
          {R"({"nodes":{"name":"a"}})", "nodes", "expected an array"},
          {R"({"nodes":[{"name":"a"},{"name":7}]})", "nodes[1].name", "expected a string"},
          {R"({"nodes":[{"name":null}]})", "nodes[0].name", "expected a string"},
          {R"({"nodes":[{"full_path":"/a"}]})", "nodes[0].name", "required member is missing"},
          {R"({"nodes":["a.pdf"]})", "nodes[0]", "expected an object"},
          {R"({"nodes":[{"name":"a","metadata":[]}]})", "nodes[0].metadata", "expected an object"},
          {R"({"nodes":[{"name":"a","metadata":{"size":"12x"}}]})", "nodes[0].metadata.size",
           "expected an integer or a string holding one"},
          {R"({"nodes":[{"name":"a","metadata":{"size":"99999999999999999999"}}]})",
           "nodes[0].metadata.size", "expected an integer or a string holding one"},
          {R"({"nodes":[{"name":"a","metadata":{"size":18446744073709551616}}]})",
           "nodes[0].metadata.size", "does not fit in 64 bits"},
          {R"({"nodes":[{"name":"a","metadata":{"size":1.5}}]})", "nodes[0].metadata.size",
           "fraction or exponent"},
          {R"({"nodes":[{"name":"a","metadata":{"modified_timestamp":"yesterday"}}]})",
           "nodes[0].metadata.modified_timestamp", "expected an integer"},
          {R"({"nodes":[{"name":"a","perms":{"can_read":"true"}}]})", "nodes[0].perms.can_read",
           "expected true or false"},
          {R"({"nodes":[{"name":"a","perms":{"can_write":1}}]})", "nodes[0].perms.can_write",
           "expected true or false"},
          {R"({"nodes":[],"has_more":"false"})", "has_more", "expected true or false"},
          {R"({"nodes":[],"has_more":null})", "has_more", "expected true or false"},
          {R"({"nodes":[],"next_page_token":5})", "next_page_token", "expected a string"},
      });
}

TEST_CASE("hostile: wrongly typed fields in a run are decode errors naming the field") {
  check_decode_errors(
      aihub::get_run{.run_id = "run-1"}, 200,
      {
          {R"({"id":5,"status":"RUNNING"})", "id", "expected a string"},
          {R"({"id":null,"status":"RUNNING"})", "id", "expected a string"},
          {R"({"id":"r","status":1})", "status", "expected a string"},
          {R"({"id":"r","status":null})", "status", "expected a string"},
          {R"({"id":"r","status":{"name":"RUNNING"}})", "status", "expected a string"},
          {R"({"id":"r","status":"RUNNING","start_timestamp":1.7e18})", "start_timestamp",
           "fraction or exponent"},
          {R"({"id":"r","status":"RUNNING","start_timestamp":18446744073709551616})",
           "start_timestamp", "does not fit in 64 bits"},
          {R"({"id":"r","status":"RUNNING","start_timestamp":"1700000000000000000"})",
           "start_timestamp", "expected an integer"},
          {R"({"id":"r","status":"RUNNING","finish_timestamp":"soon"})", "finish_timestamp",
           "expected an integer"},
          {R"({"id":"r","status":"RUNNING","tags":"a,b"})", "tags", "expected an array"},
          {R"({"id":"r","status":"RUNNING","tags":["a",1]})", "tags[1]", "expected a string"},
          {R"({"id":"r","status":"RUNNING","batch_id":true})", "batch_id", "expected an integer"},
          {R"({"id":"r","status":"RUNNING","batch_id":"12abc"})", "batch_id",
           "expected an integer or a string holding one"},
          {R"({"id":"r","status":"RUNNING","msg":false})", "msg", "expected a string"},
      });
}

TEST_CASE(
    "hostile: wrongly typed fields deep in run results are decode errors naming the whole path") {
  const std::string doc_prefix =
      R"({"id":"r","status":"COMPLETE","files":[{"original_file_name":"a.pdf","documents":[)";
  const std::string doc_suffix = "]}]}";
  check_decode_errors(
      aihub::get_run_results{.run_id = "run-1"}, 200,
      {
          {R"({"id":"r","status":"COMPLETE","files":{}})", "files", "expected an array"},
          {R"({"id":"r","status":"COMPLETE","has_more":"true"})", "has_more",
           "expected true or false"},
          {R"({"id":"r","status":"COMPLETE","batch_id":{}})", "batch_id",
           "expected a string or a number"},
          {R"({"id":"r","status":"COMPLETE","case_info":{"fields":[{"value":"x"}]}})",
           "case_info.fields[0].name", "required member is missing"},
          {R"({"id":"r","status":"COMPLETE","files":[{"original_file_name":7}]})",
           "files[0].original_file_name", "expected a string"},
          {doc_prefix + R"({"page_layouts":[{"page_number":0,"width":"612","height":792}]})" +
               doc_suffix,
           "files[0].documents[0].page_layouts[0].width", "expected a number"},
          {doc_prefix + R"({"page_layouts":[{"page_number":0,"width":612}]})" + doc_suffix,
           "files[0].documents[0].page_layouts[0].height", "required member is missing"},
          {doc_prefix + R"({"page_layouts":[{"page_number":0,"width":1e400,"height":1}]})" +
               doc_suffix,
           "files[0].documents[0].page_layouts[0].width", "number out of range"},
          {doc_prefix + R"({"page_numbers":[1,-2,1e3]})" + doc_suffix,
           "files[0].documents[0].page_numbers[2]", "fraction or exponent"},
          {doc_prefix + R"({"fields":[{"field_name":"total","confidence":{"model":"high"}}]})" +
               doc_suffix,
           "files[0].documents[0].fields[0].confidence.model", "expected a number"},
          {doc_prefix + R"({"fields":[{"field_name":"total","validations":{"alerts":{}}}]})" +
               doc_suffix,
           "files[0].documents[0].fields[0].validations.alerts", "expected an array"},
          {doc_prefix + R"({"review_completed":"yes"})" + doc_suffix,
           "files[0].documents[0].review_completed", "expected true or false"},
      });
}

TEST_CASE("hostile: wrongly typed fields in job answers are decode errors naming the field") {
  check_decode_errors(
      aihub::poll_batches_job{.job_id = "job-1"}, 200,
      {
          {R"({"state":null})", "state", "expected a string"},
          {R"({"state":["COMPLETE"]})", "state", "expected a string"},
          {R"({"state":3})", "state", "expected a string"},
          {R"({"state":"COMPLETE","message":{"text":"x"}})", "message", "expected a string"},
      });
  check_decode_errors(aihub::delete_batch{.batch_id = 1}, 202,
                      {
                          {R"({"job_id":123})", "job_id", "expected a string"},
                          {R"({"job_id":null})", "job_id", "expected a string"},
                          {R"({"jobId":"j-1"})", "job_id", "required member is missing"},
                      });
  check_decode_errors(
      aihub::delete_run{.run_id = "run-1"}, 202,
      {
          {R"({"delete_input_dir_job_id":5})", "delete_input_dir_job_id", "expected a string"},
          {R"({"delete_log_dir_job_id":["j"]})", "delete_log_dir_job_id", "expected a string"},
      });
}

TEST_CASE(
    "hostile: negative ids and a state this version does not know decode as documented, not fail") {
  // The spec puts no minimum on ids, and unknown states decode as `unknown` so a newer server does
  // not break older clients; these are the documented choices, pinned here.
  {
    hostile::server s(hostile::always(hostile::response(200, R"({"id":-7,"name":"b"})")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE_MESSAGE(r, why(r));
    CHECK(r->id == -7);
  }
  {
    hostile::server s(hostile::always(hostile::response(200, R"({"state":"internal error"})")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::poll_batches_job{.job_id = "job-1"});
    REQUIRE_MESSAGE(r, why(r));
    CHECK(r->state == aihub::job_state::unknown);
  }
}

// =================================================================================================
// 5. Duplicate keys

TEST_CASE(
    "hostile: duplicate keys: the last one wins, and a repeated object replaces the earlier one "
    "whole") {
  // json.hpp reads objects in one pass: each occurrence of a key is decoded into the member in
  // turn, so the last occurrence wins; an object value resets the member first, so two
  // occurrences are never merged. A bad later duplicate is an error even after a good one.
  SUBCASE("scalars and nulls") {
    hostile::server s(hostile::always(hostile::response(
        200,
        R"({"id":1,"name":"first","workspace":"w","id":2,"name":"second","workspace":null})")));
    REQUIRE(s.ok());
    for (int round = 0; round < 3; ++round) {  // the same answer every time
      CAPTURE(round);
      auto r = fetch(s, aihub::get_batch{.batch_id = 1});
      REQUIRE_MESSAGE(r, why(r));
      CHECK(r->id == 2);
      CHECK(r->name == "second");
      CHECK(!r->workspace.has_value());
    }
  }
  SUBCASE("objects and arrays are replaced, not merged") {
    hostile::server s(hostile::always(hostile::response(
        200,
        R"({"nodes":[{"name":"a","metadata":{"size":5,"node_type":"file"},"metadata":{"size":7}}],)"
        R"("has_more":true,"has_more":false})")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::list_files{.batch_id = 1});
    REQUIRE_MESSAGE(r, why(r));
    REQUIRE(r->nodes.size() == 1);
    REQUIRE(r->nodes[0].metadata.has_value());
    CHECK(r->nodes[0].size() == 7);
    CHECK(!r->nodes[0].metadata->node_type.has_value());
    CHECK(!r->has_more);
  }
  SUBCASE("a second array replaces the first") {
    hostile::server s(
        hostile::always(hostile::response(200, R"({"nodes":[{"name":"a"}],"nodes":[]})")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::list_files{.batch_id = 1});
    REQUIRE_MESSAGE(r, why(r));
    CHECK(r->nodes.empty());
  }
  SUBCASE("a wrongly typed later duplicate is an error, even after a good one") {
    hostile::server s(hostile::always(hostile::response(200, R"({"id":1,"name":"b","id":"one"})")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::decode);
    CHECK(r.error().field == "id");
    check_mentions(r.error(), {"getBatch", "at id:", "expected an integer"});
  }
  SUBCASE("in an error body, the last message wins too") {
    hostile::server s(hostile::always(
        hostile::response(500, R"({"message":"first words","message":"last words"})")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::http_status);
    CHECK(r.error().http_status == 500);
    CHECK(r.error().server_message == "last words");
  }
}

// =================================================================================================
// 6. Deep nesting

TEST_CASE(
    "hostile: 100000 levels of nesting are refused at the depth limit, without deep recursion") {
  constexpr std::size_t levels = 100000;
  const std::string arrays = repeat("[", levels) + repeat("]", levels);
  const std::string objects = repeat(R"({"a":)", levels) + "1" + repeat("}", levels);

  SUBCASE("arrays inside a member the model ignores") {
    hostile::server s(
        hostile::always(hostile::response(200, R"({"id":1,"name":"b","extra":)" + arrays + "}")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::decode);
    check_mentions(r.error(), {"getBatch", "nesting deeper than the limit", "(byte "});
  }
  SUBCASE("objects inside a member the model ignores") {
    hostile::server s(
        hostile::always(hostile::response(200, R"({"id":1,"name":"b","extra":)" + objects + "}")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::decode);
    check_mentions(r.error(), {"getBatch", "nesting deeper than the limit"});
  }
  SUBCASE("the whole document is nested objects") {
    hostile::server s(hostile::always(hostile::response(200, objects)));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_run{.run_id = "run-1"});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::decode);
    check_mentions(r.error(), {"getRunStatus", "nesting deeper than the limit"});
  }
  SUBCASE("inside a known free-form member: the error names it") {
    hostile::server s(hostile::always(
        hostile::response(200, R"({"id":"r","status":"COMPLETE","keys":)" + arrays + "}")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_run_results{.run_id = "run-1"});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::decode);
    CHECK(r.error().field == "keys");
    check_mentions(r.error(), {"getRunResults", "at keys:", "nesting deeper than the limit"});
  }
  SUBCASE("inside a field value deep in the results: the error names the whole path") {
    hostile::server s(hostile::always(hostile::response(
        200, R"({"id":"r","status":"COMPLETE","files":[{"original_file_name":"a",)"
             R"("documents":[{"fields":[{"field_name":"total","value":)" +
                 objects + "}]}]}]}")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_run_results{.run_id = "run-1"});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::decode);
    CHECK(r.error().field == "files[0].documents[0].fields[0].value");
    check_mentions(r.error(), {"nesting deeper than the limit"});
  }
  SUBCASE("inside an error body: the status error stands, without the server's message") {
    hostile::server s(
        hostile::always(hostile::response(503, R"({"message":"busy","detail":)" + arrays + "}")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::http_status);
    CHECK(r.error().http_status == 503);
    CHECK(r.error().server_message.empty());
    check_mentions(r.error(), {"getBatch", "HTTP 503", "service unavailable"});
  }
}

TEST_CASE("hostile: nesting up to the limit of 64 levels decodes, one level more does not") {
  // The results object is level 1, so `keys` may hold 63 nested arrays.
  for (std::size_t inner : {std::size_t{63}, std::size_t{64}}) {
    CAPTURE(inner);
    const std::string body =
        R"({"id":"r","status":"COMPLETE","keys":)" + repeat("[", inner) + repeat("]", inner) + "}";
    hostile::server s(hostile::always(hostile::response(200, body)));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_run_results{.run_id = "run-1"});
    if (inner == 63) {
      REQUIRE_MESSAGE(r, why(r));
      REQUIRE(r->keys.has_value());
      CHECK(r->keys->text.size() == 2 * inner);
    } else {
      REQUIRE(!r);
      CHECK(r.error().field == "keys");
      check_mentions(r.error(), {"nesting deeper than the limit"});
    }
  }
}

// =================================================================================================
// 7. A 200 that is not the success it claims

TEST_CASE(
    "hostile: a 200 whose body is an error payload is a decode error, never a default success") {
  const std::vector<std::string> error_bodies = {
      R"({"error":"internal"})",
      R"({"message":"quota exceeded"})",
      R"({"status":"error","message":"not found"})",
      "{}",
  };
  for (std::size_t i = 0; i < error_bodies.size(); ++i) {
    const std::string& body = error_bodies[i];
    CAPTURE(body);
    hostile::server s(hostile::always(hostile::response(200, body)));
    REQUIRE(s.ok());
    {
      auto r = fetch(s, aihub::get_batch{.batch_id = 1});
      REQUIRE_MESSAGE(!r, "getBatch took an error payload for a batch");
      CHECK(r.error().kind == error_kind::decode);
      CHECK(r.error().field == "id");
      check_mentions(r.error(), {"getBatch", "at id:", "required member is missing"});
    }
    {
      auto r = fetch(s, aihub::get_run{.run_id = "run-1"});
      REQUIRE_MESSAGE(!r, "getRunStatus took an error payload for a run");
      CHECK(r.error().kind == error_kind::decode);
      CHECK(r.error().field == "id");
      check_mentions(r.error(), {"getRunStatus", "required member is missing"});
    }
    {
      auto r = fetch(s, aihub::get_run_results{.run_id = "run-1"});
      REQUIRE_MESSAGE(!r, "getRunResults took an error payload for results");
      CHECK(r.error().kind == error_kind::decode);
      check_mentions(r.error(), {"getRunResults", "required member is missing"});
    }
    {
      auto r = fetch(s, aihub::poll_batches_job{.job_id = "job-1"});
      REQUIRE_MESSAGE(!r, "pollBatchesJob took an error payload for a job state");
      CHECK(r.error().kind == error_kind::decode);
      CHECK(r.error().field == "state");
      check_mentions(r.error(), {"pollBatchesJob", "at state:", "required member is missing"});
    }
  }
}

TEST_CASE(
    "hostile: a 200 whose body is not a JSON object is a decode error at byte 0 or after the "
    "value") {
  struct odd {
    std::string body;
    std::string content_type;
    std::string phrase;
  };
  const std::vector<odd> bodies = {
      {"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "expected an object"},
      {"null", "application/json", "expected an object (byte 0)"},
      {"[]", "application/json", "expected an object (byte 0)"},
      {R"("ok")", "application/json", "expected an object (byte 0)"},
      {"0", "application/json", "expected an object (byte 0)"},
      {"", "application/json", "expected an object (byte 0)"},
      {"   \r\n", "application/json", "expected an object"},
      {"\xef\xbb\xbf{\"id\":1,\"name\":\"b\"}", "application/json", "expected an object (byte 0)"},
      {R"({"id":1,"name":"b"} trailing)", "application/json", "unexpected data after the JSON"},
      {R"({"id":1,"name":"a"}{"id":2,"name":"b"})", "application/json",
       "unexpected data after the JSON"},
      {R"({'id':1,'name':'b'})", "application/json", "expected a member name"},
      {R"({"id":1,"name":"b",})", "application/json", "expected a member name"},
  };
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const odd& o = bodies[i];
    CAPTURE(i);
    CAPTURE(o.body);
    hostile::server s(hostile::always(hostile::response(200, o.body, o.content_type)));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE_MESSAGE(!r, "a body that is not a batch object decoded");
    CHECK(r.error().kind == error_kind::decode);
    check_mentions(r.error(), {"getBatch", "invalid JSON", o.phrase});
  }
}

TEST_CASE("hostile: the Content-Type is not consulted: a valid batch decodes under any type") {
  for (std::string_view type : {"text/html", "text/plain", "application/octet-stream", ""}) {
    CAPTURE(type);
    hostile::server s(hostile::always(hostile::response(200, R"({"id":3,"name":"b"})", type)));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE_MESSAGE(r, why(r));
    CHECK(r->id == 3);
  }
}

TEST_CASE("hostile: invalid UTF-8 is a decode error, even in a member the model ignores") {
  const std::vector<typed_case> cases = {
      {"{\"id\":1,\"name\":\"b\xff\"}", "name", "invalid UTF-8 in a string"},
      {"{\"id\":1,\"name\":\"\xc0\xaf\"}", "name", "invalid UTF-8 in a string"},      // overlong
      {"{\"id\":1,\"name\":\"\xed\xa0\x80\"}", "name", "invalid UTF-8 in a string"},  // surrogate
      {"{\"id\":1,\"name\":\"\xf4\x90\x80\x80\"}", "name", "invalid UTF-8"},  // past U+10FFFF
      {R"({"id":1,"name":"\ud800"})", "name", "lone high surrogate"},
      {R"({"id":1,"name":"\udc00x"})", "name", "lone low surrogate"},
      {"{\"id\":1,\"name\":\"b\",\"extra\":\"\xc3\x28\"}", "", "invalid UTF-8 in a string"},
      {"{\"id\":1,\"name\":\"b\",\"\xfe\":1}", "", "invalid UTF-8 in a string"},
      {"{\"id\":1,\"name\":\"tab\there\"}", "name", "control character in a string"},
  };
  check_decode_errors(aihub::get_batch{.batch_id = 1}, 200, cases);
}

TEST_CASE(
    "hostile: a 200 error payload for listFiles, whose schema requires nothing, is a decode error, "
    "not an empty listing") {
  // listBatchFilesResponse has no required member in the spec; decided: a 200 body with none of
  // nodes / has_more / next_page_token is an error body, so list_all_files cannot report a full
  // batch as empty.
  hostile::server s(hostile::always(hostile::response(200, R"({"error":"internal"})")));
  REQUIRE(s.ok());
  auto r = fetch(s, aihub::list_files{.batch_id = 1});
  REQUIRE(!r);
  CHECK(r.error().kind == error_kind::decode);
  CHECK(r.error().field == "nodes");
  CHECK(r.error().server_message == "internal");
  check_mentions(r.error(), {"listFiles", "error body"});

  SUBCASE("a real empty listing still decodes") {
    hostile::server empty(
        hostile::always(hostile::response(200, R"({"nodes":[],"has_more":false})")));
    REQUIRE(empty.ok());
    auto listing = fetch(empty, aihub::list_files{.batch_id = 1});
    REQUIRE_MESSAGE(listing, why(listing));
    CHECK(listing->nodes.empty());
  }
}

TEST_CASE("hostile: a success status other than the operation's own is an http_status error") {
  SUBCASE("deleteBatch answers 202; a 200 with a job id is not accepted") {
    hostile::server s(hostile::always(hostile::response(200, R"({"job_id":"j-1"})")));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::delete_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::http_status);
    CHECK(r.error().http_status == 200);
    check_mentions(r.error(), {"deleteBatch", "HTTP 200"});
  }
  SUBCASE("getBatch answers 200; a 204 without a body is not a batch") {
    hostile::server s(hostile::always("HTTP/1.1 204 No Content\r\n\r\n"));
    REQUIRE(s.ok());
    auto r = fetch(s, aihub::get_batch{.batch_id = 1});
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::http_status);
    CHECK(r.error().http_status == 204);
    check_mentions(r.error(), {"getBatch", "HTTP 204"});
  }
}

// =================================================================================================
// 8. Broken HTTP, floods, redirects and other hostile habits

TEST_CASE(
    "hostile: a reply that is not valid HTTP is an error saying so, or a status error it can "
    "name") {
  struct reply {
    std::string bytes;
    error_kind kind;
    std::string phrase;
  };
  const std::vector<reply> replies = {
      {"garbage without a status line\r\n\r\n", error_kind::transport, "not valid HTTP"},
      {"HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\n{}", error_kind::transport, "not valid HTTP"},
      {"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}", error_kind::transport, "not valid HTTP"},
      {"HTTP/7.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", error_kind::transport, "not valid HTTP"},
      {"HTTP/1.1 999 Whatever\r\nContent-Length: 2\r\n\r\n{}", error_kind::http_status, "HTTP 999"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       error_kind::transport, "GET"},
  };
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const reply& x = replies[i];
    CAPTURE(i);
    CAPTURE(x.bytes);
    hostile::server s([&](connection& c) {
      if (c.read_request()) c.send(x.bytes);
    });
    REQUIRE(s.ok());
    stopwatch clock;
    auto r = fetch(s, aihub::get_batch{.batch_id = 1}, send_with(3s));
    REQUIRE_MESSAGE(!r, "a broken reply decoded as a batch");
    CHECK(r.error().kind == x.kind);
    check_mentions(r.error(), {"getBatch", x.phrase});
    CHECK(clock.seconds() < 3.0);
  }
}

TEST_CASE(
    "hostile: an endless run of interim 1xx responses ends at the header limit or the time limit") {
  SUBCASE("a fast flood hits max_response_header_bytes") {
    hostile::server s([](connection& c) {
      if (!c.read_request()) return;
      const std::string interim = repeat("HTTP/1.1 100 Continue\r\n\r\n", 1000);
      for (int i = 0; i < 100000; ++i)
        if (!c.send(interim)) return;
    });
    REQUIRE(s.ok());
    curl::transport_options o = transport_for(s);
    o.max_response_header_bytes = 64 * 1024;
    curl::transport t(o);
    stopwatch clock;
    auto r = aihub::execute(t, aihub::get_batch{.batch_id = 1}, settings_for(s), {}, send_with(5s));
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::protocol);
    check_mentions(r.error(), {"getBatch", "headers exceed 64 KiB"});
    CHECK(clock.seconds() < 5.0);
    CHECK(s.wait_idle(3s));
    CHECK(s.peer_went_away());
  }
  SUBCASE("a slow trickle of them ends at send.timeout") {
    hostile::server s([](connection& c) {
      if (!c.read_request()) return;
      while (c.send("HTTP/1.1 102 Processing\r\n\r\n") && c.pause(100ms)) {
      }
    });
    REQUIRE(s.ok());
    stopwatch clock;
    auto r = fetch(s, aihub::get_batch{.batch_id = 1}, send_with(1000ms));
    const double elapsed = clock.seconds();
    REQUIRE(!r);
    CHECK(r.error().kind == error_kind::timeout);
    check_mentions(r.error(), {"getBatch", "timed out"});
    CHECK(elapsed >= 0.9);
    CHECK(elapsed < 1.0 + 2.0);
  }
}

namespace {

/// Reads the request, sends a status line, then `lines` over and over (at most `times`).
hostile::server::script header_flood(std::string lines, int times) {
  return [lines = std::move(lines), times](connection& c) {
    if (!c.read_request() || !c.send("HTTP/1.1 200 OK\r\n")) return;
    for (int i = 0; i < times; ++i)
      if (!c.send(lines)) return;
  };
}

std::string filler_headers() {
  std::string lines;
  for (int i = 0; i < 1000; ++i)
    lines.append("X-Filler-" + std::to_string(i) + ": " + std::string(80, 'f') + "\r\n");
  return lines;
}

}  // namespace

TEST_CASE(
    "hostile: a header flood under a small max_response_header_bytes is a protocol error, not "
    "retried") {
  hostile::server s(header_flood(filler_headers(), 10000));
  REQUIRE(s.ok());
  curl::transport_options o = transport_for(s);
  o.max_response_header_bytes = 64 * 1024;
  aihub::client_options<curl::transport> options;
  options.retry = quick_retries(3);
  options.send = send_with(10s);
  aihub::client<curl::transport> hub(curl::transport(o), settings_for(s), std::move(options));
  hostile::rss_watch memory;
  stopwatch clock;
  auto r = hub.call(aihub::get_batch{.batch_id = 1});
  const std::uint64_t grown = memory.stop();
  REQUIRE(!r);
  CHECK(r.error().kind == error_kind::protocol);
  check_mentions(r.error(), {"getBatch", "headers exceed 64 KiB"});
  CHECK(s.requests() == 1);
  CHECK(clock.seconds() < 5.0);
  CHECK_MESSAGE(grown < 16u << 20, "resident memory grew by " << grown << " bytes");
  CHECK(s.wait_idle(3s));
  CHECK(s.peer_went_away());
}

TEST_CASE(
    "hostile: a header flood under the default header limit is a protocol error, not a retried "
    "connection failure") {
  // transport_options::max_response_header_bytes defaults to 1 MiB and promises
  // error_kind::protocol past it; libcurl's own 300 KiB limit on a response's headers fires first.
  hostile::server s(header_flood(filler_headers(), 10000));
  REQUIRE(s.ok());
  auto hub = make_client(s, quick_retries(3), send_with(10s));
  stopwatch clock;
  auto r = hub.call(aihub::get_batch{.batch_id = 1});
  REQUIRE(!r);
  CHECK_MESSAGE(r.error().kind == error_kind::protocol, r.error().describe());
  CHECK_MESSAGE(!r.error().retryable, r.error().describe());
  check_mentions(r.error(), {"getBatch", "header"});
  CHECK_MESSAGE(s.requests() == 1, "a header flood was sent " << s.requests() << " times");
  CHECK(clock.seconds() < 5.0);
}

TEST_CASE(
    "hostile: one endless header line is refused as an oversized header, not as the client's OOM") {
  hostile::server s([](connection& c) {
    if (!c.read_request() || !c.send("HTTP/1.1 200 OK\r\nX-Endless: ")) return;
    const std::string piece(16 * 1024, 'e');
    for (int i = 0; i < 65536; ++i)
      if (!c.send(piece)) return;
  });
  REQUIRE(s.ok());
  hostile::rss_watch memory;
  stopwatch clock;
  auto r = fetch(s, aihub::get_batch{.batch_id = 1}, send_with(10s));
  const std::uint64_t grown = memory.stop();
  REQUIRE(!r);
  CHECK(clock.seconds() < 5.0);
  CHECK_MESSAGE(grown < 16u << 20, "resident memory grew by " << grown << " bytes");
  CHECK(s.wait_idle(3s));
  CHECK(s.peer_went_away());
  // The client did not run out of memory: the server sent a header line past libcurl's limit.
  CHECK_MESSAGE(r.error().kind == error_kind::protocol, r.error().describe());
  CHECK_MESSAGE(!contains(r.error().describe(), "out of memory"), r.error().describe());
  check_mentions(r.error(), {"getBatch", "header"});
}

TEST_CASE(
    "hostile: a redirect to another origin is not followed, so the token never travels there") {
  hostile::server elsewhere(hostile::always(hostile::response(200, R"({"id":1,"name":"b"})")));
  REQUIRE(elsewhere.ok());
  for (int status : {301, 302, 303, 307, 308}) {
    CAPTURE(status);
    hostile::server s(hostile::always("HTTP/1.1 " + std::to_string(status) +
                                      " Moved\r\nLocation: " + elsewhere.root("/v2/batches/1") +
                                      "\r\nContent-Length: 0\r\n\r\n"));
    REQUIRE(s.ok());
    auto hub = make_client(s, quick_retries(3), send_with(3s));
    auto r = hub.call(aihub::get_batch{.batch_id = 1});
    REQUIRE_MESSAGE(!r, "a redirect was followed to another origin");
    CHECK(r.error().kind == error_kind::http_status);
    CHECK(r.error().http_status == status);
    check_mentions(r.error(), {"getBatch", "HTTP " + std::to_string(status), "redirect"});
    CHECK(s.requests() == 1);  // not retried either
    REQUIRE(s.request_heads().size() == 1);
    CHECK(contains(s.request_heads()[0], "Authorization: Bearer "));  // the token went to s only
  }
  CHECK(elsewhere.connections() == 0);
}

TEST_CASE("hostile: an error status with a body past max_response_bytes still reports its status") {
  for (int status : {401, 403, 429}) {
    CAPTURE(status);
    hostile::server s(flood("HTTP/1.1 " + std::to_string(status) +
                                " No\r\nContent-Type: text/html\r\nRetry-After: 0\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n",
                            true));
    REQUIRE(s.ok());
    auto hub = make_client(s, quick_retries(3), send_with(10s, 64 * 1024));
    hostile::rss_watch memory;
    stopwatch clock;
    auto r = hub.call(aihub::get_batch{.batch_id = 1});
    const std::uint64_t grown = memory.stop();
    REQUIRE(!r);
    CHECK(clock.seconds() < 5.0);
    CHECK_MESSAGE(grown < 16u << 20, "resident memory grew by " << grown << " bytes");
    CHECK(s.wait_idle(3s));
    // What the caller most needs is the status: a 401 is a bad token, a 429 is "slow down".
    CHECK_MESSAGE(r.error().http_status == status, "the status was lost: " << r.error().describe());
  }
}

TEST_CASE_TEMPLATE(
    "hostile: a stray extra response on a keep-alive connection is never taken as the next "
    "answer",
    Transport, curl::transport, curl::multi_transport) {
  hostile::server s([](connection& c) {
    if (c.number() == 1) {
      if (!c.read_request()) return;
      if (!c.send(hostile::response(200, R"({"id":1,"name":"first"})"))) return;
      c.pause(50ms);
      if (!c.send(hostile::response(200, R"({"id":666,"name":"stray"})"))) return;
    }
    while (c.read_request())
      if (!c.send(hostile::response(200, R"({"id":2,"name":"second"})"))) return;
  });
  REQUIRE(s.ok());
  Transport t(transport_for(s));
  auto first =
      aihub::execute(t, aihub::get_batch{.batch_id = 1}, settings_for(s), {}, send_with(3s));
  REQUIRE_MESSAGE(first, why(first));
  CHECK(first->id == 1);
  std::this_thread::sleep_for(200ms);  // the stray answer is in the client's socket by now
  auto second =
      aihub::execute(t, aihub::get_batch{.batch_id = 2}, settings_for(s), {}, send_with(3s));
  REQUIRE_MESSAGE(second, why(second));
  INFO("connections opened by the transport: " << t.connections_opened());
  CHECK(second->id == 2);
  CHECK(second->name == "second");
  CHECK(t.connections_opened() == 2);  // the tainted connection was not reused
  auto third =
      aihub::execute(t, aihub::get_batch{.batch_id = 3}, settings_for(s), {}, send_with(3s));
  REQUIRE_MESSAGE(third, why(third));
  CHECK(third->name == "second");
  // transport drops the tainted connection and keeps the fresh one alive; multi_transport cannot
  // close one cached connection, so it connects afresh while the tainted one stays in its cache.
  if constexpr (std::is_same_v<Transport, curl::transport>) CHECK(t.connections_opened() == 2);
}

TEST_CASE(
    "hostile: a job state the client does not know keeps it polling only until the wait deadline") {
  hostile::server s(hostile::always(hostile::response(200, R"({"state":"REINDEXING"})")));
  REQUIRE(s.ok());
  auto hub = make_client(s, aihub::retry_policy::none(), send_with(2s));
  aihub::wait_options w;
  w.first_interval = 50ms;
  w.max_interval = 100ms;
  w.timeout = 1000ms;
  stopwatch clock;
  auto r = hub.wait_for_batches_job("job-1", w);
  const double elapsed = clock.seconds();
  REQUIRE(!r);
  CHECK(r.error().kind == error_kind::timeout);
  check_mentions(r.error(), {"pollBatchesJob", "wait deadline"});
  CHECK(s.requests() >= 3);
  CHECK(elapsed < 1.0 + 2.0);
}

TEST_CASE(
    "hostile: a server that hands out a fresh page token forever is stopped by max_pages, with "
    "bounded memory") {
  // Each page holds one file, says has_more and gives a token never seen before (4 KiB long):
  // the repeated-token check never fires; client_options::max_pages ends the listing.
  std::atomic<int> served{0};
  hostile::server s([&](connection& c) {
    while (c.read_request()) {
      const int n = ++served;
      const std::string body = R"({"nodes":[{"name":"f)" + std::to_string(n) +
                               R"("}],"has_more":true,"next_page_token":"t)" + std::to_string(n) +
                               std::string(4096, 'x') + R"("})";
      if (!c.send(hostile::response(200, body))) return;
    }
  });
  REQUIRE(s.ok());
  aihub::client_options<curl::transport> o;
  o.retry = aihub::retry_policy::none();
  o.send = send_with(2s);
  o.max_pages = 1500;
  aihub::client<curl::transport> hub(curl::transport(transport_for(s)), settings_for(s),
                                     std::move(o));
  hostile::rss_watch memory;
  stopwatch clock;
  std::size_t pages = 0;
  std::optional<aihub::error> ended_with;
  for (auto& page : hub.file_pages(aihub::list_files{.batch_id = 1})) {
    if (!page) {
      ended_with = page.error();
      break;
    }
    if (++pages >= 5000 || clock.seconds() > 20.0) break;
  }
  const std::uint64_t grown = memory.stop();
  MESSAGE("file_pages read " << pages << " pages in " << clock.seconds()
                             << " s; resident memory grew by " << grown << " bytes");
  REQUIRE_MESSAGE(ended_with.has_value(),
                  "file_pages was still going after " << pages << " pages of fresh tokens");
  CHECK(ended_with->kind == error_kind::protocol);
  check_mentions(*ended_with, {"listFiles", "1500 pages", "max_pages"});
  CHECK(pages == 1500);
  // 1500 tokens of 4 KiB are 6 MiB; the pager keeps 8 bytes of each (measured: under 1 MiB of
  // growth for 6000 pages).
  CHECK_MESSAGE(grown < 4u << 20, "resident memory grew by " << grown << " bytes");

  SUBCASE("list_all_files ends the same way") {
    served = 0;
    auto all = hub.list_all_files(1);
    REQUIRE(!all);
    CHECK(all.error().kind == error_kind::protocol);
    check_mentions(all.error(), {"1500 pages"});
  }
}

TEST_CASE("hostile: decoding memory stays within a fixed multiple of max_response_bytes") {
  // The worst case for typed decoding: 1 MiB of empty objects where the model expects
  // documentField entries, so each 3-byte "{}," becomes a 280-byte document_field (and its vector
  // may hold up to twice what it needs). Decided: this linear bound (documented in the README as
  // "up to ~200x max_response_bytes for pathological bodies"; lower max_response_bytes on small
  // devices) is the contract, not a per-element budget; the test pins it at 256x.
  const std::string prefix =
      R"({"id":"r","status":"COMPLETE","files":[{"original_file_name":"a","documents":[{"fields":[)";
  const std::string suffix = "{}]}]}]}";
  const std::size_t count = (1u << 20) / 3;
  const std::string body = prefix + repeat("{},", count) + suffix;
  hostile::server s(hostile::always(hostile::response(200, body)));
  REQUIRE(s.ok());
  std::optional<aihub::result<aihub::run_results>> r;
  hostile::rss_watch memory;
  r.emplace(fetch(s, aihub::get_run_results{.run_id = "run-1"}, send_with(10s, 2u << 20)));
  const std::uint64_t grown = memory.stop();
  REQUIRE_MESSAGE(*r, why(*r));
  REQUIRE((*r)->files.size() == 1);
  REQUIRE((*r)->files[0].documents.size() == 1);
  CHECK((*r)->files[0].documents[0].fields.size() == count + 1);
  MESSAGE("a " << body.size() << "-byte body grew resident memory by " << grown << " bytes ("
               << grown / body.size() << "x)");
  CHECK_MESSAGE(grown < 256 * body.size(),
                "decoding a " << body.size() << "-byte body took " << grown << " bytes");
}
