#pragma once
// Local files on POSIX systems as io::random_access_source: opened once, read with pread from that
// one descriptor (so a file renamed over the path while parts are in flight does not change what
// is sent), and checked against the size and modification time it had when it was opened (so an
// edit in place is caught). The change time is left out on purpose: it also moves when the file is
// renamed over, chmod-ed or hard-linked, none of which changes a byte read from the descriptor.
// The only place in the library that calls the operating system for files.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "aihub/io/random_access_source.hpp"
#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN
namespace platform {

class posix_file final : public io::random_access_source {
 public:
  /// Opens `path` for reading; a missing, unreadable or non-regular file is a validation error
  /// (nothing was sent).
  static result<std::shared_ptr<const posix_file>> open(std::string path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return validation_error("path", "cannot read " + path + ": " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
      error e = validation_error("path", "cannot read " + path + ": " + std::strerror(errno));
      ::close(fd);
      return e;
    }
    if (!S_ISREG(info.st_mode)) {
      ::close(fd);
      return validation_error("path", path + " is not a regular file");
    }
    return std::shared_ptr<const posix_file>(new posix_file(fd, std::move(path), info));
  }

  ~posix_file() override { ::close(fd_); }
  posix_file(const posix_file&) = delete;
  posix_file& operator=(const posix_file&) = delete;

  std::uint64_t size() const noexcept override { return size_; }
  const std::string& name() const noexcept override { return path_; }

  result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (offset >= size_ || out.empty()) return std::size_t{0};
    if (out.size() > size_ - offset) out = out.first(static_cast<std::size_t>(size_ - offset));
    static_assert(sizeof(off_t) >= 8, "build with 64-bit file offsets (_FILE_OFFSET_BITS=64)");
    for (;;) {
      ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EINTR) continue;
      return io::local_input_error(path_, std::string("cannot be read: ") + std::strerror(errno));
    }
  }

  result<void> verify() const override {
    struct stat now {};
    if (::fstat(fd_, &now) != 0)
      return io::local_input_error(path_,
                                   std::string("cannot be checked: ") + std::strerror(errno));
    if (static_cast<std::uint64_t>(now.st_size) != size_)
      return io::local_input_error(path_, "changed while it was being sent: its size went from " +
                                              std::to_string(size_) + " to " +
                                              std::to_string(now.st_size) + " bytes");
    if (now.st_mtim.tv_sec != mtime_.tv_sec || now.st_mtim.tv_nsec != mtime_.tv_nsec)
      return io::local_input_error(path_,
                                   "changed while it was being sent: it was written to (its "
                                   "modification time moved)");
    return {};
  }

 private:
  posix_file(int fd, std::string path, const struct stat& info)
      : fd_(fd),
        path_(std::move(path)),
        size_(static_cast<std::uint64_t>(info.st_size)),
        mtime_(info.st_mtim) {}

  int fd_;
  std::string path_;
  std::uint64_t size_;
  timespec mtime_;
};

}  // namespace platform
AIHUB_NAMESPACE_END
