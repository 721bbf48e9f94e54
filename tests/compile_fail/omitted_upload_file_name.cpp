// An upload without a file name must not compile.
#include <aihub/batches.hpp>

aihub::upload_file make() {
#ifdef AIHUB_COMPILE_FAIL
  return aihub::upload_file{.batch_id = 7, .content = aihub::http::file_slice{"a.pdf", 0, 10}};
#else
  return aihub::upload_file{
      .batch_id = 7, .name = "a.pdf", .content = aihub::http::file_slice{"a.pdf", 0, 10}};
#endif
}
