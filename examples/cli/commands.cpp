// The command table and the help texts.
#include "commands.hpp"

#include <cstdio>
#include <string>

namespace aihub_cli {

namespace {

constexpr option_spec wait_option{"--wait", "",
                                  "wait until the job or run ends; print the final state"};
constexpr option_spec timeout_option{"--timeout", "SECONDS",
                                     "give up waiting after this long (default 1800); exit 5"};

constexpr option_spec batches_create_options[] = {
    {"--workspace", "WS", "workspace of the batch (required for service accounts)"},
};
constexpr option_spec batches_list_options[] = {
    {"--workspace", "WS", "only batches of this workspace"},
    {"--username", "U", "only batches of this user"},
    {"--limit", "N", "list at most N batches"},
    {"--offset", "N", "skip the first N batches"},
    {"--page-size", "N", "batches per request (default 100)"},
};
constexpr option_spec batches_delete_options[] = {wait_option, timeout_option};
constexpr option_spec batches_upload_options[] = {
    {"--name", "REMOTE_NAME", "name of the file in the batch (only with one FILE)"},
    {"--parallel", "N", "parts of a multipart upload in flight at once (default 4)"},
    {"--multipart-threshold", "BYTES",
     "files larger than this go up in a multipart session (default 10000000)"},
};
constexpr option_spec batches_files_options[] = {
    {"--page-size", "N", "files per request (default: the server's)"},
    {"--max-pages", "N", "stop after N pages"},
};
constexpr option_spec batches_job_options[] = {wait_option, timeout_option};
constexpr option_spec runs_start_options[] = {
    {"--app", "NAME", "name of the app to run"},
    {"--owner", "OWNER", "owner of the app (\"instabase\" for Marketplace apps); with --app"},
    {"--app-id", "ID", "id of the app to run (instead of --app)"},
    {"--batch", "BATCH_ID", "run on the files of this batch"},
    {"--input-dir", "DIR", "run on the files of this directory (instead of --batch)"},
    {"--version", "V", "app version (default: the latest)"},
    {"--output-workspace", "WS", "workspace for the results"},
    {"--output-dir", "DIR", "directory for the results (overrides --output-workspace)"},
    {"--tag", "T", "tag the run (repeatable; 500 characters in all)", true},
    wait_option,
    timeout_option,
};
constexpr option_spec runs_deploy_options[] = {
    {"--batch", "BATCH_ID", "run on the files of this batch"},
    {"--input-dir", "DIR", "run on the files of this directory (instead of --batch)"},
    {"--upstream-integration", "", "run on the deployment's upstream integration (instead)"},
    {"--from-ms", "UNIX_MS", "mailbox integration: pull emails from this time (Unix milliseconds)"},
    {"--to-ms", "UNIX_MS", "mailbox integration: pull emails up to this time (Unix milliseconds)"},
    {"--version", "V", "app version (default: the latest production version)"},
    {"--output-dir", "DIR", "directory for the results (default: the deployment's workspace)"},
    {"--tag", "T", "tag the run (repeatable; 500 characters in all)", true},
    wait_option,
    timeout_option,
};
constexpr option_spec runs_results_options[] = {
    {"--include-review", "", "include human review results"},
    {"--include-confidence", "", "include confidence scores"},
    {"--include-validation", "", "include validation results"},
    {"--include-source", "", "include source coordinates"},
    {"--max-pages", "N", "stop after N pages of files"},
};
constexpr option_spec runs_list_options[] = {
    {"--app", "NAME", "only runs of this app name"},
    {"--app-id", "ID", "only runs of this app id"},
    {"--deployment", "ID", "only runs of this deployment"},
    {"--username", "U", "only runs of this user"},
    {"--run-id", "ID", "only this run"},
    {"--status", "S",
     "only runs in these states (repeatable or comma-separated: running,failed...)", true},
    {"--output-workspace", "WS", "only runs writing to this workspace (repeatable)", true},
    {"--from", "UNIX_SECONDS", "started at or after (default: the server's, the last 24 hours)"},
    {"--to", "UNIX_SECONDS", "started at or before"},
    {"--sort-by", "FIELD", "start_timestamp or status"},
    {"--order", "ORDER", "asc or desc"},
    {"--limit", "N", "list at most N runs"},
    {"--offset", "N", "skip the first N runs"},
    {"--page-size", "N", "runs per request (default 100)"},
    {"--max-pages", "N", "stop after N pages"},
};
constexpr option_spec runs_delete_options[] = {
    {"--keep-db-data", "", "keep the run's database data (default: delete it)"},
    {"--keep-input", "", "keep the run's input files (default: delete them and the batch)"},
    {"--keep-output", "", "keep the run's output files (default: delete them)"},
    {"--keep-logs", "", "keep the run's logs (default: delete them)"},
    wait_option,
    timeout_option,
};
constexpr option_spec jobs_status_options[] = {wait_option, timeout_option};

constexpr command_group groups[] = {
    {"batches", "create, list, inspect and delete batches; upload and list their files"},
    {"runs", "start apps and deployments, follow, list and delete runs, read results"},
    {"jobs", "follow asynchronous jobs (deletions)"},
};

constexpr std::span<const option_spec> none{};

constexpr command commands[] = {
    {"batches", "create", "NAME [--workspace WS]", "create a batch; prints its id",
     "The workspace defaults to the caller's personal one; a service account must name one.",
     batches_create_options, batches_create},
    {"batches", "list", "[--workspace WS] [--username U] [--limit N] [--offset N] [--page-size N]",
     "list batches (every page, merged)",
     "Fetches pages of --page-size batches until the listing ends or --limit batches are listed.",
     batches_list_options, batches_list},
    {"batches", "get", "BATCH_ID", "show one batch", "", none, batches_get},
    {"batches", "delete", "BATCH_ID [--wait [--timeout SECONDS]]",
     "delete a batch; prints the deletion job's id",
     "With --wait, polls the deletion job until it ends and prints its final state.",
     batches_delete_options, batches_delete},
    {"batches", "upload",
     "BATCH_ID FILE... [--name REMOTE_NAME] [--parallel N] [--multipart-threshold BYTES]",
     "upload files into a batch",
     "Each file keeps its base name unless --name (one file only) gives another. Files above the\n"
     "threshold go up in a multipart session, --parallel parts at a time; a failed part is "
     "retried,\n"
     "and if it still fails (or on Ctrl-C) the session is aborted on the server. Every file is\n"
     "checked before the first byte is sent. On a terminal a progress line shows bytes, rate and\n"
     "ETA on stderr. With --json one document describing every upload is printed once they all\n"
     "succeeded.",
     batches_upload_options, batches_upload},
    {"batches", "files", "BATCH_ID [--page-size N] [--max-pages N]",
     "list the files of a batch (every page, merged)",
     "With --json the pages are merged into one listBatchFiles object: `nodes` holds every file;\n"
     "`has_more` and `next_page_token` are those of the last page fetched.",
     batches_files_options, batches_files},
    {"batches", "delete-file", "BATCH_ID NAME", "delete one file of a batch", "", none,
     batches_delete_file},
    {"batches", "job", "JOB_ID [--wait [--timeout SECONDS]]",
     "show a batches job (GET /v2/batches/jobs/JOB_ID)", "", batches_job_options, batches_job},
    {"runs", "start",
     "(--app NAME [--owner OWNER] | --app-id ID) (--batch BATCH_ID | --input-dir DIR)\n"
     "           [--version V] [--output-workspace WS] [--output-dir DIR] [--tag T]...\n"
     "           [--wait [--timeout SECONDS]]",
     "run an app; prints the run id",
     "With --wait, polls the run until it ends and prints it. COMPLETE and STOPPED_AT_CHECKPOINT\n"
     "(a human review is needed) exit 0; FAILED and CANCELLED exit 3.",
     runs_start_options, runs_start},
    {"runs", "deploy",
     "DEPLOYMENT_ID (--batch BATCH_ID | --input-dir DIR |\n"
     "            --upstream-integration [--from-ms UNIX_MS] [--to-ms UNIX_MS])\n"
     "            [--version V] [--output-dir DIR] [--tag T]... [--wait [--timeout SECONDS]]",
     "run a deployment; prints the run id",
     "The input is a batch, a directory, or what the deployment's upstream integration provides\n"
     "(for a mailbox integration, the emails between --from-ms and --to-ms). The results go to\n"
     "the deployment's output workspace unless --output-dir names another place.\n"
     "With --wait, polls the run until it ends and prints it. COMPLETE and STOPPED_AT_CHECKPOINT\n"
     "(a human review is needed) exit 0; FAILED and CANCELLED exit 3.",
     runs_deploy_options, runs_deploy},
    {"runs", "status", "RUN_ID", "show a run", "", none, runs_status},
    {"runs", "results",
     "RUN_ID [--include-review] [--include-confidence] [--include-validation]\n"
     "             [--include-source] [--max-pages N]",
     "show a run's results (every page, merged)",
     "With --json the pages are merged into one results object: `files` holds every file;\n"
     "`has_more` is that of the last page fetched.",
     runs_results_options, runs_results},
    {"runs", "list",
     "[--app NAME] [--app-id ID] [--deployment ID] [--username U] [--run-id ID]\n"
     "          [--status S]... [--output-workspace WS]... [--from T] [--to T]\n"
     "          [--sort-by FIELD] [--order asc|desc] [--limit N] [--offset N] [--page-size N]\n"
     "          [--max-pages N]",
     "list runs (every page, merged)",
     "Without --from the server lists the runs of the last 24 hours.", runs_list_options,
     runs_list},
    {"runs", "delete",
     "RUN_ID [--keep-db-data] [--keep-input] [--keep-output] [--keep-logs]\n"
     "            [--wait [--timeout SECONDS]]",
     "delete a run and its files; prints the deletion jobs' ids",
     "By default everything of the run is deleted: its database data, input files (and with them\n"
     "the batch the run read), output files and logs; each --keep-* flag spares one part. The API\n"
     "starts one job per deleted directory (input, output, logs); their ids are printed one per\n"
     "line, in that order. With --wait, polls each job (GET /v2/jobs/JOB_ID) until it ends and\n"
     "prints its final state. All COMPLETE exits 0; a job that ended FAILED or CANCELLED exits 3\n"
     "and a deadline exits 5, after the other jobs were polled too (the first such job decides).",
     runs_delete_options, runs_delete},
    {"jobs", "status", "JOB_ID [--wait [--timeout SECONDS]]", "show any job (GET /v2/jobs/JOB_ID)",
     "With --wait, polls until the job ends: COMPLETE exits 0, FAILED and CANCELLED exit 3.",
     jobs_status_options, jobs_status},
};

void print_options(std::span<const option_spec> options) {
  for (const auto& o : options) {
    std::string left = "  " + std::string(o.name);
    if (o.takes_value()) left.append(" ").append(o.metavar);
    if (left.size() <= 28)
      left.append(30 - left.size(), ' ');
    else
      left.append("\n").append(30, ' ');
    std::printf("%s%.*s\n", left.c_str(), static_cast<int>(o.help.size()), o.help.data());
  }
}

constexpr std::string_view global_help =
    R"(Global options (anywhere on the command line; a flag wins over the environment variable,
and the last of a repeated global option counts):
  --api-root URL              API root; default $AIHUB_API_ROOT, else https://aihub.instabase.com/api
  --token TOKEN               bearer token; default $AIHUB_API_TOKEN (prefer the variable: a flag
                              is visible to other users in the process list)
  --context IB_CONTEXT        IB-Context header (organization); default $AIHUB_IB_CONTEXT
  --service-account           call as a service account: batches need --workspace, runs an output
  --json                      print the response as one JSON document on stdout
  --verbose                   print each request (token redacted) and its status on stderr
  -h, --help                  show help; also after any group or command
)";

