// Golden request descriptions for the six Runs operations (from the spec's curl examples), every
// validation rule, and the decoders on the spec's example bodies, on hand-written bodies covering
// every field, and on malformed ones.
#include <doctest/doctest.h>

#include <aihub/runs.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#if __has_include(<aihub/nlohmann_codec.hpp>) && __has_include(<nlohmann/json.hpp>)
#include <aihub/nlohmann_codec.hpp>
#define AIHUB_RUNS_TEST_NLOHMANN 1
#else
#define AIHUB_RUNS_TEST_NLOHMANN 0
#endif

using namespace aihub;

namespace {

constexpr const char* run_id_example = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
constexpr const char* deployment_example = "12345678-abcde-1234-abcd-123456789012";

settings test_settings() {
  settings s;
  s.token = "abcdefghijklmnopqrst1234567890";
  s.ib_context = "john.doe_acme.com";
  return s;
}

http::header_list common_headers() {
  return {{"Authorization", "Bearer abcdefghijklmnopqrst1234567890"},
          {"IB-Context", "john.doe_acme.com"},
          {"User-Agent", "aihub-cpp/" AIHUB_VERSION_STRING},
          {"Accept", "application/json"}};
}

http::header_list json_headers() {
  auto h = common_headers();
  h.add("Content-Type", "application/json");
  return h;
}

template <class Op>
http::request build(const Op& op, const settings& s = test_settings()) {
  auto r = build_request(op, s);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
  return *r;
}

http::request post(std::string target, std::string body) {
  return http::request{http::method::post, std::move(target), json_headers(),
                       http::json_body{std::move(body)}};
}
http::request get(std::string target) {
  return http::request{http::method::get, std::move(target), common_headers(), {}};
}

http::response reply(int status, std::string body, http::header_list headers = {}) {
  return http::response{status, std::move(headers), std::move(body)};
}

template <class Op>
typename Op::response_type decoded(const Op& op, int status, std::string body) {
  auto r = decode_response(op, reply(status, std::move(body)));
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  return *r;
}

template <class Op>
error decode_failure(const Op& op, int status, std::string body) {
  auto r = decode_response(op, reply(status, std::move(body)));
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

json::raw raw(std::string text) {
  return json::raw{std::move(text)};
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Golden requests

TEST_CASE("runs golden: runApp, the spec's simple request") {
  // curl -d '{"batch_id": <BATCH-ID>, "app_name": "<APP-NAME>"}'
  CHECK(build(run_app{.app_name = "MyApp", .batch_id = 12345}) ==
        post("/v2/apps/runs", R"({"batch_id":12345,"app_name":"MyApp"})"));
}

TEST_CASE("runs golden: runApp, the spec's complex request") {
  // The curl sample quotes "<BATCH-ID>", but the schema (and the Python samples) make it an
  // integer.
  run_app op{.app_name = "MyApp",
             .batch_id = 12345,
             .settings = {.generate_post_process_pdf = true,
                          .pdf_passwords = {{"test1.pdf", "abc123"}, {"scott.pdf", "tiger"}}}};
  CHECK(build(op) == post("/v2/apps/runs",
                          R"({"batch_id":12345,"app_name":"MyApp","settings":{"runtime_config":)"
                          R"({"generate_post_process_pdf":true,"instabase":{"pdf":{"passwords":)"
                          R"({"test1.pdf":"abc123","scott.pdf":"tiger"}}}}}})"));
}

TEST_CASE("runs golden: runApp with every field") {
  run_app op{.app_id = "528c36e8-ac5b-490d-a41b-7eec9c404b87",
             .owner = "instabase",
             .input_dir = "acme/MyWorkspace/fs/My Google Drive/in/",
             .version = "1.2.0",
             .output_workspace = "MyWorkspace",
             .output_dir = "acme/MyWorkspace/fs/Instabase Drive/out",
             .settings = {.custom_keys = {custom_key::of_string("region", "EU \"west\"\n"),
                                          custom_key::of_int("threshold", -80),
                                          custom_key::of_bool("strict", true),
                                          {"limits", raw(R"({"pages": [1, 2]})")},
                                          {"nothing", raw("null")}},
                          .secret_keys = {{"api_key", "vault-entry"}},
                          .generate_post_process_pdf = false,
                          .runtime_config_extra = raw(R"({"ocr_mode":"fast"})"),
                          .tags = {"q3", "r\xC3\xA9sum\xC3\xA9"},
                          .extra = raw(R"( {"priority": 5, "note": {"a": [true]}} )")}};
  CHECK(build(op) ==
        post("/v2/apps/runs",
             R"({"input_dir":"acme/MyWorkspace/fs/My Google Drive/in/",)"
             R"("app_id":"528c36e8-ac5b-490d-a41b-7eec9c404b87","owner":"instabase",)"
             R"("version":"1.2.0","output_workspace":"MyWorkspace",)"
             R"("output_dir":"acme/MyWorkspace/fs/Instabase Drive/out","settings":{"keys":)"
             R"({"custom":{"region":"EU \"west\"\n","threshold":-80,"strict":true,)"
             R"("limits":{"pages": [1, 2]},"nothing":null},"secret":{"api_key":"vault-entry"}},)"
             R"("runtime_config":{"generate_post_process_pdf":false,"ocr_mode":"fast"},)"
             R"("tags":["q3","r)"
             "\xC3\xA9sum\xC3\xA9"
             R"("],"priority":5,"note":{"a": [true]}}})"));
}

TEST_CASE("runs golden: runApp settings parts appear only when set") {
  CHECK(std::get<http::json_body>(
            build(run_app{.app_name = "A", .batch_id = 1, .settings = {.tags = {"t"}}}).body)
            .text == R"({"batch_id":1,"app_name":"A","settings":{"tags":["t"]}})");
  CHECK(
      std::get<http::json_body>(
          build(run_app{.app_name = "A", .batch_id = 1, .settings = {.secret_keys = {{"k", "s"}}}})
              .body)
          .text == R"({"batch_id":1,"app_name":"A","settings":{"keys":{"secret":{"k":"s"}}}})");
  CHECK(std::get<http::json_body>(build(run_app{.app_name = "A",
                                                .batch_id = 1,
                                                .settings = {.runtime_config_extra = raw("{}")}})
                                      .body)
            .text == R"({"batch_id":1,"app_name":"A","settings":{"runtime_config":{}}})");
  CHECK(std::get<http::json_body>(
            build(run_app{.app_name = "A", .batch_id = 1, .settings = {.extra = raw("{}")}}).body)
            .text == R"({"batch_id":1,"app_name":"A","settings":{}})");
  CHECK(run_settings{}.empty());
  CHECK_FALSE(run_settings{.tags = {"x"}}.empty());
}

TEST_CASE("runs golden: escaped member names in extras and keys survive nested values") {
  // The outer name is unescaped into a scratch buffer that reading the nested object reuses.
  auto r = build(run_app{.app_name = "A",
                         .batch_id = 1,
                         .settings = {.extra = raw(R"({"pr\u0069ority":{"le\u0076el":2}})")}});
  CHECK(std::get<http::json_body>(r.body).text ==
        R"({"batch_id":1,"app_name":"A","settings":{"priority":{"le\u0076el":2}}})");
  run_results results;
  results.keys = raw(R"({"cust\u006fm":{"re\u0067ion":{"z\u006fne":"w"},"b":1}})");
  auto keys = results.custom_keys();
  REQUIRE(keys);
  CHECK(*keys == std::vector<custom_key>{{"region", raw(R"({"z\u006fne":"w"})")}, {"b", raw("1")}});
}

TEST_CASE("runs golden: runDeployment") {
  const std::string target = std::string("/v2/apps/deployments/") + deployment_example + "/runs";
  // curl -d '{"batch_id": <BATCH-ID>,}' (the sample's trailing comma is not JSON; this is).
  CHECK(build(run_deployment{.deployment_id = deployment_example, .batch_id = 12345}) ==
        post(target, R"({"batch_id":12345})"));

  CHECK(
      build(run_deployment{
          .deployment_id = deployment_example,
          .input_dir = "acme/MyWorkspace/fs/My Google Drive/My Drive/input_files/documents/"}) ==
      post(
          target,
          R"({"input_dir":"acme/MyWorkspace/fs/My Google Drive/My Drive/input_files/documents/"})"));

  CHECK(build(run_deployment{
            .deployment_id = deployment_example,
            .manual_upstream_integration = true,
            .from_timestamp = 1709251200000,
            .to_timestamp = 1710000000000,
            .version = "3",
            .output_dir = "acme/ws/fs/Instabase Drive/out",
            .settings = {.custom_keys = {custom_key::of_int("n", 1)}, .tags = {"mail"}}}) ==
        post(target, R"({"manual_upstream_integration":true,"from_timestamp":1709251200000,)"
                     R"("to_timestamp":1710000000000,"version":"3",)"
                     R"("output_dir":"acme/ws/fs/Instabase Drive/out",)"
                     R"("settings":{"keys":{"custom":{"n":1}},"tags":["mail"]}})"));

  CHECK(build(run_deployment{.deployment_id = "dep id/1", .batch_id = 1}).target ==
        "/v2/apps/deployments/dep%20id%2F1/runs");
}

