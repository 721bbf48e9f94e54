// runs start | deploy | status | results | list | delete
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "commands.hpp"

namespace aihub_cli {

namespace {

constexpr std::int64_t nanoseconds_per_second = 1'000'000'000;

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out.append(separator);
    out.append(item);
  }
  return out;
}

std::string run_input(const aihub::run& r) {
  if (r.batch_id) return "batch " + std::to_string(r.batch_id->value);
  return printable(r.input_dir.value_or(""));
}

void print_run(const aihub::run& r) {
  fields f;
  f.add("id", printable(r.id));
  f.add("status", std::string(to_string(r.status)));
  if (r.start_timestamp) f.add("started", format_utc(r.start_timestamp / nanoseconds_per_second));
  if (r.finish_timestamp)
    f.add("finished", format_utc(*r.finish_timestamp / nanoseconds_per_second));
  f.add("message", printable(r.msg.value_or("")));
  f.add("input", run_input(r));
  f.add("app id", printable(r.app_id.value_or("")));
  f.add("deployment id", printable(r.deployment_id.value_or("")));
  if (r.tags) f.add("tags", printable(join(*r.tags, ", ")));
  f.print();
}

std::string field_value(const aihub::document_field& field) {
  std::string out;
  if (auto text = field.value_text())
    out = *text;
  else if (field.value)
    out = field.value->text;
  if (field.error_msg && !field.error_msg->empty())
    out.append(out.empty() ? "" : "  ").append("(error: ").append(*field.error_msg).append(")");
  return printable(out);
}

std::optional<aihub::run_status> run_status_named(std::string_view text) {
  aihub::run_status status = aihub::run_status::unknown;
  if (!from_string(upper(text), status) || status == aihub::run_status::unknown)
    return std::nullopt;
  return status;
}

/// Starts a run (runApp or runDeployment) and prints its id, or with `wait` polls it until it ends
/// and prints it: the tail `runs start` and `runs deploy` share.
template <class Start>
int start_run(session& s, const Start& request, bool wait, aihub::wait_options options) {
  auto hub = s.make_client();
  auto started = hub.call(request);
  if (!started) return s.failure(started.error());
  if (!wait) {
    if (s.json)
      print_json(*started);
    else
      print_line(started->id);
    return exit_status::success;
  }
  auto waited =
      wait_for<aihub::run_wait_traits>(hub, aihub::get_run{.run_id = started->id}, options);
  int status = finish_wait(s, waited, print_run);
  if (waited.outcome && waited.outcome->needs_review())
    s.note("aihub: the run stopped at a checkpoint and needs a human review");
  return status;
}

/// One deletion job of `runs delete --wait`, as printed with --json.
struct deletion_job {
  std::string directory{};  ///< "input", "output" or "logs"
  std::string job_id{};
  std::optional<aihub::job_state> state{};  ///< the last state polled; absent if never polled
  std::optional<std::string> message{};
  static constexpr auto json_fields() {
    using t = deletion_job;
    namespace j = aihub::json;
    return aihub::json::fields(j::field("directory", &t::directory), j::field("job_id", &t::job_id),
                               j::field("state", &t::state), j::field("message", &t::message));
  }
};
/// What `runs delete --wait --json` prints: the run and each deletion job's final state.
struct deletion_report {
  std::string run_id{};
  std::vector<deletion_job> jobs{};
  static constexpr auto json_fields() {
    return aihub::json::fields(aihub::json::field("run_id", &deletion_report::run_id),
                               aihub::json::field("jobs", &deletion_report::jobs));
  }
};

}  // namespace

