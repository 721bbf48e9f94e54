#pragma once
// What every operation shares: endpoint traits, the pure build step (validate, then describe the
// HTTP request) and the pure decode step (map the status, then decode the body). An operation type
// supplies its endpoint, validate(), target() and, when it has one, body(); everything else lives
// here once.

#include <concepts>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "aihub/http.hpp"
#include "aihub/json.hpp"
#include "aihub/result.hpp"
#include "aihub/settings.hpp"
#include "aihub/transport.hpp"

AIHUB_NAMESPACE_BEGIN

/// Static facts about one OpenAPI operation.
struct endpoint {
  std::string_view operation_id;  ///< as in the spec: "createBatch"
  http::method verb;
  std::string_view path_template;  ///< "/v2/batches/{batch_id}", for logs and docs
  int success_status;              ///< the one status the spec defines as success
  bool idempotent;                 ///< safe to resend when the outcome of an attempt is unknown
};

/// The decoded result of an operation whose success carries no body (204, and 201/202 without
/// JSON).
struct accepted {
  friend bool operator==(const accepted&, const accepted&) = default;
};

template <class Op>
concept operation = requires(const Op& op, const settings& s, http::target_string& target) {
  { Op::endpoint_info } -> std::convertible_to<endpoint>;
  typename Op::response_type;
  { op.validate(s) } -> std::same_as<result<void>>;
  op.write_target(target);
};

/// An operation whose body is JSON text it writes itself (appending to a string).
template <class Op>
concept operation_with_json_body = operation<Op> && requires(const Op& op, std::string& text) {
  op.write_body(text);
};

/// An operation whose body is raw bytes (a file region, caller memory, a reader).
template <class Op>
concept operation_with_content = operation<Op> && requires(const Op& op) {
  { op.body() } -> std::convertible_to<http::body>;
};

template <class Op>
concept operation_with_body = operation_with_json_body<Op> || operation_with_content<Op>;

/// An operation whose request carries secrets (PDF passwords, secret values): it lists them, and
/// the built request keeps them in http::request::secrets so nothing prints them.
template <class Op>
concept operation_with_secrets = operation<Op> &&
    requires(const Op& op, std::vector<std::string>& out) {
  op.collect_secrets(out);
};

/// Removes the token and the request's secrets from every text of an error that may hold the
/// server's words (a server echoing the request headers or body back in its message).
inline void scrub_error(error& e, std::string_view token, std::span<const std::string> secrets) {
  auto scrub = [&](std::string& text) {
    if (text.empty()) return;
    if (token.size() >= http::min_scrubbed_secret_length) http::redact_occurrences(text, token);
    http::scrub_secrets(text, secrets);
  };
  scrub(e.message);
  scrub(e.server_message);
  scrub(e.retry_after);
}

/// Marks the error of a request that is not idempotent and whose outcome is unknown: it went out,
/// no usable answer came back, and it is not resent (that could apply it twice).
inline void note_outcome_unknown(error& e, const endpoint& ep) {
  if (ep.idempotent || e.not_sent || e.may_have_been_applied) return;
  if (e.kind != error_kind::transport && e.kind != error_kind::timeout) return;
  e.may_have_been_applied = true;
  e.message.append("; ")
      .append(ep.operation_id)
      .append(" is not idempotent, so it was not resent: the server may have applied it");
}

/// Content-Type sent with a body: JSON text is JSON, everything else is a file's raw bytes.
inline std::string_view content_type_of(const http::body& b) noexcept {
  return std::holds_alternative<http::json_body>(b) ? "application/json"
                                                    : "application/octet-stream";
}

namespace detail {
/// build_request after the settings were checked: checks the per-call options and the operation,
/// then writes into `out`, reusing its buffers (target, header storage, JSON text).
template <operation Op>
result<void> write_request(http::request& out, const Op& op, const settings& s,
                           const call_options& options) {
  if (options.ib_context)
    AIHUB_TRY(check("ib_context", rules::header_value_problem(*options.ib_context)));
  AIHUB_TRY(op.validate(s));

  out.verb = Op::endpoint_info.verb;
  out.target.clear();
  op.write_target(out.target);

  if constexpr (operation_with_json_body<Op>) {
    auto* json = std::get_if<http::json_body>(&out.body);
    if (!json) json = &out.body.template emplace<http::json_body>();
    json->text.clear();  // keeps the capacity of a reused request
    op.write_body(json->text);
  } else if constexpr (operation_with_content<Op>) {
    out.body = op.body();
  } else {
    out.body = http::no_body{};
  }
  out.secrets.clear();
  if constexpr (operation_with_secrets<Op>) op.collect_secrets(out.secrets);

  struct entry {
    std::string_view name, value, value_more;
  };
  entry headers[5];
  std::size_t count = 0;
  headers[count++] = {"Authorization", "Bearer ", s.token};
  const std::optional<std::string>& context =
      options.ib_context ? options.ib_context : s.ib_context;
  if (context) headers[count++] = {"IB-Context", *context, {}};
  if (!s.user_agent.empty()) headers[count++] = {"User-Agent", s.user_agent, {}};
  headers[count++] = {"Accept", "application/json", {}};
  if constexpr (operation_with_body<Op>)
    headers[count++] = {"Content-Type", content_type_of(out.body), {}};
  // One exact reservation: every header lands in one allocation (none when `out` is reused).
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i)
    bytes += http::header_list::entry_size(headers[i].name, headers[i].value) +
             headers[i].value_more.size();
  out.headers.clear();
  out.headers.reserve(bytes);
  for (std::size_t i = 0; i < count; ++i)
    out.headers.add(headers[i].name, headers[i].value, headers[i].value_more);
  return {};
}
}  // namespace detail

