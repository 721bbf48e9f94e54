// aihub: a command-line client for the Instabase AI Hub REST API, built on aihub-cpp and its
// libcurl transport. `aihub --help` lists the commands, the global options and the exit statuses.
//
// Layout: args.* parses command lines (no API knowledge), commands.* holds the command table and
// help, batches_commands.cpp and runs_commands.cpp the handlers, session.* the settings, client,
// Ctrl-C handling and error mapping, output.* everything printed.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"

namespace aihub_cli {
namespace {

/// Settings: the environment first, then the flags.
aihub::settings settings_from(const parsed_args& args) {
  aihub::settings s = aihub::settings::from_environment();
  if (auto root = args.value("--api-root")) s.api_root = *root;
  if (auto token = args.value("--token")) s.token = *token;
  if (auto context = args.value("--context")) s.ib_context = *context;
  if (args.has("--service-account")) s.service_account = true;
  return s;
}

/// Moves the global options in front of the command words into `globals`, stopping at the first
/// word; reports --help, --version, the end of the line, or (after printing it) a token that is
/// not a global option.
enum class scan { word, end, help, version, failed };
scan skip_globals(const std::vector<std::string>& args, std::size_t& i,
                  std::vector<std::string>& globals, const session& s) {
  while (i < args.size()) {
    const std::string& token = args[i];
    if (token.size() < 2 || token[0] != '-') return scan::word;
    if (is_help_flag(token)) return scan::help;
    if (token == "--version") return scan::version;
    std::string_view name = token;
    bool has_inline_value = false;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      name = name.substr(0, eq);
      has_inline_value = true;
    }
    const option_spec* spec = find_option(name, {});
    if (!spec) {
      s.usage_failure("unknown option '" + std::string(name) + "'" +
                      (s.command_path.empty() ? " (command options go after the command)" : ""));
      return scan::failed;
    }
    globals.push_back(token);
    ++i;
    if (spec->takes_value() && !has_inline_value && i < args.size()) globals.push_back(args[i++]);
  }
  return scan::end;
}

int run(const std::vector<std::string>& args, terminal& term) {
  session s(term);
  std::vector<std::string> globals;
  std::size_t i = 0;

  switch (skip_globals(args, i, globals, s)) {
    case scan::help:
      print_main_help();
      return exit_status::success;
    case scan::version:
      std::printf("aihub %s\n", AIHUB_VERSION_STRING);
      return exit_status::success;
    case scan::failed:
      return exit_status::usage;
    case scan::end:
      return s.usage_failure("missing command");
    case scan::word:
      break;
  }
  std::string group_name = args[i++];
  if (group_name == "help") {  // aihub help [GROUP [COMMAND]]
    const command_group* g = i < args.size() ? find_group(args[i]) : nullptr;
    const command* c = g && i + 1 < args.size() ? find_command(args[i], args[i + 1]) : nullptr;
    if (c)
      print_command_help(*c);
    else if (g)
      print_group_help(*g);
    else
      print_main_help();
    return exit_status::success;
  }
  const command_group* group = find_group(group_name);
  if (!group) return s.usage_failure("unknown command '" + group_name + "'");
  s.command_path = group_name;

  switch (skip_globals(args, i, globals, s)) {
    case scan::help:
      print_group_help(*group);
      return exit_status::success;
    case scan::version:
      std::printf("aihub %s\n", AIHUB_VERSION_STRING);
      return exit_status::success;
    case scan::failed:
      return exit_status::usage;
    case scan::end:
      return s.usage_failure("missing command after '" + group_name + "'");
    case scan::word:
      break;
  }
  std::string command_name = args[i++];
  const command* cmd = find_command(group_name, command_name);
  if (!cmd) return s.usage_failure("unknown command '" + group_name + " " + command_name + "'");
  s.command_path = group_name + " " + command_name;

  std::vector<std::string> rest = globals;
  rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  for (const auto& token : rest) {
    if (token == "--") break;
    if (is_help_flag(token)) {
      print_command_help(*cmd);
      return exit_status::success;
    }
  }
  auto parsed = parse_options(rest, cmd->options);
  if (auto* failure = std::get_if<usage_error>(&parsed)) return s.usage_failure(failure->message);
  auto& options = std::get<parsed_args>(parsed);
  for (const char* name : {"--api-root", "--token", "--context"})
    if (auto value = options.value(name); value && value->empty())
      return s.usage_failure(std::string(name) + " must not be empty");

  s.settings = settings_from(options);
  s.json = options.has("--json");
  s.verbose = options.has("--verbose");
  interrupt_watcher interrupts(term);
  s.stop = interrupts.token();
  int status = cmd->run(s, options);
  std::fflush(stdout);
  return status;
}

}  // namespace
}  // namespace aihub_cli

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  aihub_cli::terminal term(::isatty(STDERR_FILENO) == 1);
  return aihub_cli::run(args, term);
}
