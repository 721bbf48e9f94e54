#pragma once
// The Runs API (OpenAPI tag "Runs", paths under /v2/apps): starting an app or a deployment, a run's
// status, listing and deleting runs, and a run's results, as typed requests and the models their
// responses decode into. Each request validates itself before anything is built.
//
// Quirks of the API that the models absorb:
// - Run timestamps are Unix nanoseconds (above 2^53): int64 end to end, never a double.
// - batch_id is an integer in a run but a string in run results; each side accepts both forms.
// - A run says `msg`, its results say `message`.
// - Field values in results are any JSON (the spec says string; servers send numbers, lists...):
//   kept verbatim as json::raw, with value_text() for the common string case.
// - results.keys is an object in the schema but an array of objects in the spec's own example: kept
//   verbatim, and custom_keys() reads either form.

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "aihub/http.hpp"
#include "aihub/json.hpp"
#include "aihub/operation.hpp"
#include "aihub/result.hpp"
#include "aihub/settings.hpp"
#include "aihub/url.hpp"
#include "aihub/validate.hpp"

AIHUB_NAMESPACE_BEGIN

// ---------------------------------------------------------------------------------------------------
// Run status

/// Status of a run. A status this version does not know decodes as `unknown` rather than failing,
/// so a newer server does not break older clients; waiters treat it as not finished.
enum class run_status : std::uint8_t {
  cancelled,
  complete,
  failed,
  paused,  ///< reserved for future use by the API
  running,
  stopped_at_checkpoint,  ///< a validation error paused the run for human review
  unknown
};

constexpr std::string_view to_string(run_status s) noexcept {
  switch (s) {
    case run_status::cancelled:
      return "CANCELLED";
    case run_status::complete:
      return "COMPLETE";
    case run_status::failed:
      return "FAILED";
    case run_status::paused:
      return "PAUSED";
    case run_status::running:
      return "RUNNING";
    case run_status::stopped_at_checkpoint:
      return "STOPPED_AT_CHECKPOINT";
    case run_status::unknown:
      break;
  }
  return "UNKNOWN";
}

constexpr bool from_string(std::string_view text, run_status& out) noexcept {
  constexpr run_status all[] = {run_status::cancelled, run_status::complete,
                                run_status::failed,    run_status::paused,
                                run_status::running,   run_status::stopped_at_checkpoint};
  for (run_status s : all) {
    if (to_string(s) == text) {
      out = s;
      return true;
    }
  }
  out = run_status::unknown;
  return true;
}

/// Whether the run will not change status on its own: COMPLETE, FAILED, CANCELLED, and
/// STOPPED_AT_CHECKPOINT (it waits for a human; see needs_review). PAUSED is not terminal.
constexpr bool is_terminal(run_status s) noexcept {
  return s == run_status::complete || s == run_status::failed || s == run_status::cancelled ||
         s == run_status::stopped_at_checkpoint;
}

/// Whether the run waits for a human review before it can go on.
constexpr bool needs_review(run_status s) noexcept {
  return s == run_status::stopped_at_checkpoint;
}

// ---------------------------------------------------------------------------------------------------
// Helpers shared by the models and the requests

namespace detail::runs_impl {

/// Why `text` is not exactly one JSON value (one object when `object` is set), or "".
inline std::string raw_problem(std::string_view text, bool object) {
  json::reader r(text);
  if (object && r.peek() != json::value_kind::object) return "must be a JSON object";
  if (!r.skip_value() || !r.finish())
    return std::string("must be valid JSON: ") + r.message() + " (byte " +
           std::to_string(r.offset()) + ")";
  return {};
}

/// The members of a JSON object, each value kept verbatim. False if `text` is not an object.
inline bool object_members(std::string_view text,
                           std::vector<std::pair<std::string, json::raw>>& out) {
  json::reader r(text);
  bool ok = r.read_object([&](std::string_view key) {
    // The key may live in the reader's scratch buffer, which reading a nested value reuses.
    std::string name(key);
    std::string_view value;
    if (!r.capture_value(value)) return false;
    out.emplace_back(std::move(name), json::raw{std::string(value)});
    return true;
  });
  return ok && r.finish();
}

/// The string a raw JSON value holds, or nullopt when it holds anything else.
inline std::optional<std::string> raw_string(const json::raw& value) {
  json::reader r(value.text);
  if (r.peek() != json::value_kind::string) return std::nullopt;
  std::string out;
  if (!r.read_string(out) || !r.finish()) return std::nullopt;
  return out;
}

/// An id that goes into the path: present and free of control characters (a pasted id with a
/// trailing newline is a bug worth naming, even though the segment would be encoded).
inline result<void> check_id(std::string_view field, std::string_view value) {
  return check_path_id(field, value);
}

/// Member names whose values are secrets wherever they appear in free-form JSON (the extras of run
/// settings may carry PDF passwords or secret values the typed fields do not list).
constexpr bool is_secret_member(std::string_view name) noexcept {
  return name == "password" || name == "passwords" || name == "secret" || name == "secrets";
}

/// Collects every string in `text` that sits under a secret member, at any depth.
inline void collect_secret_strings(std::string_view text, std::vector<std::string>& out) {
  json::reader r(text);
  auto walk = [&](auto& self, bool secret) -> bool {
    switch (r.peek()) {
      case json::value_kind::object:
        return r.read_object([&](std::string_view key) {
          const bool inner = secret || is_secret_member(key);
          return self(self, inner);
        });
      case json::value_kind::array:
        return r.read_array([&] { return self(self, secret); });
      case json::value_kind::string: {
        if (!secret) return r.skip_value();
        std::string value;
        if (!r.read_string(value)) return false;
        if (!value.empty()) out.push_back(std::move(value));
        return true;
      }
      default:
        return r.skip_value();
    }
  };
  (void)walk(walk, false);
}

inline std::string indexed(std::string_view prefix, std::size_t i, std::string_view suffix = {}) {
  std::string out(prefix);
  out.append("[").append(std::to_string(i)).append("]").append(suffix);
  return out;
}

}  // namespace detail::runs_impl

