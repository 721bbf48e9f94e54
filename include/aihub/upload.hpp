#pragma once
// Uploading one file into a batch, as a step machine. Up to the threshold it is one PUT; above it a
// multipart session: parts are described as regions of the source (read from one open descriptor
// for a file on disk), so no part is ever buffered, up to N are in flight, each is retried on its
// own, and the commit lists them in order. What the server receives is the source as it was when
// the upload began, or nothing: a source that changes is caught after each region and before the
// commit, and ends the upload with error_kind::local_input. Nothing is left half-done: a part
// that cannot be uploaded, a change in the source or a commit refused for good aborts the session
// on the server, and the error names the part, the session and the file. A commit whose answer was
// lost is retried; if the retry finds the session closed, the file listing must show this upload
// (same name and size, stored since the session opened) before it counts as done.

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aihub/batches.hpp"
#include "aihub/flow.hpp"
#include "aihub/io/random_access_source.hpp"
#include "aihub/platform/posix_file.hpp"

AIHUB_NAMESPACE_BEGIN

/// Reads `out.size()` bytes at `offset` (like pread); returns the count, which may be short only at
/// the end of the data.
using positional_reader =
    std::function<result<std::size_t>(std::uint64_t offset, std::span<std::byte> out)>;

/// Where the bytes of an upload come from: a size, a way to describe any region of it as a
/// request body, and optionally a check that the bytes did not change since the upload began.
/// Regions are independent, so parts can go in parallel and a failed part can be sent again.
struct upload_source {
  std::uint64_t size = 0;
  std::function<http::body(std::uint64_t offset, std::uint64_t length)> region{};
  /// Fine while the bytes are those the upload began with; a local_input error once they changed.
  /// The flow calls it before a multipart commit (each region's body also calls it after its last
  /// byte is read); unset means the source cannot change.
  std::function<result<void>()> verify{};

  /// A snapshot (see io::random_access_source): every region reads from it and checks it, so what
  /// the server receives is the source exactly as it was when it was opened, or the upload fails
  /// with error_kind::local_input and nothing half-changed is committed.
  static upload_source from_source(std::shared_ptr<const io::random_access_source> source) {
    const std::uint64_t size = source->size();
    return {size,
            [source](std::uint64_t offset, std::uint64_t length) -> http::body {
              return http::reader_body{
                  length, std::make_shared<io::source_region_reader>(source, offset, length)};
            },
            [source] { return source->verify(); }};
  }
  /// The file at `path`, opened once: every part is read from that one descriptor, and its size
  /// and modification times are checked after each part and before the commit (a file replaced or
  /// edited while it uploads ends the upload with error_kind::local_input, never as a mix).
  static result<upload_source> open_file(std::string path) {
    auto file = platform::posix_file::open(std::move(path));
    if (!file) return std::move(file).error();
    return from_source(std::move(*file));
  }
  /// Caller-owned memory; it must outlive the upload.
  static upload_source from_bytes(std::span<const std::byte> bytes) {
    return {bytes.size(), [bytes](std::uint64_t offset, std::uint64_t length) -> http::body {
              return http::bytes_view_body{bytes.subspan(offset, length)};
            }};
  }
  /// Any random-access reader with a known size (object storage, a decrypting file, a generator).
  static upload_source from_reader(std::uint64_t size, positional_reader read) {
    auto shared = std::make_shared<positional_reader>(std::move(read));
    return {
        size, [shared](std::uint64_t offset, std::uint64_t length) -> http::body {
          return http::reader_body{length, std::make_shared<region_reader>(shared, offset, length)};
        }};
  }

 private:
  class region_reader final : public http::byte_reader {
   public:
    region_reader(std::shared_ptr<positional_reader> read, std::uint64_t offset,
                  std::uint64_t length)
        : read_(std::move(read)), offset_(offset), length_(length) {}
    result<std::size_t> read(std::span<std::byte> out) override {
      std::uint64_t left = length_ - position_;
      if (left == 0) return std::size_t{0};
      if (out.size() > left) out = out.first(static_cast<std::size_t>(left));
      auto n = (*read_)(offset_ + position_, out);
      if (n) position_ += *n;
      return n;
    }
    bool can_rewind() const noexcept override { return true; }
    result<void> rewind() override {
      position_ = 0;
      return {};
    }

