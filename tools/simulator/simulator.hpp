// Stateful local AI Hub simulator: request routing, state and fault injection.
// The process entry point (argument parsing, signals, socket lifecycle) lives in
// aihub_simulator.cpp; this class only knows how to answer requests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace httplib {
class Server;
}

namespace aihub_sim {

struct options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string port_file;
  std::string prefix = "/api";
  std::string token = "test-token";
  std::uint64_t part_size = 10u * 1024u * 1024u;
  std::uint64_t page_size = 100;
  bool discard_content = false;
  bool strict_part_order = false;
  bool exit_with_parent = false;
};

// Parses the command line into `out`. Returns an empty string on success, otherwise a
// message for stderr. `show_help` is set for --help.
std::string parse_options(int argc, const char* const* argv, options& out, bool& show_help);
std::string usage_text();

class simulator {
 public:
  explicit simulator(options opts);
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  // Registers the catch-all handlers on `server`.
  void install(httplib::Server& server);
  // The bound port, used for Location headers.
  void set_port(int port);
  // Called (from a handler thread) when POST /_sim/shutdown is received.
  void set_shutdown_callback(std::function<void()> callback);
  // Wakes handlers sleeping on a delay fault so the server can stop promptly.
  void begin_shutdown();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aihub_sim
