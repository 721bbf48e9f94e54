// Internal state and handler declarations of the AI Hub simulator. Shared by the .cpp files
// of this directory only.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sha256.hpp"
#include "simulator.hpp"

namespace aihub_sim {

using json = nlohmann::ordered_json;

std::int64_t unix_ms();
std::int64_t unix_ns();
std::int64_t unix_s();

// A JSON integer that fits in int64 (nlohmann stores non-negative literals as unsigned).
std::optional<std::int64_t> json_int64(const json& value);

// Names must be valid UTF-8; returns an error message, or nullopt when acceptable.
std::optional<std::string> validate_batch_name(const std::string& name);
std::optional<std::string> validate_filename(const std::string& name);

inline constexpr const char* k_username = "sim-user";
inline constexpr const char* k_mount_point = "Instabase Drive";

struct stored_file {
  std::string content;  // empty when --discard-content is set
  std::uint64_t size = 0;
  std::string sha256_hex;
  bool content_kept = true;
  std::int64_t modified_s = 0;
};

struct batch_record {
  std::int64_t id = 0;
  std::string name;
  std::string workspace;
  std::string owner;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::map<std::string, stored_file> files;  // ordered by name: listing order
};

struct upload_part {
  std::uint64_t num = 0;
  std::string id;
  std::uint64_t size = 0;
  // The bytes. With --discard-content only until the part is folded into the session's
  // running hash (see upload_session::folded), then released.
  std::string content;
  std::string sha256_hex;  // of this part alone; only computed with --discard-content
};

struct upload_session {
  std::uint64_t seq = 0;
  std::string id;
  std::int64_t batch_id = 0;
  std::string filename;
  std::uint64_t file_size = 0;
  std::uint64_t part_size = 0;
  bool strict_order = false;                   // --strict-part-order when the session was created
  std::map<std::uint64_t, upload_part> parts;  // by part number; a re-upload replaces
  std::set<std::uint64_t> uploading;           // part numbers whose body is being received
  // --discard-content: `prefix` is the SHA-256 over parts 1..folded, valid while no request
  // is folding. Part k is folded once parts 1..k+1 are all present (the newest part of the
  // contiguous prefix stays replaceable); the rest is folded at commit.
  sha256 prefix;
  std::uint64_t folded = 0;
  bool folding = false;  // one request is extending `prefix` outside the lock

  // Number of parts of the file: ceil(file_size / part_size) (file_size >= 1).
  [[nodiscard]] std::uint64_t part_count() const { return (file_size - 1) / part_size + 1; }
  // Exact size of part `num` (1..part_count()): part_size, the last part the remainder.
  [[nodiscard]] std::uint64_t expected_size(std::uint64_t num) const {
    return num < part_count() ? part_size : file_size - (part_count() - 1) * part_size;
  }
  [[nodiscard]] std::uint64_t total() const {
    std::uint64_t t = 0;
    for (const auto& [num, p] : parts) t += p.size;
    return t;
  }
};

struct run_file {
  std::string name;
  std::uint64_t size = 0;
  std::string sha256_hex;
};

struct run_record {
  std::uint64_t seq = 0;
  std::string id;
  std::optional<std::string> app_name, app_id, deployment_id, owner, version, output_workspace,
      output_dir, input_dir;
  std::optional<std::int64_t> batch_id;
  std::optional<std::vector<std::string>> tags;
  json settings;  // null when absent
  std::string status = "RUNNING";
  std::string msg = "Run is in progress";
  std::int64_t start_ns = 0;
  std::optional<std::int64_t> finish_ns;
  std::uint64_t polls = 0;
  std::uint64_t running_polls = 2;  // captured from the config when the run is created
  std::string final_status = "COMPLETE";
  std::string username = k_username;
  std::string batch_path;  // full path of the input batch folder, "" for input_dir runs
  std::vector<run_file> files;
};

struct job_record {
  std::uint64_t seq = 0;
  std::string id;
  std::string kind;
  std::string target;
  std::uint64_t polls = 0;
  std::uint64_t pending_polls = 1;
  std::uint64_t running_polls = 1;

