// A literal file name with '/' is caught at compile time.
#include <aihub/batches.hpp>

aihub::upload_file make() {
#ifdef AIHUB_COMPILE_FAIL
  return aihub::upload_file{.batch_id = 7, .name = "reports/a.pdf", .content = {}};
#else
  return aihub::upload_file{.batch_id = 7, .name = "reports-a.pdf", .content = {}};
#endif
}
