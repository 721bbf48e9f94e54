// aihub::curl::multi_transport over real loopback HTTP. Included first: the header must stand on
// its own.
#include <aihub/curl/multi_transport.hpp>

#include <doctest/doctest.h>

#include <aihub/client.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
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

namespace {

/// Collects the outcomes of async sends and counts handler calls per slot.
class outcomes {
 public:
  explicit outcomes(std::size_t n) : results_(n), calls_(n, 0) {}

  aihub::completion_handler slot(std::size_t i) {
    return [this, i](aihub::result<http::response> r) {
      std::lock_guard lock(mutex_);
      ++calls_[i];
      results_[i].emplace(std::move(r));
      ++finished_;
      done_.notify_all();
    };
  }
  /// Waits until `n` handlers ran, or the deadline passes; true when they all did.
  bool wait_for(std::size_t n, std::chrono::milliseconds deadline = 20s) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, deadline, [&] { return finished_ >= n; });
  }
  const aihub::result<http::response>& at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return *results_[i];
  }
  bool has(std::size_t i) {
    std::lock_guard lock(mutex_);
    return results_[i].has_value();
  }
  int calls(std::size_t i) {
    std::lock_guard lock(mutex_);
    return calls_[i];
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<std::optional<aihub::result<http::response>>> results_;
  std::vector<int> calls_;
  std::size_t finished_ = 0;
};

/// A server whose /api/v2/slow?ms=N answers N milliseconds later (or when the test ends), echoing
/// ?id=, and which records how many requests it held at once.
struct slow_server {
  test::http_server server;
  std::atomic<int> in_flight{0};
  std::atomic<int> most_in_flight{0};
  std::atomic<int> entered{0};

  slow_server() {
    server.server().Get("/api/v2/slow", [this](const httplib::Request& req,
                                               httplib::Response& res) {
      int now = ++in_flight;
      ++entered;
      int seen = most_in_flight.load();
      while (now > seen && !most_in_flight.compare_exchange_weak(seen, now)) {
      }
      server.stopping().sleep_for(std::chrono::milliseconds(std::stoi(req.get_param_value("ms"))));
      --in_flight;
      res.set_content(req.get_param_value("id"), "text/plain");
    });
  }
  bool start() { return server.start(); }
  std::string root() const { return server.root("/api"); }
};

}  // namespace

TEST_CASE("multi_transport runs exchanges in parallel and calls each handler once") {
  slow_server server;
  REQUIRE(server.start());
  curl::multi_transport t(test::options_for(server.root()));
  REQUIRE(t.valid());

  constexpr std::size_t n = 8;
  std::vector<http::request> requests;
  for (std::size_t i = 0; i < n; ++i)
    requests.push_back(test::make(http::method::get, "/v2/slow?ms=300&id=" + std::to_string(i)));
  outcomes out(n);
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) t.async_send(requests[i], {}, out.slot(i));
  REQUIRE(out.wait_for(n));
  auto elapsed = std::chrono::steady_clock::now() - start;

  for (std::size_t i = 0; i < n; ++i) {
    CAPTURE(i);
    const auto& r = out.at(i);
    REQUIRE_MESSAGE(r, test::why(r));
    CHECK(r->status == 200);
    CHECK(r->body == std::to_string(i));
  }
  std::this_thread::sleep_for(50ms);  // a second call, if any, would have landed by now
  for (std::size_t i = 0; i < n; ++i) CHECK(out.calls(i) == 1);
  CHECK(server.most_in_flight >= 4);  // they overlapped at the server
  CHECK(elapsed < 2s);                // one after the other they take 2.4 s
  CHECK(t.exchanges() == n);
}

TEST_CASE("multi_transport: sequential exchanges reuse one connection") {
  test::http_server server;
  server.server().Get("/api/v2/port", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::to_string(req.remote_port), "text/plain");
  });
  REQUIRE(server.start());
  curl::multi_transport t(test::options_for(server.root("/api")));
  auto first = t.send(test::make(http::method::get, "/v2/port"));
  REQUIRE_MESSAGE(first, test::why(first));
  auto second = t.send(test::make(http::method::get, "/v2/port"));
  REQUIRE_MESSAGE(second, test::why(second));
  CHECK(first->body == second->body);
  CHECK(t.connections_opened() == 1);
}

