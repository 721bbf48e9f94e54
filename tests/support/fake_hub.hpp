#pragma once
// Test support: an in-memory AI Hub (just enough of the Batches API for the flows) behind a
// recording transport that can inject a fault on chosen calls, and a fake clock whose sleeps
// advance time instead of waiting. Thread-safe, so the parallel driver can use it from several
// workers.

#include <aihub/aihub.hpp>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace aihub_test {

using namespace aihub;

struct fake_hub {
  struct session {
    std::int64_t batch_id;
    std::string name;
    std::uint64_t size;
    std::map<std::int64_t, std::string> parts;
  };
  std::mutex m;
  std::map<std::int64_t, std::map<std::string, std::string>> batches;
  /// Unix seconds each file was stored at, listed as its modified_timestamp (files a test puts
  /// into `batches` directly have none).
  std::map<std::int64_t, std::map<std::string, std::int64_t>> stored_at;
  std::map<std::string, session> sessions;
  std::map<std::string, int> job_polls;
  std::int64_t next_batch = 1;
  int next_session = 1;
  std::int64_t part_size = 10;
  std::int64_t page_size = 2;
  int polls_until_done = 2;
  std::string final_job_state = "COMPLETE";

  static std::string read_body(const http::body& b) {
    std::string out;
    http::body_stream in(b);
    std::byte buf[4096];
    for (;;) {
      auto n = in.read(buf);
      if (!n || *n == 0) break;
      out.append(reinterpret_cast<const char*>(buf), *n);
    }
    return out;
  }
  static http::response json(int status, std::string body) {
    return {status, {{"Content-Type", "application/json"}}, std::move(body)};
  }
  static http::response message(int status, const std::string& text) {
    return json(status, R"({"message":")" + text + R"("})");
  }

  http::response handle(const http::request& r) {
    std::lock_guard lock(m);
    const std::string t = r.target.str();
    std::int64_t id = 0;
    char rest[512] = {};
    if (r.verb == http::method::post && t == "/v2/batches") {
      batches[next_batch];
      return json(200, "{\"id\":" + std::to_string(next_batch++) + "}");
    }
    if (r.verb == http::method::put &&
        std::sscanf(t.c_str(), "/v2/batches/%ld/files/%511s", &id, rest) == 2) {
      if (!batches.count(id)) return message(404, "no such batch");
      const std::string name = *url::decode(rest);
      batches[id][name] = read_body(r.body);
      stored_at[id][name] = static_cast<std::int64_t>(std::time(nullptr));
      return {204, {}, ""};
    }
    if (r.verb == http::method::get && std::sscanf(t.c_str(), "/v2/batches/%ld/files", &id) == 1) {
      if (!batches.count(id)) return message(404, "no such batch");
      std::size_t start = 0;
      if (auto at = t.find("start_token="); at != std::string::npos)
        start = std::stoul(t.substr(at + 12));
      const auto& files = batches[id];
      std::string body = R"({"nodes":[)";
      std::size_t index = 0, shown = 0;
      for (const auto& [name, content] : files) {
        if (index++ < start) continue;
        if (shown == static_cast<std::size_t>(page_size)) break;
        if (shown++) body += ",";
        body += R"({"name":")" + name + R"(","metadata":{"size":)" + std::to_string(content.size());
        if (auto at = stored_at[id].find(name); at != stored_at[id].end())
          body += R"(,"modified_timestamp":)" + std::to_string(at->second);
        body += "}}";
      }
      bool more = start + shown < files.size();
      body += "],\"has_more\":" + std::string(more ? "true" : "false");
      if (more) body += ",\"next_page_token\":\"" + std::to_string(start + shown) + "\"";
      return json(200, body + "}");
    }
    if (r.verb == http::method::post && t == "/v2/batches/multipart-upload") {
      std::string body = std::get<http::json_body>(r.body).text;
      std::int64_t batch = 0, size = 0;
      char name[256] = {};
      std::sscanf(body.c_str(), R"({"batch_id":%ld,"filename":"%255[^"]","file_size":%ld})", &batch,
                  name, &size);
      std::string sid = "s" + std::to_string(next_session++);
      sessions[sid] = session{batch, name, static_cast<std::uint64_t>(size), {}};
      return {201,
              {{"Location", "http://hub/api/v2/batches/multipart-upload/sessions/" + sid}},
              R"({"session_id":")" + sid + R"(","part_size":)" + std::to_string(part_size) + "}"};
    }
    char sid[128] = {};
    std::int64_t part = 0;
    if (r.verb == http::method::put &&
        std::sscanf(t.c_str(), "/v2/batches/multipart-upload/sessions/%127[^/]/parts/%ld", sid,
                    &part) == 2) {
      auto it = sessions.find(sid);
      if (it == sessions.end()) return message(404, "no such session");
      it->second.parts[part] = read_body(r.body);
      return json(201, R"({"part_id":"id-)" + std::to_string(part) + R"(","part_num":)" +
                           std::to_string(part) + "}");
    }
    if (r.verb == http::method::post &&
        std::sscanf(t.c_str(), "/v2/batches/multipart-upload/sessions/%127s", sid) == 1) {
      auto it = sessions.find(sid);
      if (it == sessions.end()) return message(404, "no such session");
      std::string body = std::get<http::json_body>(r.body).text;
      if (body.find("\"abort\"") == std::string::npos) {
        std::string content;
        for (auto& [n, bytes] : it->second.parts) content += bytes;
        if (content.size() != it->second.size) return message(400, "size mismatch");
        batches[it->second.batch_id][it->second.name] = content;
        stored_at[it->second.batch_id][it->second.name] =
            static_cast<std::int64_t>(std::time(nullptr));
      }
      sessions.erase(it);
      return {201, {}, ""};
    }
    if (r.verb == http::method::get && t.rfind("/v2/batches/jobs/", 0) == 0) {
      int& polls = job_polls[t];
      ++polls;
      std::string state =
          polls > polls_until_done ? final_job_state : (polls == 1 ? "PENDING" : "RUNNING");
      return json(200, R"({"state":")" + state + R"(","message":"job says hi"})");
    }
    return message(404, "unknown route " + t);
  }
};

