// The `aihub` command-line tool, end to end: the built binary runs as a subprocess against the
// local AI Hub simulator (one per test case), and each test checks the exit status, stdout (JSON
// parsed with nlohmann/json), stderr, and what the simulator saw (its state and request log).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "cli_process.hpp"
#include "sha256.hpp"
#include "simulator_process.hpp"

using aihub_cli_test::run_result;
using aihub_cli_test::spawn_options;
using nlohmann::json;

namespace {

const std::string cli_path = AIHUB_CLI_PATH;
constexpr const char* token = "cli-s3cr3t-token-4711";

std::string describe(const run_result& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
         "\n--- stdout ---\n" + r.out + "\n--- stderr ---\n" + r.err;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "aihub-cli-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Writes `size` pseudo-random bytes; returns the path.
  std::string file(const std::string& name, std::uint64_t size, std::uint32_t seed = 1) const {
    auto p = path / name;
    std::ofstream out(p, std::ios::binary);
    std::mt19937 rng(seed);
    for (std::uint64_t i = 0; i < size; ++i) out.put(static_cast<char>(rng() & 0xff));
    return p.string();
  }
};

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  aihub_sim::sha256 hash;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    hash.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return hash.hex();
}

/// A loopback port nothing listens on.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// A loopback HTTP server that answers every request with the same 200 response (a body that
/// breaks the API's promises), or with what a responder returns for the request line
/// ("GET /api/v2/jobs/j1 HTTP/1.1"): a status and a JSON body.
class canned_server {
 public:
  using responder = std::function<std::pair<int, std::string>(std::string_view request_line)>;

