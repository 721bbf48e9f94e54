// Tests for aihub_simulator over real loopback HTTP: every semantic the simulator promises
// (tools/simulator/README.md) is exercised here through a spawned simulator process.
#include "../../tests/support/doctest_main.hpp"
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sha256.hpp"
#include "sim_util.hpp"
#include "simulator_process.hpp"

#ifndef AIHUB_SIMULATOR_PATH
#error "AIHUB_SIMULATOR_PATH must name the aihub_simulator binary"
#endif

namespace {

using json = nlohmann::json;
using aihub_sim::sha256;
using aihub_test::simulator_process;

constexpr const char* k_token = "test-token";

const httplib::Response& ok(const httplib::Result& r) {
  REQUIRE_MESSAGE(static_cast<bool>(r), "transport error: " << httplib::to_string(r.error()));
  return *r;
}

json body_of(const httplib::Result& r) {
  const auto& res = ok(r);
  const json j = json::parse(res.body, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << res.body);
  return j;
}

// Deterministic, non-repeating-looking test data.
std::string pattern_bytes(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (auto& ch : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ch = static_cast<char>(x & 0xff);
  }
  return out;
}

struct sim_fixture {
  simulator_process sim;
  httplib::Client api;

  explicit sim_fixture(std::vector<std::string> args = {})
      : sim(AIHUB_SIMULATOR_PATH, std::move(args)), api("127.0.0.1", sim.port()) {
    api.set_bearer_token_auth(k_token);
    api.set_url_encode(false);  // tests send exactly the encoded targets they mean
    api.set_connection_timeout(5);
    api.set_read_timeout(20);
    api.set_write_timeout(20);
  }

  [[nodiscard]] std::string path(std::string_view p) const { return sim.prefix() + std::string(p); }

  json state() const {
    const auto r = sim.control_get("/_sim/state");
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }

  void config(const json& changes) const {
    const auto r = sim.control_post("/_sim/config", changes.dump());
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }

  void fault(const json& rule) const {
    const auto r = sim.control_post("/_sim/faults", rule.dump());
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }

  std::int64_t create_batch(const std::string& name, const std::string& workspace = "") {
    json req{{"name", name}};
    if (!workspace.empty()) req["workspace"] = workspace;
    const auto r = api.Post(path("/v2/batches"), req.dump(), "application/json");
    REQUIRE(ok(r).status == 200);
    return body_of(r)["id"].get<std::int64_t>();
  }

  int put_file(std::int64_t batch, const std::string& encoded_name, const std::string& data) {
    const auto r = api.Put(path("/v2/batches/" + std::to_string(batch) + "/files/" + encoded_name),
                           data, "application/octet-stream");
    return ok(r).status;
  }

