// batches create | list | get | delete | upload | files | delete-file | job, and jobs status
// (which shares the job printers).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"

namespace aihub_cli {

namespace {

void print_batch(const aihub::batch_info& b) {
  fields f;
  f.add("id", std::to_string(b.id));
  f.add("name", printable(b.name));
  f.add("workspace", printable(b.workspace.value_or("")));
  f.add("mount point", printable(b.mount_point.value_or("")));
  f.add("owner", printable(b.batch_owner.value_or("")));
  f.add("repo owner", printable(b.repo_owner.value_or("")));
  if (b.created_at_ms) f.add("created", format_utc(*b.created_at_ms / 1000));
  if (b.updated_at_ms) f.add("updated", format_utc(*b.updated_at_ms / 1000));
  f.add("path suffix", printable(b.path_suffix.value_or("")));
  f.print();
}

void print_job(const aihub::job_status& job) {
  std::string line(to_string(job.state));
  if (job.message && !job.message->empty()) line.append(": ").append(printable(*job.message));
  print_line(line);
}

/// --wait and --timeout of a job command; --timeout alone is a usage error.
bool wants_wait(arg_reader& in) {
  bool wait = in.flag("--wait");
  if (!wait && in.flag("--timeout")) in.fail("--timeout applies only with --wait");
  return wait;
}

/// One file to upload, checked before anything is sent.
struct upload_plan {
  std::string path;
  std::string remote_name;
  std::uint64_t size = 0;
};

/// What `batches upload --json` prints: the batch and one entry per uploaded file.
struct uploaded_file {
  std::string name{};
  std::string path{};
  std::uint64_t size = 0;
  bool multipart = false;
  std::uint64_t parts = 0;
  std::optional<std::string> session_id{};
  bool confirmed_by_listing = false;
  static constexpr auto json_fields() {
    using t = uploaded_file;
    namespace j = aihub::json;
    return aihub::json::fields(j::field("name", &t::name), j::field("path", &t::path),
                               j::field("size", &t::size), j::field("multipart", &t::multipart),
                               j::field("parts", &t::parts), j::field("session_id", &t::session_id),
                               j::field("confirmed_by_listing", &t::confirmed_by_listing));
  }
};
struct upload_report {
  std::int64_t batch_id = 0;
  std::vector<uploaded_file> uploads{};
  static constexpr auto json_fields() {
    return aihub::json::fields(aihub::json::field("batch_id", &upload_report::batch_id),
                               aihub::json::field("uploads", &upload_report::uploads));
  }
};

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// Checks a file to upload: a readable regular file whose remote name the API accepts.
std::optional<upload_plan> plan_upload(arg_reader& in, const std::string& path,
                                       std::optional<std::string> name) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    in.fail("cannot read " + path + ": " + std::strerror(errno));
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) {
    in.fail(path + " is not a regular file");
    return std::nullopt;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    in.fail("cannot read " + path + ": " + std::strerror(errno));
    return std::nullopt;
  }
  ::close(fd);
  upload_plan plan{path, name ? *name : base_name(path), static_cast<std::uint64_t>(info.st_size)};
  if (const char* problem = aihub::rules::file_name_problem(plan.remote_name)) {
    in.fail("remote name '" + printable(plan.remote_name) + "' of " + path + " " + problem);
    return std::nullopt;
  }
  return plan;
}

}  // namespace

int batches_create(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "NAME");
  std::string name = in.text(0, "NAME");
  auto workspace = in.text_option("--workspace");
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto hub = s.make_client();
  auto created = hub.call(aihub::create_batch{.name = name, .workspace = workspace});
  if (!created) return s.failure(created.error());
  if (s.json)
    print_json(*created);
  else
    print_line(std::to_string(created->id));
  return exit_status::success;
}