  explicit canned_server(std::string body)
      : canned_server([body = std::move(body)](std::string_view) {
          return std::pair{200, body};
        }) {}
  explicit canned_server(responder respond) : respond_(std::move(respond)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~canned_server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string api_root() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api"; }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      std::string request;
      char buffer[4096];
      while (!contains(request, "\r\n\r\n")) {
        ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      ++requests_;
      auto [status, body] = respond_(std::string_view(request).substr(0, request.find("\r\n")));
      std::string response = "HTTP/1.1 " + std::to_string(status) +
                             " Canned\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      [[maybe_unused]] auto sent = ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  responder respond_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

struct cli_fixture {
  aihub_test::simulator_process sim;

  explicit cli_fixture(std::vector<std::string> extra = {})
      : sim(AIHUB_SIMULATOR_PATH, with_token(std::move(extra))) {}

  static std::vector<std::string> with_token(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--token", token});
    return extra;
  }

  /// Runs aihub with --api-root and --token of this simulator in front of `args`.
  run_result cli(std::vector<std::string> args, const spawn_options& options = {}) const {
    args.insert(args.begin(), {"--api-root", sim.api_root(), "--token", token});
    return aihub_cli_test::run(cli_path, args, options);
  }
  /// Runs aihub with exactly `args` (settings from `options.env` or flags in `args`).
  run_result bare(const std::vector<std::string>& args, const spawn_options& options = {}) const {
    return aihub_cli_test::run(cli_path, args, options);
  }

  json state() const {
    auto reply = sim.control_get("/_sim/state");
    REQUIRE(reply.status == 200);
    return json::parse(reply.body);
  }
  std::int64_t requests_total() const { return state()["requests_total"].get<std::int64_t>(); }
  int count(std::string_view operation) const {
    int n = 0;
    json all = state();
    for (const auto& r : all["requests"])
      if (r["operation"] == operation) ++n;
    return n;
  }
  json last_request() const {
    json all = state();
    REQUIRE_FALSE(all["requests"].empty());
    return all["requests"].back();
  }
  json batch(std::int64_t id) const {
    json all = state();
    for (const auto& b : all["batches"])
      if (b["id"] == id) return b;
    return json();
  }
  void fault(const json& rule) const {
    auto reply = sim.control_post("/_sim/faults", rule.dump());
    REQUIRE_MESSAGE(reply.status == 201, reply.body);
  }
  void configure(const json& config) const {
    auto reply = sim.control_post("/_sim/config", config.dump());
    REQUIRE_MESSAGE(reply.status == 200, reply.body);
  }

  /// Starts `aihub batches upload ID FILE` (multipart, `parallel` parts at once) without waiting
  /// for it to end.
  aihub_cli_test::child_process spawn_upload(std::int64_t id, const std::string& file,
                                             int parallel) const {
    return aihub_cli_test::child_process(
        cli_path,
        {"--api-root", sim.api_root(), "--token", token, "batches", "upload", std::to_string(id),
         file, "--multipart-threshold", "1000", "--parallel", std::to_string(parallel)},
        {});
  }
  /// Returns once the simulator holds a multipart session (an upload's parts are then under way).
  void wait_for_session() const {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (state()["multipart_sessions"].empty() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE_FALSE(state()["multipart_sessions"].empty());
  }

  std::int64_t make_batch(const std::string& name) const {
    auto r = cli({"--json", "batches", "create", name});
    REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
    return json::parse(r.out)["id"].get<std::int64_t>();
  }
  std::string start_run(std::int64_t batch_id, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"runs",      "start",   "--app",
                                  "Extractor", "--batch", std::to_string(batch_id)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = cli(args);
    REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
    std::string id = r.out.substr(0, r.out.find('\n'));
    REQUIRE_FALSE(id.empty());
    return id;
  }
  json run_state(const std::string& id) const {
    json all = state();
    for (const auto& r : all["runs"])
      if (r["id"] == id) return r;
    return json();
  }
};

/// Every command of the tool, as written in its help.
const std::vector<std::vector<std::string>> every_command = {
    {"batches", "create"}, {"batches", "list"},  {"batches", "get"},         {"batches", "delete"},
    {"batches", "upload"}, {"batches", "files"}, {"batches", "delete-file"}, {"batches", "job"},
    {"runs", "start"},     {"runs", "deploy"},   {"runs", "status"},         {"runs", "results"},
    {"runs", "list"},      {"runs", "delete"},   {"jobs", "status"}};

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Help and usage

TEST_CASE("cli: --help at every level documents the commands and exit statuses and sends nothing") {
  cli_fixture f;
  auto top = f.cli({"--help"});
  REQUIRE_MESSAGE(top.exit_code == 0, describe(top));
  CHECK(contains(top.out, "Usage: aihub"));
  for (const auto& cmd : every_command) CHECK(contains(top.out, cmd[0] + " " + cmd[1]));
  for (std::string code : {"0 ", "2 ", "3 ", "4 ", "5 ", "130 "})
    CHECK(contains(top.out, "\n  " + code));
  CHECK(contains(top.out, "AIHUB_API_TOKEN"));
  CHECK(contains(top.out, "AIHUB_IB_CONTEXT"));

  auto no_args_help = f.bare({"help"});
  CHECK(no_args_help.exit_code == 0);
  CHECK(no_args_help.out == top.out);

  for (std::string group : {"batches", "runs", "jobs"}) {
    auto r = f.cli({group, "--help"});
    CHECK_MESSAGE(r.exit_code == 0, describe(r));
    CHECK(contains(r.out, "Usage: aihub " + group + " COMMAND"));
  }
  for (const auto& cmd : every_command) {
    auto r = f.cli({cmd[0], cmd[1], "--help"});
    CHECK_MESSAGE(r.exit_code == 0, describe(r));
    CHECK(contains(r.out, "Usage: aihub " + cmd[0] + " " + cmd[1]));
    CHECK(contains(r.out, "Exit status"));
    auto h = f.bare({"help", cmd[0], cmd[1]});
    CHECK(h.out == r.out);
  }
  CHECK(contains(f.cli({"batches", "create", "--help"}).out, "--workspace WS"));
  CHECK(contains(f.cli({"runs", "start", "-h"}).out, "--tag T"));
  CHECK(contains(f.cli({"batches", "upload", "--help"}).out, "--multipart-threshold BYTES"));
  const auto deploy_help = f.cli({"runs", "deploy", "--help"}).out;
  CHECK(contains(deploy_help, "Usage: aihub runs deploy DEPLOYMENT_ID (--batch BATCH_ID |"));
  for (std::string option : {"--batch BATCH_ID", "--input-dir DIR", "--upstream-integration",
                             "--from-ms UNIX_MS", "--to-ms UNIX_MS", "--version V",
                             "--output-dir DIR", "--tag T", "--wait", "--timeout SECONDS"})
    CHECK_MESSAGE(contains(deploy_help, "\n  " + option), option);
  CHECK_FALSE(contains(deploy_help, "--output-workspace"));  // runDeployment has none
  const auto delete_help = f.cli({"runs", "delete", "--help"}).out;
  for (std::string part : {"db-data", "input", "output", "logs"})
    CHECK_MESSAGE(contains(delete_help, "\n  --keep-" + part + " "), part);
  CHECK(contains(delete_help, "default: delete"));
  CHECK(contains(f.cli({"runs", "--help"}).out, "  delete RUN_ID [--keep-db-data]"));
  CHECK(f.requests_total() == 0);
}

TEST_CASE("cli: usage errors exit 2 with one error line and a hint and send nothing") {
  cli_fixture f;
  temp_dir dir;
  const auto a = dir.file("a.txt", 10);
  const auto b = dir.file("b.txt", 10);
  struct usage_case {
    std::vector<std::string> args;
    std::string message;  ///< part of the error line
  };
  const std::vector<usage_case> cases = {
      {{}, "missing command"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"batches"}, "missing command after 'batches'"},
      {{"batches", "frob"}, "unknown command 'batches frob'"},
      {{"--bogus", "batches", "list"}, "unknown option '--bogus'"},
      {{"batches", "create"}, "missing argument: expected NAME"},
      {{"batches", "create", "a", "b"}, "unexpected argument 'b'"},
      {{"batches", "create", "a", "--bogus"}, "unknown option '--bogus'"},
      {{"batches", "create", "a", "--workspace"}, "--workspace needs a value"},
      {{"batches", "create", "a", "--workspace", "x", "--workspace", "y"}, "only once"},
      {{"batches", "get", "abc"}, "BATCH_ID must be a positive integer, not 'abc'"},
      {{"batches", "get", "12x"}, "BATCH_ID must be a positive integer"},
      {{"batches", "get", "0"}, "BATCH_ID must be a positive integer"},
      {{"batches", "get", "-3"}, "BATCH_ID must be a positive integer"},
      {{"batches", "get", "99999999999999999999"}, "BATCH_ID must be a positive integer"},
      {{"batches", "get", "1", "--workspace", "x"}, "unknown option '--workspace'"},
      {{"batches", "list", "extra"}, "unexpected argument 'extra'"},
      {{"batches", "list", "--limit", "ten"}, "--limit needs an integer"},
      {{"batches", "list", "--offset", "-1"}, "--offset must be at least 0"},
      {{"batches", "delete", "1", "--timeout", "1"}, "--timeout applies only with --wait"},
      {{"batches", "delete", "1", "--wait", "--timeout", "soon"}, "--timeout needs a number"},
      {{"batches", "upload", "1"}, "missing argument: expected BATCH_ID FILE..."},
      {{"batches", "upload", "x", a}, "BATCH_ID must be a positive integer"},
      {{"batches", "upload", "1", a, b, "--name", "both.txt"}, "--name applies to one FILE only"},
      {{"batches", "upload", "1", a, (dir.path / "missing.txt").string()}, "cannot read"},
      {{"batches", "upload", "1", dir.path.string()}, "is not a regular file"},
      {{"batches", "upload", "1", a, "--parallel", "0"}, "--parallel must be 1 to 64"},
      {{"batches", "upload", "1", a, "--multipart-threshold", "big"}, "--multipart-threshold"},
      {{"batches", "upload", "1", a, "--name", "sub/dir.txt"}, "must not contain '/'"},
      {{"batches", "upload", "1", a, a}, "would both be uploaded as 'a.txt'"},
      {{"batches", "files", "1", "--page-size", "0"}, "--page-size must be at least 1"},
      {{"batches", "files", "1", "--max-pages", "1.5"}, "--max-pages needs an integer"},
      {{"batches", "delete-file", "1"}, "expected BATCH_ID NAME"},
      {{"batches", "job"}, "expected JOB_ID"},
      {{"runs", "start", "--app", "x"}, "missing --batch BATCH_ID or --input-dir DIR"},
      {{"runs", "start", "--batch", "1"}, "missing --app NAME or --app-id ID"},
      {{"runs", "start", "--app", "x", "--app-id", "y", "--batch", "1"}, "not both"},
      {{"runs", "start", "--app-id", "y", "--owner", "o", "--batch", "1"},
       "--owner applies only with --app"},
      {{"runs", "start", "--app", "x", "--batch", "1", "--input-dir", "d"}, "not both"},
      {{"runs", "start", "--app", "x", "--batch", "one"}, "--batch needs an integer"},
      {{"runs", "start", "--app", "x", "--batch", "1", "--tag", ""}, "--tag must not be empty"},
      {{"runs", "deploy"}, "missing argument: expected DEPLOYMENT_ID"},
      {{"runs", "deploy", "dep-1"},
       "missing --batch BATCH_ID, --input-dir DIR or --upstream-integration"},
      {{"runs", "deploy", "dep-1", "dep-2", "--batch", "1"}, "unexpected argument 'dep-2'"},
      {{"runs", "deploy", "", "--batch", "1"}, "DEPLOYMENT_ID must not be empty"},
      {{"runs", "deploy", "dep-1", "--batch", "1", "--input-dir", "d"}, "give only one of"},
      {{"runs", "deploy", "dep-1", "--input-dir", "d", "--upstream-integration"},
       "give only one of --batch, --input-dir and --upstream-integration"},
      {{"runs", "deploy", "dep-1", "--batch", "0"}, "--batch must be at least 1"},
      {{"runs", "deploy", "dep-1", "--input-dir", ""}, "--input-dir must not be empty"},
      {{"runs", "deploy", "dep-1", "--app", "x", "--batch", "1"}, "unknown option '--app'"},
      {{"runs", "deploy", "dep-1", "--batch", "1", "--output-workspace", "w"},
       "unknown option '--output-workspace'"},
      {{"runs", "deploy", "dep-1", "--batch", "1", "--from-ms", "1700000000000"},
       "--from-ms applies only with --upstream-integration"},
      {{"runs", "deploy", "dep-1", "--upstream-integration", "--to-ms", "1700000000"},
       "--to-ms must be Unix time in milliseconds"},
      {{"runs", "deploy", "dep-1", "--upstream-integration", "--from-ms", "1700000000001",
        "--to-ms", "1700000000000"},
       "--from-ms must not be after --to-ms"},
      {{"runs", "deploy", "dep-1", "--upstream-integration", "--from-ms", "soon"},
       "--from-ms needs an integer"},
      {{"runs", "deploy", "dep-1", "--batch", "1", "--tag", ""}, "--tag must not be empty"},
      {{"runs", "deploy", "dep-1", "--batch", "1", "--timeout", "3"},
       "--timeout applies only with --wait"},
      {{"runs", "deploy", "dep-1", "--upstream-integration=yes"},
       "--upstream-integration does not take a value"},
      {{"runs", "delete"}, "missing argument: expected RUN_ID"},
      {{"runs", "delete", "r1", "r2"}, "unexpected argument 'r2'"},
      {{"runs", "delete", "r1", "--timeout", "1"}, "--timeout applies only with --wait"},
      {{"runs", "delete", "r1", "--wait", "--timeout", "later"}, "--timeout needs a number"},
      {{"runs", "delete", "r1", "--keep-db-data", "--keep-input", "--keep-output", "--keep-logs"},
       "nothing to delete"},
      {{"runs", "delete", "r1", "--delete-input"}, "unknown option '--delete-input'"},
      {{"runs", "delete", "r1", "--keep-input", "--keep-input"}, "only once"},
      {{"runs", "status"}, "expected RUN_ID"},
      {{"runs", "status", "r1", "r2"}, "unexpected argument 'r2'"},
      {{"runs", "results", "r1", "--max-pages", "-1"}, "--max-pages must be at least 1"},
      {{"runs", "list", "--status", "bogus"}, "--status must be one of"},
      {{"runs", "list", "--order", "sideways"}, "--order must be asc or desc"},
      {{"runs", "list", "--sort-by", "name"}, "--sort-by must be"},
      {{"runs", "list", "--from", "yesterday"}, "--from needs an integer"},
      {{"jobs", "status"}, "expected JOB_ID"},
      {{"jobs", "status", "j1", "--wait", "--timeout", "-1"}, "--timeout needs a number"},
      {{"--context", "", "batches", "list"}, "--context must not be empty"},
  };
  for (const auto& [args, message] : cases) {
    std::string joined;
    for (const auto& s : args) joined += s + " ";
    INFO("aihub " << joined);
    const auto before = f.requests_total();
    auto r = f.cli(args);
    CHECK_MESSAGE(r.exit_code == 2, describe(r));
    CHECK(r.out.empty());
    CHECK_MESSAGE(contains(r.err, "aihub: error: "), r.err);
    CHECK_MESSAGE(contains(r.err, message), r.err);
    CHECK(contains(r.err, "--help'"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 2);  // the error and the hint
    CHECK(f.requests_total() == before);
  }
  CHECK(f.requests_total() == 0);
}

TEST_CASE("cli: the library's validation errors exit 2 and send nothing") {
  cli_fixture f;
  const std::string root = f.sim.api_root();
  struct refused {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<refused> cases = {
      {{"--api-root", root, "--token", token, "batches", "create", std::string(256, 'n')},
       "name: must be at most 255 characters"},
      {{"--api-root", root, "--token", token, "--service-account", "batches", "create", "svc"},
       "workspace: is required when calling as a service account"},
      {{"--api-root", root, "--token", token, "--service-account", "runs", "start", "--app", "x",
        "--batch", "1"},
       "output_workspace"},
      {{"--api-root", root, "--token", token, "runs", "start", "--app", "x", "--batch", "1",
        "--tag", std::string(501, 't')},
       "settings.tags"},
      {{"--api-root", "ftp://127.0.0.1/api", "--token", token, "batches", "list"}, "api_root"},
      {{"--api-root", root, "batches", "list"}, "AIHUB_API_TOKEN"},
      {{"--api-root", root, "--token", "two words", "batches", "list"}, "token"},
      {{"--api-root", root, "--token", token, "--context", "org\n1", "batches", "list"},
       "ib_context"},
      {{"--api-root", root, "--token", token, "batches", "delete-file", "1", "a\x01.txt"},
       "control characters"},
      {{"--api-root", root, "--token", token, "runs", "deploy", "dep\x01", "--batch", "1"},
       "deployment_id"},
      {{"--api-root", root, "--token", token, "runs", "deploy", "dep-1", "--batch", "1", "--tag",
        std::string(501, 't')},
       "settings.tags"},
      {{"--api-root", root, "--token", token, "runs", "delete", "run\n1"}, "run_id"},
      // Invalid UTF-8 in any text field (cut short, overlong, a surrogate) never reaches JSON.
      {{"--api-root", root, "--token", token, "batches", "create", "b", "--workspace", "ws\xff"},
       "workspace: must be valid UTF-8"},
      {{"--api-root", root, "--token", token, "batches", "list", "--workspace", "\xc0\xaf"},
       "workspace: must be valid UTF-8"},
      {{"--api-root", root, "--token", token, "batches", "list", "--username", "\xed\xa0\x80"},
       "username: must be valid UTF-8"},
  };
  for (const auto& c : cases) {
    INFO("expecting " << c.message);
    const auto before = f.requests_total();
    auto r = f.bare(c.args);
    CHECK_MESSAGE(r.exit_code == 2, describe(r));
    CHECK_MESSAGE(contains(r.err, c.message), describe(r));
    CHECK(r.out.empty());
    CHECK(f.requests_total() == before);
  }
  // The service account passes validation once it names a workspace.
  auto ok = f.cli({"--service-account", "batches", "create", "svc", "--workspace", "team"});
  CHECK_MESSAGE(ok.exit_code == 0, describe(ok));
  CHECK(f.requests_total() == 1);
}

// ---------------------------------------------------------------------------------------------------
// Batches

TEST_CASE("cli: batches create get list and delete as text and as JSON") {
  cli_fixture f;
  auto created = f.cli({"batches", "create", "alpha"});
  REQUIRE_MESSAGE(created.exit_code == 0, describe(created));
  REQUIRE(created.out.size() > 1);
  CHECK(created.out.find_first_not_of("0123456789") == created.out.size() - 1);  // the id alone
  CHECK(created.out.back() == '\n');
  const auto alpha = std::stoll(created.out);
  CHECK(f.batch(alpha)["name"] == "alpha");
  CHECK(f.batch(alpha)["workspace"] == "personal");

  auto beta_json = f.cli({"batches", "create", "beta", "--workspace", "team", "--json"});
  REQUIRE_MESSAGE(beta_json.exit_code == 0, describe(beta_json));
  const auto beta = json::parse(beta_json.out)["id"].get<std::int64_t>();
  CHECK(json::parse(beta_json.out) == json{{"id", beta}});
  CHECK(f.batch(beta)["workspace"] == "team");

  auto got = f.cli({"--json", "batches", "get", std::to_string(alpha)});
  REQUIRE_MESSAGE(got.exit_code == 0, describe(got));
  auto doc = json::parse(got.out);
  CHECK(doc["id"] == alpha);
  CHECK(doc["name"] == "alpha");
  CHECK(doc["workspace"] == "personal");
  auto got_text = f.cli({"batches", "get", std::to_string(beta)});
  CHECK(contains(got_text.out, "name:"));
  CHECK(contains(got_text.out, "beta"));
  CHECK(contains(got_text.out, "team"));

  auto listed = f.cli({"batches", "list", "--json"});
  REQUIRE_MESSAGE(listed.exit_code == 0, describe(listed));
  std::set<std::int64_t> ids;
  const json list = json::parse(listed.out);  // named: iterating a member of a temporary dangles
  for (const auto& b : list["batches"]) ids.insert(b["id"].get<std::int64_t>());
  const std::set<std::int64_t> both{alpha, beta};
  CHECK_MESSAGE(ids == both, listed.out);
  auto only_team = json::parse(f.cli({"batches", "list", "--workspace", "team", "--json"}).out);
  REQUIRE(only_team["batches"].size() == 1);
  CHECK(only_team["batches"][0]["id"] == beta);
  auto table = f.cli({"batches", "list"});
  CHECK(table.out.starts_with("ID"));
  CHECK(contains(table.out, "alpha"));
  CHECK(contains(table.out, "beta"));
  CHECK(std::count(table.out.begin(), table.out.end(), '\n') == 3);

  auto deleted = f.cli({"batches", "delete", std::to_string(alpha)});
  REQUIRE_MESSAGE(deleted.exit_code == 0, describe(deleted));
  const std::string job = deleted.out.substr(0, deleted.out.find('\n'));
  CHECK(f.batch(alpha).is_null());
  auto job_state = f.cli({"batches", "job", job, "--json"});
  REQUIRE_MESSAGE(job_state.exit_code == 0, describe(job_state));
  CHECK(json::parse(job_state.out)["state"] == "PENDING");
  CHECK(f.count("pollBatchesJob") == 1);
  auto job_done = f.cli({"batches", "job", job, "--wait", "--json"});
  REQUIRE_MESSAGE(job_done.exit_code == 0, describe(job_done));
  CHECK(json::parse(job_done.out)["state"] == "COMPLETE");
  auto job_text = f.cli({"batches", "job", job});
  CHECK(job_text.out.starts_with("COMPLETE"));

  auto waited = f.cli({"batches", "delete", std::to_string(beta), "--wait", "--json"});
  REQUIRE_MESSAGE(waited.exit_code == 0, describe(waited));
  CHECK(json::parse(waited.out)["state"] == "COMPLETE");
  CHECK(f.batch(beta).is_null());
  CHECK(f.count("pollBatchesJob") == 7);  // 1 + 2 (RUNNING, COMPLETE) + 1 + 3 for the new job
}

TEST_CASE("cli: batches list merges its pages and honours --limit") {
  cli_fixture f;
  std::set<std::int64_t> made;
  for (int i = 0; i < 5; ++i) made.insert(f.make_batch("b" + std::to_string(i)));
  auto r = f.cli({"batches", "list", "--page-size", "2", "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  auto doc = json::parse(r.out);
  CHECK(doc.size() == 1);  // the shape of listBatches: only "batches"
  std::set<std::int64_t> seen;
  for (const auto& b : doc["batches"]) seen.insert(b["id"].get<std::int64_t>());
  CHECK(doc["batches"].size() == 5);
  CHECK(seen == made);
  CHECK(f.count("listBatches") == 3);  // 2 + 2 + 1

  auto limited = f.cli({"batches", "list", "--limit", "3", "--page-size", "2", "--json"});
  REQUIRE_MESSAGE(limited.exit_code == 0, describe(limited));
  CHECK(json::parse(limited.out)["batches"].size() == 3);
  CHECK(f.count("listBatches") == 5);  // 2 more
  auto offset = f.cli({"batches", "list", "--offset", "4", "--json"});
  CHECK(json::parse(offset.out)["batches"].size() == 1);
}

TEST_CASE(
    "cli: batches upload (single and multipart in parallel) then files merged and delete-file") {
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  const auto id = f.make_batch("uploads");
  const auto small = dir.file("small.txt", 1000, 1);
  const auto large = dir.file("large.bin", 300'000, 2);  // 5 parts of 64 KiB at most
  const auto other = dir.file("other.pdf", 5000, 3);

  auto r = f.cli({"batches", "upload", std::to_string(id), small, large, other,
                  "--multipart-threshold", "100000", "--parallel", "3", "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(r.err.empty());  // stderr is no terminal here: no progress line
  auto doc = json::parse(r.out);
  CHECK(doc["batch_id"] == id);
  REQUIRE(doc["uploads"].size() == 3);
  CHECK(doc["uploads"][0]["name"] == "small.txt");
  CHECK(doc["uploads"][0]["multipart"] == false);
  CHECK(doc["uploads"][1]["name"] == "large.bin");
  CHECK(doc["uploads"][1]["multipart"] == true);
  CHECK(doc["uploads"][1]["parts"] == 5);
  CHECK(doc["uploads"][1]["size"] == 300'000);
  CHECK(f.count("createMultipartUploadSession") == 1);
  CHECK(f.count("uploadMultipartPart") >= 5);  // libcurl may resend once on a fresh connection
  CHECK(f.count("addFileToBatch") == 2);
  json files = f.batch(id)["files"];
  std::map<std::string, std::string> digests;
  for (const auto& file : files) digests[file["name"]] = file["sha256"];
  CHECK(digests["small.txt"] == file_sha256(small));
  CHECK(digests["large.bin"] == file_sha256(large));
  CHECK(digests["other.pdf"] == file_sha256(other));

  auto renamed = f.cli({"batches", "upload", std::to_string(id), small, "--name", "renamed.txt"});
  REQUIRE_MESSAGE(renamed.exit_code == 0, describe(renamed));
  CHECK(renamed.out == "uploaded renamed.txt (1000 bytes)\n");

  // Four files in pages of 3: two listFiles calls merged into one object.
  const int lists_before = f.count("listFiles");
  auto merged = f.cli({"batches", "files", std::to_string(id), "--page-size", "3", "--json"});
  REQUIRE_MESSAGE(merged.exit_code == 0, describe(merged));
  auto page = json::parse(merged.out);
  std::vector<std::string> names;
  for (const auto& n : page["nodes"]) names.push_back(n["name"]);
  CHECK(names == std::vector<std::string>{"large.bin", "other.pdf", "renamed.txt", "small.txt"});
  CHECK(page["has_more"] == false);
  CHECK_FALSE(page.contains("next_page_token"));
  CHECK(page["nodes"][0]["metadata"]["size"] == 300'000);
  CHECK(f.count("listFiles") == lists_before + 2);

  auto first = json::parse(f.cli({"batches", "files", std::to_string(id), "--page-size", "1",
                                  "--max-pages", "2", "--json"})
                               .out);
  CHECK(first["nodes"].size() == 2);
  CHECK(first["has_more"] == true);
  CHECK(first["next_page_token"].is_string());

  auto text = f.cli({"batches", "files", std::to_string(id)});
  CHECK(text.out.starts_with("NAME"));
  CHECK(contains(text.out, "large.bin"));
  CHECK(contains(text.out, "300000"));

  auto removed = f.cli({"batches", "delete-file", std::to_string(id), "small.txt", "--json"});
  REQUIRE_MESSAGE(removed.exit_code == 0, describe(removed));
  CHECK(json::parse(removed.out) == json::object());
  CHECK(f.batch(id)["files"].size() == 3);
  auto again = f.cli({"batches", "delete-file", std::to_string(id), "small.txt"});
  CHECK_MESSAGE(again.exit_code == 3, describe(again));
  CHECK(contains(again.err, "HTTP 404"));
}

TEST_CASE("cli: an upload refused for one file sends nothing for the others") {
  cli_fixture f;
  temp_dir dir;
  const auto id = f.make_batch("refused");
  const auto good = dir.file("good.txt", 100);
  const auto before = f.requests_total();
  auto r =
      f.cli({"batches", "upload", std::to_string(id), good, (dir.path / "missing.txt").string()});
  CHECK_MESSAGE(r.exit_code == 2, describe(r));
  CHECK(contains(r.err, "missing.txt"));
  CHECK(f.requests_total() == before);
  CHECK(f.batch(id)["files"].empty());
}

TEST_CASE("cli: an upload part that fails after retries exits 3 and aborts the session") {
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  const auto id = f.make_batch("parts");
  const auto large = dir.file("large.bin", 200'000);
  f.fault({{"operation", "uploadMultipartPart"},
           {"count", 100},
           {"action", "status"},
           {"status", 500}});
  auto r = f.cli({"batches", "upload", std::to_string(id), large, "--multipart-threshold", "1000"});
  CHECK_MESSAGE(r.exit_code == 3, describe(r));
  CHECK(contains(r.err, "part"));
  CHECK(contains(r.err, "HTTP 500"));
  CHECK(contains(r.err, "aborted"));
  CHECK(f.state()["multipart_sessions"].empty());
  CHECK(f.count("commitMultipartUploadSession") == 1);  // the abort
  CHECK(f.batch(id)["files"].empty());
}

TEST_CASE("cli: a part that keeps failing in transit also exits 3 (not 4) after its retries") {
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  const auto id = f.make_batch("dropped");
  const auto large = dir.file("large.bin", 100'000);
  f.fault({{"operation", "uploadMultipartPart"}, {"count", 1000}, {"action", "drop"}});
  auto r = f.cli({"batches", "upload", std::to_string(id), large, "--multipart-threshold", "1000",
                  "--parallel", "1"});
  CHECK_MESSAGE(r.exit_code == 3, describe(r));
  CHECK(contains(r.err, "part 1 of 2 failed after 5 attempt(s)"));  // the default retry policy
  CHECK(contains(r.err, "aborted"));
  CHECK(f.count("uploadMultipartPart") >= 5);  // libcurl may resend once on a fresh connection
  CHECK(f.state()["multipart_sessions"].empty());
}

TEST_CASE("cli: a lost session-start answer: one session started, exit 4, said plainly") {
  // The first file's PUT leaves a kept-alive connection; the second file's session start is the
  // POST a reused connection would have resent.
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  const auto id = f.make_batch("lost-start");
  const auto small = dir.file("small.bin", 100);
  const auto big = dir.file("big.bin", 200'000, 2);
  f.fault({{"operation", "createMultipartUploadSession"}, {"action", "lost_answer"}});
  auto r = f.cli({"batches", "upload", std::to_string(id), small, big, "--parallel", "1",
                  "--multipart-threshold", "1000"});
  CHECK_MESSAGE(r.exit_code == 4, describe(r));
  CHECK(contains(r.err, "not idempotent, so it was not resent"));
  CHECK(contains(r.err, "may be open on the server"));
  CHECK(f.count("createMultipartUploadSession") == 1);
  CHECK(f.state()["multipart_sessions"].size() == 1);  // the one the server opened; no second
}

TEST_CASE("cli: a lost commit answer is retried, confirmed by the listing, and exits 0") {
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  const auto id = f.make_batch("lost-commit");
  const auto big = dir.file("big.bin", 200'000, 3);
  f.fault({{"operation", "commitMultipartUploadSession"}, {"action", "lost_answer"}});
  auto r = f.cli(
      {"--json", "batches", "upload", std::to_string(id), big, "--multipart-threshold", "1000"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(f.count("commitMultipartUploadSession") == 2);  // the lost one, and the retry's 404
  CHECK(f.count("listFiles") >= 1);
  CHECK(f.state()["multipart_sessions"].empty());
  const auto files = f.batch(id)["files"];
  REQUIRE(files.size() == 1);
  CHECK(files[0]["sha256"] == file_sha256(big));
}

TEST_CASE("cli: a lost createBatch answer is not resent: exit 4, one batch, said plainly") {
  // The command's one request is its POST, so this checks the flow and the message; that the
  // transport never resends a POST on a reused connection is checked over a raw server in
  // tests/curl and by the lost session start above.
  cli_fixture f;
  f.fault({{"operation", "createBatch"}, {"action", "lost_answer"}});
  auto r = f.cli({"batches", "create", "once"});
  CHECK_MESSAGE(r.exit_code == 4, describe(r));
  CHECK(contains(r.err, "createBatch is not idempotent, so it was not resent"));
  CHECK(f.count("createBatch") == 1);
  CHECK(f.state()["batches"].size() == 1u);
}

TEST_CASE(
    "cli: a file edited while it uploads exits 6 and aborts, one renamed over is sent whole") {
  for (const bool rename_over : {false, true}) {
    CAPTURE(rename_over);
    cli_fixture f({"--part-size", "65536"});
    temp_dir dir;
    const auto id = f.make_batch("changing");
    const auto big = dir.file("big.bin", 300'000, 4);
    const auto original_sha = file_sha256(big);
    // An hour old, as most files are, so the edit below surely moves its modification time.
    timespec old_times[2];
    old_times[0].tv_sec = old_times[1].tv_sec = ::time(nullptr) - 3600;
    old_times[0].tv_nsec = old_times[1].tv_nsec = 0;
    REQUIRE(::utimensat(AT_FDCWD, big.c_str(), old_times, 0) == 0);
    // The first part is held by the server long enough to change the file before the others.
    f.fault({{"operation", "uploadMultipartPart"}, {"action", "delay"}, {"delay_ms", 1500}});
    auto child = f.spawn_upload(id, big, 1);
    f.wait_for_session();
    if (rename_over) {
      const auto other = dir.file("other.bin", 300'000, 5);
      REQUIRE(::rename(other.c_str(), big.c_str()) == 0);
    } else {
      std::fstream edit(big, std::ios::in | std::ios::out | std::ios::binary);
      edit.seekp(200'000);
      edit.write("EDITED", 6);
    }
    auto r = child.wait();
    if (rename_over) {
      REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
      const auto files = f.batch(id)["files"];
      REQUIRE(files.size() == 1);
      CHECK(files[0]["sha256"] == original_sha);
    } else {
      CHECK_MESSAGE(r.exit_code == 6, describe(r));
      CHECK(contains(r.err, "changed while it was being sent"));
      CHECK(contains(r.err, "aborted"));
      CHECK(f.batch(id)["files"].empty());
    }
    CHECK(f.state()["multipart_sessions"].empty());
  }
}

TEST_CASE("cli: Ctrl-C during a multipart upload aborts the session and exits 130") {
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  const auto id = f.make_batch("interrupted");
  const auto large = dir.file("large.bin", 1'000'000);
  f.fault({{"operation", "uploadMultipartPart"},
           {"count", 1000},
           {"action", "delay"},
           {"delay_ms", 3000}});
  auto child = f.spawn_upload(id, large, 2);
  f.wait_for_session();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // parts are in flight (delayed)
  child.signal(SIGINT);
  auto r = child.wait();
  CHECK_MESSAGE(r.exit_code == 130, describe(r));
  CHECK(contains(r.err, "interrupted"));
  CHECK(f.state()["multipart_sessions"].empty());
  CHECK(f.count("commitMultipartUploadSession") == 1);  // the abort
  CHECK(f.batch(id)["files"].empty());
  auto cleared = f.sim.control_delete("/_sim/faults");
  CHECK(cleared.status == 200);
}

TEST_CASE("cli: SIGTERM and SIGHUP stop an upload as Ctrl-C does: session aborted, 143 and 129") {
  for (const int signal_number : {SIGTERM, SIGHUP}) {
    CAPTURE(signal_number);
    cli_fixture f({"--part-size", "65536"});
    temp_dir dir;
    const auto id = f.make_batch("stopped");
    const auto large = dir.file("large.bin", 1'000'000);
    f.fault({{"operation", "uploadMultipartPart"},
             {"count", 1000},
             {"action", "delay"},
             {"delay_ms", 3000}});
    auto child = f.spawn_upload(id, large, 2);
    f.wait_for_session();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // parts are in flight (delayed)
    child.signal(signal_number);
    auto r = child.wait();
    CHECK_MESSAGE(r.exit_code == 128 + signal_number, describe(r));
    CHECK(contains(r.err, signal_number == SIGTERM ? "terminated (SIGTERM)" : "hung up (SIGHUP)"));
    CHECK(f.state()["multipart_sessions"].empty());
    CHECK(f.count("commitMultipartUploadSession") == 1);  // the abort
    CHECK(f.batch(id)["files"].empty());
  }
}

TEST_CASE("cli: a stalled abort after a stop is given up after 10 seconds, not minutes") {
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  const auto id = f.make_batch("stalled");
  const auto large = dir.file("large.bin", 1'000'000);
  f.fault({{"operation", "uploadMultipartPart"},
           {"count", 1000},
           {"action", "delay"},
           {"delay_ms", 1000}});
  f.fault({{"operation", "commitMultipartUploadSession"},
           {"count", 10},
           {"action", "delay"},
           {"delay_ms", 120000}});
  auto child = f.spawn_upload(id, large, 1);
  f.wait_for_session();
  const auto stopped_at = std::chrono::steady_clock::now();
  child.signal(SIGTERM);
  auto r = child.wait();
  const auto took = std::chrono::steady_clock::now() - stopped_at;
  CHECK_MESSAGE(r.exit_code == 143, describe(r));
  CHECK(took < std::chrono::seconds(25));  // one 10-second bound, not one per retry
  CHECK(contains(r.err, "aborting the session failed too"));
}

TEST_CASE("cli: uploads show a progress line on a terminal only") {
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  const auto id = f.make_batch("progress");
  const auto large = dir.file("big.bin", 600'000);
  f.fault({{"operation", "uploadMultipartPart"},
           {"count", 1000},
           {"action", "delay"},
           {"delay_ms", 60}});
  spawn_options on_terminal;
  on_terminal.stderr_on_pty = true;
  auto r = f.cli({"batches", "upload", std::to_string(id), large, "--multipart-threshold", "1000",
                  "--parallel", "2"},
                 on_terminal);
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(contains(r.err, "\r\x1b[K"));  // the progress line is redrawn in place
  CHECK(contains(r.err, "big.bin ["));
  CHECK(contains(r.err, "100%"));
  CHECK(contains(r.err, "600.0 kB / 600.0 kB"));
  CHECK(contains(r.err, "B/s"));
  CHECK(contains(r.err, "ETA"));
  CHECK(contains(r.out, "uploaded big.bin (600000 bytes, 10 parts)"));

  auto plain = f.cli({"batches", "upload", std::to_string(id), large, "--multipart-threshold",
                      "1000", "--name", "again.bin"});
  REQUIRE_MESSAGE(plain.exit_code == 0, describe(plain));
  CHECK(plain.err.empty());
}

// ---------------------------------------------------------------------------------------------------
// Runs and jobs

TEST_CASE("cli: runs start status and list with every start option") {
  cli_fixture f;
  const auto batch = f.make_batch("inputs");
  const std::string run1 =
      f.start_run(batch, {"--owner", "instabase", "--version", "2.1", "--output-workspace",
                          "out-ws", "--tag", "alpha", "--tag", "beta"});
  json s1 = f.run_state(run1);
  CHECK(s1["app_name"] == "Extractor");
  CHECK(s1["owner"] == "instabase");
  CHECK(s1["version"] == "2.1");
  CHECK(s1["output_workspace"] == "out-ws");
  CHECK(s1["batch_id"] == batch);
  CHECK(s1["tags"] == json{"alpha", "beta"});

  auto by_id = f.cli({"runs", "start", "--app-id", "app-123", "--input-dir", "/in/dir",
                      "--output-dir", "/out/dir", "--json"});
  REQUIRE_MESSAGE(by_id.exit_code == 0, describe(by_id));
  auto run2 = json::parse(by_id.out);
  CHECK(run2["status"] == "RUNNING");
  json s2 = f.run_state(run2["id"]);
  CHECK(s2["app_id"] == "app-123");
  CHECK(s2["input_dir"] == "/in/dir");
  CHECK(s2["output_dir"] == "/out/dir");
  CHECK(s2["batch_id"].is_null());

  auto status = f.cli({"runs", "status", run1, "--json"});
  REQUIRE_MESSAGE(status.exit_code == 0, describe(status));
  auto st = json::parse(status.out);
  CHECK(st["id"] == run1);
  CHECK(st["status"] == "RUNNING");
  CHECK(st["batch_id"] == batch);
  auto status_text = f.cli({"runs", "status", run1});
  CHECK(contains(status_text.out, "status:"));
  CHECK(contains(status_text.out, "RUNNING"));
  CHECK(contains(status_text.out, "alpha, beta"));

  const std::string run3 = f.start_run(batch);
  auto listed = f.cli({"runs", "list", "--page-size", "2", "--json"});
  REQUIRE_MESSAGE(listed.exit_code == 0, describe(listed));
  auto list = json::parse(listed.out);
  std::set<std::string> ids;
  for (const auto& r : list["runs"]) ids.insert(r["id"]);
  CHECK(ids == std::set<std::string>{run1, run2["id"], run3});
  CHECK(list["runs"].size() == 3);
  CHECK(f.count("listRuns") == 2);  // 2 + 1, merged

  auto filtered = f.cli({"runs", "list", "--app-id", "app-123", "--json"});
  REQUIRE(json::parse(filtered.out)["runs"].size() == 1);
  CHECK(json::parse(filtered.out)["runs"][0]["id"] == run2["id"]);
  auto none_failed = f.cli({"runs", "list", "--status", "failed,cancelled", "--json"});
  CHECK(json::parse(none_failed.out)["runs"].empty());
  CHECK(contains(f.last_request()["query"].get<std::string>(), "status=FAILED"));
  auto limited = f.cli({"runs", "list", "--limit", "1", "--json"});
  CHECK(json::parse(limited.out)["runs"].size() == 1);
  auto table = f.cli({"runs", "list", "--order", "asc"});
  CHECK(table.out.starts_with("ID"));
  CHECK(contains(table.out, run1));
  CHECK(contains(table.out, "alpha,beta"));
  CHECK(contains(f.last_request()["query"].get<std::string>(), "order=ASCENDING"));
}

TEST_CASE("cli: a --wait poll that meets a 503 is retried with the client's policy") {
  cli_fixture f;
  const auto batch = f.make_batch("docs");
  f.fault({{"operation", "getRunStatus"}, {"action", "status"}, {"status", 503}});
  auto waited = f.cli({"runs", "start", "--app", "Extractor", "--batch", std::to_string(batch),
                       "--wait", "--json"});
  REQUIRE_MESSAGE(waited.exit_code == 0, describe(waited));
  CHECK(json::parse(waited.out)["status"] == "COMPLETE");
  CHECK(f.count("getRunStatus") == 4);  // the 503, then RUNNING, RUNNING, COMPLETE
}

TEST_CASE("cli: runs start --wait prints the final run and results are merged across pages") {
  cli_fixture f;
  temp_dir dir;
  f.configure({{"results_page_size", 1}});
  const auto batch = f.make_batch("docs");
  auto up = f.cli({"batches", "upload", std::to_string(batch), dir.file("a.txt", 10, 1),
                   dir.file("b.txt", 20, 2), dir.file("c.txt", 30, 3)});
  REQUIRE_MESSAGE(up.exit_code == 0, describe(up));

  auto waited = f.cli({"runs", "start", "--app", "Extractor", "--batch", std::to_string(batch),
                       "--wait", "--json"});
  REQUIRE_MESSAGE(waited.exit_code == 0, describe(waited));
  auto final_run = json::parse(waited.out);
  CHECK(final_run["status"] == "COMPLETE");
  CHECK(final_run["finish_timestamp"].is_number_integer());
  const std::string run = final_run["id"];
  CHECK(f.count("getRunStatus") == 3);  // RUNNING, RUNNING, COMPLETE

  auto results = f.cli({"runs", "results", run, "--json"});
  REQUIRE_MESSAGE(results.exit_code == 0, describe(results));
  auto doc = json::parse(results.out);
  CHECK(doc["id"] == run);
  CHECK(doc["status"] == "COMPLETE");
  CHECK(doc["has_more"] == false);
  std::vector<std::string> names;
  for (const auto& file : doc["files"]) names.push_back(file["original_file_name"]);
  CHECK(names == std::vector<std::string>{"a.txt", "b.txt", "c.txt"});
  CHECK(f.count("getRunResults") == 3);
  CHECK_FALSE(doc["files"][0]["documents"][0]["fields"][0].contains("confidence"));

  auto two = json::parse(f.cli({"runs", "results", run, "--max-pages", "2", "--json"}).out);
  CHECK(two["files"].size() == 2);
  CHECK(two["has_more"] == true);

  auto flags = f.cli({"runs", "results", run, "--include-review", "--include-confidence",
                      "--include-validation", "--include-source", "--max-pages", "1"});
  REQUIRE_MESSAGE(flags.exit_code == 0, describe(flags));
  const std::string query = f.last_request()["query"];
  for (std::string flag : {"include_review_results=true", "include_confidence_scores=true",
                           "include_validation_results=true", "include_source_info=true"})
    CHECK_MESSAGE(contains(query, flag), query);
  CHECK(contains(flags.out, "a.txt"));
  CHECK(contains(flags.out, "invoice"));
  CHECK(contains(flags.out, "file_name"));
  CHECK(contains(flags.err, "more results"));

  auto text =
      f.cli({"runs", "start", "--app", "Extractor", "--batch", std::to_string(batch), "--wait"});
  REQUIRE_MESSAGE(text.exit_code == 0, describe(text));
  CHECK(contains(text.out, "COMPLETE"));
  CHECK(contains(text.out, "finished:"));
}

TEST_CASE("cli: a run that ends FAILED or CANCELLED on --wait exits 3 with its final state") {
  for (std::string final_status : {"FAILED", "CANCELLED"}) {
    INFO(final_status);
    cli_fixture f;
    f.configure({{"run_final_status", final_status}, {"run_running_polls", 0}});
    const auto batch = f.make_batch("doomed");
    auto r = f.cli(
        {"runs", "start", "--app", "x", "--batch", std::to_string(batch), "--wait", "--json"});
    CHECK_MESSAGE(r.exit_code == 3, describe(r));
    CHECK(json::parse(r.out)["status"] == final_status);
    CHECK(contains(r.err, "the run ended " + final_status));
  }
  cli_fixture f;
  f.configure({{"run_final_status", "STOPPED_AT_CHECKPOINT"}, {"run_running_polls", 0}});
  const auto batch = f.make_batch("review");
  auto r = f.cli({"runs", "start", "--app", "x", "--batch", std::to_string(batch), "--wait"});
  CHECK_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(contains(r.out, "STOPPED_AT_CHECKPOINT"));
  CHECK(contains(r.err, "review"));
}

TEST_CASE("cli: a wait that reaches its deadline exits 5 and prints the last state") {
  cli_fixture f;
  f.configure({{"run_running_polls", 1000}, {"job_pending_polls", 1000}});
  const auto batch = f.make_batch("slow");
  const auto started = std::chrono::steady_clock::now();
  auto r = f.cli({"runs", "start", "--app", "x", "--batch", std::to_string(batch), "--wait",
                  "--timeout", "0.3", "--json"});
  CHECK_MESSAGE(r.exit_code == 5, describe(r));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(json::parse(r.out)["status"] == "RUNNING");
  CHECK(contains(r.err, "deadline"));

  auto deletion = f.cli({"batches", "delete", std::to_string(batch)});
  REQUIRE_MESSAGE(deletion.exit_code == 0, describe(deletion));
  const std::string job = deletion.out.substr(0, deletion.out.find('\n'));
  auto j = f.cli({"jobs", "status", job, "--wait", "--timeout", "0"});
  CHECK_MESSAGE(j.exit_code == 5, describe(j));
  CHECK(j.out.starts_with("PENDING"));
  auto k = f.cli({"batches", "delete", std::to_string(f.make_batch("slow too")), "--wait",
                  "--timeout", "0.1"});
  CHECK_MESSAGE(k.exit_code == 5, describe(k));
}

TEST_CASE("cli: jobs status with and without --wait and an unknown job exits 3") {
  cli_fixture f;
  const auto batch = f.make_batch("job");
  auto deletion = f.cli({"--json", "batches", "delete", std::to_string(batch)});
  REQUIRE_MESSAGE(deletion.exit_code == 0, describe(deletion));
  const std::string job = json::parse(deletion.out)["job_id"];

  auto once = f.cli({"jobs", "status", job});
  REQUIRE_MESSAGE(once.exit_code == 0, describe(once));
  CHECK(once.out.starts_with("PENDING"));
  CHECK(f.count("jobStatus") == 1);
  auto waited = f.cli({"jobs", "status", job, "--wait", "--json"});
  REQUIRE_MESSAGE(waited.exit_code == 0, describe(waited));
  CHECK(json::parse(waited.out)["state"] == "COMPLETE");
  CHECK(f.count("jobStatus") >= 3);

  auto unknown = f.cli({"jobs", "status", "no-such-job"});
  CHECK_MESSAGE(unknown.exit_code == 3, describe(unknown));
  CHECK(contains(unknown.err, "HTTP 404"));
  CHECK(unknown.out.empty());
}

TEST_CASE("cli: runs deploy sends every option to runDeployment and prints the run id") {
  cli_fixture f;
  const auto batch = f.make_batch("deploy-inputs");
  auto r = f.cli({"runs", "deploy", "dep-1", "--batch", std::to_string(batch), "--version", "3.0",
                  "--output-dir", "/out/dir", "--tag", "alpha", "--tag", "beta"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(r.err.empty());
  REQUIRE(r.out.size() > 1);
  CHECK(r.out.find('\n') == r.out.size() - 1);  // the id alone
  const std::string run1 = r.out.substr(0, r.out.size() - 1);
  json request = f.last_request();
  CHECK(request["operation"] == "runDeployment");
  CHECK(request["method"] == "POST");
  CHECK(request["path"] == "/api/v2/apps/deployments/dep-1/runs");
  CHECK(request["status"] == 202);
  json s1 = f.run_state(run1);
  REQUIRE_MESSAGE(s1.is_object(), f.state().dump());
  CHECK(s1["deployment_id"] == "dep-1");
  CHECK(s1["batch_id"] == batch);
  CHECK(s1["input_dir"].is_null());
  CHECK(s1["version"] == "3.0");
  CHECK(s1["output_dir"] == "/out/dir");
  CHECK(s1["tags"] == json{"alpha", "beta"});
  CHECK(s1["app_name"].is_null());
  CHECK(s1["app_id"].is_null());

  // The deployment id is one path segment, percent-encoded.
  auto by_dir = f.cli({"--json", "runs", "deploy", "team deploy/7", "--input-dir", "/in/dir"});
  REQUIRE_MESSAGE(by_dir.exit_code == 0, describe(by_dir));
  auto run2 = json::parse(by_dir.out);
  CHECK(run2["status"] == "RUNNING");
  CHECK(run2["deployment_id"] == "team deploy/7");
  CHECK(f.last_request()["path"] == "/api/v2/apps/deployments/team%20deploy%2F7/runs");
  json s2 = f.run_state(run2["id"]);
  CHECK(s2["input_dir"] == "/in/dir");
  CHECK(s2["batch_id"].is_null());
  CHECK(s2["version"].is_null());
  CHECK(s2["output_dir"].is_null());
  CHECK(s2["tags"].is_null());

  // The upstream integration with a mailbox window: the body as --verbose shows it, and a run
  // the simulator accepted with neither a batch nor a directory.
  auto upstream = f.cli({"--verbose", "runs", "deploy", "dep-mail", "--upstream-integration",
                         "--from-ms", "1700000000000", "--to-ms", "1700000060000"});
  REQUIRE_MESSAGE(upstream.exit_code == 0, describe(upstream));
  CHECK(contains(upstream.err, "> POST /v2/apps/deployments/dep-mail/runs\n"));
  CHECK_MESSAGE(contains(upstream.err, R"({"manual_upstream_integration":true,)"
                                       R"("from_timestamp":1700000000000,)"
                                       R"("to_timestamp":1700000060000})"),
                upstream.err);
  CHECK(contains(upstream.err, "< HTTP 202"));
  json s3 = f.run_state(upstream.out.substr(0, upstream.out.find('\n')));
  CHECK(s3["deployment_id"] == "dep-mail");
  CHECK(s3["batch_id"].is_null());
  CHECK(s3["input_dir"].is_null());

  auto listed = f.cli({"runs", "list", "--deployment", "dep-1", "--json"});
  REQUIRE_MESSAGE(listed.exit_code == 0, describe(listed));
  const json list = json::parse(listed.out);
  REQUIRE(list["runs"].size() == 1);
  CHECK(list["runs"][0]["id"] == run1);

  auto missing = f.cli({"runs", "deploy", "dep-1", "--batch", "424242"});
  CHECK_MESSAGE(missing.exit_code == 3, describe(missing));
  CHECK(contains(missing.err, "HTTP 404"));
  CHECK(contains(missing.err, "batch 424242 not found"));
  CHECK(missing.out.empty());
  CHECK(f.count("runDeployment") == 4);
  CHECK(f.count("runApp") == 0);
}

TEST_CASE("cli: runs deploy --wait polls the run like runs start --wait, with the same exits") {
  cli_fixture f;
  const auto batch = f.make_batch("deploy-wait");
  auto waited =
      f.cli({"runs", "deploy", "dep-1", "--batch", std::to_string(batch), "--wait", "--json"});
  REQUIRE_MESSAGE(waited.exit_code == 0, describe(waited));
  auto final_run = json::parse(waited.out);
  CHECK(final_run["status"] == "COMPLETE");
  CHECK(final_run["deployment_id"] == "dep-1");
  CHECK(final_run["finish_timestamp"].is_number_integer());
  CHECK(f.count("getRunStatus") == 3);  // RUNNING, RUNNING, COMPLETE

  auto text = f.cli({"runs", "deploy", "dep-1", "--input-dir", "/in", "--wait"});
  REQUIRE_MESSAGE(text.exit_code == 0, describe(text));
  CHECK(contains(text.out, "COMPLETE"));
  CHECK(contains(text.out, "finished:"));
  CHECK(contains(text.out, "deployment id:"));

  f.configure({{"run_final_status", "FAILED"}, {"run_running_polls", 0}});
  auto failed = f.cli({"runs", "deploy", "dep-1", "--input-dir", "/in", "--wait", "--json"});
  CHECK_MESSAGE(failed.exit_code == 3, describe(failed));
  CHECK(json::parse(failed.out)["status"] == "FAILED");
  CHECK(contains(failed.err, "the run ended FAILED"));

  f.configure({{"run_final_status", "STOPPED_AT_CHECKPOINT"}});
  auto review = f.cli({"runs", "deploy", "dep-1", "--input-dir", "/in", "--wait"});
  CHECK_MESSAGE(review.exit_code == 0, describe(review));
  CHECK(contains(review.out, "STOPPED_AT_CHECKPOINT"));
  CHECK(contains(review.err, "review"));

  f.configure({{"run_running_polls", 1000}});
  auto slow = f.cli(
      {"runs", "deploy", "dep-1", "--input-dir", "/in", "--wait", "--timeout", "0.2", "--json"});
  CHECK_MESSAGE(slow.exit_code == 5, describe(slow));
  CHECK(json::parse(slow.out)["status"] == "RUNNING");
  CHECK(contains(slow.err, "deadline"));
}

TEST_CASE("cli: runs delete deletes everything by default and --keep-* spares parts") {
  cli_fixture f;
  const auto batch = f.make_batch("to-delete");
  const std::string run = f.start_run(batch);
  auto r = f.cli({"runs", "delete", run});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(r.err.empty());
  json request = f.last_request();
  CHECK(request["operation"] == "deleteRun");
  CHECK(request["method"] == "DELETE");
  CHECK(request["path"] == "/api/v2/apps/runs/" + run);
  CHECK(request["query"] == "");  // the API's defaults: delete everything
  CHECK(request["status"] == 202);
  // One job id per line: input, output, logs.
  std::vector<std::string> printed;
  for (std::size_t at = 0; at < r.out.size();) {
    auto end = r.out.find('\n', at);
    REQUIRE(end != std::string::npos);
    printed.push_back(r.out.substr(at, end - at));
    at = end + 1;
  }
  const json all = f.state();
  std::vector<std::string> started, kinds;
  for (const auto& job : all["jobs"]) {
    if (job["target"] != run) continue;
    started.push_back(job["job_id"]);
    kinds.push_back(job["kind"]);
  }
  CHECK(printed == started);
  CHECK(kinds ==
        std::vector<std::string>{"delete_run_input", "delete_run_output", "delete_run_logs"});
  CHECK(f.run_state(run).is_null());  // delete_db_data
  CHECK(f.batch(batch).is_null());    // the input's batch goes too

  const auto kept_batch = f.make_batch("kept");
  const std::string kept = f.start_run(kept_batch);
  auto partial = f.cli({"runs", "delete", kept, "--keep-db-data", "--keep-input", "--json"});
  REQUIRE_MESSAGE(partial.exit_code == 0, describe(partial));
  const std::string query = f.last_request()["query"];
  CHECK_MESSAGE(contains(query, "delete_db_data=false"), query);
  CHECK_MESSAGE(contains(query, "delete_input=false"), query);
  CHECK_FALSE(contains(query, "delete_output"));
  CHECK_FALSE(contains(query, "delete_logs"));
  auto doc = json::parse(partial.out);
  CHECK_FALSE(doc.contains("delete_input_dir_job_id"));
  CHECK(doc["delete_output_dir_job_id"].is_string());
  CHECK(doc["delete_log_dir_job_id"].is_string());
  CHECK(f.run_state(kept).is_object());
  CHECK(f.batch(kept_batch).is_object());

  // Only the database data: no directory job to print.
  auto db_only = f.cli({"runs", "delete", kept, "--keep-input", "--keep-output", "--keep-logs"});
  REQUIRE_MESSAGE(db_only.exit_code == 0, describe(db_only));
  CHECK(db_only.out.empty());
  CHECK(contains(db_only.err, "no deletion job"));
  const std::string db_query = f.last_request()["query"];
  CHECK(contains(db_query, "delete_output=false"));
  CHECK(contains(db_query, "delete_logs=false"));
  CHECK_FALSE(contains(db_query, "delete_db_data"));
  CHECK(f.run_state(kept).is_null());
  CHECK(f.batch(kept_batch).is_object());

  auto gone = f.cli({"runs", "delete", kept});
  CHECK_MESSAGE(gone.exit_code == 3, describe(gone));
  CHECK(contains(gone.err, "HTTP 404"));
  CHECK(gone.out.empty());
  CHECK(f.count("deleteRun") == 4);
  CHECK(f.count("jobStatus") == 0);
}

TEST_CASE("cli: runs delete --wait polls every deletion job through jobStatus") {
  cli_fixture f;
  f.configure({{"job_pending_polls", 0}});  // each job: RUNNING, then COMPLETE
  const std::string run = f.start_run(f.make_batch("wait-delete"));
  auto r = f.cli({"runs", "delete", run, "--wait"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(r.err.empty());
  const json all = f.state();
  std::string expected;
  const char* directories[] = {"input", "output", "logs"};
  std::size_t n = 0;
  for (const auto& job : all["jobs"]) {
    if (job["target"] != run) continue;
    REQUIRE(n < 3);
    expected += "run " + run + " " + directories[n++] + " deletion job " +
                job["job_id"].get<std::string>() + ": COMPLETE\n";
    CHECK(job["polls"] == 2);
    CHECK(job["state"] == "COMPLETE");
  }
  CHECK(n == 3);
  CHECK(r.out == expected);
  CHECK(f.count("jobStatus") == 6);
  CHECK(f.count("pollBatchesJob") == 0);

  const std::string second = f.start_run(f.make_batch("wait-delete-json"));
  auto j = f.cli({"runs", "delete", second, "--keep-output", "--wait", "--json"});
  REQUIRE_MESSAGE(j.exit_code == 0, describe(j));
  auto doc = json::parse(j.out);
  CHECK(doc["run_id"] == second);
  REQUIRE(doc["jobs"].size() == 2);
  CHECK(doc["jobs"][0]["directory"] == "input");
  CHECK(doc["jobs"][1]["directory"] == "logs");
  for (const auto& job : doc["jobs"]) {
    CHECK(job["state"] == "COMPLETE");
    CHECK(job["job_id"].is_string());
    CHECK(job["message"] == "Job completed successfully");
  }
  CHECK(f.count("jobStatus") == 10);
}

TEST_CASE("cli: runs delete --wait exits 5 at the deadline and 3 when a job poll fails") {
  cli_fixture f;
  f.configure({{"job_pending_polls", 1000}});
  const std::string run = f.start_run(f.make_batch("slow-delete"));
  const auto started = std::chrono::steady_clock::now();
  auto r = f.cli({"runs", "delete", run, "--wait", "--timeout", "0.2"});
  CHECK_MESSAGE(r.exit_code == 5, describe(r));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  // Every job is still polled once and shown; the deadline is reported for each.
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
  CHECK(contains(r.out, " input deletion job "));
  CHECK(contains(r.out, " logs deletion job "));
  std::size_t pending = 0;
  for (auto at = r.out.find(": PENDING\n"); at != std::string::npos;
       at = r.out.find(": PENDING\n", at + 1))
    ++pending;
  CHECK(pending == 3);
  CHECK(contains(r.err, "aihub: input deletion job "));
  CHECK(contains(r.err, "deadline"));
  CHECK(f.count("jobStatus") == 3);

  // One deadline for all the jobs: polls at 0 s and 0.5 s use up most of one second on the first
  // job (the next poll would be at 1.25 s), so the others get one poll each (4 polls, not 6).
  const std::string shared = f.start_run(f.make_batch("shared-deadline"));
  auto one_second = f.cli({"runs", "delete", shared, "--wait", "--timeout", "1", "--json"});
  CHECK_MESSAGE(one_second.exit_code == 5, describe(one_second));
  auto states = json::parse(one_second.out);
  REQUIRE(states["jobs"].size() == 3);
  for (const auto& job : states["jobs"]) CHECK(job["state"] == "PENDING");
  const int polls = f.count("jobStatus") - 3;
  CHECK_MESSAGE((polls >= 3 && polls <= 4), polls);

  // A poll answered with an error status stops the wait: the other jobs are not polled.
  const std::string other = f.start_run(f.make_batch("poll-fails"));
  f.fault({{"operation", "jobStatus"}, {"action", "status"}, {"status", 404}});
  auto failed = f.cli({"runs", "delete", other, "--wait", "--json"});
  CHECK_MESSAGE(failed.exit_code == 3, describe(failed));
  CHECK(contains(failed.err, "HTTP 404"));
  auto doc = json::parse(failed.out);
  REQUIRE(doc["jobs"].size() == 3);
  for (const auto& job : doc["jobs"]) CHECK_FALSE(job.contains("state"));
  CHECK(f.count("jobStatus") == 3 + polls + 1);
  const std::string third = f.start_run(f.make_batch("poll-fails-text"));
  f.fault({{"operation", "jobStatus"}, {"action", "status"}, {"status", 404}});
  auto text = f.cli({"runs", "delete", third, "--wait"});
  CHECK_MESSAGE(text.exit_code == 3, describe(text));
  CHECK(contains(text.out, " input deletion job "));
  CHECK(contains(text.out, ": state unknown\n"));
  CHECK(std::count(text.out.begin(), text.out.end(), '\n') == 3);
  CHECK(contains(text.out, " logs deletion job "));
  CHECK(text.out.ends_with(": not polled\n"));
  CHECK(contains(text.err, "aihub: input deletion job "));
  CHECK(f.count("jobStatus") == 3 + polls + 2);
}

TEST_CASE("cli: runs delete --wait reports a FAILED job, exits 3 and still waits for the others") {
  canned_server server([](std::string_view line) -> std::pair<int, std::string> {
    if (line.starts_with("DELETE /api/v2/apps/runs/run-9 "))
      return {202, R"({"delete_input_dir_job_id":"j-in","delete_output_dir_job_id":"j-out",)"
                   R"("delete_log_dir_job_id":null})"};
    if (line.starts_with("GET /api/v2/jobs/j-in "))
      return {200, R"({"state":"FAILED","message":"disk on fire"})"};
    if (line.starts_with("GET /api/v2/jobs/j-out "))
      return {200, R"({"state":"COMPLETE","message":"done"})"};
    return {404, R"({"message":"unexpected request"})"};
  });
  cli_fixture f;
  auto r = f.bare(
      {"--api-root", server.api_root(), "--token", token, "runs", "delete", "run-9", "--wait"});
  CHECK_MESSAGE(r.exit_code == 3, describe(r));
  CHECK(r.out ==
        "run run-9 input deletion job j-in: FAILED\n"
        "run run-9 output deletion job j-out: COMPLETE\n");
  CHECK(contains(r.err, "aihub: input deletion job j-in failed: "));
  CHECK(contains(r.err, "the job ended FAILED"));
  CHECK(contains(r.err, "disk on fire"));
  CHECK(server.requests() == 3);

  auto j = f.bare({"--api-root", server.api_root(), "--token", token, "--json", "runs", "delete",
                   "run-9", "--wait"});
  CHECK_MESSAGE(j.exit_code == 3, describe(j));
  auto doc = json::parse(j.out);
  CHECK(doc == json::parse(R"({"run_id":"run-9","jobs":[
      {"directory":"input","job_id":"j-in","state":"FAILED","message":"disk on fire"},
      {"directory":"output","job_id":"j-out","state":"COMPLETE","message":"done"}]})"));
  CHECK(server.requests() == 6);
}

// ---------------------------------------------------------------------------------------------------
// Errors, settings and logs

TEST_CASE("cli: an error status exits 3 with the status and the server's message") {
  cli_fixture f;
  auto missing = f.cli({"batches", "get", "424242"});
  CHECK_MESSAGE(missing.exit_code == 3, describe(missing));
  CHECK(contains(missing.err, "HTTP 404"));
  CHECK(contains(missing.err, "batch 424242 not found"));
  CHECK(missing.out.empty());

  f.fault({{"operation", "createBatch"}, {"action", "status"}, {"status", 403}});
  auto quota = f.cli({"batches", "create", "x"});
  CHECK_MESSAGE(quota.exit_code == 3, describe(quota));
  CHECK(contains(quota.err, "HTTP 403"));

  auto unauthorized = f.bare({"--api-root", f.sim.api_root(), "--token", "wrong", "runs", "list"});
  CHECK_MESSAGE(unauthorized.exit_code == 3, describe(unauthorized));
  CHECK(contains(unauthorized.err, "HTTP 401"));
}

TEST_CASE("cli: no usable answer exits 4 (transport or decode or protocol)") {
  cli_fixture f;
  const std::string closed = "http://127.0.0.1:" + std::to_string(closed_port()) + "/api";
  auto refused = f.bare({"--api-root", closed, "--token", token, "batches", "list"});
  CHECK_MESSAGE(refused.exit_code == 4, describe(refused));
  CHECK(contains(refused.err, "transport error"));
  CHECK(refused.out.empty());

  canned_server html("<html>not json</html>");
  auto decode = f.bare({"--api-root", html.api_root(), "--token", token, "batches", "get", "1"});
  CHECK_MESSAGE(decode.exit_code == 4, describe(decode));
  CHECK(contains(decode.err, "decode error"));
  CHECK(html.requests() == 1);

  canned_server endless(R"({"nodes":[],"has_more":true})");
  auto protocol =
      f.bare({"--api-root", endless.api_root(), "--token", token, "batches", "files", "1"});
  CHECK_MESSAGE(protocol.exit_code == 4, describe(protocol));
  CHECK(contains(protocol.err, "protocol error"));
  CHECK(endless.requests() == 1);
}

TEST_CASE("cli: --verbose logs each request and status but never the token") {
  cli_fixture f({"--part-size", "65536"});
  temp_dir dir;
  auto r = f.cli({"--verbose", "batches", "create", "logged"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(contains(r.err, "> POST /v2/batches\n"));
  CHECK(contains(r.err, "> Authorization: Bearer <redacted>"));
  CHECK(contains(r.err, "{\"name\":\"logged\"}"));
  CHECK(contains(r.err, "< HTTP 200"));
  CHECK_FALSE(contains(r.err, token));
  CHECK_FALSE(contains(r.out, token));
  const auto id = std::stoll(r.out);

  auto up = f.cli({"batches", "upload", std::to_string(id), dir.file("big.bin", 150'000),
                   "--multipart-threshold", "1000", "--verbose"});
  REQUIRE_MESSAGE(up.exit_code == 0, describe(up));
  std::size_t statuses = 0;
  for (auto at = up.err.find("< HTTP 201"); at != std::string::npos;
       at = up.err.find("< HTTP 201", at + 1))
    ++statuses;
  CHECK(statuses == 5);  // the session, 3 parts, the commit
  CHECK(contains(up.err, "/parts/3"));
  CHECK_FALSE(contains(up.err, token));

  auto failed = f.cli({"batches", "get", "999", "--verbose"});
  CHECK(failed.exit_code == 3);
  CHECK(contains(failed.err, "< HTTP 404"));
  CHECK_FALSE(contains(failed.err, token));

  auto quiet = f.cli({"batches", "get", std::to_string(id)});
  CHECK(quiet.err.empty());
}

TEST_CASE("cli: the IB-Context comes from --context else AIHUB_IB_CONTEXT") {
  cli_fixture f;
  auto plain = f.cli({"batches", "list"});
  REQUIRE_MESSAGE(plain.exit_code == 0, describe(plain));
  CHECK_FALSE(f.last_request()["ib_context"].is_string());

  auto flag = f.cli({"--context", "org-flag", "batches", "list"});
  REQUIRE_MESSAGE(flag.exit_code == 0, describe(flag));
  CHECK(f.last_request()["ib_context"] == "org-flag");

  spawn_options env;
  env.env["AIHUB_IB_CONTEXT"] = "org-env";
  auto from_env = f.cli({"batches", "list"}, env);
  REQUIRE_MESSAGE(from_env.exit_code == 0, describe(from_env));
  CHECK(f.last_request()["ib_context"] == "org-env");

  auto both = f.cli({"batches", "list", "--context", "org-flag-2"}, env);
  REQUIRE_MESSAGE(both.exit_code == 0, describe(both));
  CHECK(f.last_request()["ib_context"] == "org-flag-2");
}

TEST_CASE("cli: settings come from the environment and flags win over it") {
  cli_fixture f;
  const std::string closed = "http://127.0.0.1:" + std::to_string(closed_port()) + "/api";

  spawn_options good_env;
  good_env.env = {{"AIHUB_API_ROOT", f.sim.api_root()}, {"AIHUB_API_TOKEN", token}};
  auto env_only = f.bare({"batches", "create", "from-env"}, good_env);
  CHECK_MESSAGE(env_only.exit_code == 0, describe(env_only));
  CHECK(f.requests_total() == 1);

  spawn_options bad_root;
  bad_root.env = {{"AIHUB_API_ROOT", closed}, {"AIHUB_API_TOKEN", token}};
  auto root_flag = f.bare({"--api-root", f.sim.api_root(), "batches", "list"}, bad_root);
  CHECK_MESSAGE(root_flag.exit_code == 0, describe(root_flag));
  CHECK(f.requests_total() == 2);

  spawn_options bad_token;
  bad_token.env = {{"AIHUB_API_ROOT", f.sim.api_root()}, {"AIHUB_API_TOKEN", "stale"}};
  auto token_flag = f.bare({"batches", "list", "--token", token}, bad_token);
  CHECK_MESSAGE(token_flag.exit_code == 0, describe(token_flag));
  auto env_token = f.bare({"batches", "list"}, bad_token);
  CHECK_MESSAGE(env_token.exit_code == 3, describe(env_token));  // 401: the env token was used
  auto flag_beats_good_env = f.bare({"--token", "stale", "batches", "list"}, good_env);
  CHECK_MESSAGE(flag_beats_good_env.exit_code == 3, describe(flag_beats_good_env));
  auto root_flag_beats_good_env = f.bare({"--api-root", closed, "batches", "list"}, good_env);
  CHECK_MESSAGE(root_flag_beats_good_env.exit_code == 4, describe(root_flag_beats_good_env));
  CHECK(f.requests_total() == 5);

  // Without any API root the public AI Hub is the default: a usage error proves nothing was tried
  // there (no token), and the default is named in --help.
  auto no_token = f.bare({"batches", "list"});
  CHECK(no_token.exit_code == 2);
  CHECK(contains(f.bare({"--help"}).out, "https://aihub.instabase.com/api"));
}
