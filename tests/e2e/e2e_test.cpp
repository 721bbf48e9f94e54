// End to end over real loopback HTTP: the client and the libcurl transport against the stateful AI
// Hub simulator, with the simulator's fault injection and its state for assertions.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <aihub/aihub.hpp>
#include <aihub/curl/transport.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "sha256.hpp"
#include "simulator_process.hpp"

using namespace aihub;
using njson = nlohmann::json;

namespace {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "aihub-e2e-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

/// Writes `size` pseudo-random bytes (so a reordered or duplicated part changes the digest).
std::string write_file(const std::filesystem::path& path, std::uint64_t size, std::uint32_t seed) {
  std::ofstream out(path, std::ios::binary);
  std::mt19937 rng(seed);
  std::vector<std::uint32_t> block(1 << 14);
  for (std::uint64_t left = size; left > 0;) {
    for (auto& w : block) w = static_cast<std::uint32_t>(rng());  // mt19937 yields 32-bit values
    auto n = static_cast<std::streamsize>(std::min<std::uint64_t>(left, block.size() * 4));
    out.write(reinterpret_cast<const char*>(block.data()), n);
    left -= static_cast<std::uint64_t>(n);
  }
  return path.string();
}

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  aihub_sim::sha256 hash;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    hash.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return hash.hex();
}

struct hub_fixture {
  aihub_test::simulator_process sim{AIHUB_SIMULATOR_PATH, {"--token", "e2e-token"}};
  settings config = [this] {
    settings s;
    s.api_root = sim.api_root();
    s.token = "e2e-token";
    s.ib_context = "org-e2e";
    return s;
  }();
  curl::transport_options transport_options{.api_root = sim.api_root()};

  client<curl::transport> make_client(retry_policy retry = {}, std::size_t workers = 0) {
    client_options<curl::transport> o;
    o.retry = retry;
    if (workers > 0)
      o.transport_factory = [opts = transport_options] { return curl::transport(opts); };
    return client<curl::transport>(curl::transport(transport_options), config, std::move(o));
  }

  njson state() const {
    auto reply = sim.control_get("/_sim/state");
    REQUIRE(reply.status == 200);
    return njson::parse(reply.body);
  }
  void fault(const njson& rule) const {
    auto reply = sim.control_post("/_sim/faults", rule.dump());
    REQUIRE_MESSAGE(reply.status == 201, reply.body);
  }
  void configure(const njson& settings_json) const {
    auto reply = sim.control_post("/_sim/config", settings_json.dump());
    REQUIRE_MESSAGE(reply.status == 200, reply.body);
  }
  njson batch_state(std::int64_t id) const {
    njson all = state();  // a named copy: iterating a member of a temporary would dangle
    for (const auto& b : all["batches"])
      if (b["id"] == id) return b;
    return njson();
  }
  std::map<std::string, std::pair<std::uint64_t, std::string>> files_of(std::int64_t id) const {
    std::map<std::string, std::pair<std::uint64_t, std::string>> out;
    njson batch = batch_state(id);
    for (const auto& f : batch["files"])
      out[f["name"].get<std::string>()] = {f["size"].get<std::uint64_t>(),
                                           f["sha256"].get<std::string>()};
    return out;
  }
};

retry_policy fast_retries() {
  retry_policy p;
  p.max_attempts = 6;
  p.initial_backoff = std::chrono::milliseconds(50);
  p.max_backoff = std::chrono::milliseconds(500);
  return p;
}

}  // namespace

