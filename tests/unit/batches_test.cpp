// Golden request descriptions for the eleven Batches operations (the spec's curl examples), their
// decoders on example and malformed bodies, and every validation rule.
#include <doctest/doctest.h>

#include <aihub/aihub.hpp>
#include <aihub/nlohmann_codec.hpp>
#include <array>
#include <cstddef>
#include <string>

using namespace aihub;

namespace {

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

http::header_list with_content_type(std::string_view type) {
  auto h = common_headers();
  h.add("Content-Type", type);
  return h;
}

template <class Op>
http::request build(const Op& op, const settings& s = test_settings()) {
  auto r = build_request(op, s);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
  return *r;
}

template <class Op>
error build_error(const Op& op, const settings& s = test_settings()) {
  auto r = build_request(op, s);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == error_kind::validation);
  return r.error();
}

}  // namespace

TEST_CASE("golden: createBatch") {
  http::request expected{http::method::post, "/v2/batches", with_content_type("application/json"),
                         http::json_body{R"({"name":"MyBatch","workspace":"MyWorkspace"})"}};
  CHECK(build(create_batch{.name = "MyBatch", .workspace = "MyWorkspace"}) == expected);

  http::request minimal{http::method::post, "/v2/batches", with_content_type("application/json"),
                        http::json_body{R"({"name":"test"})"}};
  CHECK(build(create_batch{.name = "test"}) == minimal);
}

TEST_CASE("golden: listBatches") {
  CHECK(
      build(list_batches{.workspace = "my-workspace", .limit = 100}) ==
      http::request{
          http::method::get, "/v2/batches?workspace=my-workspace&limit=100", common_headers(), {}});
  CHECK(build(list_batches{}).target == "/v2/batches");
  CHECK(build(list_batches{.workspace = "a b", .username = "j+d@x.com", .limit = 0, .offset = 20})
            .target == "/v2/batches?workspace=a%20b&username=j%2Bd%40x.com&limit=0&offset=20");
}

TEST_CASE("golden: getBatch and deleteBatch") {
  CHECK(build(get_batch{.batch_id = 42}) ==
        http::request{http::method::get, "/v2/batches/42", common_headers(), {}});
  CHECK(build(delete_batch{.batch_id = 42}) ==
        http::request{http::method::delete_, "/v2/batches/42", common_headers(), {}});
}

TEST_CASE("golden: addFileToBatch streams the body it was given") {
  http::file_slice slice{"/data/invoice.pdf", 0, 1234};
  CHECK(build(upload_file{.batch_id = 7, .name = "invoice.pdf", .content = slice}) ==
        http::request{http::method::put, "/v2/batches/7/files/invoice.pdf",
                      with_content_type("application/octet-stream"), slice});

  static const std::array<std::byte, 3> bytes{std::byte{1}, std::byte{2}, std::byte{3}};
  auto r =
      build(upload_file{.batch_id = 7, .name = "b.bin", .content = http::bytes_view_body{bytes}});
  REQUIRE(std::holds_alternative<http::bytes_view_body>(r.body));
  CHECK(std::get<http::bytes_view_body>(r.body).bytes.data() == bytes.data());
  CHECK(http::body_size(r.body) == 3);
}

