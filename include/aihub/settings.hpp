#pragma once
// Who is calling and where: the API root, the bearer token, the IB-Context and whether the caller
// is a service account. The token is a secret: it is only ever copied into the Authorization
// header, and no error message, dump or log line built by this library contains it.

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "aihub/result.hpp"
#include "aihub/validate.hpp"

AIHUB_NAMESPACE_BEGIN

inline constexpr std::string_view default_api_root = "https://aihub.instabase.com/api";

struct settings {
  /// Scheme, host, optional port and optional path prefix: "https://tenant.example.com/api".
  std::string api_root = std::string(default_api_root);
  std::string token{};
  std::optional<std::string> ib_context{};  ///< typically the organization id
  bool service_account = false;  ///< service accounts must name a workspace/output location
  std::string user_agent = "aihub-cpp/" AIHUB_VERSION_STRING;

  /// Reads AIHUB_API_ROOT, AIHUB_API_TOKEN and AIHUB_IB_CONTEXT; unset variables keep the defaults.
  static settings from_environment() {
    settings s;
    if (const char* root = std::getenv("AIHUB_API_ROOT"); root && *root) s.api_root = root;
    if (const char* token = std::getenv("AIHUB_API_TOKEN")) s.token = token;
    if (const char* context = std::getenv("AIHUB_IB_CONTEXT"); context && *context)
      s.ib_context = context;
    return s;
  }
};

/// Per-call overrides.
struct call_options {
  std::optional<std::string> ib_context{};  ///< replaces settings::ib_context for this call
};

/// Checks an API root: http or https, a host, no query, fragment, credentials, spaces or controls.
inline result<void> validate_api_root(std::string_view root) {
  constexpr std::string_view field = "api_root";
  std::string_view rest;
  if (root.starts_with("https://"))
    rest = root.substr(8);
  else if (root.starts_with("http://"))
    rest = root.substr(7);
  else
    return validation_error(field, "must start with http:// or https://");
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.empty()) return validation_error(field, "must name a host");
  if (authority.find('@') != std::string_view::npos)
    return validation_error(field, "must not contain credentials; use the token setting");
  for (char c : root) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f)
      return validation_error(field, "must not contain spaces or controls");
    if (c == '?' || c == '#')
      return validation_error(field, "must not contain a query or fragment");
  }
  return {};
}

/// The root without trailing slashes, ready to be followed by a target ("/v2/...").
inline std::string_view normalized_api_root(std::string_view root) noexcept {
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  return root;
}

inline result<void> validate(const settings& s) {
  AIHUB_TRY(validate_api_root(s.api_root));
  AIHUB_TRY(check_not_empty("token", s.token));
  AIHUB_TRY(check("token", rules::header_value_problem(s.token)));
  if (s.token.find(' ') != std::string::npos)
    return validation_error("token", "must not contain spaces");
  if (s.ib_context) AIHUB_TRY(check("ib_context", rules::header_value_problem(*s.ib_context)));
  AIHUB_TRY(check("user_agent", rules::header_value_problem(s.user_agent)));
  return {};
}

/// Settings that passed validate() once. build_request() and build_request_into() take them to skip
/// checking the same API root, token and User-Agent again on every request.
class validated_settings {
 public:
  static result<validated_settings> create(settings s) {
    AIHUB_TRY(validate(s));
    return validated_settings(std::move(s));
  }
  const settings& get() const noexcept { return settings_; }

 private:
  explicit validated_settings(settings s) : settings_(std::move(s)) {}
  settings settings_;
};

AIHUB_NAMESPACE_END
