// aihub::curl::transport over real loopback HTTP. Included first: the header must stand on its own.
#include <aihub/curl/transport.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "test_helpers.hpp"
#include "test_servers.hpp"

namespace curl = aihub::curl;
namespace http = aihub::http;
using aihub::error_kind;
using namespace std::chrono_literals;

using namespace test;

namespace {

std::string reply_for(const test::raw_request& request) {
  if (request.request_line().rfind("HEAD ", 0) == 0)
    return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";  // a HEAD answer has no body
  return test::raw_server::ok_response("ok");
}

}  // namespace

TEST_CASE("every method goes out with its verb, its body and the right framing") {
  test::raw_server server([](const test::raw_request& r) { return test::raw_reply{reply_for(r)}; });
  REQUIRE(server.ok());
  curl::transport t(options_for(server.root("/api")));

  struct expectation {
    http::method verb;
    http::body body;
    std::string method_name;
    std::optional<std::string> content_length;  // nullopt: no Content-Length header at all
    std::string body_text;
  };
  const std::string json = R"({"a":1})";
  const std::string binary("\x00\x01\xff\r\n", 5);
  auto bytes = std::as_bytes(std::span(binary.data(), binary.size()));
  std::vector<expectation> cases;
  cases.push_back({http::method::get, http::no_body{}, "GET", std::nullopt, ""});
  cases.push_back({http::method::head, http::no_body{}, "HEAD", std::nullopt, ""});
  cases.push_back({http::method::delete_, http::no_body{}, "DELETE", std::nullopt, ""});
  cases.push_back({http::method::delete_, http::json_body{json}, "DELETE", "7", json});
  cases.push_back({http::method::post, http::json_body{json}, "POST", "7", json});
  cases.push_back({http::method::post, http::no_body{}, "POST", "0", ""});
  cases.push_back({http::method::put, http::bytes_view_body{bytes}, "PUT", "5", binary});
  cases.push_back({http::method::put, http::no_body{}, "PUT", "0", ""});
  cases.push_back({http::method::patch, http::json_body{json}, "PATCH", "7", json});
  cases.push_back({http::method::patch, http::no_body{}, "PATCH", "0", ""});
  cases.push_back({http::method::get, http::json_body{json}, "GET", "7", json});

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    CAPTURE(i);
    CAPTURE(c.method_name);
    auto response = t.send(make(c.verb, "/v2/things?x=1", c.body));
    REQUIRE_MESSAGE(response, why(response));
    CHECK(response->status == 200);
    CHECK(response->body == (c.verb == http::method::head ? "" : "ok"));
    auto requests = server.requests();
    REQUIRE(requests.size() == i + 1);
    const auto& seen = requests.back();
    CHECK(seen.request_line() == c.method_name + " /api/v2/things?x=1 HTTP/1.1");
    CHECK(seen.header("Content-Length") == c.content_length);
    CHECK(seen.body == c.body_text);
    CHECK(!seen.has_header("Transfer-Encoding"));
    CHECK(!seen.has_header("Expect"));
  }
  // The idempotent methods share one keep-alive connection; each POST and PATCH opens its own, so
  // libcurl can never resend one on a connection that died under it.
  std::size_t fresh = 0;
  for (const auto& c : cases)
    fresh += c.verb == http::method::post || c.verb == http::method::patch;
  CHECK(fresh == 4);
  CHECK(server.connections() == static_cast<int>(1 + fresh));
  CHECK(t.connections_opened() == 1 + fresh);
  CHECK(t.exchanges() == cases.size());
}

TEST_CASE("the request's headers are sent exactly, with no stray Content-Type, Accept or Expect") {
  test::raw_server server(
      [](const test::raw_request&) { return test::raw_reply{test::raw_server::ok_response()}; });
  REQUIRE(server.ok());
  curl::transport t(options_for(server.root("/api")));
  const std::string host = "Host: 127.0.0.1:" + std::to_string(server.port());

  SUBCASE("a JSON POST with custom and empty headers") {
    auto r = make(http::method::post, "/v2/batches", http::json_body{R"({"name":"x"})"});
    r.headers.set("Authorization", "Bearer tok-123");
    r.headers.set("Content-Type", "application/json");
    r.headers.set("X-Custom", "v 1");
    r.headers.add("X-Empty", "");
    auto response = t.send(r);
    REQUIRE_MESSAGE(response, why(response));
    auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(sorted_lines(requests[0].header_lines()) ==
          sorted_lines({host, "Authorization: Bearer tok-123", "Content-Type: application/json",
                        "X-Custom: v 1", "X-Empty:", "Content-Length: 12"}));
  }
  SUBCASE("a POST without Content-Type gets none (not libcurl's form type)") {
    auto r = make(http::method::post, "/v2/x", http::json_body{"{}"});
    auto response = t.send(r);
    REQUIRE_MESSAGE(response, why(response));
    auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(sorted_lines(requests[0].header_lines()) == sorted_lines({host, "Content-Length: 2"}));
  }
  SUBCASE("a GET with Accept sends that Accept and nothing else") {
    auto r = make(http::method::get, "/v2/x");
    r.headers.set("Accept", "application/json");
    auto response = t.send(r);
    REQUIRE_MESSAGE(response, why(response));
    auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(sorted_lines(requests[0].header_lines()) ==
          sorted_lines({host, "Accept: application/json"}));
  }
  SUBCASE("a request's own Content-Length that agrees with the body is not duplicated") {
    auto r = make(http::method::put, "/v2/x", http::json_body{"{}"});
    r.headers.set("Content-Length", "2");
    auto response = t.send(r);
    REQUIRE_MESSAGE(response, why(response));
    auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(sorted_lines(requests[0].header_lines()) == sorted_lines({host, "Content-Length: 2"}));
  }
  SUBCASE("large bodies (over libcurl's 1 MiB Expect threshold) carry no Expect: 100-continue") {
    std::string big(2u << 20, 'b');
    auto bytes = std::as_bytes(std::span(big.data(), big.size()));
    for (auto verb : {http::method::post, http::method::put}) {
      auto response = t.send(make(verb, "/v2/big", http::bytes_view_body{bytes}));
      REQUIRE_MESSAGE(response, why(response));
    }
    auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    for (const auto& seen : requests) {
      CHECK(!seen.has_header("Expect"));
      CHECK(seen.header("Content-Length") == std::to_string(big.size()));
      CHECK(seen.body == big);
    }
  }
}