  // The /_sim/state entry of one file, or null.
  json state_file(std::int64_t batch, const std::string& name) const {
    const json st = state();  // keep the document alive while iterating
    for (const auto& b : st["batches"]) {
      if (b["id"] != batch) continue;
      for (const auto& f : b["files"]) {
        if (f["name"] == name) return f;
      }
    }
    return nullptr;
  }
};

std::string url_encode_query(const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::uint64_t header_content_length(const std::string& headers) {
  std::string lower;
  for (char c : headers)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  const auto pos = lower.find("content-length:");
  if (pos == std::string::npos) return 0;
  return std::stoull(headers.substr(pos + 15));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// pieces compiled into the simulator, tested directly

TEST_CASE("sha256 matches the FIPS 180-4 test vectors") {
  CHECK(sha256::hex_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256::hex_of("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256::hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // One million 'a', fed in uneven pieces to exercise the block buffering.
  sha256 h;
  const std::string chunk(997, 'a');
  std::size_t left = 1000000;
  while (left > 0) {
    const std::size_t n = std::min(left, chunk.size());
    h.update(chunk.data(), n);
    left -= n;
  }
  CHECK(h.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(h.bytes() == 1000000u);
}

TEST_CASE("percent-decoding keeps '+' and rejects malformed escapes") {
  CHECK(aihub_sim::percent_decode("a%2Bb+c%20d").value() == "a+b+c d");
  CHECK(aihub_sim::percent_decode("%C3%A9%25").value() == "\xc3\xa9%");
  CHECK_FALSE(aihub_sim::percent_decode("%").has_value());
  CHECK_FALSE(aihub_sim::percent_decode("%4").has_value());
  CHECK_FALSE(aihub_sim::percent_decode("%zz").has_value());
  CHECK_FALSE(aihub_sim::decode_utf8("\xff").has_value());
  CHECK_FALSE(aihub_sim::decode_utf8("\xc0\xaf").has_value());      // overlong '/'
  CHECK_FALSE(aihub_sim::decode_utf8("\xed\xa0\x80").has_value());  // surrogate
  CHECK(aihub_sim::decode_utf8("\xf0\x9f\x98\x80").value().size() == 1u);
  CHECK(aihub_sim::base64_decode(aihub_sim::base64_encode("xy\xff")).value() == "xy\xff");
  CHECK_FALSE(aihub_sim::base64_decode("a b=").has_value());
}

// ---------------------------------------------------------------------------------------------
// process lifecycle

TEST_CASE("the simulator announces its API root and serves under the prefix") {
  sim_fixture f;
  CHECK(f.sim.port() > 0);
  CHECK(f.sim.api_root() == "http://127.0.0.1:" + std::to_string(f.sim.port()) + "/api");
  CHECK(ok(f.api.Get("/api/v2/batches")).status == 200);
  // Without the prefix there is no API.
  const auto outside = f.api.Get("/v2/batches");
  CHECK(ok(outside).status == 404);
  CHECK(body_of(outside).contains("message"));
  // Known path, wrong method.
  const auto wrong = f.api.Delete("/api/v2/batches");
  CHECK(ok(wrong).status == 405);
  CHECK(ok(wrong).get_header_value("Allow").find("GET") != std::string::npos);
}

TEST_CASE("an empty prefix serves the API at the root") {
  sim_fixture f({"--prefix", ""});
  CHECK(f.sim.api_root() == f.sim.base_url());
  CHECK(ok(f.api.Get("/v2/batches")).status == 200);
  CHECK(ok(f.api.Get("/api/v2/batches")).status == 404);
}

TEST_CASE("a custom prefix and token are honoured") {
  sim_fixture f({"--prefix", "/custom/root", "--token", "other-token"});
  CHECK(ok(f.api.Get("/custom/root/v2/batches")).status == 401);  // fixture sends test-token
  f.api.set_bearer_token_auth("other-token");
  CHECK(ok(f.api.Get("/custom/root/v2/batches")).status == 200);
}

TEST_CASE("the simulator refuses non-loopback hosts") {
  CHECK_THROWS_AS(simulator_process(AIHUB_SIMULATOR_PATH, {"--host", "0.0.0.0"}),
                  std::runtime_error);
}

TEST_CASE("SIGTERM and POST /_sim/shutdown both stop the simulator cleanly") {
  {
    sim_fixture f;
    CHECK(ok(f.api.Get("/api/v2/batches")).status == 200);
    CHECK(f.sim.stop());
  }
  {
    sim_fixture f;
    const auto r = f.sim.control_post("/_sim/shutdown");
    CHECK(r.status == 200);
    CHECK(f.sim.wait_for_exit());
  }
}

// ---------------------------------------------------------------------------------------------
// auth and the request log

TEST_CASE("requests without the right bearer token get 401 and the log hides credentials") {
  sim_fixture f;
  httplib::Client anon("127.0.0.1", f.sim.port());
  const auto missing = anon.Get("/api/v2/batches");
  CHECK(ok(missing).status == 401);
  CHECK(body_of(missing)["message"].is_string());

  httplib::Client wrong("127.0.0.1", f.sim.port());
  wrong.set_bearer_token_auth("not-the-token");
  CHECK(ok(wrong.Post("/api/v2/batches", R"({"name":"x"})", "application/json")).status == 401);
  CHECK(f.state()["batches"].empty());

  const auto good = f.api.Get("/api/v2/batches", httplib::Headers{{"IB-Context", "org-42"}});
  CHECK(ok(good).status == 200);

  const auto raw = f.sim.control_get("/_sim/state");
  REQUIRE(raw.status == 200);
  CHECK(raw.body.find(k_token) == std::string::npos);
  CHECK(raw.body.find("not-the-token") == std::string::npos);
  const json log = json::parse(raw.body)["requests"];
  REQUIRE(log.size() == 3u);
  CHECK(log[0]["status"] == 401);
  CHECK(log[0]["operation"] == "listBatches");
  CHECK(log[1]["status"] == 401);
  CHECK(log[1]["method"] == "POST");
  CHECK(log[2]["status"] == 200);
  CHECK(log[2]["path"] == "/api/v2/batches");
  CHECK(log[2]["ib_context"] == "org-42");
  CHECK(log[0]["ib_context"].is_null());
}

// ---------------------------------------------------------------------------------------------
// batches and jobs

TEST_CASE("batches: create, list with filters, get, delete with job progression") {
  sim_fixture f;
  const auto a = f.create_batch("alpha");
  const auto b = f.create_batch("beta", "team-ws");
  const auto c = f.create_batch("gamma", "team-ws");
  CHECK(a > 0);
  CHECK(b > a);
  CHECK(c > b);

  const json all = body_of(f.api.Get("/api/v2/batches"))["batches"];
  REQUIRE(all.size() == 3u);
  CHECK(all[0]["name"] == "alpha");
  CHECK(all[0]["workspace"] == "personal");

  const json team = body_of(f.api.Get("/api/v2/batches?workspace=team-ws"))["batches"];
  REQUIRE(team.size() == 2u);
  CHECK(team[0]["id"] == b);
  const json paged = body_of(f.api.Get("/api/v2/batches?limit=1&offset=1"))["batches"];
  REQUIRE(paged.size() == 1u);
  CHECK(paged[0]["id"] == b);
  CHECK(body_of(f.api.Get("/api/v2/batches?username=nobody"))["batches"].empty());
  CHECK(body_of(f.api.Get("/api/v2/batches?username=sim-user"))["batches"].size() == 3u);
  CHECK(ok(f.api.Get("/api/v2/batches?limit=-1")).status == 400);

  const json info = body_of(f.api.Get("/api/v2/batches/" + std::to_string(b)));
  CHECK(info["id"] == b);
  CHECK(info["name"] == "beta");
  CHECK(info["workspace"] == "team-ws");
  CHECK(info["created_at_ms"].is_number_integer());
  const auto missing = f.api.Get("/api/v2/batches/999999");
  CHECK(ok(missing).status == 404);
  CHECK(body_of(missing)["message"].is_string());

  const auto del = f.api.Delete("/api/v2/batches/" + std::to_string(b));
  CHECK(ok(del).status == 202);
  const std::string job = body_of(del)["job_id"].get<std::string>();
  CHECK(!job.empty());
  // Deletion takes effect immediately; the job still progresses over polls.
  CHECK(ok(f.api.Get("/api/v2/batches/" + std::to_string(b))).status == 404);
  CHECK(body_of(f.api.Get("/api/v2/batches/jobs/" + job))["state"] == "PENDING");
  CHECK(body_of(f.api.Get("/api/v2/jobs/" + job))["state"] == "RUNNING");
  CHECK(body_of(f.api.Get("/api/v2/batches/jobs/" + job))["state"] == "COMPLETE");
  CHECK(body_of(f.api.Get("/api/v2/jobs/" + job))["state"] == "COMPLETE");
  CHECK(ok(f.api.Get("/api/v2/jobs/no-such-job")).status == 404);
  CHECK(ok(f.api.Delete("/api/v2/batches/" + std::to_string(b))).status == 404);
  CHECK(f.state()["batches"].size() == 2u);
}

TEST_CASE("batch names are validated") {
  sim_fixture f;
  const auto post = [&](const std::string& body) {
    return ok(f.api.Post("/api/v2/batches", body, "application/json")).status;
  };
  CHECK(post(R"({})") == 400);
  CHECK(post(R"({"name": ""})") == 400);
  CHECK(post(R"({"name": 12})") == 400);
  CHECK(post(R"({"name": "x", "workspace": ""})") == 400);
  CHECK(post("not json") == 400);
  CHECK(post(R"(["name"])") == 400);
  CHECK(post("{\"name\": \"bad \xff utf8\"}") == 400);
  CHECK(post(json{{"name", std::string(256, 'n')}}.dump()) == 400);
  // 255 code points are fine even when they take 510 bytes.
  std::string wide;
  for (int i = 0; i < 255; ++i) wide += "\xc3\xa9";
  CHECK(post(json{{"name", wide}}.dump()) == 200);
  CHECK(post(json{{"name", wide + "\xc3\xa9"}}.dump()) == 400);
  CHECK(f.state()["batches"].size() == 1u);
}

// ---------------------------------------------------------------------------------------------
// files

TEST_CASE("files: upload, overwrite and sha256 in /_sim/state") {
  sim_fixture f;
  const auto batch = f.create_batch("files");
  CHECK(f.put_file(batch, "hello.txt", "hello") == 204);
  json st = f.state_file(batch, "hello.txt");
  REQUIRE(st.is_object());
  CHECK(st["size"] == 5);
  CHECK(st["sha256"] == sha256::hex_of("hello"));

  CHECK(f.put_file(batch, "hello.txt", "abc!!!") == 204);
  st = f.state_file(batch, "hello.txt");
  CHECK(st["size"] == 6);
  CHECK(st["sha256"] == sha256::hex_of("abc!!!"));

  const std::string big = pattern_bytes(3 * 1024 * 1024 + 17, 7);
  CHECK(f.put_file(batch, "big.bin", big) == 204);
  CHECK(f.state_file(batch, "big.bin")["sha256"] == sha256::hex_of(big));
  CHECK(f.put_file(batch, "empty.bin", "") == 204);
  CHECK(f.state_file(batch, "empty.bin")["size"] == 0);
  CHECK(f.put_file(987654, "x.txt", "x") == 404);
}

TEST_CASE("files: names are percent-decoded exactly and invalid names are rejected") {
  sim_fixture f;
  const auto batch = f.create_batch("names");
  // %2B is '+', a literal '+' stays '+', and spaces, '#', '?', '%' and UTF-8 round-trip.
  CHECK(f.put_file(batch, "a%2Bb+c%20d%23e%3Ff%25g%C3%A9.txt", "1") == 204);
  CHECK(f.state_file(batch, "a+b+c d#e?f%g\xc3\xa9.txt").is_object());
  CHECK(f.put_file(batch, "plus+only", "2") == 204);
  CHECK(f.state_file(batch, "plus+only").is_object());
  CHECK(f.state_file(batch, "plus only").is_null());

  const json nodes =
      body_of(f.api.Get("/api/v2/batches/" + std::to_string(batch) + "/files"))["nodes"];
  std::set<std::string> names;
  for (const auto& n : nodes) names.insert(n["name"].get<std::string>());
  CHECK(names.count("a+b+c d#e?f%g\xc3\xa9.txt") == 1u);

  const std::vector<std::string> bad_names{
      "%2F",    "a%2Fb",  "a%5Cb",  ".",      "..",
      "%2E%2E", "a%00b",  "tab%09", "del%7F", "c1%C2%85",
      "%FF",    "%C0%AF", "%zz",    "bad%",   std::string(256, 'n')};
  for (const auto& bad : bad_names) {
    CAPTURE(bad);
    CHECK(f.put_file(batch, bad, "x") == 400);
  }
  // Empty name.
  CHECK(ok(f.api.Put("/api/v2/batches/" + std::to_string(batch) + "/files/", "x",
                     "application/octet-stream"))
            .status == 400);
  std::string longest;
  for (int i = 0; i < 255; ++i) longest += "%C3%A9";
  CHECK(f.put_file(batch, longest, "x") == 204);
  CHECK(f.state()["batches"][0]["files"].size() == 3u);
}

TEST_CASE("files: pagination uses opaque tokens that must be percent-encoded") {
  sim_fixture f({"--page-size", "3"});
  const auto batch = f.create_batch("pages");
  const auto other = f.create_batch("other");
  std::set<std::string> uploaded;
  for (int i = 0; i < 5; ++i) {
    const std::string name = "file-" + std::to_string(i) + ".txt";
    CHECK(f.put_file(batch, name, std::string(static_cast<std::size_t>(i + 1), 'x')) == 204);
    uploaded.insert(name);
  }
  const std::string base = "/api/v2/batches/" + std::to_string(batch) + "/files";

  // Default page size comes from --page-size.
  const json first_default = body_of(f.api.Get(base));
  CHECK(first_default["nodes"].size() == 3u);
  CHECK(first_default["has_more"] == true);

  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  while (true) {
    const std::string target =
        base + "?page_size=2" + (token.empty() ? "" : "&start_token=" + url_encode_query(token));
    const json page = body_of(f.api.Get(target));
    ++pages;
    for (const auto& node : page["nodes"]) {
      CHECK(node["metadata"]["node_type"] == "file");
      CHECK(node["metadata"]["size"].is_number_integer());
      CHECK(node["metadata"]["modified_timestamp"].is_number_integer());
      CHECK(node["perms"]["can_read"] == true);
      CHECK(node["full_path"].get<std::string>().find(node["name"].get<std::string>()) !=
            std::string::npos);
      seen.insert(node["name"].get<std::string>());
    }
    if (!page["has_more"].get<bool>()) {
      CHECK(page["nodes"].size() == 1u);
      CHECK_FALSE(page.contains("next_page_token"));
      break;
    }
    CHECK(page["nodes"].size() == 2u);
    token = page["next_page_token"].get<std::string>();
    // Tokens carry '+', '/' and '=' on purpose.
    CHECK(token.rfind("++//", 0) == 0);
    CHECK(token.back() == '=');
    REQUIRE(pages < 10);
  }
  CHECK(pages == 3);
  CHECK(seen == uploaded);

  // Unencoded '+' arrives as a space: the token is then unknown.
  CHECK(ok(f.api.Get(base + "?start_token=" + token)).status == 400);
  CHECK(ok(f.api.Get(base + "?start_token=garbage")).status == 400);
  // A token only works for the batch it was issued for.
  CHECK(ok(f.api.Get("/api/v2/batches/" + std::to_string(other) +
                     "/files?start_token=" + url_encode_query(token)))
            .status == 400);
  CHECK(ok(f.api.Get(base + "?page_size=0")).status == 400);
  CHECK(ok(f.api.Get("/api/v2/batches/424242/files")).status == 404);
}

TEST_CASE("files: delete answers 202 with an empty body") {
  sim_fixture f;
  const auto batch = f.create_batch("del");
  CHECK(f.put_file(batch, "gone.txt", "bye") == 204);
  const auto del = f.api.Delete("/api/v2/batches/" + std::to_string(batch) + "/files/gone.txt");
  CHECK(ok(del).status == 202);
  CHECK(ok(del).body.empty());
  CHECK(f.state_file(batch, "gone.txt").is_null());
  CHECK(ok(f.api.Delete("/api/v2/batches/" + std::to_string(batch) + "/files/gone.txt")).status ==
        404);
  CHECK(ok(f.api.Delete("/api/v2/batches/31337/files/gone.txt")).status == 404);
}

TEST_CASE("files: a body cut short by the client is never stored") {
  sim_fixture f;
  const auto batch = f.create_batch("partial");
  // Promise 100000 bytes, send 1000, close: the content reader must report failure.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(f.sim.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  const std::string head = "PUT /api/v2/batches/" + std::to_string(batch) +
                           "/files/partial.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           k_token + "\r\nContent-Length: 100000\r\n\r\n";
  const std::string payload = head + std::string(1000, 'p');
  REQUIRE(::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(payload.size()));
  ::close(fd);

  json entry;
  for (int i = 0; i < 200 && entry.is_null(); ++i) {
    const json st = f.state();
    for (const auto& e : st["requests"]) {
      if (e["operation"] == "addFileToBatch") entry = e;
    }
    if (entry.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(entry.is_object());
  CHECK(entry["status"] == 400);
  CHECK(entry["body_bytes"] == 1000);
  CHECK(f.state_file(batch, "partial.bin").is_null());
}

// ---------------------------------------------------------------------------------------------
// multipart upload

namespace {

struct session_info {
  std::string id;
  std::uint64_t part_size = 0;
  std::string location;
};

session_info open_session(sim_fixture& f, const json& request) {
  const auto r = f.api.Post("/api/v2/batches/multipart-upload", request.dump(), "application/json");
  REQUIRE_MESSAGE(ok(r).status == 201, ok(r).body);
  const json body = body_of(r);
  return {body["session_id"].get<std::string>(), body["part_size"].get<std::uint64_t>(),
          ok(r).get_header_value("Location")};
}

httplib::Result put_part(sim_fixture& f, const std::string& session, std::uint64_t num,
                         const std::string& data) {
  return f.api.Put(
      "/api/v2/batches/multipart-upload/sessions/" + session + "/parts/" + std::to_string(num),
      data, "application/octet-stream");
}

httplib::Result commit(sim_fixture& f, const std::string& session, const json& body) {
  return f.api.Post("/api/v2/batches/multipart-upload/sessions/" + session, body.dump(),
                    "application/json");
}

}  // namespace

TEST_CASE("multipart: happy path assembles exactly the uploaded bytes") {
  sim_fixture f({"--part-size", "65536"});
  const auto batch = f.create_batch("mp");
  const std::string data = pattern_bytes(200000, 3);
  // file_size as a numeric string is accepted.
  const auto s = open_session(
      f, {{"batch_id", batch}, {"filename", "big file+1.bin"}, {"file_size", "200000"}});
  CHECK(s.part_size == 65536u);
  CHECK(s.location == f.sim.api_root() + "/v2/batches/multipart-upload/sessions/" + s.id);

  json parts = json::array();
  std::set<std::string> ids;
  for (std::uint64_t off = 0, num = 1; off < data.size(); off += s.part_size, ++num) {
    const auto r = put_part(f, s.id, num, data.substr(off, s.part_size));
    REQUIRE(ok(r).status == 201);
    const json body = body_of(r);
    CHECK(body["part_num"] == num);
    ids.insert(body["part_id"].get<std::string>());
    parts.push_back({{"part_num", num}, {"part_id", body["part_id"]}});
  }
  CHECK(ids.size() == 4u);

  json st = f.state();
  REQUIRE(st["multipart_sessions"].size() == 1u);
  const json& session = st["multipart_sessions"][0];
  CHECK(session["session_id"] == s.id);
  CHECK(session["batch_id"] == batch);
  CHECK(session["filename"] == "big file+1.bin");
  CHECK(session["file_size"] == 200000);
  CHECK(session["parts"].size() == 4u);
  CHECK(session["parts"][3]["size"] == 200000 - 3 * 65536);
  CHECK(session["bytes_uploaded"] == 200000);
  CHECK(f.state_file(batch, "big file+1.bin").is_null());  // not visible before commit

  const auto done = commit(f, s.id, {{"action", "commit"}, {"parts", parts}});
  CHECK(ok(done).status == 201);
  const json file = f.state_file(batch, "big file+1.bin");
  REQUIRE(file.is_object());
  CHECK(file["size"] == 200000);
  CHECK(file["sha256"] == sha256::hex_of(data));
  CHECK(f.state()["multipart_sessions"].empty());
  // The session is closed now.
  CHECK(ok(commit(f, s.id, {{"action", "commit"}, {"parts", parts}})).status == 404);
  CHECK(ok(put_part(f, s.id, 5, "x")).status == 404);
}

namespace {

json part_ref(std::uint64_t num, const std::string& id) {
  return {{"part_num", num}, {"part_id", id}};
}

std::string message_of(const httplib::Result& r) {
  const json body = body_of(r);
  REQUIRE_MESSAGE(body.contains("message"), body.dump());
  return body["message"].get<std::string>();
}

// The /_sim/state entry of the only open multipart session.
json only_session(const sim_fixture& f) {
  const json sessions = f.state()["multipart_sessions"];
  REQUIRE(sessions.size() == 1u);
  return sessions[0];
}

// A part upload over a raw socket whose body is sent in two steps, so a test decides when the
// simulator finishes receiving it (and so when the part number stops being "in flight").
class held_part_upload {
 public:
  held_part_upload(int port, const std::string& session, std::uint64_t num, const std::string& data,
                   std::size_t first_bytes)
      : rest_(data.substr(first_bytes)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{};
    tv.tv_sec = 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
    send_all("PUT /api/v2/batches/multipart-upload/sessions/" + session + "/parts/" +
             std::to_string(num) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + k_token +
             "\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n"
             "Content-Length: " +
             std::to_string(data.size()) + "\r\n\r\n" + data.substr(0, first_bytes));
  }
  held_part_upload(const held_part_upload&) = delete;
  held_part_upload& operator=(const held_part_upload&) = delete;
  ~held_part_upload() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Sends the rest of the body and returns the status and body of the response.
  std::pair<int, std::string> finish() {
    send_all(rest_);
    std::string raw;
    char buf[4096];
    while (true) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd_);
    fd_ = -1;
    REQUIRE_MESSAGE(raw.rfind("HTTP/1.1 ", 0) == 0, raw);
    const auto head_end = raw.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    return {std::atoi(raw.c_str() + 9), raw.substr(head_end + 4)};
  }

 private:
  void send_all(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      sent += static_cast<std::size_t>(n);
    }
  }

  int fd_ = -1;
  std::string rest_;
};

// Waits until the simulator reports part `num` of the only session as being received.
void wait_in_flight(const sim_fixture& f, std::uint64_t num) {
  for (int i = 0; i < 500; ++i) {
    const json session = only_session(f);  // keep it alive while iterating
    for (const auto& n : session.value("parts_in_flight", json::array())) {
      if (n == num) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("part " << num << " never showed up in parts_in_flight");
}

}  // namespace

TEST_CASE("multipart: parts may arrive in any order and are assembled by part number") {
  sim_fixture f({"--part-size", "4"});
  CHECK(json::parse(f.sim.control_get("/_sim/config").body)["strict_part_order"] == false);
  const auto batch = f.create_batch("ooo");
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "o.bin"}, {"file_size", 10}});

  const auto r3 = put_part(f, s.id, 3, "CC");
  REQUIRE(ok(r3).status == 201);
  CHECK(body_of(r3)["part_num"] == 3);
  const std::string id3 = body_of(r3)["part_id"];
  const std::string id1 = body_of(put_part(f, s.id, 1, "AAAA"))["part_id"];

  // /_sim/state lists the parts by part number, not by arrival.
  json session = only_session(f);
  CHECK(session["part_count"] == 3);
  CHECK(session["bytes_uploaded"] == 6);
  REQUIRE(session["parts"].size() == 2u);
  CHECK(session["parts"][0] == json{{"part_num", 1}, {"part_id", id1}, {"size", 4}});
  CHECK(session["parts"][1] == json{{"part_num", 3}, {"part_id", id3}, {"size", 2}});
  CHECK(session["parts_in_flight"].empty());

  const std::string id2 = body_of(put_part(f, s.id, 2, "BBBB"))["part_id"];
  session = only_session(f);
  REQUIRE(session["parts"].size() == 3u);
  CHECK(session["parts"][1]["part_num"] == 2);
  CHECK(session["parts"][1]["part_id"] == id2);
  CHECK(session["bytes_uploaded"] == 10);

  const auto done = commit(
      f, s.id,
      {{"action", "commit"}, {"parts", {part_ref(1, id1), part_ref(2, id2), part_ref(3, id3)}}});
  CHECK(ok(done).status == 201);
  const json file = f.state_file(batch, "o.bin");
  REQUIRE(file.is_object());
  CHECK(file["size"] == 10);
  CHECK(file["sha256"] == sha256::hex_of("AAAABBBBCC"));
}

TEST_CASE("multipart: re-uploading any part replaces it and invalidates the old id") {
  sim_fixture f({"--part-size", "4"});
  const auto batch = f.create_batch("retry");
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "r.bin"}, {"file_size", 10}});
  const std::string a1 = body_of(put_part(f, s.id, 1, "AAAA"))["part_id"];
  const std::string b2 = body_of(put_part(f, s.id, 2, "BBBB"))["part_id"];
  const std::string c3 = body_of(put_part(f, s.id, 3, "CC"))["part_id"];
  // Replace an early part after later ones have arrived.
  const std::string x1 = body_of(put_part(f, s.id, 1, "XXXX"))["part_id"];
  CHECK(x1 != a1);
  CHECK(only_session(f)["parts"][0]["part_id"] == x1);
  CHECK(only_session(f)["parts"].size() == 3u);

  const auto stale = commit(
      f, s.id,
      {{"action", "commit"}, {"parts", {part_ref(1, a1), part_ref(2, b2), part_ref(3, c3)}}});
  CHECK(ok(stale).status == 400);
  CHECK(message_of(stale).find("parts[0].part_id is not the current id of part 1") !=
        std::string::npos);
  CHECK(f.state()["multipart_sessions"].size() == 1u);  // a failed commit keeps the session

  CHECK(ok(commit(f, s.id,
                  {{"action", "commit"},
                   {"parts", {part_ref(1, x1), part_ref(2, b2), part_ref(3, c3)}}}))
            .status == 201);
  CHECK(f.state_file(batch, "r.bin")["sha256"] == sha256::hex_of("XXXXBBBBCC"));
}

TEST_CASE("multipart: wrong sizes, part numbers beyond the count and bad commit lists") {
  sim_fixture f({"--part-size", "1000"});
  const auto batch = f.create_batch("checks");

  // Session creation validation.
  const auto create = [&](const json& req) {
    return ok(f.api.Post("/api/v2/batches/multipart-upload", req.dump(), "application/json"))
        .status;
  };
  CHECK(create({{"batch_id", batch}, {"filename", "a"}, {"file_size", 0}}) == 400);
  CHECK(create({{"batch_id", batch}, {"filename", "a"}, {"file_size", "12x"}}) == 400);
  CHECK(create({{"batch_id", batch}, {"filename", "a"}, {"file_size", -5}}) == 400);
  CHECK(create({{"batch_id", batch}, {"filename", "a"}, {"file_size", 1.5}}) == 400);
  CHECK(create({{"batch_id", batch}, {"filename", "a"}}) == 400);
  CHECK(create({{"batch_id", batch}, {"filename", "a/b"}, {"file_size", 10}}) == 400);
  CHECK(create({{"filename", "a"}, {"file_size", 10}}) == 400);
  CHECK(create({{"batch_id", 777777}, {"filename", "a"}, {"file_size", 10}}) == 404);

  // 2500 bytes in parts of 1000: parts 1 and 2 of 1000 bytes, part 3 of 500.
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "s.bin"}, {"file_size", 2500}});
  CHECK(s.part_size == 1000u);
  const std::string full(1000, 'f');
  const std::string tail(500, 'z');

  CHECK(ok(put_part(f, s.id, 0, full)).status == 400);
  const auto beyond = put_part(f, s.id, 4, full);
  CHECK(ok(beyond).status == 400);
  CHECK(message_of(beyond).find("beyond the last part") != std::string::npos);
  CHECK(message_of(beyond).find("makes 3 parts") != std::string::npos);
  CHECK(ok(put_part(f, s.id, 1, "")).status == 400);
  const auto short1 = put_part(f, s.id, 1, std::string(999, 's'));
  CHECK(ok(short1).status == 400);
  CHECK(message_of(short1).find("exactly part_size (1000 bytes)") != std::string::npos);
  CHECK(ok(put_part(f, s.id, 2, std::string(1001, 'x'))).status == 400);
  CHECK(ok(put_part(f, s.id, 3, std::string(499, 'x'))).status == 400);
  CHECK(ok(put_part(f, s.id, 3, std::string(501, 'x'))).status == 400);
  const auto long3 = put_part(f, s.id, 3, full);
  CHECK(ok(long3).status == 400);
  CHECK(message_of(long3).find("must be exactly 500 bytes") != std::string::npos);
  CHECK(only_session(f)["parts"].empty());  // nothing above was stored

  // Parts 1 and 3, with a gap at 2.
  const std::string id1 = body_of(put_part(f, s.id, 1, full))["part_id"];
  const std::string id3 = body_of(put_part(f, s.id, 3, tail))["part_id"];
  const json p1 = part_ref(1, id1);
  const json p3 = part_ref(3, id3);
  const auto gap =
      commit(f, s.id, {{"action", "commit"}, {"parts", {p1, part_ref(2, "part-bogus"), p3}}});
  CHECK(ok(gap).status == 400);
  CHECK(message_of(gap).find("part 2 of 3 has not been uploaded") != std::string::npos);
  const auto skipped = commit(f, s.id, {{"action", "commit"}, {"parts", {p1, p3}}});
  CHECK(ok(skipped).status == 400);
  CHECK(message_of(skipped).find("parts[1].part_num is 3 but must be 2") != std::string::npos);
  const auto partial = commit(f, s.id, {{"action", "commit"}, {"parts", {p1}}});
  CHECK(ok(partial).status == 400);
  CHECK(message_of(partial).find("not uploaded yet: 2") != std::string::npos);

  const std::string id2 = body_of(put_part(f, s.id, 2, full))["part_id"];
  const json p2 = part_ref(2, id2);
  const auto few = commit(f, s.id, {{"action", "commit"}, {"parts", {p1, p2}}});
  CHECK(ok(few).status == 400);
  CHECK(message_of(few).find("parts lists 2 parts but the file has 3") != std::string::npos);
  const auto swapped = commit(f, s.id, {{"action", "commit"}, {"parts", {p2, p1, p3}}});
  CHECK(ok(swapped).status == 400);
  CHECK(message_of(swapped).find("parts[0].part_num is 2 but must be 1") != std::string::npos);
  CHECK(ok(commit(f, s.id, {{"action", "commit"}, {"parts", {p1, p1, p3}}})).status == 400);
  const auto many = commit(f, s.id, {{"action", "commit"}, {"parts", {p1, p2, p3, p3}}});
  CHECK(ok(many).status == 400);
  CHECK(message_of(many).find("has only 3") != std::string::npos);
  CHECK(ok(commit(f, s.id, {{"action", "commit"}, {"parts", {p1, p2, part_ref(3, id2)}}})).status ==
        400);
  CHECK(
      ok(commit(f, s.id, {{"action", "commit"}, {"parts", {p1, p2, {{"part_num", 3}}}}})).status ==
      400);
  CHECK(ok(commit(f, s.id, {{"action", "commit"}, {"parts", {p1, p2, "x"}}})).status == 400);
  CHECK(ok(commit(f, s.id, {{"action", "commit"}})).status == 400);
  CHECK(ok(commit(f, s.id, {{"action", "finish"}})).status == 400);
  CHECK(f.state()["multipart_sessions"].size() == 1u);
  CHECK(f.state_file(batch, "s.bin").is_null());

  CHECK(ok(commit(f, s.id, {{"action", "commit"}, {"parts", {p1, p2, p3}}})).status == 201);
  CHECK(f.state_file(batch, "s.bin")["sha256"] == sha256::hex_of(full + full + tail));

  CHECK(ok(put_part(f, "no-such-session", 1, "x")).status == 404);
  CHECK(ok(commit(f, "no-such-session", {{"action", "abort"}})).status == 404);
}

