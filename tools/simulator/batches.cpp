// Batches, batch files, multipart upload sessions and file-operation jobs.
#include <algorithm>
#include <limits>

#include "sim_util.hpp"
#include "simulator_impl.hpp"

namespace aihub_sim {
namespace {

constexpr std::string_view k_session_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

// Reserve at most this much up front from a Content-Length header (growth handles the rest),
// so a lying header cannot make the simulator allocate a huge buffer.
constexpr std::uint64_t k_max_reserve = 64u * 1024u * 1024u;

std::uint64_t declared_length(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return 0;
  const auto len = parse_u64(req.get_header_value("Content-Length"));
  return len ? std::min(*len, k_max_reserve) : 0;
}

}  // namespace

json simulator::impl::batch_info_json(const batch_record& b) const {
  return json{{"id", b.id},
              {"name", b.name},
              {"workspace", b.workspace},
              {"mount_point", k_mount_point},
              {"repo_owner", b.owner},
              {"batch_owner", b.owner},
              {"created_at_ms", b.created_ms},
              {"updated_at_ms", b.updated_ms},
              {"path_suffix", "batches/" + std::to_string(b.id)}};
}

void simulator::impl::remove_batch(std::int64_t id) {
  batches.erase(id);
  for (auto it = sessions.begin(); it != sessions.end();) {
    if (it->second.batch_id == id) {
      it = sessions.erase(it);
    } else {
      ++it;
    }
  }
}

void simulator::impl::create_batch(call& c) {
  json body;
  if (!read_json_object(c, body)) return;
  const auto name = body.find("name");
  if (name == body.end() || !name->is_string()) {
    return error(c, 400, "name is required and must be a string");
  }
  if (const auto problem = validate_batch_name(name->get<std::string>())) {
    return error(c, 400, *problem);
  }
  std::string workspace = "personal";
  if (const auto ws = body.find("workspace"); ws != body.end() && !ws->is_null()) {
    if (!ws->is_string() || ws->get<std::string>().empty()) {
      return error(c, 400, "workspace must be a non-empty string");
    }
    if (!decode_utf8(ws->get<std::string>())) return error(c, 400, "workspace must be UTF-8");
    workspace = ws->get<std::string>();
  }
  std::lock_guard<std::mutex> lock(mu);
  batch_record b;
  b.id = next_batch_id++;
  b.name = name->get<std::string>();
  b.workspace = std::move(workspace);
  b.owner = k_username;
  b.created_ms = unix_ms();
  b.updated_ms = b.created_ms;
  const auto id = b.id;
  batches.emplace(id, std::move(b));
  reply(c, 200, json{{"id", id}});
}

void simulator::impl::list_batches(call& c) {
  std::optional<std::uint64_t> limit;
  std::optional<std::uint64_t> offset;
  if (!query_u64(c, "limit", limit) || !query_u64(c, "offset", offset)) return;
  const bool by_ws = c.req.has_param("workspace");
  const std::string ws = c.req.get_param_value("workspace");
  const bool by_user = c.req.has_param("username");
  const std::string user = c.req.get_param_value("username");
  std::lock_guard<std::mutex> lock(mu);
  json list = json::array();
  std::uint64_t skipped = 0;
  for (const auto& [id, b] : batches) {
    if (by_ws && b.workspace != ws) continue;
    if (by_user && b.owner != user) continue;
    if (offset && skipped < *offset) {
      ++skipped;
      continue;
    }
    if (limit && list.size() >= *limit) break;
    list.push_back(batch_info_json(b));
  }
  reply(c, 200, json{{"batches", std::move(list)}});
}

void simulator::impl::get_batch(call& c) {
  const auto id = path_batch_id(c, 0);
  if (!id) return;
  std::lock_guard<std::mutex> lock(mu);
  const auto it = batches.find(*id);
  if (it == batches.end()) return error(c, 404, "batch " + std::to_string(*id) + " not found");
  reply(c, 200, batch_info_json(it->second));
}

// The batch disappears immediately; the returned job then reports PENDING, RUNNING and
// COMPLETE on successive polls (counts configurable via /_sim/config).
void simulator::impl::delete_batch(call& c) {
  const auto id = path_batch_id(c, 0);
  if (!id) return;
  std::lock_guard<std::mutex> lock(mu);
  if (batches.find(*id) == batches.end()) {
    return error(c, 404, "batch " + std::to_string(*id) + " not found");
  }
  remove_batch(*id);
  reply(c, 202, json{{"job_id", new_job("delete_batch", std::to_string(*id))}});
}

void simulator::impl::list_files(call& c) {
  const auto id = path_batch_id(c, 0);
  if (!id) return;
  std::optional<std::uint64_t> page_size;
  if (!query_u64(c, "page_size", page_size)) return;
  if (page_size && *page_size == 0) return error(c, 400, "page_size must be at least 1");
  std::optional<std::string> after;
  if (c.req.has_param("start_token")) {
    after = parse_page_token(*id, c.req.get_param_value("start_token"));
    if (!after) return error(c, 400, "unknown start_token");
  }
  std::lock_guard<std::mutex> lock(mu);
  const auto bit = batches.find(*id);
  if (bit == batches.end()) return error(c, 404, "batch " + std::to_string(*id) + " not found");
  const batch_record& b = bit->second;
  const std::uint64_t limit = page_size ? *page_size : cfg.page_size;
  auto it = after ? b.files.upper_bound(*after) : b.files.begin();
  json nodes = json::array();
  std::string last;
  for (; it != b.files.end() && nodes.size() < limit; ++it) {
    const auto& [name, f] = *it;
    nodes.push_back(
        json{{"full_path", batch_path(b) + "/" + name},
             {"metadata",
              {{"node_type", "file"}, {"size", f.size}, {"modified_timestamp", f.modified_s}}},
             {"perms", {{"can_read", true}, {"can_write", true}, {"can_delete", true}}},
             {"name", name}});
    last = name;
  }
  const bool has_more = it != b.files.end();
  json out{{"nodes", std::move(nodes)}};
  if (has_more) out["next_page_token"] = make_page_token(*id, last);
  out["has_more"] = has_more;
  reply(c, 200, out);
}

void simulator::impl::add_file(call& c) {
  const auto id = path_batch_id(c, 0);
  if (!id) return;
  const auto name = path_param(c, 1, "filename");
  if (!name) return;
  if (const auto problem = validate_filename(*name)) return error(c, 400, *problem);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (batches.find(*id) == batches.end()) {
      return error(c, 404, "batch " + std::to_string(*id) + " not found");
    }
  }
  // Stream the body outside the lock: uploads may be large and slow.
  stored_file f;
  f.content_kept = !opts.discard_content;
  if (f.content_kept) f.content.reserve(declared_length(c.req));
  sha256 hash;
  const bool complete = stream_body(c, [&](const char* data, std::size_t size) {
    hash.update(data, size);
    f.size += size;
    if (f.content_kept) f.content.append(data, size);
    return true;
  });
  if (!complete) {
    // The body was aborted or truncated: never store a partial file.
    return error(c, 400, "request body was not received completely; file not stored");
  }
  f.sha256_hex = hash.hex();
  f.modified_s = unix_s();
  std::lock_guard<std::mutex> lock(mu);
  const auto bit = batches.find(*id);
  if (bit == batches.end()) return error(c, 404, "batch " + std::to_string(*id) + " not found");
  bit->second.files[*name] = std::move(f);
  bit->second.updated_ms = unix_ms();
  reply_empty(c, 204);
}