TEST_CASE("the target is appended to the api_root path prefix as is") {
  test::raw_server server(
      [](const test::raw_request&) { return test::raw_reply{test::raw_server::ok_response()}; });
  REQUIRE(server.ok());
  curl::transport t(options_for(server.root("/api/")));  // trailing slash on purpose
  auto a = t.send(make(http::method::get, "/v2/batches?limit=10&page_token=a%2Fb"));
  REQUIRE_MESSAGE(a, why(a));
  auto b = t.send(make(http::method::get, "/v2/files/../x"));  // no dot-segment squashing
  REQUIRE_MESSAGE(b, why(b));
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].request_line() == "GET /api/v2/batches?limit=10&page_token=a%2Fb HTTP/1.1");
  CHECK(requests[1].request_line() == "GET /api/v2/files/../x HTTP/1.1");
}

TEST_CASE("bodies of every kind arrive byte for byte") {
  test::http_server server;
  std::mutex mutex;
  std::string received_body, received_type, received_length;
  auto echo = [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    received_body = req.body;
    received_type = req.get_header_value("Content-Type");
    received_length = req.get_header_value("Content-Length");
    res.set_content("received", "text/plain");
  };
  server.server().Post("/api/v2/echo", echo);
  server.server().Put("/api/v2/echo", echo);
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));

  SUBCASE("json_body") {
    std::string json = R"({"batch_name":"invoices","files":[1,2,3]})";
    auto r = make(http::method::post, "/v2/echo", http::json_body{json});
    r.headers.set("Content-Type", "application/json");
    auto response = t.send(r);
    REQUIRE_MESSAGE(response, why(response));
    CHECK(response->body == "received");
    std::lock_guard lock(mutex);
    CHECK(received_body == json);
    CHECK(received_type == "application/json");
    CHECK(received_length == std::to_string(json.size()));
  }
  SUBCASE("bytes_view_body") {
    std::string binary;
    for (int i = 0; i < 3 * 256; ++i) binary.push_back(static_cast<char>(i & 0xff));
    auto r = make(http::method::put, "/v2/echo",
                  http::bytes_view_body{std::as_bytes(std::span(binary.data(), binary.size()))});
    r.headers.set("Content-Type", "application/octet-stream");
    auto response = t.send(r);
    REQUIRE_MESSAGE(response, why(response));
    std::lock_guard lock(mutex);
    CHECK(received_body == binary);
    CHECK(received_type == "application/octet-stream");
  }
  SUBCASE("file_slice from the middle of a file") {
    test::temp_file file;
    REQUIRE(file.fill_with_pattern(1u << 20));
    const std::uint64_t offset = 123457, length = 300001;
    auto response =
        t.send(make(http::method::put, "/v2/echo", http::file_slice{file.path(), offset, length}));
    REQUIRE_MESSAGE(response, why(response));
    std::lock_guard lock(mutex);
    CHECK(received_body.size() == length);
    CHECK(received_body == pattern_string(offset, length));
  }
  SUBCASE("reader_body") {
    auto reader = std::make_shared<pattern_reader>((1u << 20) + 7);
    auto response =
        t.send(make(http::method::post, "/v2/echo", http::reader_body{(1u << 20) + 7, reader}));
    REQUIRE_MESSAGE(response, why(response));
    std::lock_guard lock(mutex);
    CHECK(received_body == pattern_string(0, (1u << 20) + 7));
  }
  SUBCASE("a file_slice past the end of the file fails cleanly instead of sending a short body") {
    test::temp_file file;
    REQUIRE(file.fill_with_pattern(1000));
    auto response =
        t.send(make(http::method::put, "/v2/echo", http::file_slice{file.path(), 500, 1000}));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::transport);
    CHECK(response.error().message.find("request body ended") != std::string::npos);
  }
}