// ---------------------------------------------------------------------------------------------------
// Models

/// Schema `run`: what runApp, runDeployment, getRunStatus and listRuns return. `id` and `status`
/// must be present (a run without them can be neither polled nor judged); the rest may be absent.
struct run {
  std::string id{};
  run_status status = run_status::unknown;
  std::int64_t start_timestamp = 0;                ///< Unix nanoseconds
  std::optional<std::int64_t> finish_timestamp{};  ///< Unix nanoseconds; null while running
  std::optional<std::string> msg{};
  std::optional<json::flex_int> batch_id{};  ///< an integer; a numeric string is accepted too
  std::optional<std::string> input_dir{};
  std::optional<std::string> app_id{};
  std::optional<std::string> deployment_id{};
  std::optional<std::vector<std::string>> tags{};

  bool is_terminal() const noexcept { return ::aihub::is_terminal(status); }
  bool needs_review() const noexcept { return ::aihub::needs_review(status); }

  using time_point = std::chrono::sys_time<std::chrono::nanoseconds>;
  time_point started_at() const noexcept {
    return time_point(std::chrono::nanoseconds(start_timestamp));
  }
  std::optional<time_point> finished_at() const noexcept {
    if (!finish_timestamp) return std::nullopt;
    return time_point(std::chrono::nanoseconds(*finish_timestamp));
  }

  static constexpr auto json_fields() {
    using t = run;
    return json::fields(json::required("id", &t::id), json::required("status", &t::status),
                        json::field("start_timestamp", &t::start_timestamp),
                        json::field("finish_timestamp", &t::finish_timestamp),
                        json::field("msg", &t::msg), json::field("batch_id", &t::batch_id),
                        json::field("input_dir", &t::input_dir), json::field("app_id", &t::app_id),
                        json::field("deployment_id", &t::deployment_id),
                        json::field("tags", &t::tags));
  }
  friend bool operator==(const run&, const run&) = default;
};

/// listRuns' response.
struct run_list {
  std::vector<run> runs{};
  static constexpr auto json_fields() { return json::fields(json::field("runs", &run_list::runs)); }
  friend bool operator==(const run_list&, const run_list&) = default;
};

/// deleteRun's response: one job per deleted directory (null when that part was kept). Poll each
/// with get_job (jobs.hpp).
struct run_deletion {
  std::optional<std::string> delete_input_dir_job_id{};
  std::optional<std::string> delete_output_dir_job_id{};
  std::optional<std::string> delete_log_dir_job_id{};

  /// The jobs to wait for, in the order input, output, logs; empty ids are skipped.
  std::vector<std::string> job_ids() const {
    std::vector<std::string> out;
    for (const auto* id :
         {&delete_input_dir_job_id, &delete_output_dir_job_id, &delete_log_dir_job_id})
      if (*id && !(*id)->empty()) out.push_back(**id);
    return out;
  }
  static constexpr auto json_fields() {
    using t = run_deletion;
    return json::fields(json::field("delete_input_dir_job_id", &t::delete_input_dir_job_id),
                        json::field("delete_output_dir_job_id", &t::delete_output_dir_job_id),
                        json::field("delete_log_dir_job_id", &t::delete_log_dir_job_id));
  }
  friend bool operator==(const run_deletion&, const run_deletion&) = default;
};

/// Schema `fieldSourceCoordinates`: where a value was read, in page coordinates.
struct field_source_coordinates {
  double top_x = 0;
  double top_y = 0;
  double bottom_x = 0;
  double bottom_y = 0;
  std::int64_t page_number = 0;  ///< zero-based
  static constexpr auto json_fields() {
    using t = field_source_coordinates;
    return json::fields(json::field("top_x", &t::top_x), json::field("top_y", &t::top_y),
                        json::field("bottom_x", &t::bottom_x),
                        json::field("bottom_y", &t::bottom_y),
                        json::field("page_number", &t::page_number));
  }
  friend bool operator==(const field_source_coordinates&,
                         const field_source_coordinates&) = default;
};

/// Schema `pageLayout`.
struct page_layout {
  std::int64_t page_number = 0;  ///< zero-based
  double width = 0;
  double height = 0;
  static constexpr auto json_fields() {
    using t = page_layout;
    return json::fields(json::required("page_number", &t::page_number),
                        json::required("width", &t::width), json::required("height", &t::height));
  }
  friend bool operator==(const page_layout&, const page_layout&) = default;
};

/// One entry of `modificationObject.modifications`.
struct modification {
  std::optional<std::string> message{};
  static constexpr auto json_fields() {
    return json::fields(json::field("message", &modification::message));
  }
  friend bool operator==(const modification&, const modification&) = default;
};

/// Schema `modificationObject`: one human-review edit (with include_review_results).
struct edit_event {
  std::string timestamp{};  ///< a datetime string as the server formats it
  std::string user_id{};
  std::vector<modification> modifications{};
  static constexpr auto json_fields() {
    using t = edit_event;
    return json::fields(json::required("timestamp", &t::timestamp),
                        json::required("user_id", &t::user_id),
                        json::field("modifications", &t::modifications));
  }
  friend bool operator==(const edit_event&, const edit_event&) = default;
};

/// `documentField.confidence` (with include_confidence_scores).
struct field_confidence {
  std::optional<double> model{};
  std::optional<double> ocr{};
  static constexpr auto json_fields() {
    return json::fields(json::field("model", &field_confidence::model),
                        json::field("ocr", &field_confidence::ocr));
  }
  friend bool operator==(const field_confidence&, const field_confidence&) = default;
};

/// One entry of `documentField.validations.alerts`.
struct validation_alert {
  std::optional<std::string> alert_level{};  ///< always "FAILURE" today
  std::optional<std::string> msg{};
  std::optional<bool> blocked{};
  std::optional<std::string> type{};
  std::vector<json::raw> locations{};  ///< objects whose shape the spec leaves open
  static constexpr auto json_fields() {
    using t = validation_alert;
    return json::fields(json::field("alert_level", &t::alert_level), json::field("msg", &t::msg),
                        json::field("blocked", &t::blocked), json::field("type", &t::type),
                        json::field("locations", &t::locations));
  }
  friend bool operator==(const validation_alert&, const validation_alert&) = default;
};

