#pragma once
// The blocking client: drives the step machines over any transport. It owns the settings, the retry
// policy, the clock and the sleeper (both injectable, so tests never really sleep) and the stop
// token. With a transport factory it also runs several sends at once (multipart parts in parallel),
// each worker thread with its own transport; flows themselves are only ever touched by the calling
// thread.

#include <algorithm>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "aihub/batches.hpp"
#include "aihub/flow.hpp"
#include "aihub/jobs.hpp"
#include "aihub/pagination.hpp"
#include "aihub/retry.hpp"
#include "aihub/runs.hpp"
#include "aihub/transport.hpp"
#include "aihub/upload.hpp"
#include "aihub/wait.hpp"

AIHUB_NAMESPACE_BEGIN

template <transport Transport>
struct client_options {
  retry_policy retry{};
  /// Applied to every send: per-request timeout, response size cap, progress. Its stop token is
  /// replaced by `stop` below.
  send_options send{};
  /// Stops waits and sends; an upload that is stopped aborts its multipart session first.
  std::stop_token stop{};
  /// Monotonic time; tests pass a fake.
  std::function<flow::time_point()> clock{};
  /// Sleeps until the time point (per `clock`) or until the stop token fires; tests pass a fake
  /// that advances their clock instead.
  std::function<void(flow::time_point, const std::stop_token&)> sleep_until{};
  /// Makes one more transport for a worker thread; without it every send goes through the client's
  /// own transport, one at a time.
  std::function<Transport()> transport_factory{};
  /// Sees every exchange (for --verbose logs). Print requests with http::to_string, which redacts.
  std::function<void(const http::request&, const result<http::response>&)> on_exchange{};
  /// A listing that claims more pages than this ends with error_kind::protocol: a server that
  /// always says "there is more" cannot keep a pager (or list_all_files) going forever.
  std::uint64_t max_pages = default_max_pages;
  /// After a stop, the longest each clean-up request (the abort of an upload's session) may take:
  /// a stalled server must not hold a stopping program for minutes.
  std::chrono::milliseconds cleanup_timeout{10'000};
};

template <transport Transport>
class client {
 public:
  using options_type = client_options<Transport>;