TEST_CASE("runs golden: getRunStatus") {
  CHECK(build(get_run{.run_id = run_id_example}) ==
        get(std::string("/v2/apps/runs/") + run_id_example));
  CHECK(build(get_run{.run_id = "a/b c"}).target == "/v2/apps/runs/a%2Fb%20c");
}

TEST_CASE("runs golden: listRuns") {
  CHECK(build(list_runs{}) == get("/v2/apps/runs"));
  list_runs all{.app_id = "a1",
                .app_name = "My App",
                .deployment_id = "d-1",
                .username = "john.doe@acme.com",
                .run_id = "r1",
                .status = {run_status::complete, run_status::stopped_at_checkpoint},
                .output_workspaces = {"ws one", "ws+2"},
                .from_timestamp = 1709251200,
                .to_timestamp = 1710000000,
                .limit = 50,
                .offset = 100,
                .sort_by = run_sort_field::status,
                .order = run_sort_order::ascending};
  CHECK(build(all) ==
        get("/v2/apps/runs?app_id=a1&app_name=My%20App&deployment_id=d-1"
            "&username=john.doe%40acme.com&run_id=r1&status=COMPLETE&status=STOPPED_AT_CHECKPOINT"
            "&output_workspaces=ws%20one&output_workspaces=ws%2B2&from_timestamp=1709251200"
            "&to_timestamp=1710000000&limit=50&offset=100&sort_by=status&order=ASCENDING"));
  CHECK(build(list_runs{.status = {run_status::running},
                        .offset = 0,
                        .sort_by = run_sort_field::start_timestamp,
                        .order = run_sort_order::descending})
            .target ==
        "/v2/apps/runs?status=RUNNING&offset=0&sort_by=start_timestamp&order=DESCENDING");
}

TEST_CASE("runs golden: deleteRun") {
  const std::string base = std::string("/v2/apps/runs/") + run_id_example;
  CHECK(build(delete_run{.run_id = run_id_example}) ==
        http::request{http::method::delete_, base, common_headers(), {}});
  CHECK(build(delete_run{.run_id = run_id_example,
                         .delete_db_data = false,
                         .delete_input = true,
                         .delete_output = false,
                         .delete_logs = true})
            .target ==
        base + "?delete_db_data=false&delete_input=true&delete_output=false&delete_logs=true");
  CHECK(build(delete_run{.run_id = run_id_example, .delete_input = false}).target ==
        base + "?delete_input=false");
}

TEST_CASE("runs golden: getRunResults") {
  const std::string base = std::string("/v2/apps/runs/") + run_id_example + "/results";
  CHECK(build(get_run_results{.run_id = run_id_example}) == get(base));

  // The spec's query-parameter sample sends no IB-Context.
  settings no_context = test_settings();
  no_context.ib_context.reset();
  CHECK(build(get_run_results{.run_id = run_id_example,
                              .include_confidence_scores = true,
                              .include_source_info = true},
              no_context) ==
        http::request{http::method::get,
                      base + "?include_confidence_scores=true&include_source_info=true",
                      {{"Authorization", "Bearer abcdefghijklmnopqrst1234567890"},
                       {"User-Agent", "aihub-cpp/" AIHUB_VERSION_STRING},
                       {"Accept", "application/json"}},
                      {}});

  CHECK(build(get_run_results{.run_id = run_id_example,
                              .include_review_results = true,
                              .include_confidence_scores = false,
                              .include_validation_results = true,
                              .include_source_info = false,
                              .file_offset = 20})
            .target == base +
                           "?include_review_results=true&include_confidence_scores=false"
                           "&include_validation_results=true&include_source_info=false"
                           "&file_offset=20");
  CHECK(build(get_run_results{.run_id = run_id_example, .file_offset = 0}).target ==
        base + "?file_offset=0");
}

TEST_CASE("runs: endpoint traits match the spec") {
  CHECK(run_app::endpoint_info.operation_id == "runApp");
  CHECK(run_app::endpoint_info.verb == http::method::post);
  CHECK(run_app::endpoint_info.success_status == 200);
  CHECK_FALSE(run_app::endpoint_info.idempotent);
  CHECK(run_deployment::endpoint_info.operation_id == "runDeployment");
  CHECK(run_deployment::endpoint_info.success_status == 202);
  CHECK_FALSE(run_deployment::endpoint_info.idempotent);
  CHECK(run_deployment::endpoint_info.path_template == "/v2/apps/deployments/{deployment-id}/runs");
  CHECK(get_run::endpoint_info.operation_id == "getRunStatus");
  CHECK(get_run::endpoint_info.idempotent);
  CHECK(list_runs::endpoint_info.operation_id == "listRuns");
  CHECK(list_runs::endpoint_info.verb == http::method::get);
  CHECK(delete_run::endpoint_info.operation_id == "deleteRun");
  CHECK(delete_run::endpoint_info.verb == http::method::delete_);
  CHECK(delete_run::endpoint_info.success_status == 202);
  CHECK(get_run_results::endpoint_info.operation_id == "getRunResults");
  CHECK(get_run_results::endpoint_info.path_template == "/v2/apps/runs/{run_id}/results");
  static_assert(operation_with_body<run_app> && operation_with_body<run_deployment>);
  static_assert(operation<list_runs> && !operation_with_body<list_runs>);
  static_assert(!operation_with_body<get_run> && !operation_with_body<delete_run> &&
                !operation_with_body<get_run_results>);
}

// ---------------------------------------------------------------------------------------------------
// Validation