TEST_CASE("a 64 MiB upload streams: right bytes at the server, bounded memory at the client") {
  test::http_server server;
  upload_sink sink;
  sink.sample_memory = true;
  sink.install(server.server(), "/api/v2/upload");
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));
  const std::uint64_t length = 64u << 20;

  SUBCASE("file_slice from the middle of a larger file") {
    test::temp_file file;
    const std::uint64_t offset = (1u << 20) + 3;
    REQUIRE(file.fill_with_pattern(offset + length + 12345));
    const std::uint64_t expected = pattern_checksum(offset, length);
    const std::uint64_t before = test::resident_bytes();
    auto response = t.send(
        make(http::method::put, "/v2/upload", http::file_slice{file.path(), offset, length}));
    REQUIRE_MESSAGE(response, why(response));
    CHECK(response->status == 200);
    CHECK(sink.reader_ok);
    CHECK(sink.bytes == length);
    CHECK(sink.checksum == expected);
    CHECK(response->body == std::to_string(length));
    // Client and server share this process: had either buffered the body, RSS would have grown by
    // about 64 MiB.
    MESSAGE("resident growth during the upload: ", (sink.peak_resident - before) >> 10, " KiB");
    CHECK(sink.peak_resident < before + (16u << 20));
  }
  SUBCASE("reader_body: read in bounded chunks, never buffered") {
    auto reader = std::make_shared<pattern_reader>(length);
    reader->sample_memory = true;
    const std::uint64_t expected = pattern_checksum(0, length);
    const std::uint64_t before = test::resident_bytes();
    auto response =
        t.send(make(http::method::post, "/v2/upload", http::reader_body{length, reader}));
    REQUIRE_MESSAGE(response, why(response));
    CHECK(sink.bytes == length);
    CHECK(sink.checksum == expected);
    // Each read fills at most libcurl's upload buffer (256 KiB by default), so reads follow the
    // wire.
    CHECK(reader->largest_read <= 256u * 1024);
    CHECK(reader->reads >= length / (256u * 1024));
    CHECK(reader->peak_resident < before + (16u << 20));
  }
}

TEST_CASE("keep-alive: consecutive requests reuse one connection") {
  test::http_server server;
  server.server().Get("/api/v2/port", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::to_string(req.remote_port), "text/plain");
  });
  upload_sink sink;
  sink.install(server.server(), "/api/v2/upload");
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));

  auto first = t.send(make(http::method::get, "/v2/port"));
  REQUIRE_MESSAGE(first, why(first));
  auto upload = t.send(make(http::method::put, "/v2/upload", http::json_body{"{}"}));
  REQUIRE_MESSAGE(upload, why(upload));
  auto second = t.send(make(http::method::get, "/v2/port"));
  REQUIRE_MESSAGE(second, why(second));
  CHECK(first->body == second->body);  // same client port: same TCP connection
  CHECK(t.connections_opened() == 1);

  // A second transport has its own connection.
  curl::transport other(options_for(server.root("/api")));
  auto third = other.send(make(http::method::get, "/v2/port"));
  REQUIRE_MESSAGE(third, why(third));
  CHECK(third->body != first->body);
  CHECK(other.connections_opened() == 1);
}

TEST_CASE("response status, headers and body come back") {
  test::http_server server;
  server.server().Post("/api/v2/batches", [](const httplib::Request&, httplib::Response& res) {
    res.status = 201;
    res.set_header("X-Request-Id", "req-42");
    res.set_header("Location", "/v2/batches/7");
    res.set_content(R"({"id":7})", "application/json");
  });
  server.server().Get("/api/v2/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(R"({"message":"no such batch"})", "application/json");
  });
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));

  auto created = t.send(make(http::method::post, "/v2/batches", http::json_body{"{}"}));
  REQUIRE_MESSAGE(created, why(created));
  CHECK(created->status == 201);
  CHECK(created->headers.get("x-request-id") == "req-42");
  CHECK(created->headers.get("Location") == "/v2/batches/7");
  CHECK(created->headers.get("Content-Type") == "application/json");
  CHECK(created->headers.get("Content-Length") == "8");
  CHECK(created->body == R"({"id":7})");

  // Any status is a successful send: the operation layer decides what 404 means.
  auto missing = t.send(make(http::method::get, "/v2/missing"));
  REQUIRE_MESSAGE(missing, why(missing));
  CHECK(missing->status == 404);
  CHECK(missing->body == R"({"message":"no such batch"})");
}