/// `documentField.validations` (with include_validation_results).
struct field_validations {
  std::optional<bool> valid{};
  std::vector<validation_alert> alerts{};
  static constexpr auto json_fields() {
    return json::fields(json::field("valid", &field_validations::valid),
                        json::field("alerts", &field_validations::alerts));
  }
  friend bool operator==(const field_validations&, const field_validations&) = default;
};

/// Schema `documentField`: one extracted field.
struct document_field {
  std::string field_name{};
  std::optional<json::raw> value{};  ///< any JSON, verbatim; null and absent are nullopt
  std::optional<std::string> type{};
  std::optional<std::string> error_msg{};
  std::vector<field_source_coordinates> source_coordinates{};
  std::vector<edit_event> edit_history{};
  std::optional<field_confidence> confidence{};
  std::optional<field_validations> validations{};

  /// The value when it is a JSON string (the usual case), unescaped.
  std::optional<std::string> value_text() const {
    return value ? detail::runs_impl::raw_string(*value) : std::nullopt;
  }
  static constexpr auto json_fields() {
    using t = document_field;
    return json::fields(json::field("field_name", &t::field_name), json::field("value", &t::value),
                        json::field("type", &t::type), json::field("error_msg", &t::error_msg),
                        json::field("source_coordinates", &t::source_coordinates),
                        json::field("edit_history", &t::edit_history),
                        json::field("confidence", &t::confidence),
                        json::field("validations", &t::validations));
  }
  friend bool operator==(const document_field&, const document_field&) = default;
};

/// `document.validations`.
struct document_validations {
  std::optional<bool> final_result_pass{};
  static constexpr auto json_fields() {
    return json::fields(json::field("final_result_pass", &document_validations::final_result_pass));
  }
  friend bool operator==(const document_validations&, const document_validations&) = default;
};

/// `document.classification_confidence`.
struct class_confidence {
  std::optional<double> model{};
  static constexpr auto json_fields() {
    return json::fields(json::field("model", &class_confidence::model));
  }
  friend bool operator==(const class_confidence&, const class_confidence&) = default;
};

/// Schema `document`: one document found in a file (a file may split into several).
struct result_document {
  std::vector<document_field> fields{};
  std::optional<bool> review_completed{};
  std::optional<std::string> class_name{};  ///< null when classification does not apply
  std::vector<std::int64_t> page_numbers{};
  std::vector<page_layout> page_layouts{};
  std::vector<std::string> post_processed_paths{};
  std::optional<std::string> post_processed_pdf_path{};
  std::vector<edit_event> class_edit_history{};
  std::optional<document_validations> validations{};
  std::optional<class_confidence> classification_confidence{};

  /// The first field of that name, or nullptr.
  const document_field* find(std::string_view name) const noexcept {
    for (const auto& f : fields)
      if (f.field_name == name) return &f;
    return nullptr;
  }
  static constexpr auto json_fields() {
    using t = result_document;
    return json::fields(
        json::field("fields", &t::fields), json::field("review_completed", &t::review_completed),
        json::field("class_name", &t::class_name), json::field("page_numbers", &t::page_numbers),
        json::field("page_layouts", &t::page_layouts),
        json::field("post_processed_paths", &t::post_processed_paths),
        json::field("post_processed_pdf_path", &t::post_processed_pdf_path),
        json::field("class_edit_history", &t::class_edit_history),
        json::field("validations", &t::validations),
        json::field("classification_confidence", &t::classification_confidence));
  }
  friend bool operator==(const result_document&, const result_document&) = default;
};

/// Schema `fileWithDocuments`: one input file and the documents found in it.
struct result_file {
  std::string original_file_name{};
  std::optional<std::string> input_file_path{};
  std::vector<result_document> documents{};
  static constexpr auto json_fields() {
    using t = result_file;
    return json::fields(json::field("original_file_name", &t::original_file_name),
                        json::field("input_file_path", &t::input_file_path),
                        json::field("documents", &t::documents));
  }
  friend bool operator==(const result_file&, const result_file&) = default;
};

/// Schema `caseInputField`: an input option of a ranked cross-class field.
struct case_input_field {
  std::optional<std::int64_t> record_index{};
  std::optional<std::string> refined_phrase_name{};
  static constexpr auto json_fields() {
    using t = case_input_field;
    return json::fields(json::field("record_index", &t::record_index),
                        json::field("refined_phrase_name", &t::refined_phrase_name));
  }
  friend bool operator==(const case_input_field&, const case_input_field&) = default;
};

/// One entry of `caseInfoField.validations.failures`.
struct case_validation_failure {
  std::string type{};
  std::string msg{};
  static constexpr auto json_fields() {
    return json::fields(json::required("type", &case_validation_failure::type),
                        json::required("msg", &case_validation_failure::msg));
  }
  friend bool operator==(const case_validation_failure&, const case_validation_failure&) = default;
};

/// `caseInfoField.validations`.
struct case_validations {
  bool valid = false;
  std::vector<case_validation_failure> failures{};
  static constexpr auto json_fields() {
    return json::fields(json::required("valid", &case_validations::valid),
                        json::field("failures", &case_validations::failures));
  }
  friend bool operator==(const case_validations&, const case_validations&) = default;
};

/// Schema `caseInfoField`: a cross-class (packet-level) field.
struct case_field {
  std::string name{};
  std::optional<json::raw> value{};  ///< required member; any JSON, verbatim; null is nullopt
  std::vector<case_input_field> input_fields{};
  std::optional<case_input_field> chosen_field{};
  std::optional<std::string> error_msg{};
  std::vector<edit_event> edit_history{};
  std::optional<case_validations> validations{};

  std::optional<std::string> value_text() const {
    return value ? detail::runs_impl::raw_string(*value) : std::nullopt;
  }
  static constexpr auto json_fields() {
    using t = case_field;
    return json::fields(
        json::required("name", &t::name), json::required("value", &t::value),
        json::field("input_fields", &t::input_fields),
        json::field("chosen_field", &t::chosen_field), json::field("error_msg", &t::error_msg),
        json::field("edit_history", &t::edit_history), json::field("validations", &t::validations));
  }
  friend bool operator==(const case_field&, const case_field&) = default;
};

