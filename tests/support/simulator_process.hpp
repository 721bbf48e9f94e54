// Test-side launcher for tools/simulator (aihub_simulator). POSIX only; not part of the
// library. Starts the simulator on an ephemeral loopback port, waits for it to announce the
// port, and always stops it again (SIGTERM, then SIGKILL) when the object goes away, so a
// failing test never leaves a simulator running.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace aihub_test {

struct http_reply {
  int status = -1;      // -1: transport failure (see body for the reason)
  std::string headers;  // raw header block, without the status line
  std::string body;
};

// One HTTP/1.1 request over a fresh loopback connection ("Connection: close", read to EOF).
// Deliberately tiny: for control endpoints and raw-wire checks, not a general client.
inline http_reply loopback_request(int port, std::string_view method, std::string_view target,
                                   std::string_view body = {},
                                   const std::vector<std::string>& extra_headers = {},
                                   std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  http_reply out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    out.body = std::string("socket: ") + std::strerror(errno);
    return out;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    out.body = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return out;
  }
  std::string request;
  request += std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  request += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  request += "Connection: close\r\n";
  for (const auto& h : extra_headers) request += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request += "Content-Type: application/json\r\n";
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      out.body = std::string("send: ") + std::strerror(errno);
      ::close(fd);
      return out;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[16384];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      out.body = std::string("recv: ") + std::strerror(errno);
      ::close(fd);
      return out;
    }
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto line_end = raw.find("\r\n");
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || line_end == std::string::npos ||
      head_end == std::string::npos) {
    out.body = "malformed response: " + raw.substr(0, 200);
    return out;
  }
  out.status = std::atoi(raw.c_str() + 9);
  out.headers = raw.substr(line_end + 2, head_end - line_end - 2);
  out.body = raw.substr(head_end + 4);
  return out;
}

class simulator_process {
 public:
  // `binary`: path of aihub_simulator; `extra_args`: appended after the launcher's own
  // "--port 0 --port-file <tmp> --exit-with-parent".
  explicit simulator_process(std::string binary, std::vector<std::string> extra_args = {},
                             std::chrono::milliseconds startup_timeout = std::chrono::seconds(10))
      : prefix_(prefix_from(extra_args)) {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir_template =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/aihub-sim-XXXXXX";
    if (::mkdtemp(dir_template.data()) == nullptr) {
      throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    dir_ = dir_template;
    port_file_ = dir_ + "/port";

    std::vector<std::string> args{binary,        "--port",   "0",
                                  "--port-file", port_file_, "--exit-with-parent"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The child starts with default handlers and an empty mask for the stop signals, whatever
    // the test process did with its own.
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE}) sigaddset(&defaults, sig);
    sigset_t empty;
    sigemptyset(&empty);
    ::posix_spawnattr_setsigdefault(&attr, &defaults);
    ::posix_spawnattr_setsigmask(&attr, &empty);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    const int rc = ::posix_spawn(&pid_, binary.c_str(), nullptr, &attr, argv.data(), environ);
    ::posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      pid_ = -1;
      cleanup_files();
      throw std::runtime_error("posix_spawn " + binary + ": " + std::strerror(rc));
    }

    const auto deadline = std::chrono::steady_clock::now() + startup_timeout;
    while (true) {
      std::ifstream in(port_file_);
      int port = 0;
      if (in >> port && port > 0) {
        port_ = port;
        break;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        cleanup_files();
        throw std::runtime_error("aihub_simulator exited during startup (status " +
                                 std::to_string(status) + ")");
      }
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        cleanup_files();
        throw std::runtime_error("aihub_simulator did not write its port file in time");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  simulator_process(const simulator_process&) = delete;
  simulator_process& operator=(const simulator_process&) = delete;

  ~simulator_process() {
    stop();
    cleanup_files();
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& prefix() const { return prefix_; }
  // Scheme, host and port, e.g. "http://127.0.0.1:40123".
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The API root including the path prefix, e.g. "http://127.0.0.1:40123/api".
  [[nodiscard]] std::string api_root() const { return base_url() + prefix_; }

  [[nodiscard]] http_reply control_get(std::string_view path) const {
    return loopback_request(port_, "GET", path);
  }
  [[nodiscard]] http_reply control_post(std::string_view path,
                                        std::string_view json_body = "{}") const {
    return loopback_request(port_, "POST", path, json_body);
  }
  [[nodiscard]] http_reply control_delete(std::string_view path) const {
    return loopback_request(port_, "DELETE", path);
  }

  // SIGTERM, wait up to `grace`, then SIGKILL. Returns true if the process exited by itself
  // with status 0 (a clean shutdown). Safe to call more than once.
  bool stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    if (pid_ <= 0) return exited_cleanly_;
    ::kill(pid_, SIGTERM);
    return wait_for_exit(grace);
  }

  // Waits (bounded) for the process to exit on its own, e.g. after POST /_sim/shutdown;
  // kills it if it does not. Returns true for a clean exit.
  bool wait_for_exit(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    if (pid_ <= 0) return exited_cleanly_;
    const auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    while (true) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) {
        exited_cleanly_ = r == pid_ && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        pid_ = -1;
        return exited_cleanly_;
      }
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    exited_cleanly_ = false;
    return false;
  }

 private:
  static std::string prefix_from(const std::vector<std::string>& args) {
    std::string prefix = "/api";
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--prefix" && i + 1 < args.size()) {
        prefix = args[i + 1];
      } else if (args[i].rfind("--prefix=", 0) == 0) {
        prefix = args[i].substr(9);
      }
    }
    // Same normalisation as the simulator.
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty() && prefix.front() != '/') prefix.insert(prefix.begin(), '/');
    return prefix;
  }

  void cleanup_files() {
    if (dir_.empty()) return;
    ::unlink(port_file_.c_str());
    ::unlink((port_file_ + ".tmp").c_str());
    ::rmdir(dir_.c_str());
    dir_.clear();
  }

  std::string prefix_;
  std::string dir_;
  std::string port_file_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_cleanly_ = false;
};

}  // namespace aihub_test
