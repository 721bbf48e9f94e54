#pragma once
// aihub::curl::transport: a blocking aihub::transport over libcurl.
//
//   aihub::curl::transport t({.api_root = "https://tenant.example.com/api"});
//   aihub::send_options options;
//   options.timeout = std::chrono::seconds(30);
//   aihub::result<aihub::http::response> r = t.send(request, options);
//
// What it does
// - Joins transport_options::api_root (any path prefix kept, trailing slashes dropped) and the
//   request's target, which is already percent-encoded and goes out as is (no dot-segment removal).
// - Sends exactly the request's headers. libcurl adds only what HTTP/1.1 framing needs (Host,
//   Content-Length); its own defaults (Accept: */*, a form Content-Type on POST,
//   Expect: 100-continue) are suppressed unless the request sets them itself. Redirects are not
//   followed: a 3xx is returned as is, so the Authorization header never travels to another host.
// - Streams request bodies through libcurl's read callback from http::body_stream, with the length
//   known up front: PUT goes out as an upload (CURLOPT_INFILESIZE_LARGE), every other verb with a
//   body as a POST-style body (CURLOPT_POSTFIELDSIZE_LARGE, the verb set with
//   CURLOPT_CUSTOMREQUEST). Memory does not grow with the body: it is read in upload_buffer_size
//   pieces straight into libcurl's buffer. Rewindable bodies are replayed (CURLOPT_SEEKFUNCTION)
//   when libcurl resends on a fresh connection.
// - Collects the status, the headers of the final response (interim 1xx responses are dropped) and
//   the body, up to send_options::max_response_bytes. A bigger 2xx body stops the transfer with
//   error_kind::protocol (not transport: the network worked, the answer broke the caller's limit,
//   and retrying will not help). A bigger body with any other status is cut at the limit and the
//   response returned, so a 401 or a 429 keeps its status and Retry-After. The three-argument
//   send() streams a 2xx body to a body_sink.
// - Never reuses a kept-alive connection that has unread bytes waiting (a server that sent more
//   than one answer): those bytes would be taken as the next request's response. The transport
//   drops its cached connections instead and opens a fresh one.
// - Honours send_options: timeout (whole exchange; 0 = transport_options::timeout), stop (a stop
//   request wakes the transfer at once and ends it with error_kind::cancelled), on_progress (called
//   on the sending thread, once per change, and a last time with the final counts).
//
// Errors
//   DNS failure, refused connection ........ transport, retryable, not_sent
//   TLS handshake or certificate failure ... transport, not_sent (retryable: handshake only)
//   reset, no answer, truncated body ....... transport, retryable
//   time limit or stalled transfer ......... timeout, retryable (not_sent if nothing was sent yet)
//   stop_token ............................. cancelled
//   2xx body over max_response_bytes ....... protocol
//   headers over max_response_header_bytes,
//   or over libcurl's own header limits .... protocol
//   bad api_root, target or header ......... validation, not_sent (nothing touched the network)
// Messages name the method and URL (never a header value; a user:password in a URL is redacted)
// and carry libcurl's own explanation.
//
// Threads
// - One transport owns one libcurl easy handle and one multi handle (the connection cache lives
//   there, so consecutive requests reuse keep-alive connections and TLS sessions). An instance must
//   not be used from two threads at once; a concurrent or re-entrant call is refused with a
//   validation error instead of corrupting the handle. Instances are cheap (no connection is opened
//   before the first send), so concurrent senders use one transport each:
//
//     // parts 0..n-1 of a file, uploaded by 4 threads with a transport (and connection) each
//     std::vector<std::jthread> workers;
//     for (std::size_t w = 0; w < 4; ++w)
//       workers.emplace_back([&, w] {
//         aihub::curl::transport t(options);
//         for (std::size_t part = w; part < n; part += 4) results[part] = t.send(parts[part]);
//       });
//
//   aihub::curl::multi_transport (multi_transport.hpp) is the alternative: one object, any number
//   of threads, or async_send() with completion handlers, over a shared connection pool.
// - libcurl's process-wide initialisation: the first transport calls curl_global_init exactly once
//   (thread-safe among aihub users, and never undone). curl_global_init and curl_global_cleanup
//   are not thread-safe against other code calling them at the same moment (libcurl < 7.84); a
//   program that also uses libcurl elsewhere creates one aihub::curl::global_init in main() before
//   starting threads.
//
// Exceptions
//   Nothing here throws, and the header builds with -fno-exceptions -fno-rtti. With exceptions
//   enabled, an exception escaping user code run inside a transfer (a byte_reader, on_progress, a
//   body_sink) never unwinds through libcurl: it ends the transfer with a transport error.

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "aihub/curl/detail/exchange.hpp"
#include "aihub/curl/options.hpp"
#include "aihub/http.hpp"
#include "aihub/result.hpp"
#include "aihub/transport.hpp"