/// A transport over fake_hub that records every request and can answer the Nth call (1-based) with
/// an injected fault instead.
struct recording_transport {
  using fault =
      std::function<std::optional<result<http::response>>(std::size_t call, const http::request&)>;

  struct shared_state {
    std::mutex m;
    std::vector<http::request> sent;
    std::vector<std::shared_ptr<fault>> faults;
    std::atomic<int> in_flight{0};
    std::atomic<int> max_in_flight{0};
  };

  fake_hub* hub;
  std::shared_ptr<shared_state> state = std::make_shared<shared_state>();

  result<http::response> send(const http::request& request, const send_options& options) {
    if (options.stop.stop_requested()) return make_error(error_kind::cancelled, "stopped");
    std::size_t index;
    std::vector<std::shared_ptr<fault>> faults;
    {
      std::lock_guard lock(state->m);
      state->sent.push_back(request);
      index = state->sent.size();
      faults = state->faults;
    }
    int now = ++state->in_flight;
    int seen = state->max_in_flight.load();
    while (now > seen && !state->max_in_flight.compare_exchange_weak(seen, now)) {
    }
    struct guard {
      std::atomic<int>& n;
      ~guard() { --n; }
    } g{state->in_flight};
    for (const auto& f : faults)
      if (auto injected = (*f)(index, request)) return *injected;
    // A real transport fails the request when its body cannot be read to the end (a source that
    // changed under it), and the server never sees it: so does this one.
    if (auto* streamed = std::get_if<http::reader_body>(&request.body);
        streamed && streamed->reader->can_rewind()) {
      std::byte buf[4096];
      for (;;) {
        auto n = streamed->reader->read(buf);
        if (!n) return std::move(n).error();
        if (*n == 0) break;
      }
      if (auto rewound = streamed->reader->rewind(); !rewound) return std::move(rewound).error();
    }
    return hub->handle(request);
  }

  void add_fault(fault f) {
    std::lock_guard lock(state->m);
    state->faults.push_back(std::make_shared<fault>(std::move(f)));
  }
  std::vector<http::request> sent() const {
    std::lock_guard lock(state->m);
    return state->sent;
  }
  std::vector<std::string> targets() const {
    std::vector<std::string> out;
    for (const auto& r : sent())
      out.push_back(std::string(http::to_string(r.verb)) + " " + r.target);
    return out;
  }
};

inline result<http::response> status_response(int status, std::string retry_after = {}) {
  http::response r{status, {}, R"({"message":"injected"})"};
  if (!retry_after.empty()) r.headers.add("Retry-After", retry_after);
  return r;
}

inline result<http::response> connection_refused() {
  error e = make_error(error_kind::transport, "connection refused");
  e.retryable = true;
  e.not_sent = true;
  return e;
}

inline result<http::response> connection_reset() {
  error e = make_error(error_kind::transport, "connection reset mid-body");
  e.retryable = true;
  return e;
}

/// A clock that only moves when the code under test sleeps.
struct fake_clock {
  flow::time_point now = flow::time_point{} + std::chrono::hours(1);
  std::vector<std::chrono::milliseconds> sleeps;
};

template <class T>
client_options<T> fake_time_options(fake_clock& clock, retry_policy retry = {}) {
  client_options<T> o;
  o.retry = retry;
  o.clock = [&clock] { return clock.now; };
  o.sleep_until = [&clock](flow::time_point until, const std::stop_token&) {
    if (until > clock.now) {
      clock.sleeps.push_back(
          std::chrono::duration_cast<std::chrono::milliseconds>(until - clock.now));
      clock.now = until;
    }
  };
  return o;
}

inline settings fake_settings() {
  settings s;
  s.token = "fake-token";
  s.ib_context = "org-ctx";
  return s;
}

}  // namespace aihub_test
