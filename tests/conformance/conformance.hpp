// Shared by the conformance test cases: the Prism under test (started once by main.cpp), a libcurl
// transport pointed at it, and the checks every exchange goes through.
//
// Prism (`mock --errors`) validates each request against the OpenAPI spec. A request that breaks
// the spec is answered with 422 (415 for a wrong Content-Type) and its violations are listed in
// the `sl-violations` header, or, for operations that define no error response, in the
// `validation` member of an application/problem+json body. Either one is a bug in the library's
// request, and the check prints it in full.
#pragma once

#include <aihub/aihub.hpp>
#include <aihub/curl/transport.hpp>
#include <aihub/jobs.hpp>
#include <aihub/runs.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace aihub_conformance {

/// Where the running Prism listens ("http://127.0.0.1:PORT"); set by main() before any test runs.
std::string& api_root();

/// One transport for the whole run (the test cases run one after another on one thread).
inline aihub::curl::transport& transport() {
  static aihub::curl::transport t = [] {
    aihub::curl::transport_options o;
    o.api_root = api_root();
    o.proxy = "";  // never send loopback traffic through a proxy named by the environment
    o.connect_timeout = std::chrono::seconds(5);
    o.timeout = std::chrono::seconds(30);
    return aihub::curl::transport(std::move(o));
  }();
  return t;
}

/// The operationIds of every request the library built and sent, for main()'s check that each
/// Batches, Runs and Jobs operation of the spec was exercised.
inline std::set<std::string, std::less<>>& sent_operations() {
  static std::set<std::string, std::less<>> ids;
  return ids;
}

/// Settings of an ordinary user; IB-Context is set, so every request carries it.
inline aihub::settings user_settings() {
  aihub::settings s;
  s.api_root = api_root();
  s.token = "conformance-test-token";
  s.ib_context = "org-conformance";
  return s;
}

/// Whether Prism reported the request as breaking the spec.
inline bool prism_reports_violation(const aihub::http::response& r) {
  if (r.headers.contains("sl-violations")) return true;
  if (r.status == 422 || r.status == 415) return true;
  const std::string_view type = r.headers.get("Content-Type");
  return type.find("problem+json") != std::string_view::npos &&
         r.body.find("\"validation\"") != std::string::npos;
}

/// The violations as Prism worded them, one per line, or "" when it reported none.
inline std::string prism_violations(const aihub::http::response& r) {
  std::string out;
  if (auto header = r.headers.find("sl-violations")) {
    std::string text(*header);
    for (std::size_t at = 0; (at = text.find("},{", at)) != std::string::npos; at += 3)
      text.replace(at, 3, "},\n  {");
    out += "sl-violations:\n  " + text + "\n";
  }
  if (r.status == 422 || r.status == 415 ||
      r.headers.get("Content-Type").find("problem+json") != std::string_view::npos)
    out += "HTTP " + std::to_string(r.status) + " body: " + r.body + "\n";
  return out;
}

inline std::string describe_exchange(const aihub::http::request& request,
                                     const aihub::http::response& response) {
  return "--- request ---\n" + aihub::http::to_string(request) + "--- response ---\n" +
         aihub::http::to_string(response);
}

/// Sends a hand-built request (no build_request, no validation) and returns Prism's answer.
inline aihub::http::response send_raw(const aihub::http::request& request) {
  auto response = transport().send(request, {});
  REQUIRE_MESSAGE(
      response.has_value(),
      "transport failure: " << (response ? std::string() : response.error().describe()));
  return std::move(response).value();
}

/// A request as build_request makes it, with the usual headers, for the deliberately broken ones.
inline aihub::http::request raw_request(aihub::http::method verb, std::string target,
                                        aihub::http::body body = aihub::http::no_body{},
                                        std::string_view content_type = "application/json") {
  aihub::http::request r;
  r.verb = verb;
  r.target = std::move(target);
  r.headers.add("Authorization", "Bearer conformance-test-token");
  r.headers.add("IB-Context", "org-conformance");
  r.headers.add("Accept", "application/json");
  if (aihub::http::has_body(body)) r.headers.add("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}

/// Builds `op` as the library does, sends it through libcurl to Prism and checks that Prism found
/// nothing wrong with the request and answered with the operation's success status. Returns the
/// response when both held. `prefer`, when given, is sent as a Prism `Prefer` header (for example
/// "dynamic=true"). Failures are CHECKs, never REQUIREs, so calls can sit inside CHECK(...).
template <aihub::operation Op>
std::optional<aihub::http::response> accepted_exchange(const Op& op,
                                                       const aihub::call_options& call = {},
                                                       const aihub::settings& s = user_settings(),
                                                       std::string_view prefer = {}) {
  constexpr std::string_view id = Op::endpoint_info.operation_id;
  auto request = aihub::build_request(op, s, call);
  if (!request) {
    FAIL_CHECK(id << ": build_request failed: " << request.error().describe());
    return std::nullopt;
  }
  if (!prefer.empty()) request->headers.add("Prefer", prefer);
  sent_operations().emplace(id);
  auto sent = transport().send(*request, {});
  if (!sent) {
    FAIL_CHECK(id << ": transport failure: " << sent.error().describe() << "\n"
                  << aihub::http::to_string(*request));
    return std::nullopt;
  }
  if (prism_reports_violation(*sent)) {
    FAIL_CHECK(id << ": Prism reports that the request breaks the spec:\n"
                  << prism_violations(*sent) << describe_exchange(*request, *sent));
    return std::nullopt;
  }
  if (sent->status != Op::endpoint_info.success_status) {
    FAIL_CHECK(id << ": expected HTTP " << Op::endpoint_info.success_status << ", got "
                  << sent->status << "\n"
                  << describe_exchange(*request, *sent));
    return std::nullopt;
  }
  return std::move(sent).value();
}

/// accepted_exchange(), then checks that the response decodes into the operation's typed result
/// with the library's decoder. Returns the decoded value when all held.
template <aihub::operation Op>
std::optional<typename Op::response_type> conforms(const Op& op,
                                                   const aihub::call_options& call = {},
                                                   const aihub::settings& s = user_settings(),
                                                   std::string_view prefer = {}) {
  constexpr std::string_view id = Op::endpoint_info.operation_id;
  auto response = accepted_exchange(op, call, s, prefer);
  if (!response) return std::nullopt;
  auto decoded = aihub::decode_response(op, *response);
  if (!decoded) {
    FAIL_CHECK(id << ": the response does not decode: " << decoded.error().describe()
                  << " [field: " << decoded.error().field << "]\n"
                  << aihub::http::to_string(*response));
    return std::nullopt;
  }
  return std::move(decoded).value();
}

/// Sends a request that breaks the spec and checks that Prism says so: the proof that a clean
/// result of conforms() means something.
inline void expect_violation(const aihub::http::request& request,
                             std::string_view expected_fragment) {
  const aihub::http::response response = send_raw(request);
  INFO(describe_exchange(request, response));
  CHECK_MESSAGE(prism_reports_violation(response),
                "Prism accepted a request that breaks the spec (HTTP " << response.status << ")");
  const std::string reported = prism_violations(response);
  CHECK_MESSAGE(reported.find(expected_fragment) != std::string::npos,
                "the violations do not mention \"" << expected_fragment << "\":\n"
                                                   << reported);
}

}  // namespace aihub_conformance