int batches_list(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(0, 0, "");
  auto workspace = in.text_option("--workspace");
  auto username = in.text_option("--username");
  auto limit = in.integer("--limit", 1);
  auto offset = in.integer("--offset", 0);
  auto page_size = in.integer("--page-size", 1);
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  std::int64_t per_page = page_size.value_or(100);
  if (limit && *limit < per_page) per_page = *limit;
  const aihub::list_batches first{.workspace = workspace,
                                  .username = username,
                                  .limit = per_page,
                                  .offset = offset.value_or(0)};
  auto hub = s.make_client();
  aihub::batch_list merged;
  for (auto& page : hub.batch_pages(first)) {
    if (!page) return s.failure(page.error());
    for (auto& b : page->batches) {
      if (limit && static_cast<std::int64_t>(merged.batches.size()) >= *limit) break;
      merged.batches.push_back(std::move(b));
    }
    if (limit && static_cast<std::int64_t>(merged.batches.size()) >= *limit) break;
  }
  if (s.json) {
    print_json(merged);
    return exit_status::success;
  }
  table t({"ID", "NAME", "WORKSPACE", "OWNER", "CREATED"});
  for (const auto& b : merged.batches)
    t.add({std::to_string(b.id), printable(b.name), printable(b.workspace.value_or("")),
           printable(b.batch_owner.value_or("")),
           b.created_at_ms ? format_utc(*b.created_at_ms / 1000) : ""});
  t.print();
  return exit_status::success;
}

int batches_get(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "BATCH_ID");
  auto id = in.positive_id(0, "BATCH_ID");
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto hub = s.make_client();
  auto batch = hub.call(aihub::get_batch{.batch_id = id});
  if (!batch) return s.failure(batch.error());
  if (s.json)
    print_json(*batch);
  else
    print_batch(*batch);
  return exit_status::success;
}

int batches_delete(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "BATCH_ID");
  auto id = in.positive_id(0, "BATCH_ID");
  bool wait = wants_wait(in);
  auto options = wait_options_from(in);
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto hub = s.make_client();
  auto job = hub.call(aihub::delete_batch{.batch_id = id});
  if (!job) return s.failure(job.error());
  if (!wait) {
    if (s.json)
      print_json(*job);
    else
      print_line(job->job_id);
    return exit_status::success;
  }
  auto waited = wait_for<aihub::job_wait_traits>(
      hub, aihub::poll_batches_job{.job_id = job->job_id}, options);
  return finish_wait(s, waited, [&](const aihub::job_status& final_state) {
    print_line("batch " + std::to_string(id) + " deletion job " + job->job_id + ": " +
               std::string(to_string(final_state.state)));
  });
}

int batches_upload(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(2, SIZE_MAX, "BATCH_ID FILE...");
  auto id = in.positive_id(0, "BATCH_ID");
  auto name = in.text_option("--name");
  auto parallel = in.integer("--parallel", 1, 64);
  auto threshold = in.integer("--multipart-threshold", 0);
  const std::size_t file_count = args.positionals.size() > 1 ? args.positionals.size() - 1 : 0;
  if (name && file_count > 1)
    in.fail("--name applies to one FILE only (" + std::to_string(file_count) + " given)");
  std::vector<upload_plan> plans;
  std::set<std::string> remote_names;
  for (std::size_t i = 1; i < args.positionals.size() && in.ok(); ++i) {
    auto plan = plan_upload(in, args.positionals[i], name);
    if (!plan) break;
    if (!remote_names.insert(plan->remote_name).second)
      in.fail("two files would both be uploaded as '" + printable(plan->remote_name) + "'");
    plans.push_back(std::move(*plan));
  }
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  const std::size_t workers = static_cast<std::size_t>(parallel.value_or(4));
  std::atomic<progress_bar*> current_bar{nullptr};
  std::function<void(const aihub::transfer_progress&)> on_send;
  if (s.term.interactive())
    on_send = [&current_bar](const aihub::transfer_progress& p) {
      if (auto* bar = current_bar.load()) bar->sending(p.sent);
    };
  auto hub = s.make_client(workers, std::move(on_send));

  upload_report report{.batch_id = id};
  for (const auto& plan : plans) {
    std::optional<progress_bar> bar;
    if (s.term.interactive()) {
      bar.emplace(s.term, printable(plan.remote_name), plan.size);
      current_bar = &*bar;
    }
    aihub::upload_options options{
        .multipart_threshold = static_cast<std::uint64_t>(
            threshold.value_or(aihub::upload_options{}.multipart_threshold)),
        .parallel_parts = workers,
        .on_progress = [&bar](std::uint64_t done, std::uint64_t) {
          if (bar) bar->confirmed(done);
        }};
    auto uploaded = hub.upload_file(id, plan.path, plan.remote_name, std::move(options));
    current_bar = nullptr;  // every worker has finished: upload_file joins them
    if (bar) bar->finish(uploaded.has_value());
    if (!uploaded) {
      const aihub::error& e = uploaded.error();
      int status = exit_status_for(e);
      // A part that still failed after its retries: the API (or the path to it) refused the
      // upload, and the session was aborted.
      if (e.field == "part_num" && e.kind != aihub::error_kind::validation &&
          e.kind != aihub::error_kind::cancelled && e.kind != aihub::error_kind::local_input)
        status = exit_status::api_error;
      s.report(e, "upload of " + plan.path + " as '" + printable(plan.remote_name) + "'");
      if (!report.uploads.empty())
        s.note("aihub: " + std::to_string(report.uploads.size()) +
               " file(s) were uploaded before the failure");
      return status;
    }
    if (!s.json)
      print_line("uploaded " + printable(uploaded->name) + " (" + std::to_string(uploaded->size) +
                 " bytes" +
                 (uploaded->multipart ? ", " + std::to_string(uploaded->parts) +
                                            (uploaded->parts == 1 ? " part" : " parts")
                                      : "") +
                 ")");
    report.uploads.push_back(uploaded_file{
        .name = uploaded->name,
        .path = plan.path,
        .size = uploaded->size,
        .multipart = uploaded->multipart,
        .parts = uploaded->parts,
        .session_id = uploaded->multipart ? std::optional(uploaded->session_id) : std::nullopt,
        .confirmed_by_listing = uploaded->confirmed_by_listing});
  }
  if (s.json) print_json(report);
  return exit_status::success;
}

