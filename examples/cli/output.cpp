#include "output.hpp"

#include <aihub/validate.hpp>

#include <algorithm>
#include <ctime>

namespace aihub_cli {

// ---------------------------------------------------------------------------------------------------
// terminal

void terminal::erase_status_locked() {
  if (!status_shown_) return;
  std::fputs("\r\x1b[K", stderr);
  status_shown_ = false;
}

void terminal::line(std::string_view text) {
  std::lock_guard lock(mutex_);
  erase_status_locked();
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

void terminal::status(std::string_view text) {
  if (!interactive_) return;
  std::lock_guard lock(mutex_);
  std::fputs("\r\x1b[K", stderr);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  status_shown_ = true;
}

void terminal::end_status() {
  std::lock_guard lock(mutex_);
  if (!status_shown_) return;
  std::fputc('\n', stderr);
  std::fflush(stderr);
  status_shown_ = false;
}

// ---------------------------------------------------------------------------------------------------
// stdout

void print_line(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

namespace {
std::size_t display_width(std::string_view text) {
  std::int64_t n = aihub::utf8_length(text);
  return n < 0 ? text.size() : static_cast<std::size_t>(n);
}
}  // namespace

void table::print() const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  }
  for (const auto& row : rows_) {
    std::string out;
    for (std::size_t i = 0; i < row.size(); ++i) {
      out.append(row[i]);
      if (i + 1 < row.size()) out.append(widths[i] - display_width(row[i]) + 2, ' ');
    }
    print_line(out);
  }
}

void fields::print() const {
  std::size_t width = 0;
  for (const auto& row : rows_) width = std::max(width, row.first.size());
  for (const auto& [key, value] : rows_)
    print_line(key + ":" + std::string(width - key.size() + 1, ' ') + value);
}

std::string format_utc(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  if (!::gmtime_r(&t, &parts)) return std::to_string(unix_seconds);
  char buffer[40];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &parts);
  return n ? std::string(buffer, n) : std::to_string(unix_seconds);
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  if (bytes < 1000) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(units)) {
    value /= 1000;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f %s", value, units[unit]);
  return buffer;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// progress_bar

progress_bar::progress_bar(terminal& term, std::string label, std::uint64_t total)
    : term_(term), label_(std::move(label)), total_(total) {
  std::lock_guard lock(mutex_);
  redraw_locked(true);
}

void progress_bar::confirmed(std::uint64_t done) {
  std::lock_guard lock(mutex_);
  confirmed_ = done;
  // The confirmed bytes now include the exchanges that just ended; the ones still running report
  // their absolute counts again on their next callback.
  in_flight_.clear();
  redraw_locked(false);
}

void progress_bar::sending(std::uint64_t sent) {
  std::lock_guard lock(mutex_);
  auto me = std::this_thread::get_id();
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                         [&](const auto& entry) { return entry.first == me; });
  if (it == in_flight_.end())
    in_flight_.emplace_back(me, sent);
  else
    it->second = sent;
  redraw_locked(false);
}

void progress_bar::finish(bool success) {
  {
    std::lock_guard lock(mutex_);
    if (success) {
      confirmed_ = total_;
      in_flight_.clear();
    }
    redraw_locked(true);
  }
  term_.end_status();
}

void progress_bar::redraw_locked(bool force) {
  if (!term_.interactive()) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;

  std::uint64_t done = confirmed_;
  for (const auto& entry : in_flight_) done += entry.second;
  done = std::min(done, total_);
  const double fraction =
      total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  constexpr int width = 24;
  const int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(width - filled), '.');

  const double elapsed = std::chrono::duration<double>(now - started_).count();
  const double rate = elapsed > 0.05 ? static_cast<double>(done) / elapsed : 0.0;
  std::string eta = "--:--";
  if (done >= total_) {
    eta = "done";
  } else if (rate > 0) {
    auto left = static_cast<std::uint64_t>(static_cast<double>(total_ - done) / rate);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%llu:%02llu", static_cast<unsigned long long>(left / 60),
                  static_cast<unsigned long long>(left % 60));
    eta = buffer;
  }
  char percent[8];
  std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
  term_.status(label_ + " [" + bar + "] " + percent + " " + format_bytes(done) + " / " +
               format_bytes(total_) + "  " + format_bytes(static_cast<std::uint64_t>(rate)) +
               "/s  ETA " + eta);
}

}  // namespace aihub_cli
