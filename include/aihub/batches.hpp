#pragma once
// The Batches API (OpenAPI tag "Batches", paths under /v2/batches): the eleven operations as typed
// requests, and the models their responses decode into. Each request validates itself before
// anything is built; names checked at compile time where they are literals (see validate.hpp).

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aihub/http.hpp"
#include "aihub/json.hpp"
#include "aihub/operation.hpp"
#include "aihub/url.hpp"
#include "aihub/validate.hpp"

AIHUB_NAMESPACE_BEGIN

// ---------------------------------------------------------------------------------------------------
// Models

/// A created batch (schema `batch`).
struct batch {
  std::int64_t id = 0;
  static constexpr auto json_fields() { return json::fields(json::required("id", &batch::id)); }
  friend bool operator==(const batch&, const batch&) = default;
};

/// Schema `batchInfo`.
struct batch_info {
  std::int64_t id = 0;
  std::string name{};
  std::optional<std::string> workspace{};
  std::optional<std::string> mount_point{};
  std::optional<std::string> repo_owner{};
  std::optional<std::string> batch_owner{};
  std::optional<std::int64_t> created_at_ms{};
  std::optional<std::int64_t> updated_at_ms{};
  std::optional<std::string> path_suffix{};

  static constexpr auto json_fields() {
    using t = batch_info;
    return json::fields(
        json::required("id", &t::id), json::required("name", &t::name),
        json::field("workspace", &t::workspace), json::field("mount_point", &t::mount_point),
        json::field("repo_owner", &t::repo_owner), json::field("batch_owner", &t::batch_owner),
        json::field("created_at_ms", &t::created_at_ms),
        json::field("updated_at_ms", &t::updated_at_ms),
        json::field("path_suffix", &t::path_suffix));
  }
  friend bool operator==(const batch_info&, const batch_info&) = default;
};

struct batch_list {
  std::vector<batch_info> batches{};
  static constexpr auto json_fields() {
    return json::fields(json::field("batches", &batch_list::batches));
  }
  friend bool operator==(const batch_list&, const batch_list&) = default;
};

/// Schema `batchDeletionJobResponse`.
struct batch_job {
  std::string job_id{};
  static constexpr auto json_fields() {
    return json::fields(json::required("job_id", &batch_job::job_id));
  }
  friend bool operator==(const batch_job&, const batch_job&) = default;
};

/// States of an asynchronous job. A state this version does not know decodes as `unknown` rather
/// than failing, so a newer server does not break older clients; waiters treat it as still running.
enum class job_state : std::uint8_t { pending, running, complete, failed, cancelled, unknown };

constexpr std::string_view to_string(job_state s) noexcept {
  switch (s) {
    case job_state::pending:
      return "PENDING";
    case job_state::running:
      return "RUNNING";
    case job_state::complete:
      return "COMPLETE";
    case job_state::failed:
      return "FAILED";
    case job_state::cancelled:
      return "CANCELLED";
    case job_state::unknown:
      break;
  }
  return "UNKNOWN";
}

constexpr bool from_string(std::string_view text, job_state& out) noexcept {
  constexpr job_state all[] = {job_state::pending, job_state::running, job_state::complete,
                               job_state::failed, job_state::cancelled};
  for (job_state s : all) {
    if (to_string(s) == text) {
      out = s;
      return true;
    }
  }
  out = job_state::unknown;
  return true;
}

constexpr bool is_terminal(job_state s) noexcept {
  return s == job_state::complete || s == job_state::failed || s == job_state::cancelled;
}

/// Schema `jobStatusResponse`.
struct job_status {
  job_state state = job_state::unknown;
  std::optional<std::string> message{};
  static constexpr auto json_fields() {
    return json::fields(json::required("state", &job_status::state),
                        json::field("message", &job_status::message));
  }
  friend bool operator==(const job_status&, const job_status&) = default;
};

