// Request plumbing, fault injection, the request log and the /_sim control endpoints.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <limits>
#include <utility>

#include "sim_util.hpp"
#include "simulator_impl.hpp"

namespace aihub_sim {

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t unix_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t unix_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<std::int64_t> json_int64(const json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  return std::nullopt;
}

std::optional<std::string> validate_batch_name(const std::string& name) {
  const auto cps = decode_utf8(name);
  if (!cps) return "name must be valid UTF-8";
  if (cps->empty()) return "name must not be empty";
  if (cps->size() > 255) return "name must be at most 255 characters";
  return std::nullopt;
}

std::optional<std::string> validate_filename(const std::string& name) {
  const auto cps = decode_utf8(name);
  if (!cps) return "filename must be valid UTF-8";
  if (cps->empty()) return "filename must not be empty";
  if (cps->size() > 255) return "filename must be at most 255 characters";
  if (name == "." || name == "..") return "filename must not be '.' or '..'";
  for (char32_t cp : *cps) {
    if (cp == U'/' || cp == U'\\') return "filename must not contain '/' or '\\'";
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
      return "filename must not contain control characters";
    }
  }
  return std::nullopt;
}

namespace {

constexpr std::uint64_t k_max_json_body = 1u << 20;
constexpr std::string_view k_id_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

struct route {
  const char* method;
  const char* pattern;  // '{}' marks a path parameter
  const char* op;
};

constexpr std::array<route, 18> k_routes{{
    {"POST", "v2/batches", "createBatch"},
    {"GET", "v2/batches", "listBatches"},
    {"GET", "v2/batches/{}", "getBatch"},
    {"DELETE", "v2/batches/{}", "deleteBatch"},
    {"GET", "v2/batches/{}/files", "listFiles"},
    {"PUT", "v2/batches/{}/files/{}", "addFileToBatch"},
    {"DELETE", "v2/batches/{}/files/{}", "deleteFileFromBatch"},
    {"POST", "v2/batches/multipart-upload", "createMultipartUploadSession"},
    {"PUT", "v2/batches/multipart-upload/sessions/{}/parts/{}", "uploadMultipartPart"},
    {"POST", "v2/batches/multipart-upload/sessions/{}", "commitMultipartUploadSession"},
    {"GET", "v2/batches/jobs/{}", "pollBatchesJob"},
    {"POST", "v2/apps/runs", "runApp"},
    {"GET", "v2/apps/runs", "listRuns"},
    {"POST", "v2/apps/deployments/{}/runs", "runDeployment"},
    {"GET", "v2/apps/runs/{}", "getRunStatus"},
    {"DELETE", "v2/apps/runs/{}", "deleteRun"},
    {"GET", "v2/apps/runs/{}/results", "getRunResults"},
    {"GET", "v2/jobs/{}", "jobStatus"},
}};

bool known_operation(std::string_view op) {
  return std::any_of(k_routes.begin(), k_routes.end(), [&](const route& r) { return op == r.op; });
}

struct route_match {
  std::string op;
  std::vector<std::string> params;
  std::string allowed;  // non-empty: the path exists but not for this method
};

route_match resolve_route(std::string_view method, std::string_view rest) {
  route_match out;
  if (method == "HEAD") method = "GET";
  const auto segments = split(rest, '/');
  int best_literals = -1;
  std::vector<std::string> allowed;
  for (const auto& r : k_routes) {
    const auto pattern = split(r.pattern, '/');
    if (pattern.size() != segments.size()) continue;
    int literals = 0;
    bool ok = true;
    std::vector<std::string> params;
    for (std::size_t i = 0; i < pattern.size() && ok; ++i) {
      if (pattern[i] == "{}") {
        params.emplace_back(segments[i]);
      } else if (pattern[i] == segments[i]) {
        ++literals;
      } else {
        ok = false;
      }
    }
    if (!ok || literals < best_literals) continue;
    if (literals > best_literals) {
      best_literals = literals;
      out = route_match{};
      allowed.clear();
    }
    if (out.op.empty() && method == r.method) {
      out.op = r.op;
      out.params = std::move(params);
    }
    allowed.emplace_back(r.method);
  }
  if (out.op.empty()) {
    for (const auto& m : allowed) {
      if (!out.allowed.empty()) out.allowed += ", ";
      out.allowed += m;
    }
  }
  return out;
}

// Finds the accepted socket of the current connection so a "drop" fault can cut it while
// the request body is still arriving. cpp-httplib does not expose the socket to handlers.
int find_connection_fd(int local_port, int remote_port) {
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd <= 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = 0; fd < static_cast<int>(max_fd); ++fd) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (peer.ss_family != AF_INET) continue;
    sockaddr_in peer_in{};
    std::memcpy(&peer_in, &peer, sizeof(peer_in));
    if (ntohs(peer_in.sin_port) != remote_port) continue;
    sockaddr_storage local{};
    len = sizeof(local);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    sockaddr_in local_in{};
    std::memcpy(&local_in, &local, sizeof(local_in));
    if (ntohs(local_in.sin_port) != local_port) continue;
    return fd;
  }
  return -1;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// plumbing