/// Schema `caseInfo`.
struct run_case_info {
  std::vector<case_field> fields{};
  static constexpr auto json_fields() {
    return json::fields(json::field("fields", &run_case_info::fields));
  }
  friend bool operator==(const run_case_info&, const run_case_info&) = default;
};

/// A custom key: its name in the app or deployment and any JSON value. Used in requests
/// (run_settings) and read back from results (run_results::custom_keys).
struct custom_key {
  std::string name{};
  json::raw value{};  ///< one JSON value, e.g. json::raw{"0.8"} or custom_key::of_string(...)

  static custom_key of_string(std::string name, std::string_view text) {
    custom_key k{std::move(name), {}};
    json::writer::append_quoted(k.value.text, text);
    return k;
  }
  static custom_key of_int(std::string name, std::int64_t number) {
    return {std::move(name), json::raw{std::to_string(number)}};
  }
  static custom_key of_bool(std::string name, bool flag) {
    return {std::move(name), json::raw{flag ? "true" : "false"}};
  }
  friend bool operator==(const custom_key&, const custom_key&) = default;
};

/// Schema `resultsResponse`: one page of a run's results.
struct run_results {
  std::string id{};
  run_status status = run_status::unknown;
  std::optional<std::string> message{};
  std::int64_t start_timestamp = 0;                ///< Unix nanoseconds
  std::optional<std::int64_t> finish_timestamp{};  ///< Unix nanoseconds; null while running
  std::optional<json::flex_string> batch_id{};     ///< a string here; a number is accepted too
  std::vector<result_file> files{};
  std::optional<json::raw> keys{};  ///< verbatim; read it with custom_keys()
  std::optional<run_case_info> case_info{};
  std::optional<bool> review_completed{};
  bool has_more = false;  ///< more files follow: ask again from file_offset + files.size()

  /// batch_id as a number, when it holds one.
  std::optional<std::int64_t> batch_id_number() const {
    if (!batch_id || batch_id->value.empty()) return std::nullopt;
    const std::string& text = batch_id->value;
    std::int64_t n = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
    return n;
  }

  /// The custom keys set for the run, from `keys.custom`, whether `keys` is an object (as the
  /// schema says) or an array of such objects (as the spec's example shows). A decode error names
  /// the part that is neither.
  result<std::vector<custom_key>> custom_keys() const {
    std::vector<custom_key> out;
    if (!keys) return out;
    auto from_object = [&out](std::string_view text, const std::string& where) -> result<void> {
      std::vector<std::pair<std::string, json::raw>> members;
      if (!detail::runs_impl::object_members(text, members))
        return make_error(error_kind::decode, where + " must be an object", where);
      for (auto& [name, value] : members) {
        if (name != "custom" || value.text == "null") continue;
        std::vector<std::pair<std::string, json::raw>> custom;
        if (!detail::runs_impl::object_members(value.text, custom))
          return make_error(error_kind::decode, where + ".custom must be an object",
                            where + ".custom");
        for (auto& [key, v] : custom) out.push_back({std::move(key), std::move(v)});
      }
      return {};
    };
    json::reader r(keys->text);
    if (r.peek() != json::value_kind::array) {
      AIHUB_TRY(from_object(keys->text, "keys"));
      return out;
    }
    std::vector<std::string_view> elements;
    bool ok = r.read_array([&] {
      std::string_view element;
      if (!r.capture_value(element)) return false;
      elements.push_back(element);
      return true;
    });
    if (!ok || !r.finish()) return make_error(error_kind::decode, "keys is not valid JSON", "keys");
    for (std::size_t i = 0; i < elements.size(); ++i)
      AIHUB_TRY(from_object(elements[i], detail::runs_impl::indexed("keys", i)));
    return out;
  }

  static constexpr auto json_fields() {
    using t = run_results;
    return json::fields(json::required("id", &t::id), json::required("status", &t::status),
                        json::field("message", &t::message),
                        json::field("start_timestamp", &t::start_timestamp),
                        json::field("finish_timestamp", &t::finish_timestamp),
                        json::field("batch_id", &t::batch_id), json::field("files", &t::files),
                        json::field("keys", &t::keys), json::field("case_info", &t::case_info),
                        json::field("review_completed", &t::review_completed),
                        json::field("has_more", &t::has_more));
  }
  friend bool operator==(const run_results&, const run_results&) = default;
};

// ---------------------------------------------------------------------------------------------------
// Run settings (request side)

/// A secret key: its name in the app or deployment and the name of a secret in the organization's
/// vault (never the secret itself).
struct secret_key {
  std::string name{};
  std::string secret{};
  friend bool operator==(const secret_key&, const secret_key&) = default;
};

/// The password of one encrypted PDF input, by file name.
struct pdf_password {
  std::string file_name{};
  std::string password{};
  friend bool operator==(const pdf_password&, const pdf_password&) = default;
};

/// The `settings` object of runApp and runDeployment.
///
/// Design: what the spec names is typed, so mistakes surface as validation errors naming the field
/// rather than as a 400 from the server; what it leaves open is JSON kept verbatim. Custom key
/// values are free-form, so custom keys are an ordered list of (name, json::raw) pairs: the caller
/// controls member order, each value is checked to be one JSON value, and names are checked to be
/// unique (a JSON object with a repeated name means different things to different parsers). For
/// options the spec does not list yet, `runtime_config_extra` and `extra` take a JSON object whose
/// members are appended to `settings.runtime_config` and `settings`. They must be valid objects
/// without repeated members, and may not set what the typed fields own (`keys`, `runtime_config`
/// and `tags` in settings; `generate_post_process_pdf` in runtime_config, and `instabase` while
/// pdf_passwords is set), so nothing the spec names can bypass its checks. A whole-settings
/// json::raw was rejected: it would leave the tags limit, the key names and the secret/custom split
/// unchecked.
///
/// Tags sit here because the spec places them at `settings.tags`.
struct run_settings {
  std::vector<custom_key> custom_keys{};  ///< settings.keys.custom
  std::vector<secret_key> secret_keys{};  ///< settings.keys.secret
  std::optional<bool>
      generate_post_process_pdf{};            ///< settings.runtime_config.generate_post_process_pdf
  std::vector<pdf_password> pdf_passwords{};  ///< settings.runtime_config.instabase.pdf.passwords
  std::optional<json::raw> runtime_config_extra{};  ///< more members of settings.runtime_config
  /// settings.tags: at most 500 characters combined, counted in code points over the tags'
  /// own text; nothing is counted for separators, since the tags travel as a JSON array and no
  /// separator exists on the wire.
  std::vector<std::string> tags{};
  std::optional<json::raw> extra{};  ///< more members of settings

