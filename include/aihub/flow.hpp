#pragma once
// Flows as step machines (the sans-I/O idea): a flow never sends, sleeps or reads a clock. Asked
// for its next step, it says "send this request" (tagged with an id), "wait until this time",
// "nothing to do until a response comes back" or "done"; it is then fed the responses and the
// current time. A blocking driver (client.hpp) runs that loop for most users; an event loop can
// drive the same machines asynchronously, with several sends outstanding at once.
//
// call<Op> is the smallest flow: one operation with retries. The composite flows (upload,
// pagination, waiting) are built from it.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "aihub/http.hpp"
#include "aihub/operation.hpp"
#include "aihub/result.hpp"
#include "aihub/retry.hpp"

AIHUB_NAMESPACE_BEGIN
namespace flow {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

/// Send `request`; feed the outcome back with the same id.
struct send_step {
  std::uint64_t id = 0;
  http::request request{};
  endpoint info{};
};
/// Nothing to send before `until` (a retry backoff or a polling interval). When sends are
/// outstanding, a response arriving earlier also ends the wait.
struct wait_step {
  time_point until{};
};
/// Everything possible is in flight: feed a response before asking again.
struct await_step {};
/// The flow has its outcome.
struct done_step {};

using step = std::variant<send_step, wait_step, await_step, done_step>;

/// What every driver needs of a flow, and all it may assume: asked for its next step at a time, it
/// answers with a step; each response is fed back with the id of its send_step; once done() it
/// holds its outcome. The blocking client and an event loop drive the same machines through this.
template <class F>
concept step_machine = requires(F& machine, const F& view, time_point now, std::uint64_t id,
                                result<http::response> response) {
  typename F::value_type;
  { machine.next(now) } -> std::same_as<step>;
  machine.on_response(id, std::move(response), now);
  { view.done() } -> std::same_as<bool>;
  { machine.outcome() } -> std::same_as<result<typename F::value_type>&>;
};

/// A flow that can wind down cleanly when stopped (an upload aborting its session): after
/// cancel() it keeps sending what it must and then ends with the given error. cancel() says
/// whether anything is left to send.
template <class F>
concept cancellable_machine = step_machine<F> && requires(F& machine, error reason) {
  { machine.cancel(std::move(reason)) } -> std::convertible_to<bool>;
};

/// A flow that may have several sends in flight at once (parts of one upload), up to
/// max_in_flight(); a driver that sends one at a time drives it correctly too, only slower.
template <class F>
concept parallel_machine = step_machine<F> && requires(const F& machine) {
  { machine.max_in_flight() } -> std::convertible_to<std::size_t>;
};

/// `t + d`, clamped to the largest time point instead of overflowing (a "forever" timeout).
inline time_point add_saturating(time_point t, std::chrono::milliseconds d) noexcept {
  if (d.count() <= 0) return t;
  // Compared in milliseconds: converting a huge `d` to the clock's ticks would itself overflow.
  auto room = std::chrono::duration_cast<std::chrono::milliseconds>(time_point::max() - t);
  if (room <= d) return time_point::max();
  return t + d;
}

/// Everything a call needs besides the operation. Flows keep a pointer to it: it must outlive them.
struct call_context {
  const settings* config = nullptr;
  call_options options{};
  retry_policy retry{};
  std::chrono::system_clock::time_point (*wall_clock)() = &std::chrono::system_clock::now;
};

/// One operation, retried per the policy. Steps: send → (wait → send)* → done.
template <operation Op>
class call {
 public:
  using value_type = typename Op::response_type;

  call(Op op, const call_context& context, std::uint64_t id = 0)
      : op_(std::move(op)), context_(&context), id_(id), jitter_(seed_for(context, id)) {
    if constexpr (operation_with_secrets<Op>) op_.collect_secrets(secrets_);
  }
  call(Op, const call_context&&, std::uint64_t = 0) = delete;  // the context must outlive the call