simulator::impl::impl(options o) : opts(std::move(o)) {
  cfg.part_size = opts.part_size;
  cfg.page_size = opts.page_size;
  cfg.strict_part_order = opts.strict_part_order;
  std::random_device rd;
  std::seed_seq seed{rd(), rd(), rd(), rd()};
  rng.seed(seed);
  token_secret = random_token(32, k_id_alphabet);
}

void simulator::impl::reply(call& c, int status, const json& body) {
  c.res.status = status;
  c.res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void simulator::impl::reply_empty(call& c, int status) {
  c.res.status = status;
  c.res.body.clear();
}

void simulator::impl::error(call& c, int status, std::string_view message) {
  reply(c, status, json{{"message", std::string(message)}});
}

bool simulator::impl::stream_body(call& c, const byte_sink& sink) {
  if (c.body_consumed) return false;
  c.body_consumed = true;
  if (c.reader == nullptr) return true;  // no body at all: an empty one
  bool sink_ok = true;
  const bool read_ok = (*c.reader)([&](const char* data, std::size_t size) {
    c.body_bytes += size;
    sink_ok = sink(data, size);
    return sink_ok;
  });
  return read_ok && sink_ok;
}

bool simulator::impl::read_json_object(call& c, json& out) {
  std::string body;
  bool too_large = false;
  const bool ok = stream_body(c, [&](const char* data, std::size_t size) {
    if (body.size() + size > k_max_json_body) {
      too_large = true;
      return true;  // keep draining so the connection stays in sync
    }
    body.append(data, size);
    return true;
  });
  if (too_large) {
    error(c, 413, "request body is larger than 1 MiB");
    return false;
  }
  if (!ok) {
    error(c, 400, "request body was not received completely");
    return false;
  }
  if (body.empty()) {
    error(c, 400, "a JSON request body is required");
    return false;
  }
  out = json::parse(body, nullptr, false);
  if (out.is_discarded()) {
    error(c, 400, "request body is not valid JSON");
    return false;
  }
  if (!out.is_object()) {
    error(c, 400, "request body must be a JSON object");
    return false;
  }
  return true;
}

void simulator::impl::finish_body(call& c) {
  if (c.body_consumed || c.reader == nullptr) return;
  (void)stream_body(c, [](const char*, std::size_t) { return true; });
}

std::optional<std::string> simulator::impl::path_param(call& c, std::size_t index,
                                                       const char* what) {
  auto decoded = percent_decode(c.params.at(index));
  if (!decoded) {
    error(c, 400, std::string("malformed percent-encoding in ") + what);
    return std::nullopt;
  }
  return decoded;
}

std::optional<std::int64_t> simulator::impl::path_batch_id(call& c, std::size_t index) {
  const auto value = parse_u64(c.params.at(index));
  if (!value || *value == 0 ||
      *value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    error(c, 400, "batch_id must be a positive integer");
    return std::nullopt;
  }
  return static_cast<std::int64_t>(*value);
}

bool simulator::impl::query_u64(call& c, const char* name, std::optional<std::uint64_t>& out) {
  out.reset();
  if (!c.req.has_param(name)) return true;
  const auto value = parse_u64(c.req.get_param_value(name));
  if (!value) {
    error(c, 400, std::string(name) + " must be a non-negative integer");
    return false;
  }
  out = value;
  return true;
}

bool simulator::impl::query_bool(call& c, const char* name, bool fallback, bool& out) {
  out = fallback;
  if (!c.req.has_param(name)) return true;
  const auto value = parse_bool(c.req.get_param_value(name));
  if (!value) {
    error(c, 400, std::string(name) + " must be true or false");
    return false;
  }
  out = *value;
  return true;
}

std::string simulator::impl::random_token(std::size_t length, std::string_view alphabet) {
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out;
  out.reserve(length);
  for (std::size_t i = 0; i < length; ++i) out.push_back(alphabet[pick(rng)]);
  return out;
}

std::string simulator::impl::random_uuid() {
  const std::string hex = random_token(32, "0123456789abcdef");
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string simulator::impl::new_job(const std::string& kind, const std::string& target) {
  job_record j;
  j.seq = next_seq++;
  j.id = random_uuid();
  j.kind = kind;
  j.target = target;
  j.pending_polls = cfg.job_pending_polls;
  j.running_polls = cfg.job_running_polls;
  const std::string id = j.id;
  jobs.emplace(id, std::move(j));
  return id;
}

std::string simulator::impl::batch_path(const batch_record& b) const {
  return b.owner + "/" + b.workspace + "/fs/" + k_mount_point + "/batches/" + std::to_string(b.id);
}

// Page tokens are self-describing but authenticated with a per-process secret, so the
// simulator needs no per-token memory and can still reject unknown or tampered tokens. The
// fixed leading bytes make every token start with "++//" and the layout ends it with "==",
// so a client that forgets to percent-encode the token in a query string is caught.
std::string simulator::impl::make_page_token(std::int64_t batch_id,
                                             const std::string& after) const {
  std::string payload = "\xfb\xef\xff";
  for (int shift = 56; shift >= 0; shift -= 8) {
    payload.push_back(static_cast<char>((static_cast<std::uint64_t>(batch_id) >> shift) & 0xff));
  }
  const auto len = static_cast<std::uint32_t>(after.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    payload.push_back(static_cast<char>((len >> shift) & 0xff));
  }
  payload += after;
  sha256 mac;
  mac.update(token_secret);
  mac.update(payload);
  const auto digest = mac.finish();
  payload.append(reinterpret_cast<const char*>(digest.data()), 8);
  while (payload.size() % 3 != 1) payload.push_back('\0');
  return base64_encode(payload);
}

std::optional<std::string> simulator::impl::parse_page_token(std::int64_t batch_id,
                                                             std::string_view token) const {
  const auto payload = base64_decode(token);
  if (!payload || payload->size() < 3 + 8 + 4 + 8) return std::nullopt;
  if (payload->compare(0, 3, "\xfb\xef\xff") != 0) return std::nullopt;
  std::uint64_t id = 0;
  for (std::size_t i = 3; i < 11; ++i) id = (id << 8) | static_cast<unsigned char>((*payload)[i]);
  std::uint32_t len = 0;
  for (std::size_t i = 11; i < 15; ++i)
    len = (len << 8) | static_cast<unsigned char>((*payload)[i]);
  if (payload->size() < 15u + len + 8u) return std::nullopt;
  const std::string after = payload->substr(15, len);
  if (make_page_token(static_cast<std::int64_t>(id), after) != token) return std::nullopt;
  if (static_cast<std::int64_t>(id) != batch_id) return std::nullopt;
  return after;
}

std::optional<fault_rule> simulator::impl::take_fault(const std::string& op) {
  std::lock_guard<std::mutex> lock(mu);
  for (auto it = faults.begin(); it != faults.end(); ++it) {
    if (it->operation != "*" && it->operation != op) continue;
    fault_rule applied = *it;
    if (--it->remaining == 0) faults.erase(it);
    return applied;
  }
  return std::nullopt;
}

bool simulator::impl::sleep_unless_stopping(std::uint64_t ms) {
  std::unique_lock<std::mutex> lock(mu);
  return !stop_cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping; });
}