int batches_files(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "BATCH_ID");
  auto id = in.positive_id(0, "BATCH_ID");
  auto page_size = in.integer("--page-size", 1);
  auto max_pages = in.integer("--max-pages", 1);
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto hub = s.make_client();
  aihub::file_page merged;
  std::int64_t pages = 0;
  for (auto& page : hub.file_pages({.batch_id = id, .page_size = page_size})) {
    if (!page) return s.failure(page.error());
    for (auto& node : page->nodes) merged.nodes.push_back(std::move(node));
    merged.has_more = page->has_more;
    merged.next_page_token = page->next_page_token;
    if (max_pages && ++pages >= *max_pages) break;
  }
  if (s.json) {
    print_json(merged);
    return exit_status::success;
  }
  table t({"NAME", "SIZE", "MODIFIED"});
  for (const auto& node : merged.nodes) {
    auto modified = node.metadata ? node.metadata->modified_timestamp : std::nullopt;
    t.add({printable(node.name), node.size() ? std::to_string(*node.size()) : "",
           modified ? format_utc(*modified) : ""});
  }
  t.print();
  if (merged.has_more)
    s.note("aihub: stopped after " + std::to_string(pages) + " page(s); the batch has more files");
  return exit_status::success;
}

int batches_delete_file(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(2, 2, "BATCH_ID NAME");
  auto id = in.positive_id(0, "BATCH_ID");
  std::string name = in.text(1, "NAME");
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto hub = s.make_client();
  auto deleted = hub.call(aihub::delete_file{.batch_id = id, .name = name});
  if (!deleted) return s.failure(deleted.error());
  if (s.json)
    print_line("{}");  // the API answers 202 without a body
  else
    print_line("deleted " + printable(name) + " from batch " + std::to_string(id));
  return exit_status::success;
}

int batches_job(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "JOB_ID");
  std::string job_id = in.text(0, "JOB_ID");
  bool wait = wants_wait(in);
  auto options = wait_options_from(in);
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto hub = s.make_client();
  if (wait) {
    auto waited =
        wait_for<aihub::job_wait_traits>(hub, aihub::poll_batches_job{.job_id = job_id}, options);
    return finish_wait(s, waited, print_job);
  }
  auto job = hub.call(aihub::poll_batches_job{.job_id = job_id});
  if (!job) return s.failure(job.error());
  if (s.json)
    print_json(*job);
  else
    print_job(*job);
  return exit_status::success;
}

int jobs_status(session& s, const parsed_args& args) {
  arg_reader in(args);
  in.expect_positionals(1, 1, "JOB_ID");
  std::string job_id = in.text(0, "JOB_ID");
  bool wait = wants_wait(in);
  auto options = wait_options_from(in);
  if (!in.ok()) return s.usage_failure(in.error());
  if (!s.settings_usable()) return exit_status::usage;

  auto hub = s.make_client();
  if (wait) {
    auto waited = wait_for<aihub::job_wait_traits>(hub, aihub::get_job{.job_id = job_id}, options);
    return finish_wait(s, waited, print_job);
  }
  auto job = hub.call(aihub::get_job{.job_id = job_id});
  if (!job) return s.failure(job.error());
  if (s.json)
    print_json(*job);
  else
    print_job(*job);
  return exit_status::success;
}

}  // namespace aihub_cli
