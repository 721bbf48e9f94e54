#pragma once
// Internals of the libcurl adapter, shared by curl::transport and curl::multi_transport: typed
// curl_easy_setopt wrappers, request checks, the state of one exchange behind libcurl's C
// callbacks, redaction of verbose output, the per-request easy-handle configuration and the
// CURLcode -> aihub::error mapping. Nothing here is public API; it may change in any release.

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "aihub/body_stream.hpp"
#include "aihub/config.hpp"
#include "aihub/curl/options.hpp"
#include "aihub/http.hpp"
#include "aihub/result.hpp"
#include "aihub/transport.hpp"

#ifndef _WIN32
#include <poll.h>
#include <sys/socket.h>
#endif

AIHUB_NAMESPACE_BEGIN
namespace curl {
namespace detail {

// -----------------------------------------------------------------------------------------------
// Typed setopt wrappers. curl_easy_setopt is variadic and C++ builds get no type checking from
// curl.h, so every call goes through one of these to pass exactly the type libcurl reads.

inline CURLcode set_long(CURL* easy, CURLoption option, long value) noexcept {
  return ::curl_easy_setopt(easy, option, value);
}
inline CURLcode set_off(CURL* easy, CURLoption option, curl_off_t value) noexcept {
  return ::curl_easy_setopt(easy, option, value);
}
inline CURLcode set_str(CURL* easy, CURLoption option, const char* value) noexcept {
  return ::curl_easy_setopt(easy, option, value);
}
inline CURLcode set_ptr(CURL* easy, CURLoption option, void* value) noexcept {
  return ::curl_easy_setopt(easy, option, value);
}
template <class Function>
CURLcode set_fn(CURL* easy, CURLoption option, Function* function) noexcept {
  return ::curl_easy_setopt(easy, option, function);
}

/// Clamps a duration to the `long` milliseconds libcurl takes (0 stays 0: "no limit").
inline long to_curl_ms(std::chrono::milliseconds ms) noexcept {
  if (ms.count() <= 0) return 0;
  constexpr long long cap = 0x7fffffffLL;  // LONG_MAX on every platform libcurl supports
  return static_cast<long>(ms.count() < cap ? ms.count() : cap);
}

// -----------------------------------------------------------------------------------------------
// Redaction of verbose output.

inline bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline std::size_t ifind(std::string_view haystack, std::string_view needle, std::size_t from) {
  if (needle.empty() || haystack.size() < needle.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= haystack.size(); ++i)
    if (::aihub::detail::iequals(haystack.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

inline void replace_all(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

/// Redacts one line of verbose output: the value of every Authorization, Proxy-Authorization,
/// Cookie or Set-Cookie header in it, shown as an HTTP/1 header line ("Authorization: Bearer x")
/// or in libcurl's HTTP/2 trace ("h2h3 [authorization: Bearer x]"); and the user:password part
/// of URLs, as libcurl prints proxy variables ("http://user:secret@proxy:3128").
inline std::string redact_line(std::string_view line) {
  std::string out(line);
  static constexpr std::string_view names[] = {"proxy-authorization", "authorization", "set-cookie",
                                               "cookie"};
  for (std::string_view name : names) {
    for (std::size_t at = ifind(out, name, 0); at != std::string::npos;
         at = ifind(out, name, at + 1)) {
      // A whole header name: not the tail of a longer token ("proxy-authorization" holds
      // "authorization"; that one is handled under its own name).
      if (at > 0 && is_token_char(out[at - 1])) continue;
      std::size_t colon = at + name.size();
      while (colon < out.size() && (out[colon] == ' ' || out[colon] == '\t')) ++colon;
      if (colon >= out.size() || out[colon] != ':') continue;
      std::size_t value_begin = colon + 1;
      while (value_begin < out.size() && (out[value_begin] == ' ' || out[value_begin] == '\t'))
        ++value_begin;
      std::size_t value_end = out.size();
      while (value_end > value_begin && (out[value_end - 1] == '\r' || out[value_end - 1] == '\n'))
        --value_end;
      if (at > 0 && out[at - 1] == '[') {  // "[name: value]": the value ends at the last ']'
        std::size_t bracket = out.rfind(']');
        if (bracket != std::string::npos && bracket >= value_begin) value_end = bracket;
      }
      if (value_end <= value_begin) continue;
      std::string shown = ::aihub::http::redacted_value(
          std::string_view(out).substr(at, name.size()),
          std::string_view(out).substr(value_begin, value_end - value_begin));
      out.replace(value_begin, value_end - value_begin, shown);
    }
  }
  for (std::size_t scheme = out.find("://"); scheme != std::string::npos;
       scheme = out.find("://", scheme + 3)) {
    std::size_t authority = scheme + 3;
    std::size_t end = out.find_first_of("/ \t'\"?#>]\r\n", authority);
    if (end == std::string::npos) end = out.size();
    std::size_t at_sign = out.rfind('@', end);
    if (at_sign == std::string::npos || at_sign < authority) continue;
    out.replace(authority, at_sign - authority, "<redacted>");
  }
  return out;
}

/// Redacts a block of verbose output line by line, then removes every literal occurrence of the
/// known secrets (the credentials of the current request), whatever shape libcurl printed them in.
inline std::string redact_verbose(std::string_view text, std::span<const std::string> secrets) {
  std::string out;
  out.reserve(text.size() + 16);
  while (!text.empty()) {
    std::size_t newline = text.find('\n');
    std::size_t take = newline == std::string_view::npos ? text.size() : newline + 1;
    out.append(redact_line(text.substr(0, take)));
    text.remove_prefix(take);
  }
  for (const std::string& secret : secrets) replace_all(out, secret, "<redacted>");
  return out;
}

/// The credentials a request carries, to scrub from verbose output: each sensitive header value and
/// its credential part after the scheme ("Bearer <token>" gives the whole value and "<token>").
/// Values too short to be secrets are skipped so the scrub cannot mangle ordinary text.
inline void collect_secrets(const http::header_list& headers, std::vector<std::string>& out) {
  for (const auto& h : headers) {
    if (!http::is_sensitive_header(h.name)) continue;
    std::string_view value = h.value;
    if (value.size() >= 4) out.emplace_back(value);
    std::size_t space = value.find(' ');
    if (space != std::string_view::npos) {
      std::string_view credential = value.substr(space + 1);
      while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
      if (credential.size() >= 4) out.emplace_back(credential);
    }
  }
}

/// The "user:password" of a URL, if it has one (a proxy URL, say).
inline std::string url_userinfo(std::string_view url) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::size_t authority = scheme + 3;
  std::size_t end = url.find_first_of("/?#", authority);
  if (end == std::string_view::npos) end = url.size();
  std::size_t at_sign = url.rfind('@', end);
  if (at_sign == std::string_view::npos || at_sign < authority) return {};
  return std::string(url.substr(authority, at_sign - authority));
}

/// A URL as it may appear in a message: any user:password part replaced.
inline std::string printable_url(std::string_view url) {
  return redact_line(url);
}

inline void write_to_stderr(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
}

// -----------------------------------------------------------------------------------------------
// Request checks done before any byte is sent.

/// Refuses what would corrupt the request's framing: CR/LF injection, framing headers that
/// contradict the body, a target that is not percent-encoded, a HEAD with a body.
inline result<void> check_headers(const http::request& request, std::uint64_t body_length) {
  for (const auto& h : request.headers) {
    if (h.name.empty() || !std::all_of(h.name.begin(), h.name.end(), is_token_char))
      return validation_error("headers",
                              "header name \"" + std::string(h.name) + "\" is not an HTTP token");
    for (char c : h.value)
      if (c == '\r' || c == '\n' || c == '\0')
        return validation_error("headers." + std::string(h.name),
                                "header value contains a CR, LF or NUL character");
    if (::aihub::detail::iequals(h.name, "transfer-encoding"))
      return validation_error(
          "headers.Transfer-Encoding",
          "the transport frames every body with Content-Length; remove this header");
    if (::aihub::detail::iequals(h.name, "content-length")) {
      std::string_view v = h.value;
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      std::uint64_t declared = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), declared);
      if (ec != std::errc() || end != v.data() + v.size() || declared != body_length)
        return validation_error("headers.Content-Length",
                                "does not match the body length " + std::to_string(body_length));
    }
  }
  for (char c : request.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return validation_error("target",
                              "must be percent-encoded (it holds a space or control byte)");
  if (request.verb == http::method::head && http::has_body(request.body))
    return validation_error("body", "a HEAD request cannot carry a body");
  return {};
}

/// api_root (without its trailing slashes) + target, with exactly one slash between them.
inline result<std::string> join_url(std::string_view api_root, std::string_view target) {
  auto starts_with_i = [](std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() &&
           ::aihub::detail::iequals(s.substr(0, prefix.size()), prefix);
  };
  if (!starts_with_i(api_root, "http://") && !starts_with_i(api_root, "https://"))
    return validation_error("api_root", "must start with https:// or http://");
  while (!api_root.empty() && api_root.back() == '/') api_root.remove_suffix(1);
  std::string url;
  url.reserve(api_root.size() + target.size() + 1);
  url.append(api_root);
  if (target.empty() || (target.front() != '/' && target.front() != '?')) url.push_back('/');
  url.append(target);
  return url;
}

// -----------------------------------------------------------------------------------------------
// One exchange: everything the callbacks touch while libcurl runs a transfer.

struct exchange_limits {
  std::uint64_t max_response_bytes = 0;
  std::uint64_t max_header_bytes = 0;
};

inline std::string describe_bytes(std::uint64_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

class exchange {
 public:
  exchange(CURL* easy, const http::request& request, const send_options& options,
           const body_sink* sink, exchange_limits limits, const verbose_sink* verbose)
      : easy_(easy),
        options_(options),
        sink_(sink),
        verbose_(verbose),
        limits_(limits),
        body_(request.body) {}
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  http::body_stream& body() noexcept { return body_; }
  std::vector<std::string>& secrets() noexcept { return secrets_; }
  const std::optional<error>& failure() const noexcept { return failure_; }
  /// The body of a non-2xx response was cut at max_response_bytes (the response still counts).
  bool error_body_cut() const noexcept { return error_body_cut_; }
  /// No byte of a response body arrived yet (the transfer ended while headers were coming in).
  bool awaiting_body() const noexcept { return first_write_; }

  /// Records why a callback aborted the transfer (the first reason wins).
  void fail(error e) {
    if (!failure_) failure_ = std::move(e);
  }
  void fail_cancelled() {
    error e = make_error(error_kind::cancelled, "the request was cancelled through its stop_token");
    fail(std::move(e));
  }

  /// The response as received so far (status filled in by the caller from CURLINFO_RESPONSE_CODE).
  http::response take_response() {
    http::response out;
    std::size_t bytes = 0;
    for (const auto& h : headers_) bytes += http::header_list::entry_size(h.name, h.value);
    out.headers.reserve(bytes);
    for (const auto& h : headers_) out.headers.add(h.name, h.value);
    out.body = std::move(body_text_);
    return out;
  }

  /// Reports the final byte counts once more, so the last call always shows the finished transfer.
  void report_final_progress(std::uint64_t sent, std::uint64_t received,
                             std::int64_t receive_total) {
    transfer_progress p;
    p.sent = sent;
    p.send_total = body_.size();
    p.received = received;
    p.receive_total = receive_total >= 0 ? static_cast<std::uint64_t>(receive_total) : received;
    report(p);
  }

  // --- libcurl callbacks: static member functions with the exact C signatures libcurl calls;
  // each is noexcept, so no exception ever unwinds through libcurl's C frames ---

  static std::size_t on_read(char* buffer, std::size_t size, std::size_t count,
                             void* self) noexcept {
    auto& x = *static_cast<exchange*>(self);
    return x.guarded(
        static_cast<std::size_t>(CURL_READFUNC_ABORT), "reading the request body", [&] {
          auto got = x.body_.read(
              std::span<std::byte>(reinterpret_cast<std::byte*>(buffer), size * count));
          if (!got) {
            x.fail(std::move(got).error());
            return static_cast<std::size_t>(CURL_READFUNC_ABORT);
          }
          return *got;
        });
  }

  static int on_seek(void* self, curl_off_t offset, int origin) noexcept {
    auto& x = *static_cast<exchange*>(self);
    // libcurl only seeks to replay a body from its start (a resend on a fresh connection);
    // arbitrary offsets would be resumed uploads, which this transport never asks for.
    if (origin != SEEK_SET || offset != 0 || !x.body_.rewindable()) return CURL_SEEKFUNC_CANTSEEK;
    return x.guarded(int{CURL_SEEKFUNC_FAIL}, "rewinding the request body", [&] {
      auto rewound = x.body_.rewind();
      if (!rewound) {
        x.fail(std::move(rewound).error());
        return int{CURL_SEEKFUNC_FAIL};
      }
      return int{CURL_SEEKFUNC_OK};
    });
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count,
                               void* self) noexcept {
    auto& x = *static_cast<exchange*>(self);
    const std::size_t length = size * count;
    return x.guarded(std::size_t{0}, "parsing a response header", [&] {
      x.header_bytes_ += length;
      if (x.header_bytes_ > x.limits_.max_header_bytes) {
        error e = make_error(error_kind::protocol, "the response headers exceed " +
                                                       describe_bytes(x.limits_.max_header_bytes));
        x.fail(std::move(e));
        return std::size_t{0};
      }
      std::string_view line(data, length);
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
      if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
        // A new status line: an interim 1xx response came before, or libcurl restarted the exchange
        // on a fresh connection. Only the last response's headers count.
        x.headers_.clear();
        x.body_text_.clear();
        x.received_ = 0;
        x.first_write_ = true;
        return length;
      }
      if (line.empty()) return length;
      if ((line.front() == ' ' || line.front() == '\t') && !x.headers_.empty()) {
        std::string_view more = trim(line);  // obsolete line folding: continues the previous value
        if (!more.empty()) x.headers_.back().value.append(" ").append(more);
        return length;
      }
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return length;  // not a header: ignore
      x.headers_.push_back(
          {std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
      return length;
    });
  }

  static std::size_t on_write(char* data, std::size_t size, std::size_t count,
                              void* self) noexcept {
    auto& x = *static_cast<exchange*>(self);
    const std::size_t length = size * count;
    return x.guarded(std::size_t{0}, "receiving the response body", [&]() -> std::size_t {
      if (x.first_write_) {
        x.first_write_ = false;
        long status = 0;
        ::curl_easy_getinfo(x.easy_, CURLINFO_RESPONSE_CODE, &status);
        x.success_status_ = status >= 200 && status < 300;
        x.to_sink_ = x.sink_ && *x.sink_ && x.success_status_;
        if (!x.to_sink_) {
          curl_off_t announced = -1;
          ::curl_easy_getinfo(x.easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
          const bool over =
              announced > 0 && static_cast<std::uint64_t>(announced) > x.limits_.max_response_bytes;
          if (over && x.success_status_) {
            x.fail(too_large(x.limits_.max_response_bytes, static_cast<std::uint64_t>(announced)));
            return 0;
          }
          if (announced > 0 && !over) x.body_text_.reserve(static_cast<std::size_t>(announced));
        }
      }
      if (x.to_sink_) {
        x.received_ += length;
        if (!(*x.sink_)(std::string_view(data, length))) {
          x.fail(make_error(error_kind::cancelled, "the response body sink stopped the transfer"));
          return 0;
        }
        return length;
      }
      if (x.received_ + length > x.limits_.max_response_bytes) {
        if (x.success_status_) {
          x.fail(too_large(x.limits_.max_response_bytes, 0));
          return 0;
        }
        // An error status keeps what matters (the status, Retry-After, the start of the body):
        // the body is cut at the limit and the exchange ends as a response, not as a failure.
        const std::size_t room =
            static_cast<std::size_t>(x.limits_.max_response_bytes - x.received_);
        x.body_text_.append(data, room);
        x.received_ += room;
        x.error_body_cut_ = true;
        return 0;
      }
      x.body_text_.append(data, length);
      x.received_ += length;
      return length;
    });
  }

  static int on_progress(void* self, curl_off_t download_total, curl_off_t downloaded,
                         curl_off_t /*upload_total*/, curl_off_t uploaded) noexcept {
    auto& x = *static_cast<exchange*>(self);
    if (x.options_.stop.stop_requested()) {
      x.guarded(0, "cancelling", [&] {
        x.fail_cancelled();
        return 0;
      });
      return 1;
    }
    if (!x.options_.on_progress) return 0;
    transfer_progress p;
    p.sent = uploaded > 0 ? static_cast<std::uint64_t>(uploaded) : 0;
    p.send_total = x.body_.size();  // known up front, whatever libcurl has worked out so far
    p.received = downloaded > 0 ? static_cast<std::uint64_t>(downloaded) : 0;
    p.receive_total = download_total > 0 ? static_cast<std::uint64_t>(download_total) : 0;
    return x.guarded(1, "the on_progress callback", [&] {
      x.report(p);
      return 0;
    });
  }

  static int on_debug(CURL*, curl_infotype type, char* data, std::size_t size,
                      void* self) noexcept {
    auto& x = *static_cast<exchange*>(self);
    if (!x.verbose_ || !*x.verbose_) return 0;
    std::string_view text(data, size);
    // A failing sink must not fail the transfer: verbose output is best effort.
    x.guarded(
        0, "the verbose sink",
        [&] {
          std::string out;
          switch (type) {
            case CURLINFO_TEXT:
              out = prefix_lines("* ", text);
              break;
            case CURLINFO_HEADER_OUT:
              out = prefix_lines("> ", text);
              break;
            case CURLINFO_HEADER_IN:
              out = prefix_lines("< ", text);
              break;
            case CURLINFO_DATA_OUT:
              out = "> [" + std::to_string(size) + " bytes of request body]\n";
              break;
            case CURLINFO_DATA_IN:
              out = "< [" + std::to_string(size) + " bytes of response body]\n";
              break;
            default:
              return 0;  // TLS records: binary noise
          }
          (*x.verbose_)(redact_verbose(out, x.secrets_));
          return 0;
        },
        /*record_failure=*/false);
    return 0;
  }

 private:
  static std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  static std::string prefix_lines(std::string_view prefix, std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    while (!text.empty()) {
      std::size_t newline = text.find('\n');
      std::string_view line = text.substr(0, newline);
      text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
      while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty() && text.empty()) break;
      out.append(prefix).append(line).push_back('\n');
    }
    return out;
  }

  static error too_large(std::uint64_t limit, std::uint64_t announced) {
    std::string message = "the response body ";
    if (announced > 0)
      message.append("announces ").append(std::to_string(announced)).append(" bytes, over");
    else
      message.append("exceeds");
    message.append(" the ")
        .append(describe_bytes(limit))
        .append(" limit (send_options::max_response_bytes); the transfer was stopped");
    return make_error(error_kind::protocol, std::move(message));
  }

  void report(const transfer_progress& p) {
    if (!options_.on_progress) return;
    if (reported_ && p.sent == last_.sent && p.send_total == last_.send_total &&
        p.received == last_.received && p.receive_total == last_.receive_total)
      return;
    reported_ = true;
    last_ = p;
    options_.on_progress(p);
  }

  /// Runs a callback body; an exception escaping user code (a reader, a sink, on_progress) is
  /// turned into the exchange's failure instead of unwinding through libcurl.
  template <class R, class F>
  R guarded(R on_exception, const char* what, F&& f, bool record_failure = true) noexcept {
#if AIHUB_HAS_EXCEPTIONS
    try {
      return std::forward<F>(f)();
    } catch (...) {
      if (record_failure)
        fail(make_error(error_kind::transport, std::string("an exception escaped ") + what));
      return on_exception;
    }
#else
    (void)on_exception;
    (void)what;
    (void)record_failure;
    return std::forward<F>(f)();
#endif
  }

  CURL* easy_;
  const send_options& options_;
  const body_sink* sink_;
  const verbose_sink* verbose_;
  exchange_limits limits_;
  http::body_stream body_;
  std::vector<std::string> secrets_;
  /// Header lines as received (folded lines join the previous value), copied into the response's
  /// header_list once the headers are complete.
  struct received_header {
    std::string name, value;
  };
  std::vector<received_header> headers_;
  std::string body_text_;
  std::uint64_t received_ = 0;
  std::uint64_t header_bytes_ = 0;
  std::optional<error> failure_;
  transfer_progress last_{};
  bool reported_ = false;
  bool first_write_ = true;
  bool to_sink_ = false;
  bool success_status_ = false;
  bool error_body_cut_ = false;
};

// -----------------------------------------------------------------------------------------------
// CURLcode -> aihub::error.

struct failure_context {
  std::string_view method;
  std::string_view url;          ///< already printable (no userinfo)
  std::string_view curl_detail;  ///< libcurl's error buffer for this transfer
  bool nothing_sent = false;     ///< no byte of the request left this host (pretransfer never ran)
  bool receiving_headers = false;  ///< the request went out and the response headers were arriving
};

inline error map_curl_error(CURLcode code, const failure_context& context) {
  error e;
  e.kind = error_kind::transport;
  std::string_view what;
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      what = "could not resolve the server's host name";
      e.retryable = true;
      e.not_sent = true;
      break;
    case CURLE_COULDNT_RESOLVE_PROXY:
      what = "could not resolve the proxy's host name";
      e.retryable = true;
      e.not_sent = true;
      break;
    case CURLE_COULDNT_CONNECT:
      what = "could not connect (refused or unreachable)";
      e.retryable = true;
      e.not_sent = true;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      e.kind = error_kind::timeout;
      what = context.nothing_sent ? "timed out before the request was sent" : "timed out";
      e.retryable = true;
      e.not_sent = context.nothing_sent;
      break;
    case CURLE_SSL_CONNECT_ERROR:
      what = "the TLS handshake failed";
      e.retryable = true;  // often a reset in the middle of the handshake
      e.not_sent = true;   // no HTTP byte goes out before the handshake completes
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
      what =
          "the server's TLS certificate or host name could not be verified (see "
          "transport_options::ca_bundle)";
      e.not_sent = true;
      break;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      what = "TLS is misconfigured or the server's certificate was refused";
      e.not_sent = true;
      break;
    case CURLE_SEND_ERROR:
      what = "the connection failed while sending the request";
      e.retryable = true;
      break;
    case CURLE_RECV_ERROR:
      what = "the connection failed while receiving the response";
      e.retryable = true;
      break;
    case CURLE_GOT_NOTHING:
      what = "the server closed the connection without answering";
      e.retryable = true;
      break;
    case CURLE_PARTIAL_FILE:
      what = "the response was truncated: the connection closed before the announced body arrived";
      e.retryable = true;
      break;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      what = "the HTTP/2 stream failed";
      e.retryable = true;
      break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
      what = "the server's reply is not valid HTTP";
      break;
    case CURLE_URL_MALFORMAT:
      e.kind = error_kind::validation;
      e.field = "api_root";
      what = "the request URL is malformed";
      e.not_sent = true;
      break;
    case CURLE_SEND_FAIL_REWIND:
      what = "the request body had to be sent again but cannot be rewound";
      break;
    case CURLE_ABORTED_BY_CALLBACK:
      what = "the transfer was aborted";
      break;
    case CURLE_OUT_OF_MEMORY:
      what = "libcurl ran out of memory";
      break;
    default:
      what = "the transfer failed";
      break;
  }
  // libcurl's own header limits (100 KiB per line, 300 KiB in all) end a transfer as a receive
  // error or as "out of memory": the server sent oversized headers, and resending will not help.
  const bool header_limit =
      (code == CURLE_RECV_ERROR &&
       context.curl_detail.find("response headers") != std::string_view::npos) ||
      (code == CURLE_OUT_OF_MEMORY && context.receiving_headers);
  if (header_limit) {
    e.kind = error_kind::protocol;
    e.retryable = false;
    what =
        "the response headers are larger than libcurl accepts (100 KiB per header line, 300 KiB "
        "in all)";
  }
  std::string message;
  message.append(context.method).append(" ").append(context.url).append(": ").append(what);
  message.append(" (curl error ").append(std::to_string(static_cast<int>(code))).append(": ");
  message.append(::curl_easy_strerror(code));
  if (!context.curl_detail.empty()) message.append(": ").append(redact_line(context.curl_detail));
  message.append(")");
  e.message = std::move(message);
  return e;
}

// -----------------------------------------------------------------------------------------------
// Per-request easy-handle configuration, shared by both transports.

struct slist_deleter {
  void operator()(curl_slist* list) const noexcept { ::curl_slist_free_all(list); }
};
using slist_ptr = std::unique_ptr<curl_slist, slist_deleter>;

/// Appends one line to a curl_slist; false when libcurl could not allocate it.
inline bool append(slist_ptr& list, const std::string& line) {
  curl_slist* grown = ::curl_slist_append(list.get(), line.c_str());
  if (!grown) return false;
  // libcurl returns the list's head: the same node, or the new one when the list was empty.
  (void)list.release();
  list.reset(grown);
  return true;
}

/// The request's headers as libcurl lines, plus the removals of libcurl's own defaults.
inline result<slist_ptr> header_lines(const http::request& request) {
  slist_ptr list;
  std::string line;
  for (const auto& h : request.headers) {
    // libcurl writes Content-Length itself (check_headers made sure the request's value agrees).
    if (::aihub::detail::iequals(h.name, "content-length")) continue;
    line.assign(h.name);
    // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would remove it).
    if (h.value.empty())
      line.push_back(';');
    else
      line.append(": ").append(h.value);
    if (!append(list, line)) return make_error(error_kind::transport, "out of memory for headers");
  }
  // "Name:" removes a header libcurl would otherwise add on its own (Accept: */*, a form
  // Content-Type on POST, Expect: 100-continue on large or unknown-length bodies).
  for (std::string_view name : {"Accept", "Content-Type", "Expect"}) {
    if (request.headers.contains(name)) continue;
    line.assign(name).push_back(':');
    if (!append(list, line)) return make_error(error_kind::transport, "out of memory for headers");
  }
  return list;
}

/// What a request needs before libcurl sees it: the full URL and the header lines.
struct prepared_request {
  std::string url;
  slist_ptr headers;
  std::uint64_t body_length = 0;
};

/// Checks the request and the configuration; every failure here is an error with not_sent.
inline result<prepared_request> prepare(const transport_options& config,
                                        const http::request& request) {
  prepared_request out;
  out.body_length = http::body_size(request.body);
  auto refuse = [](error e) {
    e.not_sent = true;
    return e;
  };
  if (auto checked = check_headers(request, out.body_length); !checked)
    return refuse(std::move(checked).error());
  auto url = join_url(config.api_root, request.target);
  if (!url) return refuse(std::move(url).error());
  out.url = std::move(*url);
  auto headers = header_lines(request);
  if (!headers) return refuse(std::move(headers).error());
  out.headers = std::move(*headers);
  return out;
}

inline long curl_http_version(protocol_version v) noexcept {
  switch (v) {
    case protocol_version::libcurl_default:
      return CURL_HTTP_VERSION_NONE;
    case protocol_version::http1_1:
      return CURL_HTTP_VERSION_1_1;
    case protocol_version::http2_over_tls:
      return CURL_HTTP_VERSION_2TLS;
    case protocol_version::http2_prior_knowledge:
      return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  }
  return CURL_HTTP_VERSION_NONE;
}

/// Records the first failing curl_easy_setopt, so one check covers a whole configuration.
struct option_setter {
  CURL* easy;
  CURLcode first_error = CURLE_OK;
  const char* failed_option = nullptr;

  void check(CURLcode code, const char* name) noexcept {
    if (code != CURLE_OK && first_error == CURLE_OK) {
      first_error = code;
      failed_option = name;
    }
  }
  void long_(CURLoption o, long v, const char* name) noexcept { check(set_long(easy, o, v), name); }
  void off(CURLoption o, curl_off_t v, const char* name) noexcept {
    check(set_off(easy, o, v), name);
  }
  void str(CURLoption o, const char* v, const char* name) noexcept {
    check(set_str(easy, o, v), name);
  }
  void ptr(CURLoption o, void* v, const char* name) noexcept { check(set_ptr(easy, o, v), name); }
  template <class F>
  void fn(CURLoption o, F* f, const char* name) noexcept {
    check(set_fn(easy, o, f), name);
  }
};

/// RFC 9110's idempotent methods: sending one twice has the effect of sending it once.
constexpr bool is_idempotent_method(http::method m) noexcept {
  return m != http::method::post && m != http::method::patch;
}

inline long clamp_to_long(std::uint64_t v) noexcept {
  return static_cast<long>(v < 0x7fffffffu ? v : 0x7fffffffu);
}

/// Everything about one request a freshly reset easy handle needs. `x`, `url`, `headers` and
/// `error_buffer` must outlive the transfer.
inline void configure(option_setter& set, exchange& x, const transport_options& config,
                      const http::request& request, const send_options& options, const char* url,
                      curl_slist* headers, std::uint64_t body_length, char* error_buffer) {
  set.str(CURLOPT_URL, url, "CURLOPT_URL");
#if LIBCURL_VERSION_NUM >= 0x075500
  set.str(CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR");
#else
  set.long_(CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS, "CURLOPT_PROTOCOLS");
#endif
  set.long_(CURLOPT_PATH_AS_IS, 1L, "CURLOPT_PATH_AS_IS");  // the target is sent exactly as encoded
  set.long_(CURLOPT_FOLLOWLOCATION, 0L, "CURLOPT_FOLLOWLOCATION");
  set.long_(CURLOPT_NOSIGNAL, 1L, "CURLOPT_NOSIGNAL");  // no SIGALRM: safe in threaded programs
  set.ptr(CURLOPT_ERRORBUFFER, error_buffer, "CURLOPT_ERRORBUFFER");
  set.long_(CURLOPT_HTTP_VERSION, curl_http_version(config.http_version), "CURLOPT_HTTP_VERSION");
  set.ptr(CURLOPT_HTTPHEADER, headers, "CURLOPT_HTTPHEADER");

  // TLS: verification is libcurl's default; it is set explicitly so a reader sees it.
  const bool verify = !config.insecure_skip_tls_verification;
  set.long_(CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L, "CURLOPT_SSL_VERIFYPEER");
  set.long_(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L, "CURLOPT_SSL_VERIFYHOST");
  if (!config.ca_bundle.empty())
    set.str(CURLOPT_CAINFO, config.ca_bundle.c_str(), "CURLOPT_CAINFO");
  if (!config.ca_directory.empty())
    set.str(CURLOPT_CAPATH, config.ca_directory.c_str(), "CURLOPT_CAPATH");

  if (config.proxy) set.str(CURLOPT_PROXY, config.proxy->c_str(), "CURLOPT_PROXY");
  if (config.no_proxy) set.str(CURLOPT_NOPROXY, config.no_proxy->c_str(), "CURLOPT_NOPROXY");

  // Time limits.
  const auto total = options.timeout.count() > 0 ? options.timeout : config.timeout;
  set.long_(CURLOPT_TIMEOUT_MS, to_curl_ms(total), "CURLOPT_TIMEOUT_MS");
  set.long_(CURLOPT_CONNECTTIMEOUT_MS, to_curl_ms(config.connect_timeout),
            "CURLOPT_CONNECTTIMEOUT_MS");
  if (config.low_speed_limit_bytes_per_second > 0 && config.low_speed_time.count() > 0) {
    set.long_(CURLOPT_LOW_SPEED_LIMIT, clamp_to_long(config.low_speed_limit_bytes_per_second),
              "CURLOPT_LOW_SPEED_LIMIT");
    set.long_(CURLOPT_LOW_SPEED_TIME,
              clamp_to_long(static_cast<std::uint64_t>(config.low_speed_time.count())),
              "CURLOPT_LOW_SPEED_TIME");
  }
  if (config.tcp_keepalive) set.long_(CURLOPT_TCP_KEEPALIVE, 1L, "CURLOPT_TCP_KEEPALIVE");

  // Callbacks.
  set.fn(CURLOPT_HEADERFUNCTION, &exchange::on_header, "CURLOPT_HEADERFUNCTION");
  set.ptr(CURLOPT_HEADERDATA, &x, "CURLOPT_HEADERDATA");
  set.fn(CURLOPT_WRITEFUNCTION, &exchange::on_write, "CURLOPT_WRITEFUNCTION");
  set.ptr(CURLOPT_WRITEDATA, &x, "CURLOPT_WRITEDATA");
  set.long_(CURLOPT_NOPROGRESS, 0L, "CURLOPT_NOPROGRESS");
  set.fn(CURLOPT_XFERINFOFUNCTION, &exchange::on_progress, "CURLOPT_XFERINFOFUNCTION");
  set.ptr(CURLOPT_XFERINFODATA, &x, "CURLOPT_XFERINFODATA");
  if (config.verbose) {
    set.fn(CURLOPT_DEBUGFUNCTION, &exchange::on_debug, "CURLOPT_DEBUGFUNCTION");
    set.ptr(CURLOPT_DEBUGDATA, &x, "CURLOPT_DEBUGDATA");
    set.long_(CURLOPT_VERBOSE, 1L, "CURLOPT_VERBOSE");
  }

  // Method and body.
  const bool has_body = http::has_body(request.body);
  const auto length = static_cast<curl_off_t>(body_length);
  auto stream_body = [&] {
    set.fn(CURLOPT_READFUNCTION, &exchange::on_read, "CURLOPT_READFUNCTION");
    set.ptr(CURLOPT_READDATA, &x, "CURLOPT_READDATA");
    set.fn(CURLOPT_SEEKFUNCTION, &exchange::on_seek, "CURLOPT_SEEKFUNCTION");
    set.ptr(CURLOPT_SEEKDATA, &x, "CURLOPT_SEEKDATA");
    std::size_t buffer = config.upload_buffer_size;
    if (buffer < 16 * 1024) buffer = 16 * 1024;
    if (buffer > 2 * 1024 * 1024) buffer = 2 * 1024 * 1024;
    set.long_(CURLOPT_UPLOAD_BUFFERSIZE, static_cast<long>(buffer), "CURLOPT_UPLOAD_BUFFERSIZE");
  };
  // A POST-style body: the length up front, the bytes from the read callback (an empty one as empty
  // POSTFIELDS, which libcurl sends as "Content-Length: 0" without calling back).
  auto post_body = [&] {
    set.long_(CURLOPT_POST, 1L, "CURLOPT_POST");
    set.off(CURLOPT_POSTFIELDSIZE_LARGE, length, "CURLOPT_POSTFIELDSIZE_LARGE");
    if (body_length == 0)
      set.str(CURLOPT_POSTFIELDS, "", "CURLOPT_POSTFIELDS");
    else
      stream_body();
  };
  switch (request.verb) {
    case http::method::head:
      set.long_(CURLOPT_NOBODY, 1L, "CURLOPT_NOBODY");
      break;
    case http::method::put:
      set.long_(CURLOPT_UPLOAD, 1L, "CURLOPT_UPLOAD");
      set.off(CURLOPT_INFILESIZE_LARGE, length, "CURLOPT_INFILESIZE_LARGE");
      stream_body();
      break;
    case http::method::post:
      post_body();
      break;
    case http::method::patch:
      post_body();  // PATCH always says how long its (maybe empty) body is
      set.str(CURLOPT_CUSTOMREQUEST, "PATCH", "CURLOPT_CUSTOMREQUEST");
      break;
    case http::method::get:
    case http::method::delete_:
      if (has_body) post_body();
      if (request.verb == http::method::delete_ || has_body)
        set.str(CURLOPT_CUSTOMREQUEST, request.verb == http::method::get ? "GET" : "DELETE",
                "CURLOPT_CUSTOMREQUEST");
      break;
  }
  // libcurl retries a request silently only on a reused connection; a fresh one means a POST goes
  // out once, and a lost answer is reported to the caller instead of resent.
  if (!config.reuse_connections_for_post && !is_idempotent_method(request.verb))
    set.long_(CURLOPT_FRESH_CONNECT, 1L, "CURLOPT_FRESH_CONNECT");
}

/// The error for a configuration libcurl refused (an option this libcurl build does not support).
inline error option_error(const option_setter& set) {
  error e =
      make_error(error_kind::transport, std::string("libcurl refused option ") + set.failed_option +
                                            ": " + ::curl_easy_strerror(set.first_error));
  e.not_sent = true;
  return e;
}

/// The secrets verbose output and error messages must never show for this request.
inline void collect_all_secrets(exchange& x, const transport_options& config,
                                const http::request& request) {
  collect_secrets(request.headers, x.secrets());
  for (const auto& secret : request.secrets)
    if (secret.size() >= http::min_scrubbed_secret_length) x.secrets().push_back(secret);
  if (config.proxy) {
    std::string userinfo = url_userinfo(*config.proxy);
    if (userinfo.size() >= 4) x.secrets().push_back(std::move(userinfo));
  }
}

/// The most idle connections checked at once by has_unread_input.
inline constexpr std::size_t max_checked_sockets = 64;

/// Whether one of these idle keep-alive connections has bytes waiting: an answer nobody asked
/// for, which libcurl 7.x would hand to the next request on that connection as its response. One
/// poll() for all of them; an orderly close (recv returns 0) is not counted, libcurl notices that
/// by itself. At most max_checked_sockets are looked at.
inline bool has_unread_input(std::span<const curl_socket_t> sockets) noexcept {
#ifndef _WIN32
  pollfd set[max_checked_sockets];
  nfds_t count = 0;
  for (curl_socket_t fd : sockets) {
    if (count == max_checked_sockets) break;
    if (fd != CURL_SOCKET_BAD) set[count++] = pollfd{fd, POLLIN, 0};
  }
  if (count == 0 || ::poll(set, count, 0) <= 0) return false;
  for (nfds_t i = 0; i < count; ++i) {
    char byte;
    if ((set[i].revents & POLLIN) && ::recv(set[i].fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
      return true;
  }
  return false;
#else
  (void)sockets;
  return false;
#endif
}

/// The socket a completed transfer leaves in the connection cache, or CURL_SOCKET_BAD.
inline curl_socket_t kept_socket(CURL* easy, CURLcode code) noexcept {
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (code != CURLE_OK || ::curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK)
    return CURL_SOCKET_BAD;
  return fd;
}

/// Turns a finished transfer into the response or the error the caller sees.
inline result<http::response> finish(CURL* easy, CURLcode code, exchange& x,
                                     const http::request& request, std::string_view url,
                                     const char* error_buffer) {
  // A non-2xx body cut at the limit ends libcurl's transfer with a write error, yet it is a
  // response (unless something else failed too).
  const bool cut_error_body = x.error_body_cut() && !x.failure();
  if (code != CURLE_OK && !cut_error_body) {
    if (x.failure()) return *x.failure();
    // Nothing left this host unless libcurl got to the point of sending (pretransfer time is set
    // just before the request goes out).
    curl_off_t pretransfer = 0;
    ::curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    const std::string printable = printable_url(url);
    failure_context context;
    context.method = http::to_string(request.verb);
    context.url = printable;
    context.curl_detail = error_buffer;
    context.nothing_sent = pretransfer == 0;
    context.receiving_headers = pretransfer != 0 && x.awaiting_body();
    error e = map_curl_error(code, context);
    for (const auto& secret : x.secrets()) replace_all(e.message, secret, "<redacted>");
    return e;
  }
  long status = 0;
  ::curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t sent = 0, received = 0, announced = -1;
  ::curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &sent);
  ::curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &received);
  ::curl_easy_getinfo(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
  x.report_final_progress(static_cast<std::uint64_t>(sent > 0 ? sent : 0),
                          static_cast<std::uint64_t>(received > 0 ? received : 0),
                          static_cast<std::int64_t>(announced));
  http::response response = x.take_response();
  response.status = static_cast<int>(status);
  return response;
}

/// Connections this transfer opened (0 when it reused one).
inline std::uint64_t connections_opened_by(CURL* easy) noexcept {
  long connects = 0;
  if (::curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) != CURLE_OK || connects < 0)
    return 0;
  return static_cast<std::uint64_t>(connects);
}

/// Where verbose output goes for this configuration (nullptr: verbose is off).
inline const verbose_sink* verbose_target(const transport_options& config) {
  static const verbose_sink to_stderr = write_to_stderr;
  if (!config.verbose) return nullptr;
  return config.verbose_output ? &config.verbose_output : &to_stderr;
}

}  // namespace detail
}  // namespace curl
AIHUB_NAMESPACE_END
