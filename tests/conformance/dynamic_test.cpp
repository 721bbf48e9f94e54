// The decoders against varied responses: with `Prefer: dynamic=true` Prism invents a new response
// from the schema for every request (optional members left out, extra members added, nulls where
// the schema allows them, random numbers and strings), instead of the one static example the other
// cases see. The requests are checked against the spec exactly as in the other cases.
//
// One schema gap is known: multipartUploadSessionResponse.part_size has no minimum, so Prism may
// invent a part size below 1, which start_multipart_upload refuses on purpose (a file cannot be
// split into parts of that size). That refusal is accepted here, and only that one.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "conformance.hpp"

using namespace aihub;
using aihub_conformance::conforms;

namespace {

constexpr int rounds = 25;
constexpr std::string_view dynamic = "dynamic=true";

template <aihub::operation Op>
void decodes_every_time(const Op& op) {
  for (int i = 0; i < rounds; ++i) {
    CAPTURE(i);
    if (!conforms(op, {}, aihub_conformance::user_settings(), dynamic)) break;
  }
}

struct part_size_only {
  std::optional<std::int64_t> part_size{};
  static constexpr auto json_fields() {
    return aihub::json::fields(json::field("part_size", &part_size_only::part_size));
  }
};

}  // namespace

TEST_SUITE("dynamic responses") {
  TEST_CASE("Batches") {
    decodes_every_time(create_batch{.name = "b"});
    decodes_every_time(list_batches{.workspace = "ws", .limit = 2});
    decodes_every_time(get_batch{.batch_id = 1});
    decodes_every_time(delete_batch{.batch_id = 1});
    decodes_every_time(list_files{.batch_id = 1, .page_size = 5});
    decodes_every_time(poll_batches_job{.job_id = "j"});
    static constexpr std::array<std::byte, 3> bytes{std::byte{1}, std::byte{2}, std::byte{3}};
    decodes_every_time(
        upload_file{.batch_id = 1, .name = "a b", .content = http::bytes_view_body{bytes}});
    decodes_every_time(delete_file{.batch_id = 1, .name = "a b"});
    decodes_every_time(
        upload_part{.session_id = "s", .part_num = 1, .content = http::bytes_view_body{bytes}});
    decodes_every_time(commit_multipart_upload{.session_id = "s", .parts = {{1, "p1"}, {2, "p2"}}});
    decodes_every_time(abort_multipart_upload{.session_id = "s"});
  }

  TEST_CASE("Batches: createMultipartUploadSession") {
    const start_multipart_upload op{.batch_id = 1, .name = "big.pdf", .file_size = 1 << 20};
    int refused = 0;
    for (int i = 0; i < rounds; ++i) {
      CAPTURE(i);
      auto response =
          aihub_conformance::accepted_exchange(op, {}, aihub_conformance::user_settings(), dynamic);
      if (!response) break;
      auto decoded = decode_response(op, *response);
      if (decoded) continue;
      INFO(decoded.error().describe() << "\n" << response->body);
      part_size_only generated;
      REQUIRE(json::builtin_codec{}.decode(response->body, generated));
      CHECK(decoded.error().field == "part_size");
      REQUIRE(generated.part_size.has_value());
      CHECK(*generated.part_size < 1);
      ++refused;
    }
    MESSAGE("createMultipartUploadSession: " << refused << " of " << rounds
                                             << " generated responses had a part_size below 1");
  }

  TEST_CASE("Runs") {
    decodes_every_time(run_app{.app_name = "a", .batch_id = 1});
    decodes_every_time(run_deployment{.deployment_id = "d", .batch_id = 1});
    decodes_every_time(get_run{.run_id = "r"});
    decodes_every_time(list_runs{.limit = 10});
    decodes_every_time(delete_run{.run_id = "r"});
    decodes_every_time(get_run_results{.run_id = "r",
                                       .include_review_results = true,
                                       .include_confidence_scores = true,
                                       .include_validation_results = true,
                                       .include_source_info = true});
  }

  TEST_CASE("Jobs") {
    decodes_every_time(get_job{.job_id = "j"});
  }
}