TEST_CASE("multipart: different parts of one session upload concurrently") {
  for (const bool discard : {false, true}) {
    CAPTURE(discard);
    std::vector<std::string> args{"--part-size", "262144"};
    if (discard) args.emplace_back("--discard-content");
    sim_fixture f(args);
    const auto batch = f.create_batch("parallel-parts");
    constexpr std::uint64_t k_parts = 8;
    const std::string data = pattern_bytes(7 * 262144 + 1234, discard ? 21 : 22);
    const auto s =
        open_session(f, {{"batch_id", batch}, {"filename", "p.bin"}, {"file_size", data.size()}});

    std::vector<int> status(k_parts, 0);
    std::vector<std::string> ids(k_parts);
    std::atomic<std::uint64_t> ready{0};
    std::vector<std::thread> threads;
    // Highest part numbers first, so arrival is out of order even without overlap.
    for (std::uint64_t i = 0; i < k_parts; ++i) {
      const std::uint64_t n = k_parts - i;
      threads.emplace_back([&, n] {
        httplib::Client c("127.0.0.1", f.sim.port());
        c.set_bearer_token_auth(k_token);
        const std::string body = data.substr((n - 1) * 262144, 262144);
        ++ready;
        while (ready.load() < k_parts) std::this_thread::yield();
        const auto r = c.Put(
            "/api/v2/batches/multipart-upload/sessions/" + s.id + "/parts/" + std::to_string(n),
            body, "application/octet-stream");
        if (!r) return;
        status[n - 1] = r->status;
        const json j = json::parse(r->body, nullptr, false);
        if (r->status == 201 && j.is_object()) ids[n - 1] = j.value("part_id", "");
      });
    }
    for (auto& t : threads) t.join();
    json parts = json::array();
    for (std::uint64_t n = 1; n <= k_parts; ++n) {
      CAPTURE(n);
      CHECK(status[n - 1] == 201);
      parts.push_back(part_ref(n, ids[n - 1]));
    }
    if (discard) CHECK(only_session(f)["folded_parts"] == k_parts - 1);
    CHECK(ok(commit(f, s.id, {{"action", "commit"}, {"parts", parts}})).status == 201);
    const json file = f.state_file(batch, "p.bin");
    REQUIRE(file.is_object());
    CHECK(file["size"] == data.size());
    CHECK(file["sha256"] == sha256::hex_of(data));
  }
}

