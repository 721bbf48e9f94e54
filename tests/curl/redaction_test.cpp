// The pure pieces of the adapter: verbose-output redaction, URL joining, request checks, error
// mapping.
#include <aihub/curl/transport.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace curl = aihub::curl;
namespace http = aihub::http;

TEST_CASE("redact_line hides credential header values in every shape libcurl prints") {
  using curl::detail::redact_line;
  CHECK(redact_line("Authorization: Bearer sk-123456\r\n") ==
        "Authorization: Bearer <redacted>\r\n");
  CHECK(redact_line("authorization:Bearer sk-123456") == "authorization:Bearer <redacted>");
  CHECK(redact_line("Proxy-Authorization: Basic dXNlcjpwYXNz") ==
        "Proxy-Authorization: <redacted>");
  CHECK(redact_line("Cookie: session=abcdef; theme=dark") == "Cookie: <redacted>");
  CHECK(redact_line("Set-Cookie: session=abcdef; HttpOnly") == "Set-Cookie: <redacted>");
  // libcurl's HTTP/2 trace puts the header inside brackets on a text line.
  CHECK(redact_line("h2h3 [authorization: Bearer sk-123456]") ==
        "h2h3 [authorization: Bearer <redacted>]");
  // Other headers pass untouched, including ones whose names merely contain a sensitive word.
  CHECK(redact_line("X-Authorization-Mode: strict") == "X-Authorization-Mode: strict");
  CHECK(redact_line("Content-Type: application/json") == "Content-Type: application/json");
  CHECK(redact_line("Cookies are mentioned here") == "Cookies are mentioned here");
}

TEST_CASE("redact_line hides the user:password part of URLs") {
  using curl::detail::redact_line;
  CHECK(redact_line("Uses proxy env variable http_proxy == 'http://bob:hunter22@proxy:3128'") ==
        "Uses proxy env variable http_proxy == 'http://<redacted>@proxy:3128'");
  CHECK(redact_line("GET http://example.com/a@b HTTP/1.1") ==
        "GET http://example.com/a@b HTTP/1.1");
  CHECK(redact_line("no url at all") == "no url at all");
}

TEST_CASE("redact_verbose scrubs the known secrets wherever they appear") {
  std::vector<std::string> secrets{"Bearer tok-abcdef", "tok-abcdef"};
  std::string out =
      curl::detail::redact_verbose("odd trace tok-abcdef here\nsecond line\n", secrets);
  CHECK(out == "odd trace <redacted> here\nsecond line\n");
}

TEST_CASE("collect_secrets takes sensitive header values and their credential part") {
  http::header_list headers{{"Authorization", "Bearer tok-abcdef"},
                            {"Cookie", "a=verysecret"},
                            {"X-Trace", "not-a-secret"}};
  std::vector<std::string> secrets;
  curl::detail::collect_secrets(headers, secrets);
  CHECK(secrets == std::vector<std::string>{"Bearer tok-abcdef", "tok-abcdef", "a=verysecret"});
}

TEST_CASE("url_userinfo finds the credentials of a proxy URL") {
  CHECK(curl::detail::url_userinfo("http://bob:pw@proxy:3128") == "bob:pw");
  CHECK(curl::detail::url_userinfo("http://proxy:3128/a@b") == "");
  CHECK(curl::detail::url_userinfo("proxy:3128") == "");
}

TEST_CASE("join_url keeps the api_root path prefix and puts exactly one slash before the target") {
  using curl::detail::join_url;
  CHECK(join_url("https://h.example/api", "/v2/batches?limit=10").value() ==
        "https://h.example/api/v2/batches?limit=10");
  CHECK(join_url("https://h.example/api///", "/v2/x").value() == "https://h.example/api/v2/x");
  CHECK(join_url("HTTP://h.example", "v2/x").value() == "HTTP://h.example/v2/x");
  CHECK(join_url("https://h.example/api", "").value() == "https://h.example/api/");
  auto bad = join_url("ftp://h.example", "/x");
  REQUIRE(!bad);
  CHECK(bad.error().kind == aihub::error_kind::validation);
  CHECK(bad.error().field == "api_root");
  CHECK(!join_url("", "/x"));
}

TEST_CASE("map_curl_error classifies failures and marks what surely was not sent") {
  curl::detail::failure_context context;
  context.method = "POST";
  context.url = "http://127.0.0.1:1/api/v2/x";
  context.curl_detail = "Failed to connect to 127.0.0.1 port 1";

  auto refused = curl::detail::map_curl_error(CURLE_COULDNT_CONNECT, context);
  CHECK(refused.kind == aihub::error_kind::transport);
  CHECK(refused.not_sent);
  CHECK(refused.retryable);
  CHECK(refused.message.find("POST http://127.0.0.1:1/api/v2/x") != std::string::npos);
  CHECK(refused.message.find("Failed to connect") != std::string::npos);

  auto dns = curl::detail::map_curl_error(CURLE_COULDNT_RESOLVE_HOST, context);
  CHECK(dns.not_sent);

  auto reset = curl::detail::map_curl_error(CURLE_RECV_ERROR, context);
  CHECK(reset.kind == aihub::error_kind::transport);
  CHECK(reset.retryable);
  CHECK(!reset.not_sent);

  auto late_timeout = curl::detail::map_curl_error(CURLE_OPERATION_TIMEDOUT, context);
  CHECK(late_timeout.kind == aihub::error_kind::timeout);
  CHECK(!late_timeout.not_sent);
  context.nothing_sent = true;
  auto early_timeout = curl::detail::map_curl_error(CURLE_OPERATION_TIMEDOUT, context);
  CHECK(early_timeout.kind == aihub::error_kind::timeout);
  CHECK(early_timeout.not_sent);
  context.nothing_sent = false;

  auto tls = curl::detail::map_curl_error(CURLE_PEER_FAILED_VERIFICATION, context);
  CHECK(tls.kind == aihub::error_kind::transport);
  CHECK(tls.not_sent);
  CHECK(!tls.retryable);

  auto truncated = curl::detail::map_curl_error(CURLE_PARTIAL_FILE, context);
  CHECK(truncated.message.find("truncated") != std::string::npos);
  CHECK(!truncated.not_sent);
}

TEST_CASE("check_headers refuses what would corrupt the request framing") {
  http::request r;
  r.verb = http::method::post;
  r.target = "/v2/x";
  r.body = http::json_body{"{}"};
  CHECK(curl::detail::check_headers(r, 2));

  r.headers.set("Content-Length", "2");
  CHECK(curl::detail::check_headers(r, 2));  // agrees with the body: fine
  r.headers.set("Content-Length", "3");
  CHECK(!curl::detail::check_headers(r, 2));
  r.headers.erase("Content-Length");

  r.headers.set("X-Evil", "a\r\nInjected: yes");
  auto injected = curl::detail::check_headers(r, 2);
  REQUIRE(!injected);
  CHECK(injected.error().kind == aihub::error_kind::validation);
  r.headers.erase("X-Evil");

  r.headers.set("Bad Name", "v");
  CHECK(!curl::detail::check_headers(r, 2));
  r.headers.erase("Bad Name");

  r.headers.set("Transfer-Encoding", "chunked");
  CHECK(!curl::detail::check_headers(r, 2));
  r.headers.erase("Transfer-Encoding");

  r.target = "/v2/a b";
  CHECK(!curl::detail::check_headers(r, 2));
  r.target = "/v2/x";

  r.verb = http::method::head;
  CHECK(!curl::detail::check_headers(r, 2));
}