int runs_start(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(0, 0, "no argument");
  auto app = in.text_option("--app");
  auto owner = in.text_option("--owner");
  auto app_id = in.text_option("--app-id");
  auto batch = in.integer("--batch", 1);
  auto input_dir = in.text_option("--input-dir");
  auto version = in.text_option("--version");
  auto output_workspace = in.text_option("--output-workspace");
  auto output_dir = in.text_option("--output-dir");
  auto tags = in.all("--tag");
  bool wait = in.flag("--wait");
  auto options = wait_options_from(in);
  if (app && app_id) in.fail("give --app or --app-id, not both");
  if (!app && !app_id) in.fail("missing --app NAME or --app-id ID");
  if (owner && !app) in.fail("--owner applies only with --app");
  if (batch && input_dir) in.fail("give --batch or --input-dir, not both");
  if (!batch && !input_dir && !args.has("--batch"))
    in.fail("missing --batch BATCH_ID or --input-dir DIR");
  for (const auto& tag : tags)
    if (tag.empty()) in.fail("--tag must not be empty");
  if (!wait && args.has("--timeout")) in.fail("--timeout applies only with --wait");
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  aihub::run_app request{.app_name = app,
                         .app_id = app_id,
                         .owner = owner,
                         .batch_id = batch,
                         .input_dir = input_dir,
                         .version = version,
                         .output_workspace = output_workspace,
                         .output_dir = output_dir};
  request.settings.tags = tags;
  return start_run(s, request, wait, options);
}

int runs_deploy(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "DEPLOYMENT_ID");
  std::string deployment_id = in.text(0, "DEPLOYMENT_ID");
  auto batch = in.integer("--batch", 1);
  auto input_dir = in.text_option("--input-dir");
  bool upstream = in.flag("--upstream-integration");
  auto from_ms = in.integer("--from-ms", 0);
  auto to_ms = in.integer("--to-ms", 0);
  auto version = in.text_option("--version");
  auto output_dir = in.text_option("--output-dir");
  auto tags = in.all("--tag");
  bool wait = in.flag("--wait");
  auto options = wait_options_from(in);
  const int inputs =
      int{batch.has_value() || args.has("--batch")} + int{input_dir.has_value()} + int{upstream};
  if (inputs > 1) in.fail("give only one of --batch, --input-dir and --upstream-integration");
  if (inputs == 0) in.fail("missing --batch BATCH_ID, --input-dir DIR or --upstream-integration");
  for (auto [name, value] : {std::pair{"--from-ms", from_ms}, std::pair{"--to-ms", to_ms}}) {
    if (!value) continue;
    if (!upstream) in.fail(std::string(name) + " applies only with --upstream-integration");
    if (*value < aihub::run_deployment::min_epoch_ms)
      in.fail(std::string(name) + " must be Unix time in milliseconds, not " +
              std::to_string(*value) + " (this looks like seconds)");
  }
  if (from_ms && to_ms && *from_ms > *to_ms) in.fail("--from-ms must not be after --to-ms");
  for (const auto& tag : tags)
    if (tag.empty()) in.fail("--tag must not be empty");
  if (!wait && args.has("--timeout")) in.fail("--timeout applies only with --wait");
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  aihub::run_deployment request{.deployment_id = deployment_id,
                                .batch_id = batch,
                                .input_dir = input_dir,
                                .manual_upstream_integration = upstream,
                                .from_timestamp = from_ms,
                                .to_timestamp = to_ms,
                                .version = version,
                                .output_dir = output_dir};
  request.settings.tags = tags;
  return start_run(s, request, wait, options);
}

int runs_status(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "RUN_ID");
  std::string run_id = in.text(0, "RUN_ID");
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto hub = s.make_client();
  auto found = hub.call(aihub::get_run{.run_id = run_id});
  if (!found) return s.failure(found.error());
  if (s.json)
    print_json(*found);
  else
    print_run(*found);
  return exit_status::success;
}

