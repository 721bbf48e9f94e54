#pragma once
// What every command shares: the settings (environment, then flags), the client over libcurl, the
// --verbose exchange log, Ctrl-C as a stop request, and the mapping from library errors to exit
// statuses and stderr messages.

#include <aihub/aihub.hpp>
#include <aihub/curl/transport.hpp>

#include <atomic>
#include <cstddef>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>

#include "output.hpp"

namespace aihub_cli {

/// Exit statuses (documented in `aihub --help`).
namespace exit_status {
inline constexpr int success = 0;
inline constexpr int usage = 2;          ///< usage or validation error; nothing was sent
inline constexpr int api_error = 3;      ///< error status, FAILED/CANCELLED on --wait, failed part
inline constexpr int transport = 4;      ///< no usable answer: network, invalid JSON, protocol
inline constexpr int deadline = 5;       ///< a wait ran out of time
inline constexpr int local_input = 6;    ///< a local file was unreadable or changed while sent
inline constexpr int interrupted = 130;  ///< Ctrl-C (SIGINT); SIGHUP gives 129, SIGTERM 143
}  // namespace exit_status

using hub_client = aihub::client<aihub::curl::transport>;

/// The global options and what they imply, shared by every command.
struct session {
  explicit session(terminal& t) : term(t) {}

  aihub::settings settings;
  bool json = false;
  bool verbose = false;
  std::string command_path;  ///< "batches create", for usage hints
  terminal& term;
  std::stop_token stop{};

  /// A client for this session. With `parallel` > 1 it gets a transport factory, so multipart
  /// parts go up on that many connections.
  hub_client make_client(std::size_t parallel = 1,
                         std::function<void(const aihub::transfer_progress&)> on_send = {}) const;

  /// Checks the settings before anything is sent (missing token, bad API root...). Prints the
  /// problem and returns false when they cannot be used.
  bool settings_usable() const;

  /// Prints a usage error ("aihub: error: ...") and the hint; returns exit_status::usage.
  int usage_failure(std::string_view message) const;
  /// Prints a library error and returns its exit status.
  int failure(const aihub::error& e) const;
  /// Prints a library error, after `what` failed ("upload of x.pdf"), without choosing a status.
  void report(const aihub::error& e, std::string_view what = {}) const;
  /// Prints a note on stderr (not in --json mode's stdout).
  void note(std::string_view text) const { term.line(text); }
};

/// The exit status for a library error.
int exit_status_for(const aihub::error& e);

/// The exit status of a command stopped by a signal: 128 + the signal's number, as a shell reports
/// it (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
int stopped_exit_status();

/// Ctrl-C, SIGTERM and SIGHUP handling: a signal handler that only writes to a pipe
/// (async-signal-safe), and a watcher thread that turns the first of them into a stop request
/// (waits and sends stop; a multipart upload aborts its session first). `timeout`, CI
/// cancellation and container stops send SIGTERM, a closed terminal SIGHUP: each gets the same
/// clean stop as Ctrl-C. A second signal ends the process at once.
class interrupt_watcher {
 public:
  explicit interrupt_watcher(terminal& term);
  ~interrupt_watcher();
  interrupt_watcher(const interrupt_watcher&) = delete;
  interrupt_watcher& operator=(const interrupt_watcher&) = delete;

  std::stop_token token() const noexcept { return source_.get_token(); }

 private:
  void watch();

  terminal& term_;
  std::stop_source source_;
  int pipe_[2] = {-1, -1};
  bool installed_[3] = {false, false, false};
  std::thread thread_;
};

}  // namespace aihub_cli