TEST_CASE("e2e: the batch workflow against the simulator") {
  hub_fixture hub;
  temp_dir dir;
  auto c = hub.make_client();

  auto batch = c.call(create_batch{.name = "e2e workflow"});
  REQUIRE_MESSAGE(batch, (batch ? "" : batch.error().describe()));

  const std::vector<std::pair<std::string, std::uint64_t>> small = {
      {"invoice 2026#1.pdf", 12'345}, {"r\xC3\xA9sum\xC3\xA9 100%+.txt", 777}, {"one-byte.bin", 1}};
  std::map<std::string, std::string> digests;
  std::uint32_t seed = 1;
  for (const auto& [name, size] : small) {
    auto path = write_file(dir.path / ("local-" + std::to_string(seed)), size, seed);
    ++seed;
    auto up = c.upload_file(batch->id, path, name);
    REQUIRE_MESSAGE(up, (up ? "" : up.error().describe()));
    CHECK_FALSE(up->multipart);
    digests[name] = file_sha256(path);
  }
  auto large_path = write_file(dir.path / "large.bin", 50ull << 20, 99);
  std::uint64_t reported = 0;
  auto large =
      c.upload_file(batch->id, large_path, "large scan.tiff",
                    {.on_progress = [&](std::uint64_t done, std::uint64_t) { reported = done; }});
  REQUIRE_MESSAGE(large, (large ? "" : large.error().describe()));
  CHECK(large->multipart);
  CHECK(large->parts == 5);  // 50 MiB in the simulator's 10 MiB parts
  CHECK(reported == 50ull << 20);
  digests["large scan.tiff"] = file_sha256(large_path);

  // Page by page (two files a page), checked against the simulator's own record of the bytes.
  std::map<std::string, std::int64_t> listed;
  int pages = 0;
  for (auto& page : c.file_pages({.batch_id = batch->id, .page_size = 2})) {
    REQUIRE_MESSAGE(page, (page ? "" : page.error().describe()));
    ++pages;
    for (const auto& node : page->nodes) listed[node.name] = node.size().value_or(-1);
  }
  CHECK(pages == 2);
  auto stored = hub.files_of(batch->id);
  REQUIRE(stored.size() == 4);
  REQUIRE(listed.size() == 4);
  for (const auto& entry : digests) {
    const std::string& name = entry.first;  // named: clang 14 cannot capture a structured binding
    const std::string& digest = entry.second;
    CAPTURE(name);
    REQUIRE(stored.count(name) == 1);
    CHECK(stored[name].second == digest);
    CHECK(listed[name] == static_cast<std::int64_t>(stored[name].first));
  }
  CHECK(hub.state()["multipart_sessions"].empty());

  REQUIRE(c.call(delete_file{.batch_id = batch->id, .name = "one-byte.bin"}));
  CHECK(hub.files_of(batch->id).count("one-byte.bin") == 0);

  auto job = c.call(delete_batch{.batch_id = batch->id});
  REQUIRE(job);
  auto finished =
      c.wait_for_batches_job(job->job_id, {.first_interval = std::chrono::milliseconds(20)});
  REQUIRE_MESSAGE(finished, (finished ? "" : finished.error().describe()));
  CHECK(finished->state == job_state::complete);
  CHECK(hub.batch_state(batch->id).is_null());

  // The IB-Context reached every API request.
  njson final_state = hub.state();
  for (const auto& r : final_state["requests"]) {
    if (r["path"].get<std::string>().rfind("/api/", 0) != 0) continue;
    CHECK(r["ib_context"] == "org-e2e");
  }
}

TEST_CASE(
    "e2e: a 200 MiB multipart upload survives 429, 503, dropped connections and a lost commit "
    "answer") {
  hub_fixture hub;
  temp_dir dir;
  auto c = hub.make_client(fast_retries(), 4);
  auto batch = c.call(create_batch{.name = "faults"});
  REQUIRE(batch);
  auto path = write_file(dir.path / "big.bin", 200ull << 20, 7);

  hub.fault({{"operation", "uploadMultipartPart"},
             {"count", 1},
             {"action", "status"},
             {"status", 429},
             {"retry_after", "1"}});
  hub.fault(
      {{"operation", "uploadMultipartPart"}, {"count", 2}, {"action", "status"}, {"status", 503}});
  hub.fault({{"operation", "uploadMultipartPart"}, {"count", 2}, {"action", "drop"}});
  // The first commit meets a 503; the second is applied but its answer is lost on the way back.
  hub.fault({{"operation", "commitMultipartUploadSession"},
             {"count", 1},
             {"action", "status"},
             {"status", 503}});
  hub.fault({{"operation", "commitMultipartUploadSession"},
             {"count", 1},
             {"action", "drop"},
             {"process", true}});

  auto up = c.upload_file(batch->id, path, "big.bin", {.parallel_parts = 4});
  REQUIRE_MESSAGE(up, (up ? "" : up.error().describe()));
  CHECK(up->parts == 20);
  auto stored = hub.files_of(batch->id);
  REQUIRE(stored.count("big.bin") == 1);
  CHECK(stored["big.bin"].first == 200ull << 20);
  CHECK(stored["big.bin"].second == file_sha256(path));
  auto state = hub.state();
  CHECK(state["multipart_sessions"].empty());
  for (const auto& f : state["faults"]) CHECK(f["remaining"] == 0);  // every fault was hit
  // The lost commit answer was confirmed through the listing, not by uploading again.
  CHECK(up->confirmed_by_listing);
  int sessions_started = 0;
  for (const auto& r : state["requests"])
    if (r["operation"] == "createMultipartUploadSession") ++sessions_started;
  CHECK(sessions_started == 1);
}

TEST_CASE("e2e: a part that fails every time aborts the session on the server") {
  hub_fixture hub;
  temp_dir dir;
  auto c = hub.make_client(fast_retries());
  auto batch = c.call(create_batch{.name = "doomed"});
  REQUIRE(batch);
  auto path = write_file(dir.path / "doomed.bin", 25ull << 20, 3);
  hub.fault({{"operation", "uploadMultipartPart"},
             {"count", 1000},
             {"action", "status"},
             {"status", 503}});

  auto up = c.upload_file(batch->id, path, "doomed.bin", {.parallel_parts = 1});
  REQUIRE_FALSE(up);
  CHECK(up.error().http_status == 503);
  CHECK(up.error().message.find("part 1 of 3") != std::string::npos);
  CHECK(up.error().message.find("aborted") != std::string::npos);
  auto state = hub.state();
  CHECK(state["multipart_sessions"].empty());
  CHECK(hub.files_of(batch->id).count("doomed.bin") == 0);
  int aborts = 0;
  for (const auto& r : state["requests"])
    if (r["operation"] == "commitMultipartUploadSession" && r["status"] == 201) ++aborts;
  CHECK(aborts == 1);
}

TEST_CASE("e2e: errors from the server and the network are typed and never show the token") {
  hub_fixture hub;
  settings wrong = hub.config;
  wrong.token = "not-the-token-123";
  client<curl::transport> c(curl::transport(hub.transport_options), wrong);
  auto denied = c.call(list_batches{});
  REQUIRE_FALSE(denied);
  CHECK(denied.error().kind == error_kind::http_status);
  CHECK(denied.error().http_status == 401);
  CHECK(denied.error().describe().find("not-the-token-123") == std::string::npos);

  auto ok_client = hub.make_client(retry_policy::none());
  auto before = hub.state()["requests_total"].get<std::uint64_t>();
  auto too_long = ok_client.call(create_batch{.name = std::string(256, 'n')});
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().kind == error_kind::validation);  // refused before the wire
  CHECK(hub.state()["requests_total"].get<std::uint64_t>() == before);

  hub.sim.stop();
  auto refused = ok_client.call(get_batch{.batch_id = 1});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == error_kind::transport);
  CHECK(refused.error().not_sent);
}

