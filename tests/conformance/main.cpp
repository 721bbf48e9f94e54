// The conformance test's main(): checks that the spec and Prism are there (exit code 77, reported
// by CTest as skipped, when they are not), starts one Prism for the whole run, runs every doctest
// case against it and stops it again, whatever happens.
//
// Environment (CTest sets the first two from the CMake cache, so changing AIHUB_OPENAPI_SPEC or
// AIHUB_PRISM_EXECUTABLE needs no rebuild; run by hand, the paths compiled in are the defaults):
//   AIHUB_CONFORMANCE_SPEC              the OpenAPI spec
//   AIHUB_CONFORMANCE_PRISM             tools/prism/node_modules/.bin/prism
//   AIHUB_CONFORMANCE_REQUIRE_PRISM=1   a missing Prism or node fails the test instead of skipping
//                                       it (for CI, which installs Prism with tools/install-deps)
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "conformance.hpp"
#include "prism_server.hpp"

#ifndef AIHUB_CONFORMANCE_SPEC
#error "AIHUB_CONFORMANCE_SPEC (path of the OpenAPI spec) must be defined by the build"
#endif
#ifndef AIHUB_CONFORMANCE_PRISM
#error "AIHUB_CONFORMANCE_PRISM (path of the prism executable) must be defined by the build"
#endif

namespace aihub_conformance {

std::string& api_root() {
  static std::string root;
  return root;
}

namespace {

constexpr int skip_exit_code = 77;  // SKIP_RETURN_CODE of the CTest test

/// Whether the last run ran every test case (no filter on the command line).
bool ran_every_case = false;

/// One line per test case, so the outcome of each operation is visible in CTest's output.
struct case_listener : doctest::IReporter {
  explicit case_listener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    ran_every_case = stats.numTestCasesPassingFilters == stats.numTestCases;
  }
  void test_case_start(const doctest::TestCaseData& data) override { current_ = &data; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& stats) override {
    if (current_ == nullptr) return;
    std::printf("[conformance] %s  %s: %s (%.2f s)\n", stats.testCaseSuccess ? "PASS" : "FAIL",
                current_->m_test_suite, current_->m_name, stats.seconds);
    std::fflush(stdout);
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}

 private:
  const doctest::TestCaseData* current_ = nullptr;
};
REGISTER_LISTENER("conformance_cases", 1, case_listener);

/// Prism dies with this process: a SIGINT, SIGTERM or SIGHUP (Ctrl-C, CTest giving up) kills its
/// process group before the default action ends the test.
extern "C" void on_fatal_signal(int sig) {
  kill_prism_group_from_signal_handler();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_signal_handlers() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction action {};
    action.sa_handler = on_fatal_signal;
    ::sigemptyset(&action.sa_mask);
    ::sigaction(sig, &action, nullptr);
  }
}

/// doctest options that only print something (help, version, listings): no Prism needed.
bool is_query(std::string_view arg) {
  for (std::string_view prefix : {"--", "-"}) {
    if (!arg.starts_with(prefix)) continue;
    std::string_view name = arg.substr(prefix.size());
    if (name.starts_with("dt-")) name.remove_prefix(3);
    name = name.substr(0, name.find('='));
    for (std::string_view q :
         {"?", "h", "help", "v", "version", "c", "count", "ltc", "list-test-cases", "lts",
          "list-test-suites", "lr", "list-reporters"})
      if (name == q) return true;
    return false;
  }
  return false;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') &&
      text.back() == text.front())
    text = text.substr(1, text.size() - 2);
  return text;
}

/// The operationIds of the spec's operations tagged Batches, Runs or Jobs. A line scan, not a YAML
/// parser: it relies on `operationId:` preceding the operation's `tags:` list, as in the spec.
std::set<std::string, std::less<>> spec_operations(const std::string& spec) {
  std::set<std::string, std::less<>> ids;
  std::ifstream in(spec);
  std::string line, operation;
  bool in_tags = false;
  while (std::getline(in, line)) {
    const std::string_view text = trimmed(line);
    if (in_tags && text.starts_with("- ")) {
      const std::string_view tag = trimmed(text.substr(2));
      if (!operation.empty() && (tag == "Batches" || tag == "Runs" || tag == "Jobs"))
        ids.insert(operation);
      continue;
    }
    in_tags = text == "tags:";
    if (text.starts_with("operationId:")) operation = std::string(trimmed(text.substr(12)));
  }
  return ids;
}