struct file_metadata {
  std::optional<std::string> node_type{};
  std::optional<json::flex_int> size{};              ///< bytes; some servers send it as a string
  std::optional<std::int64_t> modified_timestamp{};  ///< Unix seconds
  static constexpr auto json_fields() {
    using t = file_metadata;
    return json::fields(json::field("node_type", &t::node_type), json::field("size", &t::size),
                        json::field("modified_timestamp", &t::modified_timestamp));
  }
  friend bool operator==(const file_metadata&, const file_metadata&) = default;
};

struct file_permissions {
  std::optional<bool> can_read{};
  std::optional<bool> can_write{};
  std::optional<bool> can_delete{};
  static constexpr auto json_fields() {
    using t = file_permissions;
    return json::fields(json::field("can_read", &t::can_read),
                        json::field("can_write", &t::can_write),
                        json::field("can_delete", &t::can_delete));
  }
  friend bool operator==(const file_permissions&, const file_permissions&) = default;
};

/// One entry of `listBatchFilesResponse.nodes`.
struct file_node {
  std::string name{};
  std::optional<std::string> full_path{};
  std::optional<file_metadata> metadata{};
  std::optional<file_permissions> perms{};

  /// The size in bytes, when the server reported one.
  std::optional<std::int64_t> size() const noexcept {
    if (metadata && metadata->size) return metadata->size->value;
    return std::nullopt;
  }
  static constexpr auto json_fields() {
    using t = file_node;
    return json::fields(json::required("name", &t::name), json::field("full_path", &t::full_path),
                        json::field("metadata", &t::metadata), json::field("perms", &t::perms));
  }
  friend bool operator==(const file_node&, const file_node&) = default;
};

/// Schema `listBatchFilesResponse`: one page of files.
struct file_page {
  std::vector<file_node> nodes{};
  std::optional<std::string> next_page_token{};
  bool has_more = false;
  static constexpr auto json_fields() {
    using t = file_page;
    return json::fields(json::field("nodes", &t::nodes),
                        json::field("next_page_token", &t::next_page_token),
                        json::field("has_more", &t::has_more));
  }
  friend bool operator==(const file_page&, const file_page&) = default;
};

/// Schema `multipartUploadSessionResponse`, plus the session URL from the Location header.
struct multipart_session {
  std::string session_id{};
  std::int64_t part_size = 0;
  std::string location{};  ///< "<API-ROOT>/v2/batches/multipart-upload/sessions/<SESSION-ID>"
  /// The answer's Date header, verbatim: the server's clock when the session opened, which proves
  /// that a file found in a listing later was stored by this upload and is not an older version.
  std::string date{};
  static constexpr auto json_fields() {
    using t = multipart_session;
    return json::fields(json::required("session_id", &t::session_id),
                        json::required("part_size", &t::part_size));
  }
  friend bool operator==(const multipart_session&, const multipart_session&) = default;
};

/// Schema `multipartUploadPartResponse`; also an entry of a commit's part list.
struct uploaded_part {
  std::int64_t part_num = 0;
  std::string part_id{};
  static constexpr auto json_fields() {
    using t = uploaded_part;
    return json::fields(json::required("part_num", &t::part_num),
                        json::required("part_id", &t::part_id));
  }
  friend bool operator==(const uploaded_part&, const uploaded_part&) = default;
};

/// How a file of `file_size` bytes splits into parts of `part_size` bytes: every part but the last
/// is exactly part_size. Part numbers start at 1.
struct multipart_layout {
  std::uint64_t file_size = 0;
  std::uint64_t part_size = 0;

  std::uint64_t part_count() const noexcept {
    return part_size == 0 ? 0 : (file_size + part_size - 1) / part_size;
  }
  std::uint64_t offset_of(std::uint64_t part_num) const noexcept {
    return (part_num - 1) * part_size;
  }
  std::uint64_t length_of(std::uint64_t part_num) const noexcept {
    std::uint64_t offset = offset_of(part_num);
    return file_size - offset < part_size ? file_size - offset : part_size;
  }

