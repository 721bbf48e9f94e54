#pragma once
// Pagination as pure bookkeeping: a pager says which request fetches the next page and checks each
// page it is given. A server that repeats a page token, answers an empty page while claiming there
// is more, or claims more pages than max_pages, ends the iteration with a protocol error instead of
// an endless loop. The pagers' own memory stays bounded: a seen token costs 8 bytes (its hash).

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aihub/batches.hpp"
#include "aihub/runs.hpp"

AIHUB_NAMESPACE_BEGIN

/// The most pages one listing may take unless told otherwise (client_options::max_pages): far more
/// than any real listing, but a server that always says "there is more" ends.
inline constexpr std::uint64_t default_max_pages = 1'000'000;

namespace detail {
/// The error for a listing that went past its page limit.
inline error too_many_pages(std::string_view operation, std::uint64_t max_pages) {
  return make_error(error_kind::protocol,
                    std::string(operation) + ": the server claims more than " +
                        std::to_string(max_pages) +
                        " pages; stopping (raise client_options::max_pages for longer listings)");
}

/// 64-bit FNV-1a: page tokens are remembered by hash so a long listing keeps 8 bytes per page.
inline std::uint64_t token_hash(std::string_view token) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : token) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}
}  // namespace detail

/// listFiles: start_token → next_page_token while has_more.
class file_pager {
 public:
  using operation_type = list_files;
  using page_type = file_page;

  explicit file_pager(list_files first, std::uint64_t max_pages = default_max_pages)
      : batch_id_(first.batch_id),
        page_size_(first.page_size),
        next_(std::move(first)),
        max_pages_(max_pages) {}

  /// The request for the next page, or nullopt when the listing is complete.
  const std::optional<list_files>& next_request() const noexcept { return next_; }

  result<void> accept(const file_page& page) {
    if (!next_) return make_error(error_kind::protocol, "listFiles: no page was requested");
    ++pages_;
    if (!page.has_more) {
      next_.reset();
      return {};
    }
    next_.reset();
    if (page.nodes.empty())
      return make_error(error_kind::protocol,
                        "listFiles: the server returned an empty page but said there is more");
    if (!page.next_page_token || page.next_page_token->empty())
      return make_error(error_kind::protocol,
                        "listFiles: the server said there is more but gave no next_page_token");
    if (pages_ > max_pages_) return detail::too_many_pages("listFiles", max_pages_);
    const std::string& token = *page.next_page_token;
    // Sorted hashes: a repeat is found in log time; a hash collision (about 2^-64 per pair) would
    // only end the listing early with this error.
    const std::uint64_t hash = detail::token_hash(token);
    auto at = std::lower_bound(seen_.begin(), seen_.end(), hash);
    if (at != seen_.end() && *at == hash)
      return make_error(error_kind::protocol,
                        "listFiles: the server repeated a page token; stopping instead of looping");
    seen_.insert(at, hash);
    next_ = list_files{.batch_id = batch_id_, .page_size = page_size_, .start_token = token};
    return {};
  }

  std::uint64_t pages() const noexcept { return pages_; }

 private:
  std::int64_t batch_id_;
  std::optional<std::int64_t> page_size_;
  std::optional<list_files> next_;
  std::uint64_t max_pages_;
  std::vector<std::uint64_t> seen_;
  std::uint64_t pages_ = 0;
};

namespace detail {
/// limit/offset paging: the offset advances by the items returned; an empty or short page ends it.
/// Returns false when the listing is complete.
inline result<bool> advance_offset(std::optional<std::int64_t>& offset, std::int64_t limit,
                                   std::size_t returned, std::string_view operation) {
  auto count = static_cast<std::int64_t>(returned);
  if (limit > 0 && count > limit)
    return make_error(error_kind::protocol,
                      std::string(operation) + ": the server returned more than the limit");
  if (count == 0 || limit == 0 || count < limit) return false;
  *offset += count;
  return true;
}
}  // namespace detail

/// listBatches: offset advances by the number of batches returned; a short page ends the listing.
class batch_pager {
 public:
  using operation_type = list_batches;
  using page_type = batch_list;

  explicit batch_pager(list_batches first, std::uint64_t max_pages = default_max_pages)
      : next_(std::move(first)), max_pages_(max_pages) {
    if (!next_->limit) next_->limit = 100;
    if (!next_->offset) next_->offset = 0;
  }

  const std::optional<list_batches>& next_request() const noexcept { return next_; }

  result<void> accept(const batch_list& page) {
    if (!next_) return make_error(error_kind::protocol, "listBatches: no page was requested");
    ++pages_;
    auto more =
        detail::advance_offset(next_->offset, *next_->limit, page.batches.size(), "listBatches");
    if (!more || !*more) next_.reset();
    if (!more) return std::move(more).error();
    if (next_ && pages_ > max_pages_) {
      next_.reset();
      return detail::too_many_pages("listBatches", max_pages_);
    }
    return {};
  }

  std::uint64_t pages() const noexcept { return pages_; }

 private:
  std::optional<list_batches> next_;
  std::uint64_t max_pages_;
  std::uint64_t pages_ = 0;
};

/// getRunResults: file_offset advances by the files each page returned, while has_more.
class results_pager {
 public:
  using operation_type = get_run_results;
  using page_type = run_results;

  explicit results_pager(get_run_results first, std::uint64_t max_pages = default_max_pages)
      : next_(std::move(first)), max_pages_(max_pages) {}

  const std::optional<get_run_results>& next_request() const noexcept { return next_; }

  result<void> accept(const run_results& page) {
    if (!next_) return make_error(error_kind::protocol, "getRunResults: no page was requested");
    ++pages_;
    auto following = next_->next_page(page);
    next_.reset();
    if (!following) return std::move(following).error();
    if (*following && pages_ > max_pages_)
      return detail::too_many_pages("getRunResults", max_pages_);
    next_ = std::move(*following);
    return {};
  }

  std::uint64_t pages() const noexcept { return pages_; }

 private:
  std::optional<get_run_results> next_;
  std::uint64_t max_pages_;
  std::uint64_t pages_ = 0;
};

/// listRuns: offset advances by the runs returned; a short page ends the listing.
class run_pager {
 public:
  using operation_type = list_runs;
  using page_type = run_list;

  explicit run_pager(list_runs first, std::uint64_t max_pages = default_max_pages)
      : next_(std::move(first)), max_pages_(max_pages) {
    if (!next_->limit) next_->limit = 100;
    if (!next_->offset) next_->offset = 0;
  }

  const std::optional<list_runs>& next_request() const noexcept { return next_; }

  result<void> accept(const run_list& page) {
    if (!next_) return make_error(error_kind::protocol, "listRuns: no page was requested");
    ++pages_;
    auto more = detail::advance_offset(next_->offset, *next_->limit, page.runs.size(), "listRuns");
    if (!more || !*more) next_.reset();
    if (!more) return std::move(more).error();
    if (next_ && pages_ > max_pages_) {
      next_.reset();
      return detail::too_many_pages("listRuns", max_pages_);
    }
    return {};
  }

  std::uint64_t pages() const noexcept { return pages_; }

 private:
  std::optional<list_runs> next_;
  std::uint64_t max_pages_;
  std::uint64_t pages_ = 0;
};

AIHUB_NAMESPACE_END
