#pragma once
// Configuration shared by aihub::curl::transport and aihub::curl::multi_transport, and libcurl's
// process-wide initialisation.

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "aihub/config.hpp"

// curl_multi_poll (7.66) and curl_multi_wakeup (7.68) are the newest libcurl calls used here.
static_assert(LIBCURL_VERSION_NUM >= 0x074400, "aihub::curl needs libcurl 7.68.0 or newer");

AIHUB_NAMESPACE_BEGIN
namespace curl {

/// Receives verbose (debug) output, already redacted, one or a few lines at a time.
using verbose_sink = std::function<void(std::string_view)>;

/// Receives a 2xx response body chunk by chunk instead of response::body; returns false to stop the
/// transfer (which then ends with error_kind::cancelled).
using body_sink = std::function<bool(std::string_view)>;

/// HTTP version to ask for; libcurl_default means HTTP/2 over TLS when both sides support it (ALPN)
/// and HTTP/1.1 otherwise.
enum class protocol_version : std::uint8_t {
  libcurl_default,
  http1_1,
  http2_over_tls,         ///< HTTP/2 over TLS, HTTP/1.1 over cleartext
  http2_prior_knowledge,  ///< HTTP/2 even over cleartext, without an upgrade
};

/// Configuration of a transport, meant for designated initializers (every member has a default, so
/// -Wmissing-field-initializers stays quiet):
///   aihub::curl::transport t({.api_root = "https://tenant.example.com/api",
///                             .ca_bundle = "/etc/ssl/our-ca.pem"});
struct transport_options {
  /// Scheme, host, optional port and optional path prefix of the API
  /// ("https://tenant.example.com/api"). Every request target is appended to it.
  std::string api_root{};

  /// PEM file of CA certificates to trust instead of the system store (CURLOPT_CAINFO);
  /// empty = the default store.
  std::string ca_bundle{};
  /// Directory of hashed CA certificates (CURLOPT_CAPATH); empty = default.
  std::string ca_directory{};
  /// Turns OFF verification of the server's certificate and host name. Anyone on the path can then
  /// read and alter the traffic, bearer token included. For throwaway local test servers only.
  bool insecure_skip_tls_verification = false;

  /// Limit for DNS + TCP + TLS setup of a new connection.
  std::chrono::milliseconds connect_timeout{30'000};
  /// Default limit for a whole exchange when send_options::timeout is 0; 0 = no overall limit
  /// (large uploads take as long as they take; stalls are caught by the low-speed limit below).
  std::chrono::milliseconds timeout{0};
  /// A transfer slower than this many bytes per second for low_speed_time ends with
  /// error_kind::timeout (this catches a dead peer or a server that never answers); 0 disables the
  /// check.
  std::uint64_t low_speed_limit_bytes_per_second = 1;
  std::chrono::seconds low_speed_time{120};

  /// Proxy. Unset (the default): libcurl's usual environment variables apply (http_proxy,
  /// HTTPS_PROXY, ALL_PROXY, NO_PROXY, as documented for CURLOPT_PROXY). A URL such as
  /// "http://proxy:3128": use that proxy. An empty string: no proxy, whatever the environment says.
  std::optional<std::string> proxy{};
  /// Hosts that bypass the proxy (CURLOPT_NOPROXY syntax); unset = the NO_PROXY environment
  /// variable.
  std::optional<std::string> no_proxy{};

  /// Size of libcurl's upload buffer (CURLOPT_UPLOAD_BUFFERSIZE), clamped to 16 KiB..2 MiB; it is
  /// also the largest piece a request body is read in. The default, 256 KiB, is four times
  /// libcurl's own: fewer read callbacks and send calls per byte for multi-megabyte parts, for a
  /// fixed 256 KiB per transfer.
  std::size_t upload_buffer_size = 256 * 1024;

  protocol_version http_version = protocol_version::libcurl_default;

  /// Whether POST and PATCH requests may go out on a kept-alive connection. By default they open a
  /// fresh one: libcurl resends a request by itself when a reused connection turns out to be dead
  /// before any answer byte arrives, and a server that applied a POST and then died would apply
  /// it twice (two batches, two runs, two upload sessions for one intent). A fresh connection
  /// costs one handshake per POST and rules that out; GET, PUT and DELETE keep reusing
  /// connections, since sending them twice does no harm. Set this only when every POST you send
  /// may safely be applied twice.
  bool reuse_connections_for_post = false;

  /// Keep idle connections alive with TCP keep-alive probes (helps through NATs and load
  /// balancers).
  bool tcp_keepalive = true;

  /// A response whose header lines total more than this fails with error_kind::protocol. libcurl
  /// refuses more than 300 KiB of headers (and any single line over 100 KiB) by itself, also as
  /// error_kind::protocol; the default stays below that so this limit is the one reported.
  std::size_t max_response_header_bytes = 256u << 10;

  /// libcurl's verbose trace (connection reuse, TLS, request and response headers), sent through
  /// CURLOPT_DEBUGFUNCTION to verbose_output. Authorization, Proxy-Authorization, Cookie and
  /// Set-Cookie values and URL passwords are redacted before the sink sees them; bodies are shown
  /// as byte counts.
  bool verbose = false;
  /// Where the verbose trace goes; empty = stderr. Called on the thread that runs the transfer.
  verbose_sink verbose_output{};
};

/// RAII for libcurl's process-wide state: curl_global_init in the constructor, curl_global_cleanup
/// in the destructor. Optional (transports initialise libcurl on first use), but a program that
/// uses libcurl from several places creates one in main() before any thread starts: before 7.84,
/// libcurl cannot run those two functions concurrently with anything else.
class global_init {
 public:
  global_init() noexcept : code_(::curl_global_init(CURL_GLOBAL_DEFAULT)) {}
  ~global_init() {
    if (code_ == CURLE_OK) ::curl_global_cleanup();
  }
  global_init(const global_init&) = delete;
  global_init& operator=(const global_init&) = delete;

  bool ok() const noexcept { return code_ == CURLE_OK; }
  CURLcode code() const noexcept { return code_; }

 private:
  CURLcode code_;
};

namespace detail {
/// curl_global_init once per process for aihub's own use (a function-local static initialises
/// exactly once even when several threads get here together). It is never cleaned up: transports
/// may live in other statics, and cleanup at exit would race them. libcurl counts init calls, so
/// this composes with a global_init object.
inline CURLcode ensure_global_init() noexcept {
  static const CURLcode code = ::curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}
}  // namespace detail

}  // namespace curl
AIHUB_NAMESPACE_END