  result<void> validate() const {
    if (file_size < 1) return validation_error("file_size", "must be at least 1");
    if (part_size < 1) return validation_error("part_size", "must be at least 1");
    return {};
  }
  /// Checks that part `part_num` of `length` bytes fits this layout.
  result<void> validate_part(std::int64_t part_num, std::uint64_t length) const {
    AIHUB_TRY(validate());
    if (part_num < 1) return validation_error("part_num", "must start at 1");
    if (static_cast<std::uint64_t>(part_num) > part_count())
      return validation_error("part_num", "must not exceed the number of parts of the file (" +
                                              std::to_string(part_count()) + ")");
    std::uint64_t expected = length_of(static_cast<std::uint64_t>(part_num));
    if (length != expected)
      return validation_error(
          "content", static_cast<std::uint64_t>(part_num) == part_count()
                         ? "the last part must hold the remaining " + std::to_string(expected) +
                               " bytes, not " + std::to_string(length)
                         : "every part but the last must be exactly part_size (" +
                               std::to_string(expected) + " bytes), not " + std::to_string(length));
    return {};
  }
};

// ---------------------------------------------------------------------------------------------------
// Operations

namespace detail {
inline void write_batch_target(http::target_string& out, std::int64_t batch_id) {
  url::target_writer(out).path("/v2/batches").segment(batch_id);
}
/// "/v2/batches/{batch_id}/files/{filename}", the name percent-encoded.
inline void write_file_target(http::target_string& out, std::int64_t batch_id,
                              std::string_view name) {
  url::target_writer(out).path("/v2/batches").segment(batch_id).path("/files").segment(name);
}
inline result<void> check_upload_content(const http::body& content) {
  if (std::holds_alternative<http::reader_body>(content) &&
      !std::get<http::reader_body>(content).reader)
    return validation_error("content", "a reader_body needs a reader");
  return {};
}
}  // namespace detail

/// createBatch: POST /v2/batches → 200 batch.
struct create_batch {
  static constexpr endpoint endpoint_info{"createBatch", http::method::post, "/v2/batches", 200,
                                          false};
  using response_type = batch;

  batch_name name;
  std::optional<std::string> workspace{};  ///< required for service accounts

  result<void> validate(const settings& s) const {
    AIHUB_TRY(name.validate("name"));
    AIHUB_TRY(check_optional_text("workspace", workspace));
    if (s.service_account && !workspace)
      return validation_error("workspace", "is required when calling as a service account");
    return {};
  }
  void write_target(http::target_string& out) const { out.append("/v2/batches"); }
  /// Appends the JSON request body to `text` (reusing its capacity when the caller keeps one).
  void write_body(std::string& text) const {
    text.reserve(text.size() + 32 + name.value().size() + (workspace ? workspace->size() : 0));
    text.append(R"({"name":)");
    json::writer::append_quoted(text, name.value());
    if (workspace) {
      text.append(R"(,"workspace":)");
      json::writer::append_quoted(text, *workspace);
    }
    text.push_back('}');
  }
};

/// listBatches: GET /v2/batches → 200 batch_list.
struct list_batches {
  static constexpr endpoint endpoint_info{"listBatches", http::method::get, "/v2/batches", 200,
                                          true};
  using response_type = batch_list;

  std::optional<std::string> workspace{};
  std::optional<std::string> username{};
  std::optional<std::int64_t> limit{};
  std::optional<std::int64_t> offset{};

  result<void> validate(const settings&) const {
    AIHUB_TRY(check_optional_text("workspace", workspace));
    AIHUB_TRY(check_optional_text("username", username));
    if (limit) AIHUB_TRY(check_non_negative("limit", *limit));
    if (offset) AIHUB_TRY(check_non_negative("offset", *offset));
    return {};
  }
  void write_target(http::target_string& out) const {
    url::target_writer t(out);
    t.path("/v2/batches");
    if (workspace) t.query("workspace", *workspace);
    if (username) t.query("username", *username);
    if (limit) t.query("limit", *limit);
    if (offset) t.query("offset", *offset);
  }
};