AIHUB_NAMESPACE_BEGIN
namespace curl {

namespace detail {
/// The handles of one transport. Kept behind a pointer so a transport moves cheaply and libcurl
/// keeps a stable address for the error buffer.
struct session {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
  std::uint64_t connections = 0;
  std::uint64_t exchanges = 0;
  std::atomic<bool> busy{false};

  /// The socket of the connection the last exchange left in the cache (CURL_SOCKET_BAD: none).
  curl_socket_t idle_socket = CURL_SOCKET_BAD;

  session() noexcept {
    if (ensure_global_init() != CURLE_OK) return;
    easy = ::curl_easy_init();
    multi = ::curl_multi_init();
  }

  /// Called before each exchange. An idle keep-alive connection must have nothing to read: bytes
  /// waiting there are an answer nobody asked for, and libcurl 7.x would hand them to the next
  /// request as its response. Such a connection is closed (with the whole cache: the multi handle
  /// owns it) so the next exchange connects afresh. False when a new multi handle could not be
  /// made.
  bool drop_connection_with_unread_input() noexcept {
    const curl_socket_t fd = std::exchange(idle_socket, CURL_SOCKET_BAD);
    if (!detail::has_unread_input(std::span(&fd, 1))) return true;
    ::curl_multi_cleanup(multi);
    multi = ::curl_multi_init();
    return multi != nullptr;
  }
  ~session() {
    if (multi) ::curl_multi_cleanup(multi);  // closes the cached connections
    if (easy) ::curl_easy_cleanup(easy);
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;
};

/// Releases the busy flag of a session when a send ends, however it ends.
class busy_guard {
 public:
  explicit busy_guard(std::atomic<bool>& flag) noexcept
      : flag_(flag), acquired_(!flag.exchange(true, std::memory_order_acquire)) {}
  ~busy_guard() {
    if (acquired_) flag_.store(false, std::memory_order_release);
  }
  busy_guard(const busy_guard&) = delete;
  busy_guard& operator=(const busy_guard&) = delete;
  bool acquired() const noexcept { return acquired_; }

 private:
  std::atomic<bool>& flag_;
  bool acquired_;
};

/// Stop-callback body: interrupts curl_multi_poll from any thread.
struct wake_multi {
  CURLM* multi;
  void operator()() const noexcept { ::curl_multi_wakeup(multi); }
};
}  // namespace detail

/// A blocking aihub::transport over libcurl. See the top of this header for behaviour, errors and
/// threading rules: in short, one instance per thread; instances are cheap.
class transport {
 public:
  explicit transport(transport_options options)
      : options_(std::move(options)), session_(std::make_unique<detail::session>()) {}

  transport(transport&&) noexcept = default;
  transport& operator=(transport&&) noexcept = default;
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;
  ~transport() = default;

  /// Sends the request and returns the server's answer, whatever its status, or why there is none.
  result<http::response> send(const http::request& request, const send_options& options = {}) {
    return send_impl(request, options, nullptr);
  }

  /// Like send(), but a 2xx response body goes to `sink` chunk by chunk (response::body stays empty
  /// and max_response_bytes does not apply to it); other statuses are buffered into response::body
  /// as usual, so error payloads stay readable. The sink returning false ends the transfer with
  /// error_kind::cancelled.
  result<http::response> send(const http::request& request, const send_options& options,
                              const body_sink& sink) {
    return send_impl(request, options, &sink);
  }

  /// Whether libcurl's handles exist (false after a failed curl_global_init or allocation, or when
  /// moved from); send() then fails with a transport error.
  bool valid() const noexcept { return session_ && session_->easy && session_->multi; }

  /// Connections opened so far (CURLINFO_NUM_CONNECTS summed): a keep-alive reuse adds nothing.
  std::uint64_t connections_opened() const noexcept { return session_ ? session_->connections : 0; }
  /// Exchanges that reached libcurl (successful or not).
  std::uint64_t exchanges() const noexcept { return session_ ? session_->exchanges : 0; }

