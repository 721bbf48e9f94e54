// A create_batch without a name must not compile: batch_name has no default constructor.
#include <aihub/batches.hpp>

aihub::create_batch make() {
#ifdef AIHUB_COMPILE_FAIL
  return aihub::create_batch{.workspace = "ws"};
#else
  return aihub::create_batch{.name = "reports", .workspace = "ws"};
#endif
}
