// Retries, uploads, pagination and waiting, driven offline through a recording fake transport with
// injected faults and a fake clock (nothing here really sleeps).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "../support/fake_hub.hpp"

using namespace aihub;
using namespace aihub_test;
using namespace std::chrono_literals;

namespace {
using fake_client = client<recording_transport>;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

retry_policy quick_retries(int attempts = 4) {
  retry_policy p;
  p.max_attempts = attempts;
  p.initial_backoff = 100ms;
  p.max_backoff = 1000ms;
  return p;
}
}  // namespace

TEST_CASE("retry decision: statuses, idempotency and connection failures") {
  retry_policy p = quick_retries();
  jitter_source jitter(1);
  auto status = [](int s) {
    error e;
    e.kind = error_kind::http_status;
    e.http_status = s;
    return e;
  };
  const endpoint& get = get_batch::endpoint_info;
  const endpoint& create = create_batch::endpoint_info;
  for (int s : {429, 502, 503, 504}) CHECK(next_retry_delay(p, get, 1, status(s), 0ms, jitter));
  for (int s : {400, 401, 403, 404, 409, 500, 501})
    CHECK_FALSE(next_retry_delay(p, get, 1, status(s), 0ms, jitter));
  // Not idempotent: a 503 may have created the batch, so no retry...
  CHECK_FALSE(next_retry_delay(p, create, 1, status(503), 0ms, jitter));
  CHECK_FALSE(next_retry_delay(p, create, 1, connection_reset().error(), 0ms, jitter));
  // ...but a request that never left is safe to resend.
  CHECK(next_retry_delay(p, create, 1, connection_refused().error(), 0ms, jitter));
  CHECK(next_retry_delay(p, get, 1, connection_reset().error(), 0ms, jitter));
  // Attempts and total time are capped.
  CHECK_FALSE(next_retry_delay(p, get, 4, status(503), 0ms, jitter));
  CHECK_FALSE(next_retry_delay(p, get, 1, status(503), p.max_total, jitter));
  CHECK_FALSE(next_retry_delay(retry_policy::none(), get, 1, status(503), 0ms, jitter));

  // Exponential backoff with equal jitter: within [backoff/2, backoff].
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto d = next_retry_delay(p, get, attempt, status(503), 0ms, jitter);
    REQUIRE(d);
    auto full = std::min<long>(1000, 100L << (attempt - 1));
    CHECK(d->count() >= full / 2);
    CHECK(d->count() <= full);
  }
  jitter_source a(7), b(7);
  CHECK(next_retry_delay(p, get, 2, status(503), 0ms, a) ==
        next_retry_delay(p, get, 2, status(503), 0ms, b));
}

TEST_CASE("retry decision: Retry-After in seconds and as an HTTP date") {
  auto now = std::chrono::system_clock::time_point(
      std::chrono::seconds(784111777));  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("120", now) == 120s);
  CHECK(parse_retry_after(" 0 ", now) == 0s);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10s);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now) == 0s);  // past: now
  CHECK(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", now) == 86400s);
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == now);
  CHECK(parse_http_date("Sat, 06 Nov 2100 08:49:37 GMT") ==
        std::chrono::system_clock::time_point(std::chrono::seconds(4129174177)));
  for (const char* bad :
       {"", "-1", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 36 Nov 1994 08:49:37 GMT",
        "Sun, 06 Xyz 1994 08:49:37 GMT", "99999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 GMT"})  // beyond what system_clock can hold: not overflowed
    CHECK_MESSAGE(!parse_retry_after(bad, now), bad);

  retry_policy p = quick_retries();
  jitter_source jitter(1);
  error e;
  e.kind = error_kind::http_status;
  e.http_status = 429;
  e.retry_after = "7";
  CHECK(next_retry_delay(p, get_batch::endpoint_info, 1, e, 0ms, jitter, now) == 7000ms);
  p.honour_retry_after = false;
  CHECK(next_retry_delay(p, get_batch::endpoint_info, 1, e, 0ms, jitter, now) < 7000ms);
}

