// The transport boundary: a complete custom transport in about 30 lines over an in-memory fake
// server, an asynchronous transport driving the same operations, and body_stream over every body
// kind.
#include <doctest/doctest.h>

#include <aihub/aihub.hpp>
#include <cstdio>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace aihub;

namespace {

// A toy AI Hub: batches hold files. Enough to prove that any code can serve the descriptions.
struct in_memory_hub {
  std::map<std::int64_t, std::map<std::string, std::string>> batches;
  std::int64_t next_id = 1;

  http::response handle(const http::request& r) {
    if (r.verb == http::method::post && r.target == "/v2/batches") {
      batches[next_id];
      return {200,
              {{"Content-Type", "application/json"}},
              "{\"id\":" + std::to_string(next_id++) + "}"};
    }
    std::int64_t id = 0;
    char name[256] = {};
    if (r.verb == http::method::put &&
        std::sscanf(r.target.c_str(), "/v2/batches/%ld/files/%255s", &id, name) == 2) {
      if (!batches.count(id)) return {404, {}, R"({"message":"no such batch"})"};
      std::string content;
      http::body_stream in(r.body);
      std::byte buf[7];  // deliberately tiny: reads many chunks
      for (;;) {
        auto n = in.read(buf);
        if (!n || *n == 0) break;
        content.append(reinterpret_cast<const char*>(buf), *n);
      }
      batches[id][*url::decode(name)] = content;
      return {204, {}, ""};
    }
    return {404, {}, R"({"message":"unknown route"})"};
  }
};

// ---- the custom transport: everything a user has to write ----
struct loopback_transport {
  in_memory_hub* hub;
  std::vector<http::request> sent;

  result<http::response> send(const http::request& request, const send_options& options) {
    if (options.stop.stop_requested())
      return make_error(error_kind::cancelled, "stopped before sending");
    sent.push_back(request);
    return hub->handle(request);
  }
};
static_assert(transport<loopback_transport>);
// ---- end of the custom transport ----

// An asynchronous transport: completes on another thread.
struct threaded_transport {
  in_memory_hub* hub;
  std::vector<std::thread> workers;

  void async_send(const http::request& request, const send_options&, completion_handler done) {
    workers.emplace_back([this, &request, done = std::move(done)] { done(hub->handle(request)); });
  }
  ~threaded_transport() {
    for (auto& w : workers) w.join();
  }
};
static_assert(async_transport<threaded_transport>);
static_assert(!transport<threaded_transport>);
static_assert(!async_transport<loopback_transport>);

settings hub_settings() {
  settings s;
  s.token = "t0ken";
  return s;
}

}  // namespace

TEST_CASE("a 30-line custom transport runs the operations end to end") {
  in_memory_hub hub;
  loopback_transport t{&hub, {}};
  auto created = execute(t, create_batch{.name = "docs"}, hub_settings());
  REQUIRE(created);
  CHECK(created->id == 1);

  const std::string text = "hello, in-memory world";
  auto uploaded =
      execute(t,
              upload_file{.batch_id = created->id,
                          .name = "greeting.txt",
                          .content = http::bytes_view_body{std::as_bytes(std::span(text))}},
              hub_settings());
  REQUIRE(uploaded);
  CHECK(hub.batches[1]["greeting.txt"] == text);
  REQUIRE(t.sent.size() == 2);
  CHECK(t.sent[1].headers.get("Authorization") == "Bearer t0ken");

  auto missing =
      execute(t,
              upload_file{.batch_id = 99,
                           .name = "x",
                           .content = http::bytes_view_body{std::as_bytes(std::span(text))}},
              hub_settings());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().http_status == 404);
  CHECK(missing.error().server_message == "no such batch");
  CHECK(missing.error().operation == "addFileToBatch");

  // Validation fails before the transport sees anything.
  auto refused = execute(t, create_batch{.name = std::string()}, hub_settings());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == error_kind::validation);
  CHECK(refused.error().operation == "createBatch");
  CHECK(t.sent.size() == 3);

  std::stop_source stop;
  stop.request_stop();
  auto cancelled = execute(t, get_batch{.batch_id = 1}, hub_settings(), {},
                           send_options{.stop = stop.get_token()});
  REQUIRE_FALSE(cancelled);
  CHECK(cancelled.error().kind == error_kind::cancelled);
  CHECK(cancelled.error().operation == "getBatch");
}

TEST_CASE("an asynchronous transport uses the same request and decode steps") {
  in_memory_hub hub;
  auto request = build_request(create_batch{.name = "async"}, hub_settings());
  REQUIRE(request);
  std::promise<result<batch>> outcome;
  {
    threaded_transport t{&hub, {}};
    t.async_send(*request, {}, [&](result<http::response> response) {
      if (!response)
        outcome.set_value(std::move(response).error());
      else
        outcome.set_value(decode_response(create_batch{.name = "async"}, *response));
    });
  }
  auto created = outcome.get_future().get();
  REQUIRE(created);
  CHECK(created->id == 1);
}

TEST_CASE("body_stream reads every body kind with its declared length") {
  auto drain = [](const http::body& b, std::size_t chunk) -> result<std::string> {
    http::body_stream in(b);
    std::string out;
    std::vector<std::byte> buf(chunk);
    for (;;) {
      auto n = in.read(buf);
      if (!n) return std::move(n).error();
      if (*n == 0) break;
      out.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    CHECK(in.position() == in.size());
    return out;
  };

  CHECK(*drain(http::no_body{}, 4) == "");
  CHECK(*drain(http::json_body{R"({"a":1})"}, 3) == R"({"a":1})");
  const std::string bytes = "0123456789";
  CHECK(*drain(http::bytes_view_body{std::as_bytes(std::span(bytes))}, 4) == bytes);

  std::string path = "aihub_body_stream_test.bin";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    std::fputs("abcdefghijklmnopqrstuvwxyz", f);
    std::fclose(f);
  }
  CHECK(*drain(http::file_slice{path, 10, 5}, 2) == "klmno");
  CHECK(*drain(http::file_slice{path, 0, 26}, 1000) == "abcdefghijklmnopqrstuvwxyz");

  // A file shorter than the declared slice is an error, never a silently short body.
  auto short_file = drain(http::file_slice{path, 20, 10}, 4);
  REQUIRE_FALSE(short_file);
  CHECK(short_file.error().message.find("declared") != std::string::npos);
  auto absent = drain(http::file_slice{"no/such/file.bin", 0, 3}, 4);
  REQUIRE_FALSE(absent);
  CHECK(absent.error().message.find("cannot open") != std::string::npos);

  // A file slice rewinds to its own offset.
  http::body slice = http::file_slice{path, 3, 4};
  http::body_stream in(slice);
  std::byte buf[2];
  REQUIRE(*in.read(buf) == 2);
  CHECK(in.rewindable());
  REQUIRE(in.rewind());
  REQUIRE(*in.read(buf) == 2);
  CHECK(static_cast<char>(buf[0]) == 'd');
  std::remove(path.c_str());

  struct counting_reader : http::byte_reader {
    std::uint64_t produced = 0;
    result<std::size_t> read(std::span<std::byte> out) override {
      for (auto& b : out) b = std::byte{'z'};
      produced += out.size();
      return out.size();
    }
  };
  auto reader = std::make_shared<counting_reader>();
  auto produced = drain(http::reader_body{1000, reader}, 64);
  REQUIRE(produced);
  CHECK(produced->size() == 1000);
  CHECK(reader->produced == 1000);  // never asked for more than the declared length
  http::body rb = http::reader_body{10, reader};
  CHECK_FALSE(http::body_stream(rb).rewindable());
}
