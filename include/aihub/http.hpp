#pragma once
// Plain descriptions of an HTTP exchange: what to send and what came back. Nothing here does I/O,
// so the same request can go through libcurl, an embedded stack, a proxy or a test double. The
// target is relative to the API root (the transport or its configuration owns scheme, host and path
// prefix), so requests relocate across tenants, proxies and custom networks unchanged.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "aihub/detail/ascii.hpp"
#include "aihub/json.hpp"
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

/// One header as a view into a header_list (or into anything else that outlives it).
struct header {
  std::string_view name{};
  std::string_view value{};
  friend bool operator==(const header&, const header&) = default;
};

/// Insertion-ordered header list with case-insensitive lookup, stored in one buffer: a request's
/// five headers cost one allocation (none when a reused list already has the room). A request
/// carries about five headers, so linear scans beat any map.
class header_list {
  // Each entry is [name size: 4 bytes][value size: 4 bytes][name][value], back to back.
  static constexpr std::size_t prefix_size = 8;

 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = header;
    using difference_type = std::ptrdiff_t;
    using pointer = const header*;
    using reference = const header&;

    iterator() = default;
    reference operator*() const noexcept { return current_; }
    pointer operator->() const noexcept { return &current_; }
    iterator& operator++() noexcept {
      at_ = next_;
      load();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.at_ == b.at_; }

   private:
    friend class header_list;
    iterator(const char* at, const char* end) noexcept : at_(at), end_(end) { load(); }
    void load() noexcept {
      if (at_ == end_) return;
      std::uint32_t sizes[2];
      std::memcpy(sizes, at_, sizeof sizes);
      const char* text = at_ + prefix_size;
      current_ = {std::string_view(text, sizes[0]), std::string_view(text + sizes[0], sizes[1])};
      next_ = text + sizes[0] + sizes[1];
    }
    const char* at_ = nullptr;
    const char* end_ = nullptr;
    const char* next_ = nullptr;
    header current_{};
  };
  using const_iterator = iterator;

  header_list() = default;
  header_list(std::initializer_list<header> init) {
    std::size_t bytes = 0;
    for (const auto& h : init) bytes += entry_size(h.name, h.value);
    data_.reserve(bytes);
    for (const auto& h : init) add(h.name, h.value);
  }

  /// Bytes needed to hold one more header: for reserve() ahead of a batch of add()s.
  static constexpr std::size_t entry_size(std::string_view name, std::string_view value) noexcept {
    return prefix_size + name.size() + value.size();
  }
  /// Makes room for `bytes` of entries (see entry_size) so the next add()s do not allocate.
  void reserve(std::size_t bytes) { data_.reserve(bytes); }

  /// Appends a header; the value is the concatenation of the pieces (no temporary string for
  /// "Bearer " + token).
  void add(std::string_view name, std::string_view value, std::string_view value_more = {}) {
    const std::uint32_t sizes[2] = {static_cast<std::uint32_t>(name.size()),
                                    static_cast<std::uint32_t>(value.size() + value_more.size())};
    std::size_t at = data_.size();
    data_.resize(at + entry_size(name, value) + value_more.size());
    char* out = data_.data() + at;
    std::memcpy(out, sizes, sizeof sizes);
    out += sizeof sizes;
    if (!name.empty()) std::memcpy(out, name.data(), name.size());
    out += name.size();
    if (!value.empty()) std::memcpy(out, value.data(), value.size());
    out += value.size();
    if (!value_more.empty()) std::memcpy(out, value_more.data(), value_more.size());
    ++count_;
  }
  /// Replaces every header of that name with one entry (keeps the position of the first).
  void set(std::string_view name, std::string_view value) {
    if (!contains(name)) return add(name, value);
    header_list rebuilt;
    rebuilt.reserve(data_.size() + value.size());
    bool placed = false;
    for (const header& h : *this) {
      if (!::aihub::detail::iequals(h.name, name)) {
        rebuilt.add(h.name, h.value);
      } else if (!placed) {
        rebuilt.add(h.name, value);
        placed = true;
      }
    }
    *this = std::move(rebuilt);
  }
  /// The first value of that name.
  std::optional<std::string_view> find(std::string_view name) const noexcept {
    for (const header& h : *this)
      if (::aihub::detail::iequals(h.name, name)) return h.value;
    return std::nullopt;
  }
  /// The first value of that name, or "".
  std::string_view get(std::string_view name) const noexcept {
    return find(name).value_or(std::string_view());
  }
  bool contains(std::string_view name) const noexcept { return find(name).has_value(); }
  void erase(std::string_view name) {
    if (!contains(name)) return;
    header_list kept;
    kept.reserve(data_.size());
    for (const header& h : *this)
      if (!::aihub::detail::iequals(h.name, name)) kept.add(h.name, h.value);
    *this = std::move(kept);
  }
  /// Empties the list and keeps its buffer for reuse.
  void clear() noexcept {
    data_.clear();
    count_ = 0;
  }

  iterator begin() const noexcept { return {data_.data(), data_.data() + data_.size()}; }
  iterator end() const noexcept {
    const char* end = data_.data() + data_.size();
    return {end, end};
  }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

  friend bool operator==(const header_list&, const header_list&) = default;

 private:
  std::string data_{};
  std::size_t count_ = 0;
};