TEST_CASE("client.call retries 503 then succeeds, sleeping on the fake clock only") {
  fake_hub hub;
  recording_transport t{&hub};
  t.add_fault([](std::size_t n, const http::request&) -> std::optional<result<http::response>> {
    if (n <= 2) return status_response(503);
    return std::nullopt;
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  auto job = c.call(poll_batches_job{.job_id = "j1"});
  REQUIRE(job);
  CHECK(t.sent().size() == 3);
  CHECK(clock.sleeps.size() == 2);

  // 429 with Retry-After: the wait is what the server asked for.
  fake_hub hub2;
  recording_transport t2{&hub2};
  t2.add_fault([](std::size_t n, const http::request&) -> std::optional<result<http::response>> {
    if (n == 1) return status_response(429, "3");
    return std::nullopt;
  });
  fake_clock clock2;
  fake_client c2(t2, fake_settings(),
                 fake_time_options<recording_transport>(clock2, quick_retries()));
  REQUIRE(c2.call(get_batch{.batch_id = 1}).error().http_status ==
          404);  // the fake has no getBatch
  REQUIRE(clock2.sleeps.size() == 1);
  CHECK(clock2.sleeps[0] == 3000ms);
}

TEST_CASE("client.call gives up after max_attempts and never retries a non-idempotent 503") {
  fake_hub hub;
  recording_transport t{&hub};
  t.add_fault([](std::size_t, const http::request&) -> std::optional<result<http::response>> {
    return status_response(503);
  });
  fake_clock clock;
  fake_client c(t, fake_settings(),
                fake_time_options<recording_transport>(clock, quick_retries(3)));
  auto polled = c.call(poll_batches_job{.job_id = "j"});
  REQUIRE_FALSE(polled);
  CHECK(polled.error().http_status == 503);
  CHECK(t.sent().size() == 3);

  auto created = c.call(create_batch{.name = "x"});
  REQUIRE_FALSE(created);
  CHECK(t.sent().size() == 4);  // one attempt only

  fake_hub hub2;
  recording_transport t2{&hub2};
  t2.add_fault([](std::size_t n, const http::request&) -> std::optional<result<http::response>> {
    if (n == 1) return connection_refused();
    return std::nullopt;
  });
  fake_client c2(t2, fake_settings(),
                 fake_time_options<recording_transport>(clock, quick_retries(3)));
  auto retried = c2.call(create_batch{.name = "x"});
  REQUIRE(retried);
  CHECK(t2.sent().size() == 2);
  CHECK(hub2.batches.size() == 1);
}

TEST_CASE("upload: a small file is one PUT") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock));
  std::string content = pattern(8);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  auto outcome =
      c.upload(1, "small.txt", upload_source::from_bytes(std::as_bytes(std::span(content))),
               {.multipart_threshold = 10,
                .on_progress = [&](auto d, auto total) { progress.emplace_back(d, total); }});
  REQUIRE(outcome);
  CHECK_FALSE(outcome->multipart);
  CHECK(hub.batches[1]["small.txt"] == content);
  CHECK(t.targets() == std::vector<std::string>{"PUT /v2/batches/1/files/small.txt"});
  CHECK(progress == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{8, 8}});
}