/// getBatch: GET /v2/batches/{batch_id} → 200 batch_info.
struct get_batch {
  static constexpr endpoint endpoint_info{"getBatch", http::method::get, "/v2/batches/{batch_id}",
                                          200, true};
  using response_type = batch_info;

  std::int64_t batch_id = 0;

  result<void> validate(const settings&) const { return check_positive("batch_id", batch_id); }
  void write_target(http::target_string& out) const { detail::write_batch_target(out, batch_id); }
};

/// deleteBatch: DELETE /v2/batches/{batch_id} → 202 batch_job (poll it to completion).
struct delete_batch {
  static constexpr endpoint endpoint_info{"deleteBatch", http::method::delete_,
                                          "/v2/batches/{batch_id}", 202, true};
  using response_type = batch_job;

  std::int64_t batch_id = 0;

  result<void> validate(const settings&) const { return check_positive("batch_id", batch_id); }
  void write_target(http::target_string& out) const { detail::write_batch_target(out, batch_id); }
};

/// addFileToBatch: PUT /v2/batches/{batch_id}/files/{filename} (octet-stream) → 204. Creates or
/// replaces the file. The content is any body: a file_slice streams from disk, a bytes_view_body
/// sends caller-owned memory, a reader_body produces the bytes while they are sent.
struct upload_file {
  static constexpr endpoint endpoint_info{"addFileToBatch", http::method::put,
                                          "/v2/batches/{batch_id}/files/{filename}", 204, true};
  using response_type = accepted;

  std::int64_t batch_id = 0;
  file_name name;
  http::body content{};

  result<void> validate(const settings&) const {
    AIHUB_TRY(check_positive("batch_id", batch_id));
    AIHUB_TRY(name.validate("name"));
    AIHUB_TRY(detail::check_upload_content(content));
    // The spec marks the body as required; a spec-validating gateway refuses an empty one.
    if (http::body_size(content) < 1)
      return validation_error("content", "must not be empty: the API requires a file body");
    return {};
  }
  void write_target(http::target_string& out) const {
    detail::write_file_target(out, batch_id, name.value());
  }
  http::body body() const { return content; }
};

/// listFiles: GET /v2/batches/{batch_id}/files → 200 file_page.
struct list_files {
  static constexpr endpoint endpoint_info{"listFiles", http::method::get,
                                          "/v2/batches/{batch_id}/files", 200, true};
  using response_type = file_page;

  std::int64_t batch_id = 0;
  std::optional<std::int64_t> page_size{};
  std::optional<std::string> start_token{};

  result<void> validate(const settings&) const {
    AIHUB_TRY(check_positive("batch_id", batch_id));
    if (page_size) AIHUB_TRY(check_non_negative("page_size", *page_size));
    return check_optional_text("start_token", start_token);
  }
  void write_target(http::target_string& out) const {
    url::target_writer t(out);
    t.path("/v2/batches").segment(batch_id).path("/files");
    if (page_size) t.query("page_size", *page_size);
    if (start_token) t.query("start_token", *start_token);
  }
  /// The spec marks no member required, but an answer with none of the page's members is an error
  /// body sent with 200 ({"error": "..."}), not an empty listing: refusing it keeps
  /// list_all_files from reporting a full batch as empty.
  static result<void> complete(const http::response& response, const file_page& page) {
    if (!page.nodes.empty() || page.has_more || page.next_page_token) return {};
    bool has_page_member = false;
    std::string server_words;
    json::reader r(response.body);
    r.read_object([&](std::string_view key) {
      if (key == "nodes" || key == "has_more" || key == "next_page_token") has_page_member = true;
      if ((key == "message" || key == "error") && r.peek() == json::value_kind::string)
        return r.read_string(server_words);
      return r.skip_value();
    });
    if (has_page_member) return {};
    error e = make_error(error_kind::decode,
                         "the answer has none of nodes, has_more and next_page_token: an error "
                         "body sent with status 200?",
                         "nodes");
    e.server_message = std::move(server_words);
    return e;
  }
};

