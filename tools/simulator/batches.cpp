// Batches, batch files, multipart upload sessions and file-operation jobs.
#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

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

std::string num(std::uint64_t n) {
  return std::to_string(n);
}

// --strict-part-order: a strict session always holds exactly parts 1..n; the next part is
// n + 1, and only part n (the most recent) may be re-sent.
std::optional<std::string> strict_order_problem(const upload_session& s, std::uint64_t part) {
  const std::uint64_t n = s.parts.size();
  if (part == n + 1 || (n > 0 && part == n)) return std::nullopt;
  return "parts must be uploaded with consecutive part numbers starting at 1 (the simulator "
         "runs with --strict-part-order): expected " +
         num(n + 1) + (n > 0 ? " (or " + num(n) + " to replace the most recent part)" : "") +
         ", got " + num(part);
}

std::string part_size_problem(const upload_session& s, std::uint64_t part, std::uint64_t got) {
  const std::uint64_t count = s.part_count();
  const std::uint64_t want = s.expected_size(part);
  std::string out = "part " + num(part) + " is " + num(got) + " bytes";
  if (got == 0) out = "part " + num(part) + " is empty";
  if (part < count) {
    return out + "; every part except the last must be exactly part_size (" + num(want) + " bytes)";
  }
  return out + "; the last part (" + num(part) + " of " + num(count) + ") must be exactly " +
         num(want) + " bytes, the rest of file_size " + num(s.file_size);
}

}  // namespace

// Marks one part number of a session as being received, so a second upload of the same part
// number at the same time is refused (409) while other part numbers proceed in parallel.
// hold() sets the mark's flag once the part number is inserted (under the lock); release()
// (under the lock) or else the destructor removes it again.
class simulator::impl::part_upload_mark {
 public:
  part_upload_mark(impl& self, std::string session_id, std::uint64_t part)
      : self_(self), session_id_(std::move(session_id)), part_(part) {}
  part_upload_mark(const part_upload_mark&) = delete;
  part_upload_mark& operator=(const part_upload_mark&) = delete;
  void hold() noexcept { held_ = true; }  // needs mu; after inserting into `uploading`
  ~part_upload_mark() {
    if (!held_) return;
    std::lock_guard<std::mutex> lock(self_.mu);
    release();
  }
  void release() {  // needs mu
    if (!held_) return;
    held_ = false;
    if (const auto it = self_.sessions.find(session_id_); it != self_.sessions.end()) {
      it->second.uploading.erase(part_);
    }
  }

 private:
  impl& self_;
  std::string session_id_;
  std::uint64_t part_;
  bool held_ = false;
};

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
  s.strict_order = cfg.strict_part_order;
  const std::string id = s.id;
  const auto part_size = s.part_size;
  sessions.emplace(id, std::move(s));
  c.res.set_header("Location", "http://127.0.0.1:" + std::to_string(port) + opts.prefix +
                                   "/v2/batches/multipart-upload/sessions/" + id);
  reply(c, 201, json{{"session_id", id}, {"part_size", part_size}});
}