TEST_CASE("upload: multipart with retried parts, ordered commit and byte-identical content") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  // Part 2 fails twice (503, then a dropped connection) before it goes through.
  t.add_fault([count = 0](std::size_t,
                          const http::request& r) mutable -> std::optional<result<http::response>> {
    if (r.target.find("/parts/2") == std::string::npos) return std::nullopt;
    if (++count == 1) return status_response(503);
    if (count == 2) return connection_reset();
    return std::nullopt;
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  std::string content = pattern(25);
  std::uint64_t last_progress = 0;
  auto outcome =
      c.upload(1, "big file.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
               {.multipart_threshold = 10, .parallel_parts = 1, .on_progress = [&](auto d, auto) {
                  last_progress = d;
                }});
  REQUIRE_MESSAGE(outcome, (outcome ? "" : outcome.error().describe()));
  CHECK(outcome->multipart);
  CHECK(outcome->parts == 3);
  CHECK(hub.batches[1]["big file.bin"] == content);
  CHECK(hub.sessions.empty());
  CHECK(last_progress == 25);
  auto targets = t.targets();
  CHECK(targets == std::vector<std::string>{
                       "POST /v2/batches/multipart-upload",
                       "PUT /v2/batches/multipart-upload/sessions/s1/parts/1",
                       "PUT /v2/batches/multipart-upload/sessions/s1/parts/2",
                       "PUT /v2/batches/multipart-upload/sessions/s1/parts/2",
                       "PUT /v2/batches/multipart-upload/sessions/s1/parts/2",
                       "PUT /v2/batches/multipart-upload/sessions/s1/parts/3",
                       "POST /v2/batches/multipart-upload/sessions/s1",
                   });
  auto commit = std::get<http::json_body>(t.sent().back().body).text;
  CHECK(
      commit ==
      R"({"action":"commit","parts":[{"part_num":1,"part_id":"id-1"},{"part_num":2,"part_id":"id-2"},{"part_num":3,"part_id":"id-3"}]})");
  // Every part body is a region of the source, never a copy.
  CHECK(std::holds_alternative<http::bytes_view_body>(t.sent()[1].body));
  CHECK(std::get<http::bytes_view_body>(t.sent()[5].body).bytes.size() == 5);
}

TEST_CASE("upload: a part that always fails aborts the session on the server and names the part") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  t.add_fault([](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
    if (r.target.find("/parts/2") != std::string::npos) return status_response(503);
    return std::nullopt;
  });
  fake_clock clock;
  fake_client c(t, fake_settings(),
                fake_time_options<recording_transport>(clock, quick_retries(3)));
  std::string content = pattern(35);
  auto outcome =
      c.upload(1, "doomed.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
               {.multipart_threshold = 10, .parallel_parts = 1});
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().http_status == 503);
  CHECK(outcome.error().field == "part_num");
  CHECK(outcome.error().message.find("part 2 of 4") != std::string::npos);
  CHECK(outcome.error().message.find("aborted") != std::string::npos);
  CHECK(hub.sessions.empty());  // aborted on the server, nothing left open
  CHECK(hub.batches[1].empty());
  auto last = t.sent().back();
  CHECK(std::get<http::json_body>(last.body).text == R"({"action":"abort"})");
  auto targets = t.targets();
  CHECK(std::count_if(targets.begin(), targets.end(), [](const std::string& s) {
          return s.find("/parts/2") != std::string::npos;
        }) == 3);
  CHECK(std::none_of(targets.begin(), targets.end(),
                     [](const std::string& s) { return s.find("/parts/3") != std::string::npos; }));
}

TEST_CASE("upload: a retried commit that finds the session closed is confirmed by the listing") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  // The first commit is applied by the server, but its answer is lost (503 from a proxy, say).
  t.add_fault([&hub, done = false](
                  std::size_t,
                  const http::request& r) mutable -> std::optional<result<http::response>> {
    if (done || r.verb != http::method::post || r.target.find("/sessions/") == std::string::npos)
      return std::nullopt;
    done = true;
    (void)hub.handle(r);
    return status_response(503);
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  std::string content = pattern(21);
  auto outcome = c.upload(1, "c.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                          {.multipart_threshold = 10});
  REQUIRE_MESSAGE(outcome, (outcome ? "" : outcome.error().describe()));
  CHECK(outcome->confirmed_by_listing);
  CHECK(hub.batches[1]["c.bin"] == content);
  CHECK(t.targets().back() == "GET /v2/batches/1/files");

  // If the listing shows another size, it is an error, not a silent success.
  fake_hub hub2;
  hub2.batches[1]["c.bin"] = "short";
  recording_transport t2{&hub2};
  t2.add_fault([](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
    if (r.verb == http::method::post && r.target.find("/sessions/") != std::string::npos)
      return status_response(503);
    return std::nullopt;
  });
  fake_client c2(t2, fake_settings(),
                 fake_time_options<recording_transport>(clock, quick_retries(2)));
  auto failed = c2.upload(1, "c.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                          {.multipart_threshold = 10});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().http_status == 503);  // 503 twice: no closed session, so no confirmation
}

TEST_CASE("upload: parts run in parallel with a transport factory, bounded by parallel_parts") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  t.add_fault([](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
    if (r.target.find("/parts/") != std::string::npos) std::this_thread::sleep_for(20ms);
    return std::nullopt;
  });
  auto options = client_options<recording_transport>{};
  options.retry = quick_retries();
  options.transport_factory = [t] { return t; };  // copies share the recording state
  fake_client c(t, fake_settings(), options);
  std::string content = pattern(200);  // 20 parts of 10
  auto outcome =
      c.upload(1, "par.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
               {.multipart_threshold = 10, .parallel_parts = 3});
  REQUIRE_MESSAGE(outcome, (outcome ? "" : outcome.error().describe()));
  CHECK(hub.batches[1]["par.bin"] == content);
  CHECK(t.state->max_in_flight.load() >= 2);
  CHECK(t.state->max_in_flight.load() <= 3);
}

TEST_CASE("upload: stopping mid-way aborts the multipart session") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  std::stop_source stop;
  t.add_fault(
      [&stop](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
        if (r.target.find("/parts/2") != std::string::npos) stop.request_stop();
        return std::nullopt;
      });
  fake_clock clock;
  auto options = fake_time_options<recording_transport>(clock);
  options.stop = stop.get_token();
  fake_client c(t, fake_settings(), options);
  std::string content = pattern(50);
  auto outcome =
      c.upload(1, "stop.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
               {.multipart_threshold = 10, .parallel_parts = 1});
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == error_kind::cancelled);
  CHECK(hub.sessions.empty());
  CHECK(std::get<http::json_body>(t.sent().back().body).text == R"({"action":"abort"})");
}

