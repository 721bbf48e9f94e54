// The plain request/response types: header_list (one buffer), target_string (inline up to its
// capacity), shared_text (file paths shared by every part), validated_settings and
// build_request_into.
#include <doctest/doctest.h>

#include <aihub/aihub.hpp>
#include <string>
#include <vector>

using namespace aihub;

TEST_CASE("header_list keeps order, finds names case-insensitively and survives set/erase") {
  http::header_list h;
  h.add("Authorization", "Bearer ", "tok");
  h.add("Accept", "application/json");
  h.add("X-Empty", "");
  h.add("accept", "text/plain");
  REQUIRE(h.size() == 4);
  CHECK(h.get("authorization") == "Bearer tok");
  CHECK(h.get("ACCEPT") == "application/json");  // the first of that name
  CHECK(h.find("x-empty").has_value());
  CHECK(h.find("x-empty")->empty());
  CHECK_FALSE(h.find("Content-Type").has_value());
  CHECK(h.get("Content-Type").empty());

  std::vector<std::string> seen;
  for (const auto& entry : h)
    seen.push_back(std::string(entry.name) + "=" + std::string(entry.value));
  CHECK(seen == std::vector<std::string>{"Authorization=Bearer tok", "Accept=application/json",
                                         "X-Empty=", "accept=text/plain"});

  h.set("ACCEPT", "*/*");  // replaces both, at the first one's place
  CHECK(h.size() == 3);
  seen.clear();
  for (auto it = h.begin(); it != h.end(); ++it) seen.push_back(std::string(it->name));
  CHECK(seen == std::vector<std::string>{"Authorization", "Accept", "X-Empty"});
  CHECK(h.get("accept") == "*/*");

  h.set("User-Agent", "ua");  // absent: appended
  CHECK(h.size() == 4);
  h.erase("authorization");
  CHECK(h.size() == 3);
  CHECK_FALSE(h.contains("Authorization"));
  h.clear();
  CHECK(h.empty());
  CHECK(h.begin() == h.end());
}

TEST_CASE("header_list: binary-safe values and equality by content and order") {
  std::string with_nul("a\0b", 3);
  http::header_list a{{"K", with_nul}, {"L", "x"}};
  CHECK(a.get("k").size() == 3);
  CHECK(a.get("k") == with_nul);
  http::header_list b;
  b.add("K", with_nul);
  b.add("L", "x");
  CHECK(a == b);
  http::header_list c{{"L", "x"}, {"K", with_nul}};
  CHECK_FALSE(a == c);
  std::string long_value(100000, 'v');
  a.add("Long", long_value);
  CHECK(a.get("long") == long_value);
  CHECK(a.get("L") == "x");
}

TEST_CASE("target_string holds short targets inline and spills long ones intact") {
  http::target_string t("/v2/batches");
  CHECK(t == "/v2/batches");
  CHECK(t.size() == 11);
  CHECK(std::string(t.c_str()) == "/v2/batches");

  std::string long_target = "/v2/batches/1/files/" + std::string(300, 'n');
  http::target_string spilled;
  for (char c : long_target) spilled.push_back(c);
  CHECK(spilled == long_target);
  CHECK(std::string(spilled.c_str()) == long_target);
  http::target_string copy = spilled;
  CHECK(copy == long_target);

  spilled.clear();
  CHECK(spilled.empty());
  spilled.append("/x");
  CHECK(spilled == "/x");
  CHECK(spilled.find("x") == 1);
  CHECK(spilled.find("nope") == std::string::npos);

  // Right at the inline capacity and one past it.
  std::string exact(http::target_string::inline_capacity, 'a');
  http::target_string at_capacity(exact);
  CHECK(at_capacity == exact);
  at_capacity.push_back('b');
  CHECK(at_capacity == exact + "b");
}

TEST_CASE("shared_text: copies share one string, comparisons read the text") {
  http::shared_text a(std::string("/data/file.bin"));
  http::shared_text b = a;
  CHECK(b.c_str() == a.c_str());  // the same buffer, not a copy
  CHECK(a == "/data/file.bin");
  CHECK(a == std::string("/data/file.bin"));
  CHECK(a == http::shared_text("/data/file.bin"));
  CHECK_FALSE(a == "/data/other.bin");
  http::shared_text empty;
  CHECK(empty.empty());
  CHECK(std::string(empty.c_str()).empty());
}

TEST_CASE("validated_settings: bad settings are refused once, good ones build the same requests") {
  settings bad;
  bad.token = "has space";
  auto refused = validated_settings::create(bad);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().field == "token");

  settings good;
  good.token = "tok";
  good.ib_context = "org";
  auto checked = validated_settings::create(good);
  REQUIRE(checked);
  create_batch op{.name = "b"};
  auto from_settings = build_request(op, good);
  auto from_checked = build_request(op, *checked);
  REQUIRE(from_settings);
  REQUIRE(from_checked);
  CHECK(*from_settings == *from_checked);
  // The operation itself is still checked on every call.
  auto bad_op = build_request(get_batch{.batch_id = 0}, *checked);
  REQUIRE_FALSE(bad_op);
  CHECK(bad_op.error().field == "batch_id");
}

TEST_CASE("build_request_into reuses one request across different operations") {
  settings s;
  s.token = "tok";
  auto checked = *validated_settings::create(s);
  http::request reused;
  REQUIRE(build_request_into(reused, create_batch{.name = "a fairly long batch name"}, checked));
  CHECK(reused == *build_request(create_batch{.name = "a fairly long batch name"}, checked));
  // Switching to a body-less operation drops the old body and Content-Type.
  REQUIRE(build_request_into(reused, get_batch{.batch_id = 7}, checked));
  CHECK(reused == *build_request(get_batch{.batch_id = 7}, checked));
  CHECK(std::holds_alternative<http::no_body>(reused.body));
  CHECK_FALSE(reused.headers.contains("Content-Type"));
  // And to a raw-content one.
  upload_file up{.batch_id = 7, .name = "a.pdf", .content = http::file_slice{"/tmp/a.pdf", 0, 3}};
  REQUIRE(build_request_into(reused, up, checked));
  CHECK(reused == *build_request(up, checked));
  CHECK(reused.headers.get("Content-Type") == "application/octet-stream");
  // Per-call IB-Context still wins and is still checked.
  call_options bad_context{.ib_context = std::string("a\nb")};
  auto refused = build_request_into(reused, get_batch{.batch_id = 7}, checked, bad_context);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().field == "ib_context");
}