   private:
    std::shared_ptr<positional_reader> read_;
    std::uint64_t offset_, length_, position_ = 0;
  };
};

struct upload_options {
  std::uint64_t multipart_threshold = 10'000'000;  ///< larger files use a multipart session
  std::size_t parallel_parts = 4;                  ///< parts in flight at once, when the driver can
  /// Bytes confirmed by the server so far, and the total. Called from the driving thread.
  std::function<void(std::uint64_t done, std::uint64_t total)> on_progress{};
};

struct upload_outcome {
  std::string name;
  std::uint64_t size = 0;
  bool multipart = false;
  std::uint64_t parts = 0;
  std::string session_id;             ///< multipart only
  bool confirmed_by_listing = false;  ///< the commit's answer was lost; the listing proved the file
  friend bool operator==(const upload_outcome&, const upload_outcome&) = default;
};

/// A class template only so that its code is compiled in the translation units that use it
/// (upload_flow below is the one specialisation); including <aihub/aihub.hpp> stays cheap.
template <class Unused = void>
class basic_upload_flow {
 public:
  using value_type = upload_outcome;

  basic_upload_flow(std::int64_t batch_id, file_name name, upload_source source,
                    upload_options options, const flow::call_context& context)
      : batch_id_(batch_id),
        name_(std::move(name)),
        source_(std::move(source)),
        options_(std::move(options)),
        context_(&context) {
    outcome_value_.name = std::string(name_.value());
    outcome_value_.size = source_.size;
    if (!source_.region) {
      finish(validation_error("source", "has no way to read its bytes"));
    } else if (source_.size <= options_.multipart_threshold) {
      single_.emplace(
          upload_file{
              .batch_id = batch_id_, .name = name_, .content = source_.region(0, source_.size)},
          *context_, single_id);
      phase_ = phase::single;
    } else {
      outcome_value_.multipart = true;
      started_at_ = context_->wall_clock();
      start_.emplace(start_multipart_upload{.batch_id = batch_id_,
                                            .name = name_,
                                            .file_size = static_cast<std::int64_t>(source_.size)},
                     *context_, start_id);
      phase_ = phase::starting;
    }
  }
  basic_upload_flow(std::int64_t, file_name, upload_source, upload_options,
                    const flow::call_context&&) = delete;  // the context must outlive the flow

  /// The most parts a session may have; a server whose part_size would split the file into more is
  /// refused (the commit alone would be enormous).
  static constexpr std::uint64_t max_parts = 10000;