constexpr std::string_view exit_help = R"(Exit status:
  0    success
  2    usage error or a request the library refused before sending it (validation); nothing
       was sent
  3    the API answered an error status (the status and the server's message go to stderr);
       also a job or run that ended FAILED or CANCELLED on --wait, and an upload whose part
       still failed after retries (its multipart session is aborted)
  4    no usable answer: a transport failure (DNS, connection refused, reset, TLS, transfer
       time limit), a response that is not valid JSON for the operation (decode), or a server
       that broke the protocol (e.g. a repeated page token)
  5    a --wait reached its deadline (--timeout); the last state seen is still printed
  6    a local file could not be read, or changed while it was being uploaded (the upload is
       abandoned and its multipart session aborted: the server never gets a mix of old and new
       bytes)
  130  interrupted by Ctrl-C; an unfinished multipart upload is aborted on the server first
  129, 143  stopped by SIGHUP or SIGTERM, with the same clean stop as Ctrl-C (each clean-up
       request is bounded to 10 seconds)
)";

}  // namespace

std::span<const command> all_commands() {
  return commands;
}
std::span<const command_group> all_groups() {
  return groups;
}

const command* find_command(std::string_view group, std::string_view name) {
  for (const auto& c : commands)
    if (c.group == group && c.name == name) return &c;
  return nullptr;
}