TEST_CASE("multipart: a part number being received refuses a second upload, others proceed") {
  sim_fixture f({"--part-size", "100"});
  const auto batch = f.create_batch("in-flight");
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "i.bin"}, {"file_size", 250}});
  const std::string two(100, '2');
  held_part_upload slow(f.sim.port(), s.id, 2, two, 40);
  wait_in_flight(f, 2);

  const auto twice = put_part(f, s.id, 2, two);
  CHECK(ok(twice).status == 409);
  CHECK(message_of(twice).find("already being uploaded") != std::string::npos);
  // Other part numbers are not held up while part 2 is still arriving.
  const std::string id3 = body_of(put_part(f, s.id, 3, std::string(50, '3')))["part_id"];
  const std::string id1 = body_of(put_part(f, s.id, 1, std::string(100, '1')))["part_id"];
  CHECK(only_session(f)["parts_in_flight"] == json::array({2}));

  const auto [status, body] = slow.finish();
  REQUIRE(status == 201);
  const std::string id2 = json::parse(body)["part_id"];
  CHECK(only_session(f)["parts_in_flight"].empty());
  CHECK(ok(commit(f, s.id,
                  {{"action", "commit"},
                   {"parts", {part_ref(1, id1), part_ref(2, id2), part_ref(3, id3)}}}))
            .status == 201);
  CHECK(f.state_file(batch, "i.bin")["sha256"] ==
        sha256::hex_of(std::string(100, '1') + two + std::string(50, '3')));
}