  flow::step next(flow::time_point now) {
    for (;;) {
      switch (phase_) {
        case phase::single: {
          if (cancelled_ && !single_->in_flight()) return finish(std::move(*cancelled_));
          auto s = single_->next(now);
          if (!std::holds_alternative<flow::done_step>(s)) return s;
          if (!single_->outcome()) return finish(std::move(single_->outcome()).error());
          report_progress(source_.size);
          return finish_ok();
        }
        case phase::starting: {
          if (cancelled_ && !start_->in_flight() && !start_->done())
            return finish(std::move(*cancelled_));
          auto s = start_->next(now);
          if (!std::holds_alternative<flow::done_step>(s)) return s;
          if (!start_->outcome()) {
            error e = std::move(start_->outcome()).error();
            if (e.may_have_been_applied)
              e.message.append("; a multipart session for '")
                  .append(name_.value())
                  .append(
                      "' may be open on the server, but its id never arrived, so it cannot "
                      "be aborted");
            return finish(std::move(e));
          }
          session_ = std::move(*start_->outcome());
          if (auto date = parse_http_date(session_.date)) started_at_ = *date;
          outcome_value_.session_id = session_.session_id;
          layout_ = multipart_layout{source_.size, static_cast<std::uint64_t>(session_.part_size)};
          if (layout_.part_count() > max_parts && !failure_) {
            failure_ = make_error(error_kind::protocol,
                                  "the server's part_size (" + std::to_string(session_.part_size) +
                                      ") would split the file into " +
                                      std::to_string(layout_.part_count()) + " parts; at most " +
                                      std::to_string(max_parts) + " are supported");
          }
          if (cancelled_ && !failure_) failure_ = *cancelled_;
          if (failure_) {
            abort_.emplace(abort_multipart_upload{.session_id = session_.session_id}, *context_,
                           finish_id);
            phase_ = phase::aborting;
            continue;
          }
          outcome_value_.parts = layout_.part_count();
          done_parts_.assign(layout_.part_count(), uploaded_part{});
          phase_ = phase::parts;
          continue;
        }
        case phase::parts: {
          if (auto s = next_part_step(now)) return *s;
          // The last chance to catch a file edited after its parts were read: nothing is
          // committed unless the source is still what every part was read from.
          if (!failure_ && source_.verify)
            if (auto unchanged = source_.verify(); !unchanged)
              failure_ = std::move(unchanged).error();
          if (failure_) {
            abort_.emplace(abort_multipart_upload{.session_id = session_.session_id}, *context_,
                           finish_id);
            phase_ = phase::aborting;
          } else {
            commit_.emplace(
                commit_multipart_upload{
                    .session_id = session_.session_id, .parts = done_parts_, .layout = layout_},
                *context_, finish_id);
            phase_ = phase::committing;
          }
          continue;
        }
        case phase::aborting: {
          auto s = abort_->next(now);
          if (!std::holds_alternative<flow::done_step>(s)) return s;
          error e = std::move(*failure_);
          if (!abort_->outcome())
            e.message.append("; aborting the session failed too: ")
                .append(abort_->outcome().error().describe());
          else
            e.message.append("; the upload session was aborted");
          return finish(std::move(e));
        }
        case phase::committing: {
          auto s = commit_->next(now);
          if (!std::holds_alternative<flow::done_step>(s)) return s;
          if (commit_->outcome()) return finish_ok();
          const error& e = commit_->outcome().error();
          bool session_gone =
              e.kind == error_kind::http_status &&
              (e.http_status == 404 || e.http_status == 409 || e.http_status == 410);
          if (commit_->attempts() > 1 && session_gone) {
            listing_.emplace(list_files{.batch_id = batch_id_}, *context_, listing_id);
            phase_ = phase::confirming;
            continue;
          }
          error failed = std::move(commit_->outcome()).error();
          failed.message = "committing session " + session_.session_id + " of '" +
                           std::string(name_.value()) + "' failed: " + failed.message;
          if (session_gone) return finish(std::move(failed));
          // A commit refused for good leaves the session open: abort it, so no half-done
          // upload stays behind on the server.
          failure_ = std::move(failed);
          abort_.emplace(abort_multipart_upload{.session_id = session_.session_id}, *context_,
                         abort_after_commit_id);
          phase_ = phase::aborting;
          continue;
        }
        case phase::confirming: {
          if (cancelled_ && !listing_->in_flight()) return finish(std::move(*cancelled_));
          auto s = listing_->next(now);
          if (!std::holds_alternative<flow::done_step>(s)) return s;
          if (!listing_->outcome()) return finish(std::move(listing_->outcome()).error());
          const file_page& page = *listing_->outcome();
          for (const auto& node : page.nodes) {
            if (node.name != name_.value()) continue;
            if (!node.size() || static_cast<std::uint64_t>(*node.size()) != source_.size)
              return finish(confirmation_error("the listed file has another size than the upload"));
            // Same name and size is not enough: an older version of the file would hide the loss
            // of this one. It must have been stored since this upload's session opened.
            auto modified = node.metadata ? node.metadata->modified_timestamp : std::nullopt;
            if (!modified)
              return finish(confirmation_error(
                  "the listing gives no modification time, so it cannot prove the file is this "
                  "upload and not an older version"));
            const auto opened =
                std::chrono::duration_cast<std::chrono::seconds>(started_at_.time_since_epoch())
                    .count();
            if (*modified < opened)
              return finish(confirmation_error(
                  "the listed file of the same name and size was stored at " +
                  std::to_string(*modified) + ", before this upload's session opened at " +
                  std::to_string(opened) + " (Unix seconds): it is an older version"));
            outcome_value_.confirmed_by_listing = true;
            report_progress(source_.size);
            return finish_ok();
          }
          if (page.has_more && page.next_page_token && !page.next_page_token->empty() &&
              std::find(seen_tokens_.begin(), seen_tokens_.end(), *page.next_page_token) ==
                  seen_tokens_.end()) {
            seen_tokens_.push_back(*page.next_page_token);
            listing_.emplace(
                list_files{.batch_id = batch_id_, .start_token = *page.next_page_token}, *context_,
                listing_id);
            continue;
          }
          return finish(confirmation_error("the file is not in the batch"));
        }
        case phase::done:
          return flow::done_step{};
      }
    }
  }