TEST_CASE("runs validation: every bad input is refused, naming the field") {
  struct case_t {
    const char* what;
    result<http::request> outcome;
    const char* field;
    const char* rule;  ///< a fragment of the message
  };
  const settings s = test_settings();
  settings service = test_settings();
  service.service_account = true;
  const std::string bad_utf8 = "a\xC3";
  const std::string tags_250(250, 'x');
  const std::string tags_251(251, 'x');
  std::string cjk_167;  // 167 code points, 501 bytes
  for (int i = 0; i < 167; ++i) cjk_167 += "\xE6\x97\xA5";
  std::string cjk_168 = cjk_167 + "\xE6\x97\xA5";  // with 333 more: 501 code points
  const std::string ascii_333(333, 'y');

  auto app = [&](run_settings st) {
    return build_request(run_app{.app_name = "A", .batch_id = 1, .settings = std::move(st)}, s);
  };
  auto deploy = [&](run_deployment op) {
    if (op.deployment_id.empty()) op.deployment_id = "d";
    return build_request(op, s);
  };

  const case_t cases[] = {
      // runApp: the app
      {"no app", build_request(run_app{.batch_id = 1}, s), "app_name", "required unless app_id"},
      {"both app name and id",
       build_request(run_app{.app_name = "A", .app_id = "B", .batch_id = 1}, s), "app_id",
       "together with app_name"},
      {"empty app name", build_request(run_app{.app_name = "", .batch_id = 1}, s), "app_name",
       "must not be empty"},
      {"invalid UTF-8 app name", build_request(run_app{.app_name = bad_utf8, .batch_id = 1}, s),
       "app_name", "UTF-8"},
      {"empty app id", build_request(run_app{.app_id = "", .batch_id = 1}, s), "app_id", "empty"},
      {"empty owner", build_request(run_app{.app_name = "A", .owner = "", .batch_id = 1}, s),
       "owner", "empty"},
      // runApp: the input
      {"no input", build_request(run_app{.app_name = "A"}, s), "batch_id",
       "required unless input_dir"},
      {"batch and dir", build_request(run_app{.app_name = "A", .batch_id = 1, .input_dir = "d"}, s),
       "input_dir", "together with batch_id"},
      {"zero batch id", build_request(run_app{.app_name = "A", .batch_id = 0}, s), "batch_id",
       "positive"},
      {"negative batch id", build_request(run_app{.app_name = "A", .batch_id = -4}, s), "batch_id",
       "positive"},
      {"empty input dir", build_request(run_app{.app_name = "A", .input_dir = ""}, s), "input_dir",
       "empty"},
      {"invalid UTF-8 input dir", build_request(run_app{.app_name = "A", .input_dir = bad_utf8}, s),
       "input_dir", "UTF-8"},
      // runApp: version and output
      {"empty version", build_request(run_app{.app_name = "A", .batch_id = 1, .version = ""}, s),
       "version", "empty"},
      {"empty output workspace",
       build_request(run_app{.app_name = "A", .batch_id = 1, .output_workspace = ""}, s),
       "output_workspace", "empty"},
      {"empty output dir",
       build_request(run_app{.app_name = "A", .batch_id = 1, .output_dir = ""}, s), "output_dir",
       "empty"},
      {"service account without output",
       build_request(run_app{.app_name = "A", .batch_id = 1}, service), "output_workspace",
       "service account"},
      // settings.keys.custom
      {"custom key without name", app({.custom_keys = {{"", raw("1")}}}),
       "settings.keys.custom[0].name", "empty"},
      {"custom key name not UTF-8", app({.custom_keys = {{bad_utf8, raw("1")}}}),
       "settings.keys.custom[0].name", "UTF-8"},
      {"repeated custom key", app({.custom_keys = {{"k", raw("1")}, {"k", raw("2")}}}),
       "settings.keys.custom[1].name", "repeats"},
      {"custom key without value", app({.custom_keys = {{"k", raw("")}}}),
       "settings.keys.custom[0].value", "valid JSON"},
      {"custom value truncated", app({.custom_keys = {{"a", raw("1")}, {"k", raw(R"({"a":)")}}}),
       "settings.keys.custom[1].value", "valid JSON"},
      {"custom value of two values", app({.custom_keys = {{"k", raw("1 2")}}}),
       "settings.keys.custom[0].value", "valid JSON"},
      {"custom value with trailing comma", app({.custom_keys = {{"k", raw("[1,]")}}}),
       "settings.keys.custom[0].value", "valid JSON"},
      {"custom value bare word", app({.custom_keys = {{"k", raw("EU")}}}),
       "settings.keys.custom[0].value", "valid JSON"},
      // settings.keys.secret
      {"secret key without name", app({.secret_keys = {{"", "s"}}}), "settings.keys.secret[0].name",
       "empty"},
      {"repeated secret key", app({.secret_keys = {{"k", "s"}, {"k", "t"}}}),
       "settings.keys.secret[1].name", "repeats"},
      {"secret key without secret", app({.secret_keys = {{"k", ""}}}),
       "settings.keys.secret[0].secret", "empty"},
      {"secret not UTF-8", app({.secret_keys = {{"k", bad_utf8}}}),
       "settings.keys.secret[0].secret", "UTF-8"},
      // settings.runtime_config
      {"PDF password without file", app({.pdf_passwords = {{"", "p"}}}),
       "settings.runtime_config.instabase.pdf.passwords[0].file_name", "empty"},
      {"repeated PDF file", app({.pdf_passwords = {{"a.pdf", "p"}, {"a.pdf", "q"}}}),
       "settings.runtime_config.instabase.pdf.passwords[1].file_name", "repeats"},
      {"PDF password not UTF-8", app({.pdf_passwords = {{"a.pdf", bad_utf8}}}),
       "settings.runtime_config.instabase.pdf.passwords[0].password", "UTF-8"},
      {"runtime extra not an object", app({.runtime_config_extra = raw("[1]")}),
       "settings.runtime_config_extra", "object"},
      {"runtime extra empty", app({.runtime_config_extra = raw("")}),
       "settings.runtime_config_extra", "object"},
      {"runtime extra invalid", app({.runtime_config_extra = raw(R"({"a":1,})")}),
       "settings.runtime_config_extra", "valid JSON"},
      {"runtime extra repeats typed pdf flag",
       app({.generate_post_process_pdf = true,
            .runtime_config_extra = raw(R"({"generate_post_process_pdf":false})")}),
       "settings.runtime_config_extra", "generate_post_process_pdf"},
      {"runtime extra repeats typed passwords",
       app({.pdf_passwords = {{"a.pdf", "p"}}, .runtime_config_extra = raw(R"({"instabase":{}})")}),
       "settings.runtime_config_extra", "instabase"},
      {"runtime extra repeats a member", app({.runtime_config_extra = raw(R"({"x":1,"x":2})")}),
       "settings.runtime_config_extra", "repeats"},
      // settings.tags
      {"empty tag", app({.tags = {"a", ""}}), "settings.tags[1]", "empty"},
      {"tag not UTF-8", app({.tags = {bad_utf8}}), "settings.tags[0]", "UTF-8"},
      {"501 ASCII characters", app({.tags = {tags_250, tags_251}}), "settings.tags",
       "500 characters"},
      {"501 code points", app({.tags = {cjk_168, ascii_333}}), "settings.tags", "(has 501)"},
      // settings.extra
      {"extra not an object", app({.extra = raw(R"("x")")}), "settings.extra", "object"},
      {"extra invalid", app({.extra = raw("{")}), "settings.extra", "valid JSON"},
      {"extra repeats keys",
       app({.custom_keys = {{"k", raw("1")}}, .extra = raw(R"({"keys":{}})")}), "settings.extra",
       "\"keys\""},
      {"extra repeats runtime_config",
       app({.generate_post_process_pdf = true, .extra = raw(R"({"runtime_config":{}})")}),
       "settings.extra", "\"runtime_config\""},
      {"extra repeats tags", app({.tags = {"t"}, .extra = raw(R"({"tags":[]})")}), "settings.extra",
       "\"tags\""},
      {"extra sets keys the typed fields own", app({.extra = raw(R"({"keys":{"custom":{}}})")}),
       "settings.extra", "\"keys\""},
      {"extra sets unchecked tags", app({.extra = raw(R"({"tags":["x"]})")}), "settings.extra",
       "\"tags\""},
      {"extra sets runtime_config", app({.extra = raw(R"({"runtime_config":{}})")}),
       "settings.extra", "\"runtime_config\""},
      {"runtime extra sets the pdf flag",
       app({.runtime_config_extra = raw(R"({"generate_post_process_pdf":true})")}),
       "settings.runtime_config_extra", "generate_post_process_pdf"},
      {"extra repeats a member", app({.extra = raw(R"({"a":1,"b":2,"a":3})")}), "settings.extra",
       "repeats"},
      // runDeployment
      {"no deployment id", build_request(run_deployment{.batch_id = 1}, s), "deployment_id",
       "empty"},
      {"deployment id with newline",
       build_request(run_deployment{.deployment_id = "d\n", .batch_id = 1}, s), "deployment_id",
       "control"},
      {"deployment without input", deploy({}), "batch_id", "manual_upstream_integration"},
      {"deployment batch and manual", deploy({.batch_id = 1, .manual_upstream_integration = true}),
       "batch_id", "exactly one"},
      {"deployment dir and manual", deploy({.input_dir = "d", .manual_upstream_integration = true}),
       "input_dir", "exactly one"},
      {"deployment batch and dir", deploy({.batch_id = 1, .input_dir = "d"}), "batch_id",
       "exactly one"},
      {"deployment zero batch", deploy({.batch_id = 0}), "batch_id", "positive"},
      {"deployment empty dir", deploy({.input_dir = ""}), "input_dir", "empty"},
      {"window without upstream", deploy({.batch_id = 1, .from_timestamp = 1709251200000}),
       "from_timestamp", "manual_upstream_integration"},
      {"to without upstream", deploy({.batch_id = 1, .to_timestamp = 1709251200000}),
       "to_timestamp", "manual_upstream_integration"},
      {"window in seconds",
       deploy({.manual_upstream_integration = true, .from_timestamp = 1709251200}),
       "from_timestamp", "milliseconds"},
      {"window end in seconds",
       deploy({.manual_upstream_integration = true, .to_timestamp = 1710000000}), "to_timestamp",
       "milliseconds"},
      {"window reversed",
       deploy({.manual_upstream_integration = true,
               .from_timestamp = 1710000000001,
               .to_timestamp = 1710000000000}),
       "from_timestamp", "after to_timestamp"},
      {"deployment empty version", deploy({.batch_id = 1, .version = ""}), "version", "empty"},
      {"deployment empty output", deploy({.batch_id = 1, .output_dir = ""}), "output_dir", "empty"},
      {"deployment settings", deploy({.batch_id = 1, .settings = {.tags = {""}}}),
       "settings.tags[0]", "empty"},
      // getRunStatus, deleteRun, getRunResults
      {"get without run id", build_request(get_run{}, s), "run_id", "empty"},
      {"run id with CR", build_request(get_run{.run_id = "r\r"}, s), "run_id", "control"},
      {"delete without run id", build_request(delete_run{.delete_logs = false}, s), "run_id",
       "empty"},
      {"results without run id", build_request(get_run_results{}, s), "run_id", "empty"},
      {"results run id with NUL",
       build_request(get_run_results{.run_id = std::string("r\0", 2)}, s), "run_id", "control"},
      {"negative file offset", build_request(get_run_results{.run_id = "r", .file_offset = -1}, s),
       "file_offset", "negative"},
      // listRuns
      {"empty app id filter", build_request(list_runs{.app_id = ""}, s), "app_id", "empty"},
      {"empty app name filter", build_request(list_runs{.app_name = ""}, s), "app_name", "empty"},
      {"empty deployment filter", build_request(list_runs{.deployment_id = ""}, s), "deployment_id",
       "empty"},
      {"empty username filter", build_request(list_runs{.username = ""}, s), "username", "empty"},
      {"empty run id filter", build_request(list_runs{.run_id = ""}, s), "run_id", "empty"},
      {"unknown status filter",
       build_request(list_runs{.status = {run_status::failed, run_status::unknown}}, s),
       "status[1]", "known run status"},
      {"empty workspace filter", build_request(list_runs{.output_workspaces = {"a", ""}}, s),
       "output_workspaces[1]", "empty"},
      {"negative from", build_request(list_runs{.from_timestamp = -1}, s), "from_timestamp",
       "negative"},
      {"negative to", build_request(list_runs{.to_timestamp = -1}, s), "to_timestamp", "negative"},
      {"from in milliseconds", build_request(list_runs{.from_timestamp = 1709251200000}, s),
       "from_timestamp", "seconds"},
      {"to in nanoseconds", build_request(list_runs{.to_timestamp = 1710000000123456789}, s),
       "to_timestamp", "seconds"},
      {"reversed window",
       build_request(list_runs{.from_timestamp = 1710000001, .to_timestamp = 1710000000}, s),
       "from_timestamp", "after to_timestamp"},
      {"zero limit", build_request(list_runs{.limit = 0}, s), "limit", "positive"},
      {"negative limit", build_request(list_runs{.limit = -10}, s), "limit", "positive"},
      {"negative offset", build_request(list_runs{.offset = -1}, s), "offset", "negative"},
      {"sort_by out of range",
       build_request(list_runs{.sort_by = static_cast<run_sort_field>(7)}, s), "sort_by",
       "start_timestamp or status"},
      {"order out of range", build_request(list_runs{.order = static_cast<run_sort_order>(9)}, s),
       "order", "ASCENDING or DESCENDING"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    REQUIRE_FALSE(c.outcome.has_value());
    CHECK(c.outcome.error().kind == error_kind::validation);
    CHECK(c.outcome.error().field == c.field);
    CHECK(c.outcome.error().message.rfind(std::string(c.field) + ": ", 0) == 0);
    CHECK_MESSAGE(c.outcome.error().message.find(c.rule) != std::string::npos,
                  c.outcome.error().message);
  }
}

TEST_CASE("runs validation: inputs at the limits are accepted") {
  const settings s = test_settings();
  settings service = test_settings();
  service.service_account = true;
  std::string cjk_500;  // 500 code points, 1500 bytes: the limit counts characters, not bytes
  for (int i = 0; i < 500; ++i) cjk_500 += "\xE6\x97\xA5";
  const std::string tags_250(250, 'x');

  CHECK(build_request(run_app{.app_name = "A", .batch_id = 1, .settings = {.tags = {cjk_500}}}, s)
            .has_value());
  // Separators are not counted: two tags of 250 are 500 characters, not 501.
  CHECK(build_request(
            run_app{.app_name = "A", .batch_id = 1, .settings = {.tags = {tags_250, tags_250}}}, s)
            .has_value());
  CHECK(build_request(run_app{.app_name = "A", .batch_id = 1, .output_dir = "o"}, service)
            .has_value());
  CHECK(build_request(run_app{.app_name = "A", .batch_id = 1, .output_workspace = "w"}, service)
            .has_value());
  CHECK(build_request(run_app{.app_id = "id", .input_dir = "d"}, s).has_value());
  CHECK(build_request(run_deployment{.deployment_id = "d", .batch_id = 1}, service).has_value());
  CHECK(build_request(run_deployment{.deployment_id = "d",
                                     .manual_upstream_integration = true,
                                     .from_timestamp = run_deployment::min_epoch_ms,
                                     .to_timestamp = run_deployment::min_epoch_ms},
                      s)
            .has_value());
  CHECK(build_request(run_deployment{.deployment_id = "d", .manual_upstream_integration = true}, s)
            .has_value());
  CHECK(build_request(list_runs{.from_timestamp = 0,
                                .to_timestamp = list_runs::max_epoch_seconds,
                                .limit = 1,
                                .offset = 0},
                      s)
            .has_value());
  CHECK(build_request(list_runs{.from_timestamp = 5, .to_timestamp = 5}, s).has_value());
  CHECK(build_request(get_run_results{.run_id = "r", .file_offset = 0}, s).has_value());
  // Extras may add what the spec does not name, and "instabase" while no PDF password is set.
  CHECK(build_request(run_app{.app_name = "A",
                              .batch_id = 1,
                              .settings = {.runtime_config_extra = raw(R"({"instabase":{"o":1}})"),
                                           .extra = raw(R"({"keys2":{},"priority":1})")}},
                      s)
            .has_value());
  CHECK(build_request(run_app{.app_name = "A",
                              .batch_id = 1,
                              .settings = {.custom_keys = {{"k", raw(" \"v\" ")}},
                                           .pdf_passwords = {{"a.pdf", ""}}}},
                      s)
            .has_value());
}

TEST_CASE("runs validation: settings are checked before headers are built") {
  settings bad = test_settings();
  bad.token.clear();
  auto r = build_request(run_app{.app_name = "A", .batch_id = 1}, bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "token");
}

// ---------------------------------------------------------------------------------------------------
// Status

TEST_CASE("runs: run_status names, terminal states and review") {
  struct case_t {
    const char* text;
    run_status status;
    bool terminal;
    bool review;
  };
  const case_t cases[] = {
      {"CANCELLED", run_status::cancelled, true, false},
      {"COMPLETE", run_status::complete, true, false},
      {"FAILED", run_status::failed, true, false},
      {"PAUSED", run_status::paused, false, false},
      {"RUNNING", run_status::running, false, false},
      {"STOPPED_AT_CHECKPOINT", run_status::stopped_at_checkpoint, true, true},
      {"SOMETHING_NEW", run_status::unknown, false, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    run_status parsed = run_status::complete;
    CHECK(from_string(c.text, parsed));
    CHECK(parsed == c.status);
    if (c.status != run_status::unknown) CHECK(to_string(c.status) == c.text);
    CHECK(is_terminal(c.status) == c.terminal);
    CHECK(needs_review(c.status) == c.review);
    run r = decoded(get_run{.run_id = "r"}, 200,
                    std::string(R"({"id":"r","status":")") + c.text + R"("})");
    CHECK(r.status == c.status);
    CHECK(r.is_terminal() == c.terminal);
    CHECK(r.needs_review() == c.review);
  }
  CHECK(to_string(run_status::unknown) == "UNKNOWN");
  run_status lower = run_status::complete;
  CHECK(from_string("complete", lower));  // names are case-sensitive
  CHECK(lower == run_status::unknown);
}

// ---------------------------------------------------------------------------------------------------
// Decoders: runs

TEST_CASE("runs decode: a run with every field, timestamps to the nanosecond") {
  const char* body = R"({
    "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "status": "COMPLETE",
    "start_timestamp": 1710000000123456789,
    "finish_timestamp": 1710000012987654321,
    "msg": "Run completed successfully",
    "batch_id": 12345,
    "input_dir": "acme/ws/fs/Instabase Drive/in",
    "app_id": "528c36e8-ac5b-490d-a41b-7eec9c404b87",
    "deployment_id": "12345678-abcde-1234-abcd-123456789012",
    "tags": ["q3", "invoices"],
    "a_future_field": {"nested": [1, 2.5, null]}
  })";
  const run expected{.id = "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
                     .status = run_status::complete,
                     .start_timestamp = 1710000000123456789,
                     .finish_timestamp = 1710000012987654321,
                     .msg = "Run completed successfully",
                     .batch_id = json::flex_int{12345},
                     .input_dir = "acme/ws/fs/Instabase Drive/in",
                     .app_id = "528c36e8-ac5b-490d-a41b-7eec9c404b87",
                     .deployment_id = "12345678-abcde-1234-abcd-123456789012",
                     .tags = std::vector<std::string>{"q3", "invoices"}};
  CHECK(decoded(run_app{.app_name = "A", .batch_id = 1}, 200, body) == expected);
  CHECK(decoded(get_run{.run_id = "r"}, 200, body) == expected);
  const run r = decoded(run_deployment{.deployment_id = "d", .batch_id = 1}, 202, body);
  CHECK(r == expected);
  // Exact to the last digit: a double would give ...456768.
  CHECK(r.start_timestamp == 1710000000123456789);
  CHECK(r.start_timestamp != static_cast<std::int64_t>(1710000000123456789.0));
  CHECK(*r.finish_timestamp == 1710000012987654321);
  CHECK(r.started_at().time_since_epoch().count() == 1710000000123456789);
  REQUIRE(r.finished_at());
  CHECK(r.finished_at()->time_since_epoch().count() == 1710000012987654321);
  CHECK(r.batch_id->value == 12345);
}

TEST_CASE("runs decode: nullable run fields accept null, and batch_id a numeric string") {
  const run r = decoded(get_run{.run_id = "r"}, 200, R"({
    "id": "r-1", "status": "RUNNING", "start_timestamp": 9223372036854775807,
    "finish_timestamp": null, "msg": null, "batch_id": null, "input_dir": null,
    "app_id": null, "deployment_id": null, "tags": null})");
  CHECK(r == run{.id = "r-1",
                 .status = run_status::running,
                 .start_timestamp = std::numeric_limits<std::int64_t>::max()});
  CHECK_FALSE(r.finished_at().has_value());

  const run minimal = decoded(get_run{.run_id = "r"}, 200, R"({"status":"PAUSED","id":"r-2"})");
  CHECK(minimal == run{.id = "r-2", .status = run_status::paused});

  const run text_batch =
      decoded(get_run{.run_id = "r"}, 200, R"({"id":"r","status":"RUNNING","batch_id":"42"})");
  REQUIRE(text_batch.batch_id);
  CHECK(text_batch.batch_id->value == 42);
}

