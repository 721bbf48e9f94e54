#pragma once
// Output of the aihub tool: stdout carries the result (a JSON document, an id, a table or a few
// "key: value" lines); stderr carries errors, --verbose logs, notes and, on a terminal, a progress
// line that other stderr messages erase first. Everything written to stderr goes through one
// `terminal` so threads never interleave half lines.

#include <aihub/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace aihub_cli {

/// stderr, shared by the main thread, upload workers and the interrupt watcher.
class terminal {
 public:
  explicit terminal(bool interactive) : interactive_(interactive) {}
  terminal(const terminal&) = delete;
  terminal& operator=(const terminal&) = delete;

  /// Whether stderr is a terminal (progress lines are shown only then).
  bool interactive() const noexcept { return interactive_; }

  /// Writes `text` and a newline, erasing the progress line first (it is redrawn by the next
  /// status() call).
  void line(std::string_view text);
  /// Replaces the progress line (terminal only).
  void status(std::string_view text);
  /// Leaves the progress line on screen and moves to the next line.
  void end_status();

 private:
  void erase_status_locked();

  std::mutex mutex_;
  bool interactive_;
  bool status_shown_ = false;
};

/// Prints `value` (any model with json_fields()) as one JSON document on stdout.
template <class T>
void print_json(const T& value) {
  std::string text;
  aihub::json::builtin_codec{}.encode(value, text);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stdout);
}

/// Prints a line on stdout.
void print_line(std::string_view text);

/// A left-aligned text table with a header row, columns two spaces apart (widths in code points).
class table {
 public:
  explicit table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

/// "key: value" lines with the values aligned; empty values are skipped.
class fields {
 public:
  void add(std::string key, std::string value) {
    if (!value.empty()) rows_.emplace_back(std::move(key), std::move(value));
  }
  void print() const;

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

/// "2024-05-01 12:00:00 UTC" from Unix seconds.
std::string format_utc(std::int64_t unix_seconds);
/// "1.5 MB" (decimal units).
std::string format_bytes(std::uint64_t bytes);
/// Control characters of server text replaced, so a name cannot rewrite the terminal.
std::string printable(std::string_view text);

/// Upload progress on the progress line: bytes, percentage, rate and ETA. Bytes count what the
/// server confirmed plus what the transfers in flight have sent; updates may come from any
/// thread and are redrawn at most ten times a second.
class progress_bar {
 public:
  progress_bar(terminal& term, std::string label, std::uint64_t total);
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  /// Bytes the server confirmed (whole parts or the whole file).
  void confirmed(std::uint64_t done);
  /// Bytes sent so far by the exchange running on the calling thread.
  void sending(std::uint64_t sent);
  /// Draws the final state and ends the line.
  void finish(bool success);

 private:
  void redraw_locked(bool force);

  terminal& term_;
  std::string label_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  std::mutex mutex_;
  std::uint64_t confirmed_ = 0;
  std::vector<std::pair<std::thread::id, std::uint64_t>> in_flight_;
};

}  // namespace aihub_cli
