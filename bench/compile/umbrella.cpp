// Compile-time probe: the umbrella header alone.
#include <aihub/aihub.hpp>
