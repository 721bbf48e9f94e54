// App runs, deployment runs and their synthetic results.
#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "sim_util.hpp"
#include "simulator_impl.hpp"

namespace aihub_sim {
namespace {

// Odd values above 2^53 are never exactly representable as a double, so a client that
// parses run timestamps through a double is caught by comparing against /_sim/state.
std::int64_t odd_timestamp_ns() {
  return unix_ns() | 1;
}

const char* message_for(const std::string& status) {
  if (status == "RUNNING") return "Run is in progress";
  if (status == "COMPLETE") return "Run completed successfully";
  if (status == "FAILED") return "Run failed (simulated failure)";
  if (status == "CANCELLED") return "Run was cancelled (simulated)";
  return "Run stopped at a validation checkpoint (simulated)";
}

// Reads an optional string member; answers 400 and returns false if it has another type.
bool optional_string(const json& body, const char* key, std::optional<std::string>& out,
                     std::string& problem) {
  out.reset();
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_string() || !decode_utf8(it->get<std::string>())) {
    problem = std::string(key) + " must be a UTF-8 string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool read_tags(const json& value, std::vector<std::string>& out, std::string& problem) {
  if (!value.is_array()) {
    problem = "tags must be an array of strings";
    return false;
  }
  std::size_t total = 0;
  for (const auto& t : value) {
    if (!t.is_string()) {
      problem = "tags must be an array of strings";
      return false;
    }
    const auto cps = decode_utf8(t.get<std::string>());
    if (!cps) {
      problem = "tags must be UTF-8";
      return false;
    }
    total += cps->size();
    out.push_back(t.get<std::string>());
  }
  if (total > 500) {
    problem = "combined length of all tags must not exceed 500 characters";
    return false;
  }
  return true;
}

// Values of a repeatable query parameter; each occurrence may also be comma-separated.
std::set<std::string> multi_param(const httplib::Request& req, const char* name) {
  std::set<std::string> out;
  const auto count = req.get_param_value_count(name);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string value = req.get_param_value(name, i);  // split() returns views into it
    for (const auto part : split(value, ',')) {
      if (!part.empty()) out.emplace(part);
    }
  }
  return out;
}

struct result_flags {
  bool review = false;
  bool confidence = false;
  bool validation = false;
  bool source = false;
};

json modification(const std::string& message) {
  return json{{"timestamp", "2024-01-01T00:00:00Z"},
              {"user_id", k_username},
              {"modifications", json::array({json{{"message", message}}})}};
}

json document_field(const result_flags& fl, int doc, int index, const std::string& name,
                    const std::string& value, const std::string& type,
                    const std::optional<std::string>& error_msg) {
  json f{{"field_name", name}, {"value", value}, {"type", type}};
  if (error_msg) f["error_msg"] = *error_msg;
  if (fl.source) {
    const double top = 72.0 + 24.0 * index;
    f["source_coordinates"] = json::array({json{{"top_x", 72.0},
                                                {"top_y", top},
                                                {"bottom_x", 300.5},
                                                {"bottom_y", top + 12.0},
                                                {"page_number", doc}}});
  }
  if (fl.review) {
    f["edit_history"] =
        index == 0 ? json::array({modification("Value confirmed by reviewer")}) : json::array();
  }
  if (fl.confidence) {
    f["confidence"] = json{{"model", error_msg ? 0.25 : 0.95}, {"ocr", 0.99}};
  }
  if (fl.validation) {
    if (error_msg) {
      f["validations"] = json{{"valid", false},
                              {"alerts", json::array({json{{"alert_level", "FAILURE"},
                                                           {"msg", "Value failed validation"},
                                                           {"blocked", false},
                                                           {"type", "simulated"},
                                                           {"locations", json::array()}}})}};
    } else {
      f["validations"] = json{{"valid", true}, {"alerts", json::array()}};
    }
  }
  return f;
}

json file_result(const run_record& r, const run_file& file, const result_flags& fl) {
  const std::string input_path = r.batch_path + "/" + file.name;
  bool pdf = false;
  if (r.settings.is_object() && r.settings.contains("runtime_config")) {
    const json& rc = r.settings["runtime_config"];
    pdf = rc.is_object() && rc.contains("generate_post_process_pdf") &&
          rc["generate_post_process_pdf"].is_boolean() &&
          rc["generate_post_process_pdf"].get<bool>();
  }
  json documents = json::array();
  for (int doc = 0; doc < 2; ++doc) {
    json fields = json::array();
    if (doc == 0) {
      fields.push_back(document_field(fl, doc, 0, "file_name", file.name, "TEXT", std::nullopt));
      fields.push_back(
          document_field(fl, doc, 1, "file_size", std::to_string(file.size), "INT", std::nullopt));
      fields.push_back(
          document_field(fl, doc, 2, "content_sha256", file.sha256_hex, "TEXT", std::nullopt));
    } else {
      fields.push_back(document_field(fl, doc, 0, "document_index", "1", "INT", std::nullopt));
      fields.push_back(document_field(fl, doc, 1, "total_amount", "ERROR", "TEXT",
                                      std::string("Simulated extraction error")));
    }
    json d{{"fields", std::move(fields)},
           {"class_name", doc == 0 ? "invoice" : "receipt"},
           {"page_numbers", doc == 0 ? json::array({0}) : json::array({1, 2})}};
    if (fl.review) {
      d["review_completed"] = true;
      d["class_edit_history"] = json::array({modification("Class confirmed by reviewer")});
    }
    if (fl.validation) d["validations"] = json{{"final_result_pass", doc == 0}};
    if (fl.confidence) d["classification_confidence"] = json{{"model", doc == 0 ? 0.97 : 0.61}};
    if (fl.source) {
      const std::string processed =
          r.batch_path + "/.processed/" + file.name + ".doc" + std::to_string(doc);
      d["post_processed_paths"] = json::array({processed});
      if (pdf) d["post_processed_pdf_path"] = processed + ".pdf";
      json layouts = json::array();
      for (const auto& page : d["page_numbers"]) {
        layouts.push_back(json{{"page_number", page}, {"width", 612.0}, {"height", 792.0}});
      }
      d["page_layouts"] = std::move(layouts);
    }
    documents.push_back(std::move(d));
  }
  return json{{"original_file_name", file.name},
              {"input_file_path", input_path},
              {"documents", std::move(documents)}};
}

}  // namespace

