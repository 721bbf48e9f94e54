// Benchmark 2: decoding response bodies into aihub's typed results.
//
// Payloads (common/payloads.cpp, deterministic): a listFiles page of 10,000 nodes (~2 MB) and a
// getRunResults page of 200 files x 3 documents x 40 fields (~5 MB).
//
// Competitors, all filling the very same structs (aihub::file_page, aihub::run_results) from a
// fresh value each iteration:
//   aihub             aihub::decode_response(op, response): the strict pull reader, no DOM
//   nlohmann          nlohmann::json::parse, then a walk of the DOM into the structs
//   nlohmann_adapter  aihub::nlohmann_json::codec (adapters/nlohmann: ordered_json + checks)
//   rapidjson         rapidjson::Document::Parse (default flags), then a walk
//   rapidjson_strict  the same with kParseValidateEncodingFlag | kParseFullPrecisionFlag, i.e. the
//                     UTF-8 validation and exact doubles aihub always does
//   simdjson          simdjson::dom::parser (reused across iterations, as its docs recommend; the
//                     padded input is prepared once outside the loop), then a walk
//
// The walks share one generic member dispatch driven by the same json_fields() descriptions aihub
// uses, so every competitor does the same per-member work; only the parser differs. json::raw
// members (field values, keys) are re-serialised by the DOM libraries, as their users would.
// Before timing, every competitor's result is compared with aihub's (operator==).
//
// Counters: bytes_per_second (MB/s = 1e6 bytes), `allocs` and `alloc_bytes` per parse.
#include <benchmark/benchmark.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <simdjson.h>
#include <aihub/batches.hpp>
#include <aihub/nlohmann_codec.hpp>
#include <aihub/runs.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "common/alloc_counter.hpp"
#include "common/payloads.hpp"

namespace {

using aihub::json::described;
using aihub::json::string_enum;

// ---------------------------------------------------------------------------------------------------
// The shared member dispatch: finds the described field named `key` and reads it with `read`.

template <class T, class F>
bool dispatch_member(T& out, std::string_view key, std::uint64_t& seen, F&& read) {
  constexpr auto fields = T::json_fields();
  constexpr std::size_t count = decltype(fields)::size;
  bool matched = false, good = true;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((!matched && aihub::json::field_at<I>(fields).name == key
          ? (void)(matched = true, seen |= (std::uint64_t{1} << I),
                   good = read(out.*(aihub::json::field_at<I>(fields).member)))
          : void()),
     ...);
  }
  (std::make_index_sequence<count>{});
  return good;  // unknown members are ignored
}

template <class T>
bool all_required_seen(std::uint64_t seen) {
  constexpr auto fields = T::json_fields();
  constexpr std::size_t count = decltype(fields)::size;
  bool ok = true;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((ok = ok && (aihub::json::field_at<I>(fields).need != aihub::json::presence::required ||
                  (seen & (std::uint64_t{1} << I)))),
     ...);
  }
  (std::make_index_sequence<count>{});
  return ok;
}

bool parse_int_text(std::string_view text, std::int64_t& out) {
  auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && r.ec == std::errc() && r.ptr == text.data() + text.size();
}

// ---------------------------------------------------------------------------------------------------
// nlohmann/json walk

namespace nl {
using J = nlohmann::json;

inline bool read(const J& j, bool& o) {
  if (!j.is_boolean()) return false;
  o = j.get<bool>();
  return true;
}
inline bool read(const J& j, std::int64_t& o) {
  if (!j.is_number_integer()) return false;
  o = j.get<std::int64_t>();
  return true;
}
inline bool read(const J& j, double& o) {
  if (!j.is_number()) return false;
  o = j.get<double>();
  return true;
}
inline bool read(const J& j, std::string& o) {
  const auto* s = j.get_ptr<const J::string_t*>();
  if (!s) return false;
  o = *s;
  return true;
}
inline bool read(const J& j, aihub::json::raw& o) {
  o.text = j.dump();
  return true;
}
inline bool read(const J& j, aihub::json::flex_int& o) {
  if (j.is_number_integer()) {
    o.value = j.get<std::int64_t>();
    return true;
  }
  const auto* s = j.get_ptr<const J::string_t*>();
  return s && parse_int_text(*s, o.value);
}
inline bool read(const J& j, aihub::json::flex_string& o) {
  if (const auto* s = j.get_ptr<const J::string_t*>()) {
    o.value = *s;
    return true;
  }
  if (!j.is_number()) return false;
  o.value = j.dump();
  return true;
}
template <class E>
requires string_enum<E>
bool read(const J& j, E& o) {
  const auto* s = j.get_ptr<const J::string_t*>();
  return s && from_string(*s, o);
}
template <class T>
bool read(const J& j, std::optional<T>& o);
template <class T>
bool read(const J& j, std::vector<T>& o);
template <described T>
bool read(const J& j, T& o);

template <class T>
bool read(const J& j, std::optional<T>& o) {
  if (j.is_null()) {
    o.reset();
    return true;
  }
  return read(j, o.emplace());
}
template <class T>
bool read(const J& j, std::vector<T>& o) {
  if (!j.is_array()) return false;
  o.clear();
  o.reserve(j.size());
  for (const auto& e : j)
    if (!read(e, o.emplace_back())) return false;
  return true;
}
template <described T>
bool read(const J& j, T& o) {
  if (!j.is_object()) return false;
  o = T{};
  std::uint64_t seen = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const J& value = it.value();
    if (!dispatch_member(o, it.key(), seen, [&](auto& m) { return read(value, m); })) return false;
  }
  return all_required_seen<T>(seen);
}

