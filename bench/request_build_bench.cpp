// Benchmark 1: building full request descriptions (verb, target, headers, body) for createBatch,
// uploadMultipartPart and commitMultipartUploadSession with 100 parts.
//
// Competitors, all producing the same information (same five headers, same JSON text, same
// percent-encoded target):
//   aihub     aihub::build_request(op, settings): validation included, as every caller pays it
//   nlohmann  nlohmann::json object + dump() for the body, std::string operator+ for the rest
//   plain     hand-written appends into reserve()d strings (the floor for this request shape)
//
// Each benchmark reports ns per request and the counters `allocs` and `alloc_bytes` per request
// (global operator new is replaced in common/alloc_counter.cpp). The aihub_* breakdown benchmarks
// time the pieces of build_request separately, to show where the time and allocations go; the
// *_proposed benchmarks prototype the library changes README.md recommends.
#include <benchmark/benchmark.h>

#include <aihub/batches.hpp>
#include <aihub/operation.hpp>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/alloc_counter.hpp"

namespace {

// ---------------------------------------------------------------------------------------------------
// Inputs shared by every competitor

constexpr std::string_view token = "ibtok_7Qm2ZkR9vX4pL8sN1cT6yH3wB5dF0gJa";  // 40 characters
constexpr std::string_view ib_context = "acme-org";
constexpr std::string_view user_agent = "aihub-cpp/" AIHUB_VERSION_STRING;
constexpr std::string_view batch_name = "invoices 2024-Q3";
constexpr std::string_view session_id = "ms_3f9d2c7a1b8e4f60a5d9c2b7e1f4a8d3";
constexpr std::string_view upload_path = "/data/incoming/scans/invoice-archive-2024.tar";
constexpr std::uint64_t file_size = 1ull << 30;
constexpr std::uint64_t part_size = 10ull << 20;
constexpr std::int64_t part_num = 42;

aihub::settings make_settings() {
  aihub::settings s;
  s.api_root = "https://aihub.instabase.com/api";
  s.token = std::string(token);
  s.ib_context = std::string(ib_context);
  return s;
}

std::vector<aihub::uploaded_part> make_parts(std::size_t n) {
  std::vector<aihub::uploaded_part> parts;
  for (std::size_t i = 0; i < n; ++i) {
    char id[48];
    std::snprintf(id, sizeof id, "part-%08zx-%016llx", i + 1,
                  static_cast<unsigned long long>((i + 1) * 0x9E3779B97F4A7C15ull));
    parts.push_back({static_cast<std::int64_t>(i + 1), id});
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------------
// The competitors' request description: the same information as aihub::http::request.

struct plain_request {
  std::string_view method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;              // JSON text, when the body is JSON
  std::string body_path;         // a file region, when the body is one
  std::uint64_t body_offset = 0;
  std::uint64_t body_length = 0;
};

/// RFC 3986 unreserved characters stay, everything else is %XX (what aihub does for segments).
void append_segment(std::string& out, std::string_view text) {
  constexpr char hex[] = "0123456789ABCDEF";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~';
    if (keep) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
}
std::string encode_segment(std::string_view text) {
  std::string out;
  append_segment(out, text);
  return out;
}

/// A JSON string literal (quotes, backslash and control characters escaped).
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      constexpr char hex[] = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// --- nlohmann/json + std::string concatenation ---

void nlohmann_common_headers(plain_request& r, bool json_body) {
  r.headers.push_back({"Authorization", "Bearer " + std::string(token)});
  r.headers.push_back({"IB-Context", std::string(ib_context)});
  r.headers.push_back({"User-Agent", std::string(user_agent)});
  r.headers.push_back({"Accept", "application/json"});
  r.headers.push_back({"Content-Type", json_body ? "application/json" : "application/octet-stream"});
}

plain_request nlohmann_create_batch(std::string_view name) {
  plain_request r;
  r.method = "POST";
  r.target = "/v2/batches";
  nlohmann_common_headers(r, true);
  nlohmann::json body;
  body["name"] = name;
  r.body = body.dump();
  return r;
}

plain_request nlohmann_upload_part(std::string_view session, std::int64_t n,
                                   const std::string& path, std::uint64_t offset,
                                   std::uint64_t length) {
  plain_request r;
  r.method = "PUT";
  r.target = "/v2/batches/multipart-upload/sessions/" + encode_segment(session) + "/parts/" +
             std::to_string(n);
  nlohmann_common_headers(r, false);
  r.body_path = path;
  r.body_offset = offset;
  r.body_length = length;
  return r;
}

plain_request nlohmann_commit(std::string_view session,
                              const std::vector<aihub::uploaded_part>& parts) {
  plain_request r;
  r.method = "POST";
  r.target = "/v2/batches/multipart-upload/sessions/" + encode_segment(session);
  nlohmann_common_headers(r, true);
  nlohmann::json body;
  body["action"] = "commit";
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : parts) list.push_back({{"part_num", p.part_num}, {"part_id", p.part_id}});
  body["parts"] = std::move(list);
  r.body = body.dump();
  return r;
}

// --- plain appends into reserve()d strings ---

void plain_common_headers(plain_request& r, bool json_body) {
  r.headers.reserve(5);
  std::string auth;
  auth.reserve(7 + token.size());
  auth.append("Bearer ").append(token);
  r.headers.emplace_back("Authorization", std::move(auth));
  r.headers.emplace_back("IB-Context", ib_context);
  r.headers.emplace_back("User-Agent", user_agent);
  r.headers.emplace_back("Accept", "application/json");
  r.headers.emplace_back("Content-Type",
                         json_body ? "application/json" : "application/octet-stream");
}

plain_request plain_create_batch(std::string_view name) {
  plain_request r;
  r.method = "POST";
  r.target = "/v2/batches";
  plain_common_headers(r, true);
  r.body.reserve(16 + name.size());
  r.body.append("{\"name\":");
  append_json_string(r.body, name);
  r.body.push_back('}');
  return r;
}

plain_request plain_upload_part(std::string_view session, std::int64_t n, const std::string& path,
                                std::uint64_t offset, std::uint64_t length) {
  plain_request r;
  r.method = "PUT";
  r.target.reserve(64 + session.size() * 3);
  r.target.append("/v2/batches/multipart-upload/sessions/");
  append_segment(r.target, session);
  r.target.append("/parts/");
  append_int(r.target, n);
  plain_common_headers(r, false);
  r.body_path = path;
  r.body_offset = offset;
  r.body_length = length;
  return r;
}

plain_request plain_commit(std::string_view session,
                           const std::vector<aihub::uploaded_part>& parts) {
  plain_request r;
  r.method = "POST";
  r.target.reserve(48 + session.size() * 3);
  r.target.append("/v2/batches/multipart-upload/sessions/");
  append_segment(r.target, session);
  plain_common_headers(r, true);
  r.body.reserve(32 + parts.size() * 48);
  r.body.append("{\"action\":\"commit\",\"parts\":[");
  bool first = true;
  for (const auto& p : parts) {
    if (!first) r.body.push_back(',');
    first = false;
    r.body.append("{\"part_num\":");
    append_int(r.body, p.part_num);
    r.body.append(",\"part_id\":");
    append_json_string(r.body, p.part_id);
    r.body.push_back('}');
  }
  r.body.append("]}");
  return r;
}

// ---------------------------------------------------------------------------------------------------
// "proposed": a prototype of the changes README.md recommends for aihub, built from aihub's own
// validators and JSON writer: settings validated once (not per request), the target and all header
// names/values written into ONE buffer sized up front (no per-header std::string, no temporary
// Authorization string), a file body that shares its path instead of copying it, and a commit body
// reserved from the actual part ids. Not a competitor: evidence for the recommendation.

struct compact_request {
  struct range {
    std::uint16_t name_at, name_len, value_at, value_len;
  };
  std::string_view method;
  std::string head;  // target, then every header name and value, back to back
  std::uint16_t target_len = 0;
  std::array<range, 8> headers{};
  std::uint8_t header_count = 0;
  std::string json;                          // a JSON body
  std::shared_ptr<const std::string> path;   // or a file region, sharing the upload's path
  std::uint64_t offset = 0, length = 0;

  void add(std::string_view name, std::string_view value1, std::string_view value2 = {}) {
    range r{};
    r.name_at = static_cast<std::uint16_t>(head.size());
    r.name_len = static_cast<std::uint16_t>(name.size());
    head.append(name);
    r.value_at = static_cast<std::uint16_t>(head.size());
    head.append(value1).append(value2);
    r.value_len = static_cast<std::uint16_t>(value1.size() + value2.size());
    headers[header_count++] = r;
  }
};

std::size_t common_headers_size(const aihub::settings& s, std::string_view content_type) {
  return 13 + 7 + s.token.size() + (s.ib_context ? 10 + s.ib_context->size() : 0) + 10 +
         s.user_agent.size() + 6 + 16 + 12 + content_type.size();
}

void proposed_common_headers(compact_request& r, const aihub::settings& s,
                             std::string_view content_type) {
  r.add("Authorization", "Bearer ", s.token);
  if (s.ib_context) r.add("IB-Context", *s.ib_context);
  r.add("User-Agent", s.user_agent);
  r.add("Accept", "application/json");
  r.add("Content-Type", content_type);
}

std::optional<compact_request> proposed_create_batch(const aihub::create_batch& op,
                                                     const aihub::settings& s) {
  if (!op.validate(s)) return std::nullopt;
  compact_request r;
  r.method = "POST";
  r.head.reserve(16 + common_headers_size(s, "application/json"));
  r.head.append("/v2/batches");
  r.target_len = static_cast<std::uint16_t>(r.head.size());
  proposed_common_headers(r, s, "application/json");
  r.json.reserve(32 + op.name.value().size());
  aihub::json::writer w(r.json);
  w.begin_object();
  w.key("name");
  w.string(op.name.value());
  w.end_object();
  return r;
}

std::optional<compact_request> proposed_upload_part(const aihub::upload_part& op,
                                                    const aihub::settings& s,
                                                    const std::shared_ptr<const std::string>& path) {
  if (!op.validate(s)) return std::nullopt;
  compact_request r;
  r.method = "PUT";
  r.head.reserve(64 + op.session_id.size() * 3 + common_headers_size(s, "application/octet-stream"));
  r.head.append("/v2/batches/multipart-upload/sessions/");
  aihub::url::append_encoded(r.head, op.session_id);
  r.head.append("/parts/");
  append_int(r.head, op.part_num);
  r.target_len = static_cast<std::uint16_t>(r.head.size());
  proposed_common_headers(r, s, "application/octet-stream");
  const auto& slice = std::get<aihub::http::file_slice>(op.content);
  r.path = path;
  r.offset = slice.offset;
  r.length = slice.length;
  return r;
}

std::optional<compact_request> proposed_commit(const aihub::commit_multipart_upload& op,
                                               const aihub::settings& s) {
  if (!op.validate(s)) return std::nullopt;
  compact_request r;
  r.method = "POST";
  r.head.reserve(48 + op.session_id.size() * 3 + common_headers_size(s, "application/json"));
  r.head.append("/v2/batches/multipart-upload/sessions/");
  aihub::url::append_encoded(r.head, op.session_id);
  r.target_len = static_cast<std::uint16_t>(r.head.size());
  proposed_common_headers(r, s, "application/json");
  std::size_t need = 32;
  for (const auto& p : op.parts) need += 40 + p.part_id.size();
  r.json.reserve(need);
  aihub::json::writer w(r.json);
  w.begin_object();
  w.key("action");
  w.string("commit");
  w.key("parts");
  w.begin_array();
  for (const auto& p : op.parts) {
    w.begin_object();
    w.key("part_num");
    w.integer(p.part_num);
    w.key("part_id");
    w.string(p.part_id);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return r;
}

// ---------------------------------------------------------------------------------------------------
// Harness

/// Runs `make()` per iteration and reports allocations per request.
template <class F>
void run(benchmark::State& state, F&& make) {
  bench::alloc_scope allocs;
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto r = make();
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
    ++n;
  }
  auto d = allocs.delta();
  state.counters["allocs"] = static_cast<double>(d.calls) / static_cast<double>(n ? n : 1);
  state.counters["alloc_bytes"] = static_cast<double>(d.bytes) / static_cast<double>(n ? n : 1);
}

const aihub::settings& settings() {
  static const aihub::settings s = make_settings();
  return s;
}

aihub::create_batch create_op() { return aihub::create_batch{.name = batch_name}; }

aihub::upload_part part_op() {
  auto offset = static_cast<std::uint64_t>(part_num - 1) * part_size;
  return aihub::upload_part{
      .session_id = std::string(session_id),
      .part_num = part_num,
      .content = aihub::http::file_slice{std::string(upload_path), offset, part_size},
      .layout = aihub::multipart_layout{file_size, part_size}};
}

aihub::commit_multipart_upload commit_op() {
  // 100 parts: the layout's part count must match, so the file is 100 parts long.
  return aihub::commit_multipart_upload{.session_id = std::string(session_id),
                                        .parts = make_parts(100),
                                        .layout = aihub::multipart_layout{100 * part_size, part_size}};
}

// --- createBatch ---

void create_batch_aihub(benchmark::State& state) {
  const auto op = create_op();
  run(state, [&] { return aihub::build_request(op, settings()); });
}
void create_batch_nlohmann(benchmark::State& state) {
  run(state, [&] { return nlohmann_create_batch(batch_name); });
}
void create_batch_plain(benchmark::State& state) {
  run(state, [&] { return plain_create_batch(batch_name); });
}

// --- uploadMultipartPart ---

void upload_part_aihub(benchmark::State& state) {
  const auto op = part_op();
  run(state, [&] { return aihub::build_request(op, settings()); });
}
void upload_part_nlohmann(benchmark::State& state) {
  const std::string path(upload_path);
  run(state, [&] {
    return nlohmann_upload_part(session_id, part_num, path, (part_num - 1) * part_size, part_size);
  });
}
void upload_part_plain(benchmark::State& state) {
  const std::string path(upload_path);
  run(state, [&] {
    return plain_upload_part(session_id, part_num, path, (part_num - 1) * part_size, part_size);
  });
}

// --- commitMultipartUploadSession, 100 parts ---

void commit_100_aihub(benchmark::State& state) {
  const auto op = commit_op();
  run(state, [&] { return aihub::build_request(op, settings()); });
}
void commit_100_nlohmann(benchmark::State& state) {
  const auto parts = make_parts(100);
  run(state, [&] { return nlohmann_commit(session_id, parts); });
}
void commit_100_plain(benchmark::State& state) {
  const auto parts = make_parts(100);
  run(state, [&] { return plain_commit(session_id, parts); });
}

// --- proposed (prototype of the recommended changes; see above) ---

void create_batch_proposed(benchmark::State& state) {
  const auto op = create_op();
  run(state, [&] { return proposed_create_batch(op, settings()); });
}
void upload_part_proposed(benchmark::State& state) {
  const auto op = part_op();
  const auto path = std::make_shared<const std::string>(upload_path);
  run(state, [&] { return proposed_upload_part(op, settings(), path); });
}
void commit_100_proposed(benchmark::State& state) {
  const auto op = commit_op();
  run(state, [&] { return proposed_commit(op, settings()); });
}

// --- Breakdown of aihub::build_request (createBatch and uploadMultipartPart) ---

void breakdown_create_validate(benchmark::State& state) {
  const auto op = create_op();
  run(state, [&] {
    auto a = aihub::validate(settings());
    auto b = op.validate(settings());
    return a.has_value() && b.has_value();
  });
}
void breakdown_create_body(benchmark::State& state) {
  const auto op = create_op();
  run(state, [&] { return op.body(); });
}
void breakdown_create_headers(benchmark::State& state) {
  // What build_request does for the headers, and nothing else.
  run(state, [&] {
    aihub::http::header_list h;
    h.reserve(5);
    std::string authorization;
    authorization.reserve(7 + token.size());
    authorization.append("Bearer ").append(token);
    h.add("Authorization", authorization);
    h.add("IB-Context", ib_context);
    h.add("User-Agent", user_agent);
    h.add("Accept", "application/json");
    h.add("Content-Type", "application/json");
    return h;
  });
}
void breakdown_part_validate(benchmark::State& state) {
  const auto op = part_op();
  run(state, [&] {
    auto a = aihub::validate(settings());
    auto b = op.validate(settings());
    return a.has_value() && b.has_value();
  });
}
void breakdown_part_target(benchmark::State& state) {
  const auto op = part_op();
  run(state, [&] { return op.target(); });
}
void breakdown_part_body(benchmark::State& state) {
  const auto op = part_op();
  run(state, [&] { return op.body(); });
}
void breakdown_commit_validate(benchmark::State& state) {
  const auto op = commit_op();
  run(state, [&] {
    auto a = aihub::validate(settings());
    auto b = op.validate(settings());
    return a.has_value() && b.has_value();
  });
}
void breakdown_commit_body(benchmark::State& state) {
  const auto op = commit_op();
  run(state, [&] { return op.body(); });
}

// --- What a successful check costs: aihub::result<void> (holds an aihub::error by value, so every
// success constructs and destroys five empty strings) against a pointer-sized result that allocates
// its error only on failure. Five checks chained with AIHUB_TRY-style early returns.

struct thin_result {
  std::unique_ptr<aihub::error> failure;  // null on success
  explicit operator bool() const noexcept { return !failure; }
};
#define BENCH_THIN_TRY(expr)                   \
  do {                                         \
    if (auto r_ = (expr); !r_) return r_;      \
  } while (false)

[[gnu::noinline]] aihub::result<void> fat_check(std::int64_t v) {
  return aihub::check_positive("value", v);
}
[[gnu::noinline]] thin_result thin_check(std::int64_t v) {
  if (v <= 0)
    return {std::make_unique<aihub::error>(aihub::validation_error("value", "must be positive"))};
  return {};
}
[[gnu::noinline]] aihub::result<void> fat_chain(std::int64_t v) {
  AIHUB_TRY(fat_check(v));
  AIHUB_TRY(fat_check(v + 1));
  AIHUB_TRY(fat_check(v + 2));
  AIHUB_TRY(fat_check(v + 3));
  AIHUB_TRY(fat_check(v + 4));
  return {};
}
[[gnu::noinline]] thin_result thin_chain(std::int64_t v) {
  BENCH_THIN_TRY(thin_check(v));
  BENCH_THIN_TRY(thin_check(v + 1));
  BENCH_THIN_TRY(thin_check(v + 2));
  BENCH_THIN_TRY(thin_check(v + 3));
  BENCH_THIN_TRY(thin_check(v + 4));
  return {};
}
void checks_5_result_void(benchmark::State& state) {
  std::int64_t v = 1;
  benchmark::DoNotOptimize(v);
  run(state, [&] { return static_cast<bool>(fat_chain(v)); });
}
void checks_5_thin_result(benchmark::State& state) {
  std::int64_t v = 1;
  benchmark::DoNotOptimize(v);
  run(state, [&] { return static_cast<bool>(thin_chain(v)); });
}

}  // namespace

BENCHMARK(create_batch_aihub);
BENCHMARK(create_batch_nlohmann);
BENCHMARK(create_batch_plain);
BENCHMARK(upload_part_aihub);
BENCHMARK(upload_part_nlohmann);
BENCHMARK(upload_part_plain);
BENCHMARK(commit_100_aihub);
BENCHMARK(commit_100_nlohmann);
BENCHMARK(commit_100_plain);
BENCHMARK(create_batch_proposed);
BENCHMARK(upload_part_proposed);
BENCHMARK(commit_100_proposed);
BENCHMARK(breakdown_create_validate);
BENCHMARK(breakdown_create_body);
BENCHMARK(breakdown_create_headers);
BENCHMARK(breakdown_part_validate);
BENCHMARK(breakdown_part_target);
BENCHMARK(breakdown_part_body);
BENCHMARK(breakdown_commit_validate);
BENCHMARK(breakdown_commit_body);
BENCHMARK(checks_5_result_void);
BENCHMARK(checks_5_thin_result);

BENCHMARK_MAIN();