TEST_CASE("runs decode: listRuns and deleteRun") {
  const run_list list = decoded(list_runs{}, 200, R"({"runs":[
    {"id":"r1","status":"COMPLETE","start_timestamp":1710000000000000001,
     "finish_timestamp":1710000000000000003,"msg":null,"batch_id":7,"input_dir":null,
     "app_id":"app","deployment_id":null,"tags":[]},
    {"id":"r2","status":"STOPPED_AT_CHECKPOINT","start_timestamp":1710000000000000005,
     "deployment_id":"dep","tags":["x"]}]})");
  REQUIRE(list.runs.size() == 2);
  CHECK(list.runs[0] == run{.id = "r1",
                            .status = run_status::complete,
                            .start_timestamp = 1710000000000000001,
                            .finish_timestamp = 1710000000000000003,
                            .batch_id = json::flex_int{7},
                            .app_id = "app",
                            .tags = std::vector<std::string>{}});
  CHECK(list.runs[1].needs_review());
  CHECK(list.runs[1].deployment_id == "dep");
  CHECK(decoded(list_runs{}, 200, R"({"runs":[]})").runs.empty());
  CHECK(decoded(list_runs{}, 200, "{}").runs.empty());

  const run_deletion all = decoded(delete_run{.run_id = "r"}, 202,
                                   R"({"delete_input_dir_job_id":"j-in",
                                       "delete_output_dir_job_id":"j-out",
                                       "delete_log_dir_job_id":"j-log"})");
  CHECK(all == run_deletion{"j-in", "j-out", "j-log"});
  CHECK(all.job_ids() == std::vector<std::string>{"j-in", "j-out", "j-log"});

  const run_deletion some = decoded(delete_run{.run_id = "r"}, 202,
                                    R"({"delete_input_dir_job_id":null,
                                        "delete_output_dir_job_id":"j-out",
                                        "delete_log_dir_job_id":""})");
  CHECK_FALSE(some.delete_input_dir_job_id.has_value());
  CHECK(some.job_ids() == std::vector<std::string>{"j-out"});
  CHECK(decoded(delete_run{.run_id = "r"}, 202, "{}").job_ids().empty());
}

