#pragma once
// Pagination as pure bookkeeping: a pager says which request fetches the next page and checks each
// page it is given. A server that repeats a page token, or answers an empty page while claiming
// there is more, ends the iteration with a protocol error instead of an endless loop.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aihub/batches.hpp"
#include "aihub/runs.hpp"

AIHUB_NAMESPACE_BEGIN

/// listFiles: start_token → next_page_token while has_more.
class file_pager {
 public:
  using operation_type = list_files;
  using page_type = file_page;

  explicit file_pager(list_files first)
      : batch_id_(first.batch_id), page_size_(first.page_size), next_(std::move(first)) {}

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
    const std::string& token = *page.next_page_token;
    if (std::find(seen_.begin(), seen_.end(), token) != seen_.end())
      return make_error(error_kind::protocol,
                        "listFiles: the server repeated a page token; stopping instead of looping");
    seen_.push_back(token);
    next_ = list_files{.batch_id = batch_id_, .page_size = page_size_, .start_token = token};
    return {};
  }

  std::uint64_t pages() const noexcept { return pages_; }

 private:
  std::int64_t batch_id_;
  std::optional<std::int64_t> page_size_;
  std::optional<list_files> next_;
  std::vector<std::string> seen_;
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

  explicit batch_pager(list_batches first) : next_(std::move(first)) {
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
    return {};
  }

  std::uint64_t pages() const noexcept { return pages_; }

 private:
  std::optional<list_batches> next_;
  std::uint64_t pages_ = 0;
};

/// getRunResults: file_offset advances by the files each page returned, while has_more.
class results_pager {
 public:
  using operation_type = get_run_results;
  using page_type = run_results;

  explicit results_pager(get_run_results first) : next_(std::move(first)) {}

  const std::optional<get_run_results>& next_request() const noexcept { return next_; }

  result<void> accept(const run_results& page) {
    if (!next_) return make_error(error_kind::protocol, "getRunResults: no page was requested");
    ++pages_;
    auto following = next_->next_page(page);
    next_.reset();
    if (!following) return std::move(following).error();
    next_ = std::move(*following);
    return {};
  }

  std::uint64_t pages() const noexcept { return pages_; }

 private:
  std::optional<get_run_results> next_;
  std::uint64_t pages_ = 0;
};

/// listRuns: offset advances by the runs returned; a short page ends the listing.
class run_pager {
 public:
  using operation_type = list_runs;
  using page_type = run_list;

  explicit run_pager(list_runs first) : next_(std::move(first)) {
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
    return {};
  }

  std::uint64_t pages() const noexcept { return pages_; }

 private:
  std::optional<list_runs> next_;
  std::uint64_t pages_ = 0;
};

AIHUB_NAMESPACE_END
