// getJob (operationId jobStatus): the golden request from the spec's curl example, its validation
// rules, and its decoder on good, malformed and error responses.
#include <doctest/doctest.h>

#include <aihub/jobs.hpp>
#include <string>
#include <utility>

using namespace aihub;

namespace {

settings job_settings() {
  settings s;
  s.token = "abcdefghijklmnopqrst1234567890";
  s.ib_context = "john.doe_acme.com";
  return s;
}

http::response job_reply(int status, std::string body) {
  return http::response{status, {}, std::move(body)};
}

}  // namespace

TEST_CASE("jobs golden: jobStatus") {
  // curl "${API_ROOT}/v2/jobs/<JOB-ID>" -H "Authorization: ..." -H "IB-Context: ..."
  auto r = build_request(get_job{.job_id = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"}, job_settings());
  REQUIRE(r);
  CHECK(*r == http::request{http::method::get,
                            "/v2/jobs/a1b2c3d4-e5f6-7890-abcd-ef1234567890",
                            {{"Authorization", "Bearer abcdefghijklmnopqrst1234567890"},
                             {"IB-Context", "john.doe_acme.com"},
                             {"User-Agent", "aihub-cpp/" AIHUB_VERSION_STRING},
                             {"Accept", "application/json"}},
                            {}});
  auto odd = build_request(get_job{.job_id = "job/1 2?x"}, job_settings());
  REQUIRE(odd);
  CHECK(odd->target == "/v2/jobs/job%2F1%202%3Fx");

  CHECK(get_job::endpoint_info.operation_id == "jobStatus");
  CHECK(get_job::endpoint_info.verb == http::method::get);
  CHECK(get_job::endpoint_info.path_template == "/v2/jobs/{job_id}");
  CHECK(get_job::endpoint_info.success_status == 200);
  CHECK(get_job::endpoint_info.idempotent);
  static_assert(operation<get_job> && !operation_with_body<get_job>);
}

TEST_CASE("jobs validation: the job id must be present and free of control characters") {
  struct case_t {
    const char* what;
    std::string job_id;
    const char* rule;
  };
  const case_t cases[] = {
      {"empty", "", "must not be empty"},
      {"newline", "job\n", "control characters"},
      {"NUL", std::string("j\0b", 3), "control characters"},
      {"DEL", "j\x7f", "control characters"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto r = build_request(get_job{.job_id = c.job_id}, job_settings());
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == error_kind::validation);
    CHECK(r.error().field == "job_id");
    CHECK(r.error().message.find(c.rule) != std::string::npos);
  }
}

TEST_CASE("jobs decode: every state, an unknown one, and a missing message") {
  const std::pair<const char*, job_state> states[] = {
      {"COMPLETE", job_state::complete},   {"FAILED", job_state::failed},
      {"CANCELLED", job_state::cancelled}, {"RUNNING", job_state::running},
      {"PENDING", job_state::pending},     {"ARCHIVED", job_state::unknown}};
  for (const auto& entry : states) {
    const char* text = entry.first;
    const job_state state = entry.second;
    CAPTURE(text);
    auto r = decode_response(
        get_job{.job_id = "j"},
        job_reply(200, std::string(R"({"state":")") + text + R"(","message":"Deleted 3 files"})"));
    REQUIRE(r);
    CHECK(r->state == state);
    CHECK(r->message == "Deleted 3 files");
  }
  auto bare = decode_response(get_job{.job_id = "j"},
                              job_reply(200, R"({"state":"RUNNING","extra":[1,{"a":null}]})"));
  REQUIRE(bare);
  CHECK(*bare == job_status{job_state::running, std::nullopt});
  auto null_message = decode_response(get_job{.job_id = "j"},
                                      job_reply(200, R"({"message":null,"state":"FAILED"})"));
  REQUIRE(null_message);
  CHECK(*null_message == job_status{job_state::failed, std::nullopt});
}

TEST_CASE("jobs decode: malformed bodies and error statuses") {
  const std::pair<const char*, const char*> bad[] = {
      {"", ""},
      {R"({"state":"COMPLETE")", ""},
      {R"({"message":"m"})", "state"},
      {R"({"state":1})", "state"},
      {R"({"state":null})", "state"},
      {R"({"state":"COMPLETE","message":5})", "message"},
      {R"({"state":"COMPLETE"}])", ""},
  };
  for (const auto& entry : bad) {
    const char* body = entry.first;
    const char* field = entry.second;
    CAPTURE(body);
    auto r = decode_response(get_job{.job_id = "j"}, job_reply(200, body));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == error_kind::decode);
    CHECK(r.error().operation == "jobStatus");
    CHECK(r.error().field == field);
  }
  for (int status : {401, 403, 404, 429}) {
    CAPTURE(status);
    auto r = decode_response(get_job{.job_id = "j"},
                             job_reply(status, R"({"message":"job j not found"})"));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == error_kind::http_status);
    CHECK(r.error().operation == "jobStatus");
    CHECK(r.error().http_status == status);
    CHECK(r.error().server_message == "job j not found");
    CHECK(r.error().retryable == (status == 429));
  }
}