/// Every Batches, Runs and Jobs operation of the spec must have been built and sent.
bool every_operation_sent(const std::string& spec) {
  const auto expected = spec_operations(spec);
  std::string missing;
  for (const auto& id : expected)
    if (!sent_operations().contains(id)) missing += " " + id;
  if (expected.empty()) {
    std::printf("[conformance] FAIL  coverage: no Batches, Runs or Jobs operation found in %s\n",
                spec.c_str());
    return false;
  }
  if (!missing.empty()) {
    std::printf("[conformance] FAIL  coverage: operations of the spec never sent:%s\n",
                missing.c_str());
    return false;
  }
  std::printf(
      "[conformance] PASS  coverage: all %zu Batches, Runs and Jobs operations of the spec "
      "were sent\n",
      expected.size());
  return true;
}

std::string setting(const char* variable, const char* fallback) {
  const char* value = std::getenv(variable);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int skip(const std::string& why, bool loud) {
  if (loud) {
    std::fprintf(stderr,
                 "\n"
                 "**********************************************************************\n"
                 "*** CONFORMANCE TEST SKIPPED: %s\n"
                 "*** Install it with tools/install-deps (npm ci in tools/prism).\n"
                 "*** Set AIHUB_CONFORMANCE_REQUIRE_PRISM=1 to make this a failure.\n"
                 "**********************************************************************\n\n",
                 why.c_str());
  } else {
    std::printf("conformance test skipped: %s\n", why.c_str());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  return skip_exit_code;
}

}  // namespace
}  // namespace aihub_conformance

int main(int argc, char** argv) {
  namespace ac = aihub_conformance;
  doctest::Context context;
  context.applyCommandLine(argc, argv);

  bool query = false;
  for (int i = 1; i < argc; ++i) query = query || ac::is_query(argv[i]);
  if (query) return context.run();

  const std::string spec = ac::setting("AIHUB_CONFORMANCE_SPEC", AIHUB_CONFORMANCE_SPEC);
  const std::string prism = ac::setting("AIHUB_CONFORMANCE_PRISM", AIHUB_CONFORMANCE_PRISM);
  if (!ac::is_file(spec))
    return ac::skip("the OpenAPI spec " + spec +
                        " does not exist (set the CMake cache variable AIHUB_OPENAPI_SPEC)",
                    false);
  const char* require = std::getenv("AIHUB_CONFORMANCE_REQUIRE_PRISM");
  const bool required = require != nullptr && std::string_view(require) == "1";
  const std::string node = ac::find_on_path("node");
  std::string missing;
  if (!ac::is_file(prism))
    missing = "Prism is not installed at " + prism;
  else if (node.empty())
    missing = "node is not on PATH (Prism needs it)";
  if (!missing.empty()) {
    if (!required) return ac::skip(missing, true);
    std::fprintf(stderr, "conformance test FAILED: %s (AIHUB_CONFORMANCE_REQUIRE_PRISM=1)\n",
                 missing.c_str());
    return 1;
  }

  ac::install_signal_handlers();
  std::optional<ac::prism_server> server;
  try {
    const auto started = std::chrono::steady_clock::now();
    server.emplace(ac::prism_server::options{.node = node, .prism = prism, .spec = spec});
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::printf("[conformance] Prism (pid %d) serves %s on %s, ready after %lld ms\n",
                static_cast<int>(server->pid()), spec.c_str(), server->api_root().c_str(),
                static_cast<long long>(ms.count()));
    std::fflush(stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conformance test FAILED: %s\n", e.what());
    return 1;
  }
  ac::api_root() = server->api_root();

  // What answers on the port must be this Prism serving this spec (not another process that took
  // the port first): a jobStatus request gets the spec's jobStatusResponse.
  {
    auto probe = ac::transport().send(
        ac::raw_request(aihub::http::method::get, "/v2/jobs/readiness-probe"), {});
    if (!probe || probe->status != 200 || probe->body.find("\"state\"") == std::string::npos) {
      std::fprintf(stderr,
                   "conformance test FAILED: %s does not answer like Prism serving %s (%s)\n"
                   "--- Prism log (tail) ---\n%s\n",
                   server->api_root().c_str(), spec.c_str(),
                   probe ? ("HTTP " + std::to_string(probe->status) + ": " + probe->body).c_str()
                         : probe.error().describe().c_str(),
                   server->log_tail(4000).c_str());
      return 1;
    }
  }

  int rc = context.run();
  if (ac::ran_every_case && !ac::every_operation_sent(spec) && rc == 0) rc = 1;
  if (rc != 0)
    std::fprintf(stderr, "--- Prism log (tail) ---\n%s\n", server->log_tail(6000).c_str());
  server.reset();  // stops Prism before the exit code is reported
  return rc;
}