TEST_CASE("interim 1xx responses are dropped: only the final response's headers remain") {
  test::raw_server server([](const test::raw_request&) {
    return test::raw_reply{
        "HTTP/1.1 100 Continue\r\nX-Interim: one\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        "HTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 4\r\n\r\ndone"};
  });
  REQUIRE(server.ok());
  curl::transport t(options_for(server.root()));
  auto response = t.send(make(http::method::post, "/v2/x", http::json_body{"{}"}));
  REQUIRE_MESSAGE(response, why(response));
  CHECK(response->status == 201);
  CHECK(response->headers.get("X-Final") == "yes");
  CHECK(!response->headers.contains("X-Interim"));
  CHECK(!response->headers.contains("Link"));
  CHECK(response->headers.size() == 2);
  CHECK(response->body == "done");
}

TEST_CASE("max_response_bytes stops a larger body with a protocol error") {
  test::http_server server;
  const std::string thousand(1000, 'x');
  server.server().Get("/api/v2/sized", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(thousand, "text/plain");
  });
  server.server().Get("/api/v2/chunked", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain",
                                     [&](std::size_t offset, httplib::DataSink& sink) {
                                       if (offset >= thousand.size()) {
                                         sink.done();
                                         return true;
                                       }
                                       return sink.write(thousand.data() + offset, 250);
                                     });
  });
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));

  for (const char* target : {"/v2/sized", "/v2/chunked"}) {
    CAPTURE(target);
    aihub::send_options limited;
    limited.max_response_bytes = 999;
    auto refused = t.send(make(http::method::get, target), limited);
    REQUIRE(!refused);
    CHECK(refused.error().kind == error_kind::protocol);
    CHECK(!refused.error().retryable);
    CHECK(refused.error().message.find("max_response_bytes") != std::string::npos);
    limited.max_response_bytes = 1000;
    auto fits = t.send(make(http::method::get, target), limited);
    REQUIRE_MESSAGE(fits, why(fits));
    CHECK(fits->body == thousand);
  }
  // Content-Length lets the transport refuse before reading; chunked bodies are cut while reading.
  aihub::send_options limited;
  limited.max_response_bytes = 999;
  auto announced = t.send(make(http::method::get, "/v2/sized"), limited);
  REQUIRE(!announced);
  CHECK(announced.error().message.find("announces 1000 bytes") != std::string::npos);
}

TEST_CASE("a body_sink receives 2xx bodies while other statuses stay readable in response::body") {
  test::http_server server;
  const std::string payload = pattern_string(0, 3u << 20);
  server.server().Get("/api/v2/download", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(payload, "application/octet-stream");
  });
  server.server().Get("/api/v2/forbidden", [](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content(R"({"message":"no"})", "application/json");
  });
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));

  std::string streamed;
  std::size_t calls = 0;
  curl::body_sink sink = [&](std::string_view chunk) {
    streamed.append(chunk);
    ++calls;
    return true;
  };
  aihub::send_options options;
  options.max_response_bytes = 1024;  // does not apply to what the sink takes
  auto downloaded = t.send(make(http::method::get, "/v2/download"), options, sink);
  REQUIRE_MESSAGE(downloaded, why(downloaded));
  CHECK(downloaded->status == 200);
  CHECK(downloaded->body.empty());
  CHECK(streamed == payload);
  CHECK(calls > 1);

  streamed.clear();
  auto forbidden = t.send(make(http::method::get, "/v2/forbidden"), options, sink);
  REQUIRE_MESSAGE(forbidden, why(forbidden));
  CHECK(forbidden->status == 403);
  CHECK(forbidden->body == R"({"message":"no"})");
  CHECK(streamed.empty());

  curl::body_sink refusing = [](std::string_view) { return false; };
  auto stopped = t.send(make(http::method::get, "/v2/download"), options, refusing);
  REQUIRE(!stopped);
  CHECK(stopped.error().kind == error_kind::cancelled);
}

TEST_CASE("a refused connection is a retryable transport error that surely was not sent") {
  const int port = test::unused_port();
  curl::transport t(options_for("http://127.0.0.1:" + std::to_string(port) + "/api"));
  auto response = t.send(make(http::method::post, "/v2/batches", http::json_body{"{}"}));
  REQUIRE(!response);
  CHECK(response.error().kind == error_kind::transport);
  CHECK(response.error().not_sent);
  CHECK(response.error().retryable);
  CHECK(response.error().message.find("POST http://127.0.0.1:" + std::to_string(port) +
                                      "/api/v2/batches") != std::string::npos);
  CHECK(response.error().message.find("could not connect") != std::string::npos);
}

TEST_CASE("an unresolvable host is a transport error that surely was not sent") {
  curl::transport t(options_for("http://no-such-host.invalid/api"));
  auto response = t.send(make(http::method::get, "/v2/x"));
  REQUIRE(!response);
  CHECK(response.error().kind == error_kind::transport);
  CHECK(response.error().not_sent);
  CHECK(response.error().message.find("resolve") != std::string::npos);
}