  client(Transport transport, settings config,
         options_type options = {}) requires std::move_constructible<Transport>
      : transport_(std::move(transport)), config_(std::move(config)), options_(std::move(options)) {
    init();
  }
  /// Builds the transport in place from `transport_args`, for a transport that cannot move (the
  /// libcurl multi transport, whose worker thread holds its address).
  template <class... Args>
  requires std::constructible_from<Transport, Args...> client(settings config, options_type options,
                                                              std::in_place_t,
                                                              Args&&... transport_args)
      : transport_(std::forward<Args>(transport_args)...),
        config_(std::move(config)),
        options_(std::move(options)) {
    init();
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  /// Movable when its transport is (a client in a container, returned from a factory). The call
  /// context points at the client's own settings, so it is re-pointed rather than copied. Not
  /// while a call is being driven.
  client(client&& other) noexcept(
      std::is_nothrow_move_constructible_v<Transport>) requires std::move_constructible<Transport>
      : transport_(std::move(other.transport_)),
        config_(std::move(other.config_)),
        options_(std::move(other.options_)),
        context_(other.context_) {
    context_.config = &config_;
  }
  client& operator=(client&& other) noexcept(
      std::is_nothrow_move_assignable_v<Transport>) requires std::is_move_assignable_v<Transport> {
    if (this != &other) {
      transport_ = std::move(other.transport_);
      config_ = std::move(other.config_);
      options_ = std::move(other.options_);
      context_ = other.context_;
      context_.config = &config_;
    }
    return *this;
  }
  ~client() = default;

  Transport& transport() noexcept { return transport_; }
  const settings& config() const noexcept { return config_; }
  /// The settings and retry policy every call of this client uses, for flows a caller builds and
  /// drives itself (a wait that keeps its last state): they retry as the client's own calls do.
  const flow::call_context& context() const noexcept { return context_; }

  /// One operation with retries.
  template <operation Op>
  result<typename Op::response_type> call(const Op& op, const call_options& options = {}) {
    flow::call_context ctx = context_;
    ctx.options = options;
    flow::call<Op> machine(op, ctx);
    return drive(machine);
  }

  /// Uploads `source` as `name` into the batch (one PUT, or a multipart session above the
  /// threshold).
  result<upload_outcome> upload(std::int64_t batch_id, file_name name, upload_source source,
                                upload_options options = {}) {
    upload_flow machine(batch_id, std::move(name), std::move(source), std::move(options), context_);
    return drive(machine);
  }

  /// Uploads the file at `path`; the remote name defaults to the file's base name.
  result<upload_outcome> upload_file(std::int64_t batch_id, const std::string& path,
                                     std::optional<std::string> remote_name = std::nullopt,
                                     upload_options options = {}) {
    auto source = upload_source::open_file(path);
    if (!source) return std::move(source).error();
    std::string name = remote_name ? *remote_name : base_name(path);
    return upload(batch_id, file_name(std::string_view(name)), std::move(*source),
                  std::move(options));
  }

  /// Waits for a batches job (a batch deletion) to end; FAILED or CANCELLED is an error.
  result<job_status> wait_for_batches_job(std::string job_id, wait_options options = {}) {
    wait_flow<poll_batches_job, job_wait_traits> machine(
        poll_batches_job{.job_id = std::move(job_id)}, options, context_);
    return drive(machine);
  }

  /// Waits for any job (GET /v2/jobs/{job_id}); FAILED or CANCELLED is an error.
  result<job_status> wait_for_job(std::string job_id, wait_options options = {}) {
    return wait_until_done<get_job, job_wait_traits>(get_job{.job_id = std::move(job_id)}, options);
  }

  /// Waits for a run to end. COMPLETE and STOPPED_AT_CHECKPOINT (see run::needs_review()) return
  /// the run; FAILED and CANCELLED are errors carrying the run's message.
  result<run> wait_for_run(std::string run_id, wait_options options = {}) {
    return wait_until_done<get_run, run_wait_traits>(get_run{.run_id = std::move(run_id)}, options);
  }

  /// Waits with any poll operation and traits.
  template <operation Op, class Traits>
  result<typename Op::response_type> wait_until_done(Op poll, wait_options options = {}) {
    wait_flow<Op, Traits> machine(std::move(poll), options, context_);
    return drive(machine);
  }

  /// Calls `on_page(page)` for every page a pager produces; stops at the first error, or when
  /// on_page returns false.
  template <class Pager, class F>
  result<std::uint64_t> for_each_page(Pager pager, F&& on_page) {
    std::uint64_t pages = 0;
    while (pager.next_request()) {
      auto page = call(*pager.next_request());
      if (!page) return std::move(page).error();
      AIHUB_TRY(pager.accept(*page));
      ++pages;
      if (!on_page(*page)) break;
    }
    return pages;
  }

  /// A lazy input range of pages: each element is a result<page>; an error is the last element.
  template <class Pager>
  class page_range {
   public:
    using page_type = typename Pager::page_type;
    page_range(client* owner, Pager pager) : owner_(owner), pager_(std::move(pager)) {}

    class iterator {
     public:
      using value_type = result<page_type>;
      using difference_type = std::ptrdiff_t;
      iterator() = default;
      explicit iterator(page_range* range) : range_(range) {}
      value_type& operator*() const { return *range_->current_; }
      value_type* operator->() const { return &*range_->current_; }
      iterator& operator++() {
        range_->advance();
        return *this;
      }
      void operator++(int) { range_->advance(); }
      friend bool operator==(const iterator& it, std::default_sentinel_t) {
        return it.range_->exhausted();
      }

     private:
      page_range* range_ = nullptr;
    };

    iterator begin() {
      if (!started_) {
        started_ = true;
        advance();
      }
      return iterator(this);
    }
    std::default_sentinel_t end() const noexcept { return {}; }
    bool exhausted() const noexcept { return !current_; }

   private:
    friend class iterator;
    void advance() {
      if (stopped_ || !pager_.next_request()) {
        current_.reset();
        return;
      }
      auto page = owner_->call(*pager_.next_request());
      if (page) {
        if (auto ok = pager_.accept(*page); !ok) page = result<page_type>(std::move(ok).error());
      }
      stopped_ = !page;
      current_.emplace(std::move(page));
    }

    client* owner_;
    Pager pager_;
    std::optional<result<page_type>> current_;
    bool started_ = false;
    bool stopped_ = false;
  };

  page_range<file_pager> file_pages(list_files first) {
    return {this, file_pager(std::move(first), options_.max_pages)};
  }
  page_range<batch_pager> batch_pages(list_batches first = {}) {
    return {this, batch_pager(std::move(first), options_.max_pages)};
  }
  page_range<results_pager> result_pages(get_run_results first) {
    return {this, results_pager(std::move(first), options_.max_pages)};
  }
  page_range<run_pager> run_pages(list_runs first = {}) {
    return {this, run_pager(std::move(first), options_.max_pages)};
  }

  /// Every file of a batch, all pages read.
  result<std::vector<file_node>> list_all_files(
      std::int64_t batch_id, std::optional<std::int64_t> page_size = std::nullopt) {
    std::vector<file_node> all;
    auto pages = for_each_page(
        file_pager(list_files{.batch_id = batch_id, .page_size = page_size}, options_.max_pages),
        [&](file_page& page) {
          for (auto& node : page.nodes) all.push_back(std::move(node));
          return true;
        });
    if (!pages) return std::move(pages).error();
    return all;
  }

  /// Runs any step machine to completion: sequentially over the client's transport, or with worker
  /// threads when the flow allows several sends at once and a transport factory was given.
  template <flow::step_machine Flow>
  result<typename Flow::value_type> drive(Flow& machine) {
    // A stop tightens the retry policy for the clean-up; the next call gets the client's own back.
    struct restore_policy {
      flow::call_context& context;
      retry_policy saved;
      ~restore_policy() { context.retry = saved; }
    } restore{context_, context_.retry};
    if constexpr (flow::parallel_machine<Flow>) {
      if (options_.transport_factory && machine.max_in_flight() > 1)
        return drive_parallel(machine, machine.max_in_flight());
    }
    send_options send = send_options_for_calls();
    bool stopping = false;
    for (;;) {
      if (!stopping && options_.stop.stop_requested() && !stop_flow(machine, send, stopping))
        return make_error(error_kind::cancelled, "stopped by the caller");
      flow::step s = machine.next(options_.clock());
      if (auto* out = std::get_if<flow::send_step>(&s)) {
        auto response = transport_.send(out->request, send);
        if (options_.on_exchange) options_.on_exchange(out->request, response);
        machine.on_response(out->id, std::move(response), options_.clock());
      } else if (auto* wait = std::get_if<flow::wait_step>(&s)) {
        options_.sleep_until(wait->until, send.stop);
      } else if (std::holds_alternative<flow::await_step>(s)) {
        return make_error(error_kind::protocol,
                          "internal: a flow awaits a response with none in flight");
      } else {
        return std::move(machine.outcome());
      }
    }
  }

 private:
  void init() {
    context_.config = &config_;
    context_.retry = options_.retry;
    if (!options_.clock) options_.clock = [] { return flow::clock::now(); };
    if (!options_.sleep_until) options_.sleep_until = interruptible_sleep;
  }

  static void interruptible_sleep(flow::time_point until, const std::stop_token& stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_until(lock, stop, until, [] { return false; });
  }

  static std::string base_name(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
  }

  send_options send_options_for_calls() const {
    send_options send = options_.send;
    send.stop = options_.stop;
    return send;
  }

  /// On a stop request, a flow that can wind down cleanly (an upload aborting its session) is told
  /// to, and keeps running with sends that no longer carry the stop token. Returns false when the
  /// flow has no such path and the driver should stop now.
  template <flow::step_machine Flow>
  bool stop_flow(Flow& machine, send_options& send, bool& stopping) {
    if constexpr (flow::cancellable_machine<Flow>) {
      stopping = true;
      machine.cancel(make_error(error_kind::cancelled, "stopped by the caller"));
      send.stop = std::stop_token();
      // The clean-up is bounded: each request, and all of its retries together, within
      // cleanup_timeout (the flows read the retry policy from this context as they go).
      if (options_.cleanup_timeout.count() > 0) {
        if (send.timeout.count() == 0 || send.timeout > options_.cleanup_timeout)
          send.timeout = options_.cleanup_timeout;
        context_.retry.max_total = std::min(context_.retry.max_total, options_.cleanup_timeout);
      }
      return true;
    } else {
      (void)machine;
      (void)send;
      (void)stopping;
      return false;
    }
  }

  template <flow::parallel_machine Flow>
  result<typename Flow::value_type> drive_parallel(Flow& machine, std::size_t workers) {
    struct job {
      std::uint64_t id;
      http::request request;
    };
    struct finished {
      std::uint64_t id;
      http::request request;
      result<http::response> response;
    };
    std::mutex m;
    std::condition_variable_any has_job, has_result;
    std::deque<job> jobs;
    std::deque<finished> results;
    bool closing = false;
    bool stopping = false;
    send_options send = send_options_for_calls();

    std::vector<std::jthread> threads;
    threads.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      threads.emplace_back([&, worker_transport = options_.transport_factory()]() mutable {
        for (;;) {
          std::unique_lock lock(m);
          has_job.wait(lock, [&] { return closing || !jobs.empty(); });
          if (jobs.empty()) return;
          job next = std::move(jobs.front());
          jobs.pop_front();
          send_options mine = send;
          lock.unlock();
          auto response = worker_transport.send(next.request, mine);
          lock.lock();
          results.push_back({next.id, std::move(next.request), std::move(response)});
          has_result.notify_one();
        }
      });
    }
    auto shutdown = [&] {
      {
        std::lock_guard lock(m);
        closing = true;
      }
      has_job.notify_all();
      threads.clear();  // joins
    };

    std::size_t in_flight = 0;
    for (;;) {
      if (!stopping && options_.stop.stop_requested()) {
        std::lock_guard lock(m);
        if (!stop_flow(machine, send, stopping)) break;
      }
      flow::step s = machine.next(options_.clock());
      if (auto* out = std::get_if<flow::send_step>(&s)) {
        {
          std::lock_guard lock(m);
          jobs.push_back({out->id, std::move(out->request)});
        }
        ++in_flight;
        has_job.notify_one();
        continue;
      }
      if (std::holds_alternative<flow::done_step>(s)) break;
      std::unique_lock lock(m);
      if (auto* wait = std::get_if<flow::wait_step>(&s)) {
        if (in_flight == 0) {
          lock.unlock();
          options_.sleep_until(wait->until, send.stop);
          continue;
        }
        has_result.wait_until(lock, send.stop, wait->until, [&] { return !results.empty(); });
      } else if (in_flight > 0) {
        has_result.wait(lock, send.stop, [&] { return !results.empty(); });
      } else {
        lock.unlock();
        shutdown();
        return make_error(error_kind::protocol,
                          "internal: a flow awaits a response with none in flight");
      }
      std::deque<finished> ready;
      ready.swap(results);
      lock.unlock();
      for (auto& item : ready) {
        --in_flight;
        if (options_.on_exchange) options_.on_exchange(item.request, item.response);
        machine.on_response(item.id, std::move(item.response), options_.clock());
      }
    }
    shutdown();
    if (!machine.done()) return make_error(error_kind::cancelled, "stopped by the caller");
    return std::move(machine.outcome());
  }

  Transport transport_;
  settings config_;
  options_type options_;
  flow::call_context context_;
};

// Every flow the client drives speaks the one protocol its drivers assume.
static_assert(flow::step_machine<flow::call<get_batch>>);
static_assert(flow::step_machine<wait_flow<poll_batches_job, job_wait_traits>>);
static_assert(flow::parallel_machine<upload_flow> && flow::cancellable_machine<upload_flow>);

AIHUB_NAMESPACE_END