int runs_results(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "RUN_ID");
  std::string run_id = in.text(0, "RUN_ID");
  auto max_pages = in.integer("--max-pages", 1);
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto flag = [&](std::string_view name) {
    return in.flag(name) ? std::optional<bool>(true) : std::nullopt;
  };
  aihub::get_run_results first{.run_id = run_id,
                               .include_review_results = flag("--include-review"),
                               .include_confidence_scores = flag("--include-confidence"),
                               .include_validation_results = flag("--include-validation"),
                               .include_source_info = flag("--include-source")};
  auto hub = s.make_client();
  std::optional<aihub::run_results> merged;
  std::int64_t pages = 0;
  for (auto& page : hub.result_pages(first)) {
    if (!page) return s.failure(page.error());
    if (!merged) {
      merged = std::move(*page);
    } else {
      for (auto& file : page->files) merged->files.push_back(std::move(file));
      merged->has_more = page->has_more;
    }
    if (max_pages && ++pages >= *max_pages) break;
  }
  if (!merged) return s.failure(aihub::make_error(aihub::error_kind::protocol, "no results page"));
  if (s.json) {
    print_json(*merged);
    return exit_status::success;
  }
  fields f;
  f.add("run", printable(merged->id));
  f.add("status", std::string(to_string(merged->status)));
  f.add("message", printable(merged->message.value_or("")));
  f.print();
  print_line("");
  table t({"FILE", "DOCUMENT", "FIELD", "VALUE"});
  for (const auto& file : merged->files) {
    for (std::size_t d = 0; d < file.documents.size(); ++d) {
      const auto& document = file.documents[d];
      std::string label =
          document.class_name ? printable(*document.class_name) : "#" + std::to_string(d + 1);
      for (const auto& field : document.fields)
        t.add({printable(file.original_file_name), label, printable(field.field_name),
               field_value(field)});
    }
  }
  t.print();
  if (merged->has_more)
    s.note("aihub: stopped after " + std::to_string(pages) + " page(s); the run has more results");
  return exit_status::success;
}

int runs_list(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(0, 0, "no argument");
  aihub::list_runs first;
  first.app_name = in.text_option("--app");
  first.app_id = in.text_option("--app-id");
  first.deployment_id = in.text_option("--deployment");
  first.username = in.text_option("--username");
  first.run_id = in.text_option("--run-id");
  for (const auto& value : in.all("--status")) {
    std::size_t start = 0;
    while (start <= value.size()) {
      std::size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      std::string_view name(value.data() + start, comma - start);
      if (auto status = run_status_named(name))
        first.status.push_back(*status);
      else
        in.fail(
            "--status must be one of running, complete, failed, cancelled, paused, "
            "stopped_at_checkpoint, not '" +
            std::string(name) + "'");
      start = comma + 1;
    }
  }
  for (const auto& workspace : in.all("--output-workspace")) {
    if (workspace.empty()) in.fail("--output-workspace must not be empty");
    first.output_workspaces.push_back(workspace);
  }
  first.from_timestamp = in.integer("--from", 0, aihub::list_runs::max_epoch_seconds);
  first.to_timestamp = in.integer("--to", 0, aihub::list_runs::max_epoch_seconds);
  if (auto sort = in.text_option("--sort-by")) {
    if (*sort == "start_timestamp")
      first.sort_by = aihub::run_sort_field::start_timestamp;
    else if (*sort == "status")
      first.sort_by = aihub::run_sort_field::status;
    else
      in.fail("--sort-by must be start_timestamp or status, not '" + *sort + "'");
  }
  if (auto order = in.text_option("--order")) {
    std::string o = upper(*order);
    if (o == "ASC" || o == "ASCENDING")
      first.order = aihub::run_sort_order::ascending;
    else if (o == "DESC" || o == "DESCENDING")
      first.order = aihub::run_sort_order::descending;
    else
      in.fail("--order must be asc or desc, not '" + *order + "'");
  }
  auto limit = in.integer("--limit", 1);
  first.offset = in.integer("--offset", 0);
  auto page_size = in.integer("--page-size", 1);
  auto max_pages = in.integer("--max-pages", 1);
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  std::int64_t per_page = page_size.value_or(100);
  if (limit && *limit < per_page) per_page = *limit;
  first.limit = per_page;
  auto hub = s.make_client();
  aihub::run_list merged;
  std::int64_t pages = 0;
  for (auto& page : hub.run_pages(first)) {
    if (!page) return s.failure(page.error());
    for (auto& r : page->runs) {
      if (limit && static_cast<std::int64_t>(merged.runs.size()) >= *limit) break;
      merged.runs.push_back(std::move(r));
    }
    if (limit && static_cast<std::int64_t>(merged.runs.size()) >= *limit) break;
    if (max_pages && ++pages >= *max_pages) break;
  }
  if (s.json) {
    print_json(merged);
    return exit_status::success;
  }
  table t({"ID", "STATUS", "STARTED", "INPUT", "APP", "TAGS"});
  for (const auto& r : merged.runs)
    t.add({printable(r.id), std::string(to_string(r.status)),
           r.start_timestamp ? format_utc(r.start_timestamp / nanoseconds_per_second) : "",
           run_input(r), printable(r.app_id ? *r.app_id : r.deployment_id.value_or("")),
           r.tags ? printable(join(*r.tags, ",")) : ""});
  t.print();
  return exit_status::success;
}