TEST_CASE("a server slower than the time limit gives error_kind::timeout") {
  test::http_server server;
  std::atomic<int> entered{0};
  server.server().Get("/api/v2/slow", [&](const httplib::Request&, httplib::Response& res) {
    ++entered;
    server.stopping().sleep_for(5s);
    res.set_content("late", "text/plain");
  });
  REQUIRE(server.start());

  SUBCASE("send_options::timeout") {
    curl::transport t(options_for(server.root("/api")));
    aihub::send_options options;
    options.timeout = 300ms;
    auto start = std::chrono::steady_clock::now();
    auto response = t.send(make(http::method::get, "/v2/slow"), options);
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::timeout);
    CHECK(response.error().retryable);
    CHECK(!response.error().not_sent);  // the server had the request
    CHECK(entered == 1);
    CHECK(elapsed >= 250ms);
    CHECK(elapsed < 3s);
  }
  SUBCASE("transport_options::timeout is the default") {
    auto o = options_for(server.root("/api"));
    o.timeout = 300ms;
    curl::transport t(o);
    auto response = t.send(make(http::method::get, "/v2/slow"));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::timeout);
  }
  SUBCASE("the low-speed limit catches a stalled exchange") {
    auto o = options_for(server.root("/api"));
    o.timeout = 0ms;
    o.low_speed_limit_bytes_per_second = 1;
    o.low_speed_time = 1s;
    curl::transport t(o);
    auto response = t.send(make(http::method::get, "/v2/slow"));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::timeout);
  }
}

TEST_CASE("a stop request cancels the exchange promptly with error_kind::cancelled") {
  test::http_server server;
  std::atomic<bool> entered{false};
  server.server().Get("/api/v2/slow", [&](const httplib::Request&, httplib::Response& res) {
    entered = true;
    server.stopping().sleep_for(20s);
    res.set_content("late", "text/plain");
  });
  server.server().Get("/api/v2/fast", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("fast", "text/plain");
  });
  REQUIRE(server.start());
  // No low-speed check: nothing but the stop request itself can wake the idle transfer early.
  auto o = options_for(server.root("/api"));
  o.low_speed_limit_bytes_per_second = 0;
  curl::transport t(o);

  std::stop_source source;
  aihub::send_options options;
  options.stop = source.get_token();
  std::chrono::steady_clock::time_point stopped_at;
  std::thread canceller([&] {
    for (int i = 0; i < 500 && !entered; ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(50ms);
    stopped_at = std::chrono::steady_clock::now();
    source.request_stop();
  });
  auto response = t.send(make(http::method::get, "/v2/slow"), options);
  auto returned_at = std::chrono::steady_clock::now();
  canceller.join();
  REQUIRE(!response);
  CHECK(entered);
  CHECK(response.error().kind == error_kind::cancelled);
  CHECK(!response.error().not_sent);
  // The stop request wakes the transfer at once (the server would have taken 20 s).
  MESSAGE("stop latency: ",
          std::chrono::duration_cast<std::chrono::microseconds>(returned_at - stopped_at).count(),
          " us");
  CHECK(returned_at - stopped_at < 2s);

  // A stop already requested: nothing is sent at all.
  auto before = t.exchanges();
  auto early = t.send(make(http::method::get, "/v2/fast"), options);
  REQUIRE(!early);
  CHECK(early.error().kind == error_kind::cancelled);
  CHECK(early.error().not_sent);
  CHECK(t.exchanges() == before);

  // The transport stays usable after a cancelled exchange.
  auto after = t.send(make(http::method::get, "/v2/fast"));
  REQUIRE_MESSAGE(after, why(after));
  CHECK(after->body == "fast");
}

TEST_CASE("on_progress reports the whole upload and download") {
  test::http_server server;
  upload_sink sink;
  sink.install(server.server(), "/api/v2/upload");
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));

  const std::uint64_t length = 3u << 20;
  std::vector<aihub::transfer_progress> reports;
  aihub::send_options options;
  options.on_progress = [&](const aihub::transfer_progress& p) { reports.push_back(p); };
  auto reader = std::make_shared<pattern_reader>(length);
  auto response =
      t.send(make(http::method::put, "/v2/upload", http::reader_body{length, reader}), options);
  REQUIRE_MESSAGE(response, why(response));
  REQUIRE(!reports.empty());
  for (std::size_t i = 1; i < reports.size(); ++i) CHECK(reports[i].sent >= reports[i - 1].sent);
  CHECK(reports.front().send_total == length);
  const auto& last = reports.back();
  CHECK(last.sent == length);
  CHECK(last.send_total == length);
  CHECK(last.received == response->body.size());
  CHECK(last.receive_total == response->body.size());
}

