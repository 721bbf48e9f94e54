#pragma once
// Waiting for asynchronous work (a batches job, a job, a run) as a step machine: poll, and while
// the state is not terminal wait a growing interval, up to a deadline. Each poll is a call<> with
// retries. A job or run that ends FAILED (or CANCELLED) is an error of kind `failed` carrying the
// server's message; running past the deadline is a `timeout` error. Cancellation is the driver's
// stop token.

#include <algorithm>
#include <chrono>
#include <optional>

#include "aihub/batches.hpp"
#include "aihub/flow.hpp"
#include "aihub/runs.hpp"

AIHUB_NAMESPACE_BEGIN

struct wait_options {
  std::chrono::milliseconds first_interval{500};
  double multiplier = 1.5;
  std::chrono::milliseconds max_interval{10000};
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

/// How to read a job_status: terminal states and which of them are failures.
struct job_wait_traits {
  static bool terminal(const job_status& s) noexcept { return is_terminal(s.state); }
  static result<void> check(const job_status& s) {
    if (s.state == job_state::complete) return {};
    error e = make_error(error_kind::failed,
                         std::string("the job ended ") + std::string(to_string(s.state)));
    if (s.message) e.server_message = *s.message;
    return e;
  }
};

/// How to read a run: COMPLETE is success; STOPPED_AT_CHECKPOINT ends the wait successfully too,
/// with run::needs_review() telling the caller a human must look; FAILED and CANCELLED are errors
/// with the run's `msg`.
struct run_wait_traits {
  static bool terminal(const run& r) noexcept { return r.is_terminal(); }
  static result<void> check(const run& r) {
    if (r.status == run_status::complete || r.status == run_status::stopped_at_checkpoint)
      return {};
    error e = make_error(error_kind::failed,
                         std::string("the run ended ") + std::string(to_string(r.status)));
    if (r.msg) e.server_message = *r.msg;
    return e;
  }
};

template <operation Op, class Traits>
class wait_flow {
 public:
  using value_type = typename Op::response_type;

  wait_flow(Op poll, wait_options options, const flow::call_context& context)
      : poll_(std::move(poll)),
        options_(options),
        context_(&context),
        interval_(std::max(options.first_interval, std::chrono::milliseconds(1))) {}
  wait_flow(Op, wait_options, const flow::call_context&&) = delete;  // the context must outlive it

  flow::step next(flow::time_point now) {
    if (!deadline_) deadline_ = flow::add_saturating(now, options_.timeout);
    for (;;) {
      if (outcome_) return flow::done_step{};
      if (!current_) {
        if (now < next_poll_) return flow::wait_step{next_poll_};
        current_.emplace(poll_, *context_, ++polls_);
      }
      auto s = current_->next(now);
      if (!std::holds_alternative<flow::done_step>(s)) return s;
      auto& got = current_->outcome();
      if (!got) {
        outcome_ = result<value_type>(std::move(got).error());
        continue;
      }
      last_ = *got;
      current_.reset();
      if (Traits::terminal(*last_)) {
        if (auto ok = Traits::check(*last_); !ok) {
          error e = std::move(ok).error();
          e.operation = std::string(Op::endpoint_info.operation_id);
          if (context_->config) scrub_error(e, context_->config->token, {});
          outcome_ = result<value_type>(std::move(e));
        } else {
          outcome_ = result<value_type>(*last_);
        }
        continue;
      }
      next_poll_ = flow::add_saturating(now, interval_);
      interval_ = std::min(
          options_.max_interval,
          std::chrono::milliseconds(static_cast<std::int64_t>(
              static_cast<double>(interval_.count()) * std::max(1.0, options_.multiplier))));
      if (next_poll_ > *deadline_) {
        error e = make_error(error_kind::timeout,
                             "still not finished when the wait deadline ran out after " +
                                 std::to_string(polls_) + " poll(s)");
        e.operation = std::string(Op::endpoint_info.operation_id);
        outcome_ = result<value_type>(std::move(e));
      }
    }
  }

  void on_response(std::uint64_t, result<http::response> response, flow::time_point now) {
    if (current_) current_->on_response(std::move(response), now);
  }

  bool done() const noexcept { return outcome_.has_value(); }
  /// The last state seen, terminal or not (useful after a timeout).
  const std::optional<value_type>& last_seen() const noexcept { return last_; }
  std::uint64_t polls() const noexcept { return polls_; }
  result<value_type>& outcome() {
    AIHUB_ASSERT(done());
    return *outcome_;
  }

 private:
  Op poll_;
  wait_options options_;
  const flow::call_context* context_;
  std::chrono::milliseconds interval_;
  std::optional<flow::time_point> deadline_;
  flow::time_point next_poll_{};
  std::uint64_t polls_ = 0;
  std::optional<flow::call<Op>> current_;
  std::optional<value_type> last_;
  std::optional<result<value_type>> outcome_;
};

AIHUB_NAMESPACE_END
