// Runs the `aihub` binary as a child process for the CLI tests: posix_spawn with a controlled
// environment (every AIHUB_* variable of the test's own environment removed, then the test's
// additions), stdout and stderr captured (stderr optionally on a pseudo-terminal), the exit status,
// and a SIGKILL when the child outlives its time limit.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace aihub_cli_test {

struct run_result {
  int exit_code = -1;  ///< -1 when the child died of a signal
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct spawn_options {
  std::map<std::string, std::string> env;  ///< set in the child (AIHUB_* are cleared first)
  bool stderr_on_pty = false;              ///< give the child a terminal as stderr
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

class child_process {
 public:
  child_process(const std::string& binary, const std::vector<std::string>& args,
                const spawn_options& options)
      : deadline_(std::chrono::steady_clock::now() + options.timeout) {
    int out_pipe[2], err_pipe[2] = {-1, -1};
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    int pty_slave = -1;
    if (options.stderr_on_pty) {
      if (::openpty(&err_pipe[0], &pty_slave, nullptr, nullptr, nullptr) != 0)
        throw std::runtime_error("openpty failed");
      ::fcntl(err_pipe[0], F_SETFD, FD_CLOEXEC);
      ::fcntl(pty_slave, F_SETFD, FD_CLOEXEC);
    } else if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    const int err_write = options.stderr_on_pty ? pty_slave : err_pipe[1];

    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      std::string_view entry(*e);
      if (entry.starts_with("AIHUB_")) continue;
      env_strings.emplace_back(entry);
    }
    for (const auto& [name, value] : options.env) env_strings.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    std::vector<std::string> argv_strings{binary};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    ::posix_spawn_file_actions_adddup2(&actions, err_write, 2);
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGHUP}) sigaddset(&defaults, sig);
    sigemptyset(&empty);
    ::posix_spawnattr_setsigdefault(&attr, &defaults);
    ::posix_spawnattr_setsigmask(&attr, &empty);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    const int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, &attr, argv.data(), envp.data());
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    ::close(out_pipe[1]);
    ::close(err_write);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("posix_spawn " + binary + ": " + std::strerror(rc));
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {out_fd_, err_fd_})
      if (fd >= 0) ::close(fd);
  }

  pid_t pid() const noexcept { return pid_; }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  /// Reads both outputs until the child closes them and exits, or kills it at the deadline.
  run_result wait() {
    run_result result;
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        result.timed_out = true;
        ::kill(pid_, SIGKILL);
        deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      }
      pollfd fds[2];
      nfds_t n = 0;
      for (int fd : {out_fd_, err_fd_})
        if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
      int ready = ::poll(fds, n, static_cast<int>(std::max<std::int64_t>(1, left.count())));
      if (ready < 0 && errno == EINTR) continue;
      for (nfds_t i = 0; i < n; ++i) {
        if (!fds[i].revents) continue;
        char buffer[8192];
        ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        int& fd = fds[i].fd == out_fd_ ? out_fd_ : err_fd_;
        std::string& sink = fds[i].fd == out_fd_ ? result.out : result.err;
        if (got <= 0) {  // EOF (or EIO on a pseudo-terminal whose child side closed)
          ::close(fd);
          fd = -1;
        } else {
          sink.append(buffer, static_cast<std::size_t>(got));
        }
      }
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    return result;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::chrono::steady_clock::time_point deadline_;
};

inline run_result run(const std::string& binary, const std::vector<std::string>& args,
                      const spawn_options& options = {}) {
  child_process child(binary, args, options);
  return child.wait();
}

}  // namespace aihub_cli_test