TEST_CASE("verbose output goes to the sink with credentials redacted") {
  test::http_server server;
  server.server().Get("/api/v2/verbose", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Set-Cookie", "session=srv-cookie-secret-77; HttpOnly");
    res.set_content("hello", "text/plain");
  });
  REQUIRE(server.start());
  const std::string token = "sk-live-4f9a7c2e1b3d5f60";
  std::string captured;
  auto o = options_for(server.root("/api"));
  o.verbose = true;
  o.verbose_output = [&](std::string_view text) { captured.append(text); };
  curl::transport t(o);

  auto r = make(http::method::get, "/v2/verbose");
  r.headers.set("Authorization", "Bearer " + token);
  r.headers.set("Cookie", "sid=client-cookie-secret-42");
  auto response = t.send(r);
  REQUIRE_MESSAGE(response, why(response));
  CHECK(response->body == "hello");

  INFO(captured);
  CHECK(captured.find("> GET /api/v2/verbose HTTP/1.1") != std::string::npos);
  CHECK(captured.find("> Authorization: Bearer <redacted>") != std::string::npos);
  CHECK(captured.find("> Cookie: <redacted>") != std::string::npos);
  CHECK(captured.find("< Set-Cookie: <redacted>") != std::string::npos);
  CHECK(captured.find("< HTTP/1.1 200 OK") != std::string::npos);
  CHECK(captured.find("[5 bytes of response body]") != std::string::npos);
  CHECK(captured.find(token) == std::string::npos);
  CHECK(captured.find("client-cookie-secret-42") == std::string::npos);
  CHECK(captured.find("srv-cookie-secret-77") == std::string::npos);
}

TEST_CASE("an explicit proxy is used, and its password never reaches verbose output") {
  test::raw_server proxy([](const test::raw_request&) {
    return test::raw_reply{test::raw_server::ok_response("via proxy")};
  });
  REQUIRE(proxy.ok());
  std::string captured;
  auto o = options_for("http://api.example.invalid/api");
  o.proxy = "http://bob:proxypass99@127.0.0.1:" + std::to_string(proxy.port());
  o.verbose = true;
  o.verbose_output = [&](std::string_view text) { captured.append(text); };
  curl::transport t(o);
  auto response = t.send(make(http::method::get, "/v2/x"));
  REQUIRE_MESSAGE(response, why(response));
  CHECK(response->body == "via proxy");
  auto requests = proxy.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].request_line() == "GET http://api.example.invalid/api/v2/x HTTP/1.1");
  CHECK(requests[0].header("Proxy-Authorization") == "Basic Ym9iOnByb3h5cGFzczk5");
  INFO(captured);
  CHECK(!captured.empty());
  CHECK(captured.find("proxypass99") == std::string::npos);
  CHECK(captured.find("Ym9iOnByb3h5cGFzczk5") == std::string::npos);
}

TEST_CASE("a response cut short is a transport error") {
  SUBCASE("Content-Length larger than the body, then close") {
    test::raw_server server([](const test::raw_request&) {
      return test::raw_reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello", true};
    });
    REQUIRE(server.ok());
    curl::transport t(options_for(server.root()));
    auto response = t.send(make(http::method::get, "/v2/x"));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::transport);
    CHECK(!response.error().not_sent);
    CHECK(response.error().message.find("truncated") != std::string::npos);
  }
  SUBCASE("no answer at all") {
    test::raw_server server([](const test::raw_request&) { return test::raw_reply{"", true}; });
    REQUIRE(server.ok());
    curl::transport t(options_for(server.root()));
    auto response = t.send(make(http::method::get, "/v2/x"));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::transport);
    CHECK(response.error().retryable);
    CHECK(!response.error().not_sent);
    CHECK(response.error().message.find("without answering") != std::string::npos);
  }
}

TEST_CASE("a body is rewound when libcurl resends on a fresh connection") {
  // The server answers the first request, then drops the kept-alive connection after reading the
  // second one: libcurl retries it once on a new connection, replaying the body.
  std::atomic<int> count{0};
  test::raw_server server([&](const test::raw_request&) {
    int n = ++count;
    if (n == 2) return test::raw_reply{"", true};
    return test::raw_reply{test::raw_server::ok_response()};
  });
  REQUIRE(server.ok());
  curl::transport t(options_for(server.root()));
  REQUIRE(t.send(make(http::method::get, "/v2/warm-up")));

  SUBCASE("rewindable reader") {
    const std::uint64_t length = 100000;
    auto reader = std::make_shared<pattern_reader>(length);
    auto response =
        t.send(make(http::method::put, "/v2/upload", http::reader_body{length, reader}));
    REQUIRE_MESSAGE(response, why(response));
    CHECK(reader->rewinds == 1);
    auto requests = server.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[1].body == pattern_string(0, length));
    CHECK(requests[2].body == pattern_string(0, length));
    CHECK(requests[2].connection == 2);
    CHECK(t.connections_opened() == 2);
  }
  SUBCASE("a reader that cannot rewind fails instead of sending a partial body") {
    const std::uint64_t length = 100000;
    auto reader = std::make_shared<pattern_reader>(length, false);
    auto response =
        t.send(make(http::method::put, "/v2/upload", http::reader_body{length, reader}));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::transport);
    CHECK(server.requests().size() == 2);
  }
}

