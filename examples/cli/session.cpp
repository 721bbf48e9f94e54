#include "session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iterator>
#include <string>

namespace aihub_cli {

// ---------------------------------------------------------------------------------------------------
// Errors and exit statuses

int exit_status_for(const aihub::error& e) {
  switch (e.kind) {
    case aihub::error_kind::validation:
      return exit_status::usage;
    case aihub::error_kind::http_status:
    case aihub::error_kind::failed:
      return exit_status::api_error;
    case aihub::error_kind::timeout:
      // A wait's deadline is not retryable; a transfer that timed out is (libcurl's time limits).
      return e.retryable ? exit_status::transport : exit_status::deadline;
    case aihub::error_kind::cancelled:
      return stopped_exit_status();
    case aihub::error_kind::local_input:
      return exit_status::local_input;
    case aihub::error_kind::transport:
    case aihub::error_kind::decode:
    case aihub::error_kind::protocol:
      return exit_status::transport;
  }
  return exit_status::transport;
}

int session::usage_failure(std::string_view message) const {
  term.line("aihub: error: " + std::string(message));
  term.line("Try 'aihub " + command_path + (command_path.empty() ? "" : " ") + "--help'.");
  return exit_status::usage;
}

int session::failure(const aihub::error& e) const {
  report(e);
  return exit_status_for(e);
}

void session::report(const aihub::error& e, std::string_view what) const {
  std::string text;
  if (!what.empty()) text.append(what).append(" failed: ");
  if (e.kind == aihub::error_kind::transport || e.kind == aihub::error_kind::decode ||
      e.kind == aihub::error_kind::protocol)
    text.append(to_string(e.kind)).append(" error: ");
  text.append(e.describe());
  if (e.kind == aihub::error_kind::validation) {
    usage_failure(text);
    return;
  }
  term.line("aihub: " + text);
}

bool session::settings_usable() const {
  if (auto ok = aihub::validate(settings); !ok) {
    const auto& e = ok.error();
    std::string message = e.message;
    if (e.field == "token" && settings.token.empty())
      message = "no token: set AIHUB_API_TOKEN or pass --token";
    else if (e.field == "api_root")
      message.append(" (from --api-root or AIHUB_API_ROOT)");
    usage_failure(message);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// The client

hub_client session::make_client(
    std::size_t parallel, std::function<void(const aihub::transfer_progress&)> on_send) const {
  aihub::curl::transport_options transport_options{.api_root = settings.api_root};
  aihub::client_options<aihub::curl::transport> options;  // the default retry policy
  options.stop = stop;
  options.send.on_progress = std::move(on_send);
  if (parallel > 1)
    options.transport_factory = [transport_options] {
      return aihub::curl::transport(transport_options);
    };
  if (verbose) {
    options.on_exchange = [&t = term](const aihub::http::request& request,
                                      const aihub::result<aihub::http::response>& response) {
      std::string text = aihub::http::to_string(request);  // redacts the Authorization header
      std::string out;
      std::size_t start = 0;
      while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        out.append("> ").append(text, start, end - start).push_back('\n');
        start = end + 1;
      }
      if (response)
        out.append("< HTTP ").append(std::to_string(response->status));
      else
        out.append("< no response: ").append(response.error().describe());
      t.line(out);
    };
  }
  return hub_client(aihub::curl::transport(transport_options), settings, std::move(options));
}

// ---------------------------------------------------------------------------------------------------
// Ctrl-C, SIGTERM, SIGHUP

namespace {
constexpr int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
std::atomic<int> interrupt_write_fd{-1};
std::atomic<int> interrupts{0};
std::atomic<int> first_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");
struct sigaction previous_actions[3]{};

extern "C" void on_stop_signal(int signal_number) {
  const int saved_errno = errno;
  if (interrupts.fetch_add(1) > 0) {
    // A second signal: stop waiting for the clean-up and die of the signal as usual.
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
  }
  int none = 0;
  first_signal.compare_exchange_strong(none, signal_number);
  const int fd = interrupt_write_fd.load();
  if (fd >= 0) {
    const char byte = 'i';
    [[maybe_unused]] auto n = ::write(fd, &byte, 1);
  }
  errno = saved_errno;
}
}  // namespace

int stopped_exit_status() {
  const int signal_number = first_signal.load();
  return 128 + (signal_number != 0 ? signal_number : SIGINT);
}

interrupt_watcher::interrupt_watcher(terminal& term) : term_(term) {
  if (::pipe(pipe_) != 0) return;
  for (int fd : pipe_) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  interrupt_write_fd.store(pipe_[1]);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int signal_number : stop_signals) sigaddset(&action.sa_mask, signal_number);
  action.sa_flags = SA_RESTART;
  for (std::size_t i = 0; i < std::size(stop_signals); ++i)
    installed_[i] = ::sigaction(stop_signals[i], &action, &previous_actions[i]) == 0;
  thread_ = std::thread([this] { watch(); });
}

interrupt_watcher::~interrupt_watcher() {
  for (std::size_t i = 0; i < std::size(stop_signals); ++i)
    if (installed_[i]) ::sigaction(stop_signals[i], &previous_actions[i], nullptr);
  if (thread_.joinable()) {
    const char byte = 'q';
    [[maybe_unused]] auto n = ::write(pipe_[1], &byte, 1);
    thread_.join();
  }
  interrupt_write_fd.store(-1);
  for (int fd : pipe_)
    if (fd >= 0) ::close(fd);
}

void interrupt_watcher::watch() {
  for (;;) {
    char byte = 0;
    ssize_t n = ::read(pipe_[0], &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == 'q') return;
    if (!source_.stop_requested()) {
      switch (first_signal.load()) {
        case SIGTERM:
          term_.line("aihub: terminated (SIGTERM); stopping (send it again to quit at once)");
          break;
        case SIGHUP:
          term_.line("aihub: hung up (SIGHUP); stopping (send it again to quit at once)");
          break;
        default:
          term_.line("aihub: interrupted; stopping (Ctrl-C again to quit at once)");
      }
      source_.request_stop();
    }
  }
}

}  // namespace aihub_cli