  static constexpr std::int64_t max_tags_length = 500;

  bool has_keys() const noexcept { return !custom_keys.empty() || !secret_keys.empty(); }
  bool has_runtime_config() const noexcept {
    return generate_post_process_pdf.has_value() || !pdf_passwords.empty() ||
           runtime_config_extra.has_value();
  }
  bool empty() const noexcept {
    return !has_keys() && !has_runtime_config() && tags.empty() && !extra;
  }

  result<void> validate() const {
    namespace ri = detail::runs_impl;
    for (std::size_t i = 0; i < custom_keys.size(); ++i) {
      const std::string at = ri::indexed("settings.keys.custom", i);
      AIHUB_TRY(check_text(at + ".name", custom_keys[i].name));
      for (std::size_t j = 0; j < i; ++j)
        if (custom_keys[j].name == custom_keys[i].name)
          return validation_error(
              at + ".name", "repeats the name of settings.keys.custom[" + std::to_string(j) + "]");
      if (std::string problem = ri::raw_problem(custom_keys[i].value.text, false); !problem.empty())
        return validation_error(at + ".value", problem);
    }
    for (std::size_t i = 0; i < secret_keys.size(); ++i) {
      const std::string at = ri::indexed("settings.keys.secret", i);
      AIHUB_TRY(check_text(at + ".name", secret_keys[i].name));
      for (std::size_t j = 0; j < i; ++j)
        if (secret_keys[j].name == secret_keys[i].name)
          return validation_error(
              at + ".name", "repeats the name of settings.keys.secret[" + std::to_string(j) + "]");
      AIHUB_TRY(check_text(at + ".secret", secret_keys[i].secret));
    }
    for (std::size_t i = 0; i < pdf_passwords.size(); ++i) {
      const std::string at = ri::indexed("settings.runtime_config.instabase.pdf.passwords", i);
      AIHUB_TRY(check_text(at + ".file_name", pdf_passwords[i].file_name));
      for (std::size_t j = 0; j < i; ++j)
        if (pdf_passwords[j].file_name == pdf_passwords[i].file_name)
          return validation_error(at + ".file_name",
                                  "repeats the file name of entry " + std::to_string(j));
      AIHUB_TRY(check_utf8(at + ".password", pdf_passwords[i].password));
    }
    if (runtime_config_extra) {
      // "instabase" may carry options beyond PDF passwords, so it is free while those are unset.
      const bool taken[] = {true, !pdf_passwords.empty()};
      AIHUB_TRY(check_extra("settings.runtime_config_extra", *runtime_config_extra,
                            {"generate_post_process_pdf", "instabase"}, taken));
    }
    std::int64_t total = 0;
    for (std::size_t i = 0; i < tags.size(); ++i) {
      AIHUB_TRY(check_text(ri::indexed("settings.tags", i), tags[i]));
      total += utf8_length(tags[i]);
    }
    if (total > max_tags_length)
      return validation_error("settings.tags", "must not exceed 500 characters combined (has " +
                                                   std::to_string(total) + ")");
    if (extra) {
      const bool taken[] = {true, true, true};
      AIHUB_TRY(check_extra("settings.extra", *extra, {"keys", "runtime_config", "tags"}, taken));
    }
    return {};
  }

  /// The values a dump must never show: secret keys' values, PDF passwords, and any string under a
  /// "password", "passwords", "secret" or "secrets" member of the free-form extras.
  void collect_secrets(std::vector<std::string>& out) const {
    for (const auto& k : secret_keys)
      if (!k.secret.empty()) out.push_back(k.secret);
    for (const auto& p : pdf_passwords)
      if (!p.password.empty()) out.push_back(p.password);
    if (runtime_config_extra)
      detail::runs_impl::collect_secret_strings(runtime_config_extra->text, out);
    if (extra) detail::runs_impl::collect_secret_strings(extra->text, out);
  }

  /// Writes the settings object.
  void write(json::writer& w) const {
    w.begin_object();
    if (has_keys()) {
      w.key("keys");
      w.begin_object();
      if (!custom_keys.empty()) {
        w.key("custom");
        w.begin_object();
        for (const auto& k : custom_keys) {
          w.key(k.name);
          w.raw_json(k.value.text);
        }
        w.end_object();
      }
      if (!secret_keys.empty()) {
        w.key("secret");
        w.begin_object();
        for (const auto& k : secret_keys) {
          w.key(k.name);
          w.string(k.secret);
        }
        w.end_object();
      }
      w.end_object();
    }
    if (has_runtime_config()) {
      w.key("runtime_config");
      w.begin_object();
      if (generate_post_process_pdf) {
        w.key("generate_post_process_pdf");
        w.boolean(*generate_post_process_pdf);
      }
      if (!pdf_passwords.empty()) {
        w.key("instabase");
        w.begin_object();
        w.key("pdf");
        w.begin_object();
        w.key("passwords");
        w.begin_object();
        for (const auto& p : pdf_passwords) {
          w.key(p.file_name);
          w.string(p.password);
        }
        w.end_object();
        w.end_object();
        w.end_object();
      }
      if (runtime_config_extra) write_members(w, runtime_config_extra->text);
      w.end_object();
    }
    if (!tags.empty()) {
      w.key("tags");
      w.begin_array();
      for (const auto& t : tags) w.string(t);
      w.end_array();
    }
    if (extra) write_members(w, extra->text);
    w.end_object();
  }