// Parts may arrive in any order (clients upload several at once and retry each on its own):
// the spec's "consecutive part numbers starting at 1" is checked on the set of parts at commit.
// Each part number must be within 1..part_count() and each part exactly its expected size.
// Re-uploading a part number replaces that part and issues a new part_id. With
// --strict-part-order the arrival order is enforced as well (next part, or the most recent one
// again).
void simulator::impl::upload_part_op(call& c) {
  const auto session_id = path_param(c, 0, "session_id");
  if (!session_id) return;
  const auto part_num = parse_u64(c.params.at(1));
  if (!part_num || *part_num == 0) return error(c, 400, "part_num must be a positive integer");
  const std::uint64_t part = *part_num;

  std::uint64_t expected = 0;
  part_upload_mark mark(*this, *session_id, part);
  {
    std::lock_guard<std::mutex> lock(mu);
    const auto it = sessions.find(*session_id);
    if (it == sessions.end()) {
      return error(c, 404, "multipart upload session not found or already closed");
    }
    upload_session& s = it->second;
    if (part > s.part_count()) {
      return error(c, 400,
                   "part_num " + num(part) + " is beyond the last part: file_size " +
                       num(s.file_size) + " in parts of part_size " + num(s.part_size) + " makes " +
                       num(s.part_count()) + " parts");
    }
    if (s.strict_order) {
      if (const auto problem = strict_order_problem(s, part)) return error(c, 400, *problem);
    }
    if (!s.uploading.insert(part).second) {
      return error(c, 409,
                   "part " + num(part) +
                       " of this session is already being uploaded by another request; retry "
                       "once that request has finished");
    }
    mark.hold();
    expected = s.expected_size(part);
  }

  // Receive the body outside the lock. With --discard-content the bytes are still kept until
  // the part is folded into the running hash; its own digest is taken as it streams.
  upload_part received;
  received.num = part;
  const bool discard = opts.discard_content;
  sha256 part_hash;
  bool overflow = false;
  received.content.reserve(std::min(expected, declared_length(c.req)));
  const bool complete = stream_body(c, [&](const char* data, std::size_t size) {
    received.size += size;
    if (overflow || received.size > expected) {
      overflow = true;  // keep reading (and discarding) so the error reply arrives cleanly
      return true;
    }
    if (discard) part_hash.update(data, size);
    received.content.append(data, size);
    return true;
  });
  if (!complete) {
    return error(c, 400, "request body was not received completely; part not stored");
  }

  std::unique_lock<std::mutex> lock(mu);
  mark.release();
  const auto it = sessions.find(*session_id);
  if (it == sessions.end()) {
    return error(c, 404, "multipart upload session not found or already closed");
  }
  upload_session& s = it->second;
  if (received.size != expected) return error(c, 400, part_size_problem(s, part, received.size));
  if (s.strict_order) {
    // Another part landed while this one was streaming (e.g. part n + 1 while part n was
    // being re-sent).
    if (const auto problem = strict_order_problem(s, part)) {
      return error(c, 409, "the session changed while this part was uploading: " + *problem);
    }
  }
  if (discard) {
    received.sha256_hex = part_hash.hex();
    if (part <= s.folded) {
      // Already part of the running hash: only the very same bytes can be accepted again.
      const upload_part& old = s.parts.at(part);
      if (old.sha256_hex != received.sha256_hex) {
        return error(c, 409,
                     "part " + num(part) +
                         " was already folded into the file's running SHA-256 "
                         "(--discard-content keeps no bytes of folded parts), so it can only be "
                         "re-sent with identical bytes; this upload differs (sha256 " +
                         received.sha256_hex + ", stored " + old.sha256_hex + ")");
      }
      std::string().swap(received.content);
    }
  }
  received.id = "part-" + random_token(24, "0123456789abcdef");
  const std::string part_id = received.id;
  s.parts[part] = std::move(received);  // replaces an earlier upload; its id becomes invalid
  reply(c, 201, json{{"part_id", part_id}, {"part_num", part}});
  if (discard) fold_parts(lock, *session_id);
}