  // State reported by the poll with 1-based index `poll` (0: not polled yet).
  [[nodiscard]] const char* state_at(std::uint64_t poll) const {
    if (poll <= pending_polls) return "PENDING";
    if (poll <= pending_polls + running_polls) return "RUNNING";
    return "COMPLETE";
  }
};

struct fault_rule {
  std::uint64_t id = 0;
  std::string operation;  // operationId or "*"
  std::uint64_t remaining = 1;
  std::string action;  // status | delay | drop | lost_answer
  int status = 503;
  std::optional<std::string> retry_after;
  std::uint64_t delay_ms = 1000;
  bool process = false;  // drop only: handle the request, then cut the response
};

struct log_entry {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  std::string method;
  std::string path;
  std::string query;
  std::string operation;
  int status = 0;
  std::optional<std::string> ib_context;
  std::optional<std::string> fault;
  std::uint64_t body_bytes = 0;
};

struct runtime_config {
  std::uint64_t part_size = 0;
  std::uint64_t page_size = 0;
  std::uint64_t results_page_size = 10;
  std::uint64_t run_running_polls = 2;
  std::string run_final_status = "COMPLETE";
  std::uint64_t job_pending_polls = 1;
  std::uint64_t job_running_polls = 1;
  std::optional<std::uint64_t> run_quota;
  std::uint64_t log_capacity = 1000;
  bool strict_part_order = false;
};

// One request in flight.
struct call {
  const httplib::Request& req;
  httplib::Response& res;
  const httplib::ContentReader* reader;  // null when the request has no body
  std::string_view raw_path;
  std::string_view raw_query;
  std::string op;
  std::vector<std::string> params;  // path parameters, still percent-encoded
  bool body_consumed = false;
  std::uint64_t body_bytes = 0;
  std::optional<std::string> fault;
  bool dropped = false;
};

using byte_sink = std::function<bool(const char*, std::size_t)>;

struct simulator::impl {
  explicit impl(options o);

  // ---- plumbing (simulator.cpp)
  void handle(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader* reader);
  void dispatch_api(call& c);
  void handle_control(call& c);
  void record(const call& c);
  std::optional<fault_rule> take_fault(const std::string& op);
  // Consumes (part of) the body and prepares a truncated response; for uploads returns the
  // connection's socket, which the caller shuts down after logging (else -1).
  int drop_connection(call& c);
  void cut_response(call& c);
  bool sleep_unless_stopping(std::uint64_t ms);

  static void reply(call& c, int status, const json& body);
  static void reply_empty(call& c, int status);
  static void error(call& c, int status, std::string_view message);
  // Streams the request body into `sink`; false if the body was not received completely
  // (client went away, truncated chunked body, timeout) or the sink refused it.
  static bool stream_body(call& c, const byte_sink& sink);
  // Reads a JSON object body (at most 1 MiB); on failure answers 400/413 and returns false.
  static bool read_json_object(call& c, json& out);
  // Reads and discards any unread request body so the connection stays usable.
  static void finish_body(call& c);
  static std::optional<std::string> path_param(call& c, std::size_t index, const char* what);
  static std::optional<std::int64_t> path_batch_id(call& c, std::size_t index);
  // Query parameters: nullopt + error reply when malformed.
  static bool query_u64(call& c, const char* name, std::optional<std::uint64_t>& out);
  static bool query_bool(call& c, const char* name, bool fallback, bool& out);

  std::string random_token(std::size_t length, std::string_view alphabet);
  std::string random_uuid();
  std::string new_job(const std::string& kind, const std::string& target);  // needs mu
  std::string batch_path(const batch_record& b) const;
  std::string make_page_token(std::int64_t batch_id, const std::string& after) const;
  std::optional<std::string> parse_page_token(std::int64_t batch_id, std::string_view token) const;

  // ---- control (simulator.cpp)
  json state_json();
  json config_json() const;  // needs mu
  json fault_json(const fault_rule& f) const;
  void control_config(call& c);
  void control_faults(call& c);

  // ---- batches, files, multipart, jobs (batches.cpp)
  json batch_info_json(const batch_record& b) const;
  void create_batch(call& c);
  void list_batches(call& c);
  void get_batch(call& c);
  void delete_batch(call& c);
  void list_files(call& c);
  void add_file(call& c);
  void delete_file(call& c);
  void create_session(call& c);
  void upload_part_op(call& c);
  class part_upload_mark;
  void commit_session(call& c);
  // --discard-content: folds ready parts of a session into its running hash, hashing with
  // `lock` released; called and returns with `lock` held. No-op if another request folds.
  void fold_parts(std::unique_lock<std::mutex>& lock, const std::string& session_id);
  void poll_job(call& c);
  void remove_batch(std::int64_t id);  // needs mu

  // ---- runs (runs.cpp)
  json run_json(const run_record& r) const;
  void create_run(call& c, bool deployment);
  void get_run(call& c);
  void list_runs(call& c);
  void delete_run(call& c);
  void run_results(call& c);
  void advance_run(run_record& r);
  run_record* find_run(const std::string& id);  // needs mu

  options opts;
  int port = 0;
  std::function<void()> on_shutdown;

  std::mutex mu;
  std::condition_variable stop_cv;
  std::condition_variable fold_cv;  // a session's `folding` went back to false
  bool stopping = false;

  runtime_config cfg;
  std::map<std::int64_t, batch_record> batches;
  std::map<std::string, upload_session> sessions;
  std::map<std::string, run_record> runs;
  std::map<std::string, job_record> jobs;
  std::vector<fault_rule> faults;
  std::deque<log_entry> log;
  std::int64_t next_batch_id = 1;
  std::uint64_t next_seq = 1;
  std::uint64_t next_fault_id = 1;
  std::uint64_t requests_total = 0;
  std::mt19937_64 rng;
  std::string token_secret;
};

}  // namespace aihub_sim