  friend bool operator==(const run_settings&, const run_settings&) = default;

 private:
  template <std::size_t N>
  static result<void> check_extra(std::string_view field, const json::raw& object,
                                  const std::string_view (&typed)[N], const bool (&taken)[N]) {
    if (std::string problem = detail::runs_impl::raw_problem(object.text, true); !problem.empty())
      return validation_error(field, problem);
    std::vector<std::pair<std::string, json::raw>> members;
    detail::runs_impl::object_members(object.text, members);
    for (std::size_t i = 0; i < members.size(); ++i) {
      const std::string& name = members[i].first;
      for (std::size_t j = 0; j < i; ++j)
        if (members[j].first == name)
          return validation_error(field, "repeats the member \"" + name + "\"");
      for (std::size_t k = 0; k < N; ++k)
        if (taken[k] && name == typed[k])
          return validation_error(field,
                                  "must not set \"" + name + "\", which the typed settings own");
    }
    return {};
  }
  static void write_members(json::writer& w, std::string_view object_text) {
    std::vector<std::pair<std::string, json::raw>> members;
    detail::runs_impl::object_members(object_text, members);
    for (const auto& [name, value] : members) {
      w.key(name);
      w.raw_json(value.text);
    }
  }
};

// ---------------------------------------------------------------------------------------------------
// Operations

namespace detail::runs_impl {

/// Run responses must name the run: an empty id would poll "/v2/apps/runs/" forever.
inline result<void> check_run_id_in_response(const std::string& id) {
  if (id.empty()) return make_error(error_kind::decode, "id must not be empty", "id");
  return {};
}

inline void write_run_target(http::target_string& out, std::string_view run_id,
                             std::string_view suffix = {}) {
  url::target_writer(out).path("/v2/apps/runs").segment(run_id).path(suffix);
}

}  // namespace detail::runs_impl

/// runApp: POST /v2/apps/runs → 200 run. Names the app by `app_name` (with `owner` for apps of
/// another account, "instabase" for Marketplace apps) or by `app_id`, and the input by `batch_id`
/// or `input_dir`.
struct run_app {
  static constexpr endpoint endpoint_info{"runApp", http::method::post, "/v2/apps/runs", 200,
                                          false};
  using response_type = run;

  std::optional<std::string> app_name{};  ///< exactly one of app_name and app_id
  std::optional<std::string> app_id{};
  std::optional<std::string> owner{};
  std::optional<std::int64_t> batch_id{};  ///< exactly one of batch_id and input_dir
  std::optional<std::string> input_dir{};
  std::optional<std::string> version{};
  std::optional<std::string> output_workspace{};  ///< a service account needs this or output_dir
  std::optional<std::string> output_dir{};        ///< overrides output_workspace
  run_settings settings{};                        ///< left out of the body when empty

  result<void> validate(const ::aihub::settings& s) const {
    namespace ri = detail::runs_impl;
    if (app_name && app_id)
      return validation_error("app_id", "must not be given together with app_name");
    if (!app_name && !app_id)
      return validation_error("app_name", "is required unless app_id is given");
    AIHUB_TRY(check_optional_text("app_name", app_name));
    AIHUB_TRY(check_optional_text("app_id", app_id));
    AIHUB_TRY(check_optional_text("owner", owner));
    if (batch_id && input_dir)
      return validation_error("input_dir", "must not be given together with batch_id");
    if (!batch_id && !input_dir)
      return validation_error("batch_id", "is required unless input_dir is given");
    if (batch_id) AIHUB_TRY(check_positive("batch_id", *batch_id));
    AIHUB_TRY(check_optional_text("input_dir", input_dir));
    AIHUB_TRY(check_optional_text("version", version));
    AIHUB_TRY(check_optional_text("output_workspace", output_workspace));
    AIHUB_TRY(check_optional_text("output_dir", output_dir));
    if (s.service_account && !output_workspace && !output_dir)
      return validation_error("output_workspace",
                              "is required unless output_dir is given when calling as a service "
                              "account (service accounts have no personal workspace)");
    return settings.validate();
  }
  void collect_secrets(std::vector<std::string>& out) const { settings.collect_secrets(out); }
  void write_target(http::target_string& out) const { out.append("/v2/apps/runs"); }
  /// Appends the JSON request body to `text` (reusing its capacity when the caller keeps one).
  void write_body(std::string& text) const {
    text.reserve(text.size() + 128);
    json::writer w(text);
    w.begin_object();
    auto optional_string = [&w](std::string_view name, const std::optional<std::string>& v) {
      if (!v) return;
      w.key(name);
      w.string(*v);
    };
    if (batch_id) {
      w.key("batch_id");
      w.integer(*batch_id);
    }
    optional_string("input_dir", input_dir);
    optional_string("app_name", app_name);
    optional_string("app_id", app_id);
    optional_string("owner", owner);
    optional_string("version", version);
    optional_string("output_workspace", output_workspace);
    optional_string("output_dir", output_dir);
    if (!settings.empty()) {
      w.key("settings");
      settings.write(w);
    }
    w.end_object();
  }
  static result<void> complete(const http::response&, run& value) {
    return detail::runs_impl::check_run_id_in_response(value.id);
  }
};

/// runDeployment: POST /v2/apps/deployments/{deployment-id}/runs → 202 run. The input is exactly
/// one of `batch_id`, `input_dir` and the deployment's upstream integration
/// (`manual_upstream_integration`); a mailbox integration also takes the window to pull emails
/// from.
struct run_deployment {
  static constexpr endpoint endpoint_info{"runDeployment", http::method::post,
                                          "/v2/apps/deployments/{deployment-id}/runs", 202, false};
  using response_type = run;

  /// Bounds of from_timestamp and to_timestamp: Unix milliseconds from 1973-03-03 on, so that
  /// Unix seconds passed by mistake (which would pull every email since 1970) are refused.
  static constexpr std::int64_t min_epoch_ms = 100'000'000'000;

