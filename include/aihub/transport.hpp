#pragma once
// The transport boundary: one concept, one function. A transport executes a request description and
// returns what the server answered. Any HTTP status is a successful send; only the operation layer
// decides what a status means. Blocking and asynchronous transports sit side by side over the same
// descriptions.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <stop_token>

#include "aihub/http.hpp"
#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN

/// Progress of one exchange, in bytes; totals are 0 when unknown.
struct transfer_progress {
  std::uint64_t sent = 0;
  std::uint64_t send_total = 0;
  std::uint64_t received = 0;
  std::uint64_t receive_total = 0;
};

/// Per-call knobs every transport should honour (a transport documents the ones it cannot).
struct send_options {
  std::chrono::milliseconds timeout{0};          ///< whole exchange; 0 = the transport's default
  std::stop_token stop{};                        ///< a stop request cancels the exchange
  std::uint64_t max_response_bytes = 64u << 20;  ///< a larger response body is an error, not an OOM
  std::function<void(const transfer_progress&)>
      on_progress{};  ///< optional; called from the sending thread
};

/// A blocking transport: `t.send(request, options)` returns the response or a transport-level
/// error.
template <class T>
concept transport = requires(T& t, const http::request& request, const send_options& options) {
  { t.send(request, options) } -> std::same_as<result<http::response>>;
};

using completion_handler = std::function<void(result<http::response>)>;

/// An asynchronous transport: `t.async_send(request, options, handler)` returns at once and calls
/// the handler exactly once, from any thread. The request must stay alive until the handler runs.
/// Operations, encoders and decoders are shared with the blocking kind; only the driver differs.
template <class T>
concept async_transport = requires(T& t, const http::request& request, const send_options& options,
                                   completion_handler h) {
  { t.async_send(request, options, std::move(h)) } -> std::same_as<void>;
};

/// Gives a readable diagnostic where a transport is expected ("T does not satisfy
/// aihub::transport").
template <class T>
constexpr bool check_transport() {
  static_assert(transport<T>,
                "aihub: this type is not a transport. It needs a member function "
                "`aihub::result<aihub::http::response> send(const aihub::http::request&, "
                "const aihub::send_options&)`.");
  return transport<T>;
}

AIHUB_NAMESPACE_END