// ---------------------------------------------------------------------------------------------------
// Decoders: results

namespace {

// The spec's first getRunResults example (x-fern-examples), as JSON.
const char* spec_results_example_1 = R"({
  "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
  "status": "COMPLETE",
  "message": "Completed single_flow",
  "start_timestamp": 1765912514238248673,
  "finish_timestamp": 1765912529614833939,
  "batch_id": "1235",
  "files": [
    {"original_file_name": "test.png",
     "input_file_path": "instabase-sandbox-org/test-org/fs/Instabase Drive/app-runs/a1b2c3d4-e5f6-7890-abcd-ef1234567890/input/test.png",
     "documents": [
       {"class_name": "Wage And Tax Statement",
        "page_numbers": [1, 2],
        "fields": [{"value": "123 STREET RD ANYWHERE, USA,12345", "type": "TEXT",
                    "field_name": "employers_address_and_ZIP_code"}]}]},
    {"original_file_name": "test2.png",
     "input_file_path": "instabase-sandbox-org/test-org/fs/Instabase Drive/app-runs/a1b2c3d4-e5f6-7890-abcd-ef1234567890/input/test2.png",
     "documents": [
       {"class_name": "Driver License",
        "page_numbers": [1],
        "fields": [{"value": "Male", "type": "TEXT", "field_name": "sex"}]}]}
  ],
  "keys": [{"custom":{}}],
  "case_info": {
    "fields": [
      {"name": "Employee_Address",
       "value": "123 STREET RD ANYWHERE, USA,12345",
       "input_fields": [{"record_index": 0, "refined_phrase_name": "employers_address_and_ZIP_code"}],
       "chosen_field": {"record_index": 0, "refined_phrase_name": "employers_address_and_ZIP_code"},
       "edit_history": [
         {"timestamp": "08/27/2025 00:58:39",
          "user_id": "john.doe_instabase.com",
          "modifications": [{"message": "Edited to \"123 STREET RD ANYWHERE, USA,12345\""}]}]},
      {"name": "Sex",
       "value": "Male",
       "input_fields": [{"record_index": 0, "refined_phrase_name": "sex"}],
       "chosen_field": {"record_index": 0, "refined_phrase_name": "sex"}}
    ]
  },
  "has_more": false
})";

// The spec's second getRunResults example (confidence scores and source info).
const char* spec_results_example_2 = R"({
  "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
  "status": "COMPLETE",
  "message": "Completed single_flow",
  "start_timestamp": 1765912514238248673,
  "finish_timestamp": 1765912529614833939,
  "batch_id": "9706",
  "files": [
    {"original_file_name": "test.png",
     "documents": [
       {"class_name": "Wage And Tax Statement",
        "page_layouts": [{"page_number": 0, "width": 1012.0, "height": 639.0}],
        "fields": [
          {"value": "123 STREET RD ANYWHERE, USA,12345",
           "type": "TEXT",
           "confidence": {"model": 0.5900550516, "ocr": 0.6900550516},
           "source_coordinates": [
             {"top_x": 36.0, "top_y": 181.0, "bottom_x": 84.0, "bottom_y": 212.0, "page_number": 0},
             {"top_x": 90.0, "top_y": 182.0, "bottom_x": 198.0, "bottom_y": 211.0, "page_number": 0}],
           "field_name": "employers_address_and_ZIP_code"}],
        "post_processed_paths": ["instabase-org/orguser/fs/S3 Drive/app-runs/dd97-42cb-8b8e-28a63066887e/4180-8508-b103afb67185/s1_process_files/images/test.png.PNG"]}]},
    {"original_file_name": "test2.png",
     "documents": [
       {"class_name": "Driver License",
        "page_layouts": [{"page_number": 0, "width": 1012.0, "height": 639.0}],
        "fields": [
          {"value": "Male", "type": "TEXT", "confidence": {"model": 0.6915, "ocr": 0.7915},
           "source_coordinates": [], "field_name": "sex"}],
        "post_processed_paths": ["instabase-org/orguser/fs/S3 Drive/app-runs/dd97-42cb-8b8e-28a63066887e/4180-8508-b103afb67185/s1_process_files/images/test2.png.PNG"]}]}
  ],
  "case_info": {
    "fields": [
      {"name": "Employee_Address",
       "value": "123 STREET RD ANYWHERE, USA,12345",
       "input_fields": [{"record_index": 0, "refined_phrase_name": "employers_address_and_ZIP_code"}],
       "chosen_field": {"record_index": 0, "refined_phrase_name": "employers_address_and_ZIP_code"},
       "edit_history": [
         {"timestamp": "08/27/2025 00:58:39",
          "user_id": "john.doe_instabase.com",
          "modifications": [{"message": "Edited to \"123 STREET RD ANYWHERE, USA,12345\""}]}]},
      {"name": "Sex",
       "value": "Male",
       "input_fields": [{"record_index": 0, "refined_phrase_name": "sex"}],
       "chosen_field": {"record_index": 0, "refined_phrase_name": "sex"}}
    ]
  },
  "review_completed": false,
  "has_more": false
})";