TEST_CASE("golden: awkward file names are percent-encoded and round-trip") {
  struct case_t {
    std::string name;
    std::string encoded;
  };
  const case_t cases[] = {
      {"my report.pdf", "my%20report.pdf"},
      {"a#b?c.pdf", "a%23b%3Fc.pdf"},
      {"100%.txt", "100%25.txt"},
      {"a+b.txt", "a%2Bb.txt"},
      {"r\xC3\xA9sum\xC3\xA9.pdf", "r%C3%A9sum%C3%A9.pdf"},
      {"\xE6\x97\xA5\xE6\x9C\xAC.txt", "%E6%97%A5%E6%9C%AC.txt"},
      {"semi;colon&amp=eq.txt", "semi%3Bcolon%26amp%3Deq.txt"},
      {"tilde~dash-under_dot.txt", "tilde~dash-under_dot.txt"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = build(upload_file{
        .batch_id = 9, .name = std::string_view(c.name), .content = http::file_slice{"f", 0, 1}});
    CHECK(r.target == "/v2/batches/9/files/" + c.encoded);
    auto decoded = url::decode(c.encoded);
    REQUIRE(decoded);
    CHECK(*decoded == c.name);
    CHECK(build(delete_file{.batch_id = 9, .name = std::string_view(c.name)}).target ==
          "/v2/batches/9/files/" + c.encoded);
  }
}

TEST_CASE("golden: listFiles") {
  CHECK(build(list_files{.batch_id = 5}) ==
        http::request{http::method::get, "/v2/batches/5/files", common_headers(), {}});
  CHECK(
      build(list_files{.batch_id = 5, .page_size = 50, .start_token = "eyJwYWdlIjogMn0="}).target ==
      "/v2/batches/5/files?page_size=50&start_token=eyJwYWdlIjogMn0%3D");
}

TEST_CASE("golden: deleteFileFromBatch and pollBatchesJob") {
  CHECK(build(delete_file{.batch_id = 5, .name = "a.pdf"}) ==
        http::request{http::method::delete_, "/v2/batches/5/files/a.pdf", common_headers(), {}});
  CHECK(build(poll_batches_job{.job_id = "job-123"}) ==
        http::request{http::method::get, "/v2/batches/jobs/job-123", common_headers(), {}});
}

TEST_CASE("golden: multipart session, part, commit and abort") {
  CHECK(build(start_multipart_upload{
            .batch_id = 3, .name = "large-file.pdf", .file_size = 15728640}) ==
        http::request{
            http::method::post, "/v2/batches/multipart-upload",
            with_content_type("application/json"),
            http::json_body{R"({"batch_id":3,"filename":"large-file.pdf","file_size":15728640})"}});

  http::file_slice part{"/data/large-file.pdf", 10485760, 5242880};
  CHECK(build(upload_part{.session_id = "sess.1-_x", .part_num = 2, .content = part}) ==
        http::request{http::method::put, "/v2/batches/multipart-upload/sessions/sess.1-_x/parts/2",
                      with_content_type("application/octet-stream"), part});

  CHECK(
      build(commit_multipart_upload{.session_id = "S",
                                    .parts = {{1, "12345"}, {2, "12346"}, {3, "12347"}}}) ==
      http::request{
          http::method::post, "/v2/batches/multipart-upload/sessions/S",
          with_content_type("application/json"),
          http::json_body{
              R"({"action":"commit","parts":[{"part_num":1,"part_id":"12345"},{"part_num":2,"part_id":"12346"},{"part_num":3,"part_id":"12347"}]})"}});

  CHECK(build(abort_multipart_upload{.session_id = "S"}) ==
        http::request{http::method::post, "/v2/batches/multipart-upload/sessions/S",
                      with_content_type("application/json"),
                      http::json_body{R"({"action":"abort"})"}});
}

TEST_CASE("headers: IB-Context is optional and can be overridden per call") {
  settings s = test_settings();
  s.ib_context.reset();
  auto r = build(get_batch{.batch_id = 1}, s);
  CHECK_FALSE(r.headers.contains("IB-Context"));

  auto overridden = build_request(get_batch{.batch_id = 1}, test_settings(),
                                  call_options{.ib_context = "other-org"});
  REQUIRE(overridden);
  CHECK(overridden->headers.get("ib-context") == "other-org");
  CHECK(overridden->headers.size() == 4);
}

TEST_CASE("dumps redact the token") {
  auto r = build(create_batch{.name = "x"});
  std::string dump = http::to_string(r);
  CHECK(dump.find("abcdefghijklmnopqrst1234567890") == std::string::npos);
  CHECK(dump.find("Authorization: Bearer <redacted>") != std::string::npos);
  CHECK(dump.find(R"({"name":"x"})") != std::string::npos);
  http::response resp{401, {{"Set-Cookie", "session=secret-cookie"}}, "{}"};
  CHECK(http::to_string(resp).find("secret-cookie") == std::string::npos);
}

// ---------------------------------------------------------------------------------------------------
// Validation

TEST_CASE("validation: every bad input is refused before anything is built") {
  struct case_t {
    const char* what;
    result<http::request> outcome;
    const char* field;
  };
  settings s = test_settings();
  settings service = test_settings();
  service.service_account = true;
  const std::string name_256(256, 'a');
  std::string name_255_cjk;
  for (int i = 0; i < 255; ++i) name_255_cjk += "\xE6\x97\xA5";  // 255 code points, 765 bytes
  std::string name_256_cjk = name_255_cjk + "\xE6\x97\xA5";

  const case_t cases[] = {
      {"empty batch name", build_request(create_batch{.name = std::string()}, s), "name"},
      {"256-char batch name", build_request(create_batch{.name = std::string_view(name_256)}, s),
       "name"},
      {"256 code points", build_request(create_batch{.name = std::string_view(name_256_cjk)}, s),
       "name"},
      {"invalid UTF-8 name", build_request(create_batch{.name = std::string("a\xC3")}, s), "name"},
      {"overlong UTF-8", build_request(create_batch{.name = std::string("\xC0\xAF")}, s), "name"},
      {"service account without workspace", build_request(create_batch{.name = "x"}, service),
       "workspace"},
      {"empty workspace", build_request(create_batch{.name = "x", .workspace = ""}, s),
       "workspace"},
      {"negative limit", build_request(list_batches{.limit = -1}, s), "limit"},
      {"negative offset", build_request(list_batches{.offset = -5}, s), "offset"},
      {"zero batch id", build_request(get_batch{.batch_id = 0}, s), "batch_id"},
      {"negative batch id", build_request(delete_batch{.batch_id = -3}, s), "batch_id"},
      {"upload batch id", build_request(upload_file{.batch_id = 0, .name = "a", .content = {}}, s),
       "batch_id"},
      {"empty upload", build_request(upload_file{.batch_id = 1, .name = "a", .content = {}}, s),
       "content"},
      {"empty file name",
       build_request(upload_file{.batch_id = 1, .name = std::string(), .content = {}}, s), "name"},
      {"file name with slash",
       build_request(upload_file{.batch_id = 1, .name = std::string("a/b"), .content = {}}, s),
       "name"},
      {"file name with backslash",
       build_request(upload_file{.batch_id = 1, .name = std::string("a\\b"), .content = {}}, s),
       "name"},
      {"file name dot", build_request(delete_file{.batch_id = 1, .name = std::string(".")}, s),
       "name"},
      {"file name dotdot", build_request(delete_file{.batch_id = 1, .name = std::string("..")}, s),
       "name"},
      {"file name with newline",
       build_request(delete_file{.batch_id = 1, .name = std::string("a\nb")}, s), "name"},
      {"file name with NUL",
       build_request(delete_file{.batch_id = 1, .name = std::string("a\0b", 3)}, s), "name"},
      {"file name with DEL",
       build_request(delete_file{.batch_id = 1, .name = std::string("a\x7f")}, s), "name"},
      {"256-char file name",
       build_request(delete_file{.batch_id = 1, .name = std::string_view(name_256)}, s), "name"},
      {"negative page size", build_request(list_files{.batch_id = 1, .page_size = -1}, s),
       "page_size"},
      {"empty start token", build_request(list_files{.batch_id = 1, .start_token = ""}, s),
       "start_token"},
      {"empty job id", build_request(poll_batches_job{.job_id = ""}, s), "job_id"},
      {"file size zero",
       build_request(start_multipart_upload{.batch_id = 1, .name = "a", .file_size = 0}, s),
       "file_size"},
      {"part number zero",
       build_request(upload_part{.session_id = "S", .part_num = 0, .content = {}}, s), "part_num"},
      {"empty session id",
       build_request(upload_part{.session_id = "", .part_num = 1, .content = {}}, s), "session_id"},
      {"empty part", build_request(upload_part{.session_id = "S", .part_num = 1, .content = {}}, s),
       "content"},
      {"commit without parts", build_request(commit_multipart_upload{.session_id = "S"}, s),
       "parts"},
      {"commit parts out of order",
       build_request(commit_multipart_upload{.session_id = "S", .parts = {{2, "b"}, {1, "a"}}}, s),
       "parts[0].part_num"},
      {"commit parts with a gap",
       build_request(commit_multipart_upload{.session_id = "S", .parts = {{1, "a"}, {3, "c"}}}, s),
       "parts[1].part_num"},
      {"commit part without id",
       build_request(commit_multipart_upload{.session_id = "S", .parts = {{1, "a"}, {2, ""}}}, s),
       "parts[1].part_id"},
      {"commit missing the last part",
       build_request(
           commit_multipart_upload{
               .session_id = "S", .parts = {{1, "a"}}, .layout = multipart_layout{20, 10}},
           s),
       "parts"},
      {"abort without session", build_request(abort_multipart_upload{.session_id = ""}, s),
       "session_id"},
      // Every free-text field must be UTF-8 a server can decode: cut short, overlong, surrogate,
      // above U+10FFFF.
      {"workspace cut short", build_request(create_batch{.name = "x", .workspace = "w\xC3"}, s),
       "workspace"},
      {"workspace with a surrogate",
       build_request(create_batch{.name = "x", .workspace = "\xED\xA0\x80"}, s), "workspace"},
      {"list workspace overlong", build_request(list_batches{.workspace = "\xC0\xAF"}, s),
       "workspace"},
      {"list username above U+10FFFF",
       build_request(list_batches{.username = "\xF4\x90\x80\x80"}, s), "username"},
      {"start token not UTF-8", build_request(list_files{.batch_id = 1, .start_token = "\xFF"}, s),
       "start_token"},
      {"job id not UTF-8", build_request(poll_batches_job{.job_id = "j\xFF"}, s), "job_id"},
      {"session id not UTF-8", build_request(abort_multipart_upload{.session_id = "\xE2\x82"}, s),
       "session_id"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    REQUIRE_FALSE(c.outcome.has_value());
    CHECK(c.outcome.error().kind == error_kind::validation);
    CHECK(c.outcome.error().field == c.field);
    CHECK(c.outcome.error().message.rfind(std::string(c.field) + ": ", 0) == 0);
    if (std::string_view(c.what).find("UTF-8") != std::string_view::npos ||
        std::string_view(c.what).find("surrogate") != std::string_view::npos ||
        std::string_view(c.what).find("overlong") != std::string_view::npos ||
        std::string_view(c.what).find("U+10FFFF") != std::string_view::npos ||
        std::string_view(c.what).find("cut short") != std::string_view::npos)
      CHECK(c.outcome.error().message == std::string(c.field) + ": must be valid UTF-8");
  }
}

TEST_CASE("validation: names at the limits are accepted") {
  settings s = test_settings();
  std::string name_255(255, 'a');
  std::string name_255_cjk;
  for (int i = 0; i < 255; ++i) name_255_cjk += "\xE6\x97\xA5";
  CHECK(build_request(create_batch{.name = std::string_view(name_255)}, s).has_value());
  CHECK(build_request(create_batch{.name = std::string_view(name_255_cjk)}, s).has_value());
  CHECK(build_request(delete_file{.batch_id = 1, .name = std::string_view(name_255_cjk)}, s)
            .has_value());
  CHECK(build_request(delete_file{.batch_id = 1, .name = std::string("...")}, s).has_value());
  CHECK(build_request(list_batches{.limit = 0, .offset = 0}, s).has_value());
  settings service = s;
  service.service_account = true;
  CHECK(build_request(create_batch{.name = "x", .workspace = "ws"}, service).has_value());
}

TEST_CASE("validation: multipart part sizes follow the session's part_size") {
  settings s = test_settings();
  multipart_layout layout{25, 10};  // parts of 10, 10, 5
  CHECK(layout.part_count() == 3);
  auto part = [&](std::int64_t n, std::uint64_t length) {
    return build_request(upload_part{.session_id = "S",
                                     .part_num = n,
                                     .content = http::file_slice{"f", 0, length},
                                     .layout = layout},
                         s);
  };
  CHECK(part(1, 10).has_value());
  CHECK(part(2, 10).has_value());
  CHECK(part(3, 5).has_value());
  CHECK(part(1, 9).error().field == "content");
  CHECK(part(3, 10).error().field == "content");
  CHECK(part(4, 5).error().field == "part_num");
  CHECK(build_request(
            commit_multipart_upload{
                .session_id = "S", .parts = {{1, "a"}, {2, "b"}, {3, "c"}}, .layout = layout},
            s)
            .has_value());
  CHECK(multipart_layout{10, 10}.part_count() == 1);
  CHECK(multipart_layout{11, 10}.length_of(2) == 1);
  CHECK(multipart_layout{uint64_t{5} << 30, 10485760}.offset_of(512) == uint64_t{511} * 10485760);
}

TEST_CASE("validation: settings and headers cannot be injected") {
  auto with = [](auto mutate) {
    settings s = test_settings();
    mutate(s);
    return build_request(get_batch{.batch_id = 1}, s);
  };
  struct case_t {
    const char* what;
    result<http::request> outcome;
    const char* field;
  };
  const case_t cases[] = {
      {"empty token", with([](settings& s) { s.token.clear(); }), "token"},
      {"token with CRLF", with([](settings& s) { s.token = "abc\r\nX-Evil: 1"; }), "token"},
      {"token with NUL", with([](settings& s) { s.token = std::string("ab\0c", 4); }), "token"},
      {"token with tab", with([](settings& s) { s.token = "ab\tc"; }), "token"},
      {"context with LF", with([](settings& s) { s.ib_context = "org\nX: y"; }), "ib_context"},
      {"ftp root", with([](settings& s) { s.api_root = "ftp://x/api"; }), "api_root"},
      {"root without host", with([](settings& s) { s.api_root = "https:///api"; }), "api_root"},
      {"root with query", with([](settings& s) { s.api_root = "https://x/api?a=1"; }), "api_root"},
      {"root with space", with([](settings& s) { s.api_root = "https://x/a pi"; }), "api_root"},
      {"root with credentials", with([](settings& s) { s.api_root = "https://u:p@x/api"; }),
       "api_root"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    REQUIRE_FALSE(c.outcome.has_value());
    CHECK(c.outcome.error().field == c.field);
    CHECK(c.outcome.error().message.find("abc") == std::string::npos);  // never echoes the secret
  }
  auto per_call = build_request(get_batch{.batch_id = 1}, test_settings(),
                                call_options{.ib_context = "a\r\nb"});
  REQUIRE_FALSE(per_call);
  CHECK(per_call.error().field == "ib_context");

  for (const char* root : {"https://aihub.instabase.com/api", "http://127.0.0.1:8080/api/",
                           "https://tenant.example.com", "https://h:443/deep/prefix/api"})
    CHECK_MESSAGE(validate_api_root(root).has_value(), root);
  CHECK(normalized_api_root("http://h/api//") == "http://h/api");
}

// ---------------------------------------------------------------------------------------------------
// Decoders

namespace {
http::response ok(int status, std::string body, http::header_list headers = {}) {
  return http::response{status, std::move(headers), std::move(body)};
}
}  // namespace

TEST_CASE("decode: listFiles on the spec's example body") {
  const char* example = R"({
    "nodes": [
      {"full_path": "/path/to/document1.pdf",
       "metadata": {"node_type": "file", "size": 1024, "modified_timestamp": 1647532800},
       "perms": {"can_read": true, "can_write": true, "can_delete": true},
       "name": "document1.pdf"},
      {"full_path": "/path/to/document2.pdf",
       "metadata": {"node_type": "file", "size": "2048", "modified_timestamp": 1647619200},
       "perms": {"can_read": true, "can_write": false, "can_delete": false},
       "name": "document2.pdf"}
    ],
    "next_page_token": "eyJwYWdlIjogMn0=",
    "has_more": true
  })";
  auto page = decode_response(list_files{.batch_id = 1}, ok(200, example));
  REQUIRE(page);
  REQUIRE(page->nodes.size() == 2);
  CHECK(page->nodes[0].name == "document1.pdf");
  CHECK(page->nodes[0].size() == 1024);
  CHECK(page->nodes[1].size() == 2048);  // file sizes may come as strings
  CHECK(page->nodes[1].perms->can_write == false);
  CHECK(page->nodes[0].metadata->modified_timestamp == 1647532800);
  CHECK(page->next_page_token == "eyJwYWdlIjogMn0=");
  CHECK(page->has_more);

  auto nlohmann_page =
      decode_response(list_files{.batch_id = 1}, ok(200, example), nlohmann_json::codec{});
  REQUIRE(nlohmann_page);
  CHECK(*nlohmann_page == *page);
}

TEST_CASE("decode: every success body") {
  auto created = decode_response(create_batch{.name = "x"}, ok(200, R"({"id": 17})"));
  REQUIRE(created);
  CHECK(created->id == 17);

  auto info =
      decode_response(get_batch{.batch_id = 17},
                      ok(200, R"({"id":17,"name":"MyBatch","workspace":"ws","mount_point":"default",
                  "repo_owner":"acme","batch_owner":"john","created_at_ms":1710000000123,
                  "updated_at_ms":null,"path_suffix":"batches/17","future_field":{"x":[1,2]}})"));
  REQUIRE(info);
  CHECK(info->name == "MyBatch");
  CHECK(info->created_at_ms == 1710000000123);
  CHECK_FALSE(info->updated_at_ms.has_value());
  CHECK(info->path_suffix == "batches/17");

  auto list = decode_response(list_batches{},
                              ok(200, R"({"batches":[{"id":1,"name":"a"},{"id":2,"name":"b"}]})"));
  REQUIRE(list);
  REQUIRE(list->batches.size() == 2);
  CHECK(list->batches[1].name == "b");

  auto job = decode_response(delete_batch{.batch_id = 1}, ok(202, R"({"job_id":"j-1"})"));
  REQUIRE(job);
  CHECK(job->job_id == "j-1");

  for (auto [text, state] :
       {std::pair{"COMPLETE", job_state::complete}, std::pair{"FAILED", job_state::failed},
        std::pair{"CANCELLED", job_state::cancelled}, std::pair{"RUNNING", job_state::running},
        std::pair{"PENDING", job_state::pending}, std::pair{"SOMETHING_NEW", job_state::unknown}}) {
    auto status =
        decode_response(poll_batches_job{.job_id = "j"},
                        ok(200, std::string(R"({"state":")") + text + R"(","message":"m"})"));
    REQUIRE(status);
    CHECK(status->state == state);
    CHECK(status->message == "m");
  }

  CHECK(decode_response(upload_file{.batch_id = 1, .name = "a", .content = {}}, ok(204, "")));
  CHECK(decode_response(delete_file{.batch_id = 1, .name = "a"}, ok(202, "")));
  CHECK(decode_response(abort_multipart_upload{.session_id = "S"}, ok(201, "")));
  CHECK(decode_response(commit_multipart_upload{.session_id = "S", .parts = {{1, "a"}}},
                        ok(201, "")));

  auto session = decode_response(
      start_multipart_upload{.batch_id = 1, .name = "a", .file_size = 5},
      ok(201, R"({"session_id":"yGLRzUtS2vHm9IdxMrsK.1Lv_lrKRVPQ4-","part_size":10485760})",
         {{"Location",
           "https://aihub.instabase.com/api/v2/batches/multipart-upload/sessions/yG"}}));
  REQUIRE(session);
  CHECK(session->session_id == "yGLRzUtS2vHm9IdxMrsK.1Lv_lrKRVPQ4-");
  CHECK(session->part_size == 10485760);
  CHECK(session->location ==
        "https://aihub.instabase.com/api/v2/batches/multipart-upload/sessions/yG");

  auto part = decode_response(upload_part{.session_id = "S", .part_num = 1, .content = {}},
                              ok(201, R"({"part_id":"p-1","part_num":1})"));
  REQUIRE(part);
  CHECK(part->part_id == "p-1");
  CHECK(part->part_num == 1);
}

TEST_CASE("decode: error statuses carry operation, status, meaning and server message") {
  struct case_t {
    int status;
    const char* meaning;
    bool retryable;
  };
  const case_t cases[] = {
      {400, "invalid", false},    {401, "bad token", false},   {403, "consumption units", false},
      {404, "not found", false},  {429, "rate limited", true}, {500, "server error", true},
      {502, "bad gateway", true}, {503, "unavailable", true},  {504, "gateway timeout", true}};
  for (const auto& c : cases) {
    CAPTURE(c.status);
    auto r = decode_response(get_batch{.batch_id = 1},
                             ok(c.status, R"({"message":"the server's words"})"));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == error_kind::http_status);
    CHECK(r.error().operation == "getBatch");
    CHECK(r.error().http_status == c.status);
    CHECK(r.error().server_message == "the server's words");
    CHECK(r.error().message.find(c.meaning) != std::string::npos);
    CHECK(r.error().retryable == c.retryable);
  }
  auto rate_limited =
      decode_response(get_batch{.batch_id = 1}, ok(429, "not json", {{"Retry-After", "7"}}));
  REQUIRE_FALSE(rate_limited);
  CHECK(rate_limited.error().retry_after == "7");
  CHECK(rate_limited.error().server_message.empty());

  // A success status of another operation is still an error: 200 is not
  // createMultipartUploadSession's 201.
  auto wrong = decode_response(start_multipart_upload{.batch_id = 1, .name = "a", .file_size = 1},
                               ok(200, R"({"session_id":"s","part_size":1})"));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().http_status == 200);
}

TEST_CASE("decode: malformed, truncated, wrongly typed and oversized bodies are decode errors") {
  const char* bad_bodies[] = {
      "",
      "{",
      R"({"id": 1,})",
      R"({"id": "seventeen"})",
      R"({"id": 1.5})",
      R"({"id": 99999999999999999999})",
      R"({"id": 1} trailing)",
      R"([1])",
      R"({"name":"x"})",
      R"({"id": 01})",
  };
  for (const char* body : bad_bodies) {
    CAPTURE(body);
    auto r = decode_response(create_batch{.name = "x"}, ok(200, body));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == error_kind::decode);
    CHECK(r.error().operation == "createBatch");
  }
  auto missing = decode_response(create_batch{.name = "x"}, ok(200, R"({"name":"x"})"));
  CHECK(missing.error().field == "id");

  auto wrong_nested =
      decode_response(list_files{.batch_id = 1},
                      ok(200, R"({"nodes":[{"name":"a"},{"name":"b","metadata":{"size":true}}]})"));
  REQUIRE_FALSE(wrong_nested);
  CHECK(wrong_nested.error().field == "nodes[1].metadata.size");

  std::string deep(10000, '[');
  auto too_deep = decode_response(list_batches{}, ok(200, R"({"batches":)" + deep));
  REQUIRE_FALSE(too_deep);
  CHECK(too_deep.error().kind == error_kind::decode);

  auto empty_session =
      decode_response(start_multipart_upload{.batch_id = 1, .name = "a", .file_size = 1},
                      ok(201, R"({"session_id":"","part_size":10})"));
  REQUIRE_FALSE(empty_session);
  CHECK(empty_session.error().field == "session_id");
  auto empty_part = decode_response(upload_part{.session_id = "S", .part_num = 1, .content = {}},
                                    ok(201, R"({"part_id":"","part_num":1})"));
  REQUIRE_FALSE(empty_part);
  CHECK(empty_part.error().field == "part_id");
}

TEST_CASE("decode: the nlohmann codec gives the same results as the built-in one") {
  const std::pair<const char*, bool> bodies[] = {
      {R"({"batches":[{"id":1,"name":"a","created_at_ms":1710000000123}]})", true},
      {R"({"batches":[{"id":1}]})", false},
      {R"({"batches":[{"id":"1","name":"a"}]})", false},
      {R"({"batches":[]} x)", false},
  };
  for (const auto& entry : bodies) {
    const char* body =
        entry.first;  // a named variable: clang 14 cannot capture a structured binding
    const bool good = entry.second;
    CAPTURE(body);
    auto builtin = decode_response(list_batches{}, ok(200, body));
    auto other = decode_response(list_batches{}, ok(200, body), nlohmann_json::codec{});
    CHECK(builtin.has_value() == good);
    CHECK(other.has_value() == good);
    if (good && builtin && other) CHECK(*builtin == *other);
  }
}

TEST_CASE("endpoint traits match the spec") {
  CHECK(create_batch::endpoint_info.success_status == 200);
  CHECK_FALSE(create_batch::endpoint_info.idempotent);
  CHECK(list_batches::endpoint_info.verb == http::method::get);
  CHECK(delete_batch::endpoint_info.success_status == 202);
  CHECK(upload_file::endpoint_info.success_status == 204);
  CHECK(upload_file::endpoint_info.idempotent);
  CHECK(delete_file::endpoint_info.success_status == 202);
  CHECK(start_multipart_upload::endpoint_info.success_status == 201);
  CHECK_FALSE(start_multipart_upload::endpoint_info.idempotent);
  CHECK(upload_part::endpoint_info.success_status == 201);
  CHECK(commit_multipart_upload::endpoint_info.operation_id == "commitMultipartUploadSession");
  CHECK(abort_multipart_upload::endpoint_info.operation_id == "commitMultipartUploadSession");
  CHECK(poll_batches_job::endpoint_info.path_template == "/v2/batches/jobs/{job_id}");
}