TEST_CASE("multi_transport: a POST whose answer is lost is received once, never resent") {
  std::atomic<int> count{0};
  test::raw_server server([&](const test::raw_request&) {
    if (++count == 2) return test::raw_reply{"", true};  // read, then closed without an answer
    return test::raw_reply{test::raw_server::ok_response()};
  });
  REQUIRE(server.ok());
  curl::multi_transport t(test::options_for(server.root()));
  REQUIRE(t.send(test::make(http::method::get, "/v2/warm-up")));
  auto lost = t.send(test::make(http::method::post, "/v2/batches", http::json_body{"{}"}));
  REQUIRE(!lost);
  CHECK(lost.error().kind == error_kind::transport);
  CHECK(!lost.error().not_sent);
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].connection == 2);  // a fresh connection, so libcurl has nothing to resend
}

TEST_CASE("multi_transport: a client is built around it in place and drives calls through it") {
  test::http_server server;
  server.server().Post("/api/v2/batches", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"id":42})", "application/json");
  });
  REQUIRE(server.start());
  aihub::settings s;
  s.api_root = server.root("/api");
  s.token = "multi-token";
  aihub::client<curl::multi_transport> c(s, {}, std::in_place,
                                         test::options_for(server.root("/api")));
  auto made = c.call(aihub::create_batch{.name = "through-multi"});
  REQUIRE_MESSAGE(made, (made ? "" : made.error().describe()));
  CHECK(made->id == 42);
}

TEST_CASE("multi_transport: the blocking send is safe from many threads at once") {
  test::http_server server;
  std::atomic<std::uint64_t> total{0};
  std::atomic<int> in_flight{0}, most_in_flight{0};
  server.server().Put("/api/v2/part", [&](const httplib::Request& req, httplib::Response& res) {
    int now = ++in_flight;
    int seen = most_in_flight.load();
    while (now > seen && !most_in_flight.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(20ms);
    --in_flight;
    total += req.body.size();
    res.set_content(std::to_string(req.body.size()), "text/plain");
  });
  REQUIRE(server.start());
  curl::multi_transport t(test::options_for(server.root("/api")), {.max_connections = 3});
  const std::string part(100000, 'q');
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto r = t.send(
            test::make(http::method::put, "/v2/part",
                       http::bytes_view_body{std::as_bytes(std::span(part.data(), part.size()))}));
        if (r && r->status == 200 && r->body == std::to_string(part.size())) ++succeeded;
      }
    });
  for (auto& thread : threads) thread.join();
  CHECK(succeeded == 20);
  CHECK(total == 20 * part.size());
  CHECK(t.exchanges() == 20);
  CHECK(most_in_flight >= 2);  // the threads' exchanges overlapped...
  CHECK(most_in_flight <= 3);  // ...on at most max_connections connections
}

TEST_CASE("multi_transport: a large upload streams with the right bytes and progress") {
  test::http_server server;
  test::upload_sink sink;
  sink.install(server.server(), "/api/v2/upload");
  REQUIRE(server.start());
  curl::multi_transport t(test::options_for(server.root("/api")));
  test::temp_file file;
  const std::uint64_t offset = 777, length = 16u << 20;
  REQUIRE(file.fill_with_pattern(offset + length + 10));

  std::vector<aihub::transfer_progress> reports;  // written by the worker, read after completion
  aihub::send_options options;
  options.on_progress = [&](const aihub::transfer_progress& p) { reports.push_back(p); };
  auto r = t.send(
      test::make(http::method::put, "/v2/upload", http::file_slice{file.path(), offset, length}),
      options);
  REQUIRE_MESSAGE(r, test::why(r));
  CHECK(sink.bytes == length);
  CHECK(sink.checksum == test::pattern_checksum(offset, length));
  REQUIRE(!reports.empty());
  CHECK(reports.back().sent == length);
  CHECK(reports.back().send_total == length);
}

