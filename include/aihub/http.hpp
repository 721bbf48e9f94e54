#pragma once
// Plain descriptions of an HTTP exchange: what to send and what came back. Nothing here does I/O,
// so the same request can go through libcurl, an embedded stack, a proxy or a test double. The
// target is relative to the API root (the transport or its configuration owns scheme, host and path
// prefix), so requests relocate across tenants, proxies and custom networks unchanged.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "aihub/detail/ascii.hpp"
#include "aihub/result.hpp"

AIHUB_NAMESPACE_BEGIN
namespace http {

enum class method : std::uint8_t { get, post, put, delete_, patch, head };

constexpr std::string_view to_string(method m) noexcept {
  switch (m) {
    case method::get:
      return "GET";
    case method::post:
      return "POST";
    case method::put:
      return "PUT";
    case method::delete_:
      return "DELETE";
    case method::patch:
      return "PATCH";
    case method::head:
      return "HEAD";
  }
  return "GET";
}

struct header {
  std::string name{};
  std::string value{};
  friend bool operator==(const header&, const header&) = default;
};

/// Insertion-ordered header list with case-insensitive lookup. Small on purpose: a request carries
/// about five headers, so a flat vector beats any map.
class header_list {
 public:
  header_list() = default;
  header_list(std::initializer_list<header> init) : items_(init) {}

  /// Replaces every header of that name with one entry (keeps the position of the first).
  void set(std::string_view name, std::string_view value) {
    bool placed = false;
    for (auto it = items_.begin(); it != items_.end();) {
      if (::aihub::detail::iequals(it->name, name)) {
        if (!placed) {
          it->value.assign(value);
          placed = true;
          ++it;
        } else {
          it = items_.erase(it);
        }
      } else {
        ++it;
      }
    }
    if (!placed) items_.push_back({std::string(name), std::string(value)});
  }
  void add(std::string_view name, std::string_view value) {
    items_.push_back({std::string(name), std::string(value)});
  }
  /// The first value of that name, or nullptr.
  const std::string* find(std::string_view name) const noexcept {
    for (const auto& h : items_)
      if (::aihub::detail::iequals(h.name, name)) return &h.value;
    return nullptr;
  }
  std::string_view get(std::string_view name) const noexcept {
    const std::string* v = find(name);
    return v ? std::string_view(*v) : std::string_view();
  }
  bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
  void erase(std::string_view name) {
    std::erase_if(items_, [&](const header& h) { return ::aihub::detail::iequals(h.name, name); });
  }
  void reserve(std::size_t n) { items_.reserve(n); }
  void clear() noexcept { items_.clear(); }

  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }

  friend bool operator==(const header_list&, const header_list&) = default;

 private:
  std::vector<header> items_{};
};

/// Pull interface for a body that is produced while it is sent (a pipe, a generator, a
/// decompressor). Its length is known up front, so the request carries a Content-Length and memory
/// stays bounded.
class byte_reader {
 public:
  virtual ~byte_reader() = default;
  /// Fills a prefix of `out`; returns the count, 0 only at the end of the data.
  virtual result<std::size_t> read(std::span<std::byte> out) = 0;
  /// Whether rewind() can restart from the first byte. Retry logic asks this before it retries, so
  /// a body that cannot be replayed is never half-resent.
  virtual bool can_rewind() const noexcept { return false; }
  virtual result<void> rewind() {
    return make_error(error_kind::protocol, "this body cannot be rewound for a retry");
  }
};

/// No body at all (GET, DELETE).
struct no_body {
  friend bool operator==(const no_body&, const no_body&) = default;
};

/// An owned JSON document, sent as application/json.
struct json_body {
  std::string text{};
  friend bool operator==(const json_body&, const json_body&) = default;
};

/// A view of caller-owned bytes. The caller keeps them alive until the request has been sent.
struct bytes_view_body {
  std::span<const std::byte> bytes{};
  friend bool operator==(const bytes_view_body& a, const bytes_view_body& b) noexcept {
    return a.bytes.data() == b.bytes.data() && a.bytes.size() == b.bytes.size();
  }
};

/// `length` bytes of the file at `path` starting at `offset`: exactly one multipart part, or a
/// whole file. The file is opened only when the body is read, never while the request is built.
struct file_slice {
  std::string path{};
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  friend bool operator==(const file_slice&, const file_slice&) = default;
};

/// A body produced by a byte_reader with a known length. Equality is identity of the reader.
struct reader_body {
  std::uint64_t length = 0;
  std::shared_ptr<byte_reader> reader{};
  friend bool operator==(const reader_body&, const reader_body&) = default;
};