/// A request target ("/v2/batches/7/files/a.pdf?x=1"), stored inline up to inline_capacity bytes:
/// the targets of this API (ids, session ids, names) fit, so building one does not allocate.
/// Longer targets (long names, page tokens) spill to the heap.
class target_string {
 public:
  static constexpr std::size_t inline_capacity = 127;

  target_string() noexcept { inline_[0] = '\0'; }
  target_string(std::string_view text) : target_string() { append(text); }
  target_string(const char* text) : target_string(std::string_view(text)) {}
  target_string(const std::string& text) : target_string(std::string_view(text)) {}

  target_string& append(std::string_view text) {
    if (!spilled_ && size_ + text.size() <= inline_capacity) {
      if (!text.empty()) std::memcpy(inline_ + size_, text.data(), text.size());
      size_ += text.size();
      inline_[size_] = '\0';
      return *this;
    }
    if (!spilled_) {
      heap_.reserve(2 * (size_ + text.size()));
      heap_.assign(inline_, size_);
      spilled_ = true;
    }
    heap_.append(text);
    size_ = heap_.size();
    return *this;
  }
  target_string& append(const char* text, std::size_t size) {
    return append(std::string_view(text, size));
  }
  target_string& push_back(char c) {
    if (!spilled_ && size_ < inline_capacity) {
      inline_[size_++] = c;
      inline_[size_] = '\0';
      return *this;
    }
    return append(std::string_view(&c, 1));
  }
  /// Empties the target and keeps any heap buffer for reuse.
  void clear() noexcept {
    size_ = 0;
    inline_[0] = '\0';
    heap_.clear();
    spilled_ = false;
  }

  const char* data() const noexcept { return spilled_ ? heap_.data() : inline_; }
  const char* c_str() const noexcept { return data(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return {data(), size_}; }
  operator std::string_view() const noexcept { return view(); }
  std::string str() const { return std::string(view()); }
  const char* begin() const noexcept { return data(); }
  const char* end() const noexcept { return data() + size_; }
  std::size_t find(std::string_view text, std::size_t from = 0) const noexcept {
    return view().find(text, from);
  }
  std::size_t find(char c, std::size_t from = 0) const noexcept { return view().find(c, from); }
  bool starts_with(std::string_view prefix) const noexcept { return view().starts_with(prefix); }

  friend bool operator==(const target_string& a, const target_string& b) noexcept {
    return a.view() == b.view();
  }
  friend bool operator==(const target_string& a, std::string_view b) noexcept {
    return a.view() == b;
  }
  friend bool operator==(const target_string& a, const std::string& b) noexcept {
    return a.view() == std::string_view(b);
  }
  friend bool operator==(const target_string& a, const char* b) noexcept {
    return a.view() == std::string_view(b);
  }
  friend std::string operator+(const target_string& a, std::string_view b) {
    return std::string(a.view()).append(b);
  }

 private:
  std::size_t size_ = 0;
  bool spilled_ = false;
  char inline_[inline_capacity + 1]{};
  std::string heap_{};
};

/// Immutable text shared by copies: the path of a file every part of an upload reads from, so a
/// part's request copies a reference, not the path.
class shared_text {
 public:
  shared_text() = default;
  shared_text(std::string text) : text_(std::make_shared<const std::string>(std::move(text))) {}
  shared_text(std::string_view text) : shared_text(std::string(text)) {}
  shared_text(const char* text) : shared_text(std::string(text)) {}

  const std::string& str() const noexcept { return text_ ? *text_ : empty_text(); }
  const char* c_str() const noexcept { return str().c_str(); }
  std::string_view view() const noexcept { return str(); }
  operator std::string_view() const noexcept { return view(); }
  bool empty() const noexcept { return str().empty(); }
  std::size_t size() const noexcept { return str().size(); }

  template <class Text>
  requires std::is_convertible_v<const Text&, std::string_view>
  friend bool operator==(const shared_text& a, const Text& b) noexcept {
    return a.view() == std::string_view(b);
  }