TEST_CASE("e2e: a run on a batch is waited to COMPLETE and every results page is read") {
  hub_fixture hub;
  hub.configure({{"results_page_size", 2}, {"run_running_polls", 2}});
  auto c = hub.make_client(fast_retries());
  auto batch = c.call(create_batch{.name = "run input"});
  REQUIRE(batch);
  const std::string text = "document body";
  for (int i = 0; i < 5; ++i)
    REQUIRE(c.upload(batch->id, file_name(std::string_view("doc" + std::to_string(i) + ".txt")),
                     upload_source::from_bytes(std::as_bytes(std::span(text)))));

  auto started = c.call(run_app{.app_name = "Invoice extractor", .batch_id = batch->id});
  REQUIRE_MESSAGE(started, (started ? "" : started.error().describe()));
  auto finished = c.wait_for_run(started->id, {.first_interval = std::chrono::milliseconds(20)});
  REQUIRE_MESSAGE(finished, (finished ? "" : finished.error().describe()));
  CHECK(finished->status == run_status::complete);
  REQUIRE(finished->finish_timestamp);
  CHECK(*finished->finish_timestamp > (std::int64_t{1} << 53));  // nanoseconds, exact

  std::set<std::string> files;
  int pages = 0;
  for (auto& page : c.result_pages({.run_id = started->id, .include_confidence_scores = true})) {
    REQUIRE_MESSAGE(page, (page ? "" : page.error().describe()));
    ++pages;
    CHECK(page->batch_id_number() == batch->id);  // a string in results, decoded either way
    for (const auto& f : page->files) files.insert(f.original_file_name);
  }
  CHECK(pages == 3);
  CHECK(files.size() == 5);

  hub.configure({{"run_final_status", "FAILED"}});
  auto doomed = c.call(run_app{.app_name = "Invoice extractor", .batch_id = batch->id});
  REQUIRE(doomed);
  auto failed = c.wait_for_run(doomed->id, {.first_interval = std::chrono::milliseconds(20)});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().kind == error_kind::failed);
  CHECK(failed.error().operation == "getRunStatus");

  hub.configure({{"run_final_status", "STOPPED_AT_CHECKPOINT"}});
  auto review = c.call(run_app{.app_name = "Invoice extractor", .batch_id = batch->id});
  REQUIRE(review);
  auto paused = c.wait_for_run(review->id, {.first_interval = std::chrono::milliseconds(20)});
  REQUIRE(paused);
  CHECK(paused->needs_review());

  hub.configure({{"run_final_status", "COMPLETE"}, {"run_running_polls", 1000}});
  auto slow = c.call(run_app{.app_name = "Invoice extractor", .batch_id = batch->id});
  REQUIRE(slow);
  auto late = c.wait_for_run(slow->id, {.first_interval = std::chrono::milliseconds(10),
                                        .timeout = std::chrono::milliseconds(200)});
  REQUIRE_FALSE(late);
  CHECK(late.error().kind == error_kind::timeout);
}