run_case_info spec_case_info() {
  const std::string address = "123 STREET RD ANYWHERE, USA,12345";
  return run_case_info{
      .fields = {case_field{.name = "Employee_Address",
                            .value = raw("\"" + address + "\""),
                            .input_fields = {{0, "employers_address_and_ZIP_code"}},
                            .chosen_field = case_input_field{0, "employers_address_and_ZIP_code"},
                            .edit_history = {edit_event{
                                .timestamp = "08/27/2025 00:58:39",
                                .user_id = "john.doe_instabase.com",
                                .modifications = {modification{"Edited to \"" + address + "\""}}}}},
                 case_field{.name = "Sex",
                            .value = raw(R"("Male")"),
                            .input_fields = {{0, "sex"}},
                            .chosen_field = case_input_field{0, "sex"}}}};
}

}  // namespace

TEST_CASE("runs decode: getRunResults on the spec's first example") {
  const std::string input_root =
      "instabase-sandbox-org/test-org/fs/Instabase Drive/app-runs/"
      "a1b2c3d4-e5f6-7890-abcd-ef1234567890/input/";
  const run_results expected{
      .id = "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
      .status = run_status::complete,
      .message = "Completed single_flow",
      .start_timestamp = 1765912514238248673,
      .finish_timestamp = 1765912529614833939,
      .batch_id = json::flex_string{"1235"},
      .files = {result_file{.original_file_name = "test.png",
                            .input_file_path = input_root + "test.png",
                            .documents = {result_document{
                                .fields = {document_field{
                                    .field_name = "employers_address_and_ZIP_code",
                                    .value = raw(R"("123 STREET RD ANYWHERE, USA,12345")"),
                                    .type = "TEXT"}},
                                .class_name = "Wage And Tax Statement",
                                .page_numbers = {1, 2}}}},
                result_file{
                    .original_file_name = "test2.png",
                    .input_file_path = input_root + "test2.png",
                    .documents = {result_document{
                        .fields = {document_field{
                            .field_name = "sex", .value = raw(R"("Male")"), .type = "TEXT"}},
                        .class_name = "Driver License",
                        .page_numbers = {1}}}}},
      .keys = raw(R"([{"custom":{}}])"),
      .case_info = spec_case_info(),
      .has_more = false};
  const run_results got =
      decoded(get_run_results{.run_id = run_id_example}, 200, spec_results_example_1);
  CHECK(got == expected);
  CHECK(got.start_timestamp == 1765912514238248673);
  CHECK(got.batch_id_number() == 1235);
  CHECK(got.files[1].documents[0].fields[0].value_text() == "Male");
  CHECK(got.case_info->fields[0].value_text() == "123 STREET RD ANYWHERE, USA,12345");
  const result_document& w2 = got.files[0].documents[0];
  REQUIRE(w2.find("employers_address_and_ZIP_code") != nullptr);
  CHECK(w2.find("employers_address_and_ZIP_code")->type == "TEXT");
  CHECK(w2.find("nope") == nullptr);
  auto keys = got.custom_keys();  // the example's array form, with an empty custom object
  REQUIRE(keys);
  CHECK(keys->empty());
}

TEST_CASE("runs decode: getRunResults on the spec's second example") {
  const run_results got = decoded(
      get_run_results{
          .run_id = run_id_example, .include_confidence_scores = true, .include_source_info = true},
      200, spec_results_example_2);
  CHECK(got.batch_id == json::flex_string{"9706"});
  CHECK(got.review_completed == false);
  CHECK_FALSE(got.keys.has_value());
  REQUIRE(got.files.size() == 2);
  CHECK_FALSE(got.files[0].input_file_path.has_value());
  const result_document& d = got.files[0].documents[0];
  CHECK(d.page_layouts == std::vector<page_layout>{{0, 1012.0, 639.0}});
  CHECK(d.post_processed_paths ==
        std::vector<std::string>{
            "instabase-org/orguser/fs/S3 Drive/app-runs/dd97-42cb-8b8e-28a63066887e/"
            "4180-8508-b103afb67185/s1_process_files/images/test.png.PNG"});
  REQUIRE(d.fields.size() == 1);
  CHECK(d.fields[0].confidence == field_confidence{0.5900550516, 0.6900550516});
  CHECK(d.fields[0].source_coordinates ==
        std::vector<field_source_coordinates>{{36.0, 181.0, 84.0, 212.0, 0},
                                              {90.0, 182.0, 198.0, 211.0, 0}});
  const document_field& sex = got.files[1].documents[0].fields[0];
  CHECK(sex.source_coordinates.empty());
  CHECK(sex.confidence == field_confidence{0.6915, 0.7915});
  CHECK(got.case_info == spec_case_info());
  CHECK_FALSE(got.has_more);
}

TEST_CASE("runs decode: results with every field, nulls and any-JSON values") {
  const char* body = R"({
    "id": "r-9", "status": "STOPPED_AT_CHECKPOINT", "message": null,
    "start_timestamp": 1710000000123456789, "finish_timestamp": null,
    "batch_id": 77,
    "files": [{
      "original_file_name": "inv.pdf",
      "input_file_path": null,
      "documents": [{
        "fields": [
          {"field_name": "total", "value": 12.5, "type": "NUMBER", "error_msg": null,
           "source_coordinates": [{"top_x": 1.5, "top_y": 2, "bottom_x": 3.25, "bottom_y": 4,
                                   "page_number": 1}],
           "edit_history": [{"timestamp": "t", "user_id": "u",
                             "modifications": [{"message": null}, {"message": "m"}]}],
           "confidence": {"model": null, "ocr": 0.5},
           "validations": {"valid": false, "alerts": [
             {"alert_level": "FAILURE", "msg": "too big", "blocked": true, "type": "range",
              "locations": [{"page":1},{}]}]}},
          {"field_name": "lines", "value": [{"sku":"A","qty":2}], "type": "TABLE",
           "error_msg": "partial"},
          {"field_name": "missing", "value": null},
          {"field_name": "absent"},
          {"field_name": "escaped", "value": "tab\there \u00e9"}
        ],
        "review_completed": true,
        "class_name": null,
        "page_numbers": [0, 1],
        "page_layouts": [{"page_number": 1, "width": 612, "height": 792.5}],
        "post_processed_paths": [],
        "post_processed_pdf_path": "out/inv.pdf",
        "class_edit_history": [{"timestamp": "t2", "user_id": "u2"}],
        "validations": {"final_result_pass": false},
        "classification_confidence": {"model": 0.25}
      }]
    }],
    "keys": {"custom": {"region": "EU", "threshold": 0.8, "nested": {"a": [1]}}},
    "case_info": {"fields": [
      {"name": "c", "value": null, "input_fields": [], "chosen_field": null,
       "error_msg": "no input", "edit_history": [],
       "validations": {"valid": false, "failures": [{"type": "lambda_code", "msg": "bad"}]}},
      {"name": "d", "value": 3, "validations": {"valid": true}}
    ]},
    "review_completed": true,
    "has_more": true
  })";
  const run_results r = decoded(get_run_results{.run_id = "r-9"}, 200, body);
  CHECK(r.status == run_status::stopped_at_checkpoint);
  CHECK_FALSE(r.message.has_value());
  CHECK(r.start_timestamp == 1710000000123456789);
  CHECK_FALSE(r.finish_timestamp.has_value());
  CHECK(r.batch_id == json::flex_string{"77"});  // a number where the spec says string
  CHECK(r.batch_id_number() == 77);
  CHECK(r.review_completed == true);
  CHECK(r.has_more);

  REQUIRE(r.files.size() == 1);
  CHECK(r.files[0].original_file_name == "inv.pdf");
  CHECK_FALSE(r.files[0].input_file_path.has_value());
  REQUIRE(r.files[0].documents.size() == 1);
  const result_document& d = r.files[0].documents[0];
  CHECK(d.review_completed == true);
  CHECK_FALSE(d.class_name.has_value());
  CHECK(d.page_numbers == std::vector<std::int64_t>{0, 1});
  CHECK(d.page_layouts == std::vector<page_layout>{{1, 612.0, 792.5}});
  CHECK(d.post_processed_paths.empty());
  CHECK(d.post_processed_pdf_path == "out/inv.pdf");
  CHECK(d.class_edit_history == std::vector<edit_event>{{"t2", "u2", {}}});
  CHECK(d.validations == document_validations{false});
  CHECK(d.classification_confidence == class_confidence{0.25});

  REQUIRE(d.fields.size() == 5);
  const document_field& total = d.fields[0];
  CHECK(total ==
        document_field{
            .field_name = "total",
            .value = raw("12.5"),
            .type = "NUMBER",
            .source_coordinates = {{1.5, 2.0, 3.25, 4.0, 1}},
            .edit_history = {{"t", "u", {{std::nullopt}, {"m"}}}},
            .confidence = field_confidence{std::nullopt, 0.5},
            .validations = field_validations{
                false,
                {validation_alert{
                    "FAILURE", "too big", true, "range", {raw(R"({"page":1})"), raw("{}")}}}}});
  CHECK_FALSE(total.value_text().has_value());  // a number, not a string
  CHECK(d.fields[1].value == raw(R"([{"sku":"A","qty":2}])"));
  CHECK(d.fields[1].error_msg == "partial");
  CHECK_FALSE(d.fields[2].value.has_value());
  CHECK_FALSE(d.fields[3].value.has_value());
  CHECK_FALSE(d.fields[3].value_text().has_value());
  CHECK(d.fields[4].value_text() == "tab\there \xC3\xA9");

  REQUIRE(r.case_info);
  REQUIRE(r.case_info->fields.size() == 2);
  CHECK(r.case_info->fields[0] ==
        case_field{.name = "c",
                   .error_msg = "no input",
                   .validations = case_validations{false, {{"lambda_code", "bad"}}}});
  CHECK(r.case_info->fields[1].value == raw("3"));
  CHECK(r.case_info->fields[1].validations == case_validations{true, {}});

  auto keys = r.custom_keys();  // the schema's object form
  REQUIRE(keys);
  CHECK(*keys == std::vector<custom_key>{{"region", raw(R"("EU")")},
                                         {"threshold", raw("0.8")},
                                         {"nested", raw(R"({"a": [1]})")}});
}