 private:
  static const std::string& empty_text() noexcept {
    static const std::string empty;
    return empty;
  }
  std::shared_ptr<const std::string> text_{};
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
  /// Where the bytes come from, for dumps ("/data/a.pdf from offset 0"); empty when unnamed.
  virtual std::string describe() const { return {}; }
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
  shared_text path{};
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
  /// "/v2/batches/7/files?page_size=10": path and query, already percent-encoded
  target_string target{};
  header_list headers{};
  http::body body{};
  /// Values the body carries that must never be shown (PDF passwords, secret values): dumps and
  /// transports replace them wherever they would print them, as they do the Authorization value.
  /// Filled by build_request from the operation; empty for most requests.
  std::vector<std::string> secrets{};

  /// Equal when the same bytes would go out: `secrets` says how a request is shown, not what it is.
  friend bool operator==(const request& a, const request& b) {
    return a.verb == b.verb && a.target == b.target && a.headers == b.headers && a.body == b.body;
  }
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

/// Secrets shorter than this are not scrubbed from free text: replacing every "ab" would mangle a
/// message while protecting nothing worth the name. JSON string values equal to a secret are
/// redacted whatever their length.
inline constexpr std::size_t min_scrubbed_secret_length = 4;

/// Replaces every occurrence of `secret` in `text` with "<redacted>", in one pass over the original
/// text: linear however often a server repeats it, and never matching inside an inserted
/// "<redacted>" (a secret such as "redacted" would otherwise be found there forever).
inline void redact_occurrences(std::string& text, std::string_view secret) {
  if (secret.empty()) return;
  std::size_t at = text.find(secret);
  if (at == std::string::npos) return;
  std::string out;
  out.reserve(text.size());
  std::size_t from = 0;
  while (at != std::string::npos) {
    out.append(text, from, at - from).append("<redacted>");
    from = at + secret.size();
    at = text.find(secret, from);
  }
  out.append(text, from, std::string::npos);
  text = std::move(out);
}

/// Replaces every occurrence of each secret in `text` with "<redacted>".
inline void scrub_secrets(std::string& text, std::span<const std::string> secrets) {
  for (const std::string& secret : secrets)
    if (secret.size() >= min_scrubbed_secret_length) redact_occurrences(text, secret);
}

namespace detail {
/// JSON text with every string value equal to one of the secrets written as "<redacted>". The
/// secret is looked for in the form json::writer gives it, which is what is in the body.
inline std::string redact_json_strings(std::string_view text,
                                       std::span<const std::string> secrets) {
  std::string out(text);
  std::string quoted;
  for (const std::string& secret : secrets) {
    quoted.clear();
    json::writer::append_quoted(quoted, secret);
    for (std::size_t at = out.find(quoted); at != std::string::npos; at = out.find(quoted, at)) {
      // A match preceded by an odd run of backslashes is an escaped quote inside another string.
      std::size_t slashes = 0;
      while (slashes < at && out[at - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 1) {
        at += 1;
        continue;
      }
      out.replace(at, quoted.size(), "\"<redacted>\"");
      at += 12;
    }
  }
  scrub_secrets(out, secrets);  // the same value elsewhere (inside a longer string, say)
  return out;
}

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

/// A readable dump for logs and debugging, with secret header values and the request's secrets
/// redacted. JSON bodies are shown (up to `body_limit` bytes); binary and streamed bodies are
/// summarised, never read.
inline std::string to_string(const request& r, std::size_t body_limit = 2048) {
  std::string out{};
  out.append(to_string(r.verb)).append(" ").append(r.target).append("\n");
  detail::append_headers(out, r.headers);
  struct visitor {
    std::string& out;
    std::size_t limit;
    std::span<const std::string> secrets;
    void operator()(const no_body&) const {}
    void operator()(const json_body& j) const {
      out.push_back('\n');
      if (secrets.empty())
        detail::append_printable(out, j.text, limit);
      else
        detail::append_printable(out, detail::redact_json_strings(j.text, secrets), limit);
      out.push_back('\n');
    }
    void operator()(const bytes_view_body& v) const {
      out.append("\n<").append(std::to_string(v.bytes.size())).append(" bytes>\n");
    }
    void operator()(const file_slice& f) const {
      out.append("\n<").append(std::to_string(f.length)).append(" bytes of ").append(f.path.view());
      out.append(" from offset ").append(std::to_string(f.offset)).append(">\n");
    }
    void operator()(const reader_body& b) const {
      out.append("\n<").append(std::to_string(b.length));
      if (b.reader && !b.reader->describe().empty())
        out.append(" bytes of ").append(b.reader->describe()).append(">\n");
      else
        out.append(" streamed bytes>\n");
    }
  };
  std::visit(visitor{out, body_limit, r.secrets}, r.body);
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
