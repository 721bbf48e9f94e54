#pragma once
// The command table: every "GROUP COMMAND" the tool knows, its options, help text and handler, and
// the helpers the handlers share (waiting with the last state kept, --timeout).

#include <chrono>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "args.hpp"
#include "session.hpp"

namespace aihub_cli {

using handler = int (*)(session&, const parsed_args&);

struct command {
  std::string_view group;     ///< "batches"
  std::string_view name;      ///< "create"
  std::string_view synopsis;  ///< "NAME [--workspace WS]"
  std::string_view summary;   ///< one line for the command list
  std::string_view details;   ///< more text for the command's --help
  std::span<const option_spec> options;
  handler run;
};

struct command_group {
  std::string_view name;
  std::string_view summary;
};

std::span<const command> all_commands();
std::span<const command_group> all_groups();
const command* find_command(std::string_view group, std::string_view name);
const command_group* find_group(std::string_view name);

void print_main_help();
void print_group_help(const command_group& group);
void print_command_help(const command& cmd);

// Handlers (batches_commands.cpp, runs_commands.cpp).
int batches_create(session&, const parsed_args&);
int batches_list(session&, const parsed_args&);
int batches_get(session&, const parsed_args&);
int batches_delete(session&, const parsed_args&);
int batches_upload(session&, const parsed_args&);
int batches_files(session&, const parsed_args&);
int batches_delete_file(session&, const parsed_args&);
int batches_job(session&, const parsed_args&);
int runs_start(session&, const parsed_args&);
int runs_deploy(session&, const parsed_args&);
int runs_status(session&, const parsed_args&);
int runs_results(session&, const parsed_args&);
int runs_list(session&, const parsed_args&);
int runs_delete(session&, const parsed_args&);
int jobs_status(session&, const parsed_args&);

// ---------------------------------------------------------------------------------------------------
// Shared by the handlers

/// The wait options of a command with --wait: the library's defaults, --timeout SECONDS as the
/// deadline.
inline aihub::wait_options wait_options_from(arg_reader& in) {
  aihub::wait_options options;
  if (auto seconds = in.seconds("--timeout"))
    options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(*seconds * 1000.0));
  return options;
}

/// The outcome of a wait and the last state polled, which a FAILED run or a deadline still has.
template <class Value>
struct wait_outcome {
  aihub::result<Value> outcome;
  std::optional<Value> last_seen;
};

/// Polls with `poll` until Traits says the state is terminal, the deadline passes or the session is
/// stopped; keeps the last state seen.
template <class Traits, aihub::operation Op>
wait_outcome<typename Op::response_type> wait_for(hub_client& hub, Op poll,
                                                  aihub::wait_options options) {
  // The client's own context: its settings and its retry policy, so a poll that meets a 503
  // is retried as any other call is.
  aihub::wait_flow<Op, Traits> machine(std::move(poll), options, hub.context());
  auto outcome = hub.drive(machine);
  return {std::move(outcome), machine.last_seen()};
}

/// Ends a waiting command: prints the final state (or, when the wait failed, the last state seen,
/// so a FAILED run or a still RUNNING one is visible), then the error if any.
template <class Value, class Print>
int finish_wait(session& s, wait_outcome<Value>& waited, Print&& print_human) {
  const Value* shown =
      waited.outcome ? &*waited.outcome : (waited.last_seen ? &*waited.last_seen : nullptr);
  if (shown) {
    if (s.json)
      print_json(*shown);
    else
      print_human(*shown);
  }
  if (!waited.outcome) return s.failure(waited.outcome.error());
  return exit_status::success;
}

}  // namespace aihub_cli
