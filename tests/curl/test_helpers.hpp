#pragma once
// Helpers shared by the libcurl transport tests: transport options for loopback, request builders,
// position-dependent test bodies and a streaming upload handler for cpp-httplib.

#include <aihub/curl/options.hpp>
#include <aihub/http.hpp>
#include <aihub/result.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "test_servers.hpp"

namespace test {

/// Sorted lines joined by newlines: order-insensitive comparison with a readable failure message.
inline std::string sorted_lines(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& line : lines) out.append(line).push_back('\n');
  return out;
}

inline aihub::curl::transport_options options_for(std::string api_root) {
  aihub::curl::transport_options o;
  o.api_root = std::move(api_root);
  o.proxy = "";  // loopback tests must not go through a proxy the environment may name
  o.connect_timeout = std::chrono::seconds(5);
  o.timeout = std::chrono::seconds(30);  // no test can hang forever
  return o;
}

inline aihub::http::request make(aihub::http::method verb, std::string target,
                                 aihub::http::body body = aihub::http::no_body{}) {
  aihub::http::request r;
  r.verb = verb;
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

template <class T>
std::string why(const aihub::result<T>& r) {
  return r ? std::string("ok") : r.error().describe();
}

inline std::string pattern_string(std::uint64_t offset, std::uint64_t length) {
  std::string s(static_cast<std::size_t>(length), '\0');
  for (std::uint64_t i = 0; i < length; ++i)
    s[static_cast<std::size_t>(i)] = static_cast<char>(pattern_byte(offset + i));
  return s;
}

inline std::uint64_t pattern_checksum(std::uint64_t offset, std::uint64_t length) {
  fnv1a sum;
  unsigned char buffer[4096];
  for (std::uint64_t done = 0; done < length;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buffer, length - done));
    for (std::size_t i = 0; i < n; ++i) buffer[i] = pattern_byte(offset + done + i);
    sum.update(buffer, n);
    done += n;
  }
  return sum.state;
}

/// A streamed body of pattern bytes that records how it is read.
class pattern_reader : public aihub::http::byte_reader {
 public:
  explicit pattern_reader(std::uint64_t size, bool rewindable = true)
      : size_(size), rewindable_(rewindable) {}

  aihub::result<std::size_t> read(std::span<std::byte> out) override {
    std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - position_));
    for (std::size_t i = 0; i < n; ++i) out[i] = std::byte{pattern_byte(position_ + i)};
    position_ += n;
    ++reads;
    largest_read = std::max(largest_read, n);
    if (sample_memory && reads % 32 == 0) peak_resident = std::max(peak_resident, resident_bytes());
    return n;
  }
  bool can_rewind() const noexcept override { return rewindable_; }
  aihub::result<void> rewind() override {
    if (!rewindable_) return aihub::http::byte_reader::rewind();
    position_ = 0;
    ++rewinds;
    return {};
  }

  std::uint64_t reads = 0;
  std::size_t largest_read = 0;
  int rewinds = 0;
  bool sample_memory = false;
  std::uint64_t peak_resident = 0;

 private:
  std::uint64_t size_;
  std::uint64_t position_ = 0;
  bool rewindable_;
};

/// Handler for a streamed upload: counts and checksums the body without keeping it.
struct upload_sink {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> checksum{0};
  std::atomic<bool> reader_ok{false};
  std::atomic<std::uint64_t> peak_resident{0};
  bool sample_memory = false;

  void install(httplib::Server& server, const std::string& path) {
    auto handler = [this](const httplib::Request&, httplib::Response& res,
                          const httplib::ContentReader& content_reader) {
      fnv1a sum;
      std::uint64_t count = 0;
      std::uint64_t next_sample = 0;
      bool ok = content_reader([&](const char* data, std::size_t n) {
        sum.update(data, n);
        count += n;
        if (sample_memory && count >= next_sample) {
          std::uint64_t now = resident_bytes();
          if (now > peak_resident) peak_resident = now;
          next_sample = count + (1u << 20);
        }
        return true;
      });
      reader_ok = ok;
      bytes = count;
      checksum = sum.state;
      res.status = ok ? 200 : 500;
      res.set_content(std::to_string(count), "text/plain");
    };
    server.Put(path, handler);
    server.Post(path, handler);
  }
};

}  // namespace test