using body = std::variant<no_body, json_body, bytes_view_body, file_slice, reader_body>;

/// Length of any body, known before a byte is read.
inline std::uint64_t body_size(const body& b) noexcept {
  struct visitor {
    std::uint64_t operator()(const no_body&) const noexcept { return 0; }
    std::uint64_t operator()(const json_body& j) const noexcept { return j.text.size(); }
    std::uint64_t operator()(const bytes_view_body& v) const noexcept { return v.bytes.size(); }
    std::uint64_t operator()(const file_slice& f) const noexcept { return f.length; }
    std::uint64_t operator()(const reader_body& r) const noexcept { return r.length; }
  };
  return std::visit(visitor{}, b);
}

inline bool has_body(const body& b) noexcept {
  return !std::holds_alternative<no_body>(b);
}

struct request {
  method verb = method::get;
  std::string
      target{};  ///< "/v2/batches/7/files?page_size=10": path and query, already percent-encoded
  header_list headers{};
  http::body body{};

  friend bool operator==(const request&, const request&) = default;
};

struct response {
  int status = 0;
  header_list headers{};
  std::string body{};

  friend bool operator==(const response&, const response&) = default;
};

/// Headers whose values are secrets and never reach a log, an error or a dump.
constexpr bool is_sensitive_header(std::string_view name) noexcept {
  return ::aihub::detail::iequals(name, "authorization") ||
         ::aihub::detail::iequals(name, "proxy-authorization") ||
         ::aihub::detail::iequals(name, "cookie") || ::aihub::detail::iequals(name, "set-cookie");
}

/// The value as it may be shown: the scheme survives ("Bearer"), the credential does not.
inline std::string redacted_value(std::string_view name, std::string_view value) {
  if (!is_sensitive_header(name)) return std::string(value);
  auto space = value.find(' ');
  if (space != std::string_view::npos && ::aihub::detail::iequals(name, "authorization"))
    return std::string(value.substr(0, space)).append(" <redacted>");
  return "<redacted>";
}

namespace detail {
inline void append_printable(std::string& out, std::string_view text, std::size_t limit) {
  std::size_t shown = text.size() < limit ? text.size() : limit;
  for (std::size_t i = 0; i < shown; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f)) {
      out.push_back(static_cast<char>(c));
    } else {
      constexpr char hex[] = "0123456789abcdef";
      out.append("\\x").push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (shown < text.size())
    out.append("... (").append(std::to_string(text.size())).append(" bytes)");
}

inline void append_headers(std::string& out, const header_list& headers) {
  for (const auto& h : headers) {
    out.append(h.name).append(": ");
    append_printable(out, redacted_value(h.name, h.value), 4096);
    out.push_back('\n');
  }
}
}  // namespace detail

/// A readable dump for logs and debugging, with secret header values redacted. JSON bodies are
/// shown (up to `body_limit` bytes); binary and streamed bodies are summarised, never read.
inline std::string to_string(const request& r, std::size_t body_limit = 2048) {
  std::string out{};
  out.append(to_string(r.verb)).append(" ").append(r.target).append("\n");
  detail::append_headers(out, r.headers);
  struct visitor {
    std::string& out;
    std::size_t limit;
    void operator()(const no_body&) const {}
    void operator()(const json_body& j) const {
      out.push_back('\n');
      detail::append_printable(out, j.text, limit);
      out.push_back('\n');
    }
    void operator()(const bytes_view_body& v) const {
      out.append("\n<").append(std::to_string(v.bytes.size())).append(" bytes>\n");
    }
    void operator()(const file_slice& f) const {
      out.append("\n<").append(std::to_string(f.length)).append(" bytes of ").append(f.path);
      out.append(" from offset ").append(std::to_string(f.offset)).append(">\n");
    }
    void operator()(const reader_body& b) const {
      out.append("\n<").append(std::to_string(b.length)).append(" streamed bytes>\n");
    }
  };
  std::visit(visitor{out, body_limit}, r.body);
  return out;
}

inline std::string to_string(const response& r, std::size_t body_limit = 2048) {
  std::string out = "HTTP " + std::to_string(r.status) + "\n";
  detail::append_headers(out, r.headers);
  if (!r.body.empty()) {
    out.push_back('\n');
    detail::append_printable(out, r.body, body_limit);
    out.push_back('\n');
  }
  return out;
}

}  // namespace http
AIHUB_NAMESPACE_END