TEST_CASE("multipart: --strict-part-order enforces the arrival order") {
  sim_fixture f({"--part-size", "4", "--strict-part-order"});
  CHECK(json::parse(f.sim.control_get("/_sim/config").body)["strict_part_order"] == true);
  const auto batch = f.create_batch("strict");
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "r.bin"}, {"file_size", 10}});
  CHECK(only_session(f)["strict_part_order"] == true);

  const auto early = put_part(f, s.id, 2, "BBBB");
  CHECK(ok(early).status == 400);
  CHECK(message_of(early).find("expected 1, got 2") != std::string::npos);
  const std::string first_id = body_of(put_part(f, s.id, 1, "AAAA"))["part_id"];
  const std::string second_id = body_of(put_part(f, s.id, 1, "BBBB"))["part_id"];  // replaces
  CHECK(first_id != second_id);
  CHECK(ok(put_part(f, s.id, 3, "CC")).status == 400);  // gap
  const std::string mid_id = body_of(put_part(f, s.id, 2, "CCCC"))["part_id"];
  // Only the most recent part may be re-sent.
  const auto older = put_part(f, s.id, 1, "DDDD");
  CHECK(ok(older).status == 400);
  CHECK(message_of(older).find("or 2 to replace the most recent part") != std::string::npos);
  const std::string mid_id2 = body_of(put_part(f, s.id, 2, "EEEE"))["part_id"];
  const std::string last_id = body_of(put_part(f, s.id, 3, "FF"))["part_id"];

  CHECK(ok(commit(f, s.id,
                  {{"action", "commit"},
                   {"parts", {part_ref(1, first_id), part_ref(2, mid_id2), part_ref(3, last_id)}}}))
            .status == 400);
  CHECK(ok(commit(f, s.id,
                  {{"action", "commit"},
                   {"parts", {part_ref(1, second_id), part_ref(2, mid_id), part_ref(3, last_id)}}}))
            .status == 400);
  CHECK(
      ok(commit(f, s.id,
                {{"action", "commit"},
                 {"parts", {part_ref(1, second_id), part_ref(2, mid_id2), part_ref(3, last_id)}}}))
          .status == 201);
  CHECK(f.state_file(batch, "r.bin")["sha256"] == sha256::hex_of("BBBBEEEEFF"));
}

TEST_CASE("multipart: strict order with --discard-content can still replace the newest part") {
  sim_fixture f({"--part-size", "4", "--strict-part-order", "--discard-content"});
  const auto batch = f.create_batch("strict-discard");
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "sd.bin"}, {"file_size", 10}});
  const std::string a1 = body_of(put_part(f, s.id, 1, "AAAA"))["part_id"];
  CHECK(ok(put_part(f, s.id, 2, "zzzz")).status == 201);
  CHECK(only_session(f)["folded_parts"] == 1);
  const std::string b2 = body_of(put_part(f, s.id, 2, "BBBB"))["part_id"];  // different bytes
  CHECK(ok(put_part(f, s.id, 1, "AAAA")).status == 400);  // strict: not the most recent part
  const std::string c3 = body_of(put_part(f, s.id, 3, "CC"))["part_id"];
  CHECK(ok(commit(f, s.id,
                  {{"action", "commit"},
                   {"parts", {part_ref(1, a1), part_ref(2, b2), part_ref(3, c3)}}}))
            .status == 201);
  CHECK(f.state_file(batch, "sd.bin")["sha256"] == sha256::hex_of("AAAABBBBCC"));
}

TEST_CASE("multipart: strict order re-checks a part that another part overtook") {
  sim_fixture f({"--part-size", "100", "--strict-part-order"});
  const auto batch = f.create_batch("overtaken");
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "o.bin"}, {"file_size", 250}});
  CHECK(ok(put_part(f, s.id, 1, std::string(100, '1'))).status == 201);
  CHECK(ok(put_part(f, s.id, 2, std::string(100, '2'))).status == 201);
  // Re-send part 2 (allowed: the most recent part), but let part 3 land first.
  held_part_upload resend(f.sim.port(), s.id, 2, std::string(100, 'x'), 10);
  wait_in_flight(f, 2);
  CHECK(ok(put_part(f, s.id, 3, std::string(50, '3'))).status == 201);
  const auto [status, body] = resend.finish();
  CHECK(status == 409);
  CHECK(body.find("changed while this part was uploading") != std::string::npos);
  CHECK(only_session(f)["parts"][1]["size"] == 100);
}

TEST_CASE("multipart: strict_part_order via /_sim/config applies to new sessions") {
  sim_fixture f({"--part-size", "4"});
  const auto batch = f.create_batch("cfg-strict");
  const auto lax = open_session(f, {{"batch_id", batch}, {"filename", "a"}, {"file_size", 10}});
  f.config({{"strict_part_order", true}});
  CHECK(json::parse(f.sim.control_get("/_sim/config").body)["strict_part_order"] == true);
  const auto strict = open_session(f, {{"batch_id", batch}, {"filename", "b"}, {"file_size", 10}});
  CHECK(ok(put_part(f, strict.id, 2, "BBBB")).status == 400);
  CHECK(ok(put_part(f, lax.id, 2, "BBBB")).status == 201);  // created before the change
  f.config({{"strict_part_order", false}});
  const auto lax2 = open_session(f, {{"batch_id", batch}, {"filename", "c"}, {"file_size", 10}});
  CHECK(ok(put_part(f, lax2.id, 3, "CC")).status == 201);
  CHECK(f.sim.control_post("/_sim/config", R"({"strict_part_order": "yes"})").status == 400);
  CHECK(f.sim.control_post("/_sim/config", R"({"strict_part_order": 1})").status == 400);
  CHECK(json::parse(f.sim.control_get("/_sim/config").body)["strict_part_order"] == false);
  CHECK_THROWS_AS(simulator_process(AIHUB_SIMULATOR_PATH, {"--strict-part-order=yes"}),
                  std::runtime_error);
}

TEST_CASE("multipart: abort discards the session and its parts") {
  sim_fixture f({"--part-size", "8"});
  const auto batch = f.create_batch("abort");
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "x.bin"}, {"file_size", 10}});
  CHECK(ok(put_part(f, s.id, 1, "12345678")).status == 201);
  CHECK(f.state()["multipart_sessions"].size() == 1u);
  CHECK(ok(commit(f, s.id, {{"action", "abort"}})).status == 201);
  CHECK(f.state()["multipart_sessions"].empty());
  CHECK(f.state_file(batch, "x.bin").is_null());
  const auto after = put_part(f, s.id, 2, "90");
  CHECK(ok(after).status == 404);
  CHECK(body_of(after)["message"].is_string());
}

TEST_CASE("part_size can be changed at runtime via /_sim/config") {
  sim_fixture f;
  const auto batch = f.create_batch("cfg");
  CHECK(open_session(f, {{"batch_id", batch}, {"filename", "a"}, {"file_size", 5}}).part_size ==
        10485760u);
  f.config({{"part_size", 3}});
  CHECK(open_session(f, {{"batch_id", batch}, {"filename", "b"}, {"file_size", 5}}).part_size ==
        3u);
  CHECK(f.sim.control_post("/_sim/config", R"({"part_size": 0})").status == 400);
  CHECK(f.sim.control_post("/_sim/config", R"({"no_such_key": 1})").status == 400);
  CHECK(json::parse(f.sim.control_get("/_sim/config").body)["part_size"] == 3);
}

// ---------------------------------------------------------------------------------------------
// fault injection