const command_group* find_group(std::string_view name) {
  for (const auto& g : groups)
    if (g.name == name) return &g;
  return nullptr;
}

void print_main_help() {
  std::printf(
      "Usage: aihub [OPTIONS] GROUP COMMAND [ARGS]...\n\n"
      "Command-line client for the Instabase AI Hub REST API (aihub-cpp %s).\n\n",
      AIHUB_VERSION_STRING);
  std::printf("Commands:\n");
  for (const auto& c : commands) {
    std::string left = "  " + std::string(c.group) + " " + std::string(c.name);
    if (left.size() < 24) left.append(24 - left.size(), ' ');
    std::printf("%s%.*s\n", left.c_str(), static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::printf("\n%.*s\n", static_cast<int>(global_help.size()), global_help.data());
  std::printf("%.*s\n", static_cast<int>(exit_help.size()), exit_help.data());
  std::printf("Run 'aihub GROUP COMMAND --help' for a command's options.\n");
}

void print_group_help(const command_group& group) {
  std::printf("Usage: aihub %.*s COMMAND [ARGS]...\n\n%.*s\n\nCommands:\n",
              static_cast<int>(group.name.size()), group.name.data(),
              static_cast<int>(group.summary.size()), group.summary.data());
  for (const auto& c : commands) {
    if (c.group != group.name) continue;
    std::printf("  %.*s %.*s\n      %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                static_cast<int>(c.synopsis.size()), c.synopsis.data(),
                static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::printf(
      "\nRun 'aihub %.*s COMMAND --help' for a command's options; 'aihub --help' for the\n"
      "global options and exit statuses.\n",
      static_cast<int>(group.name.size()), group.name.data());
}

void print_command_help(const command& cmd) {
  std::printf("Usage: aihub %.*s %.*s %.*s\n\n%.*s\n", static_cast<int>(cmd.group.size()),
              cmd.group.data(), static_cast<int>(cmd.name.size()), cmd.name.data(),
              static_cast<int>(cmd.synopsis.size()), cmd.synopsis.data(),
              static_cast<int>(cmd.summary.size()), cmd.summary.data());
  if (!cmd.details.empty())
    std::printf("\n%.*s\n", static_cast<int>(cmd.details.size()), cmd.details.data());
  if (!cmd.options.empty()) {
    std::printf("\nOptions:\n");
    print_options(cmd.options);
  }
  std::printf("\n%.*s\n%.*s", static_cast<int>(global_help.size()), global_help.data(),
              static_cast<int>(exit_help.size()), exit_help.data());
}

}  // namespace aihub_cli
