#pragma once
// A scripted hostile HTTP server for the hostile-server tests: it listens on 127.0.0.1 on an
// ephemeral port, runs a test's script on every accepted connection (each on its own thread), and
// lets the script misbehave at the byte level: send part of a response and close, trickle one byte
// at a time, stall, stream an endless body, answer twice. Every blocking step polls a stop flag, so
// the destructor stops and joins all threads promptly even when a test fails half way; nothing
// outlives the server object.
//
// It also counts what it did (connections, requests, bytes sent, whether the peer went away while
// it was still sending) so tests can assert that a client stopped reading, and it offers an RSS
// sampler to bound the client's memory while a server floods it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../support/loopback.hpp"

namespace hostile {

using test::content_length;
using test::resident_bytes;
using test::stop_flag;

/// What the server did, shared by all its connections.
struct server_stats {
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<int> connections{0};
  std::atomic<int> requests{0};
  std::atomic<bool> peer_went_away{false};  ///< a send failed: the client closed or reset
  std::mutex mutex;
  std::condition_variable idle_cv;
  int active_scripts = 0;
  static constexpr std::size_t max_recorded_heads = 64;
  std::vector<std::string> request_heads;  ///< the first max_recorded_heads requests' heads
};

/// One accepted connection, as a script sees it.
class connection {
 public:
  connection(int fd, int number, stop_flag& stop, server_stats& stats)
      : fd_(fd), number_(number), stop_(stop), stats_(stats) {}
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// 1 for the first accepted connection, 2 for the second...
  int number() const { return number_; }

  /// Reads the next request (head and Content-Length body). Returns its head, or nullopt when the
  /// peer closed the connection, the server is stopping, or nothing arrived within `idle`.
  std::optional<std::string> read_request(
      std::chrono::milliseconds idle = std::chrono::milliseconds(10'000)) {
    auto deadline = std::chrono::steady_clock::now() + idle;
    std::size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos)
      if (!receive_some(deadline)) return std::nullopt;
    std::string head = pending_.substr(0, end + 4);
    pending_.erase(0, end + 4);
    std::uint64_t length = content_length(head);
    while (pending_.size() < length)
      if (!receive_some(deadline)) return std::nullopt;
    pending_.erase(0, static_cast<std::size_t>(length));
    {
      // Only the first heads are kept, so a long test does not measure the server's own log.
      std::lock_guard lock(stats_.mutex);
      if (stats_.request_heads.size() < server_stats::max_recorded_heads)
        stats_.request_heads.push_back(head);
    }
    ++stats_.requests;
    return head;
  }

  /// Sends all of `bytes`; false when the peer went away or the server is stopping.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      if (stop_.stopping()) return false;
      pollfd p{fd_, POLLOUT, 0};
      int ready = ::poll(&p, 1, 50);
      if (ready < 0 && errno != EINTR) return gone();
      if (ready <= 0) continue;
      if (p.revents & (POLLERR | POLLHUP)) return gone();
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return gone();
      }
      stats_.bytes_sent += static_cast<std::uint64_t>(n);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Sends `bytes` one byte at a time, `gap` apart; false when the peer went away or the server is
  /// stopping.
  bool trickle(std::string_view bytes, std::chrono::milliseconds gap) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (i > 0 && !pause(gap)) return false;
      if (!send(bytes.substr(i, 1))) return false;
    }
    return true;
  }

  /// Sleeps; false when the server is stopping.
  bool pause(std::chrono::milliseconds d) { return stop_.sleep_for(d); }

  /// Holds the connection open without sending until the peer closes it or the server stops.
  void hold() {
    char buffer[4096];
    while (!stop_.stopping()) {
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, 50);
      if (ready < 0 && errno != EINTR) return;
      if (ready <= 0) continue;
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
    }
  }

  /// Sends a TCP reset instead of an orderly close when the script ends.
  void reset_on_close() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }

 private:
  bool gone() {
    stats_.peer_went_away = true;
    return false;
  }

  bool receive_some(std::chrono::steady_clock::time_point deadline) {
    char buffer[16384];
    while (!stop_.stopping() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, 50);
      if (ready < 0 && errno != EINTR) return false;
      if (ready <= 0) continue;
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0) return false;
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return false;
      }
      pending_.append(buffer, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  int fd_;
  int number_;
  stop_flag& stop_;
  server_stats& stats_;
  std::string pending_;
};

/// The scripted server. The script runs once per accepted connection, on that connection's own
/// thread; the connection is closed when the script returns.
class server {
 public:
  using script = std::function<void(connection&)>;