TEST_CASE("faults: status answers, Retry-After, counts and ordering") {
  sim_fixture f;
  const auto batch = f.create_batch("faults");
  const std::string get = "/api/v2/batches/" + std::to_string(batch);
  f.fault({{"operation", "getBatch"},
           {"count", 2},
           {"action", "status"},
           {"status", 503},
           {"retry_after", "2"}});
  // Other operations do not consume the rule.
  CHECK(ok(f.api.Get("/api/v2/batches")).status == 200);
  CHECK(json::parse(f.sim.control_get("/_sim/faults").body)["faults"][0]["remaining"] == 2);
  for (int i = 0; i < 2; ++i) {
    const auto r = f.api.Get(get);
    CHECK(ok(r).status == 503);
    CHECK(ok(r).get_header_value("Retry-After") == "2");
    CHECK(body_of(r)["message"].is_string());
  }
  CHECK(ok(f.api.Get(get)).status == 200);
  CHECK(json::parse(f.sim.control_get("/_sim/faults").body)["faults"].empty());

  // Rules apply in order; '*' matches any operation.
  f.fault({{"operation", "getBatch"}, {"action", "status"}, {"status", 500}});
  f.fault({{"operation", "*"}, {"action", "status"}, {"status", 429}, {"retry_after", 1}});
  CHECK(ok(f.api.Get(get)).status == 500);
  const auto limited = f.api.Get("/api/v2/batches");
  CHECK(ok(limited).status == 429);
  CHECK(ok(limited).get_header_value("Retry-After") == "1");
  CHECK(ok(f.api.Get(get)).status == 200);

  // 403: consumption units ran out.
  f.fault({{"operation", "runApp"}, {"action", "status"}, {"status", 403}});
  CHECK(ok(f.api.Post("/api/v2/apps/runs", json{{"app_name", "a"}, {"batch_id", batch}}.dump(),
                      "application/json"))
            .status == 403);

  // DELETE clears.
  f.fault({{"operation", "getBatch"}, {"count", 5}, {"action", "status"}});
  CHECK(f.sim.control_delete("/_sim/faults").status == 200);
  CHECK(ok(f.api.Get(get)).status == 200);

  // Bad rules are refused.
  CHECK(
      f.sim.control_post("/_sim/faults", R"({"operation":"noSuchOp","action":"status"})").status ==
      400);
  CHECK(
      f.sim.control_post("/_sim/faults", R"({"operation":"getBatch","action":"explode"})").status ==
      400);
  CHECK(
      f.sim.control_post("/_sim/faults", R"({"operation":"getBatch","action":"status","count":0})")
          .status == 400);

  CHECK(f.sim
            .control_post("/_sim/faults",
                          R"({"operation":"getBatch","action":"status","status":204})")
            .status == 400);
  // A batch of rules in one request.
  CHECK(
      f.sim
          .control_post(
              "/_sim/faults",
              R"({"rules":[{"operation":"listFiles","action":"delay","delay_ms":1},{"operation":"listRuns","action":"drop"}]})")
          .status == 201);
  CHECK(json::parse(f.sim.control_get("/_sim/faults").body)["faults"].size() == 2u);
  CHECK(f.sim.control_delete("/_sim/faults").status == 200);

  const json log = f.state()["requests"];
  int faulted = 0;
  for (const auto& e : log) {
    if (e["fault"] == "status") ++faulted;
  }
  CHECK(faulted == 5);
}

TEST_CASE("faults: delay holds the response, then answers normally") {
  sim_fixture f;
  f.fault({{"operation", "listBatches"}, {"action", "delay"}, {"delay_ms", 600}});
  const auto start = std::chrono::steady_clock::now();
  CHECK(ok(f.api.Get("/api/v2/batches")).status == 200);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= std::chrono::milliseconds(550));
  const auto start2 = std::chrono::steady_clock::now();
  CHECK(ok(f.api.Get("/api/v2/batches")).status == 200);
  CHECK(std::chrono::steady_clock::now() - start2 < std::chrono::milliseconds(500));
}