template <class T>
bool decode(std::string_view text, T& out) {
  J doc = J::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return false;
  return read(doc, out);
}
}  // namespace nl

// ---------------------------------------------------------------------------------------------------
// RapidJSON walk

namespace rj {
using V = rapidjson::Value;

inline bool read(const V& j, bool& o) {
  if (!j.IsBool()) return false;
  o = j.GetBool();
  return true;
}
inline bool read(const V& j, std::int64_t& o) {
  if (!j.IsInt64()) return false;
  o = j.GetInt64();
  return true;
}
inline bool read(const V& j, double& o) {
  if (!j.IsNumber()) return false;
  o = j.GetDouble();
  return true;
}
inline bool read(const V& j, std::string& o) {
  if (!j.IsString()) return false;
  o.assign(j.GetString(), j.GetStringLength());
  return true;
}
inline std::string dump(const V& j) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  j.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}
inline bool read(const V& j, aihub::json::raw& o) {
  o.text = dump(j);
  return true;
}
inline bool read(const V& j, aihub::json::flex_int& o) {
  if (j.IsInt64()) {
    o.value = j.GetInt64();
    return true;
  }
  return j.IsString() && parse_int_text({j.GetString(), j.GetStringLength()}, o.value);
}
inline bool read(const V& j, aihub::json::flex_string& o) {
  if (j.IsString()) {
    o.value.assign(j.GetString(), j.GetStringLength());
    return true;
  }
  if (!j.IsNumber()) return false;
  o.value = dump(j);
  return true;
}
template <class E>
requires string_enum<E>
bool read(const V& j, E& o) {
  return j.IsString() && from_string(std::string_view(j.GetString(), j.GetStringLength()), o);
}
template <class T>
bool read(const V& j, std::optional<T>& o);
template <class T>
bool read(const V& j, std::vector<T>& o);
template <described T>
bool read(const V& j, T& o);

template <class T>
bool read(const V& j, std::optional<T>& o) {
  if (j.IsNull()) {
    o.reset();
    return true;
  }
  return read(j, o.emplace());
}
template <class T>
bool read(const V& j, std::vector<T>& o) {
  if (!j.IsArray()) return false;
  o.clear();
  o.reserve(j.Size());
  for (const auto& e : j.GetArray())
    if (!read(e, o.emplace_back())) return false;
  return true;
}
template <described T>
bool read(const V& j, T& o) {
  if (!j.IsObject()) return false;
  o = T{};
  std::uint64_t seen = 0;
  for (const auto& m : j.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (!dispatch_member(o, key, seen, [&](auto& member) { return read(m.value, member); }))
      return false;
  }
  return all_required_seen<T>(seen);
}

template <unsigned Flags, class T>
bool decode(std::string_view text, T& out) {
  rapidjson::Document doc;
  doc.Parse<Flags>(text.data(), text.size());
  if (doc.HasParseError()) return false;
  return read(static_cast<const V&>(doc), out);
}
}  // namespace rj

// ---------------------------------------------------------------------------------------------------
// simdjson DOM walk

