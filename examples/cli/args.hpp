#pragma once
// The argument parser of the aihub tool: option specifications, a tokenizer that splits a command
// line into options and positionals, and typed readers that turn the strings into numbers and ids.
// Nothing here knows about the AI Hub API; errors are one-line messages for a usage failure
// (exit status 2). Numbers are parsed with std::from_chars: no exceptions, no locale, the whole
// text must be the number.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace aihub_cli {

/// One option a command accepts: "--workspace WS" takes a value, "--wait" is a flag.
struct option_spec {
  std::string_view name{};     ///< with the dashes: "--workspace"
  std::string_view metavar{};  ///< "WS"; empty for a flag
  std::string_view help{};     ///< one line for --help
  bool repeatable = false;     ///< may be given several times (--tag T --tag U)
  bool last_wins = false;      ///< may be repeated, the last one counts (global options)

  bool takes_value() const noexcept { return !metavar.empty(); }
};

/// The options every command accepts, wherever they stand on the command line.
std::span<const option_spec> global_options();

/// A command line split into options and positionals.
class parsed_args {
 public:
  std::vector<std::string> positionals;

  void add(std::string_view name, std::string value) {
    values_.emplace_back(std::string(name), std::move(value));
  }
  bool has(std::string_view name) const noexcept;
  /// The value of an option given at most once.
  std::optional<std::string> value(std::string_view name) const;
  /// Every value of a repeatable option, in order.
  std::vector<std::string> values(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

/// Why a command line cannot be used.
struct usage_error {
  std::string message;
};

/// Splits `args` by the given specs (the command's own and the global ones). Accepts "--name value"
/// and "--name=value"; "--" ends the options. Unknown options, missing values and repeated
/// non-repeatable options are usage errors.
std::variant<parsed_args, usage_error> parse_options(std::span<const std::string> args,
                                                     std::span<const option_spec> command_options);

/// Looks up a spec by name among the command's and the global options.
const option_spec* find_option(std::string_view name, std::span<const option_spec> command_options);

/// Whether a token asks for help ("--help" or "-h").
bool is_help_flag(std::string_view token) noexcept;

// ---------------------------------------------------------------------------------------------------
// Numbers

/// The whole text as a decimal int64 (an optional leading '-'), or nullopt.
std::optional<std::int64_t> parse_int64(std::string_view text) noexcept;
/// The whole text as a non-negative decimal number of seconds ("2", "0.25"), or nullopt.
std::optional<double> parse_seconds(std::string_view text) noexcept;

/// Typed access to parsed arguments for one command. The first conversion that fails is kept as
/// the usage error; later ones are ignored, so a command converts everything, then checks ok()
/// once, before anything is sent.
class arg_reader {
 public:
  explicit arg_reader(const parsed_args& args) : args_(args) {}

  /// Positional `index` as a positive integer id (a batch id), named `what` in errors.
  std::int64_t positive_id(std::size_t index, std::string_view what);
  /// Positional `index` as text that must not be empty.
  std::string text(std::size_t index, std::string_view what);
  /// An integer option within [min, max], or nullopt when absent.
  std::optional<std::int64_t> integer(std::string_view option, std::int64_t min,
                                      std::int64_t max = INT64_MAX);
  /// A duration option in seconds, or nullopt when absent.
  std::optional<double> seconds(std::string_view option);
  /// A text option (which must not be empty), or nullopt when absent.
  std::optional<std::string> text_option(std::string_view option);
  bool flag(std::string_view option) const noexcept { return args_.has(option); }
  std::vector<std::string> all(std::string_view option) const { return args_.values(option); }

  /// Requires between `min` and `max` positionals; names them in the error.
  void expect_positionals(std::size_t min, std::size_t max, std::string_view names);
  /// Records a usage error found by the command itself.
  void fail(std::string message);

  bool ok() const noexcept { return !error_; }
  const std::string& error() const noexcept { return *error_; }

 private:
  const parsed_args& args_;
  std::optional<std::string> error_;
};

}  // namespace aihub_cli