void simulator::impl::delete_file(call& c) {
  const auto id = path_batch_id(c, 0);
  if (!id) return;
  const auto name = path_param(c, 1, "filename");
  if (!name) return;
  std::lock_guard<std::mutex> lock(mu);
  const auto bit = batches.find(*id);
  if (bit == batches.end()) return error(c, 404, "batch " + std::to_string(*id) + " not found");
  if (bit->second.files.erase(*name) == 0) {
    return error(c, 404, "file not found in batch " + std::to_string(*id));
  }
  bit->second.updated_ms = unix_ms();
  reply_empty(c, 202);
}

void simulator::impl::create_session(call& c) {
  json body;
  if (!read_json_object(c, body)) return;
  const auto bid = body.contains("batch_id") ? json_int64(body["batch_id"]) : std::nullopt;
  if (!bid || *bid <= 0) return error(c, 400, "batch_id is required and must be an integer");
  if (!body.contains("filename") || !body["filename"].is_string()) {
    return error(c, 400, "filename is required and must be a string");
  }
  const std::string filename = body["filename"].get<std::string>();
  if (const auto problem = validate_filename(filename)) return error(c, 400, *problem);
  std::optional<std::uint64_t> file_size;
  if (body.contains("file_size")) {
    const json& fs = body["file_size"];
    if (fs.is_string()) {
      file_size = parse_u64(fs.get<std::string>());
    } else if (const auto v = json_int64(fs); v && *v >= 0) {
      file_size = static_cast<std::uint64_t>(*v);
    } else if (fs.is_number_unsigned()) {
      file_size = fs.get<std::uint64_t>();
    }
  }
  if (!file_size) {
    return error(c, 400, "file_size is required and must be an integer or a numeric string");
  }
  if (*file_size < 1) return error(c, 400, "file_size must be at least 1");

  std::lock_guard<std::mutex> lock(mu);
  if (batches.find(*bid) == batches.end()) {
    return error(c, 404, "batch " + std::to_string(*bid) + " not found");
  }
  upload_session s;
  s.seq = next_seq++;
  s.id = random_token(96, k_session_alphabet);
  s.batch_id = *bid;
  s.filename = filename;
  s.file_size = *file_size;
  s.part_size = cfg.part_size;
  const std::string id = s.id;
  const auto part_size = s.part_size;
  sessions.emplace(id, std::move(s));
  c.res.set_header("Location", "http://127.0.0.1:" + std::to_string(port) + opts.prefix +
                                   "/v2/batches/multipart-upload/sessions/" + id);
  reply(c, 201, json{{"session_id", id}, {"part_size", part_size}});
}

