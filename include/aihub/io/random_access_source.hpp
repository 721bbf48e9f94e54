#pragma once
// The one interface behind which local bytes sit: a snapshot with a known size that can be read at
// any offset, from several threads at once, and asked whether it is still the snapshot it was when
// it was opened. Uploads read every part through it, so the platform's file calls live in one
// place (platform/posix_file.hpp) and embedders can supply their own storage.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "aihub/http.hpp"
#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN
namespace io {

class random_access_source {
 public:
  virtual ~random_access_source() = default;

  /// The size fixed when the source was opened; every read and check is against it.
  virtual std::uint64_t size() const noexcept = 0;
  /// Fills a prefix of `out` with the bytes at `offset` (like pread); 0 only at or past size().
  /// Thread-safe: parts read at once from one source.
  virtual result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const = 0;
  /// Fine while the bytes are still the ones the source had when it was opened; an error of kind
  /// local_input when it changed since (grew, shrank, was written to).
  virtual result<void> verify() const = 0;
  /// What to call it in messages (a file's path).
  virtual const std::string& name() const noexcept = 0;
};

/// An error of kind local_input about `source`.
inline error local_input_error(std::string_view name, std::string_view what) {
  error e = make_error(error_kind::local_input, std::string(name) + ": " + std::string(what));
  e.field = "source";
  return e;
}

/// A region of a source as a request body. When the last byte of the region has been read, the
/// source is verified before that byte is handed over: a file that changed while it was being read
/// fails the body there, so a transport never completes a request carrying a mix of old and new
/// bytes, and a server never applies one.
class source_region_reader final : public http::byte_reader {
 public:
  source_region_reader(std::shared_ptr<const random_access_source> source, std::uint64_t offset,
                       std::uint64_t length)
      : source_(std::move(source)), offset_(offset), length_(length) {}

  result<std::size_t> read(std::span<std::byte> out) override {
    const std::uint64_t left = length_ - position_;
    if (left == 0) return std::size_t{0};
    if (out.size() > left) out = out.first(static_cast<std::size_t>(left));
    auto n = source_->read_at(offset_ + position_, out);
    if (!n) return n;
    if (*n == 0)
      return local_input_error(source_->name(), "ended after " +
                                                    std::to_string(offset_ + position_) + " of " +
                                                    std::to_string(source_->size()) +
                                                    " bytes: it shrank while it was being read");
    position_ += *n;
    if (position_ == length_) AIHUB_TRY(source_->verify());
    return n;
  }
  bool can_rewind() const noexcept override { return true; }
  result<void> rewind() override {
    position_ = 0;
    return {};
  }
  std::string describe() const override {
    return source_->name() + " from offset " + std::to_string(offset_);
  }

 private:
  std::shared_ptr<const random_access_source> source_;
  std::uint64_t offset_, length_, position_ = 0;
};

}  // namespace io
AIHUB_NAMESPACE_END