void simulator::impl::cut_response(call& c) {
  // A response whose Content-Length promises more than is sent before the connection is
  // closed: every HTTP client must report this as a transport error, whatever the status.
  std::string full = c.res.body;
  if (full.size() < 64) {
    full = R"({"message":"simulated dropped connection: this body is cut short on purpose"})";
  }
  auto shared = std::make_shared<const std::string>(std::move(full));
  c.res.body.clear();
  c.res.status = 200;
  c.res.set_content_provider(shared->size(), "application/json",
                             [shared](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                               if (offset == 0) sink.write(shared->data(), shared->size() / 2);
                               return false;  // abort: cpp-httplib then closes the connection
                             });
  c.dropped = true;
}

int simulator::impl::drop_connection(call& c) {
  const bool upload = c.op == "addFileToBatch" || c.op == "uploadMultipartPart";
  int fd = -1;
  if (upload && c.reader != nullptr && !c.body_consumed) {
    // Read part of the body (half of the declared length, at least one chunk, at most
    // 256 KiB); the caller then cuts the connection while the client is still sending.
    std::uint64_t want = 1;
    if (c.req.has_header("Content-Length")) {
      if (const auto len = parse_u64(c.req.get_header_value("Content-Length"))) {
        want = std::clamp<std::uint64_t>(*len / 2, 1, 256 * 1024);
      }
    }
    std::uint64_t got = 0;
    c.body_consumed = true;
    (void)(*c.reader)([&](const char*, std::size_t size) {
      got += size;
      c.body_bytes += size;
      return got < want;
    });
    const int local_port = c.req.local_port > 0 ? c.req.local_port : port;
    fd = find_connection_fd(local_port, c.req.remote_port);
  } else {
    finish_body(c);
  }
  // Also the fallback should the socket not be found: a truncated response is a transport
  // error too.
  cut_response(c);
  return fd;
}