TEST_CASE("faults: drop cuts uploads mid-body and truncates other responses") {
  sim_fixture f({"--part-size", "1048576"});
  const auto batch = f.create_batch("drop");

  SUBCASE("upload dropped mid-body stores nothing") {
    f.fault({{"operation", "addFileToBatch"}, {"action", "drop"}});
    const std::string data = pattern_bytes(4 * 1024 * 1024, 9);
    const auto r = f.api.Put("/api/v2/batches/" + std::to_string(batch) + "/files/d.bin", data,
                             "application/octet-stream");
    CHECK_FALSE(static_cast<bool>(r));
    CHECK(f.state_file(batch, "d.bin").is_null());
    json entry;
    const json st = f.state();
    for (const auto& e : st["requests"]) {
      if (e["operation"] == "addFileToBatch") entry = e;
    }
    REQUIRE(entry.is_object());
    CHECK(entry["fault"] == "drop");
    CHECK(entry["status"] == 0);
    CHECK(entry["body_bytes"].get<std::uint64_t>() < data.size());
    // The next attempt goes through.
    CHECK(f.put_file(batch, "d.bin", data) == 204);
    CHECK(f.state_file(batch, "d.bin")["sha256"] == sha256::hex_of(data));
  }

  SUBCASE("an upload drop closes the connection without any response bytes") {
    f.fault({{"operation", "addFileToBatch"}, {"action", "drop"}});
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    timeval tv{};
    tv.tv_sec = 10;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(f.sim.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
    const std::string body(2 * 1024 * 1024, 'b');
    const std::string request = "PUT /api/v2/batches/" + std::to_string(batch) +
                                "/files/raw.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                k_token + "\r\nContent-Length: " + std::to_string(body.size()) +
                                "\r\n\r\n" + body;
    std::size_t sent = 0;
    while (sent < request.size()) {
      const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the simulator cut the connection under us
      sent += static_cast<std::size_t>(n);
    }
    std::string received;
    char buf[4096];
    while (true) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      received.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    CHECK(received.empty());
    CHECK(f.state_file(batch, "raw.bin").is_null());
  }

  SUBCASE("multipart part dropped, then retried") {
    const auto s =
        open_session(f, {{"batch_id", batch}, {"filename", "m.bin"}, {"file_size", 1500000}});
    f.fault({{"operation", "uploadMultipartPart"}, {"action", "drop"}});
    const std::string part1 = pattern_bytes(1048576, 1);
    CHECK_FALSE(static_cast<bool>(put_part(f, s.id, 1, part1)));
    CHECK(f.state()["multipart_sessions"][0]["parts"].empty());
    CHECK(ok(put_part(f, s.id, 1, part1)).status == 201);
  }

  SUBCASE("plain response cut short: Content-Length larger than the body") {
    f.fault({{"operation", "listBatches"}, {"action", "drop"}});
    CHECK_FALSE(static_cast<bool>(f.api.Get("/api/v2/batches")));
    f.fault({{"operation", "listBatches"}, {"action", "drop"}});
    const auto raw =
        aihub_test::loopback_request(f.sim.port(), "GET", "/api/v2/batches", {},
                                     {std::string("Authorization: Bearer ") + k_token});
    REQUIRE(raw.status > 0);
    CHECK(raw.body.size() < header_content_length(raw.headers));
    CHECK(ok(f.api.Get("/api/v2/batches")).status == 200);
  }

  SUBCASE("drop without processing has no side effect; with process it has") {
    f.fault({{"operation", "createBatch"}, {"action", "drop"}});
    CHECK_FALSE(
        static_cast<bool>(f.api.Post("/api/v2/batches", R"({"name":"lost"})", "application/json")));
    CHECK(f.state()["batches"].size() == 1u);
    f.fault({{"operation", "createBatch"}, {"action", "drop"}, {"process", true}});
    CHECK_FALSE(
        static_cast<bool>(f.api.Post("/api/v2/batches", R"({"name":"made"})", "application/json")));
    const json batches = f.state()["batches"];
    REQUIRE(batches.size() == 2u);
    CHECK(batches[1]["name"] == "made");
  }
}

TEST_CASE("faults: lost_answer applies the request, then closes before a byte of answer") {
  sim_fixture f;
  f.fault({{"operation", "createBatch"}, {"action", "lost_answer"}});
  // Over one kept-alive connection, as a client's pool would reuse it: a first request answered
  // in full, then the POST whose answer is lost.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{};
  tv.tv_sec = 10;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(f.sim.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  auto send_all = [&](const std::string& bytes) {
    for (std::size_t sent = 0; sent < bytes.size();) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  };
  const std::string auth = std::string("Authorization: Bearer ") + k_token + "\r\n";
  REQUIRE(send_all("GET /api/v2/batches HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"));
  std::string first;
  char buf[4096];
  std::size_t head_end = std::string::npos;
  while (head_end == std::string::npos ||
         first.size() < head_end + 4 + header_content_length(first.substr(0, head_end))) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    REQUIRE(n > 0);
    first.append(buf, static_cast<std::size_t>(n));
    head_end = first.find("\r\n\r\n");
  }
  CHECK(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(first.find("\r\nDate: ") != std::string::npos);  // what clients date stored files by

  const std::string body = R"({"name":"applied"})";
  REQUIRE(send_all("POST /api/v2/batches HTTP/1.1\r\nHost: x\r\n" + auth +
                   "Content-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body));
  std::string second;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    second.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  CHECK(second.empty());
  const json st = f.state();
  REQUIRE(st["batches"].size() == 1u);
  CHECK(st["batches"][0]["name"] == "applied");
  json entry;
  for (const auto& e : st["requests"])
    if (e["operation"] == "createBatch") entry = e;
  REQUIRE(entry.is_object());
  CHECK(entry["fault"] == "lost_answer");
  CHECK(entry["status"] == 0);
}

// ---------------------------------------------------------------------------------------------
// runs

TEST_CASE("runs: progression, nanosecond timestamps, listing and results pagination") {
  sim_fixture f;
  f.config({{"results_page_size", 2}, {"run_running_polls", 2}});
  const auto batch = f.create_batch("inputs");
  std::set<std::string> uploaded;
  for (int i = 0; i < 5; ++i) {
    const std::string name = "doc" + std::to_string(i) + ".pdf";
    CHECK(f.put_file(batch, name, "content " + std::to_string(i)) == 204);
    uploaded.insert(name);
  }
  const auto post_run = [&](const json& body) {
    return f.api.Post("/api/v2/apps/runs", body.dump(), "application/json");
  };
  CHECK(ok(post_run({{"app_name", "a"}, {"app_id", "b"}, {"batch_id", batch}})).status == 400);
  CHECK(ok(post_run({{"batch_id", batch}})).status == 400);
  CHECK(ok(post_run({{"app_name", "a"}, {"batch_id", batch}, {"input_dir", "x/y"}})).status == 400);
  CHECK(ok(post_run({{"app_name", "a"}})).status == 400);
  CHECK(ok(post_run({{"app_name", "a"}, {"batch_id", 99999}})).status == 404);
  CHECK(ok(post_run({{"app_name", "a"}, {"batch_id", batch}, {"tags", {1, 2}}})).status == 400);
  CHECK(ok(post_run({{"app_name", "a"}, {"batch_id", batch}, {"tags", {std::string(501, 't')}}}))
            .status == 400);

  const auto created = post_run({{"app_name", "Invoice App"},
                                 {"batch_id", batch},
                                 {"owner", "instabase"},
                                 {"version", "1.0.0"},
                                 {"output_workspace", "ws-out"},
                                 {"tags", {"nightly", "sim"}},
                                 {"settings", {{"keys", {{"custom", {{"k", "v"}}}}}}}});
  CHECK(ok(created).status == 200);
  const json run = body_of(created);
  const std::string run_id = run["id"].get<std::string>();
  CHECK(run["status"] == "RUNNING");
  CHECK(run["finish_timestamp"].is_null());
  CHECK(run["batch_id"] == batch);
  CHECK(run["batch_id"].is_number_integer());
  CHECK(run["msg"].is_string());
  CHECK(run["tags"] == json({"nightly", "sim"}));
  const auto start = run["start_timestamp"].get<std::int64_t>();
  CHECK(start > (std::int64_t{1} << 53));
  CHECK(start % 2 == 1);  // odd: cannot survive a round-trip through double

  CHECK(body_of(f.api.Get("/api/v2/apps/runs/" + run_id))["status"] == "RUNNING");
  // Results of a running run have no files yet.
  const json early = body_of(f.api.Get("/api/v2/apps/runs/" + run_id + "/results"));
  CHECK(early["files"].empty());
  CHECK(early["has_more"] == false);
  CHECK(body_of(f.api.Get("/api/v2/apps/runs/" + run_id))["status"] == "RUNNING");
  const json done = body_of(f.api.Get("/api/v2/apps/runs/" + run_id));
  CHECK(done["status"] == "COMPLETE");
  const auto finish = done["finish_timestamp"].get<std::int64_t>();
  CHECK(finish > start);
  CHECK(done["start_timestamp"].get<std::int64_t>() == start);
  CHECK(ok(f.api.Get("/api/v2/apps/runs/nope")).status == 404);

  // Results: batch_id is a string here, "message" not "msg", paginated by file_offset.
  const std::string results = "/api/v2/apps/runs/" + run_id + "/results";
  const json page1 = body_of(f.api.Get(results));
  CHECK(page1["id"] == run_id);
  CHECK(page1["status"] == "COMPLETE");
  CHECK(page1["batch_id"] == std::to_string(batch));
  CHECK(page1["message"].is_string());
  CHECK_FALSE(page1.contains("msg"));
  CHECK(page1["has_more"] == true);
  CHECK(page1["keys"]["custom"]["k"] == "v");
  CHECK(page1["start_timestamp"].get<std::int64_t>() == start);
  REQUIRE(page1["files"].size() == 2u);
  const json& doc = page1["files"][0]["documents"][0];
  CHECK(doc["fields"].size() >= 2u);
  CHECK_FALSE(doc.contains("classification_confidence"));
  CHECK_FALSE(doc.contains("validations"));
  CHECK_FALSE(doc.contains("page_layouts"));
  CHECK_FALSE(doc.contains("class_edit_history"));
  CHECK_FALSE(doc["fields"][0].contains("confidence"));
  CHECK_FALSE(doc["fields"][0].contains("source_coordinates"));

  std::set<std::string> result_names;
  std::uint64_t offset = 0;
  int pages = 0;
  while (true) {
    const json page = body_of(f.api.Get(results + "?file_offset=" + std::to_string(offset)));
    ++pages;
    for (const auto& file : page["files"]) {
      result_names.insert(file["original_file_name"].get<std::string>());
      CHECK(file["documents"].size() >= 1u);
    }
    offset += page["files"].size();
    if (!page["has_more"].get<bool>()) break;
    REQUIRE(pages < 10);
  }
  CHECK(pages == 3);
  CHECK(result_names == uploaded);

  const json flagged = body_of(f.api.Get(
      results +
      "?include_review_results=true&include_confidence_scores=true&include_validation_results="
      "true&include_source_info=true&file_offset=4"));
  REQUIRE(flagged["files"].size() == 1u);
  CHECK(flagged["has_more"] == false);
  const json& fdoc = flagged["files"][0]["documents"][0];
  CHECK(fdoc.contains("classification_confidence"));
  CHECK(fdoc["validations"].contains("final_result_pass"));
  CHECK(fdoc["page_layouts"].is_array());
  CHECK(fdoc["class_edit_history"].is_array());
  CHECK(fdoc["fields"][0]["confidence"].contains("ocr"));
  CHECK(fdoc["fields"][0]["source_coordinates"][0].contains("top_x"));
  CHECK(fdoc["fields"][0]["validations"]["valid"] == true);
  CHECK(fdoc["fields"][0].contains("edit_history"));
  CHECK(flagged["case_info"]["fields"][0].contains("validations"));
  CHECK(ok(f.api.Get(results + "?include_source_info=maybe")).status == 400);
  CHECK(ok(f.api.Get(results + "?file_offset=-1")).status == 400);

  // Deployment runs answer 202.
  const auto dep = f.api.Post("/api/v2/apps/deployments/dep-123/runs",
                              json{{"batch_id", batch}}.dump(), "application/json");
  CHECK(ok(dep).status == 202);
  const json dep_run = body_of(dep);
  CHECK(dep_run["deployment_id"] == "dep-123");
  CHECK(ok(f.api.Post("/api/v2/apps/deployments/dep-123/runs",
                      json{{"batch_id", batch}, {"input_dir", "a"}}.dump(), "application/json"))
            .status == 400);

  // Listing and filters.
  CHECK(body_of(f.api.Get("/api/v2/apps/runs"))["runs"].size() == 2u);
  const json by_app = body_of(f.api.Get("/api/v2/apps/runs?app_name=Invoice%20App"))["runs"];
  REQUIRE(by_app.size() == 1u);
  CHECK(by_app[0]["id"] == run_id);
  const json by_dep = body_of(f.api.Get("/api/v2/apps/runs?deployment_id=dep-123"))["runs"];
  REQUIRE(by_dep.size() == 1u);
  CHECK(by_dep[0]["id"] == dep_run["id"]);
  const json complete = body_of(f.api.Get("/api/v2/apps/runs?status=COMPLETE"))["runs"];
  REQUIRE(complete.size() == 1u);
  CHECK(complete[0]["id"] == run_id);
  CHECK(body_of(f.api.Get("/api/v2/apps/runs?status=COMPLETE&status=RUNNING"))["runs"].size() ==
        2u);
  CHECK(body_of(f.api.Get("/api/v2/apps/runs?output_workspaces=ws-out"))["runs"].size() == 1u);
  const json asc = body_of(f.api.Get("/api/v2/apps/runs?order=ASCENDING&limit=1"))["runs"];
  REQUIRE(asc.size() == 1u);
  CHECK(asc[0]["id"] == run_id);
  const json desc = body_of(f.api.Get("/api/v2/apps/runs?order=DESCENDING&limit=1"))["runs"];
  REQUIRE(desc.size() == 1u);
  CHECK(desc[0]["id"] == dep_run["id"]);
  CHECK(body_of(f.api.Get("/api/v2/apps/runs?offset=1"))["runs"].size() == 1u);
  CHECK(body_of(f.api.Get("/api/v2/apps/runs?to_timestamp=1000"))["runs"].empty());
  CHECK(ok(f.api.Get("/api/v2/apps/runs?sort_by=name")).status == 400);

  // The state shows the same exact integer timestamps.
  json state_run;
  const json st = f.state();
  for (const auto& r : st["runs"]) {
    if (r["id"] == run_id) state_run = r;
  }
  REQUIRE(state_run.is_object());
  CHECK(state_run["start_timestamp"].get<std::int64_t>() == start);
  CHECK(state_run["finish_timestamp"].get<std::int64_t>() == finish);
  CHECK(state_run["app_name"] == "Invoice App");
  CHECK(state_run["files"].size() == 5u);

  // Delete: per-flag job ids, the run disappears; delete_input=false keeps the batch.
  const auto del = f.api.Delete("/api/v2/apps/runs/" + run_id + "?delete_input=false");
  CHECK(ok(del).status == 202);
  const json jobs = body_of(del);
  CHECK(jobs["delete_input_dir_job_id"].is_null());
  CHECK(jobs["delete_output_dir_job_id"].is_string());
  CHECK(jobs["delete_log_dir_job_id"].is_string());
  CHECK(body_of(f.api.Get("/api/v2/jobs/" +
                          jobs["delete_output_dir_job_id"].get<std::string>()))["state"] ==
        "PENDING");
  CHECK(ok(f.api.Get("/api/v2/apps/runs/" + run_id)).status == 404);
  CHECK(ok(f.api.Get("/api/v2/batches/" + std::to_string(batch))).status == 200);
  // Deleting the input of the deployment run deletes its batch too.
  CHECK(ok(f.api.Delete("/api/v2/apps/runs/" + dep_run["id"].get<std::string>())).status == 202);
  CHECK(ok(f.api.Get("/api/v2/batches/" + std::to_string(batch))).status == 404);
  CHECK(ok(f.api.Delete("/api/v2/apps/runs/" + run_id)).status == 404);
}

TEST_CASE("runs: configurable final status and consumption quota") {
  sim_fixture f;
  f.config({{"run_running_polls", 0}, {"run_final_status", "FAILED"}, {"run_quota", 1}});
  const auto batch = f.create_batch("q");
  const auto first =
      f.api.Post("/api/v2/apps/runs", json{{"app_id", "id-1"}, {"batch_id", batch}}.dump(),
                 "application/json");
  CHECK(ok(first).status == 200);
  const std::string id = body_of(first)["id"];
  const json polled = body_of(f.api.Get("/api/v2/apps/runs/" + id));
  CHECK(polled["status"] == "FAILED");
  CHECK(polled["app_id"] == "id-1");
  const auto second =
      f.api.Post("/api/v2/apps/runs", json{{"app_id", "id-1"}, {"input_dir", "in/dir"}}.dump(),
                 "application/json");
  CHECK(ok(second).status == 403);
  CHECK(body_of(second)["message"].is_string());
  f.config({{"run_quota", nullptr}});
  const auto third =
      f.api.Post("/api/v2/apps/runs", json{{"app_id", "id-1"}, {"input_dir", "in/dir"}}.dump(),
                 "application/json");
  CHECK(ok(third).status == 200);
  CHECK(body_of(third)["input_dir"] == "in/dir");
  CHECK(body_of(third)["batch_id"].is_null());
}

// ---------------------------------------------------------------------------------------------
// control endpoints and the other modes

TEST_CASE("control: reset clears state, config round-trips, unknown endpoints 404") {
  sim_fixture f;
  const auto batch = f.create_batch("r");
  CHECK(f.put_file(batch, "f", "x") == 204);
  f.fault({{"operation", "getBatch"}, {"action", "status"}});
  CHECK(f.sim.control_post("/_sim/reset").status == 200);
  const json st = f.state();
  CHECK(st["batches"].empty());
  CHECK(st["faults"].empty());
  CHECK(st["requests"].empty());
  CHECK(st["runs"].empty());
  CHECK(st["jobs"].empty());
  // Ids keep increasing after a reset.
  CHECK(f.create_batch("again") > batch);
  const json cfg = json::parse(f.sim.control_get("/_sim/config").body);
  CHECK(cfg["page_size"] == 100);
  CHECK(cfg["prefix"] == "/api");
  CHECK(f.sim.control_get("/_sim/nothing").status == 404);
  CHECK(f.sim.control_get("/_sim/reset").status == 405);
  f.config({{"log_capacity", 2}});
  for (int i = 0; i < 4; ++i) CHECK(ok(f.api.Get("/api/v2/batches")).status == 200);
  const json trimmed = f.state();
  CHECK(trimmed["requests"].size() == 2u);
  CHECK(trimmed["requests_total"].get<int>() >= 5);
}

TEST_CASE("--discard-content keeps only size and sha256") {
  sim_fixture f({"--discard-content", "--part-size", "5"});
  const auto batch = f.create_batch("bench");
  CHECK(f.put_file(batch, "one", "0123456789") == 204);
  const json file = f.state_file(batch, "one");
  CHECK(file["content_kept"] == false);
  CHECK(file["sha256"] == sha256::hex_of("0123456789"));

  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "two"}, {"file_size", 12}});
  const std::string p1 = body_of(put_part(f, s.id, 1, "aaaaa"))["part_id"];
  CHECK(ok(put_part(f, s.id, 2, "zzzzz")).status == 201);
  const std::string p2 = body_of(put_part(f, s.id, 2, "bbbbb"))["part_id"];  // replaced
  const std::string p3 = body_of(put_part(f, s.id, 3, "cc"))["part_id"];
  CHECK(ok(commit(f, s.id,
                  {{"action", "commit"},
                   {"parts", {part_ref(1, p1), part_ref(2, p2), part_ref(3, p3)}}}))
            .status == 201);
  const json two = f.state_file(batch, "two");
  CHECK(two["size"] == 12);
  CHECK(two["sha256"] == sha256::hex_of("aaaaabbbbbcc"));
  CHECK(two["content_kept"] == false);
}

TEST_CASE("--discard-content: out-of-order parts, a running hash, and folded parts") {
  sim_fixture f({"--discard-content", "--part-size", "4"});
  const auto batch = f.create_batch("discard-ooo");
  // 14 bytes: parts of 4, 4, 4 and 2.
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "d.bin"}, {"file_size", 14}});
  const std::string d4 = body_of(put_part(f, s.id, 4, "DD"))["part_id"];
  const std::string b2 = body_of(put_part(f, s.id, 2, "BBBB"))["part_id"];
  CHECK(only_session(f)["folded_parts"] == 0);  // part 1 is missing: nothing to fold yet
  const std::string a1 = body_of(put_part(f, s.id, 1, "AAAA"))["part_id"];
  // Part 1 is folded; part 2 (the newest of the prefix, part 3 absent) is held back.
  CHECK(only_session(f)["folded_parts"] == 1);
  const std::string b2x = body_of(put_part(f, s.id, 2, "bbbb"))["part_id"];  // still replaceable
  CHECK(b2x != b2);
  const std::string c3 = body_of(put_part(f, s.id, 3, "CCCC"))["part_id"];
  CHECK(only_session(f)["folded_parts"] == 3);

  // A folded part accepts only the very same bytes again.
  const auto changed = put_part(f, s.id, 1, "XXXX");
  CHECK(ok(changed).status == 409);
  CHECK(message_of(changed).find("identical bytes") != std::string::npos);
  const auto changed2 = put_part(f, s.id, 2, "BBBB");  // the bytes part 2 had before
  CHECK(ok(changed2).status == 409);
  const std::string b2y = body_of(put_part(f, s.id, 2, "bbbb"))["part_id"];  // same bytes
  CHECK(b2y != b2x);
  CHECK(only_session(f)["parts"][1]["part_id"] == b2y);
  // The unfolded last part can still change.
  const std::string d4x = body_of(put_part(f, s.id, 4, "dd"))["part_id"];

  const auto stale =
      commit(f, s.id,
             {{"action", "commit"},
              {"parts", {part_ref(1, a1), part_ref(2, b2x), part_ref(3, c3), part_ref(4, d4x)}}});
  CHECK(ok(stale).status == 400);
  CHECK(
      ok(commit(f, s.id,
                {{"action", "commit"},
                 {"parts", {part_ref(1, a1), part_ref(2, b2y), part_ref(3, c3), part_ref(4, d4)}}}))
          .status == 400);
  CHECK(f.state()["multipart_sessions"].size() == 1u);
  CHECK(ok(commit(
               f, s.id,
               {{"action", "commit"},
                {"parts", {part_ref(1, a1), part_ref(2, b2y), part_ref(3, c3), part_ref(4, d4x)}}}))
            .status == 201);
  const json file = f.state_file(batch, "d.bin");
  REQUIRE(file.is_object());
  CHECK(file["content_kept"] == false);
  CHECK(file["size"] == 14);
  CHECK(file["sha256"] == sha256::hex_of("AAAAbbbbCCCCdd"));
}