namespace sj {
using E = simdjson::dom::element;

inline bool read(E j, bool& o) {
  return j.get_bool().get(o) == simdjson::SUCCESS;
}
inline bool read(E j, std::int64_t& o) {
  return j.get_int64().get(o) == simdjson::SUCCESS;
}
inline bool read(E j, double& o) {
  return j.get_double().get(o) == simdjson::SUCCESS;
}
inline bool read(E j, std::string& o) {
  std::string_view s;
  if (j.get_string().get(s) != simdjson::SUCCESS) return false;
  o.assign(s);
  return true;
}
inline bool read(E j, aihub::json::raw& o) {
  o.text = simdjson::minify(j);
  return true;
}
inline bool read(E j, aihub::json::flex_int& o) {
  if (j.is_int64()) return j.get_int64().get(o.value) == simdjson::SUCCESS;
  std::string_view s;
  return j.get_string().get(s) == simdjson::SUCCESS && parse_int_text(s, o.value);
}
inline bool read(E j, aihub::json::flex_string& o) {
  std::string_view s;
  if (j.get_string().get(s) == simdjson::SUCCESS) {
    o.value.assign(s);
    return true;
  }
  if (!j.is_number()) return false;
  o.value = simdjson::minify(j);
  return true;
}
template <class En>
requires string_enum<En>
bool read(E j, En& o) {
  std::string_view s;
  return j.get_string().get(s) == simdjson::SUCCESS && from_string(s, o);
}
template <class T>
bool read(E j, std::optional<T>& o);
template <class T>
bool read(E j, std::vector<T>& o);
template <described T>
bool read(E j, T& o);

template <class T>
bool read(E j, std::optional<T>& o) {
  if (j.is_null()) {
    o.reset();
    return true;
  }
  return read(j, o.emplace());
}
template <class T>
bool read(E j, std::vector<T>& o) {
  simdjson::dom::array a;
  if (j.get_array().get(a) != simdjson::SUCCESS) return false;
  o.clear();
  o.reserve(a.size());
  for (E e : a)
    if (!read(e, o.emplace_back())) return false;
  return true;
}
template <described T>
bool read(E j, T& o) {
  simdjson::dom::object obj;
  if (j.get_object().get(obj) != simdjson::SUCCESS) return false;
  o = T{};
  std::uint64_t seen = 0;
  for (auto field : obj) {
    E value = field.value;
    if (!dispatch_member(o, field.key, seen, [&](auto& member) { return read(value, member); }))
      return false;
  }
  return all_required_seen<T>(seen);
}

template <class T>
bool decode(simdjson::dom::parser& parser, const simdjson::padded_string& text, T& out) {
  E root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) return false;
  return read(root, out);
}
}  // namespace sj

// ---------------------------------------------------------------------------------------------------
// Payloads and harness

struct payload {
  std::string name;
  aihub::http::response response;  // status 200, body = the JSON text
  simdjson::padded_string padded;
};

payload make_payload(std::string name, std::string text) {
  payload p;
  p.name = std::move(name);
  p.padded = simdjson::padded_string(text);
  p.response.status = 200;
  p.response.body = std::move(text);
  return p;
}

