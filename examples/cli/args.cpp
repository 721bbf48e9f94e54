#include "args.hpp"

#include <charconv>
#include <cmath>
#include <system_error>

namespace aihub_cli {

namespace {
constexpr option_spec global_specs[] = {
    {.name = "--api-root",
     .metavar = "URL",
     .help = "API root (default: $AIHUB_API_ROOT, else the public AI Hub)",
     .last_wins = true},
    {.name = "--token",
     .metavar = "TOKEN",
     .help = "bearer token (default: $AIHUB_API_TOKEN; prefer the variable)",
     .last_wins = true},
    {.name = "--context",
     .metavar = "IB_CONTEXT",
     .help = "IB-Context header, e.g. an organization (default: $AIHUB_IB_CONTEXT)",
     .last_wins = true},
    {.name = "--service-account",
     .help = "call as a service account (then a workspace or output is required)",
     .last_wins = true},
    {.name = "--json", .help = "print the response as one JSON document", .last_wins = true},
    {.name = "--verbose", .help = "log each request and response status", .last_wins = true},
    {.name = "--help", .help = "show help for the command", .last_wins = true},
};
}  // namespace

std::span<const option_spec> global_options() {
  return global_specs;
}

bool parsed_args::has(std::string_view name) const noexcept {
  for (const auto& [key, value] : values_)
    if (key == name) return true;
  return false;
}

std::optional<std::string> parsed_args::value(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [key, value] : values_)
    if (key == name) out = value;
  return out;
}

std::vector<std::string> parsed_args::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : values_)
    if (key == name) out.push_back(value);
  return out;
}

bool is_help_flag(std::string_view token) noexcept {
  return token == "--help" || token == "-h";
}

const option_spec* find_option(std::string_view name,
                               std::span<const option_spec> command_options) {
  for (const auto& spec : command_options)
    if (spec.name == name) return &spec;
  for (const auto& spec : global_specs)
    if (spec.name == name) return &spec;
  return nullptr;
}

std::variant<parsed_args, usage_error> parse_options(std::span<const std::string> args,
                                                     std::span<const option_spec> command_options) {
  parsed_args out;
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& token = args[i];
    if (options_ended || token.size() < 2 || token[0] != '-') {
      out.positionals.push_back(token);
      continue;
    }
    if (token == "--") {
      options_ended = true;
      continue;
    }
    if (token == "-h") {
      out.add("--help", "");
      continue;
    }
    std::string_view name = token;
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string_view::npos && name.starts_with("--")) {
      inline_value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    const option_spec* spec = find_option(name, command_options);
    if (!spec) {
      // A negative number is a positional (it fails later as an id, with a clearer message).
      if (parse_int64(token)) {
        out.positionals.push_back(token);
        continue;
      }
      return usage_error{"unknown option '" + std::string(name) + "'"};
    }
    if (!spec->repeatable && !spec->last_wins && out.has(spec->name))
      return usage_error{std::string(spec->name) + " may be given only once"};
    if (!spec->takes_value()) {
      if (inline_value) return usage_error{std::string(spec->name) + " does not take a value"};
      out.add(spec->name, "");
      continue;
    }
    if (inline_value) {
      out.add(spec->name, std::move(*inline_value));
      continue;
    }
    if (i + 1 >= args.size())
      return usage_error{std::string(spec->name) + " needs a value (" + std::string(spec->metavar) +
                         ")"};
    out.add(spec->name, args[++i]);
  }
  return out;
}

std::optional<std::int64_t> parse_int64(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_seconds(std::string_view text) noexcept {
  if (text.empty() || text.front() == '-') return std::nullopt;
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0 ||
      value > 1e9)
    return std::nullopt;
  return value;
}

void arg_reader::fail(std::string message) {
  if (!error_) error_ = std::move(message);
}

void arg_reader::expect_positionals(std::size_t min, std::size_t max, std::string_view names) {
  const std::size_t n = args_.positionals.size();
  if (n < min)
    fail("missing argument: expected " + std::string(names));
  else if (n > max)
    fail("unexpected argument '" + args_.positionals[max] + "'");
}

std::int64_t arg_reader::positive_id(std::size_t index, std::string_view what) {
  if (index >= args_.positionals.size()) return 0;  // expect_positionals reports it
  const std::string& text = args_.positionals[index];
  auto value = parse_int64(text);
  if (!value || *value < 1) {
    fail(std::string(what) + " must be a positive integer, not '" + text + "'");
    return 0;
  }
  return *value;
}

std::string arg_reader::text(std::size_t index, std::string_view what) {
  if (index >= args_.positionals.size()) return {};
  const std::string& value = args_.positionals[index];
  if (value.empty()) fail(std::string(what) + " must not be empty");
  return value;
}

std::optional<std::int64_t> arg_reader::integer(std::string_view option, std::int64_t min,
                                                std::int64_t max) {
  auto text = args_.value(option);
  if (!text) return std::nullopt;
  auto value = parse_int64(*text);
  if (!value) {
    fail(std::string(option) + " needs an integer, not '" + *text + "'");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    std::string range = max == INT64_MAX ? "at least " + std::to_string(min)
                                         : std::to_string(min) + " to " + std::to_string(max);
    fail(std::string(option) + " must be " + range + ", not " + *text);
    return std::nullopt;
  }
  return value;
}

std::optional<double> arg_reader::seconds(std::string_view option) {
  auto text = args_.value(option);
  if (!text) return std::nullopt;
  auto value = parse_seconds(*text);
  if (!value) fail(std::string(option) + " needs a number of seconds, not '" + *text + "'");
  return value;
}

std::optional<std::string> arg_reader::text_option(std::string_view option) {
  auto value = args_.value(option);
  if (value && value->empty()) fail(std::string(option) + " must not be empty");
  return value;
}

}  // namespace aihub_cli