TEST_CASE("a POST goes out once: on a fresh connection, never resent by libcurl") {
  // The server reads the POST, then closes without a byte of answer, as a server does that
  // applied it and died. Resending it on a new connection could apply it twice.
  std::atomic<int> count{0};
  test::raw_server server([&](const test::raw_request&) {
    int n = ++count;
    if (n == 2) return test::raw_reply{"", true};
    return test::raw_reply{test::raw_server::ok_response()};
  });
  REQUIRE(server.ok());

  SUBCASE("by default") {
    curl::transport t(options_for(server.root()));
    REQUIRE(t.send(make(http::method::get, "/v2/warm-up")));
    auto response = t.send(make(http::method::post, "/v2/batches", http::json_body{"{}"}));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::transport);
    CHECK(!response.error().not_sent);
    auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].request_line() == "POST /v2/batches HTTP/1.1");
    CHECK(requests[1].connection == 2);  // not the warm-up's kept-alive connection
    // Later idempotent requests still reuse a kept-alive connection.
    REQUIRE(t.send(make(http::method::get, "/v2/after")));
    CHECK(server.requests().back().connection == 1);
  }
  SUBCASE("reuse_connections_for_post lets libcurl resend it") {
    auto o = options_for(server.root());
    o.reuse_connections_for_post = true;
    curl::transport t(o);
    REQUIRE(t.send(make(http::method::get, "/v2/warm-up")));
    auto response = t.send(make(http::method::post, "/v2/batches", http::json_body{"{}"}));
    REQUIRE_MESSAGE(response, why(response));
    auto requests = server.requests();
    REQUIRE(requests.size() == 3);  // received twice: what the default rules out
    CHECK(requests[1].connection == 1);
    CHECK(requests[2].connection == 2);
  }
}

TEST_CASE("TLS: verified by default, trusted through ca_bundle, skippable only explicitly") {
  const std::string data = AIHUB_CURL_TEST_DATA;
  test::http_server server(data + "/localhost-cert.pem", data + "/localhost-key.pem");
  server.server().Get("/api/v2/secure", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("secure", "text/plain");
  });
  REQUIRE(server.start());
  const std::string root = server.root("/api", "https");

  SUBCASE("an unknown certificate is refused") {
    curl::transport t(options_for(root));
    auto response = t.send(make(http::method::get, "/v2/secure"));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::transport);
    CHECK(response.error().not_sent);
    CHECK(!response.error().retryable);
    CHECK(response.error().message.find("certificate") != std::string::npos);
  }
  SUBCASE("ca_bundle trusts it") {
    auto o = options_for(root);
    o.ca_bundle = data + "/localhost-cert.pem";
    curl::transport t(o);
    auto response = t.send(make(http::method::get, "/v2/secure"));
    REQUIRE_MESSAGE(response, why(response));
    CHECK(response->body == "secure");
  }
  SUBCASE("the host name is checked too") {
    // The same trusted certificate served on 127.0.0.2, an address its subjectAltName does not
    // list.
    test::http_server other(data + "/localhost-cert.pem", data + "/localhost-key.pem");
    other.server().Get("/api/v2/secure", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("secure", "text/plain");
    });
    REQUIRE(other.start("127.0.0.2"));
    auto o = options_for(other.root("/api", "https"));
    o.ca_bundle = data + "/localhost-cert.pem";
    curl::transport t(o);
    auto response = t.send(make(http::method::get, "/v2/secure"));
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::transport);
    CHECK(response.error().not_sent);
    CHECK(response.error().message.find("could not be verified") != std::string::npos);
  }
  SUBCASE("insecure_skip_tls_verification") {
    auto o = options_for(root);
    o.insecure_skip_tls_verification = true;
    curl::transport t(o);
    auto response = t.send(make(http::method::get, "/v2/secure"));
    REQUIRE_MESSAGE(response, why(response));
    CHECK(response->body == "secure");
  }
}

TEST_CASE("bad requests are refused before anything reaches the network") {
  test::raw_server server(
      [](const test::raw_request&) { return test::raw_reply{test::raw_server::ok_response()}; });
  REQUIRE(server.ok());
  curl::transport t(options_for(server.root("/api")));

  auto injected = make(http::method::get, "/v2/x");
  injected.headers.set("X-Note", "a\r\nAuthorization: Bearer stolen");
  auto mismatched = make(http::method::post, "/v2/x", http::json_body{"{}"});
  mismatched.headers.set("Content-Length", "10");
  auto head_with_body = make(http::method::head, "/v2/x", http::json_body{"{}"});
  auto spaced = make(http::method::get, "/v2/a b");
  for (const auto& request : {injected, mismatched, head_with_body, spaced}) {
    auto response = t.send(request);
    REQUIRE(!response);
    CHECK(response.error().kind == error_kind::validation);
    CHECK(response.error().not_sent);
  }
  curl::transport wrong_root(options_for("ftp://127.0.0.1/api"));
  auto response = wrong_root.send(make(http::method::get, "/v2/x"));
  REQUIRE(!response);
  CHECK(response.error().kind == error_kind::validation);
  CHECK(response.error().field == "api_root");

  CHECK(t.exchanges() == 0);
  CHECK(server.requests().empty());
}

