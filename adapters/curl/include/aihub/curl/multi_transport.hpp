#pragma once
// aihub::curl::multi_transport: many exchanges at once over one libcurl multi handle, driven by one
// worker thread. It satisfies both aihub::async_transport and aihub::transport:
//
//   aihub::curl::multi_transport t({.api_root = "https://tenant.example.com/api"});
//   for (auto& part : parts)  // all parts upload in parallel
//     t.async_send(part.request, {}, [&part](aihub::result<aihub::http::response> r) {
//       part.finished(std::move(r));
//     });
//
//   // or, from any number of threads at once, the blocking form:
//   auto r = t.send(request);
//
// Requests are built, checked and mapped exactly as by aihub::curl::transport (same headers,
// bodies, errors, redaction; see transport.hpp); this header only changes who drives libcurl.
//
// Threads and lifetimes
// - async_send() and send() may be called from any thread, concurrently. The worker thread runs
//   every libcurl callback: body readers, on_progress, the verbose sink and completion handlers.
// - A handler is called exactly once: on the worker thread, or on the caller's thread before
//   async_send() returns when the request is refused up front (invalid request, stop already
//   requested, transport shutting down). Handlers must not throw and must not block for long
//   (they hold up every other transfer); they may call async_send() again. The blocking send()
//   called from a handler or a callback would wait on itself; it fails with a validation error.
// - The request (and any memory its body views) must stay alive until its handler runs;
//   send_options are copied.
// - The destructor ends every unfinished exchange with error_kind::cancelled (their handlers run
//   before it returns) and joins the worker. Do not destroy the transport from its own handlers.
// - Connections are pooled in the multi handle and shared by all transfers; with HTTP/2 several
//   transfers may share one connection (libcurl's default multiplexing). max_connections bounds
//   the number of connections; transfers over the bound wait in libcurl's queue, and their
//   timeout runs while they wait.
// - Thread creation failing in the constructor leaves valid() false (with exceptions disabled,
//   the standard library aborts instead).

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "aihub/curl/detail/exchange.hpp"
#include "aihub/curl/options.hpp"
#include "aihub/curl/transport.hpp"
#include "aihub/http.hpp"
#include "aihub/result.hpp"
#include "aihub/transport.hpp"

AIHUB_NAMESPACE_BEGIN
namespace curl {

/// Limits of a multi_transport as a whole.
struct multi_options {
  /// Most connections open at once (CURLMOPT_MAX_TOTAL_CONNECTIONS); 0 = no limit.
  std::size_t max_connections = 0;
};

class multi_transport {
 public:
  explicit multi_transport(transport_options options, multi_options limits = {})
      : options_(std::move(options)) {
    if (detail::ensure_global_init() != CURLE_OK) return;
    multi_ = ::curl_multi_init();
    if (!multi_) return;
    if (limits.max_connections > 0)
      ::curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                          detail::clamp_to_long(limits.max_connections));
    worker_ = std::thread([this] { run(); });
  }

  ~multi_transport() {
    AIHUB_ASSERT(std::this_thread::get_id() != worker_.get_id());
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    if (multi_) ::curl_multi_wakeup(multi_);
    if (worker_.joinable()) worker_.join();
    for (CURL* easy : idle_) ::curl_easy_cleanup(easy);
    if (multi_) ::curl_multi_cleanup(multi_);
  }
  multi_transport(const multi_transport&) = delete;
  multi_transport& operator=(const multi_transport&) = delete;