void simulator::impl::fold_parts(std::unique_lock<std::mutex>& lock,
                                 const std::string& session_id) {
  auto it = sessions.find(session_id);
  if (it == sessions.end() || it->second.folding) return;
  it->second.folding = true;
  while (true) {
    upload_session& s = it->second;
    const std::uint64_t next = s.folded + 1;
    // Fold part `next` once the part after it is present too: the newest part of the
    // contiguous prefix stays unfolded, so it can still be replaced by different bytes.
    const auto p = s.parts.find(next);
    if (p == s.parts.end() || s.parts.find(next + 1) == s.parts.end()) {
      s.folding = false;
      break;
    }
    std::string bytes = std::move(p->second.content);  // moves never throw
    p->second.content = std::string();
    sha256 hash = s.prefix;
    s.folded = next;  // from now on a re-upload of `next` must carry identical bytes
    lock.unlock();
    hash.update(bytes);
    std::string().swap(bytes);
    lock.lock();
    it = sessions.find(session_id);
    if (it == sessions.end()) break;  // closed meanwhile (abort, reset, batch deleted)
    it->second.prefix = hash;
  }
  fold_cv.notify_all();
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
    std::unique_lock<std::mutex> lock(mu);
    auto it = sessions.find(*session_id);
    if (it == sessions.end()) {
      return error(c, 404, "multipart upload session not found or already closed");
    }
    if (action == "abort") {
      sessions.erase(it);
      return reply_empty(c, 201);
    }
    if (!body.contains("parts") || !body["parts"].is_array()) {
      return error(c, 400, "parts is required when action is commit");
    }
    // --discard-content: the running hash is only complete once no request is folding.
    fold_cv.wait(lock, [&] {
      it = sessions.find(*session_id);
      return it == sessions.end() || !it->second.folding;
    });
    if (it == sessions.end()) {
      return error(c, 404, "multipart upload session not found or already closed");
    }
    const upload_session& s = it->second;
    const std::uint64_t count = s.part_count();
    const json& listed = body["parts"];
    for (std::size_t i = 0; i < listed.size(); ++i) {
      const json& p = listed[i];
      const std::string at = "parts[" + num(i) + "]";
      const auto n =
          p.is_object() && p.contains("part_num") ? json_int64(p["part_num"]) : std::nullopt;
      if (!n || !p.contains("part_id") || !p["part_id"].is_string()) {
        return error(c, 400,
                     at + " must be an object with an integer part_num and a string part_id");
      }
      const std::uint64_t want = i + 1;
      if (want > count) {
        return error(c, 400,
                     "parts lists " + num(listed.size()) + " parts but the file has only " +
                         num(count) + " (file_size " + num(s.file_size) + ", part_size " +
                         num(s.part_size) + ")");
      }
      if (*n != static_cast<std::int64_t>(want)) {
        return error(c, 400,
                     at + ".part_num is " + std::to_string(*n) + " but must be " + num(want) +
                         ": parts must list part numbers 1.." + num(count) +
                         " in order, each exactly once");
      }
      const auto up = s.parts.find(want);
      if (up == s.parts.end()) {
        return error(c, 400, "part " + num(want) + " of " + num(count) + " has not been uploaded");
      }
      if (p["part_id"].get<std::string>() != up->second.id) {
        return error(c, 400,
                     at + ".part_id is not the current id of part " + num(want) +
                         " (a re-upload of a part replaces its id)");
      }
    }
    if (listed.size() < count) {
      std::string missing;
      for (std::uint64_t n = 1; n <= count; ++n) {
        if (s.parts.count(n) != 0) continue;
        if (!missing.empty()) missing += ", ";
        missing += num(n);
      }
      return error(c, 400,
                   "parts lists " + num(listed.size()) + " parts but the file has " + num(count) +
                       " (file_size " + num(s.file_size) + ", part_size " + num(s.part_size) +
                       "); list every part 1.." + num(count) +
                       (missing.empty() ? "" : "; not uploaded yet: " + missing));
    }
    if (s.total() != s.file_size) {  // cannot happen: every part has its exact size
      return error(c, 500,
                   "uploaded " + num(s.total()) + " bytes but file_size is " + num(s.file_size));
    }
    if (batches.find(s.batch_id) == batches.end()) {
      return error(c, 404, "batch " + std::to_string(s.batch_id) + " not found");
    }
    closed = std::move(it->second);
    sessions.erase(it);
  }

  // Assemble outside the lock, in part-number order; hash the assembled bytes themselves (not
  // a running hash) so the digest in /_sim/state proves the stored file is byte-identical to
  // what was sent. With --discard-content, finish the running hash over the unfolded parts.
  stored_file f;
  f.size = closed.file_size;
  f.content_kept = !opts.discard_content;
  if (f.content_kept) {
    f.content.reserve(closed.file_size);
    for (auto& [n, p] : closed.parts) {
      f.content += p.content;
      std::string().swap(p.content);
    }
    f.sha256_hex = sha256::hex_of(f.content);
  } else {
    sha256 hash = closed.prefix;
    for (auto p = closed.parts.upper_bound(closed.folded); p != closed.parts.end(); ++p) {
      hash.update(p->second.content);
      std::string().swap(p->second.content);
    }
    f.sha256_hex = hash.hex();
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
