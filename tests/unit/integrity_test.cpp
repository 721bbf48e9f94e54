// What the library promises about data, tested offline: an upload sends the file as it was when it
// began or fails with local_input and aborts its session; a commit refused for good aborts; a
// listing confirms only this upload; a request that is not idempotent is never sent twice after a
// lost answer; secrets never reach a dump or an error.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "../support/fake_hub.hpp"

using namespace aihub;
using namespace aihub_test;
using namespace std::chrono_literals;

namespace {
using fake_client = client<recording_transport>;

std::string pattern(std::size_t n, char base = 'a') {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(static_cast<std::size_t>(base) + (i * 7) % 26);
  return s;
}

retry_policy quick_retries(int attempts = 4) {
  retry_policy p;
  p.max_attempts = attempts;
  p.initial_backoff = 100ms;
  p.max_backoff = 1000ms;
  return p;
}

/// A file in the temporary directory, removed at the end. Its modification time is set an hour
/// back, as for any file not written a moment ago, so a later write always moves it.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& content) {
    const char* dir = std::getenv("TMPDIR");
    path = std::string(dir && *dir ? dir : "/tmp") + "/aihub-integrity-XXXXXX";
    int fd = ::mkstemp(path.data());
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    age();
  }
  ~temp_file() { ::unlink(path.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  void age() const {
    timespec times[2];
    times[0].tv_sec = times[1].tv_sec = std::time(nullptr) - 3600;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  }
  /// Overwrites bytes in place, as an editor saving into the same file does.
  void overwrite(std::size_t at, const std::string& bytes) const {
    int fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    CHECK(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(at)) ==
          static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  /// Another file renamed over this path, as `mv other.bin big.bin` does.
  void replace_with(const std::string& content) const {
    const std::string other = path + ".new";
    int fd = ::open(other.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    REQUIRE(::rename(other.c_str(), path.c_str()) == 0);
  }
};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::size_t count_targets(const recording_transport& t, std::string_view prefix) {
  std::size_t n = 0;
  for (const auto& target : t.targets()) n += target.rfind(prefix, 0) == 0;
  return n;
}

/// The JSON body of the last request to a session (its commit or its abort).
std::string last_session_body(const recording_transport& t) {
  std::string out;
  for (const auto& r : t.sent())
    if (r.verb == http::method::post && contains(r.target.str(), "/sessions/"))
      out = std::get<http::json_body>(r.body).text;
  return out;
}
}  // namespace

// ---------------------------------------------------------------------------------------------------
// A file that changes while it uploads

TEST_CASE("integrity: a file edited in place between parts fails as local_input, never as a mix") {
  const std::string original = pattern(35);
  temp_file file(original);
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  bool edited = false;
  upload_options options{.multipart_threshold = 10, .parallel_parts = 1};
  options.on_progress = [&](std::uint64_t done, std::uint64_t) {
    if (done >= 10 && !edited) {
      edited = true;
      file.overwrite(12, "EDITED");  // same size, other bytes, in the part not yet read
    }
  };
  auto outcome = c.upload_file(1, file.path, "f.bin", options);
  REQUIRE(edited);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == error_kind::local_input);
  CHECK(std::string(to_string(outcome.error().kind)) == "local_input");
  CHECK(contains(outcome.error().message, file.path));
  CHECK(contains(outcome.error().message, "changed while it was being sent"));
  CHECK(contains(outcome.error().message, "the upload session was aborted"));
  CHECK(hub.batches[1].count("f.bin") == 0);
  CHECK(hub.sessions.empty());  // aborted on the server, not left open
  CHECK(contains(last_session_body(t), "\"abort\""));
}

TEST_CASE("integrity: a file renamed over the path while it uploads is sent as it was opened") {
  const std::string original = pattern(35);
  temp_file file(original);
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  bool replaced = false;
  upload_options options{.multipart_threshold = 10, .parallel_parts = 1};
  options.on_progress = [&](std::uint64_t done, std::uint64_t) {
    if (done >= 10 && !replaced) {
      replaced = true;
      file.replace_with(pattern(35, 'A'));
    }
  };
  auto outcome = c.upload_file(1, file.path, "f.bin", options);
  REQUIRE(replaced);
  REQUIRE_MESSAGE(outcome, (outcome ? "" : outcome.error().describe()));
  CHECK(outcome->parts == 4);
  CHECK(hub.batches[1]["f.bin"] == original);  // every part from the one open descriptor
}

TEST_CASE("integrity: a file that shrinks or grows while it uploads fails as local_input") {
  for (const bool shrink : {true, false}) {
    CAPTURE(shrink);
    temp_file file(pattern(35));
    fake_hub hub;
    hub.batches[1];
    recording_transport t{&hub};
    fake_clock clock;
    fake_client c(t, fake_settings(),
                  fake_time_options<recording_transport>(clock, quick_retries()));
    bool changed = false;
    upload_options options{.multipart_threshold = 10, .parallel_parts = 1};
    options.on_progress = [&](std::uint64_t done, std::uint64_t) {
      if (done >= 10 && !changed) {
        changed = true;
        if (shrink)
          REQUIRE(::truncate(file.path.c_str(), 15) == 0);
        else
          file.overwrite(35, "more");
      }
    };
    auto outcome = c.upload_file(1, file.path, "f.bin", options);
    REQUIRE(changed);
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().kind == error_kind::local_input);
    CHECK(contains(outcome.error().message, file.path));
    CHECK(contains(outcome.error().message, shrink ? "shrank" : "size went from 35 to 39"));
    CHECK(hub.batches[1].count("f.bin") == 0);
    CHECK(hub.sessions.empty());
  }
}