TEST_CASE("--discard-content: reverse arrival still gives the whole-file sha256") {
  sim_fixture f({"--discard-content", "--part-size", "1000"});
  const auto batch = f.create_batch("reverse");
  const std::string data = pattern_bytes(9500, 5);
  const auto s = open_session(f, {{"batch_id", batch}, {"filename", "r.bin"}, {"file_size", 9500}});
  std::vector<std::string> ids(10);
  for (std::uint64_t n = 10; n >= 1; --n) {
    const auto r = put_part(f, s.id, n, data.substr((n - 1) * 1000, 1000));
    REQUIRE(ok(r).status == 201);
    ids[n - 1] = body_of(r)["part_id"].get<std::string>();
    // Nothing can be folded until part 1 arrives; then everything but the last part.
    CHECK(only_session(f)["folded_parts"] == (n == 1 ? 9 : 0));
  }
  json parts = json::array();
  for (std::uint64_t n = 1; n <= 10; ++n) parts.push_back(part_ref(n, ids[n - 1]));
  CHECK(ok(commit(f, s.id, {{"action", "commit"}, {"parts", parts}})).status == 201);
  CHECK(f.state_file(batch, "r.bin")["sha256"] == sha256::hex_of(data));
}

TEST_CASE("concurrent uploads from several clients all land") {
  sim_fixture f;
  const auto batch = f.create_batch("parallel");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", f.sim.port());
      c.set_bearer_token_auth(k_token);
      for (int i = 0; i < 5; ++i) {
        const std::string data = pattern_bytes(50000, static_cast<std::uint32_t>(t * 10 + i));
        const auto r = c.Put("/api/v2/batches/" + std::to_string(batch) + "/files/t" +
                                 std::to_string(t) + "-" + std::to_string(i),
                             data, "application/octet-stream");
        if (!r || r->status != 204) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
  const json files = f.state()["batches"][0]["files"];
  CHECK(files.size() == 40u);
  CHECK(f.state_file(batch, "t3-4")["sha256"] == sha256::hex_of(pattern_bytes(50000, 34)));
}