  void on_response(std::uint64_t id, result<http::response> response, flow::time_point now) {
    switch (phase_) {
      case phase::single:
        single_->on_response(std::move(response), now);
        return;
      case phase::starting:
        start_->on_response(std::move(response), now);
        return;
      case phase::aborting:
        abort_->on_response(std::move(response), now);
        return;
      case phase::committing:
        commit_->on_response(std::move(response), now);
        return;
      case phase::confirming:
        listing_->on_response(std::move(response), now);
        return;
      case phase::parts:
        break;
      case phase::done:
        return;
    }
    for (auto it = active_.begin(); it != active_.end(); ++it) {
      if (part_id_base + static_cast<std::uint64_t>(it->part_num) != id) continue;
      it->call.on_response(std::move(response), now);
      if (!it->call.done()) {
        // Once the upload is failing or stopping, a part due for a retry is not retried.
        if (failure_) active_.erase(it);
        return;
      }
      auto& outcome = it->call.outcome();
      if (outcome) {
        done_parts_[static_cast<std::size_t>(it->part_num - 1)] = *outcome;
        // The server's part number must be the one we sent: the commit lists them in order.
        done_parts_[static_cast<std::size_t>(it->part_num - 1)].part_num = it->part_num;
        bytes_done_ += layout_.length_of(static_cast<std::uint64_t>(it->part_num));
        report_progress(bytes_done_);
      } else if (!failure_) {
        error e = std::move(outcome).error();
        e.message = "part " + std::to_string(it->part_num) + " of " +
                    std::to_string(layout_.part_count()) + " failed after " +
                    std::to_string(it->call.attempts()) + " attempt(s): " + e.message;
        e.field = "part_num";
        failed_part_ = it->part_num;
        failure_ = std::move(e);
      }
      active_.erase(it);
      return;
    }
  }

  /// Stops the upload as soon as it safely can: no new request starts (parts waiting to be retried
  /// are dropped), requests in flight finish, and an open multipart session is aborted on the
  /// server. A commit already under way is let finish: its outcome is the upload's. Returns whether
  /// the flow will still send something (the abort), so the driver knows to keep driving it.
  bool cancel(error reason) {
    if (phase_ == phase::done) return false;
    if (!cancelled_) cancelled_ = reason;
    if (phase_ == phase::parts) {
      if (!failure_) failure_ = std::move(reason);
      std::erase_if(active_, [](const active_part& p) { return !p.call.in_flight(); });
    }
    return true;
  }