  const transport_options& options() const noexcept { return options_; }

 private:
  result<http::response> send_impl(const http::request& request, const send_options& options,
                                   const body_sink* sink) {
    if (!valid())
      return make_error(
          error_kind::transport,
          "the libcurl transport is not usable (curl_global_init or handle allocation "
          "failed, or it was moved from)");
    detail::busy_guard busy(session_->busy);
    if (!busy.acquired())
      return make_error(
          error_kind::validation,
          "this aihub::curl::transport is already sending on another thread (or from a "
          "callback); use one transport per thread");
    if (options.stop.stop_requested()) {
      error e = make_error(error_kind::cancelled, "the request was cancelled before it was sent");
      e.not_sent = true;
      return e;
    }
    auto prepared = detail::prepare(options_, request);
    if (!prepared) return std::move(prepared).error();

    if (!session_->drop_connection_with_unread_input())
      return make_error(error_kind::transport, "libcurl could not allocate a multi handle");
    CURL* easy = session_->easy;
    ::curl_easy_reset(easy);  // per-request options only; connections, DNS and TLS caches survive
    session_->error_buffer[0] = '\0';
    detail::exchange x(easy, request, options, sink,
                       {options.max_response_bytes, options_.max_response_header_bytes},
                       detail::verbose_target(options_));
    detail::collect_all_secrets(x, options_, request);
    detail::option_setter set{easy};
    detail::configure(set, x, options_, request, options, prepared->url.c_str(),
                      prepared->headers.get(), prepared->body_length, session_->error_buffer);
    if (set.first_error != CURLE_OK) return detail::option_error(set);

    ++session_->exchanges;
    CURLcode code = CURLE_OK;
    if (!perform(options.stop, code)) x.fail_cancelled();
    session_->connections += detail::connections_opened_by(easy);
    return detail::finish(easy, code, x, request, prepared->url, session_->error_buffer);
  }

  /// Runs the transfer on the session's multi handle. A stop request wakes the poll at once
  /// (through curl_multi_wakeup) instead of waiting for libcurl's next progress callback. Returns
  /// false when the stop request ended the transfer (`code` is then CURLE_ABORTED_BY_CALLBACK);
  /// otherwise `code` is libcurl's verdict.
  bool perform(const std::stop_token& stop, CURLcode& code) {
    CURLM* multi = session_->multi;
    CURL* easy = session_->easy;
    if (CURLMcode added = ::curl_multi_add_handle(multi, easy); added != CURLM_OK) {
      code = added == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
      return true;
    }
    bool stopped = false;
    {
      std::optional<std::stop_callback<detail::wake_multi>> wake;
      if (stop.stop_possible()) wake.emplace(stop, detail::wake_multi{multi});
      for (;;) {
        int running = 0;
        CURLMcode mc = ::curl_multi_perform(multi, &running);
        if (mc != CURLM_OK) {
          code = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
          break;
        }
        if (running == 0) {
          code = CURLE_FAILED_INIT;  // replaced by the CURLMSG_DONE result below
          int queued = 0;
          while (CURLMsg* message = ::curl_multi_info_read(multi, &queued))
            if (message->msg == CURLMSG_DONE && message->easy_handle == easy)
              code = message->data.result;
          break;
        }
        if (stop.stop_requested()) {
          stopped = true;
          code = CURLE_ABORTED_BY_CALLBACK;
          break;
        }
        // libcurl shortens the wait to its own next deadline (timeouts, speed checks); a stop
        // request interrupts it through curl_multi_wakeup. The limit here is only a safety net.
        mc = ::curl_multi_poll(multi, nullptr, 0, 10'000, nullptr);
        if (mc != CURLM_OK) {
          code = CURLE_FAILED_INIT;
          break;
        }
      }
    }
    // The connection that stays cached after a completed transfer; checked before the next one.
    if (!stopped) session_->idle_socket = detail::kept_socket(easy, code);
    ::curl_multi_remove_handle(multi, easy);  // an unfinished transfer's connection is closed here
    return !stopped;
  }

  transport_options options_;
  std::unique_ptr<detail::session> session_;
};

static_assert(::aihub::transport<transport>,
              "aihub::curl::transport must satisfy aihub::transport");

}  // namespace curl
AIHUB_NAMESPACE_END
