#pragma once
// error and result<T>: failures are values. The library never throws, so it builds and behaves the
// same with -fno-exceptions. Two error families stay apart: the caller misused the API (validation)
// versus the network or the server misbehaved (everything else).

#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "aihub/config.hpp"

AIHUB_NAMESPACE_BEGIN

enum class error_kind : std::uint8_t {
  validation,   ///< the request was refused before any byte was sent
  transport,    ///< DNS, connect, TLS, reset, truncated response...
  timeout,      ///< a configured time limit ran out
  cancelled,    ///< the caller asked to stop
  http_status,  ///< the server answered a status the operation does not define as success
  decode,       ///< the response body is not what the spec promises
  protocol,     ///< the server broke a rule of a flow (a repeated page token, a session it lost...)
  failed,       ///< a job or run the caller waited for ended FAILED or CANCELLED
  local_input,  ///< a local file could not be read, or changed while it was being sent
};

constexpr std::string_view to_string(error_kind kind) noexcept {
  switch (kind) {
    case error_kind::validation:
      return "validation";
    case error_kind::transport:
      return "transport";
    case error_kind::timeout:
      return "timeout";
    case error_kind::cancelled:
      return "cancelled";
    case error_kind::http_status:
      return "http_status";
    case error_kind::decode:
      return "decode";
    case error_kind::protocol:
      return "protocol";
    case error_kind::failed:
      return "failed";
    case error_kind::local_input:
      return "local_input";
  }
  return "unknown";
}

/// What went wrong, with enough context to act on it. Never contains the bearer token: every
/// message is built from field names, rules, statuses and the server's own words.
struct error {
  error_kind kind = error_kind::transport;
  std::string message;    ///< one human sentence: what and why
  std::string operation;  ///< the OpenAPI operationId ("createBatch"), when known
  std::string field;      ///< for validation and decode errors: the offending field or JSON path
  int http_status = 0;    ///< for http_status errors
  std::string server_message;  ///< the `message` of the error body, when the server sent one
  bool retryable = false;      ///< 429, 502-504 and connection failures; see retry policies
  bool not_sent = false;    ///< the request surely never reached the server (DNS, connect refused)
  std::string retry_after;  ///< the server's Retry-After header, verbatim, when it sent one
  /// The request is not idempotent, its answer never arrived and it was not resent: the server may
  /// or may not have applied it (a batch or a run may exist). Check before trying again.
  bool may_have_been_applied = false;

  friend bool operator==(const error&, const error&) = default;

  /// "createBatch: HTTP 403: consumption units exhausted (server: quota hit)".
  std::string describe() const {
    std::string out;
    if (!operation.empty()) out.append(operation).append(": ");
    if (kind == error_kind::http_status)
      out.append("HTTP ").append(std::to_string(http_status)).append(": ");
    out.append(message);
    if (!server_message.empty() && server_message != message)
      out.append(" (server: ").append(server_message).append(")");
    return out;
  }
};

inline error make_error(error_kind kind, std::string message, std::string field = {}) {
  error e;
  e.kind = kind;
  e.message = std::move(message);
  e.field = std::move(field);
  return e;
}

/// A validation error: "<field>: <rule>".
inline error validation_error(std::string_view field, std::string_view rule) {
  std::string message;
  message.reserve(field.size() + rule.size() + 2);
  message.append(field).append(": ").append(rule);
  return make_error(error_kind::validation, std::move(message), std::string(field));
}

/// Tag for constructing a result in the error state: `return unexpected(e);` or `return fail(e)`.
struct unexpected {
  error value;
  explicit unexpected(error e) : value(std::move(e)) {}
};

template <class T>
class result;