/// deleteFileFromBatch: DELETE /v2/batches/{batch_id}/files/{filename} → 202, no body, no job id.
struct delete_file {
  static constexpr endpoint endpoint_info{"deleteFileFromBatch", http::method::delete_,
                                          "/v2/batches/{batch_id}/files/{filename}", 202, true};
  using response_type = accepted;

  std::int64_t batch_id = 0;
  file_name name;

  result<void> validate(const settings&) const {
    AIHUB_TRY(check_positive("batch_id", batch_id));
    return name.validate("name");
  }
  void write_target(http::target_string& out) const {
    detail::write_file_target(out, batch_id, name.value());
  }
};

/// pollBatchesJob: GET /v2/batches/jobs/{job_id} → 200 job_status.
struct poll_batches_job {
  static constexpr endpoint endpoint_info{"pollBatchesJob", http::method::get,
                                          "/v2/batches/jobs/{job_id}", 200, true};
  using response_type = job_status;

  std::string job_id{};

  result<void> validate(const settings&) const { return check_path_id("job_id", job_id); }
  void write_target(http::target_string& out) const {
    url::target_writer(out).path("/v2/batches/jobs").segment(job_id);
  }
};

/// createMultipartUploadSession: POST /v2/batches/multipart-upload → 201 multipart_session.
struct start_multipart_upload {
  static constexpr endpoint endpoint_info{"createMultipartUploadSession", http::method::post,
                                          "/v2/batches/multipart-upload", 201, false};
  using response_type = multipart_session;

  std::int64_t batch_id = 0;
  file_name name;
  std::int64_t file_size = 0;

  result<void> validate(const settings&) const {
    AIHUB_TRY(check_positive("batch_id", batch_id));
    AIHUB_TRY(name.validate("name"));
    if (file_size < 1) return validation_error("file_size", "must be at least 1");
    return {};
  }
  void write_target(http::target_string& out) const { out.append("/v2/batches/multipart-upload"); }
  /// Appends the JSON request body to `text` (reusing its capacity when the caller keeps one).
  void write_body(std::string& text) const {
    text.reserve(text.size() + 64 + name.value().size());
    json::writer w(text);
    w.begin_object();
    w.key("batch_id");
    w.integer(batch_id);
    w.key("filename");
    w.string(name.value());
    w.key("file_size");
    w.integer(file_size);
    w.end_object();
  }
  /// Adds the session URL from the Location header.
  static result<void> complete(const http::response& response, multipart_session& session) {
    if (session.session_id.empty())
      return make_error(error_kind::decode, "session_id must not be empty", "session_id");
    if (session.part_size < 1)
      return make_error(error_kind::decode, "part_size must be positive", "part_size");
    session.location = std::string(response.headers.get("Location"));
    session.date = std::string(response.headers.get("Date"));
    return {};
  }
};

/// uploadMultipartPart: PUT /v2/batches/multipart-upload/sessions/{session_id}/parts/{part_num}
/// (octet-stream) → 201 uploaded_part. With `layout` set, the part's number and size are checked
/// against the file's split before anything is sent.
struct upload_part {
  static constexpr endpoint endpoint_info{
      "uploadMultipartPart", http::method::put,
      "/v2/batches/multipart-upload/sessions/{session_id}/parts/{part_num}", 201, true};
  using response_type = uploaded_part;

  std::string session_id{};
  std::int64_t part_num = 0;
  http::body content{};
  std::optional<multipart_layout> layout{};

  result<void> validate(const settings&) const {
    AIHUB_TRY(check_path_id("session_id", session_id));
    if (part_num < 1) return validation_error("part_num", "must start at 1");
    AIHUB_TRY(detail::check_upload_content(content));
    if (http::body_size(content) < 1 && !layout)
      return validation_error("content", "a part must not be empty");
    if (layout) AIHUB_TRY(layout->validate_part(part_num, http::body_size(content)));
    return {};
  }
  void write_target(http::target_string& out) const {
    url::target_writer(out)
        .path("/v2/batches/multipart-upload/sessions")
        .segment(session_id)
        .path("/parts")
        .segment(part_num);
  }
  http::body body() const { return content; }
  static result<void> complete(const http::response&, uploaded_part& part) {
    if (part.part_id.empty())
      return make_error(error_kind::decode, "part_id must not be empty", "part_id");
    return {};
  }
};

