// runs start | status | results | list
#include <string>
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

}  // namespace aihub_cli