  std::string deployment_id{};
  std::optional<std::int64_t> batch_id{};
  std::optional<std::string> input_dir{};
  bool manual_upstream_integration = false;      ///< sent only when true
  std::optional<std::int64_t> from_timestamp{};  ///< Unix milliseconds (mailbox integrations)
  std::optional<std::int64_t> to_timestamp{};    ///< Unix milliseconds (mailbox integrations)
  std::optional<std::string> version{};
  std::optional<std::string> output_dir{};  ///< overrides the deployment's output workspace
  run_settings settings{};                  ///< left out of the body when empty

  result<void> validate(const ::aihub::settings&) const {
    namespace ri = detail::runs_impl;
    AIHUB_TRY(ri::check_id("deployment_id", deployment_id));
    const int inputs =
        int{batch_id.has_value()} + int{input_dir.has_value()} + int{manual_upstream_integration};
    if (inputs == 0)
      return validation_error(
          "batch_id", "is required unless input_dir or manual_upstream_integration is given");
    if (inputs > 1)
      return validation_error(batch_id ? "batch_id" : "input_dir",
                              "exactly one of batch_id, input_dir and manual_upstream_integration "
                              "must be given");
    if (batch_id) AIHUB_TRY(check_positive("batch_id", *batch_id));
    AIHUB_TRY(check_optional_text("input_dir", input_dir));
    for (auto [name, value] :
         {std::pair{"from_timestamp", from_timestamp}, std::pair{"to_timestamp", to_timestamp}}) {
      if (!value) continue;
      if (!manual_upstream_integration)
        return validation_error(name, "applies only with manual_upstream_integration");
      if (*value < min_epoch_ms)
        return validation_error(name,
                                "must be Unix time in milliseconds (this looks like seconds)");
    }
    if (from_timestamp && to_timestamp && *from_timestamp > *to_timestamp)
      return validation_error("from_timestamp", "must not be after to_timestamp");
    AIHUB_TRY(check_optional_text("version", version));
    AIHUB_TRY(check_optional_text("output_dir", output_dir));
    return settings.validate();
  }
  void collect_secrets(std::vector<std::string>& out) const { settings.collect_secrets(out); }
  void write_target(http::target_string& out) const {
    url::target_writer(out).path("/v2/apps/deployments").segment(deployment_id).path("/runs");
  }
  /// Appends the JSON request body to `text` (reusing its capacity when the caller keeps one).
  void write_body(std::string& text) const {
    text.reserve(text.size() + 96);
    json::writer w(text);
    w.begin_object();
    if (batch_id) {
      w.key("batch_id");
      w.integer(*batch_id);
    }
    if (input_dir) {
      w.key("input_dir");
      w.string(*input_dir);
    }
    if (manual_upstream_integration) {
      w.key("manual_upstream_integration");
      w.boolean(true);
    }
    if (from_timestamp) {
      w.key("from_timestamp");
      w.integer(*from_timestamp);
    }
    if (to_timestamp) {
      w.key("to_timestamp");
      w.integer(*to_timestamp);
    }
    if (version) {
      w.key("version");
      w.string(*version);
    }
    if (output_dir) {
      w.key("output_dir");
      w.string(*output_dir);
    }
    if (!settings.empty()) {
      w.key("settings");
      settings.write(w);
    }
    w.end_object();
  }
  static result<void> complete(const http::response&, run& value) {
    return detail::runs_impl::check_run_id_in_response(value.id);
  }
};

/// getRunStatus: GET /v2/apps/runs/{run_id} → 200 run.
struct get_run {
  static constexpr endpoint endpoint_info{"getRunStatus", http::method::get,
                                          "/v2/apps/runs/{run_id}", 200, true};
  using response_type = run;

  std::string run_id{};

  result<void> validate(const ::aihub::settings&) const {
    return detail::runs_impl::check_id("run_id", run_id);
  }
  void write_target(http::target_string& out) const {
    detail::runs_impl::write_run_target(out, run_id);
  }
  static result<void> complete(const http::response&, run& value) {
    return detail::runs_impl::check_run_id_in_response(value.id);
  }
};

/// listRuns' sort_by values.
enum class run_sort_field : std::uint8_t { start_timestamp, status };
constexpr std::string_view to_string(run_sort_field f) noexcept {
  return f == run_sort_field::status ? "status" : "start_timestamp";
}

/// listRuns' order values.
enum class run_sort_order : std::uint8_t { ascending, descending };
constexpr std::string_view to_string(run_sort_order o) noexcept {
  return o == run_sort_order::ascending ? "ASCENDING" : "DESCENDING";
}

/// listRuns: GET /v2/apps/runs → 200 run_list. Every filter is optional; the server defaults to the
/// last 24 hours. List filters (status, output_workspaces) are sent as repeated parameters
/// (`status=COMPLETE&status=FAILED`), OpenAPI's default form for query arrays.
struct list_runs {
  static constexpr endpoint endpoint_info{"listRuns", http::method::get, "/v2/apps/runs", 200,
                                          true};
  using response_type = run_list;

  /// Upper bound of from_timestamp and to_timestamp: Unix seconds up to the year 5138, so that
  /// milliseconds or nanoseconds passed by mistake (which would silently match nothing) are
  /// refused.
  static constexpr std::int64_t max_epoch_seconds = 99'999'999'999;

  std::optional<std::string> app_id{};
  std::optional<std::string> app_name{};
  std::optional<std::string> deployment_id{};
  std::optional<std::string> username{};
  std::optional<std::string> run_id{};
  std::vector<run_status> status{};  ///< any of these; `unknown` cannot be asked for
  std::vector<std::string> output_workspaces{};
  std::optional<std::int64_t> from_timestamp{};  ///< Unix seconds
  std::optional<std::int64_t> to_timestamp{};    ///< Unix seconds
  std::optional<std::int64_t> limit{};           ///< at least 1
  std::optional<std::int64_t> offset{};          ///< at least 0
  std::optional<run_sort_field> sort_by{};
  std::optional<run_sort_order> order{};

