#pragma once
// Build-mode detection and the assertion hook. A violated precondition (calling value() on an
// error, say) is a programming bug: it goes to a hook the application may replace, never to abort()
// on server input.

#include <cstdio>
#include <cstdlib>

#include "aihub/version.hpp"

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define AIHUB_HAS_EXCEPTIONS 1
#else
#define AIHUB_HAS_EXCEPTIONS 0
#endif

AIHUB_NAMESPACE_BEGIN

using assertion_handler = void (*)(const char* expression, const char* file, int line);

namespace detail {
[[noreturn]] inline void default_assertion_handler(const char* expression, const char* file,
                                                   int line) noexcept {
  std::fprintf(stderr, "aihub: precondition violated: %s (%s:%d)\n", expression, file, line);
  std::abort();
}
inline assertion_handler& assertion_handler_slot() noexcept {
  static assertion_handler handler = nullptr;
  return handler;
}
[[noreturn]] inline void assertion_failed(const char* expression, const char* file, int line) {
  if (auto handler = assertion_handler_slot()) handler(expression, file, line);
  // A replaced handler that returns cannot resume the violated contract.
  default_assertion_handler(expression, file, line);
}
}  // namespace detail

/// Installs a handler for precondition violations; returns the previous one. The handler may log,
/// throw (when exceptions are enabled) or terminate; if it returns, the default handler aborts.
inline assertion_handler set_assertion_handler(assertion_handler handler) noexcept {
  auto previous = detail::assertion_handler_slot();
  detail::assertion_handler_slot() = handler;
  return previous;
}

AIHUB_NAMESPACE_END

#define AIHUB_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::aihub::detail::assertion_failed(#expr, __FILE__, __LINE__))