void simulator::impl::record(const call& c) {
  log_entry e;
  e.time_ms = unix_ms();
  e.method = c.req.method;
  e.path = std::string(c.raw_path);
  e.query = std::string(c.raw_query);
  e.operation = c.op;
  e.status = c.dropped ? 0 : c.res.status;
  if (c.req.has_header("IB-Context")) e.ib_context = c.req.get_header_value("IB-Context");
  e.fault = c.fault;
  e.body_bytes = c.body_bytes;
  std::lock_guard<std::mutex> lock(mu);
  e.seq = ++requests_total;
  log.push_back(std::move(e));
  while (log.size() > cfg.log_capacity) log.pop_front();
}

void simulator::impl::handle(const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader* reader) {
  call c{req, res, reader, {}, {}, {}, {}, false, 0, std::nullopt, false};
  // Clients date what the server stored against this (a listing's modified_timestamp).
  res.set_header("Date", http_date(unix_s()));
  const std::string_view target = req.target;
  const auto qpos = target.find('?');
  c.raw_path = target.substr(0, qpos);
  c.raw_query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

  if (c.raw_path == "/_sim" || c.raw_path.substr(0, 6) == "/_sim/") {
    handle_control(c);
    finish_body(c);
    return;
  }

  const std::string& prefix = opts.prefix;
  route_match match;
  if (c.raw_path.substr(0, prefix.size()) == prefix && c.raw_path.size() > prefix.size() &&
      c.raw_path[prefix.size()] == '/') {
    match = resolve_route(req.method, c.raw_path.substr(prefix.size() + 1));
  }
  c.op = match.op;
  if (c.op.empty()) {
    finish_body(c);
    if (!match.allowed.empty()) {
      res.set_header("Allow", match.allowed);
      error(c, 405, "method " + req.method + " is not allowed on this path");
    } else {
      error(c, 404, "no API endpoint at " + std::string(c.raw_path));
    }
    record(c);
    return;
  }
  c.params = std::move(match.params);

  const auto fault = take_fault(c.op);
  if (fault) {
    c.fault = fault->action;
    if (fault->action == "delay") {
      sleep_unless_stopping(fault->delay_ms);
    } else if (fault->action == "status") {
      finish_body(c);
      if (fault->retry_after) res.set_header("Retry-After", *fault->retry_after);
      error(c, fault->status,
            "simulated fault: HTTP " + std::to_string(fault->status) + " for " + c.op);
      record(c);
      return;
    } else if (fault->action == "drop" && !fault->process) {
      const int fd = drop_connection(c);
      record(c);  // before the cut, so the entry exists once the client sees the error
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
      return;
    }
  }

  const std::string auth = req.get_header_value("Authorization");
  const std::string expected = "bearer " + opts.token;
  const bool authorized = auth.size() == expected.size() &&
                          lowercase(auth.substr(0, 7)) == "bearer " && auth.substr(7) == opts.token;
  if (!authorized) {
    finish_body(c);
    res.set_header("WWW-Authenticate", "Bearer");
    error(c, 401, auth.empty() ? "missing bearer token" : "invalid bearer token");
    record(c);
    return;
  }

  dispatch_api(c);
  finish_body(c);
  if (fault && fault->action == "drop") cut_response(c);
  if (fault && fault->action == "lost_answer") {
    // Applied, then the connection closes before a byte of the answer: what a client sees when
    // a server dies right after committing. The one fault a client may not answer by resending
    // a request that is not idempotent.
    c.dropped = true;
    record(c);
    const int local_port = c.req.local_port > 0 ? c.req.local_port : port;
    if (const int fd = find_connection_fd(local_port, c.req.remote_port); fd >= 0)
      ::shutdown(fd, SHUT_RDWR);
    else
      cut_response(c);
    return;
  }
  record(c);
}