  /// Starts the exchange and returns at once; `handler` receives the outcome exactly once.
  void async_send(const http::request& request, const send_options& options,
                  completion_handler handler) {
    auto refuse = [&](error e) {
      if (handler) handler(std::move(e));
    };
    if (!valid()) {
      refuse(make_error(error_kind::transport,
                        "the libcurl multi transport is not usable (curl_global_init, handle "
                        "allocation or thread creation failed)"));
      return;
    }
    if (options.stop.stop_requested()) {
      refuse(cancelled_before_sending("the request was cancelled before it was sent"));
      return;
    }
    auto prepared = detail::prepare(options_, request);
    if (!prepared) {
      refuse(std::move(prepared).error());
      return;
    }
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back(job{&request, options, std::move(handler), std::move(*prepared)});
        ::curl_multi_wakeup(multi_);
        return;
      }
    }
    refuse(cancelled_before_sending("the multi_transport is shutting down"));
  }

  /// Blocking form, safe to call from many threads at once (each call waits for its own exchange).
  result<http::response> send(const http::request& request, const send_options& options = {}) {
    if (std::this_thread::get_id() == worker_.get_id())
      return make_error(error_kind::validation,
                        "multi_transport::send() called from one of its own handlers or callbacks "
                        "would wait on itself; use async_send() there");
    struct waiter {
      std::mutex mutex;
      std::condition_variable done;
      std::optional<result<http::response>> outcome;
    };
    auto w = std::make_shared<waiter>();
    async_send(request, options, [w](result<http::response> r) {
      {
        std::lock_guard lock(w->mutex);
        w->outcome.emplace(std::move(r));
      }
      w->done.notify_one();
    });
    std::unique_lock lock(w->mutex);
    w->done.wait(lock, [&] { return w->outcome.has_value(); });
    return std::move(*w->outcome);
  }

  bool valid() const noexcept { return multi_ != nullptr && worker_.joinable(); }
  /// Connections opened so far (CURLINFO_NUM_CONNECTS summed over finished transfers).
  std::uint64_t connections_opened() const noexcept { return connections_.load(); }
  /// Exchanges handed to libcurl so far (successful or not).
  std::uint64_t exchanges() const noexcept { return exchanges_.load(); }
  const transport_options& options() const noexcept { return options_; }

 private:
  struct job {
    const http::request* request;
    send_options options;
    completion_handler handler;
    detail::prepared_request prepared;
  };
  /// A transfer in libcurl's hands. Heap-allocated: libcurl and the exchange keep pointers into it.
  struct active {
    explicit active(job j) : work(std::move(j)) {}
    job work;
    CURL* easy = nullptr;
    char error_buffer[CURL_ERROR_SIZE] = {};
    std::unique_ptr<detail::exchange> x;
    std::optional<std::stop_callback<detail::wake_multi>> wake;
  };

  static error cancelled_before_sending(const char* why) {
    error e = make_error(error_kind::cancelled, why);
    e.not_sent = true;
    return e;
  }

  void run() {
    std::vector<job> incoming;
    for (;;) {
      bool stopping = false;
      {
        std::lock_guard lock(mutex_);
        incoming.swap(queue_);
        stopping = stopping_;
      }
      if (stopping) {
        for (auto& j : incoming)
          if (j.handler)
            j.handler(cancelled_before_sending("the multi_transport was destroyed first"));
        while (!active_.empty()) {
          active_.front()->x->fail(
              make_error(error_kind::cancelled,
                         "the multi_transport was destroyed before the exchange finished"));
          complete(active_.begin(), CURLE_ABORTED_BY_CALLBACK);
        }
        return;
      }
      for (auto& j : incoming) start(std::move(j));
      incoming.clear();

      int running = 0;
      ::curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* message = ::curl_multi_info_read(multi_, &queued)) {
        if (message->msg != CURLMSG_DONE) continue;
        auto it = find(message->easy_handle);
        if (it != active_.end()) complete(it, message->data.result);
      }
      for (auto it = active_.begin(); it != active_.end();) {
        auto next = std::next(it);
        if ((*it)->work.options.stop.stop_requested()) {
          (*it)->x->fail_cancelled();
          complete(it, CURLE_ABORTED_BY_CALLBACK);
        }
        it = next;
      }
      // libcurl shortens the wait to its own next deadline; submissions, stop requests and the
      // destructor interrupt it through curl_multi_wakeup.
      ::curl_multi_poll(multi_, nullptr, 0, 10'000, nullptr);
    }
  }

  void start(job j) {
    if (j.options.stop.stop_requested()) {
      if (j.handler)
        j.handler(cancelled_before_sending("the request was cancelled before it was sent"));
      return;
    }
    CURL* easy = nullptr;
    if (!idle_.empty()) {
      easy = idle_.back();
      idle_.pop_back();
      ::curl_easy_reset(easy);
    } else {
      easy = ::curl_easy_init();
    }
    if (!easy) {
      if (j.handler) j.handler(make_error(error_kind::transport, "curl_easy_init failed"));
      return;
    }
    auto a = std::make_unique<active>(std::move(j));
    a->easy = easy;
    const http::request& request = *a->work.request;
    a->x = std::make_unique<detail::exchange>(
        easy, request, a->work.options, nullptr,
        detail::exchange_limits{a->work.options.max_response_bytes,
                                options_.max_response_header_bytes},
        detail::verbose_target(options_));
    detail::collect_all_secrets(*a->x, options_, request);
    detail::option_setter set{easy};
    detail::configure(set, *a->x, options_, request, a->work.options, a->work.prepared.url.c_str(),
                      a->work.prepared.headers.get(), a->work.prepared.body_length,
                      a->error_buffer);
    // A cached connection with unread bytes (a server that answered twice) would hand them to this
    // exchange as its response; while one is in the cache, exchanges connect afresh.
    if (set.first_error == CURLE_OK && cache_has_unread_input())
      set.long_(CURLOPT_FRESH_CONNECT, 1L, "CURLOPT_FRESH_CONNECT");
    CURLMcode added = CURLM_OK;
    if (set.first_error == CURLE_OK) added = ::curl_multi_add_handle(multi_, easy);
    if (set.first_error != CURLE_OK || added != CURLM_OK) {
      idle_.push_back(easy);
      completion_handler handler = std::move(a->work.handler);
      error e = set.first_error != CURLE_OK
                    ? detail::option_error(set)
                    : make_error(error_kind::transport, "curl_multi_add_handle failed");
      e.not_sent = true;
      a.reset();
      if (handler) handler(std::move(e));
      return;
    }
    ++exchanges_;
    if (a->work.options.stop.stop_possible())
      a->wake.emplace(a->work.options.stop, detail::wake_multi{multi_});
    active_.push_back(std::move(a));
  }

  std::list<std::unique_ptr<active>>::iterator find(CURL* easy) {
    return std::find_if(active_.begin(), active_.end(),
                        [&](const std::unique_ptr<active>& a) { return a->easy == easy; });
  }

  /// Detaches a transfer from libcurl, builds its outcome and hands it to the handler.
  void complete(std::list<std::unique_ptr<active>>::iterator it, CURLcode code) {
    std::unique_ptr<active> a = std::move(*it);
    active_.erase(it);
    a->wake.reset();
    remember_kept_socket(detail::kept_socket(a->easy, code));
    ::curl_multi_remove_handle(multi_, a->easy);  // an unfinished transfer's connection is closed
    connections_ += detail::connections_opened_by(a->easy);
    result<http::response> outcome = detail::finish(a->easy, code, *a->x, *a->work.request,
                                                    a->work.prepared.url, a->error_buffer);
    idle_.push_back(a->easy);
    completion_handler handler = std::move(a->work.handler);
    a.reset();  // nothing refers to the request any more
    if (handler) handler(std::move(outcome));
  }

  /// Sockets completed transfers left in the connection cache (the most recent few).
  void remember_kept_socket(curl_socket_t fd) {
    if (fd == CURL_SOCKET_BAD) return;
    if (std::find(kept_sockets_.begin(), kept_sockets_.end(), fd) != kept_sockets_.end()) return;
    if (kept_sockets_.size() >= detail::max_checked_sockets)
      kept_sockets_.erase(kept_sockets_.begin());
    kept_sockets_.push_back(fd);
  }
  /// Whether a remembered socket has bytes waiting. A socket libcurl has since closed, or one now
  /// busy with a transfer, can only make this say yes: a fresh connection more, never a wrong
  /// answer.
  bool cache_has_unread_input() const { return detail::has_unread_input(kept_sockets_); }

  transport_options options_;
  CURLM* multi_ = nullptr;
  std::thread worker_;

  std::mutex mutex_;        // guards queue_ and stopping_
  std::vector<job> queue_;  // submitted, not yet started
  bool stopping_ = false;

  // Worker-thread state.
  std::list<std::unique_ptr<active>> active_;
  std::vector<CURL*> idle_;  // reset easy handles kept for reuse
  std::vector<curl_socket_t> kept_sockets_;

  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> exchanges_{0};
};

static_assert(::aihub::transport<multi_transport>,
              "aihub::curl::multi_transport must satisfy aihub::transport");
static_assert(::aihub::async_transport<multi_transport>,
              "aihub::curl::multi_transport must satisfy aihub::async_transport");

}  // namespace curl
AIHUB_NAMESPACE_END