TEST_CASE("pagination: all pages, a repeated token and an empty page that claims more") {
  fake_hub hub;
  for (int i = 0; i < 5; ++i)
    hub.batches[1]["f" + std::to_string(i)] = std::string(static_cast<std::size_t>(i), 'x');
  recording_transport t{&hub};
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock));
  auto all = c.list_all_files(1);
  REQUIRE(all);
  CHECK(all->size() == 5);
  CHECK((*all)[4].size() == 4);
  CHECK(t.sent().size() == 3);

  int pages = 0;
  for (auto& page : c.file_pages(list_files{.batch_id = 1, .page_size = 2})) {
    REQUIRE(page);
    ++pages;
  }
  CHECK(pages == 3);

  file_pager repeating(list_files{.batch_id = 1});
  file_page p1{{{.name = "a"}}, "T", true};
  REQUIRE(repeating.accept(p1));
  REQUIRE(repeating.next_request()->start_token == "T");
  auto again = repeating.accept(p1);
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == error_kind::protocol);
  CHECK_FALSE(repeating.next_request());

  file_pager empty(list_files{.batch_id = 1});
  auto e = empty.accept(file_page{{}, "T2", true});
  REQUIRE_FALSE(e);
  CHECK(e.error().message.find("empty page") != std::string::npos);

  batch_pager batches(list_batches{.limit = 2});
  REQUIRE(batches.accept(batch_list{{{.id = 1}, {.id = 2}}}));
  CHECK(batches.next_request()->offset == 2);
  REQUIRE(batches.accept(batch_list{{{.id = 3}}}));
  CHECK_FALSE(batches.next_request());
}