TEST_CASE("one transport refuses to be used twice at once") {
  test::http_server server;
  upload_sink sink;
  sink.install(server.server(), "/api/v2/upload");
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));

  std::optional<aihub::result<http::response>> nested;
  aihub::send_options options;
  options.on_progress = [&](const aihub::transfer_progress&) {
    if (!nested) nested.emplace(t.send(make(http::method::get, "/v2/other")));
  };
  auto response = t.send(make(http::method::put, "/v2/upload", http::json_body{"{}"}), options);
  REQUIRE_MESSAGE(response, why(response));
  REQUIRE(nested.has_value());
  REQUIRE(!*nested);
  CHECK(nested->error().kind == error_kind::validation);
  CHECK(nested->error().message.find("one transport per thread") != std::string::npos);
}

TEST_CASE("one transport per thread: parallel uploads") {
  test::http_server server;
  std::atomic<std::uint64_t> total{0};
  server.server().Put("/api/v2/part", [&](const httplib::Request& req, httplib::Response& res) {
    total += req.body.size();
    res.set_content(std::to_string(req.body.size()), "text/plain");
  });
  REQUIRE(server.start());
  const auto options = options_for(server.root("/api"));
  const std::string part(256 * 1024, 'p');
  std::atomic<int> succeeded{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&] {
      curl::transport t(options);
      for (int i = 0; i < 4; ++i) {
        auto r =
            t.send(make(http::method::put, "/v2/part",
                        http::bytes_view_body{std::as_bytes(std::span(part.data(), part.size()))}));
        if (r && r->status == 200 && r->body == std::to_string(part.size())) ++succeeded;
      }
    });
  for (auto& w : workers) w.join();
  CHECK(succeeded == 16);
  CHECK(total == 16 * part.size());
}

TEST_CASE("a moved-from transport fails cleanly and the moved-to one works") {
  test::http_server server;
  server.server().Get("/api/v2/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("x", "text/plain");
  });
  REQUIRE(server.start());
  curl::transport a(options_for(server.root("/api")));
  curl::transport b(std::move(a));
  CHECK(b.valid());
  auto ok = b.send(make(http::method::get, "/v2/x"));
  REQUIRE_MESSAGE(ok, why(ok));
  CHECK(ok->body == "x");
  CHECK(!a.valid());  // NOLINT(bugprone-use-after-move): checking the documented moved-from state
  auto refused = a.send(make(http::method::get, "/v2/x"));  // NOLINT(bugprone-use-after-move)
  REQUIRE(!refused);
  CHECK(refused.error().kind == error_kind::transport);
}

TEST_CASE("a connect that times out is a timeout that surely was not sent") {
  test::stalled_listener listener;
  REQUIRE(listener.ok());
  auto o = options_for("http://127.0.0.1:" + std::to_string(listener.port()) + "/api");
  o.connect_timeout = 300ms;
  curl::transport t(o);
  auto start = std::chrono::steady_clock::now();
  auto response = t.send(make(http::method::post, "/v2/x", http::json_body{"{}"}));
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(!response);
  CHECK(response.error().kind == error_kind::timeout);
  CHECK(response.error().not_sent);
  CHECK(response.error().retryable);
  CHECK(elapsed < 5s);  // connect_timeout, not the 30 s overall limit
}

namespace {
/// A body source that fails (or throws) after its first chunk.
class failing_reader : public http::byte_reader {
 public:
  explicit failing_reader(bool throw_instead) : throw_(throw_instead) {}
  aihub::result<std::size_t> read(std::span<std::byte> out) override {
    if (calls_++ == 0) {
      std::fill(out.begin(), out.end(), std::byte{'a'});
      return out.size();
    }
#if AIHUB_HAS_EXCEPTIONS
    if (throw_) throw std::runtime_error("reader exploded");
#endif
    return aihub::make_error(error_kind::protocol, "the source broke off");
  }

 private:
  [[maybe_unused]] bool throw_;  // only read when exceptions are enabled
  int calls_ = 0;
};
}  // namespace

TEST_CASE("a failing body source ends the exchange with the source's own error") {
  test::http_server server;
  upload_sink sink;
  sink.install(server.server(), "/api/v2/upload");
  REQUIRE(server.start());
  curl::transport t(options_for(server.root("/api")));

  auto broken = t.send(make(http::method::put, "/v2/upload",
                            http::reader_body{10u << 20, std::make_shared<failing_reader>(false)}));
  REQUIRE(!broken);
  CHECK(broken.error().kind == error_kind::protocol);
  CHECK(broken.error().message == "the source broke off");
#if AIHUB_HAS_EXCEPTIONS
  auto threw = t.send(make(http::method::put, "/v2/upload",
                           http::reader_body{10u << 20, std::make_shared<failing_reader>(true)}));
  REQUIRE(!threw);
  CHECK(threw.error().kind == error_kind::transport);
  CHECK(threw.error().message.find("exception") != std::string::npos);
#endif
  // The transport is still usable.
  auto fine = t.send(make(http::method::put, "/v2/upload", http::json_body{"{}"}));
  REQUIRE_MESSAGE(fine, why(fine));
  CHECK(fine->body == "2");  // the byte count the server read for this upload
}
