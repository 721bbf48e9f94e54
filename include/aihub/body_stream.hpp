#pragma once
// One pull interface over every kind of request body, for transport authors: a transport reads the
// body through body_stream whatever it is (JSON text, caller bytes, a file slice, a reader), with
// the length known up front. File slices are opened here, at send time, and read in the caller's
// buffer size, so a multi-gigabyte upload never sits in memory.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "aihub/http.hpp"

AIHUB_NAMESPACE_BEGIN
namespace http {

class body_stream {
 public:
  explicit body_stream(const http::body& b) : body_(&b), size_(body_size(b)) {}
  body_stream(const body_stream&) = delete;
  body_stream& operator=(const body_stream&) = delete;
  ~body_stream() { close_file(); }

  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t position() const noexcept { return position_; }

  /// Copies the next bytes into `out`; 0 means the whole declared length has been delivered. A
  /// source that ends early or runs long is an error: a wrong Content-Length must never reach the
  /// wire silently.
  result<std::size_t> read(std::span<std::byte> out) {
    std::uint64_t left = size_ - position_;
    if (left == 0 || out.empty()) return std::size_t{0};
    std::size_t want = out.size() < left ? out.size() : static_cast<std::size_t>(left);
    out = out.first(want);
    result<std::size_t> got = std::visit([&](const auto& b) { return read_from(b, out); }, *body_);
    if (!got) return got;
    if (*got == 0)
      return make_error(error_kind::transport, "request body ended after " +
                                                   std::to_string(position_) + " of " +
                                                   std::to_string(size_) + " declared bytes");
    position_ += *got;
    return got;
  }

  /// Whether the body can be sent again from its first byte (for a retry or a redirect).
  bool rewindable() const noexcept {
    if (auto r = std::get_if<reader_body>(body_)) return r->reader && r->reader->can_rewind();
    return true;
  }

  result<void> rewind() {
    if (auto r = std::get_if<reader_body>(body_)) {
      if (!r->reader || !r->reader->can_rewind())
        return make_error(error_kind::protocol, "the request body cannot be rewound for a retry");
      AIHUB_TRY(r->reader->rewind());
    }
    close_file();
    position_ = 0;
    return {};
  }

 private:
  result<std::size_t> read_from(const no_body&, std::span<std::byte>) { return std::size_t{0}; }
  result<std::size_t> read_from(const json_body& j, std::span<std::byte> out) {
    std::memcpy(out.data(), j.text.data() + position_, out.size());
    return out.size();
  }
  result<std::size_t> read_from(const bytes_view_body& v, std::span<std::byte> out) {
    std::memcpy(out.data(), v.bytes.data() + position_, out.size());
    return out.size();
  }
  result<std::size_t> read_from(const reader_body& r, std::span<std::byte> out) {
    if (!r.reader) return make_error(error_kind::protocol, "reader_body has no reader");
    return r.reader->read(out);
  }
  result<std::size_t> read_from(const file_slice& f, std::span<std::byte> out) {
    if (!file_) {
      file_ = std::fopen(f.path.c_str(), "rb");
      if (!file_) return file_error("cannot open", f.path);
      static_assert(sizeof(off_t) >= 8, "build with 64-bit file offsets (_FILE_OFFSET_BITS=64)");
      errno = 0;
      if (f.offset + position_ > static_cast<std::uint64_t>(INT64_MAX) ||
          fseeko(file_, static_cast<off_t>(f.offset + position_), SEEK_SET) != 0) {
        error e = file_error("cannot seek in", f.path);
        close_file();  // a later read must not start from offset 0
        return e;
      }
    }
    std::size_t n = std::fread(out.data(), 1, out.size(), file_);
    if (n == 0 && std::ferror(file_)) return file_error("cannot read", f.path);
    return n;
  }

  static error file_error(const char* what, std::string_view path) {
    int code = errno;
    std::string message = std::string(what) + " " + std::string(path);
    if (code != 0) message.append(": ").append(std::strerror(code));
    return make_error(error_kind::transport, std::move(message));
  }
  void close_file() noexcept {
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }

  const http::body* body_;
  std::uint64_t size_;
  std::uint64_t position_ = 0;
  std::FILE* file_ = nullptr;
};

}  // namespace http
AIHUB_NAMESPACE_END
