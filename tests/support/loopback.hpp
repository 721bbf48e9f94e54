#pragma once
// Pieces every hand-written loopback test server needs: a listening socket on 127.0.0.1 with an
// ephemeral port, a stop flag that wakes sleeping handlers, the Content-Length of a request head,
// and this process's resident memory. Shared by tests/curl (raw_server) and tests/hostile.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>

namespace test {

/// Set once when a server shuts down; handlers that stall on purpose sleep on it and wake at once.
class stop_flag {
 public:
  void set() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
  }
  /// Sleeps for `d` or until the flag is set; true when the full time elapsed.
  bool sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return !cv_.wait_for(lock, d, [&] { return stopping_; });
  }
  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

/// A socket listening on 127.0.0.1; fd < 0 when it could not be made.
struct loopback_listener {
  int fd = -1;
  int port = 0;
};

/// Binds an ephemeral loopback port and listens with `backlog`.
inline loopback_listener listen_on_loopback(int backlog = 16, int socket_flags = SOCK_CLOEXEC) {
  loopback_listener out;
  out.fd = ::socket(AF_INET, SOCK_STREAM | socket_flags, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (out.fd < 0 || ::bind(out.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(out.fd, backlog) != 0) {
    if (out.fd >= 0) ::close(out.fd);
    out.fd = -1;
    return out;
  }
  socklen_t length = sizeof address;
  ::getsockname(out.fd, reinterpret_cast<sockaddr*>(&address), &length);
  out.port = ntohs(address.sin_port);
  return out;
}

/// The Content-Length a request head announces (0 when it has none).
inline std::uint64_t content_length(std::string_view head) {
  std::string lower;
  lower.reserve(head.size());
  for (char c : head)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::size_t at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::strtoull(lower.c_str() + at + 17, nullptr, 10);
}

/// Resident memory of this process in bytes (from /proc/self/statm).
inline std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace test