json simulator::impl::run_json(const run_record& r) const {
  const auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  json tags = nullptr;
  if (r.tags) tags = *r.tags;
  return json{{"id", r.id},
              {"status", r.status},
              {"start_timestamp", r.start_ns},
              {"finish_timestamp", r.finish_ns ? json(*r.finish_ns) : json(nullptr)},
              {"msg", r.msg},
              {"batch_id", r.batch_id ? json(*r.batch_id) : json(nullptr)},
              {"input_dir", opt(r.input_dir)},
              {"app_id", opt(r.app_id)},
              {"deployment_id", opt(r.deployment_id)},
              {"tags", std::move(tags)}};
}

run_record* simulator::impl::find_run(const std::string& id) {
  const auto it = runs.find(id);
  return it == runs.end() ? nullptr : &it->second;
}

void simulator::impl::advance_run(run_record& r) {
  if (r.status != "RUNNING") return;
  ++r.polls;
  if (r.polls <= r.running_polls) return;
  r.status = r.final_status;
  r.msg = message_for(r.status);
  r.finish_ns = std::max(odd_timestamp_ns(), r.start_ns + 2);
}

void simulator::impl::create_run(call& c, bool deployment) {
  std::optional<std::string> deployment_id;
  if (deployment) {
    deployment_id = path_param(c, 0, "deployment-id");
    if (!deployment_id) return;
    if (deployment_id->empty() || !decode_utf8(*deployment_id)) {
      return error(c, 400, "deployment-id must be a non-empty UTF-8 string");
    }
  }
  json body;
  if (!read_json_object(c, body)) return;

  run_record r;
  std::string problem;
  if (!optional_string(body, "input_dir", r.input_dir, problem) ||
      !optional_string(body, "version", r.version, problem) ||
      !optional_string(body, "output_dir", r.output_dir, problem)) {
    return error(c, 400, problem);
  }
  if (!deployment) {
    if (!optional_string(body, "app_name", r.app_name, problem) ||
        !optional_string(body, "app_id", r.app_id, problem) ||
        !optional_string(body, "owner", r.owner, problem) ||
        !optional_string(body, "output_workspace", r.output_workspace, problem)) {
      return error(c, 400, problem);
    }
    if (r.app_name.has_value() == r.app_id.has_value()) {
      return error(c, 400, "exactly one of app_name and app_id is required");
    }
  }
  if (const auto it = body.find("batch_id"); it != body.end() && !it->is_null()) {
    r.batch_id = json_int64(*it);
    if (!r.batch_id || *r.batch_id <= 0) return error(c, 400, "batch_id must be an integer");
  }
  bool manual = false;
  if (deployment) {
    if (const auto it = body.find("manual_upstream_integration");
        it != body.end() && !it->is_null()) {
      if (!it->is_boolean()) return error(c, 400, "manual_upstream_integration must be a boolean");
      manual = it->get<bool>();
    }
    for (const char* key : {"from_timestamp", "to_timestamp"}) {
      if (const auto it = body.find(key); it != body.end() && !it->is_null() && !it->is_number()) {
        return error(c, 400, std::string(key) + " must be a number");
      }
    }
  }
  const int inputs = int{r.batch_id.has_value()} + int{r.input_dir.has_value()} + int{manual};
  if (inputs != 1) {
    return error(c, 400,
                 deployment
                     ? "exactly one of batch_id, input_dir and manual_upstream_integration is "
                       "required"
                     : "exactly one of batch_id and input_dir is required");
  }
  if (const auto it = body.find("settings"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return error(c, 400, "settings must be an object");
    r.settings = *it;
  }
  // The spec places tags under settings; accept a top-level list as well.
  std::vector<std::string> tags;
  bool has_tags = false;
  if (const auto it = body.find("tags"); it != body.end() && !it->is_null()) {
    if (!read_tags(*it, tags, problem)) return error(c, 400, problem);
    has_tags = true;
  }
  if (r.settings.is_object() && r.settings.contains("tags") && !r.settings["tags"].is_null()) {
    if (!read_tags(r.settings["tags"], tags, problem)) return error(c, 400, problem);
    has_tags = true;
  }
  if (has_tags) {
    std::size_t total = 0;
    for (const auto& t : tags) total += decode_utf8(t)->size();
    if (total > 500) {
      return error(c, 400, "combined length of all tags must not exceed 500 characters");
    }
    r.tags = std::move(tags);
  }
  r.deployment_id = deployment_id;

  std::lock_guard<std::mutex> lock(mu);
  if (r.batch_id) {
    const auto bit = batches.find(*r.batch_id);
    if (bit == batches.end()) {
      return error(c, 404, "batch " + std::to_string(*r.batch_id) + " not found");
    }
    r.batch_path = batch_path(bit->second);
    for (const auto& [name, f] : bit->second.files) {
      r.files.push_back(run_file{name, f.size, f.sha256_hex});
    }
  }
  if (cfg.run_quota) {
    if (*cfg.run_quota == 0) {
      return error(c, 403, "consumption units exhausted: no runs can be started");
    }
    --*cfg.run_quota;
  }
  r.seq = next_seq++;
  r.id = random_uuid();
  r.start_ns = odd_timestamp_ns();
  r.running_polls = cfg.run_running_polls;
  r.final_status = cfg.run_final_status;
  const json out = run_json(r);
  runs.emplace(r.id, std::move(r));
  reply(c, deployment ? 202 : 200, out);
}

void simulator::impl::get_run(call& c) {
  const auto id = path_param(c, 0, "run_id");
  if (!id) return;
  std::lock_guard<std::mutex> lock(mu);
  run_record* r = find_run(*id);
  if (r == nullptr) return error(c, 404, "run not found");
  advance_run(*r);
  reply(c, 200, run_json(*r));
}

void simulator::impl::list_runs(call& c) {
  std::optional<std::uint64_t> limit;
  std::optional<std::uint64_t> offset;
  if (!query_u64(c, "limit", limit) || !query_u64(c, "offset", offset)) return;
  const std::int64_t now = unix_s();
  std::int64_t from = now - 24 * 3600;
  std::int64_t to = now;
  const std::array<std::pair<const char*, std::int64_t*>, 2> bounds{
      {{"from_timestamp", &from}, {"to_timestamp", &to}}};
  for (const auto& [name, target] : bounds) {
    if (!c.req.has_param(name)) continue;
    const auto v = parse_i64(c.req.get_param_value(name));
    if (!v) return error(c, 400, std::string(name) + " must be an integer (Unix seconds)");
    *target = *v;
  }
  std::string sort_by = "start_timestamp";
  if (c.req.has_param("sort_by")) sort_by = c.req.get_param_value("sort_by");
  if (sort_by != "start_timestamp" && sort_by != "status") {
    return error(c, 400, "sort_by must be start_timestamp or status");
  }
  std::string order = "DESCENDING";
  if (c.req.has_param("order")) order = c.req.get_param_value("order");
  if (order != "ASCENDING" && order != "DESCENDING") {
    return error(c, 400, "order must be ASCENDING or DESCENDING");
  }
  const auto statuses = multi_param(c.req, "status");
  const auto workspaces = multi_param(c.req, "output_workspaces");
  const auto text_filter = [&](const char* name, const std::optional<std::string>& value) {
    return !c.req.has_param(name) || (value && *value == c.req.get_param_value(name));
  };

  std::lock_guard<std::mutex> lock(mu);
  std::vector<const run_record*> matched;
  for (const auto& [id, r] : runs) {
    const std::int64_t start_s = r.start_ns / 1000000000;
    if (start_s < from || start_s > to) continue;
    if (!text_filter("app_id", r.app_id) || !text_filter("app_name", r.app_name) ||
        !text_filter("deployment_id", r.deployment_id) ||
        !text_filter("username", std::optional<std::string>(r.username)) ||
        !text_filter("run_id", std::optional<std::string>(r.id))) {
      continue;
    }
    if (!statuses.empty() && statuses.count(r.status) == 0) continue;
    const std::string ws = r.output_workspace ? *r.output_workspace : "personal";
    if (!workspaces.empty() && workspaces.count(ws) == 0) continue;
    matched.push_back(&r);
  }
  const bool ascending = order == "ASCENDING";
  std::sort(matched.begin(), matched.end(), [&](const run_record* a, const run_record* b) {
    if (sort_by == "status" && a->status != b->status) {
      return ascending ? a->status < b->status : a->status > b->status;
    }
    if (a->start_ns != b->start_ns) {
      return ascending ? a->start_ns < b->start_ns : a->start_ns > b->start_ns;
    }
    return ascending ? a->seq < b->seq : a->seq > b->seq;
  });
  json list = json::array();
  const std::uint64_t first = offset ? *offset : 0;
  for (std::size_t i = first; i < matched.size(); ++i) {
    if (limit && list.size() >= *limit) break;
    list.push_back(run_json(*matched[i]));
  }
  reply(c, 200, json{{"runs", std::move(list)}});
}

void simulator::impl::delete_run(call& c) {
  const auto id = path_param(c, 0, "run_id");
  if (!id) return;
  bool db = true;
  bool input = true;
  bool output = true;
  bool logs = true;
  if (!query_bool(c, "delete_db_data", true, db) || !query_bool(c, "delete_input", true, input) ||
      !query_bool(c, "delete_output", true, output) || !query_bool(c, "delete_logs", true, logs)) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu);
  run_record* r = find_run(*id);
  if (r == nullptr) return error(c, 404, "run not found");
  json out = json::object();
  out["delete_input_dir_job_id"] = input ? json(new_job("delete_run_input", *id)) : json(nullptr);
  out["delete_output_dir_job_id"] =
      output ? json(new_job("delete_run_output", *id)) : json(nullptr);
  out["delete_log_dir_job_id"] = logs ? json(new_job("delete_run_logs", *id)) : json(nullptr);
  // Per the spec, deleting a run's input also deletes the batch it processed.
  if (input && r->batch_id) remove_batch(*r->batch_id);
  if (db) runs.erase(*id);
  reply(c, 202, out);
}

