#pragma once
// Retrying as a pure decision: given the attempt that just failed, how it failed and how long the
// call has taken, either a delay before the next attempt or no retry. No clock is read and no
// thread sleeps here; the flows and the client supply the times and do the waiting.
//
// What is retried: HTTP 429, 502, 503 and 504 (configurable) and transport failures that may pass
// (connection refused or reset, timeouts). An operation whose endpoint is idempotent (GET, PUT,
// DELETE, part uploads, commit/abort of a multipart session) is retried on any of those; one that
// is not (creating a batch, starting a multipart session or a run) only when the request surely
// never reached the server, so retrying cannot create a duplicate.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "aihub/operation.hpp"
#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN

struct retry_policy {
  int max_attempts = 5;  ///< attempts in all, the first included; 1 turns retrying off
  std::chrono::milliseconds initial_backoff{250};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{15000};
  std::chrono::milliseconds max_total{120000};  ///< no retry starts once this much time has gone by
  bool honour_retry_after = true;  ///< a Retry-After longer than max_backoff still wins
  std::array<int, 8> statuses{429, 502, 503, 504};  ///< zeros are unused slots
  /// Seed of the jitter. Unset, every client seeds from its own address and the clock, so clients
  /// that failed together do not retry in lockstep; set it for reproducible delays in tests.
  std::optional<std::uint64_t> jitter_seed{};

  static retry_policy none() {
    retry_policy p;
    p.max_attempts = 1;
    return p;
  }
  bool retries_status(int status) const noexcept {
    return status != 0 && std::find(statuses.begin(), statuses.end(), status) != statuses.end();
  }
};

/// Deterministic jitter (splitmix64): tests get the same delays for the same seed.
class jitter_source {
 public:
  explicit jitter_source(std::uint64_t seed) noexcept : state_(seed) {}
  /// A number in [0, 1).
  double next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
  }

 private:
  std::uint64_t state_;
};

namespace detail {
constexpr bool parse_digits(std::string_view s, int& out) noexcept {
  if (s.empty()) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > 100000000) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
}  // namespace detail

/// Parses an HTTP date in the IMF-fixdate form every current server sends
/// ("Sun, 06 Nov 1994 08:49:37 GMT"). Never throws; nullopt when unreadable.
inline std::optional<std::chrono::system_clock::time_point> parse_http_date(
    std::string_view value) noexcept {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.size() != 29 || value[3] != ',' || value[4] != ' ' || value.substr(26) != "GMT")
    return std::nullopt;
  constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  std::size_t month_at = months.find(value.substr(8, 3));
  if (!detail::parse_digits(value.substr(5, 2), day) || value[7] != ' ' ||
      month_at == std::string_view::npos || month_at % 3 != 0 || value[11] != ' ' ||
      !detail::parse_digits(value.substr(12, 4), year) || value[16] != ' ' ||
      !detail::parse_digits(value.substr(17, 2), hour) || value[19] != ':' ||
      !detail::parse_digits(value.substr(20, 2), minute) || value[22] != ':' ||
      !detail::parse_digits(value.substr(23, 2), second) || value[25] != ' ')
    return std::nullopt;
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  // system_clock may count nanoseconds in 64 bits (until 2262): a hostile year must not overflow.
  if (year < 1900 || year > 2200) return std::nullopt;
  std::int64_t days = detail::days_from_civil(year, static_cast<unsigned>(month_at / 3 + 1),
                                              static_cast<unsigned>(day));
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(days * 86400 + hour * 3600 + minute * 60 + second));
}

/// Parses a Retry-After value: delay-seconds ("120") or an IMF-fixdate HTTP-date
/// ("Sun, 06 Nov 1994 08:49:37 GMT", relative to `now`). Never throws; nullopt when unreadable.
/// A date in the past means "now" (zero delay).
inline std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  int seconds = 0;
  if (detail::parse_digits(value, seconds)) return std::chrono::seconds(seconds);
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
}

/// Whether an error may be retried for an operation with these endpoint traits.
inline bool is_retryable(const retry_policy& policy, const endpoint& ep, const error& e) noexcept {
  switch (e.kind) {
    case error_kind::http_status:
      return ep.idempotent && policy.retries_status(e.http_status);
    case error_kind::transport:
    case error_kind::timeout:
      if (e.not_sent) return true;
      return ep.idempotent && e.retryable;
    default:
      return false;
  }
}

/// The delay before attempt `failed_attempt + 1`, or nullopt to give up. `elapsed` is the time
/// since the first attempt started.
inline std::optional<std::chrono::milliseconds> next_retry_delay(
    const retry_policy& policy, const endpoint& ep, int failed_attempt, const error& e,
    std::chrono::milliseconds elapsed, jitter_source& jitter,
    std::chrono::system_clock::time_point wall_now = std::chrono::system_clock::now()) {
  if (failed_attempt >= policy.max_attempts || !is_retryable(policy, ep, e)) return std::nullopt;
  double backoff = static_cast<double>(policy.initial_backoff.count());
  for (int i = 1; i < failed_attempt && backoff < static_cast<double>(policy.max_backoff.count());
       ++i)
    backoff *= policy.multiplier;
  backoff = std::min(backoff, static_cast<double>(policy.max_backoff.count()));
  // "Equal jitter": half fixed, half random, so retries spread out but never collapse to zero.
  auto delay =
      std::chrono::milliseconds(static_cast<std::int64_t>(backoff * (0.5 + 0.5 * jitter.next())));
  if (policy.honour_retry_after && !e.retry_after.empty())
    if (auto asked = parse_retry_after(e.retry_after, wall_now)) delay = std::max(delay, *asked);
  if (elapsed > policy.max_total || delay > policy.max_total - elapsed) return std::nullopt;
  return delay;
}

AIHUB_NAMESPACE_END