void simulator::impl::dispatch_api(call& c) {
  const std::string& op = c.op;
  if (op == "createBatch") return create_batch(c);
  if (op == "listBatches") return list_batches(c);
  if (op == "getBatch") return get_batch(c);
  if (op == "deleteBatch") return delete_batch(c);
  if (op == "listFiles") return list_files(c);
  if (op == "addFileToBatch") return add_file(c);
  if (op == "deleteFileFromBatch") return delete_file(c);
  if (op == "createMultipartUploadSession") return create_session(c);
  if (op == "uploadMultipartPart") return upload_part_op(c);
  if (op == "commitMultipartUploadSession") return commit_session(c);
  if (op == "pollBatchesJob" || op == "jobStatus") return poll_job(c);
  if (op == "runApp") return create_run(c, false);
  if (op == "runDeployment") return create_run(c, true);
  if (op == "listRuns") return list_runs(c);
  if (op == "getRunStatus") return get_run(c);
  if (op == "deleteRun") return delete_run(c);
  if (op == "getRunResults") return run_results(c);
  error(c, 500, "operation not implemented: " + op);
}

// ---------------------------------------------------------------------------------------------
// control endpoints

json simulator::impl::config_json() const {
  return json{{"part_size", cfg.part_size},
              {"page_size", cfg.page_size},
              {"results_page_size", cfg.results_page_size},
              {"run_running_polls", cfg.run_running_polls},
              {"run_final_status", cfg.run_final_status},
              {"job_pending_polls", cfg.job_pending_polls},
              {"job_running_polls", cfg.job_running_polls},
              {"run_quota", cfg.run_quota ? json(*cfg.run_quota) : json(nullptr)},
              {"log_capacity", cfg.log_capacity},
              {"strict_part_order", cfg.strict_part_order},
              {"discard_content", opts.discard_content},
              {"prefix", opts.prefix},
              {"port", port}};
}

json simulator::impl::fault_json(const fault_rule& f) const {
  return json{{"id", f.id},
              {"operation", f.operation},
              {"remaining", f.remaining},
              {"action", f.action},
              {"status", f.status},
              {"retry_after", f.retry_after ? json(*f.retry_after) : json(nullptr)},
              {"delay_ms", f.delay_ms},
              {"process", f.process}};
}