const payload& files_payload() {
  static const payload p = make_payload("files", bench::make_file_page(10'000));
  return p;
}
const payload& results_payload() {
  static const payload p = make_payload("results", bench::make_run_results(200, 3, 40));
  return p;
}

template <class T, class F>
void run(benchmark::State& state, const payload& p, F&& decode_one) {
  bench::alloc_scope allocs;
  std::uint64_t n = 0;
  for (auto _ : state) {
    T value{};
    if (!decode_one(value)) {
      state.SkipWithError("decode failed");
      return;
    }
    benchmark::DoNotOptimize(value);
    ++n;
  }
  auto d = allocs.delta();
  state.SetBytesProcessed(static_cast<std::int64_t>(n * p.response.body.size()));
  state.counters["allocs"] = static_cast<double>(d.calls) / static_cast<double>(n ? n : 1);
  state.counters["alloc_bytes"] = static_cast<double>(d.bytes) / static_cast<double>(n ? n : 1);
  state.counters["payload_bytes"] = static_cast<double>(p.response.body.size());
}

// One function per (competitor, payload), each a thin lambda around the decoders above.

template <class Op>
bool decode_aihub(const payload& p, typename Op::response_type& out, const Op& op) {
  auto r = aihub::decode_response(op, p.response);
  if (!r) return false;
  out = std::move(*r);
  return true;
}

const aihub::list_files files_op{.batch_id = 4711};
const aihub::get_run_results results_op{.run_id = "run-6c1f0e2a9b8d4c37"};

constexpr unsigned rj_default = rapidjson::kParseDefaultFlags;
constexpr unsigned rj_strict =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;

template <class T>
bool decode_with(std::string_view competitor, const payload& p, T& out) {
  static simdjson::dom::parser parser;
  const std::string& text = p.response.body;
  if (competitor == "aihub") {
    if constexpr (std::is_same_v<T, aihub::file_page>)
      return decode_aihub(p, out, files_op);
    else
      return decode_aihub(p, out, results_op);
  }
  if (competitor == "nlohmann") return nl::decode(text, out);
  if (competitor == "nlohmann_adapter")
    return static_cast<bool>(aihub::nlohmann_json::codec{}.decode(text, out));
  if (competitor == "rapidjson") return rj::decode<rj_default>(text, out);
  if (competitor == "rapidjson_strict") return rj::decode<rj_strict>(text, out);
  if (competitor == "simdjson") return sj::decode(parser, p.padded, out);
  return false;
}

/// Every competitor must produce exactly aihub's result; a mismatch stops the program.
template <class T>
void check_agreement(const payload& p) {
  T reference{};
  if (!decode_with("aihub", p, reference)) {
    std::fprintf(stderr, "aihub failed to decode the %s payload\n", p.name.c_str());
    std::exit(1);
  }
  for (std::string_view c :
       {"nlohmann", "nlohmann_adapter", "rapidjson", "rapidjson_strict", "simdjson"}) {
    T other{};
    if (!decode_with(c, p, other) || !(other == reference)) {
      std::fprintf(stderr, "%.*s disagrees with aihub on the %s payload\n",
                   static_cast<int>(c.size()), c.data(), p.name.c_str());
      std::exit(1);
    }
  }
}

#define AIHUB_DECODE_BENCH(payload_name, type, getter, competitor)                    \
  void payload_name##_##competitor(benchmark::State& state) {                         \
    const payload& p = getter();                                                      \
    run<type>(state, p, [&](type& out) { return decode_with(#competitor, p, out); }); \
  }                                                                                   \
  BENCHMARK(payload_name##_##competitor)->Unit(benchmark::kMillisecond)->MinTime(0.5);

AIHUB_DECODE_BENCH(files, aihub::file_page, files_payload, aihub)
AIHUB_DECODE_BENCH(files, aihub::file_page, files_payload, nlohmann)
AIHUB_DECODE_BENCH(files, aihub::file_page, files_payload, nlohmann_adapter)
AIHUB_DECODE_BENCH(files, aihub::file_page, files_payload, rapidjson)
AIHUB_DECODE_BENCH(files, aihub::file_page, files_payload, rapidjson_strict)
AIHUB_DECODE_BENCH(files, aihub::file_page, files_payload, simdjson)
AIHUB_DECODE_BENCH(results, aihub::run_results, results_payload, aihub)
AIHUB_DECODE_BENCH(results, aihub::run_results, results_payload, nlohmann)
AIHUB_DECODE_BENCH(results, aihub::run_results, results_payload, nlohmann_adapter)
AIHUB_DECODE_BENCH(results, aihub::run_results, results_payload, rapidjson)
AIHUB_DECODE_BENCH(results, aihub::run_results, results_payload, rapidjson_strict)
AIHUB_DECODE_BENCH(results, aihub::run_results, results_payload, simdjson)

}  // namespace

/// AIHUB_BENCH_PROFILE=competitor:payload:count (payload: files or results) runs exactly `count`
/// decodes and exits, for profilers: valgrind --tool=callgrind --toggle-collect='*decode_with*'.
int profile(const char* spec) {
  std::string_view text(spec);
  auto a = text.find(':'), b = text.rfind(':');
  if (a == std::string_view::npos || a == b) return 2;
  std::string competitor(text.substr(0, a));
  std::string_view payload_name = text.substr(a + 1, b - a - 1);
  int count = std::atoi(std::string(text.substr(b + 1)).c_str());
  bool ok = true;
  for (int i = 0; i < count; ++i) {
    if (payload_name == "files") {
      aihub::file_page v{};
      ok = ok && decode_with(competitor, files_payload(), v);
    } else {
      aihub::run_results v{};
      ok = ok && decode_with(competitor, results_payload(), v);
    }
  }
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  if (const char* spec = std::getenv("AIHUB_BENCH_PROFILE")) return profile(spec);
  // AIHUB_BENCH_SKIP_CHECK=1 skips the agreement check (for profiling one decoder alone).
  if (const char* skip = std::getenv("AIHUB_BENCH_SKIP_CHECK"); !skip || *skip != '1') {
    check_agreement<aihub::file_page>(files_payload());
    check_agreement<aihub::run_results>(results_payload());
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
