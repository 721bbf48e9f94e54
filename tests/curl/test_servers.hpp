#pragma once
// Loopback servers for the libcurl transport tests.
// - http_server: a cpp-httplib server (plain or TLS) on 127.0.0.1 with an ephemeral port, listening
// on
//   its own thread; stopped and joined by its destructor, so a failing test never leaks it.
// - raw_server: a hand-written HTTP/1.1 responder over plain sockets that records the exact request
//   bytes and answers whatever bytes a test scripts (truncated bodies, interim 1xx, silent closes).
// Both expose sleep_unless_stopping() so a handler that stalls on purpose ends as soon as the test
// does.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include "../support/loopback.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace test {

/// FNV-1a, 64 bits: a checksum both ends can compute incrementally.
struct fnv1a {
  std::uint64_t state = 0xcbf29ce484222325ull;
  void update(const void* data, std::size_t size) {
    auto p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      state ^= p[i];
      state *= 0x100000001b3ull;
    }
  }
};

/// The byte at absolute position i of the test pattern: position-dependent, so an offset error
/// shows.
inline unsigned char pattern_byte(std::uint64_t i) {
  std::uint64_t x = i * 0x9e3779b97f4a7c15ull;
  return static_cast<unsigned char>((x >> 56) ^ (i & 0xff));
}

/// A temporary file removed by the destructor.
class temp_file {
 public:
  temp_file() {
    char name[] = "/tmp/aihub-curl-test-XXXXXX";
    int fd = ::mkstemp(name);
    if (fd >= 0) ::close(fd);
    path_ = name;
  }
  ~temp_file() { std::remove(path_.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  /// Fills the file with `size` pattern bytes, a buffer at a time (never the whole file in memory).
  bool fill_with_pattern(std::uint64_t size) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) return false;
    std::vector<unsigned char> buffer(1 << 20);
    for (std::uint64_t done = 0; done < size;) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - done));
      for (std::size_t i = 0; i < n; ++i) buffer[i] = pattern_byte(done + i);
      if (std::fwrite(buffer.data(), 1, n, f) != n) {
        std::fclose(f);
        return false;
      }
      done += n;
    }
    return std::fclose(f) == 0;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// cpp-httplib server on 127.0.0.1:<ephemeral>. Register handlers on `server()`, then start().
class http_server {
 public:
  http_server() : server_(std::make_unique<httplib::Server>()) { configure(); }
  /// A TLS server with the given certificate and key files.
  http_server(const std::string& cert, const std::string& key)
      : server_(std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str())) {
    configure();
  }
  ~http_server() { stop(); }
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  httplib::Server& server() { return *server_; }

  /// Binds (to 127.0.0.1 unless told otherwise) and starts listening; false when it could not
  /// start.
  bool start(const std::string& host = "127.0.0.1") {
    if (!server_->is_valid()) return false;
    host_ = host;
    port_ = server_->bind_to_any_port(host);
    if (port_ <= 0) return false;
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return server_->is_running();
  }
  void stop() {
    stop_.set();
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }

  int port() const { return port_; }
  std::string root(std::string_view prefix = "", std::string_view scheme = "http") const {
    return std::string(scheme) + "://" + host_ + ":" + std::to_string(port_) + std::string(prefix);
  }
  stop_flag& stopping() { return stop_; }

 private:
  void configure() {
    // Short keep-alive so a connection a test leaves open never delays stop() for long.
    server_->set_keep_alive_timeout(1);
    server_->set_read_timeout(5, 0);
  }

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  stop_flag stop_;
};

/// A request as it arrived on the wire.
struct raw_request {
  std::string head;  ///< request line and header lines, up to and including the blank line
  std::string body;
  int connection = 0;  ///< 1 for the first accepted connection, 2 for the second...

  std::string request_line() const { return head.substr(0, head.find("\r\n")); }
  /// The header lines, without the request line and the blank line.
  std::vector<std::string> header_lines() const {
    std::vector<std::string> lines;
    std::size_t at = head.find("\r\n");
    while (at != std::string::npos) {
      std::size_t next = head.find("\r\n", at + 2);
      if (next == std::string::npos || next == at + 2) break;
      lines.push_back(head.substr(at + 2, next - at - 2));
      at = next;
    }
    return lines;
  }
  /// The value of the first header of that name (leading spaces dropped), if any.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& line : header_lines()) {
      if (line.size() < name.size() + 1 || line[name.size()] != ':') continue;
      bool same = true;
      for (std::size_t i = 0; i < name.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) !=
            std::tolower(static_cast<unsigned char>(name[i])))
          same = false;
      if (!same) continue;
      std::size_t start = name.size() + 1;
      while (start < line.size() && line[start] == ' ') ++start;
      return line.substr(start);
    }
    return std::nullopt;
  }
  bool has_header(std::string_view name) const { return header(name).has_value(); }
};