json simulator::impl::state_json() {
  std::lock_guard<std::mutex> lock(mu);
  json out = json::object();
  json jb = json::array();
  for (const auto& [id, b] : batches) {
    json files = json::array();
    for (const auto& [name, f] : b.files) {
      files.push_back(json{{"name", name},
                           {"size", f.size},
                           {"sha256", f.sha256_hex},
                           {"content_kept", f.content_kept},
                           {"modified_timestamp", f.modified_s}});
    }
    json entry = batch_info_json(b);
    entry["files"] = std::move(files);
    jb.push_back(std::move(entry));
  }
  out["batches"] = std::move(jb);

  std::vector<const upload_session*> ordered_sessions;
  for (const auto& [id, s] : sessions) ordered_sessions.push_back(&s);
  std::sort(ordered_sessions.begin(), ordered_sessions.end(),
            [](const auto* a, const auto* b) { return a->seq < b->seq; });
  json js = json::array();
  for (const auto* s : ordered_sessions) {
    json parts = json::array();  // by part number, whatever the arrival order
    for (const auto& [num, p] : s->parts) {
      parts.push_back(json{{"part_num", num}, {"part_id", p.id}, {"size", p.size}});
    }
    js.push_back(json{{"session_id", s->id},
                      {"batch_id", s->batch_id},
                      {"filename", s->filename},
                      {"file_size", s->file_size},
                      {"part_size", s->part_size},
                      {"part_count", s->part_count()},
                      {"strict_part_order", s->strict_order},
                      {"parts", std::move(parts)},
                      {"bytes_uploaded", s->total()},
                      {"parts_in_flight", s->uploading},
                      {"folded_parts", s->folded}});
  }
  out["multipart_sessions"] = std::move(js);

  std::vector<const run_record*> ordered_runs;
  for (const auto& [id, r] : runs) ordered_runs.push_back(&r);
  std::sort(ordered_runs.begin(), ordered_runs.end(),
            [](const auto* a, const auto* b) { return a->seq < b->seq; });
  json jr = json::array();
  for (const auto* r : ordered_runs) {
    json entry = run_json(*r);
    entry["app_name"] = r->app_name ? json(*r->app_name) : json(nullptr);
    entry["owner"] = r->owner ? json(*r->owner) : json(nullptr);
    entry["version"] = r->version ? json(*r->version) : json(nullptr);
    entry["output_workspace"] = r->output_workspace ? json(*r->output_workspace) : json(nullptr);
    entry["output_dir"] = r->output_dir ? json(*r->output_dir) : json(nullptr);
    entry["settings"] = r->settings;
    entry["polls"] = r->polls;
    json files = json::array();
    for (const auto& f : r->files) files.push_back(f.name);
    entry["files"] = std::move(files);
    jr.push_back(std::move(entry));
  }
  out["runs"] = std::move(jr);

  std::vector<const job_record*> ordered_jobs;
  for (const auto& [id, j] : jobs) ordered_jobs.push_back(&j);
  std::sort(ordered_jobs.begin(), ordered_jobs.end(),
            [](const auto* a, const auto* b) { return a->seq < b->seq; });
  json jj = json::array();
  for (const auto* j : ordered_jobs) {
    jj.push_back(json{{"job_id", j->id},
                      {"kind", j->kind},
                      {"target", j->target},
                      {"state", j->polls == 0 ? "PENDING" : j->state_at(j->polls)},
                      {"polls", j->polls}});
  }
  out["jobs"] = std::move(jj);

  json jf = json::array();
  for (const auto& f : faults) jf.push_back(fault_json(f));
  out["faults"] = std::move(jf);

  json jl = json::array();
  for (const auto& e : log) {
    jl.push_back(json{{"seq", e.seq},
                      {"time_ms", e.time_ms},
                      {"method", e.method},
                      {"path", e.path},
                      {"query", e.query},
                      {"operation", e.operation},
                      {"status", e.status},
                      {"ib_context", e.ib_context ? json(*e.ib_context) : json(nullptr)},
                      {"fault", e.fault ? json(*e.fault) : json(nullptr)},
                      {"body_bytes", e.body_bytes}});
  }
  out["requests"] = std::move(jl);
  out["requests_total"] = requests_total;
  out["config"] = config_json();
  return out;
}