TEST_CASE("multi_transport: a stop request cancels only its own exchange") {
  slow_server server;
  REQUIRE(server.start());
  auto o = test::options_for(server.root());
  o.low_speed_limit_bytes_per_second = 0;
  curl::multi_transport t(o);

  auto slow = test::make(http::method::get, "/v2/slow?ms=20000&id=slow");
  auto quick = test::make(http::method::get, "/v2/slow?ms=500&id=quick");
  std::stop_source source;
  aihub::send_options cancellable;
  cancellable.stop = source.get_token();
  outcomes out(2);
  t.async_send(slow, cancellable, out.slot(0));
  t.async_send(quick, {}, out.slot(1));
  for (int i = 0; i < 500 && server.entered < 2; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(server.entered == 2);
  auto stopped_at = std::chrono::steady_clock::now();
  source.request_stop();
  REQUIRE(out.wait_for(1, 5s));
  CHECK(std::chrono::steady_clock::now() - stopped_at < 2s);
  REQUIRE(out.has(0));
  REQUIRE(!out.at(0));
  CHECK(out.at(0).error().kind == error_kind::cancelled);
  REQUIRE(out.wait_for(2));
  const auto& other = out.at(1);
  REQUIRE_MESSAGE(other, test::why(other));
  CHECK(other->body == "quick");
}

TEST_CASE("multi_transport: destruction ends unfinished exchanges with error_kind::cancelled") {
  slow_server server;
  REQUIRE(server.start());
  auto slow = test::make(http::method::get, "/v2/slow?ms=20000&id=slow");
  outcomes out(3);
  auto start = std::chrono::steady_clock::now();
  {
    curl::multi_transport t(test::options_for(server.root()));
    for (std::size_t i = 0; i < 3; ++i) t.async_send(slow, {}, out.slot(i));
    for (int i = 0; i < 500 && server.entered < 3; ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(server.entered == 3);
  }
  // Every handler ran before the destructor returned.
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    REQUIRE(out.has(i));
    REQUIRE(!out.at(i));
    CHECK(out.at(i).error().kind == error_kind::cancelled);
    CHECK(out.calls(i) == 1);
  }
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE(
    "multi_transport: requests refused up front get their handler before async_send returns") {
  curl::multi_transport t(test::options_for("http://127.0.0.1:1/api"));
  outcomes out(3);

  auto injected = test::make(http::method::get, "/v2/x");
  injected.headers.set("X-Bad", "a\nb");
  t.async_send(injected, {}, out.slot(0));
  REQUIRE(out.has(0));
  REQUIRE(!out.at(0));
  CHECK(out.at(0).error().kind == error_kind::validation);
  CHECK(out.at(0).error().not_sent);

  std::stop_source source;
  source.request_stop();
  aihub::send_options stopped;
  stopped.stop = source.get_token();
  auto fine = test::make(http::method::get, "/v2/x");
  t.async_send(fine, stopped, out.slot(1));
  REQUIRE(out.has(1));
  REQUIRE(!out.at(1));
  CHECK(out.at(1).error().kind == error_kind::cancelled);
  CHECK(out.at(1).error().not_sent);
  CHECK(t.exchanges() == 0);
}

TEST_CASE("multi_transport: errors map as with the blocking transport") {
  const int port = test::unused_port();
  curl::multi_transport t(test::options_for("http://127.0.0.1:" + std::to_string(port) + "/api"));
  auto r = t.send(test::make(http::method::get, "/v2/x"));
  REQUIRE(!r);
  CHECK(r.error().kind == error_kind::transport);
  CHECK(r.error().not_sent);
  CHECK(r.error().retryable);
}

TEST_CASE("multi_transport: handlers may chain async_send but not the blocking send") {
  test::http_server server;
  server.server().Get("/api/v2/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.get_param_value("id"), "text/plain");
  });
  REQUIRE(server.start());
  curl::multi_transport t(test::options_for(server.root("/api")));

  auto first = test::make(http::method::get, "/v2/echo?id=1");
  auto second = test::make(http::method::get, "/v2/echo?id=2");
  outcomes out(2);
  std::optional<aihub::result<http::response>> nested_blocking;
  auto then_second = out.slot(0);
  t.async_send(first, {}, [&](aihub::result<http::response> r) {
    nested_blocking.emplace(t.send(second));  // would deadlock: refused
    t.async_send(second, {}, out.slot(1));    // chaining: fine
    then_second(std::move(r));
  });
  REQUIRE(out.wait_for(2));
  REQUIRE_MESSAGE(out.at(0), test::why(out.at(0)));
  CHECK(out.at(0)->body == "1");
  REQUIRE_MESSAGE(out.at(1), test::why(out.at(1)));
  CHECK(out.at(1)->body == "2");
  REQUIRE(nested_blocking.has_value());
  REQUIRE(!*nested_blocking);
  CHECK(nested_blocking->error().kind == error_kind::validation);
}
