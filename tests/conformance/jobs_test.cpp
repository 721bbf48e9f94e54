// The Jobs operation (jobStatus), built by the library, sent through libcurl to Prism and checked
// against the spec, including the job ids the other operations hand out.
#include <doctest/doctest.h>

#include <string>

#include "conformance.hpp"

using namespace aihub;
using aihub_conformance::conforms;

TEST_SUITE("jobs") {
  TEST_CASE("jobStatus") {
    for (std::string id : {"a1b2c3d4-e5f6-7890-abcd-ef1234567890", "job #1/2 100%+? \xC3\xA9"}) {
      CAPTURE(id);
      auto status = conforms(get_job{.job_id = id});
      CHECK(status.has_value());
    }
  }

  TEST_CASE("jobStatus for the jobs deleteBatch and deleteRun start") {
    auto batch_job = conforms(delete_batch{.batch_id = 1});
    REQUIRE(batch_job.has_value());
    CHECK(conforms(get_job{.job_id = batch_job->job_id}).has_value());

    auto deletion = conforms(delete_run{.run_id = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"});
    REQUIRE(deletion.has_value());
    for (const auto& id : deletion->job_ids()) {
      CAPTURE(id);
      CHECK(conforms(get_job{.job_id = id}).has_value());
    }
  }
}
