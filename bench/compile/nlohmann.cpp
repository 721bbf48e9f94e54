// Compile-time probe: nlohmann/json alone.
#include <nlohmann/json.hpp>
