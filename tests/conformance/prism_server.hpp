// Test-side launcher for the Prism mock server (tools/prism). POSIX only; not part of the library.
//
// Prism runs as `node <prism> mock --errors -h 127.0.0.1 -p <port> <spec>` in a process group of
// its own, with stdout and stderr in a log file. It is always stopped again: the destructor sends
// SIGTERM to the whole group, waits, then SIGKILLs the group; on Linux the child also gets SIGKILL
// if this process dies without running destructors (PR_SET_PDEATHSIG), and
// kill_prism_group_from_signal_handler() lets a signal handler take the group down first.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace aihub_conformance {

/// Whether `path` names an existing regular file (following symlinks).
inline bool is_file(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// `name` looked up in $PATH, or "" when it is not there.
inline std::string find_on_path(std::string_view name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string_view rest(path);
  while (true) {
    const auto colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + std::string(name);
    if (is_file(candidate) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
}

namespace detail {
/// The process group of the running Prism, for the signal handler (0 = none).
inline std::atomic<pid_t> running_group{0};
static_assert(std::atomic<pid_t>::is_always_lock_free);
/// Prism's log file and its directory, for the signal handler ("" = none).
inline char log_file_for_signal[512] = {};
inline char log_dir_for_signal[512] = {};

inline void copy_path(char (&out)[512], const std::string& path) noexcept {
  const std::size_t n = path.size() < sizeof out - 1 ? path.size() : 0;  // too long: not kept
  std::memcpy(out, path.data(), n);
  out[n] = '\0';
}

/// A port the kernel considers free on 127.0.0.1 right now. Prism binds it a moment later; if
/// something else wins the race, Prism exits and the launcher tries again with another port.
inline int pick_free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
inline bool loopback_accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}
}  // namespace detail

/// For signal handlers (async-signal-safe): SIGKILLs the running Prism's process group, if any, and
/// removes its log, since no destructor will run.
inline void kill_prism_group_from_signal_handler() noexcept {
  const pid_t group = detail::running_group.load();
  if (group > 0) ::kill(-group, SIGKILL);
  if (detail::log_file_for_signal[0] != '\0') ::unlink(detail::log_file_for_signal);
  if (detail::log_dir_for_signal[0] != '\0') ::rmdir(detail::log_dir_for_signal);
}

class prism_server {
 public:
  struct options {
    std::string node;   ///< the node executable
    std::string prism;  ///< tools/prism/node_modules/.bin/prism
    std::string spec;   ///< the OpenAPI document
    std::chrono::milliseconds startup_timeout = std::chrono::seconds(60);
    int attempts = 3;  ///< fresh ports to try when Prism dies during startup (lost port race)
  };

  /// Starts Prism and waits until it accepts connections. Throws std::runtime_error with the
  /// tail of Prism's log when it cannot be started.
  explicit prism_server(options o) : options_(std::move(o)) {
    char dir_template[] = "/tmp/aihub-prism-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr)
      throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = dir_template;
    log_path_ = dir_ + "/prism.log";
    detail::copy_path(detail::log_file_for_signal, log_path_);
    detail::copy_path(detail::log_dir_for_signal, dir_);
    std::string failures;
    for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
      const std::size_t log_start = log_size();
      std::string why;
      if (try_start(why)) return;
      failures += "attempt " + std::to_string(attempt) + ": " + why + "\n";
      // Only a lost race for the port is worth another try; a bad spec fails the same way again.
      if (log_text(log_start).find("EADDRINUSE") == std::string::npos) break;
    }
    std::string tail = log_tail(4000);
    remove_files();
    throw std::runtime_error("could not start Prism:\n" + failures + "--- Prism log (tail) ---\n" +
                             tail);
  }

  prism_server(const prism_server&) = delete;
  prism_server& operator=(const prism_server&) = delete;

  ~prism_server() {
    stop();
    remove_files();
  }

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] std::string api_root() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] const std::string& log_path() const noexcept { return log_path_; }

  /// The last `max_bytes` of Prism's output.
  [[nodiscard]] std::string log_tail(std::size_t max_bytes) const {
    std::string text = log_text(0);
    if (text.size() > max_bytes) text.erase(0, text.size() - max_bytes);
    return text;
  }

  /// SIGTERM to the group, up to `grace` for the leader to exit, then SIGKILL to the group. The
  /// leader is reaped only after the group has been killed, so its pid (the group id) cannot be
  /// reused by an unrelated process while the group is being signalled. Safe to call twice.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) noexcept {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!leader_exited() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::kill(-pid_, SIGKILL);  // stragglers of the group, or the leader itself after the grace
    reap();
  }

 private:
  [[nodiscard]] std::string log_text(std::size_t from) const {
    std::ifstream in(log_path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(from));
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  [[nodiscard]] std::size_t log_size() const {
    struct stat st {};
    return ::stat(log_path_.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  }

  bool try_start(std::string& why) {
    port_ = detail::pick_free_loopback_port();
    const std::string port_text = std::to_string(port_);
    std::vector<std::string> args{options_.node, options_.prism, "mock",    "--errors",   "-h",
                                  "127.0.0.1",   "-p",           port_text, options_.spec};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
      why = "open " + log_path_ + ": " + std::strerror(errno);
      return false;
    }
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
      why = std::string("open /dev/null: ") + std::strerror(errno);
      ::close(log_fd);
      return false;
    }
    {
      std::ofstream note(log_path_, std::ios::app);
      note << "[launcher] starting Prism on 127.0.0.1:" << port_ << "\n";
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      why = std::string("fork: ") + std::strerror(errno);
      ::close(log_fd);
      ::close(null_fd);
      return false;
    }
    if (pid == 0) {
      // Child: only async-signal-safe calls until exec.
      ::setpgid(0, 0);
#if defined(__linux__)
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
#else
      (void)parent;
#endif
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      ::execve(argv[0], argv.data(), environ);
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here, so the group exists before the parent signals it
    ::close(log_fd);
    ::close(null_fd);
    pid_ = pid;
    detail::running_group.store(pid);

    const auto deadline = std::chrono::steady_clock::now() + options_.startup_timeout;
    while (true) {
      if (leader_exited()) {
        why = "Prism exited during startup (" + exit_text() + ")";
        ::kill(-pid_, SIGKILL);
        reap();
        return false;
      }
      if (detail::loopback_accepts(port_)) return true;
      if (std::chrono::steady_clock::now() > deadline) {
        why = "Prism did not accept connections on 127.0.0.1:" + port_text + " within " +
              std::to_string(options_.startup_timeout.count()) + " ms";
        stop();
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  /// Whether the leader has exited; leaves it unreaped (a zombie keeps its pid reserved).
  bool leader_exited() noexcept {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
      return errno == ECHILD;
    return info.si_pid == pid_;
  }

  std::string exit_text() {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid != pid_)
      return "unknown status";
    if (info.si_code == CLD_EXITED) return "exit code " + std::to_string(info.si_status);
    return "signal " + std::to_string(info.si_status);
  }

  void reap() noexcept {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    detail::running_group.store(0);
    pid_ = -1;
  }

  void remove_files() noexcept {
    if (dir_.empty()) return;
    detail::log_file_for_signal[0] = '\0';
    detail::log_dir_for_signal[0] = '\0';
    ::unlink(log_path_.c_str());
    ::rmdir(dir_.c_str());
    dir_.clear();
  }

  options options_;
  std::string dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace aihub_conformance