int runs_delete(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "RUN_ID");
  std::string run_id = in.text(0, "RUN_ID");
  const bool keep_db_data = in.flag("--keep-db-data");
  const bool keep_input = in.flag("--keep-input");
  const bool keep_output = in.flag("--keep-output");
  const bool keep_logs = in.flag("--keep-logs");
  bool wait = in.flag("--wait");
  auto options = wait_options_from(in);
  if (keep_db_data && keep_input && keep_output && keep_logs)
    in.fail("nothing to delete: every part of the run is kept");
  if (!wait && args.has("--timeout")) in.fail("--timeout applies only with --wait");
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  // The API deletes every part by default: only the parts to keep are sent, as false.
  auto keep = [](bool kept) { return kept ? std::optional<bool>(false) : std::nullopt; };
  auto hub = s.make_client();
  auto deletion = hub.call(aihub::delete_run{.run_id = run_id,
                                             .delete_db_data = keep(keep_db_data),
                                             .delete_input = keep(keep_input),
                                             .delete_output = keep(keep_output),
                                             .delete_logs = keep(keep_logs)});
  if (!deletion) return s.failure(deletion.error());

  deletion_report report{.run_id = run_id};
  for (auto [directory, id] : {std::pair{"input", &deletion->delete_input_dir_job_id},
                               std::pair{"output", &deletion->delete_output_dir_job_id},
                               std::pair{"logs", &deletion->delete_log_dir_job_id}})
    if (*id && !(*id)->empty()) report.jobs.push_back({.directory = directory, .job_id = **id});
  if (!wait) {
    if (s.json) {
      print_json(*deletion);
    } else {
      for (const auto& job : report.jobs) print_line(printable(job.job_id));
      if (report.jobs.empty()) s.note("aihub: the API started no deletion job");
    }
    return exit_status::success;
  }

  // The jobs run side by side on the server, so they are waited for one after the other against
  // one deadline. A job that ends FAILED or CANCELLED, or is still running at the deadline (it is
  // then polled once), does not stop the wait for the others; any other error does.
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  std::vector<std::pair<std::string, aihub::error>> failures;
  std::size_t polled = 0;  // jobs[polled...] were never polled (an error stopped the wait)
  for (auto& job : report.jobs) {
    ++polled;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    options.timeout = std::max(left, std::chrono::milliseconds(0));
    auto waited =
        wait_for<aihub::job_wait_traits>(hub, aihub::get_job{.job_id = job.job_id}, options);
    const aihub::job_status* shown =
        waited.outcome ? &*waited.outcome : (waited.last_seen ? &*waited.last_seen : nullptr);
    if (shown) {
      job.state = shown->state;
      job.message = shown->message;
    }
    if (waited.outcome) continue;
    failures.emplace_back(job.directory + " deletion job " + job.job_id, waited.outcome.error());
    const auto kind = waited.outcome.error().kind;
    if (kind != aihub::error_kind::failed && kind != aihub::error_kind::timeout) break;
  }
  if (s.json) {
    print_json(report);
  } else {
    for (std::size_t i = 0; i < report.jobs.size(); ++i) {
      const auto& job = report.jobs[i];
      std::string state = job.state    ? std::string(to_string(*job.state))
                          : i < polled ? "state unknown"
                                       : "not polled";
      print_line("run " + printable(run_id) + " " + job.directory + " deletion job " +
                 printable(job.job_id) + ": " + state);
    }
    if (report.jobs.empty()) s.note("aihub: the API started no deletion job");
  }
  for (const auto& [what, e] : failures) s.report(e, what);
  return failures.empty() ? exit_status::success : exit_status_for(failures.front().second);
}

}  // namespace aihub_cli