TEST_CASE("integrity: a single-request upload of a file edited before it is read fails too") {
  const std::string original = pattern(8);
  temp_file file(original);
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  t.add_fault([&](std::size_t, const http::request&) -> std::optional<result<http::response>> {
    file.overwrite(0, "X");  // after the upload opened the file, before its bytes are read
    return std::nullopt;
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  auto outcome = c.upload_file(1, file.path, "s.bin");
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == error_kind::local_input);
  CHECK(hub.batches[1].count("s.bin") == 0);
  CHECK(t.sent().size() == 1);  // not retried: the file will not change back
}

TEST_CASE("integrity: the source is checked once more before the commit") {
  // A source whose bytes read fine but which reports a change only after the last part: the
  // commit must not go out.
  const std::string content = pattern(30);
  struct changing_source final : io::random_access_source {
    const std::string& bytes;
    mutable int checks = 0;
    int fail_from = 0;
    std::string label = "changing";
    changing_source(const std::string& b, int from) : bytes(b), fail_from(from) {}
    std::uint64_t size() const noexcept override { return bytes.size(); }
    result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
      std::size_t n = std::min<std::size_t>(out.size(), bytes.size() - offset);
      std::memcpy(out.data(), bytes.data() + offset, n);
      return n;
    }
    result<void> verify() const override {
      if (++checks >= fail_from) return io::local_input_error(label, "changed");
      return {};
    }
    const std::string& name() const noexcept override { return label; }
  };
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  // 3 parts, each read to its end twice (by the fake transport, then by the fake hub), each time
  // verified; then the check before the commit: every part passes, only that last check fails.
  auto source = std::make_shared<changing_source>(content, 7);
  auto outcome = c.upload(1, "c.bin", upload_source::from_source(source),
                          {.multipart_threshold = 10, .parallel_parts = 1});
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == error_kind::local_input);
  CHECK(source->checks == 7);
  CHECK(hub.batches[1].count("c.bin") == 0);
  CHECK(hub.sessions.empty());
  CHECK(contains(last_session_body(t), "\"abort\""));
  CHECK(count_targets(t, "PUT /v2/batches/multipart-upload/sessions/") == 3);
}

// ---------------------------------------------------------------------------------------------------
// Commits