TEST_CASE("paging: every pager stops a listing that claims more than max_pages pages") {
  // Fresh tokens and full pages forever: only the page limit ends these listings.
  file_pager files(list_files{.batch_id = 1}, 3);
  int accepted = 0;
  result<void> last;
  for (int i = 0; i < 10 && files.next_request(); ++i) {
    last = files.accept(file_page{{{.name = "f"}}, "token-" + std::to_string(i), true});
    if (!last) break;
    ++accepted;
  }
  CHECK(accepted == 3);
  REQUIRE_FALSE(last);
  CHECK(last.error().kind == error_kind::protocol);
  CHECK(last.error().message.find("more than 3 pages") != std::string::npos);
  CHECK(last.error().message.find("max_pages") != std::string::npos);
  CHECK_FALSE(files.next_request());

  batch_pager batches(list_batches{.limit = 1}, 2);
  REQUIRE(batches.accept(batch_list{{{.id = 1}}}));
  REQUIRE(batches.accept(batch_list{{{.id = 2}}}));
  auto third = batches.accept(batch_list{{{.id = 3}}});
  REQUIRE_FALSE(third);
  CHECK(third.error().message.find("listBatches") != std::string::npos);
  CHECK_FALSE(batches.next_request());

  run_pager runs(list_runs{.limit = 1}, 1);
  REQUIRE(runs.accept(run_list{{{.id = "r1"}}}));
  auto second = runs.accept(run_list{{{.id = "r2"}}});
  REQUIRE_FALSE(second);
  CHECK(second.error().message.find("listRuns") != std::string::npos);

  results_pager results(get_run_results{.run_id = "r"}, 1);
  run_results page;
  page.id = "r";
  page.files.resize(1);
  page.has_more = true;
  REQUIRE(results.accept(page));
  auto over = results.accept(page);
  REQUIRE_FALSE(over);
  CHECK(over.error().message.find("getRunResults") != std::string::npos);

  // A listing that ends by itself within the limit is untouched.
  file_pager short_listing(list_files{.batch_id = 1}, 1);
  REQUIRE(short_listing.accept(file_page{{{.name = "f"}}, std::nullopt, false}));
  CHECK_FALSE(short_listing.next_request());
}

TEST_CASE(
    "waiting: a job moves to COMPLETE, FAILED is an error with the server's message, deadlines "
    "hold") {
  fake_hub hub;
  recording_transport t{&hub};
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock));
  auto done = c.wait_for_batches_job("j1", {.first_interval = 100ms});
  REQUIRE(done);
  CHECK(done->state == job_state::complete);
  CHECK(t.sent().size() == 3);  // PENDING, RUNNING, COMPLETE
  CHECK(clock.sleeps == std::vector<std::chrono::milliseconds>{100ms, 150ms});

  hub.final_job_state = "FAILED";
  auto failed = c.wait_for_batches_job("j2", {.first_interval = 100ms});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().kind == error_kind::failed);
  CHECK(failed.error().server_message == "job says hi");
  CHECK(failed.error().operation == "pollBatchesJob");

  hub.polls_until_done = 1000;
  auto late =
      c.wait_for_batches_job("j3", {.first_interval = 1000ms, .multiplier = 1.0, .timeout = 5s});
  REQUIRE_FALSE(late);
  CHECK(late.error().kind == error_kind::timeout);
}

TEST_CASE("every request of a flow carries the IB-Context and the token") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock));
  std::string content = pattern(30);
  REQUIRE(c.upload(1, "ctx.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                   {.multipart_threshold = 10}));
  REQUIRE(t.sent().size() == 5);
  for (const auto& r : t.sent()) {
    CHECK(r.headers.get("IB-Context") == "org-ctx");
    CHECK(r.headers.get("Authorization") == "Bearer fake-token");
  }
}

TEST_CASE("review fixes: a retried reader body is rewound, a non-rewindable one is not resent") {
  fake_hub hub;
  hub.batches[1];
  recording_transport t{&hub};
  t.add_fault([](std::size_t n, const http::request&) -> std::optional<result<http::response>> {
    if (n == 1) return status_response(503);
    return std::nullopt;
  });
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock, quick_retries()));
  const std::string content = pattern(30);
  auto source = upload_source::from_reader(
      content.size(), [&](std::uint64_t offset, std::span<std::byte> out) -> result<std::size_t> {
        std::memcpy(out.data(), content.data() + offset, out.size());
        return out.size();
      });
  auto up = c.upload(1, "r.bin", std::move(source), {.multipart_threshold = 100});
  REQUIRE_MESSAGE(up, (up ? "" : up.error().describe()));
  CHECK(hub.batches[1]["r.bin"] == content);
  CHECK(t.sent().size() == 2);

  struct once_reader : http::byte_reader {
    bool used = false;
    result<std::size_t> read(std::span<std::byte> out) override {
      if (used) return std::size_t{0};
      used = true;
      std::memset(out.data(), 'a', out.size());
      return out.size();
    }
  };
  fake_hub hub2;
  hub2.batches[1];
  recording_transport t2{&hub2};
  t2.add_fault([](std::size_t n, const http::request& r) -> std::optional<result<http::response>> {
    (void)fake_hub::read_body(r.body);  // the transport consumes the body
    if (n == 1) return status_response(503);
    return std::nullopt;
  });
  fake_client c2(t2, fake_settings(),
                 fake_time_options<recording_transport>(clock, quick_retries()));
  auto once =
      c2.call(upload_file{.batch_id = 1,
                          .name = "once.bin",
                          .content = http::reader_body{4, std::make_shared<once_reader>()}});
  REQUIRE_FALSE(once);
  CHECK(once.error().http_status == 503);
  CHECK(once.error().message.find("cannot be replayed") != std::string::npos);
  CHECK(t2.sent().size() == 1);
}

