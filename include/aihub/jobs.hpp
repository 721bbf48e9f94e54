#pragma once
// The Jobs API (OpenAPI tag "Jobs"): polling the asynchronous jobs that file operations start, such
// as deleting a batch (delete_batch) or a run's directories (delete_run). The response schema,
// `jobStatusResponse`, is the one pollBatchesJob returns, so both decode into job_status.

#include <string>
#include <utility>

#include "aihub/batches.hpp"
#include "aihub/http.hpp"
#include "aihub/operation.hpp"
#include "aihub/result.hpp"
#include "aihub/settings.hpp"
#include "aihub/url.hpp"
#include "aihub/validate.hpp"

AIHUB_NAMESPACE_BEGIN

/// jobStatus: GET /v2/jobs/{job_id} → 200 job_status. The preferred way to poll any job id the API
/// hands out (batch_job::job_id, run_deletion::job_ids()).
struct get_job {
  static constexpr endpoint endpoint_info{"jobStatus", http::method::get, "/v2/jobs/{job_id}", 200,
                                          true};
  using response_type = job_status;

  std::string job_id{};

  result<void> validate(const settings&) const { return check_path_id("job_id", job_id); }
  void write_target(http::target_string& out) const {
    url::target_writer(out).path("/v2/jobs").segment(job_id);
  }
};

AIHUB_NAMESPACE_END