void simulator::impl::control_config(call& c) {
  if (c.req.method == "GET") {
    std::lock_guard<std::mutex> lock(mu);
    return reply(c, 200, config_json());
  }
  if (c.req.method != "POST") {
    c.res.set_header("Allow", "GET, POST");
    return error(c, 405, "use GET or POST");
  }
  json body;
  if (!read_json_object(c, body)) return;
  runtime_config next;
  {
    std::lock_guard<std::mutex> lock(mu);
    next = cfg;
  }
  for (const auto& item : body.items()) {
    // Named references, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::string& key = item.key();
    const json& value = item.value();
    const auto positive = [&](std::uint64_t& field, std::uint64_t min) -> bool {
      const auto v = json_int64(value);
      if (!v || *v < 0 || static_cast<std::uint64_t>(*v) < min) return false;
      field = static_cast<std::uint64_t>(*v);
      return true;
    };
    bool ok = true;
    if (key == "part_size") {
      ok = positive(next.part_size, 1);
    } else if (key == "page_size") {
      ok = positive(next.page_size, 1);
    } else if (key == "results_page_size") {
      ok = positive(next.results_page_size, 1);
    } else if (key == "run_running_polls") {
      ok = positive(next.run_running_polls, 0);
    } else if (key == "job_pending_polls") {
      ok = positive(next.job_pending_polls, 0);
    } else if (key == "job_running_polls") {
      ok = positive(next.job_running_polls, 0);
    } else if (key == "log_capacity") {
      ok = positive(next.log_capacity, 1);
    } else if (key == "run_quota") {
      if (value.is_null()) {
        next.run_quota.reset();
      } else {
        std::uint64_t q = 0;
        ok = positive(q, 0);
        if (ok) next.run_quota = q;
      }
    } else if (key == "strict_part_order") {
      ok = value.is_boolean();
      if (ok) next.strict_part_order = value.get<bool>();
    } else if (key == "run_final_status") {
      static const std::array<std::string_view, 4> allowed{"COMPLETE", "FAILED", "CANCELLED",
                                                           "STOPPED_AT_CHECKPOINT"};
      ok = value.is_string() &&
           std::find(allowed.begin(), allowed.end(), value.get<std::string>()) != allowed.end();
      if (ok) next.run_final_status = value.get<std::string>();
    } else {
      return error(c, 400, "unknown or read-only config key: " + key);
    }
    if (!ok) return error(c, 400, "invalid value for config key " + key);
  }
  std::lock_guard<std::mutex> lock(mu);
  cfg = next;
  while (log.size() > cfg.log_capacity) log.pop_front();
  reply(c, 200, config_json());
}

void simulator::impl::control_faults(call& c) {
  if (c.req.method == "GET") {
    std::lock_guard<std::mutex> lock(mu);
    json list = json::array();
    for (const auto& f : faults) list.push_back(fault_json(f));
    return reply(c, 200, json{{"faults", std::move(list)}});
  }
  if (c.req.method == "DELETE") {
    std::lock_guard<std::mutex> lock(mu);
    const auto cleared = faults.size();
    faults.clear();
    return reply(c, 200, json{{"cleared", cleared}});
  }
  if (c.req.method != "POST") {
    c.res.set_header("Allow", "GET, POST, DELETE");
    return error(c, 405, "use GET, POST or DELETE");
  }
  // Accept one rule object, or {"rules": [...]}.
  json body;
  if (!read_json_object(c, body)) return;
  json items = json::array();
  if (body.contains("rules")) {
    if (!body["rules"].is_array()) return error(c, 400, "rules must be an array");
    items = body["rules"];
  } else {
    items.push_back(body);
  }
  std::vector<fault_rule> parsed;
  for (const auto& item : items) {
    if (!item.is_object()) return error(c, 400, "each fault rule must be an object");
    fault_rule f;
    for (const auto& [key, value] : item.items()) {
      if (key == "operation") {
        if (!value.is_string()) return error(c, 400, "operation must be a string");
        f.operation = value.get<std::string>();
      } else if (key == "count") {
        const auto v = json_int64(value);
        if (!v || *v < 1) return error(c, 400, "count must be a positive integer");
        f.remaining = static_cast<std::uint64_t>(*v);
      } else if (key == "action") {
        if (!value.is_string()) return error(c, 400, "action must be a string");
        f.action = value.get<std::string>();
      } else if (key == "status") {
        const auto v = json_int64(value);
        if (!v || *v < 400 || *v > 599) return error(c, 400, "status must be within 400..599");
        f.status = static_cast<int>(*v);
      } else if (key == "retry_after") {
        if (value.is_string()) {
          f.retry_after = value.get<std::string>();
        } else if (const auto v = json_int64(value); v && *v >= 0) {
          f.retry_after = std::to_string(*v);
        } else if (!value.is_null()) {
          return error(c, 400, "retry_after must be a string or a non-negative integer");
        }
      } else if (key == "delay_ms") {
        const auto v = json_int64(value);
        if (!v || *v < 0 || *v > 600000) return error(c, 400, "delay_ms must be 0..600000");
        f.delay_ms = static_cast<std::uint64_t>(*v);
      } else if (key == "process") {
        if (!value.is_boolean()) return error(c, 400, "process must be a boolean");
        f.process = value.get<bool>();
      } else {
        return error(c, 400, "unknown fault rule key: " + key);
      }
    }
    if (f.operation != "*" && !known_operation(f.operation)) {
      return error(
          c, 400, "operation must be '*' or an implemented operationId, got '" + f.operation + "'");
    }
    if (f.action != "status" && f.action != "delay" && f.action != "drop" &&
        f.action != "lost_answer") {
      return error(c, 400, "action must be one of status, delay, drop, lost_answer");
    }
    parsed.push_back(std::move(f));
  }
  std::lock_guard<std::mutex> lock(mu);
  for (auto& f : parsed) {
    f.id = next_fault_id++;
    faults.push_back(std::move(f));
  }
  json list = json::array();
  for (const auto& f : faults) list.push_back(fault_json(f));
  reply(c, 201, json{{"faults", std::move(list)}});
}