void simulator::impl::run_results(call& c) {
  const auto id = path_param(c, 0, "run_id");
  if (!id) return;
  result_flags fl;
  if (!query_bool(c, "include_review_results", false, fl.review) ||
      !query_bool(c, "include_confidence_scores", false, fl.confidence) ||
      !query_bool(c, "include_validation_results", false, fl.validation) ||
      !query_bool(c, "include_source_info", false, fl.source)) {
    return;
  }
  std::optional<std::uint64_t> file_offset;
  if (!query_u64(c, "file_offset", file_offset)) return;
  const std::uint64_t first = file_offset ? *file_offset : 0;

  std::lock_guard<std::mutex> lock(mu);
  const run_record* r = find_run(*id);
  if (r == nullptr) return error(c, 404, "run not found");
  json out{{"id", r->id},
           {"status", r->status},
           {"message", r->msg},
           {"start_timestamp", r->start_ns},
           {"finish_timestamp", r->finish_ns ? json(*r->finish_ns) : json(nullptr)}};
  // The real API's quirk: batch_id is an integer in a run but a string in its results.
  if (r->batch_id) out["batch_id"] = std::to_string(*r->batch_id);
  json files = json::array();
  bool has_more = false;
  // Results exist only once the run has finished; a running run has no files yet.
  if (r->status != "RUNNING") {
    const std::uint64_t total = r->files.size();
    std::uint64_t i = first;
    for (; i < total && files.size() < cfg.results_page_size; ++i) {
      files.push_back(file_result(*r, r->files[i], fl));
    }
    has_more = i < total;
  }
  out["files"] = std::move(files);
  json custom = json::object();
  if (r->settings.is_object() && r->settings.contains("keys") && r->settings["keys"].is_object() &&
      r->settings["keys"].contains("custom") && r->settings["keys"]["custom"].is_object()) {
    custom = r->settings["keys"]["custom"];
  }
  out["keys"] = json{{"custom", std::move(custom)}};
  json case_field{{"name", "file_count"}, {"value", std::to_string(r->files.size())}};
  if (fl.review) case_field["edit_history"] = json::array();
  if (fl.validation) case_field["validations"] = json{{"valid", true}, {"failures", json::array()}};
  out["case_info"] = json{{"fields", json::array({std::move(case_field)})}};
  if (fl.review) out["review_completed"] = r->status == "COMPLETE";
  out["has_more"] = has_more;
  reply(c, 200, out);
}

}  // namespace aihub_sim