  bool done() const noexcept { return phase_ == phase::done; }
  std::size_t max_in_flight() const noexcept {
    return options_.parallel_parts == 0 ? 1 : options_.parallel_parts;
  }
  /// The part whose failure ended the upload (0 when none did).
  std::int64_t failed_part() const noexcept { return failed_part_; }
  result<upload_outcome>& outcome() {
    AIHUB_ASSERT(done());
    return *outcome_;
  }

 private:
  enum class phase : std::uint8_t {
    single,
    starting,
    parts,
    aborting,
    committing,
    confirming,
    done
  };
  static constexpr std::uint64_t single_id = 1, start_id = 1, finish_id = 2, listing_id = 3,
                                 abort_after_commit_id = 4, part_id_base = 1000;

  error confirmation_error(std::string why) const {
    error e = make_error(error_kind::protocol,
                         "the commit of session " + session_.session_id + " of '" +
                             std::string(name_.value()) +
                             "' had to be retried and then found the session closed, and the "
                             "listing does not prove the upload landed: " +
                             why);
    e.operation = std::string(commit_multipart_upload::endpoint_info.operation_id);
    return e;
  }

  struct active_part {
    std::int64_t part_num;
    flow::call<upload_part> call;
  };

  std::optional<flow::step> next_part_step(flow::time_point now) {
    std::optional<flow::time_point> earliest;
    for (auto& part : active_) {
      auto s = part.call.next(now);
      if (std::holds_alternative<flow::send_step>(s)) return s;
      if (auto* w = std::get_if<flow::wait_step>(&s))
        earliest = earliest ? std::min(*earliest, w->until) : w->until;
    }
    if (!failure_ && active_.size() < max_in_flight() &&
        static_cast<std::uint64_t>(next_part_) <= layout_.part_count()) {
      std::int64_t n = next_part_++;
      auto offset = layout_.offset_of(static_cast<std::uint64_t>(n));
      auto length = layout_.length_of(static_cast<std::uint64_t>(n));
      active_.push_back(active_part{
          n, flow::call<upload_part>(upload_part{.session_id = session_.session_id,
                                                 .part_num = n,
                                                 .content = source_.region(offset, length),
                                                 .layout = layout_},
                                     *context_, part_id_base + static_cast<std::uint64_t>(n))});
      return active_.back().call.next(now);
    }
    if (active_.empty()) return std::nullopt;
    if (earliest) return flow::step{flow::wait_step{*earliest}};
    return flow::step{flow::await_step{}};
  }

  void report_progress(std::uint64_t done) {
    if (options_.on_progress) options_.on_progress(done, source_.size);
  }
  flow::step finish(error e) {
    outcome_ = result<upload_outcome>(std::move(e));
    phase_ = phase::done;
    return flow::done_step{};
  }
  flow::step finish_ok() {
    outcome_ = result<upload_outcome>(outcome_value_);
    phase_ = phase::done;
    return flow::done_step{};
  }

  std::int64_t batch_id_;
  file_name name_;
  upload_source source_;
  upload_options options_;
  const flow::call_context* context_;
  phase phase_ = phase::done;

  std::optional<flow::call<upload_file>> single_;
  std::optional<flow::call<start_multipart_upload>> start_;
  std::optional<flow::call<abort_multipart_upload>> abort_;
  std::optional<flow::call<commit_multipart_upload>> commit_;
  std::optional<flow::call<list_files>> listing_;
  std::vector<std::string> seen_tokens_;

  multipart_session session_;
  multipart_layout layout_;
  std::vector<active_part> active_;
  std::vector<uploaded_part> done_parts_;
  std::int64_t next_part_ = 1;
  std::uint64_t bytes_done_ = 0;
  std::optional<error> failure_;
  std::optional<error> cancelled_;
  std::int64_t failed_part_ = 0;
  upload_outcome outcome_value_;
  std::optional<result<upload_outcome>> outcome_;
  /// When the session opened: the Date of its answer (the server's clock), else the caller's
  /// wall clock just before the session was asked for.
  std::chrono::system_clock::time_point started_at_{};
};

using upload_flow = basic_upload_flow<>;

AIHUB_NAMESPACE_END
