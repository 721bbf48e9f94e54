// aihub_simulator: a stateful local AI Hub API simulator for tests and benchmarks.
// Binds to 127.0.0.1 only. See README.md in this directory for the command line, the
// simulated semantics and the /_sim control endpoints.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "sim_util.hpp"
#include "simulator.hpp"

namespace aihub_sim {

std::string usage_text() {
  return "usage: aihub_simulator [--host 127.0.0.1] [--port 0] [--port-file PATH]\n"
         "                       [--prefix /api] [--token TOKEN] [--part-size BYTES]\n"
         "                       [--page-size N] [--discard-content] [--strict-part-order]\n"
         "                       [--exit-with-parent]\n";
}

std::string parse_options(int argc, const char* const* argv, options& out, bool& show_help) {
  show_help = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    if (arg == "--help" || arg == "-h") {
      show_help = true;
      return {};
    }
    if (arg == "--discard-content" || arg == "--strict-part-order" || arg == "--exit-with-parent") {
      if (has_inline_value) return arg + " takes no value";
      if (arg == "--discard-content") {
        out.discard_content = true;
      } else if (arg == "--strict-part-order") {
        out.strict_part_order = true;
      } else {
        out.exit_with_parent = true;
      }
      continue;
    }
    if (arg != "--host" && arg != "--port" && arg != "--port-file" && arg != "--prefix" &&
        arg != "--token" && arg != "--part-size" && arg != "--page-size") {
      return "unknown argument: " + arg;
    }
    if (!has_inline_value) {
      if (i + 1 >= argc) return arg + " needs a value";
      value = argv[++i];
    }
    if (arg == "--host") {
      if (value != "127.0.0.1") return "refusing to bind to " + value + ": only 127.0.0.1";
      out.host = value;
    } else if (arg == "--port") {
      const auto port = parse_u64(value);
      if (!port || *port > 65535) return "--port must be 0..65535";
      out.port = static_cast<int>(*port);
    } else if (arg == "--port-file") {
      out.port_file = value;
    } else if (arg == "--prefix") {
      while (!value.empty() && value.back() == '/') value.pop_back();
      if (!value.empty() && value.front() != '/') value.insert(value.begin(), '/');
      for (char c : value) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '/' || c == '-' || c == '_' || c == '.' ||
                        c == '~';
        if (!ok) return "--prefix may only contain unreserved URL characters and '/'";
      }
      if (value.rfind("/_sim", 0) == 0) return "--prefix must not start with /_sim";
      out.prefix = value;
    } else if (arg == "--token") {
      if (value.empty()) return "--token must not be empty";
      out.token = value;
    } else if (arg == "--part-size" || arg == "--page-size") {
      const auto n = parse_u64(value);
      if (!n || *n == 0) return arg + " must be a positive integer";
      (arg == "--part-size" ? out.part_size : out.page_size) = *n;
    }
  }
  return {};
}

}  // namespace aihub_sim

namespace {

bool write_port_file(const std::string& path, int port) {
  // Write then rename, so a reader never sees a partial number.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    out.flush();
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Shuts down every accepted connection of this server (sockets whose local port is `port`).
void shutdown_connections(int port) {
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd <= 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = 0; fd < static_cast<int>(max_fd); ++fd) {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    if (local.sin_family != AF_INET || ntohs(local.sin_port) != port) continue;
    sockaddr_in peer{};
    len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    ::shutdown(fd, SHUT_RDWR);
  }
}

}  // namespace

int main(int argc, char** argv) {
  aihub_sim::options opts;
  bool help = false;
  const std::string problem = aihub_sim::parse_options(argc, argv, opts, help);
  if (help) {
    std::cout << aihub_sim::usage_text();
    return 0;
  }
  if (!problem.empty()) {
    std::cerr << "aihub_simulator: " << problem << "\n" << aihub_sim::usage_text();
    return 2;
  }

  // Every thread inherits this mask; the main thread collects the signals with sigwait, so
  // stopping never runs inside an asynchronous signal handler.
  ::signal(SIGPIPE, SIG_IGN);
  // An ignored signal would never reach sigwait; undo whatever the parent left behind.
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) ::signal(sig, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  sigaddset(&stop_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_read_timeout(30);
  server.set_write_timeout(30);
  aihub_sim::simulator sim(opts);
  sim.install(server);
  sim.set_shutdown_callback([] { ::kill(::getpid(), SIGUSR1); });

  // cpp-httplib listens with a backlog of 5; parallel clients connecting at once would then
  // see dropped SYNs and one-second retransmit stalls. Remember the listening socket and
  // widen its backlog after binding.
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });

  int port = -1;
  if (opts.port == 0) {
    port = server.bind_to_any_port(opts.host);
  } else if (server.bind_to_port(opts.host, opts.port)) {
    port = opts.port;
  }
  if (port <= 0) {
    std::cerr << "aihub_simulator: cannot bind " << opts.host << ":" << opts.port << "\n";
    return 1;
  }
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  sim.set_port(port);

  std::mutex done_mu;
  std::condition_variable done_cv;
  bool listener_done = false;
  std::thread listener([&] {
    server.listen_after_bind();
    std::lock_guard<std::mutex> lock(done_mu);
    listener_done = true;
    done_cv.notify_all();
  });
  // stop() is a no-op until the accept loop runs, so wait for it before announcing.
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  if (!opts.port_file.empty() && !write_port_file(opts.port_file, port)) {
    std::cerr << "aihub_simulator: cannot write port file " << opts.port_file << "\n";
    server.stop();
    listener.join();
    return 1;
  }
  std::cout << "listening on http://127.0.0.1:" << port << opts.prefix << std::endl;

  // --exit-with-parent: stop when the launching process goes away (e.g. a crashed test
  // binary), so no simulator outlives its test run.
  std::mutex quit_mu;
  std::condition_variable quit_cv;
  bool quit = false;
  std::thread watcher;
  if (opts.exit_with_parent) {
    const pid_t parent = ::getppid();
    watcher = std::thread([&, parent] {
      std::unique_lock<std::mutex> lock(quit_mu);
      while (!quit_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return quit; })) {
        if (::getppid() != parent) {
          ::kill(::getpid(), SIGTERM);
          return;
        }
      }
    });
  }

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  {
    std::lock_guard<std::mutex> lock(quit_mu);
    quit = true;
  }
  quit_cv.notify_all();
  sim.begin_shutdown();
  server.stop();
  {
    std::unique_lock<std::mutex> lock(done_mu);
    const auto finished = [&] { return listener_done; };
    if (!done_cv.wait_for(lock, std::chrono::milliseconds(300), finished)) {
      // Workers are still busy, usually waiting on idle keep-alive connections for up to the
      // keep-alive timeout. Close those connections under them instead of waiting.
      shutdown_connections(port);
      if (!done_cv.wait_for(lock, std::chrono::seconds(2), finished)) {
        std::cout.flush();
        std::_Exit(0);
      }
    }
  }
  listener.join();
  if (watcher.joinable()) watcher.join();
  return 0;
}