TEST_CASE(
    "review fixes: a stop during a single PUT's retries or the session start ends the upload") {
  fake_clock clock;
  {
    fake_hub hub;
    hub.batches[1];
    recording_transport t{&hub};
    std::stop_source stop;
    t.add_fault(
        [&stop](std::size_t, const http::request&) -> std::optional<result<http::response>> {
          stop.request_stop();
          return status_response(503);
        });
    auto options = fake_time_options<recording_transport>(clock, quick_retries());
    options.stop = stop.get_token();
    fake_client c(t, fake_settings(), options);
    std::string content = pattern(8);
    auto up = c.upload(1, "s.txt", upload_source::from_bytes(std::as_bytes(std::span(content))));
    REQUIRE_FALSE(up);
    CHECK(up.error().kind == error_kind::cancelled);
    CHECK(t.sent().size() == 1);  // not retried after the stop
  }
  {
    fake_hub hub;
    hub.batches[1];
    recording_transport t{&hub};
    std::stop_source stop;
    t.add_fault(
        [&stop](std::size_t, const http::request& r) -> std::optional<result<http::response>> {
          if (r.target == "/v2/batches/multipart-upload") stop.request_stop();
          return std::nullopt;
        });
    auto options = fake_time_options<recording_transport>(clock);
    options.stop = stop.get_token();
    fake_client c(t, fake_settings(), options);
    std::string content = pattern(40);
    auto up = c.upload(1, "s.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                       {.multipart_threshold = 10});
    REQUIRE_FALSE(up);
    CHECK(up.error().kind == error_kind::cancelled);
    CHECK(hub.sessions.empty());  // the session it had just opened was aborted
    CHECK(t.targets() == std::vector<std::string>{"POST /v2/batches/multipart-upload",
                                                  "POST /v2/batches/multipart-upload/sessions/s1"});
  }
}

TEST_CASE("review fixes: absurd part sizes, forever timeouts and dot ids") {
  fake_hub hub;
  hub.batches[1];
  hub.part_size = 1;
  recording_transport t{&hub};
  fake_clock clock;
  fake_client c(t, fake_settings(), fake_time_options<recording_transport>(clock));
  std::string content = pattern(20000);
  auto up = c.upload(1, "many.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                     {.multipart_threshold = 10});
  REQUIRE_FALSE(up);
  CHECK(up.error().kind == error_kind::protocol);
  CHECK(hub.sessions.empty());
  CHECK(t.sent().size() == 2);  // start, abort

  auto forever = c.wait_for_batches_job("j", {.first_interval = std::chrono::milliseconds(1),
                                              .timeout = std::chrono::milliseconds::max()});
  REQUIRE_MESSAGE(forever, (forever ? "" : forever.error().describe()));
  CHECK(forever->state == job_state::complete);

  for (const char* id : {".", ".."}) {
    CHECK(build_request(poll_batches_job{.job_id = id}, fake_settings()).error().field == "job_id");
    CHECK(build_request(get_job{.job_id = id}, fake_settings()).error().field == "job_id");
    CHECK(build_request(get_run{.run_id = id}, fake_settings()).error().field == "run_id");
    CHECK(build_request(abort_multipart_upload{.session_id = id}, fake_settings()).error().field ==
          "session_id");
  }
  CHECK(build_request(create_batch{.name = std::string("a\nb")}, fake_settings()).error().field ==
        "name");
}

TEST_CASE("drive: a flow written by a user runs on the client through the step_machine concept") {
  // Creates two batches, the second only after the first exists, and sums their ids.
  struct two_batches {
    using value_type = std::int64_t;
    flow::call_context context;
    std::optional<flow::call<create_batch>> current;
    int made = 0;
    std::int64_t sum = 0;
    std::optional<result<std::int64_t>> outcome_;

    flow::step next(flow::time_point now) {
      if (outcome_) return flow::done_step{};
      if (!current) current.emplace(create_batch{.name = "b"}, context, 40 + made);
      auto s = current->next(now);
      if (!std::holds_alternative<flow::done_step>(s)) return s;
      auto& made_one = current->outcome();
      if (!made_one) {
        outcome_.emplace(std::move(made_one).error());
        return flow::done_step{};
      }
      sum += made_one->id;
      current.reset();
      if (++made == 2) outcome_.emplace(sum);
      return next(now);
    }
    void on_response(std::uint64_t id, result<http::response> r, flow::time_point now) {
      CHECK(id == static_cast<std::uint64_t>(40 + made));
      current->on_response(id, std::move(r), now);
    }
    bool done() const { return outcome_.has_value(); }
    result<std::int64_t>& outcome() { return *outcome_; }
  };
  static_assert(flow::step_machine<two_batches>);
  static_assert(!flow::parallel_machine<two_batches> && !flow::cancellable_machine<two_batches>);

  fake_hub hub;
  recording_transport t{&hub};
  fake_clock clock;
  const settings s = fake_settings();
  fake_client c(t, s, fake_time_options<recording_transport>(clock, quick_retries()));
  two_batches machine;
  machine.context.config = &s;
  auto total = c.drive(machine);
  REQUIRE_MESSAGE(total, (total ? "" : total.error().describe()));
  CHECK(*total == 1 + 2);
  CHECK(t.targets() == std::vector<std::string>{"POST /v2/batches", "POST /v2/batches"});
}

TEST_CASE(
    "client: movable with its settings, and built in place around a transport that cannot move") {
  fake_hub hub;
  recording_transport t{&hub};
  fake_clock clock;
  std::vector<fake_client> clients;
  {
    settings s = fake_settings();
    s.token = "token-of-the-moved-one";
    fake_client original(t, s, fake_time_options<recording_transport>(clock, quick_retries()));
    clients.push_back(std::move(original));
    settings other = fake_settings();
    other.token = "token-of-the-second";
    clients.emplace_back(t, other, fake_time_options<recording_transport>(clock, quick_retries()));
  }                     // the originals are gone: what the moved clients use must be their own
  clients.reserve(16);  // moves them again
  REQUIRE(clients[0].call(create_batch{.name = "a"}));
  REQUIRE(clients[1].call(create_batch{.name = "b"}));
  auto sent = t.sent();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].headers.get("Authorization") == "Bearer token-of-the-moved-one");
  CHECK(sent[1].headers.get("Authorization") == "Bearer token-of-the-second");
  // The context callers drive their own flows with is the client's: its settings, its policy.
  CHECK(clients[0].context().config == &clients[0].config());
  CHECK(clients[0].context().retry.max_attempts == quick_retries().max_attempts);
  fake_client assigned = std::move(clients[1]);
  assigned = std::move(clients[0]);
  REQUIRE(assigned.call(create_batch{.name = "c"}));
  CHECK(t.sent().back().headers.get("Authorization") == "Bearer token-of-the-moved-one");

  struct pinned_transport {
    fake_hub* hub;
    explicit pinned_transport(fake_hub* h) : hub(h) {}
    pinned_transport(pinned_transport&&) = delete;
    result<http::response> send(const http::request& r, const send_options&) {
      return hub->handle(r);
    }
  };
  static_assert(!std::is_move_constructible_v<client<pinned_transport>>);
  client<pinned_transport> pinned(fake_settings(), {}, std::in_place, &hub);
  auto made = pinned.call(create_batch{.name = "d"});
  REQUIRE_MESSAGE(made, (made ? "" : made.error().describe()));
  CHECK(made->id == 4);
}
