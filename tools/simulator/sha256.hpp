// Minimal streaming SHA-256 (FIPS 180-4) for the AI Hub simulator.
// The simulator only needs digests of uploaded bodies, so a small self-contained
// implementation avoids linking a crypto library directly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace aihub_sim {

class sha256 {
 public:
  using digest = std::array<std::uint8_t, 32>;

  sha256() noexcept { reset(); }

  void reset() noexcept;
  void update(const void* data, std::size_t size) noexcept;
  void update(std::string_view data) noexcept { update(data.data(), data.size()); }
  // Returns the digest of everything fed so far; the object itself is left unchanged,
  // so a running hash can be snapshot and extended later.
  [[nodiscard]] digest finish() const noexcept;
  [[nodiscard]] std::string hex() const { return to_hex(finish()); }
  [[nodiscard]] std::uint64_t bytes() const noexcept { return total_; }

  static std::string to_hex(const digest& d);
  static std::string hex_of(std::string_view data) {
    sha256 h;
    h.update(data);
    return h.hex();
  }

 private:
  void compress(const std::uint8_t* block) noexcept;

  std::array<std::uint32_t, 8> state_{};
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace aihub_sim