void simulator::impl::upload_part_op(call& c) {
  const auto session_id = path_param(c, 0, "session_id");
  if (!session_id) return;
  const auto part_num = parse_u64(c.params.at(1));
  if (!part_num || *part_num == 0) return error(c, 400, "part_num must be a positive integer");

  std::uint64_t version = 0;
  std::uint64_t limit = 0;
  std::uint64_t part_size = 0;
  bool replace = false;
  sha256 hash;
  {
    std::lock_guard<std::mutex> lock(mu);
    const auto it = sessions.find(*session_id);
    if (it == sessions.end()) {
      return error(c, 404, "multipart upload session not found or already closed");
    }
    const upload_session& s = it->second;
    const std::uint64_t n = s.parts.size();
    if (*part_num == n + 1) {
      if (n > 0 && s.parts.back().size < s.part_size) {
        return error(c, 400,
                     "part " + std::to_string(n) + " was shorter than part_size (" +
                         std::to_string(s.part_size) +
                         " bytes), so it had to be the last part; re-upload it in full first");
      }
      hash = s.hash_all;
    } else if (n > 0 && *part_num == n) {
      replace = true;  // a retry of the most recent part replaces it
      hash = s.hash_before_last;
    } else {
      return error(c, 400,
                   "parts must be uploaded with consecutive part numbers starting at 1: expected " +
                       std::to_string(n + 1) +
                       (n > 0 ? " (or " + std::to_string(n) + " to replace the last part)" : "") +
                       ", got " + std::to_string(*part_num));
    }
    std::uint64_t before = 0;
    for (std::uint64_t i = 0; i + 1 < *part_num; ++i) before += s.parts[i].size;
    if (before >= s.file_size) {
      return error(
          c, 400,
          "all " + std::to_string(s.file_size) + " bytes of file_size were already uploaded");
    }
    part_size = s.part_size;
    limit = std::min(s.part_size, s.file_size - before);
    version = s.version;
  }

  upload_part part;
  part.num = *part_num;
  bool overflow = false;
  const bool keep = !opts.discard_content;
  if (keep) part.content.reserve(std::min(limit, declared_length(c.req)));
  const bool complete = stream_body(c, [&](const char* data, std::size_t size) {
    if (overflow || part.size + size > limit) {
      overflow = true;  // keep reading (and discarding) so the error reply arrives cleanly
      part.size += size;
      return true;
    }
    part.size += size;
    hash.update(data, size);
    if (keep) part.content.append(data, size);
    return true;
  });
  if (!complete) {
    return error(c, 400, "request body was not received completely; part not stored");
  }
  if (overflow) {
    if (part.size > part_size) {
      return error(c, 400,
                   "part is " + std::to_string(part.size) + " bytes, larger than part_size " +
                       std::to_string(part_size));
    }
    return error(c, 400, "part would make the upload larger than file_size");
  }
  if (part.size == 0) return error(c, 400, "a part must not be empty");

  std::lock_guard<std::mutex> lock(mu);
  const auto it = sessions.find(*session_id);
  if (it == sessions.end()) {
    return error(c, 404, "multipart upload session not found or already closed");
  }
  upload_session& s = it->second;
  if (s.version != version) {
    return error(c, 409, "the session changed while this part was uploading; retry the part");
  }
  part.id = "part-" + random_token(24, "0123456789abcdef");
  const std::string part_id = part.id;
  if (replace) {
    s.parts.back() = std::move(part);
  } else {
    s.hash_before_last = s.hash_all;
    s.parts.push_back(std::move(part));
  }
  s.hash_all = hash;
  ++s.version;
  reply(c, 201, json{{"part_id", part_id}, {"part_num", *part_num}});
}