  step next(time_point now) {
    switch (state_) {
      case state::ready: {
        if (!started_) {
          started_ = true;
          first_attempt_ = now;
        }
        auto request = build_request(op_, *context_->config, context_->options);
        if (!request) {
          error e = std::move(request).error();
          e.operation = std::string(Op::endpoint_info.operation_id);
          outcome_ = result<value_type>(std::move(e));
          state_ = state::done;
          return done_step{};
        }
        // A streamed body was consumed by the last attempt: start it over, or give up with the
        // error that caused the retry rather than resend a half-read body.
        if (attempts_ > 0) {
          if (auto* streamed = std::get_if<http::reader_body>(&request->body)) {
            auto rewound = streamed->reader && streamed->reader->can_rewind()
                               ? streamed->reader->rewind()
                               : result<void>(make_error(error_kind::protocol, "not rewindable"));
            if (!rewound) {
              error e = last_error_ ? *last_error_ : std::move(rewound).error();
              e.message.append(" (not retried: the request body cannot be replayed)");
              outcome_ = result<value_type>(std::move(e));
              state_ = state::done;
              return done_step{};
            }
          }
        }
        state_ = state::in_flight;
        ++attempts_;
        return send_step{id_, std::move(*request), Op::endpoint_info};
      }
      case state::backing_off:
        if (now >= retry_at_) {
          state_ = state::ready;
          return next(now);
        }
        return wait_step{retry_at_};
      case state::in_flight:
        return await_step{};
      case state::done:
        break;
    }
    return done_step{};
  }

  /// Feeds the outcome of the last send_step (a call has one send in flight at most, so the id
  /// only confirms it).
  void on_response(std::uint64_t id, result<http::response> response, time_point now) {
    AIHUB_ASSERT(id == id_);
    (void)id;
    on_response(std::move(response), now);
  }
  void on_response(result<http::response> response, time_point now) {
    AIHUB_ASSERT(state_ == state::in_flight);
    result<value_type> decoded = response ? decode_response(op_, *response)
                                          : result<value_type>(tag(std::move(response).error()));
    if (!decoded) {
      error& failure = decoded.error();
      scrub_error(failure, context_->config ? std::string_view(context_->config->token) : "",
                  secrets_);
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - first_attempt_);
      if (auto delay =
              next_retry_delay(context_->retry, Op::endpoint_info, attempts_, decoded.error(),
                               elapsed, jitter_, context_->wall_clock())) {
        last_error_ = decoded.error();
        retry_at_ = add_saturating(now, *delay);
        state_ = state::backing_off;
        return;
      }
    }
    if (!decoded) {
      error e = std::move(decoded).error();
      note_outcome_unknown(e, Op::endpoint_info);
      decoded = result<value_type>(std::move(e));
    }
    outcome_ = std::move(decoded);
    state_ = state::done;
  }

  bool done() const noexcept { return state_ == state::done; }
  bool in_flight() const noexcept { return state_ == state::in_flight; }
  bool backing_off() const noexcept { return state_ == state::backing_off; }
  int attempts() const noexcept { return attempts_; }
  const Op& operation() const noexcept { return op_; }
  /// The error that caused the current backoff, if any.
  const std::optional<error>& last_error() const noexcept { return last_error_; }

  result<value_type>& outcome() {
    AIHUB_ASSERT(state_ == state::done);
    return *outcome_;
  }

 private:
  enum class state : std::uint8_t { ready, in_flight, backing_off, done };

  static std::uint64_t seed_for(const call_context& context, std::uint64_t id) noexcept {
    std::uint64_t seed =
        context.retry.jitter_seed
            ? *context.retry.jitter_seed
            : static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&context)) ^
                  static_cast<std::uint64_t>(clock::now().time_since_epoch().count());
    return seed ^ (id * 0x2545F4914F6CDD1Dull);
  }

  static error tag(error e) {
    e.operation = std::string(Op::endpoint_info.operation_id);
    return e;
  }

  Op op_;
  const call_context* context_;
  std::uint64_t id_;
  jitter_source jitter_;
  state state_ = state::ready;
  bool started_ = false;
  int attempts_ = 0;
  time_point first_attempt_{};
  time_point retry_at_{};
  std::optional<error> last_error_;
  std::optional<result<value_type>> outcome_;
  std::vector<std::string> secrets_;  ///< scrubbed from the server's words in errors
};

}  // namespace flow
AIHUB_NAMESPACE_END