/// What the raw server does with a request: send `bytes`, then keep the connection or close it.
struct raw_reply {
  std::string bytes;
  bool close = false;
};

/// One-thread HTTP/1.1 server over plain sockets. Requests are served one at a time, in the order
/// they complete, over any number of open connections.
class raw_server {
 public:
  using responder = std::function<raw_reply(const raw_request&)>;

  explicit raw_server(responder respond) : respond_(std::move(respond)) {
    loopback_listener listener = listen_on_loopback();
    if (listener.fd < 0) return;
    listener_ = listener.fd;
    port_ = listener.port;
    thread_ = std::thread([this] { run(); });
  }
  ~raw_server() {
    stop_.set();
    if (thread_.joinable()) thread_.join();
    if (listener_ >= 0) ::close(listener_);
  }
  raw_server(const raw_server&) = delete;
  raw_server& operator=(const raw_server&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  std::string root(std::string_view prefix = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(prefix);
  }
  std::vector<raw_request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int connections() {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  stop_flag& stopping() { return stop_; }

  static std::string ok_response(std::string_view body = "ok",
                                 std::string_view extra_headers = "") {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           std::string(extra_headers) + "\r\n" + std::string(body);
  }

 private:
  struct open_connection {
    int fd = -1;
    int number = 0;
    std::string pending;
  };

  // Every open connection is watched at once: a client may leave one idle in its pool and send the
  // next request on another (libcurl does for POST), and that request must not wait on the first.
  void run() {
    std::vector<open_connection> open;
    char buffer[65536];
    while (!stop_.stopping()) {
      std::vector<pollfd> watched{{listener_, POLLIN, 0}};
      for (const auto& c : open) watched.push_back({c.fd, POLLIN, 0});
      int ready = ::poll(watched.data(), watched.size(), 50);
      if (ready < 0) break;
      if (ready == 0) continue;
      if (watched[0].revents & POLLIN) {
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd >= 0) {
          std::lock_guard lock(mutex_);
          open.push_back({fd, ++connections_, {}});
        }
      }
      for (std::size_t i = 1; i < watched.size(); ++i) {
        if (!(watched[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto it = std::find_if(open.begin(), open.end(),
                               [&](const open_connection& c) { return c.fd == watched[i].fd; });
        if (it == open.end()) continue;
        ssize_t n = ::recv(it->fd, buffer, sizeof buffer, 0);
        bool keep = n > 0;
        if (keep) {
          it->pending.append(buffer, static_cast<std::size_t>(n));
          keep = serve_pending(*it);
        }
        if (!keep) {
          ::close(it->fd);
          open.erase(it);
        }
      }
    }
    for (const auto& c : open) ::close(c.fd);
  }

  /// Answers every complete request `c` holds; false when the connection is to be closed.
  bool serve_pending(open_connection& c) {
    for (;;) {
      std::size_t end = c.pending.find("\r\n\r\n");
      if (end == std::string::npos) return true;
      raw_request request;
      request.connection = c.number;
      request.head = c.pending.substr(0, end + 4);
      std::uint64_t length = content_length(request.head);
      if (c.pending.size() - (end + 4) < length) return true;
      request.body = c.pending.substr(end + 4, length);
      c.pending.erase(0, end + 4 + length);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      raw_reply reply = respond_(request);
      for (std::size_t sent = 0; sent < reply.bytes.size();) {
        ssize_t n =
            ::send(c.fd, reply.bytes.data() + sent, reply.bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
      }
      if (reply.close) return false;
    }
  }

  responder respond_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<raw_request> requests_;
  int connections_ = 0;
  stop_flag stop_;
};

/// A loopback port with nothing listening on it (bound, then released).
inline int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// A loopback listener whose accept queue is full, so a new connection attempt hangs in the
/// handshake (the kernel drops the SYN) until the client's connect timeout.
class stalled_listener {
 public:
  stalled_listener() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener_ < 0 ||
        ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 0) != 0)
      return;
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    // Fill the accept queue with connections nobody accepts.
    for (int i = 0; i < 8; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
      fillers_.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    port_ = ntohs(address.sin_port);
  }
  ~stalled_listener() {
    for (int fd : fillers_) ::close(fd);
    if (listener_ >= 0) ::close(listener_);
  }
  stalled_listener(const stalled_listener&) = delete;
  stalled_listener& operator=(const stalled_listener&) = delete;
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

}  // namespace test