TEST_CASE("runs decode: custom_keys reads both shapes of keys and names a bad one") {
  auto with_keys = [](std::string keys) {
    run_results r;
    r.keys = raw(std::move(keys));
    return r.custom_keys();
  };
  auto list = with_keys(R"([{"custom":{"a":1}},{"custom":{"b":"x"}},{"other":2}])");
  REQUIRE(list);
  CHECK(*list == std::vector<custom_key>{{"a", raw("1")}, {"b", raw(R"("x")")}});
  auto null_custom = with_keys(R"({"custom":null})");
  REQUIRE(null_custom);
  CHECK(null_custom->empty());
  CHECK(run_results{}.custom_keys()->empty());

  auto not_object = with_keys(R"([{"custom":{}}, 5])");
  REQUIRE_FALSE(not_object);
  CHECK(not_object.error().kind == error_kind::decode);
  CHECK(not_object.error().field == "keys[1]");
  auto custom_not_object = with_keys(R"({"custom":[1]})");
  REQUIRE_FALSE(custom_not_object);
  CHECK(custom_not_object.error().field == "keys.custom");
  auto scalar = with_keys("7");
  REQUIRE_FALSE(scalar);
  CHECK(scalar.error().field == "keys");
}

TEST_CASE("runs decode: batch_id_number and value_text on odd values") {
  run_results r;
  CHECK_FALSE(r.batch_id_number().has_value());
  r.batch_id = json::flex_string{"batch-7"};
  CHECK_FALSE(r.batch_id_number().has_value());
  r.batch_id = json::flex_string{"12a"};
  CHECK_FALSE(r.batch_id_number().has_value());
  r.batch_id = json::flex_string{"9223372036854775807"};
  CHECK(r.batch_id_number() == std::numeric_limits<std::int64_t>::max());

  document_field f;
  CHECK_FALSE(f.value_text().has_value());
  f.value = raw(R"("a\"b")");
  CHECK(f.value_text() == "a\"b");
  f.value = raw("true");
  CHECK_FALSE(f.value_text().has_value());
}

TEST_CASE("runs: get_run_results::next_page follows file_offset") {
  get_run_results first{.run_id = "r", .include_source_info = true};
  run_results page;
  page.files.resize(3);
  page.has_more = true;
  auto second = first.next_page(page);
  REQUIRE(second);
  REQUIRE(second->has_value());
  CHECK((*second)->file_offset == 3);
  CHECK((*second)->include_source_info == true);
  CHECK((*second)->run_id == "r");
  auto third = (*second)->next_page(page);
  REQUIRE(third);
  REQUIRE(third->has_value());
  CHECK((*third)->file_offset == 6);

  page.has_more = false;
  auto done = first.next_page(page);
  REQUIRE(done);
  CHECK_FALSE(done->has_value());

  run_results stuck;
  stuck.has_more = true;
  auto loop = first.next_page(stuck);
  REQUIRE_FALSE(loop);
  CHECK(loop.error().kind == error_kind::protocol);
}

// ---------------------------------------------------------------------------------------------------
// Decoders: failures

TEST_CASE("runs decode: malformed, truncated and wrongly typed bodies name the field") {
  struct case_t {
    const char* what;
    const char* body;
    const char* field;
  };
  const case_t run_cases[] = {
      {"empty body", "", ""},
      {"truncated", R"({"id":"r","status":"COMP)", "status"},
      {"truncated after a member", R"({"id":"r","status":"COMPLETE")", ""},
      {"trailing comma", R"({"id":"r","status":"COMPLETE",})", ""},
      {"not an object", R"(["r"])", ""},
      {"trailing data", R"({"id":"r","status":"COMPLETE"} {})", ""},
      {"missing id", R"({"status":"COMPLETE"})", "id"},
      {"missing status", R"({"id":"r"})", "status"},
      {"empty id", R"({"id":"","status":"COMPLETE"})", "id"},
      {"id as number", R"({"id":5,"status":"COMPLETE"})", "id"},
      {"status as number", R"({"id":"r","status":3})", "status"},
      {"status null", R"({"id":"r","status":null})", "status"},
      {"timestamp as fraction", R"({"id":"r","status":"RUNNING","start_timestamp":1.5})",
       "start_timestamp"},
      {"timestamp in exponent form", R"({"id":"r","status":"RUNNING","start_timestamp":1.71e18})",
       "start_timestamp"},
      {"timestamp as string",
       R"({"id":"r","status":"RUNNING","start_timestamp":"1710000000123456789"})",
       "start_timestamp"},
      {"timestamp above int64",
       R"({"id":"r","status":"RUNNING","start_timestamp":9223372036854775808})", "start_timestamp"},
      {"finish timestamp overflow",
       R"({"id":"r","status":"RUNNING","finish_timestamp":-9223372036854775809})",
       "finish_timestamp"},
      {"batch id not a number", R"({"id":"r","status":"RUNNING","batch_id":"abc"})", "batch_id"},
      {"batch id fraction", R"({"id":"r","status":"RUNNING","batch_id":1.5})", "batch_id"},
      {"msg as object", R"({"id":"r","status":"RUNNING","msg":{}})", "msg"},
      {"tags not a list", R"({"id":"r","status":"RUNNING","tags":"a,b"})", "tags"},
      {"tag not a string", R"({"id":"r","status":"RUNNING","tags":["a",1]})", "tags[1]"},
  };
  for (const auto& c : run_cases) {
    CAPTURE(c.what);
    const error e = decode_failure(get_run{.run_id = "r"}, 200, c.body);
    CHECK(e.kind == error_kind::decode);
    CHECK(e.operation == "getRunStatus");
    CHECK(e.field == c.field);
  }

  const case_t results_cases[] = {
      {"missing id", R"({"status":"COMPLETE"})", "id"},
      {"empty id", R"({"id":"","status":"COMPLETE"})", "id"},
      {"batch id as object", R"({"id":"r","status":"COMPLETE","batch_id":{}})", "batch_id"},
      {"files not a list", R"({"id":"r","status":"COMPLETE","files":{}})", "files"},
      {"has_more as string", R"({"id":"r","status":"COMPLETE","has_more":"no"})", "has_more"},
      {"file name as number",
       R"({"id":"r","status":"COMPLETE","files":[{"original_file_name":1}]})",
       "files[0].original_file_name"},
      {"confidence as string",
       R"({"id":"r","status":"COMPLETE","files":[{"documents":[{"fields":[{"field_name":"a"},
          {"field_name":"b","confidence":{"model":"high"}}]}]}]})",
       "files[0].documents[0].fields[1].confidence.model"},
      {"coordinate as string",
       R"({"id":"r","status":"COMPLETE","files":[{},{"documents":[{"fields":[
          {"source_coordinates":[{"top_x":"1"}]}]}]}]})",
       "files[1].documents[0].fields[0].source_coordinates[0].top_x"},
      {"page layout without width",
       R"({"id":"r","status":"COMPLETE","files":[{"documents":[{"page_layouts":[
          {"page_number":0,"height":1}]}]}]})",
       "files[0].documents[0].page_layouts[0].width"},
      {"page number fraction",
       R"({"id":"r","status":"COMPLETE","files":[{"documents":[{"page_numbers":[1,2.5]}]}]})",
       "files[0].documents[0].page_numbers[1]"},
      {"edit without user",
       R"({"id":"r","status":"COMPLETE","files":[{"documents":[{"class_edit_history":[
          {"timestamp":"t"}]}]}]})",
       "files[0].documents[0].class_edit_history[0].user_id"},
      {"alert blocked as string",
       R"({"id":"r","status":"COMPLETE","files":[{"documents":[{"fields":[{"validations":
          {"alerts":[{"blocked":"yes"}]}}]}]}]})",
       "files[0].documents[0].fields[0].validations.alerts[0].blocked"},
      {"case field without value",
       R"({"id":"r","status":"COMPLETE","case_info":{"fields":[{"name":"a","value":1},
          {"name":"b"}]}})",
       "case_info.fields[1].value"},
      {"case validations without valid",
       R"({"id":"r","status":"COMPLETE","case_info":{"fields":[{"name":"a","value":1,
          "validations":{"failures":[]}}]}})",
       "case_info.fields[0].validations.valid"},
      {"case failure without msg",
       R"({"id":"r","status":"COMPLETE","case_info":{"fields":[{"name":"a","value":1,
          "validations":{"valid":false,"failures":[{"type":"t"}]}}]}})",
       "case_info.fields[0].validations.failures[0].msg"},
      {"truncated field value",
       R"({"id":"r","status":"COMPLETE","files":[{"documents":[{"fields":[{"value":[1,)",
       "files[0].documents[0].fields[0].value"},
      {"invalid JSON in keys", R"({"id":"r","status":"COMPLETE","keys":{"custom":{"a":01}}})",
       "keys"},
  };
  for (const auto& c : results_cases) {
    CAPTURE(c.what);
    const error e = decode_failure(get_run_results{.run_id = "r"}, 200, c.body);
    CHECK(e.kind == error_kind::decode);
    CHECK(e.operation == "getRunResults");
    CHECK(e.field == c.field);
  }

  const error bad_list = decode_failure(
      list_runs{}, 200, R"({"runs":[{"id":"a","status":"RUNNING"},{"id":"b","status":7}]})");
  CHECK(bad_list.kind == error_kind::decode);
  CHECK(bad_list.operation == "listRuns");
  CHECK(bad_list.field == "runs[1].status");

  const error bad_deletion =
      decode_failure(delete_run{.run_id = "r"}, 202, R"({"delete_log_dir_job_id":12})");
  CHECK(bad_deletion.operation == "deleteRun");
  CHECK(bad_deletion.field == "delete_log_dir_job_id");

  const error bad_start = decode_failure(run_app{.app_name = "A", .batch_id = 1}, 200,
                                         R"({"id":"","status":"RUNNING"})");
  CHECK(bad_start.operation == "runApp");
  CHECK(bad_start.field == "id");
  const error bad_deploy = decode_failure(run_deployment{.deployment_id = "d", .batch_id = 1}, 202,
                                          R"({"status":"RUNNING"})");
  CHECK(bad_deploy.operation == "runDeployment");
  CHECK(bad_deploy.field == "id");

  std::string deep = R"({"id":"r","status":"COMPLETE","keys":)" + std::string(5000, '[');
  const error too_deep = decode_failure(get_run_results{.run_id = "r"}, 200, deep);
  CHECK(too_deep.kind == error_kind::decode);
}

