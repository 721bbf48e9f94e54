#include "../support/doctest_main.hpp"

// Under AddressSanitizer, freed memory waits in a quarantine (256 MiB by default) before it is
// reused, so resident memory would measure the sanitizer, not the client: these tests bound memory
// growth, so the quarantine is off for them (ASAN_OPTIONS still adds or overrides options).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIHUB_HOSTILE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define AIHUB_HOSTILE_ASAN 1
#endif
#ifdef AIHUB_HOSTILE_ASAN
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
}
#endif
