// A padded char array is not a string literal: taking it as one would send its NULs as part of the
// name.
#include <aihub/batches.hpp>

#ifdef AIHUB_COMPILE_FAIL
constexpr char padded[16] = "report";
#else
constexpr char padded[7] = "report";
#endif

aihub::create_batch make() {
  return aihub::create_batch{.name = padded};
}
