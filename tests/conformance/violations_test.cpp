// The check can fail: hand-built requests that break the spec (no library involved) must be
// reported by Prism, in the header or in the body, through the same transport and the same
// detection the conforming requests pass. Also: the error statuses the spec documents decode as
// http_status errors, not as values.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <string>

#include "conformance.hpp"

using namespace aihub;
using aihub_conformance::expect_violation;
using aihub_conformance::raw_request;

TEST_SUITE("violations") {
  TEST_CASE("createBatch without name") {
    expect_violation(
        raw_request(http::method::post, "/v2/batches", http::json_body{R"({"workspace":"ws"})"}),
        "must have required property 'name'");
  }

  TEST_CASE("createBatch with a numeric name") {
    expect_violation(
        raw_request(http::method::post, "/v2/batches", http::json_body{R"({"name":42})"}),
        "name must be string");
  }

  TEST_CASE("listBatches with a limit that is not an integer") {
    expect_violation(raw_request(http::method::get, "/v2/batches?limit=ten"),
                     "limit must be integer");
  }

  TEST_CASE("getBatch with a batch id that is not an integer") {
    expect_violation(raw_request(http::method::get, "/v2/batches/abc"), "batch_id must be integer");
  }

  TEST_CASE("addFileToBatch sent as JSON instead of octet-stream") {
    expect_violation(
        raw_request(http::method::put, "/v2/batches/7/files/a.pdf", http::json_body{"{}"}),
        "application/octet-stream");
  }

  TEST_CASE("addFileToBatch without a body") {
    http::request r = raw_request(http::method::put, "/v2/batches/7/files/a.pdf");
    r.headers.add("Content-Type", "application/octet-stream");
    expect_violation(r, "Body parameter is required");
  }

  TEST_CASE("createMultipartUploadSession without file_size") {
    expect_violation(raw_request(http::method::post, "/v2/batches/multipart-upload",
                                 http::json_body{R"({"batch_id":1,"filename":"a.pdf"})"}),
                     "required property 'file_size'");
  }

  TEST_CASE("commitMultipartUploadSession with an unknown action") {
    expect_violation(raw_request(http::method::post, "/v2/batches/multipart-upload/sessions/s1",
                                 http::json_body{R"({"action":"finish"})"}),
                     "allowed values: commit, abort");
  }

  TEST_CASE("commitMultipartUploadSession with a part lacking part_id") {
    expect_violation(
        raw_request(http::method::post, "/v2/batches/multipart-upload/sessions/s1",
                    http::json_body{R"({"action":"commit","parts":[{"part_num":1}]})"}),
        "required property 'part_id'");
  }

  TEST_CASE("runApp with batch_id as a string") {
    expect_violation(raw_request(http::method::post, "/v2/apps/runs",
                                 http::json_body{R"({"app_name":"a","batch_id":"12"})"}),
                     "batch_id must be integer");
  }

  TEST_CASE("runApp with tags as one string") {
    expect_violation(
        raw_request(http::method::post, "/v2/apps/runs",
                    http::json_body{R"({"app_name":"a","batch_id":1,"settings":{"tags":"a,b"}})"}),
        "settings.tags must be array");
  }

  TEST_CASE("runDeployment with a non-string secret") {
    expect_violation(
        raw_request(http::method::post, "/v2/apps/deployments/d1/runs",
                    http::json_body{R"({"batch_id":1,"settings":{"keys":{"secret":{"k":1}}}})"}),
        "must be string");
  }

  TEST_CASE("listRuns sorted by an unknown field") {
    expect_violation(raw_request(http::method::get, "/v2/apps/runs?sort_by=name"),
                     "allowed values: start_timestamp, status");
  }

  TEST_CASE("deleteRun with a flag that is not a boolean") {
    expect_violation(raw_request(http::method::delete_, "/v2/apps/runs/r1?delete_logs=maybe"),
                     "delete_logs must be boolean");
  }

  TEST_CASE("getRunResults with a file_offset that is not an integer") {
    expect_violation(raw_request(http::method::get, "/v2/apps/runs/r1/results?file_offset=first"),
                     "file_offset must be integer");
  }
}

TEST_SUITE("error statuses") {
  // Prism answers with the status named in `Prefer: code=N` when the operation documents it.
  template <aihub::operation Op>
  void expect_http_error(const Op& op, int status) {
    auto request = build_request(op, aihub_conformance::user_settings());
    REQUIRE(request.has_value());
    request->headers.add("Prefer", "code=" + std::to_string(status));
    const http::response response = aihub_conformance::send_raw(*request);
    INFO(aihub_conformance::describe_exchange(*request, response));
    CHECK_FALSE(aihub_conformance::prism_reports_violation(response));
    REQUIRE(response.status == status);
    auto decoded = decode_response(op, response);
    REQUIRE_FALSE(decoded.has_value());
    CHECK(decoded.error().kind == error_kind::http_status);
    CHECK(decoded.error().http_status == status);
    CHECK(decoded.error().operation == Op::endpoint_info.operation_id);
  }

  TEST_CASE("documented 404s") {
    expect_http_error(get_batch{.batch_id = 1}, 404);
    expect_http_error(delete_batch{.batch_id = 1}, 404);
    expect_http_error(list_files{.batch_id = 1}, 404);
    static constexpr std::array<std::byte, 1> one{std::byte{1}};
    expect_http_error(
        upload_file{.batch_id = 1, .name = "a", .content = http::bytes_view_body{one}}, 404);
    expect_http_error(delete_file{.batch_id = 1, .name = "a"}, 404);
    expect_http_error(start_multipart_upload{.batch_id = 1, .name = "a", .file_size = 1}, 404);
  }
}