void simulator::impl::handle_control(call& c) {
  const std::string_view path = c.raw_path;
  const std::string& method = c.req.method;
  if (path == "/_sim/state") {
    if (method != "GET" && method != "HEAD") {
      c.res.set_header("Allow", "GET");
      return error(c, 405, "use GET");
    }
    return reply(c, 200, state_json());
  }
  if (path == "/_sim/config") return control_config(c);
  if (path == "/_sim/faults") return control_faults(c);
  if (path == "/_sim/reset" || path == "/_sim/shutdown") {
    if (method != "POST") {
      c.res.set_header("Allow", "POST");
      return error(c, 405, "use POST");
    }
    finish_body(c);
    if (path == "/_sim/reset") {
      std::lock_guard<std::mutex> lock(mu);
      batches.clear();
      sessions.clear();
      runs.clear();
      jobs.clear();
      faults.clear();
      log.clear();
      requests_total = 0;
      return reply(c, 200, json{{"message", "state cleared"}});
    }
    reply(c, 200, json{{"message", "shutting down"}});
    if (on_shutdown) on_shutdown();
    return;
  }
  error(c, 404, "unknown control endpoint " + std::string(path));
}

// ---------------------------------------------------------------------------------------------
// public face

simulator::simulator(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
simulator::~simulator() = default;

void simulator::install(httplib::Server& server) {
  impl* self = impl_.get();
  const std::string any = R"([\s\S]*)";
  const auto plain = [self](const httplib::Request& req, httplib::Response& res) {
    self->handle(req, res, nullptr);
  };
  const auto with_body = [self](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
    self->handle(req, res, &reader);
  };
  server.Get(any, plain);
  server.Post(any, plain);
  server.Put(any, plain);
  server.Patch(any, plain);
  server.Delete(any, plain);
  server.Options(any, plain);
  server.Post(any, with_body);
  server.Put(any, with_body);
  server.Patch(any, with_body);
  server.Delete(any, with_body);
  // Errors cpp-httplib produces itself (malformed request line, ...) still answer JSON.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty() && !res.content_length_) {
      res.set_content(json{{"message", "HTTP " + std::to_string(res.status)}}.dump(),
                      "application/json");
    }
  });
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(json{{"message", "internal simulator error: " + what}}.dump(
                            -1, ' ', false, json::error_handler_t::replace),
                        "application/json");
      });
}

void simulator::set_port(int port) {
  impl_->port = port;
}

void simulator::set_shutdown_callback(std::function<void()> callback) {
  impl_->on_shutdown = std::move(callback);
}

void simulator::begin_shutdown() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
}

}  // namespace aihub_sim
