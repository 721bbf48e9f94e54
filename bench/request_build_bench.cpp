// Benchmark 1: building full request descriptions (verb, target, headers, body) for createBatch,
// uploadMultipartPart and commitMultipartUploadSession with 100 parts.
//
// Competitors, all producing the same information (same five headers, same JSON text, same
// percent-encoded target):
//   aihub     aihub::build_request(op, validated_settings): the operation validated on every call,
//             the settings once (validated_settings, kept by the caller); aihub_checked
//             re-validates them on every call; aihub_reuse builds into a request the caller keeps
//             (build_request_into)
//   nlohmann  nlohmann::json object + dump() for the body, std::string operator+ for the rest
//   plain     hand-written appends into reserve()d strings (the floor for this request shape)
//
// Each benchmark reports ns per request and the counters `allocs` and `alloc_bytes` per request
// (global operator new is replaced in common/alloc_counter.cpp).
#include <benchmark/benchmark.h>

#include <aihub/batches.hpp>
#include <aihub/operation.hpp>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
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
  std::string body;       // JSON text, when the body is JSON
  std::string body_path;  // a file region, when the body is one
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
  r.headers.push_back(
      {"Content-Type", json_body ? "application/json" : "application/octet-stream"});
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
/// The settings checked once and kept, as a caller of build_request(op, validated_settings) does.
const aihub::validated_settings& checked() {
  static const aihub::validated_settings s = *aihub::validated_settings::create(make_settings());
  return s;
}

/// aihub three ways: `aihub` = build_request(op, validated_settings) (settings checked once, the
/// operation on every call); `checked` = build_request(op, settings), which re-checks the settings
/// on every call; `reuse` = build_request_into() a request the caller keeps from call to call.
template <class Op>
void aihub_variants_register(const char* name, Op (*make)()) {
  benchmark::RegisterBenchmark((std::string(name) + "_aihub").c_str(),
                               [make](benchmark::State& st) {
                                 const auto op = make();
                                 run(st, [&] { return aihub::build_request(op, checked()); });
                               });
  benchmark::RegisterBenchmark((std::string(name) + "_aihub_checked").c_str(),
                               [make](benchmark::State& st) {
                                 const auto op = make();
                                 run(st, [&] { return aihub::build_request(op, settings()); });
                               });
  benchmark::RegisterBenchmark((std::string(name) + "_aihub_reuse").c_str(),
                               [make](benchmark::State& st) {
                                 const auto op = make();
                                 aihub::http::request reused;
                                 run(st, [&] {
                                   auto ok = aihub::build_request_into(reused, op, checked());
                                   return ok.has_value() && !reused.target.empty();
                                 });
                               });
}

aihub::create_batch create_op() {
  return aihub::create_batch{.name = batch_name};
}

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
  return aihub::commit_multipart_upload{
      .session_id = std::string(session_id),
      .parts = make_parts(100),
      .layout = aihub::multipart_layout{100 * part_size, part_size}};
}

// --- createBatch ---

void create_batch_nlohmann(benchmark::State& state) {
  run(state, [&] { return nlohmann_create_batch(batch_name); });
}
void create_batch_plain(benchmark::State& state) {
  run(state, [&] { return plain_create_batch(batch_name); });
}

// --- uploadMultipartPart ---

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

void commit_100_nlohmann(benchmark::State& state) {
  const auto parts = make_parts(100);
  run(state, [&] { return nlohmann_commit(session_id, parts); });
}
void commit_100_plain(benchmark::State& state) {
  const auto parts = make_parts(100);
  run(state, [&] { return plain_commit(session_id, parts); });
}

}  // namespace

BENCHMARK(create_batch_nlohmann);
BENCHMARK(create_batch_plain);
BENCHMARK(upload_part_nlohmann);
BENCHMARK(upload_part_plain);
BENCHMARK(commit_100_nlohmann);
BENCHMARK(commit_100_plain);

int main(int argc, char** argv) {
  aihub_variants_register("create_batch", &create_op);
  aihub_variants_register("upload_part", &part_op);
  aihub_variants_register("commit_100", &commit_op);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