/// Success or an error. The error lives on the heap, so the success path (every check that
/// passes, many per request) moves and destroys one null pointer instead of an error's strings.
template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;
  result() noexcept = default;
  result(unexpected failure) : failure_(new ::aihub::error(std::move(failure.value))) {}
  result(::aihub::error failure) : failure_(new ::aihub::error(std::move(failure))) {}
  result(const result& other)
      : failure_(other.failure_ ? new ::aihub::error(*other.failure_) : nullptr) {}
  result(result&& other) noexcept : failure_(std::exchange(other.failure_, nullptr)) {}
  result& operator=(result other) noexcept {
    std::swap(failure_, other.failure_);
    return *this;
  }
  ~result() { delete failure_; }

  bool has_value() const noexcept { return failure_ == nullptr; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const { AIHUB_ASSERT(has_value()); }
  const ::aihub::error& error() const& {
    AIHUB_ASSERT(!has_value());
    return *failure_;
  }
  ::aihub::error& error() & {
    AIHUB_ASSERT(!has_value());
    return *failure_;
  }
  ::aihub::error error() && {
    AIHUB_ASSERT(!has_value());
    return std::move(*failure_);
  }
  template <class F>
  auto and_then(F&& f) const {
    using next = std::invoke_result_t<F>;
    if (!has_value()) return next(unexpected(*failure_));
    return std::forward<F>(f)();
  }

  friend bool operator==(const result& a, const result& b) {
    if (a.has_value() || b.has_value()) return a.has_value() == b.has_value();
    return *a.failure_ == *b.failure_;
  }

 private:
  ::aihub::error* failure_ = nullptr;
};

/// Holds a T or an error. A C++20 stand-in for std::expected<T, error> that is the same type in
/// every translation unit whatever the language mode (an alias switching to std::expected under
/// C++23 would make C++20 and C++23 units disagree: an ODR violation).
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, ::aihub::error>, "result<error> is ambiguous");

 public:
  using value_type = T;

  template <class U = T, std::enable_if_t<std::is_default_constructible_v<U>, int> = 0>
  result() : state_(std::in_place_index<0>) {}
  result(const T& value) : state_(std::in_place_index<0>, value) {}
  result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}
  template <class U, std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                          !std::is_same_v<std::remove_cvref_t<U>, T> &&
                                          !std::is_same_v<std::remove_cvref_t<U>, result> &&
                                          !std::is_same_v<std::remove_cvref_t<U>, unexpected> &&
                                          !std::is_same_v<std::remove_cvref_t<U>, ::aihub::error>,
                                      int> = 0>
  result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}
  result(unexpected failure) : state_(std::in_place_index<1>, std::move(failure.value)) {}
  result(::aihub::error failure) : state_(std::in_place_index<1>, std::move(failure)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    AIHUB_ASSERT(has_value());
    return *std::get_if<0>(&state_);
  }
  const T& value() const& {
    AIHUB_ASSERT(has_value());
    return *std::get_if<0>(&state_);
  }
  T value() && {
    AIHUB_ASSERT(has_value());
    return std::move(*std::get_if<0>(&state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const ::aihub::error& error() const& {
    AIHUB_ASSERT(!has_value());
    return *std::get_if<1>(&state_);
  }
  ::aihub::error& error() & {
    AIHUB_ASSERT(!has_value());
    return *std::get_if<1>(&state_);
  }
  ::aihub::error error() && {
    AIHUB_ASSERT(!has_value());
    return std::move(*std::get_if<1>(&state_));
  }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
  }

  /// f(T) -> result<U>; errors pass through untouched.
  template <class F>
  auto and_then(F&& f) && {
    using next = std::invoke_result_t<F, T&&>;
    if (!has_value()) return next(unexpected(std::move(*this).error()));
    return std::forward<F>(f)(std::move(*this).value());
  }
  template <class F>
  auto and_then(F&& f) const& {
    using next = std::invoke_result_t<F, const T&>;
    if (!has_value()) return next(unexpected(error()));
    return std::forward<F>(f)(value());
  }
  /// f(T) -> U; wraps the value, errors pass through.
  template <class F>
  auto transform(F&& f) const& {
    return result(*this).transform(std::forward<F>(f));
  }
  template <class F>
  auto transform(F&& f) && {
    using next_value = std::remove_cvref_t<std::invoke_result_t<F, T&&>>;
    if (!has_value()) return result<next_value>(unexpected(std::move(*this).error()));
    if constexpr (std::is_void_v<next_value>) {
      std::forward<F>(f)(std::move(*this).value());
      return result<void>();
    } else {
      return result<next_value>(std::forward<F>(f)(std::move(*this).value()));
    }
  }

  friend bool operator==(const result&, const result&) = default;

 private:
  std::variant<T, ::aihub::error> state_;
};

/// Evaluates a result-returning expression; on error, returns the error from the enclosing
/// function.
#define AIHUB_TRY(expr)                                                 \
  do {                                                                  \
    if (auto aihub_try_result_ = (expr); !aihub_try_result_)            \
      return ::aihub::unexpected(std::move(aihub_try_result_).error()); \
  } while (false)

AIHUB_NAMESPACE_END