namespace detail {
inline void write_session_target(http::target_string& out, std::string_view session_id) {
  url::target_writer(out).path("/v2/batches/multipart-upload/sessions").segment(session_id);
}
}  // namespace detail

/// commitMultipartUploadSession with action "commit": POST .../sessions/{session_id} → 201.
/// `parts` lists every uploaded part in order (part numbers 1, 2, 3... with their ids).
struct commit_multipart_upload {
  static constexpr endpoint endpoint_info{"commitMultipartUploadSession", http::method::post,
                                          "/v2/batches/multipart-upload/sessions/{session_id}", 201,
                                          true};
  using response_type = accepted;

  std::string session_id{};
  std::vector<uploaded_part> parts{};
  std::optional<multipart_layout>
      layout{};  ///< when set, the part count must match the file's split

  result<void> validate(const settings&) const {
    AIHUB_TRY(check_path_id("session_id", session_id));
    if (parts.empty()) return validation_error("parts", "a commit must list the uploaded parts");
    for (std::size_t i = 0; i < parts.size(); ++i) {
      // The field names are built only on failure: a 10,000-part commit checks without allocating.
      auto field = [i](std::string_view member) {
        return "parts[" + std::to_string(i) + "]." + std::string(member);
      };
      if (parts[i].part_num != static_cast<std::int64_t>(i) + 1)
        return validation_error(
            field("part_num"),
            "parts must be numbered 1, 2, 3... in order (expected " + std::to_string(i + 1) + ")");
      if (parts[i].part_id.empty()) return validation_error(field("part_id"), "must not be empty");
    }
    if (layout) {
      AIHUB_TRY(layout->validate());
      if (parts.size() != layout->part_count())
        return validation_error("parts", "must list all " + std::to_string(layout->part_count()) +
                                             " parts of the file, not " +
                                             std::to_string(parts.size()));
    }
    return {};
  }
  void write_target(http::target_string& out) const {
    detail::write_session_target(out, session_id);
  }
  /// Appends the JSON request body to `text` (reusing its capacity when the caller keeps one).
  void write_body(std::string& text) const {
    // {"action":"commit","parts":[{"part_num":N,"part_id":"ID"},...]}: 44 bytes per part plus
    // the id (and its escapes, rare enough to leave to the string's growth).
    std::size_t size = 32;
    for (const auto& p : parts) size += 44 + p.part_id.size();
    text.reserve(text.size() + size);
    text.append(R"({"action":"commit","parts":[)");
    char digits[24];
    for (std::size_t i = 0; i < parts.size(); ++i) {
      text.append(i == 0 ? R"({"part_num":)" : R"(,{"part_num":)");
      auto end = std::to_chars(digits, digits + sizeof digits, parts[i].part_num).ptr;
      text.append(digits, static_cast<std::size_t>(end - digits));
      text.append(R"(,"part_id":)");
      json::writer::append_quoted(text, parts[i].part_id);
      text.push_back('}');
    }
    text.append("]}");
  }
};

/// commitMultipartUploadSession with action "abort": discards the session and its parts → 201.
/// The type has no parts: an abort that carries parts cannot be written.
struct abort_multipart_upload {
  static constexpr endpoint endpoint_info{"commitMultipartUploadSession", http::method::post,
                                          "/v2/batches/multipart-upload/sessions/{session_id}", 201,
                                          true};
  using response_type = accepted;

  std::string session_id{};

  result<void> validate(const settings&) const { return check_path_id("session_id", session_id); }
  void write_target(http::target_string& out) const {
    detail::write_session_target(out, session_id);
  }
  void write_body(std::string& text) const { text.append(R"({"action":"abort"})"); }
};

AIHUB_NAMESPACE_END