  explicit server(script run) : script_(std::move(run)) {
    test::loopback_listener listener = test::listen_on_loopback();
    if (listener.fd < 0) return;
    listener_ = listener.fd;
    port_ = listener.port;
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~server() {
    stop_.set();
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
    if (listener_ >= 0) ::close(listener_);
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  std::string root(std::string_view prefix = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(prefix);
  }

  int connections() const { return stats_.connections.load(); }
  int requests() const { return stats_.requests.load(); }
  std::uint64_t bytes_sent() const { return stats_.bytes_sent.load(); }
  bool peer_went_away() const { return stats_.peer_went_away.load(); }
  std::vector<std::string> request_heads() {
    std::lock_guard lock(stats_.mutex);
    return stats_.request_heads;
  }

  /// Waits until no script is running (every connection finished); false on timeout.
  bool wait_idle(std::chrono::milliseconds limit) {
    std::unique_lock lock(stats_.mutex);
    return stats_.idle_cv.wait_for(lock, limit, [&] { return stats_.active_scripts == 0; });
  }

 private:
  void accept_loop() {
    while (!stop_.stopping()) {
      pollfd p{listener_, POLLIN, 0};
      int ready = ::poll(&p, 1, 50);
      if (ready <= 0) continue;
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int number = ++stats_.connections;
      if (number > max_connections) {  // a runaway client: refuse instead of spawning threads
        ::close(fd);
        continue;
      }
      {
        std::lock_guard lock(stats_.mutex);
        ++stats_.active_scripts;
      }
      workers_.emplace_back([this, fd, number] {
        {
          connection c(fd, number, stop_, stats_);
          script_(c);
        }
        ::close(fd);
        {
          std::lock_guard lock(stats_.mutex);
          --stats_.active_scripts;
        }
        stats_.idle_cv.notify_all();
      });
    }
  }

  static constexpr int max_connections = 64;

  script script_;
  int listener_ = -1;
  int port_ = 0;
  stop_flag stop_;
  server_stats stats_;
  std::thread acceptor_;
  std::list<std::thread> workers_;  // touched by the acceptor thread, then by the destructor
};

// -----------------------------------------------------------------------------------------------
// Response builders

inline std::string reason_for(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 302:
      return "Found";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    default:
      return "Whatever";
  }
}

/// A complete HTTP/1.1 response with a Content-Length that matches the body.
inline std::string response(int status, std::string_view body,
                            std::string_view content_type = "application/json",
                            std::string_view extra_headers = "") {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_for(status) + "\r\n";
  if (!content_type.empty()) out.append("Content-Type: ").append(content_type).append("\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append(extra_headers);
  out.append("\r\n");
  out.append(body);
  return out;
}

/// One chunk of a chunked body.
inline std::string chunk(std::string_view data) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string size;
  for (std::size_t n = data.size(); n > 0; n >>= 4) size.insert(size.begin(), hex[n & 15]);
  if (size.empty()) size = "0";
  return size + "\r\n" + std::string(data) + "\r\n";
}

/// A script that answers every request on the connection with the same bytes.
inline server::script always(std::string bytes) {
  return [bytes = std::move(bytes)](connection& c) {
    while (c.read_request())
      if (!c.send(bytes)) return;
  };
}

// -----------------------------------------------------------------------------------------------
// Memory

/// Resident memory of this process in bytes (from /proc/self/statm).
/// Samples the resident size every millisecond on a thread of its own, from construction to
/// stop(): the peak growth above the starting size, even if the memory is freed again before the
/// measured call returns.
class rss_watch {
 public:
  rss_watch() : baseline_(resident_bytes()), peak_(baseline_) {
    thread_ = std::thread([this] {
      while (!done_.load()) {
        std::uint64_t now = resident_bytes();
        if (now > peak_.load()) peak_.store(now);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  ~rss_watch() { stop(); }
  rss_watch(const rss_watch&) = delete;
  rss_watch& operator=(const rss_watch&) = delete;

  /// Stops sampling; returns the peak growth in bytes.
  std::uint64_t stop() {
    if (thread_.joinable()) {
      done_.store(true);
      thread_.join();
      std::uint64_t now = resident_bytes();
      if (now > peak_.load()) peak_.store(now);
    }
    return peak_.load() - baseline_;
  }

 private:
  std::uint64_t baseline_;
  std::atomic<std::uint64_t> peak_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace hostile