// Not compiled under AddressSanitizer, whose shadow memory and quarantine would measure ASan rather
// than the upload; the plain builds in CI run it.
#if !defined(__SANITIZE_ADDRESS__) && !defined(AIHUB_SANITIZED)
namespace {
/// Runs the upload probe on `path`; returns its peak RSS in KiB (or -1).
long probe_peak_rss_kib(const aihub_test::simulator_process& sim, const std::string& path,
                        int parallel) {
  int out[2];
  REQUIRE(::pipe(out) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::string root = sim.api_root(), token = "e2e-token", parts = std::to_string(parallel);
  std::string binary = AIHUB_UPLOAD_PROBE_PATH;
  char* argv[] = {binary.data(), root.data(), token.data(), const_cast<char*>(path.c_str()),
                  parts.data(),  nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  REQUIRE(rc == 0);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), text);
  unsigned long long size = 0;
  long rss = -1;
  REQUIRE(std::sscanf(text.c_str(), "%llu %ld", &size, &rss) == 2);
  return rss;
}
}  // namespace

TEST_CASE("e2e: peak memory of an upload does not grow with the file size") {
  aihub_test::simulator_process sim{AIHUB_SIMULATOR_PATH,
                                    {"--token", "e2e-token", "--discard-content"}};
  temp_dir dir;
  auto sparse = [&](const char* name, std::uint64_t size) {
    auto path = (dir.path / name).string();
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    ::close(fd);
    return path;
  };
  auto small = sparse("small.bin", 64ull << 20);
  auto large = sparse("large.bin", 1ull << 30);
  long small_rss = probe_peak_rss_kib(sim, small, 4);
  long large_rss = probe_peak_rss_kib(sim, large, 4);
  MESSAGE("peak RSS: 64 MiB upload " << small_rss / 1024 << " MiB, 1 GiB upload "
                                     << large_rss / 1024 << " MiB");
  // 16x the bytes; the peak may differ by noise, never by anything like the file size.
  CHECK(large_rss - small_rss < 16 * 1024);
  CHECK(large_rss < 64 * 1024);
}
#endif

TEST_CASE("e2e: many files upload concurrently, one client per thread") {
  hub_fixture hub;
  temp_dir dir;
  auto setup = hub.make_client();
  auto batch = setup.call(create_batch{.name = "concurrent"});
  REQUIRE(batch);
  constexpr int files = 6;
  std::vector<std::string> paths, digests(files);
  for (int i = 0; i < files; ++i) {
    // Every other file is large enough for a multipart session of its own.
    std::uint64_t size = (i % 2) ? (std::uint64_t{12} << 20) + static_cast<std::uint64_t>(i)
                                 : std::uint64_t{300'000};
    paths.push_back(write_file(dir.path / ("f" + std::to_string(i)), size,
                               500 + static_cast<std::uint32_t>(i)));
  }
  std::vector<std::string> failures(files);
  {
    std::vector<std::jthread> workers;
    for (int i = 0; i < files; ++i)
      workers.emplace_back([&, i] {
        auto c = hub.make_client(fast_retries(), 2);
        auto up = c.upload_file(batch->id, paths[static_cast<std::size_t>(i)]);
        if (!up) failures[static_cast<std::size_t>(i)] = up.error().describe();
      });
  }
  for (const auto& f : failures) CHECK_MESSAGE(f.empty(), f);
  auto stored = hub.files_of(batch->id);
  REQUIRE(stored.size() == static_cast<std::size_t>(files));
  for (int i = 0; i < files; ++i) {
    auto name = "f" + std::to_string(i);
    CAPTURE(name);
    CHECK(stored[name].second == file_sha256(paths[static_cast<std::size_t>(i)]));
  }
  CHECK(hub.state()["multipart_sessions"].empty());
}