TEST_CASE("integrity: a commit refused for good aborts the session and names it and the file") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  t.add_fault([](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
    if (r.verb == http::method::post && contains(r.target.str(), "/sessions/") &&
        !contains(std::get<http::json_body>(r.body).text, "\"abort\""))
      return status_response(400);
    return std::nullopt;
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  const std::string content = pattern(25);
  auto outcome = c.upload(1, "c.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                          {.multipart_threshold = 10});
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().http_status == 400);
  CHECK(contains(outcome.error().message, "committing session s1 of 'c.bin' failed"));
  CHECK(contains(outcome.error().message, "the upload session was aborted"));
  CHECK(hub.sessions.empty());
  CHECK(contains(last_session_body(t), "\"abort\""));
  CHECK(hub.batches[1].count("c.bin") == 0);
}

TEST_CASE("integrity: a listing confirms only a file stored since the session opened") {
  const std::string content = pattern(21);
  // The commit's answer is lost (503) without it being applied; the retry finds the session gone
  // (someone else closed it), so only the listing can tell, and it shows an older file of the
  // same name and size.
  auto run = [&](std::int64_t stored_at) {
    fake_hub hub;
    hub.batches[1]["c.bin"] = std::string(content.size(), 'o');
    hub.stored_at[1]["c.bin"] = stored_at;
    recording_transport t{&hub};
    int commits = 0;
    t.add_fault([&](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
      if (r.verb != http::method::post || !contains(r.target.str(), "/sessions/"))
        return std::nullopt;
      if (++commits == 1) return status_response(503);
      std::lock_guard lock(hub.m);
      hub.sessions.clear();
      return status_response(404);
    });
    fake_clock clock;
    fake_client c(t, fake_settings(),
                  fake_time_options<recording_transport>(clock, quick_retries()));
    return c.upload(1, "c.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                    {.multipart_threshold = 10});
  };
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto older = run(now - 3600);
  REQUIRE_FALSE(older);
  CHECK(contains(older.error().message, "older version"));
  CHECK(contains(older.error().message, "c.bin"));
  // The same listing with a file stored after the session opened is this upload.
  auto newer = run(now + 5);
  REQUIRE_MESSAGE(newer, (newer ? "" : newer.error().describe()));
  CHECK(newer->confirmed_by_listing);
}

TEST_CASE("integrity: the session's Date header is the time a confirmation is measured from") {
  const std::string content = pattern(21);
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  bool lost = false;
  t.add_fault([&](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
    if (r.verb == http::method::post && r.target == "/v2/batches/multipart-upload") {
      http::response answer = hub.handle(r);
      // A server whose clock says the session opened long after the file below was stored: what
      // counts is the server's own time, not this machine's.
      answer.headers.add("Date", "Sat, 06 Nov 2100 08:49:37 GMT");
      return answer;
    }
    if (!lost && r.verb == http::method::post && contains(r.target.str(), "/sessions/")) {
      lost = true;
      (void)hub.handle(r);  // applied, then its answer is lost
      return status_response(503);
    }
    return std::nullopt;
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  auto outcome = c.upload(1, "c.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                          {.multipart_threshold = 10});
  REQUIRE_FALSE(outcome);  // stored "now", which is before the server's Date: not proven
  CHECK(contains(outcome.error().message, "older version"));
  CHECK(contains(outcome.error().message, "c.bin"));
}

// ---------------------------------------------------------------------------------------------------
// Lost answers of requests that are not idempotent

TEST_CASE("integrity: a lost session start is sent once and reported as maybe applied") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  t.add_fault([&](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
    if (r.verb == http::method::post && r.target == "/v2/batches/multipart-upload") {
      (void)hub.handle(r);
      return connection_reset();
    }
    return std::nullopt;
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  const std::string content = pattern(25);
  auto outcome = c.upload(1, "c.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                          {.multipart_threshold = 10});
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().may_have_been_applied);
  CHECK(contains(outcome.error().message,
                 "createMultipartUploadSession is not idempotent, so it was not resent"));
  CHECK(contains(outcome.error().message, "may be open on the server"));
  CHECK(count_targets(t, "POST /v2/batches/multipart-upload") == 1);
  CHECK(hub.sessions.size() == 1);  // the one the server opened, and no second
}

TEST_CASE("integrity: createBatch after a lost answer is not resent, but one never sent is") {
  fake_hub hub;
  recording_transport t{&hub};
  int calls = 0;
  t.add_fault([&](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
    if (r.target != "/v2/batches" || ++calls > 1) return std::nullopt;
    (void)hub.handle(r);
    return connection_reset();
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  auto lost = c.call(create_batch{.name = "b"});
  REQUIRE_FALSE(lost);
  CHECK(lost.error().may_have_been_applied);
  CHECK(contains(lost.error().message, "createBatch is not idempotent"));
  CHECK(contains(lost.error().describe(), "may have applied it"));
  CHECK(t.sent().size() == 1);
  CHECK(hub.batches.size() == 1);

  // Through execute(), with no flow around it, the same.
  calls = 0;
  auto direct = execute(t, create_batch{.name = "c"}, fake_settings());
  REQUIRE_FALSE(direct);
  CHECK(direct.error().may_have_been_applied);

  // A connection that was never made is safe to retry, and is not flagged.
  fake_hub hub2;
  recording_transport t2{&hub2};
  t2.add_fault([](std::size_t n, const http::request&) -> std::optional<result<http::response>> {
    if (n == 1) return connection_refused();
    return std::nullopt;
  });
  fake_client c2(t2, fake_settings(),
                 fake_time_options<recording_transport>(clock, quick_retries()));
  auto made = c2.call(create_batch{.name = "b"});
  REQUIRE_MESSAGE(made, (made ? "" : made.error().describe()));
  CHECK(t2.sent().size() == 2);
}

// ---------------------------------------------------------------------------------------------------
// Secrets

namespace {
run_app run_with_secrets() {
  return run_app{
      .app_name = "MyApp",
      .batch_id = 1,
      .settings = {.secret_keys = {{"api_key", "vault-entry-7"}},
                   .pdf_passwords = {{"a.pdf", "hunter2-pdf"}, {"b.pdf", "ab"}},
                   .runtime_config_extra = json::raw{R"({"ocr":{"password":"extra-pw-1"}})"},
                   .extra = json::raw{R"({"secrets":["list-secret-9"],"note":"public-note"})"}}};
}
const char* const secret_values[] = {"vault-entry-7", "hunter2-pdf", "extra-pw-1", "list-secret-9"};
}  // namespace

TEST_CASE("integrity: dumps of a run's request redact passwords and secrets, not the rest") {
  auto request = build_request(run_with_secrets(), fake_settings());
  REQUIRE(request);
  const auto& body = std::get<http::json_body>(request->body).text;
  for (const char* secret : secret_values) {
    CAPTURE(secret);
    CHECK(contains(body, secret));  // the wire carries them
    CHECK(std::find(request->secrets.begin(), request->secrets.end(), secret) !=
          request->secrets.end());
  }
  const std::string dump = http::to_string(*request);
  for (const char* secret : secret_values) {
    CAPTURE(secret);
    CHECK_FALSE(contains(dump, secret));
  }
  CHECK_FALSE(contains(dump, R"("b.pdf":"ab")"));  // a short one too, as a whole JSON value
  CHECK(contains(dump, R"("b.pdf":"<redacted>")"));
  CHECK(contains(dump, R"("a.pdf":"<redacted>")"));
  CHECK(contains(dump, "public-note"));
  CHECK(contains(dump, "MyApp"));
  CHECK_FALSE(contains(dump, "fake-token"));
}

TEST_CASE("integrity: a server echoing the token or a secret back has it scrubbed from errors") {
  struct echo_transport {
    int status = 400;
    result<http::response> send(const http::request& r, const send_options&) {
      // A careless server quoting the request in its message (and in Retry-After, why not).
      std::string echoed = "bad request: " + std::string(r.headers.get("Authorization")) +
                           " body " + std::get<http::json_body>(r.body).text;
      std::string body = R"({"message":)";
      json::writer::append_quoted(body, echoed);
      body += "}";
      http::response answer{status, {{"Content-Type", "application/json"}}, body};
      answer.headers.add("Retry-After", "hunter2-pdf");
      return answer;
    }
  };
  echo_transport t;
  auto failed = execute(t, run_with_secrets(), fake_settings());
  REQUIRE_FALSE(failed);
  const std::string all =
      failed.error().describe() + failed.error().server_message + failed.error().retry_after;
  CHECK(contains(all, "<redacted>"));
  CHECK_FALSE(contains(all, "fake-token"));
  for (const char* secret : secret_values) {
    CAPTURE(secret);
    CHECK_FALSE(contains(all, secret));
  }

  // Through the client (the retry flow) too, and what its exchange hook shows is redacted.
  std::string logged;
  client_options<echo_transport> options;
  options.retry = quick_retries(1);
  options.on_exchange = [&](const http::request& r, const result<http::response>&) {
    logged += http::to_string(r);
  };
  client<echo_transport> c(echo_transport{}, fake_settings(), options);
  auto again = c.call(run_with_secrets());
  REQUIRE_FALSE(again);
  const std::string text = again.error().describe() + again.error().server_message + logged;
  CHECK_FALSE(contains(text, "fake-token"));
  for (const char* secret : secret_values) {
    CAPTURE(secret);
    CHECK_FALSE(contains(text, secret));
  }
  CHECK(contains(logged, "POST /v2/apps/runs"));
}

TEST_CASE("integrity: scrubbing ends and stays linear whatever the secret and the server repeat") {
  // A token that is part of "<redacted>" itself must not be found again in what replaced it.
  for (const std::string token : {"redacted", "<redacted>", "dact"}) {
    CAPTURE(token);
    error e = make_error(error_kind::http_status, "echo: Bearer " + token + " and " + token);
    e.server_message = token + token;
    scrub_error(e, token, {});
    CHECK(e.message == "echo: Bearer <redacted> and <redacted>");
    CHECK(e.server_message == "<redacted><redacted>");
  }
  // A server repeating a secret a hundred thousand times: one pass, every copy replaced.
  std::string repeated;
  for (int i = 0; i < 100000; ++i) repeated += "pw-secret,";
  const std::vector<std::string> secrets{"pw-secret"};
  http::scrub_secrets(repeated, secrets);
  CHECK(repeated.find("pw-secret") == std::string::npos);
  CHECK(repeated.size() == 100000u * std::string_view("<redacted>,").size());
}