void simulator::impl::commit_session(call& c) {
  const auto session_id = path_param(c, 0, "session_id");
  if (!session_id) return;
  json body;
  if (!read_json_object(c, body)) return;
  if (!body.contains("action") || !body["action"].is_string()) {
    return error(c, 400, "action is required: commit or abort");
  }
  const std::string action = body["action"].get<std::string>();
  if (action != "commit" && action != "abort") {
    return error(c, 400, "action must be commit or abort");
  }

  upload_session closed;
  {
    std::lock_guard<std::mutex> lock(mu);
    const auto it = sessions.find(*session_id);
    if (it == sessions.end()) {
      return error(c, 404, "multipart upload session not found or already closed");
    }
    if (action == "abort") {
      sessions.erase(it);
      return reply_empty(c, 201);
    }
    const upload_session& s = it->second;
    if (!body.contains("parts") || !body["parts"].is_array()) {
      return error(c, 400, "parts is required when action is commit");
    }
    const json& listed = body["parts"];
    if (listed.size() != s.parts.size()) {
      return error(c, 400,
                   "parts lists " + std::to_string(listed.size()) + " parts but " +
                       std::to_string(s.parts.size()) + " were uploaded");
    }
    for (std::size_t i = 0; i < listed.size(); ++i) {
      const json& p = listed[i];
      const auto num =
          p.is_object() && p.contains("part_num") ? json_int64(p["part_num"]) : std::nullopt;
      if (!num || *num != static_cast<std::int64_t>(i + 1)) {
        return error(c, 400,
                     "parts[" + std::to_string(i) + "].part_num must be " + std::to_string(i + 1) +
                         " (all parts, in order)");
      }
      if (!p.contains("part_id") || !p["part_id"].is_string() ||
          p["part_id"].get<std::string>() != s.parts[i].id) {
        return error(c, 400,
                     "parts[" + std::to_string(i) + "].part_id does not match the uploaded part " +
                         std::to_string(i + 1));
      }
    }
    if (s.total() != s.file_size) {
      return error(c, 400,
                   "uploaded " + std::to_string(s.total()) + " bytes but file_size is " +
                       std::to_string(s.file_size));
    }
    if (batches.find(s.batch_id) == batches.end()) {
      return error(c, 404, "batch " + std::to_string(s.batch_id) + " not found");
    }
    closed = std::move(it->second);
    sessions.erase(it);
  }

  // Assemble outside the lock; hash the assembled bytes themselves (not the running hash) so
  // the digest in /_sim/state proves the stored file is byte-identical to what was sent.
  stored_file f;
  f.size = closed.file_size;
  f.content_kept = !opts.discard_content;
  if (f.content_kept) {
    f.content.reserve(closed.file_size);
    for (auto& p : closed.parts) {
      f.content += p.content;
      std::string().swap(p.content);
    }
    f.sha256_hex = sha256::hex_of(f.content);
  } else {
    f.sha256_hex = closed.hash_all.hex();
  }
  f.modified_s = unix_s();
  std::lock_guard<std::mutex> lock(mu);
  const auto bit = batches.find(closed.batch_id);
  if (bit == batches.end()) {
    return error(c, 404, "batch " + std::to_string(closed.batch_id) + " not found");
  }
  bit->second.files[closed.filename] = std::move(f);
  bit->second.updated_ms = unix_ms();
  reply_empty(c, 201);
}

void simulator::impl::poll_job(call& c) {
  const auto job_id = path_param(c, 0, "job_id");
  if (!job_id) return;
  std::lock_guard<std::mutex> lock(mu);
  const auto it = jobs.find(*job_id);
  if (it == jobs.end()) return error(c, 404, "job not found");
  job_record& j = it->second;
  ++j.polls;
  const std::string state = j.state_at(j.polls);
  std::string message;
  if (state == "PENDING") {
    message = "Job is queued";
  } else if (state == "RUNNING") {
    message = "Job is running";
  } else {
    message = "Job completed successfully";
  }
  reply(c, 200, json{{"state", state}, {"message", message}});
}

}  // namespace aihub_sim