  result<void> validate(const ::aihub::settings&) const {
    namespace ri = detail::runs_impl;
    AIHUB_TRY(check_optional_text("app_id", app_id));
    AIHUB_TRY(check_optional_text("app_name", app_name));
    AIHUB_TRY(check_optional_text("deployment_id", deployment_id));
    AIHUB_TRY(check_optional_text("username", username));
    AIHUB_TRY(check_optional_text("run_id", run_id));
    for (std::size_t i = 0; i < status.size(); ++i)
      if (status[i] == run_status::unknown)
        return validation_error(ri::indexed("status", i),
                                "must be a known run status, not unknown");
    for (std::size_t i = 0; i < output_workspaces.size(); ++i)
      AIHUB_TRY(check_text(ri::indexed("output_workspaces", i), output_workspaces[i]));
    for (auto [name, value] :
         {std::pair{"from_timestamp", from_timestamp}, std::pair{"to_timestamp", to_timestamp}}) {
      if (!value) continue;
      AIHUB_TRY(check_non_negative(name, *value));
      if (*value > max_epoch_seconds)
        return validation_error(
            name, "must be Unix time in seconds (this looks like milliseconds or nanoseconds)");
    }
    if (from_timestamp && to_timestamp && *from_timestamp > *to_timestamp)
      return validation_error("from_timestamp", "must not be after to_timestamp");
    if (limit) AIHUB_TRY(check_positive("limit", *limit));
    if (offset) AIHUB_TRY(check_non_negative("offset", *offset));
    if (sort_by && *sort_by != run_sort_field::start_timestamp &&
        *sort_by != run_sort_field::status)
      return validation_error("sort_by", "must be start_timestamp or status");
    if (order && *order != run_sort_order::ascending && *order != run_sort_order::descending)
      return validation_error("order", "must be ASCENDING or DESCENDING");
    return {};
  }
  void write_target(http::target_string& out) const {
    url::target_writer t(out);
    t.path("/v2/apps/runs");
    auto text = [&t](std::string_view name, const std::optional<std::string>& v) {
      if (v) t.query(name, std::string_view(*v));
    };
    text("app_id", app_id);
    text("app_name", app_name);
    text("deployment_id", deployment_id);
    text("username", username);
    text("run_id", run_id);
    for (run_status s : status) t.query("status", to_string(s));
    for (const auto& w : output_workspaces) t.query("output_workspaces", std::string_view(w));
    if (from_timestamp) t.query("from_timestamp", *from_timestamp);
    if (to_timestamp) t.query("to_timestamp", *to_timestamp);
    if (limit) t.query("limit", *limit);
    if (offset) t.query("offset", *offset);
    if (sort_by) t.query("sort_by", to_string(*sort_by));
    if (order) t.query("order", to_string(*order));
  }
};

/// deleteRun: DELETE /v2/apps/runs/{run_id} → 202 run_deletion. Each flag the server defaults to
/// true; only flags that are set are sent. Deleting the input also deletes the batch the run read.
struct delete_run {
  static constexpr endpoint endpoint_info{"deleteRun", http::method::delete_,
                                          "/v2/apps/runs/{run_id}", 202, true};
  using response_type = run_deletion;

  std::string run_id{};
  std::optional<bool> delete_db_data{};
  std::optional<bool> delete_input{};
  std::optional<bool> delete_output{};
  std::optional<bool> delete_logs{};

  result<void> validate(const ::aihub::settings&) const {
    return detail::runs_impl::check_id("run_id", run_id);
  }
  void write_target(http::target_string& out) const {
    url::target_writer t(out);
    t.path("/v2/apps/runs").segment(std::string_view(run_id));
    if (delete_db_data) t.query("delete_db_data", *delete_db_data);
    if (delete_input) t.query("delete_input", *delete_input);
    if (delete_output) t.query("delete_output", *delete_output);
    if (delete_logs) t.query("delete_logs", *delete_logs);
  }
};

/// getRunResults: GET /v2/apps/runs/{run_id}/results → 200 run_results, one page of files from
/// `file_offset`. Each include_* flag the server defaults to false; only flags that are set are
/// sent.
struct get_run_results {
  static constexpr endpoint endpoint_info{"getRunResults", http::method::get,
                                          "/v2/apps/runs/{run_id}/results", 200, true};
  using response_type = run_results;

  std::string run_id{};
  std::optional<bool> include_review_results{};
  std::optional<bool> include_confidence_scores{};
  std::optional<bool> include_validation_results{};
  std::optional<bool> include_source_info{};
  std::optional<std::int64_t> file_offset{};  ///< index of the first file; at least 0

  result<void> validate(const ::aihub::settings&) const {
    AIHUB_TRY(detail::runs_impl::check_id("run_id", run_id));
    if (file_offset) AIHUB_TRY(check_non_negative("file_offset", *file_offset));
    return {};
  }
  void write_target(http::target_string& out) const {
    url::target_writer t(out);
    t.path("/v2/apps/runs").segment(std::string_view(run_id)).path("/results");
    if (include_review_results) t.query("include_review_results", *include_review_results);
    if (include_confidence_scores) t.query("include_confidence_scores", *include_confidence_scores);
    if (include_validation_results)
      t.query("include_validation_results", *include_validation_results);
    if (include_source_info) t.query("include_source_info", *include_source_info);
    if (file_offset) t.query("file_offset", *file_offset);
  }
  static result<void> complete(const http::response&, run_results& value) {
    return detail::runs_impl::check_run_id_in_response(value.id);
  }

  /// The request for the page after `page` (same flags, file_offset advanced by the files it
  /// held), or nullopt when `page` was the last. A page that claims more but holds no file would
  /// repeat forever: that is a protocol error.
  result<std::optional<get_run_results>> next_page(const run_results& page) const {
    if (!page.has_more) return std::optional<get_run_results>();
    if (page.files.empty())
      return make_error(error_kind::protocol,
                        "has_more is true but the page holds no files; the next offset would "
                        "repeat this page",
                        "has_more");
    get_run_results next = *this;
    next.file_offset = file_offset.value_or(0) + static_cast<std::int64_t>(page.files.size());
    return std::optional<get_run_results>(std::move(next));
  }
};

AIHUB_NAMESPACE_END