/// Validates the operation against the settings and describes its HTTP request. Pure: no I/O, no
/// clock. Headers, in order: Authorization, IB-Context (when set, the per-call value winning),
/// User-Agent, Accept, and Content-Type for requests with a body.
template <operation Op>
result<http::request> build_request(const Op& op, const validated_settings& s,
                                    const call_options& options = {}) {
  http::request request;
  AIHUB_TRY(detail::write_request(request, op, s.get(), options));
  return request;
}

/// The same, checking the settings first (validated_settings skips that for every later call).
template <operation Op>
result<http::request> build_request(const Op& op, const settings& s,
                                    const call_options& options = {}) {
  AIHUB_TRY(validate(s));
  http::request request;
  AIHUB_TRY(detail::write_request(request, op, s, options));
  return request;
}

/// Builds into a request the caller keeps and reuses: after the first call, building the same
/// kind of request again allocates nothing (target inline, header and JSON buffers reused). On
/// error `out` is left unspecified.
template <operation Op>
result<void> build_request_into(http::request& out, const Op& op, const validated_settings& s,
                                const call_options& options = {}) {
  return detail::write_request(out, op, s.get(), options);
}

/// The meaning of an error status in this API, in words a user can act on.
constexpr std::string_view describe_status(int status) noexcept {
  switch (status) {
    case 400:
      return "the request was rejected as invalid";
    case 401:
      return "unauthorized: bad token, bad IB-Context or missing permission";
    case 403:
      return "consumption units exhausted";
    case 404:
      return "not found, or not visible to this account";
    case 408:
      return "the server timed out waiting for the request";
    case 409:
      return "conflict with the current state of the resource";
    case 413:
      return "request body too large";
    case 422:
      return "the request was not understood";
    case 429:
      return "rate limited: too many requests";
    case 500:
      return "internal server error";
    case 502:
      return "bad gateway";
    case 503:
      return "service unavailable";
    case 504:
      return "gateway timeout";
    default:
      break;
  }
  if (status >= 500) return "server error";
  if (status >= 400) return "request failed";
  if (status >= 300) return "unexpected redirect or status";
  return "unexpected status";
}

/// Whether trying again later may succeed (the retry policy still weighs idempotency).
constexpr bool is_retryable_status(int status) noexcept {
  return status == 408 || status == 429 || status == 502 || status == 503 || status == 504 ||
         status == 500;
}

namespace detail {
struct error_body {
  std::optional<std::string> message{};
  static constexpr auto json_fields() {
    return json::fields(json::field("message", &error_body::message));
  }
};
}  // namespace detail

/// Builds the error for a status the operation does not define as success, keeping the server's
/// `message` when the body has one (a body that is not the error schema is ignored, not fatal).
inline error status_error(std::string_view operation_id, const http::response& response) {
  error e;
  e.kind = error_kind::http_status;
  e.operation = std::string(operation_id);
  e.http_status = response.status;
  e.message = std::string(describe_status(response.status));
  e.retryable = is_retryable_status(response.status);
  detail::error_body body;
  if (!response.body.empty() && json::builtin_codec{}.decode(response.body, body) && body.message)
    e.server_message = std::move(*body.message);
  if (auto retry_after = response.headers.find("Retry-After"))
    e.retry_after = std::string(*retry_after);
  return e;
}

/// Maps the response of `Op` to its typed result. Pure. The success status decodes the body with
/// `codec` (the built-in one by default); any other status is an http_status error.
template <operation Op, json::codec Codec = json::builtin_codec>
result<typename Op::response_type> decode_response(const Op&, const http::response& response,
                                                   const Codec& codec = {}) {
  using value_type = typename Op::response_type;
  if (response.status != Op::endpoint_info.success_status)
    return status_error(Op::endpoint_info.operation_id, response);
  value_type value{};
  if constexpr (json::described<value_type>) {
    if (auto decoded = codec.decode(response.body, value); !decoded) {
      error e = std::move(decoded).error();
      e.operation = std::string(Op::endpoint_info.operation_id);
      return e;
    }
  }
  if constexpr (requires { Op::complete(response, value); }) {
    if (auto completed = Op::complete(response, value); !completed) {
      error e = std::move(completed).error();
      e.operation = std::string(Op::endpoint_info.operation_id);
      return e;
    }
  }
  return value;
}

/// Runs one operation over a blocking transport: build, send, decode. Flows and the client add
/// retries, waiting and pagination on top.
template <operation Op, class Transport, json::codec Codec = json::builtin_codec>
requires requires(Transport& t, const http::request& r, const send_options& o) {
  t.send(r, o);
}
result<typename Op::response_type> execute(Transport& transport, const Op& op, const settings& s,
                                           const call_options& options = {},
                                           const send_options& send = {}, const Codec& codec = {}) {
  auto request = build_request(op, s, options);
  if (!request) {
    error e = std::move(request).error();
    e.operation = std::string(Op::endpoint_info.operation_id);
    return e;
  }
  auto response = transport.send(*request, send);
  if (!response) {
    error e = std::move(response).error();
    e.operation = std::string(Op::endpoint_info.operation_id);
    note_outcome_unknown(e, Op::endpoint_info);
    scrub_error(e, s.token, request->secrets);
    return e;
  }
  auto decoded = decode_response(op, *response, codec);
  if (!decoded) {
    error e = std::move(decoded).error();
    scrub_error(e, s.token, request->secrets);
    return e;
  }
  return decoded;
}

AIHUB_NAMESPACE_END