TEST_CASE("runs decode: error statuses carry the operation id") {
  const std::string error_body = R"({"message":"the server's words"})";
  struct case_t {
    int status;
    bool retryable;
  };
  const case_t statuses[] = {{401, false}, {403, false}, {404, false}, {429, true}};
  for (const auto& c : statuses) {
    CAPTURE(c.status);
    const std::pair<std::string, result<void>> outcomes[] = {
        {"runApp",
         decode_response(run_app{.app_name = "A", .batch_id = 1}, reply(c.status, error_body))
             .transform([](const run&) {})},
        {"runDeployment", decode_response(run_deployment{.deployment_id = "d", .batch_id = 1},
                                          reply(c.status, error_body))
                              .transform([](const run&) {})},
        {"getRunStatus", decode_response(get_run{.run_id = "r"}, reply(c.status, error_body))
                             .transform([](const run&) {})},
        {"listRuns",
         decode_response(list_runs{}, reply(c.status, error_body)).transform([](const run_list&) {
         })},
        {"deleteRun", decode_response(delete_run{.run_id = "r"}, reply(c.status, error_body))
                          .transform([](const run_deletion&) {})},
        {"getRunResults",
         decode_response(get_run_results{.run_id = "r"}, reply(c.status, error_body))
             .transform([](const run_results&) {})},
    };
    for (const auto& entry : outcomes) {
      const std::string& operation = entry.first;
      const result<void>& outcome = entry.second;
      CAPTURE(operation);
      REQUIRE_FALSE(outcome.has_value());
      CHECK(outcome.error().kind == error_kind::http_status);
      CHECK(outcome.error().operation == operation);
      CHECK(outcome.error().http_status == c.status);
      CHECK(outcome.error().server_message == "the server's words");
      CHECK(outcome.error().retryable == c.retryable);
    }
  }
  // Each operation has one success status: runDeployment's 202 is not runApp's 200, and back.
  const error deploy_200 = decode_failure(run_deployment{.deployment_id = "d", .batch_id = 1}, 200,
                                          R"({"id":"r","status":"RUNNING"})");
  CHECK(deploy_200.kind == error_kind::http_status);
  CHECK(deploy_200.http_status == 200);
  const error app_202 = decode_failure(run_app{.app_name = "A", .batch_id = 1}, 202,
                                       R"({"id":"r","status":"RUNNING"})");
  CHECK(app_202.kind == error_kind::http_status);
  const error delete_200 = decode_failure(delete_run{.run_id = "r"}, 200, "{}");
  CHECK(delete_200.operation == "deleteRun");
  CHECK(delete_200.http_status == 200);

  auto limited = decode_response(list_runs{}, reply(429, "", {{"Retry-After", "3"}}));
  REQUIRE_FALSE(limited);
  CHECK(limited.error().retry_after == "3");
}

// ---------------------------------------------------------------------------------------------------
// Over a transport

namespace {
struct scripted_transport {
  std::vector<http::response> replies{};
  std::vector<http::request> sent{};
  result<http::response> send(const http::request& r, const send_options&) {
    sent.push_back(r);
    if (sent.size() > replies.size())
      return make_error(error_kind::transport, "connection reset by the test");
    return replies[sent.size() - 1];
  }
};
static_assert(transport<scripted_transport>);
}  // namespace

TEST_CASE("runs: start a run, poll it and read its results through execute") {
  scripted_transport t{
      .replies = {reply(200, R"({"id":"r-1","status":"RUNNING","start_timestamp":1})"),
                  reply(200, R"({"id":"r-1","status":"COMPLETE","finish_timestamp":2})"),
                  reply(200, R"({"id":"r-1","status":"COMPLETE","files":[{}],"has_more":false})")}};
  const settings s = test_settings();
  auto started = execute(t, run_app{.app_name = "MyApp", .batch_id = 12345}, s);
  REQUIRE(started);
  CHECK(started->status == run_status::running);
  auto polled = execute(t, get_run{.run_id = started->id}, s);
  REQUIRE(polled);
  CHECK(polled->is_terminal());
  auto results = execute(t, get_run_results{.run_id = polled->id}, s);
  REQUIRE(results);
  CHECK(results->files.size() == 1);
  REQUIRE(t.sent.size() == 3);
  CHECK(t.sent[1].target == "/v2/apps/runs/r-1");
  CHECK(t.sent[2].target == "/v2/apps/runs/r-1/results");

  auto lost = execute(t, delete_run{.run_id = "r-1"}, s);
  REQUIRE_FALSE(lost);
  CHECK(lost.error().kind == error_kind::transport);
  CHECK(lost.error().operation == "deleteRun");

  auto refused = execute(t, run_app{.batch_id = 1}, s);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == error_kind::validation);
  CHECK(refused.error().operation == "runApp");
  CHECK(t.sent.size() == 4);  // nothing was sent for the invalid request
}

#if AIHUB_RUNS_TEST_NLOHMANN
TEST_CASE("runs decode: the nlohmann codec reads the run models as the built-in one does") {
  for (const char* body : {spec_results_example_1, spec_results_example_2}) {
    auto builtin = decode_response(get_run_results{.run_id = "r"}, reply(200, body));
    auto other =
        decode_response(get_run_results{.run_id = "r"}, reply(200, body), nlohmann_json::codec{});
    REQUIRE(builtin);
    REQUIRE(other);
    CHECK(*builtin == *other);
  }
  const char* run_body =
      R"({"id":"r","status":"COMPLETE","start_timestamp":1710000000123456789,"batch_id":"42"})";
  auto builtin = decode_response(get_run{.run_id = "r"}, reply(200, run_body));
  auto other =
      decode_response(get_run{.run_id = "r"}, reply(200, run_body), nlohmann_json::codec{});
  REQUIRE(builtin);
  REQUIRE(other);
  CHECK(*builtin == *other);
  CHECK(other->start_timestamp == 1710000000123456789);
  auto bad = decode_response(get_run{.run_id = "r"}, reply(200, R"({"id":"r","status":1})"),
                             nlohmann_json::codec{});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "status");
}
#endif
