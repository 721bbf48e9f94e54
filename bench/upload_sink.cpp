// upload_sink: a minimal loopback HTTP/1.1 server that answers just enough of the AI Hub multipart
// upload protocol for the upload benchmark, and throws every body byte away without copying it
// (recv with MSG_TRUNC), so the sink is never what limits the throughput being measured.
//
//   upload_sink [--port-file PATH] [--part-size BYTES] [--exit-with-parent]
//
// Prints "listening on http://127.0.0.1:PORT/api" once ready. One thread per connection,
// keep-alive, Content-Length bodies only (what aihub and libcurl send here). Routes, under /api:
//   POST /v2/batches                                   200 {"id":1}
//   POST /v2/batches/multipart-upload                  201 {"session_id":"bench-session",
//                                                           "part_size":N} + Location
//   PUT  /v2/batches/multipart-upload/sessions/S/parts/N   201 {"part_num":N,"part_id":"part-N"}
//   POST /v2/batches/multipart-upload/sessions/S       201, empty
//   GET  /_stats                                       200 {"body_bytes":B,"requests":R}
//   anything else                                      404
// It answers "100 Continue" when asked. Stops on SIGTERM/SIGINT (default action), and with
// --exit-with-parent also when the process that started it goes away.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

std::atomic<std::uint64_t> body_bytes{0};
std::atomic<std::uint64_t> requests{0};
std::uint64_t part_size = 10ull << 20;
int listen_port = 0;

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string response(int status, std::string_view reason, std::string_view body,
                     std::string_view extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out.append(extra_headers);
  if (!body.empty()) out.append("Content-Type: application/json\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  return out;
}

std::string route(std::string_view method, std::string_view target) {
  constexpr std::string_view prefix = "/api";
  if (method == "GET" && target == "/_stats")
    return response(200, "OK",
                    "{\"body_bytes\":" + std::to_string(body_bytes.load()) +
                        ",\"requests\":" + std::to_string(requests.load()) + "}");
  if (target.substr(0, prefix.size()) != prefix) return response(404, "Not Found", "{\"message\":\"not found\"}");
  std::string_view path = target.substr(prefix.size());
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  constexpr std::string_view sessions = "/v2/batches/multipart-upload/sessions/";
  if (method == "POST" && path == "/v2/batches") return response(200, "OK", "{\"id\":1}");
  if (method == "POST" && path == "/v2/batches/multipart-upload") {
    std::string location = "Location: http://127.0.0.1:" + std::to_string(listen_port) +
                           "/api/v2/batches/multipart-upload/sessions/bench-session\r\n";
    return response(201, "Created",
                    "{\"session_id\":\"bench-session\",\"part_size\":" + std::to_string(part_size) +
                        "}",
                    location);
  }
  if (path.substr(0, sessions.size()) == sessions) {
    std::string_view rest = path.substr(sessions.size());
    auto slash = rest.find('/');
    if (method == "POST" && slash == std::string_view::npos) return response(201, "Created", "");
    constexpr std::string_view parts = "/parts/";
    if (method == "PUT" && slash != std::string_view::npos &&
        rest.substr(slash, parts.size()) == parts) {
      std::string_view num = rest.substr(slash + parts.size());
      return response(201, "Created",
                      "{\"part_num\":" + std::string(num) + ",\"part_id\":\"part-" +
                          std::string(num) + "\"}");
    }
  }
  return response(404, "Not Found", "{\"message\":\"not found\"}");
}

void serve(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<char> buffer(64 * 1024);
  std::size_t have = 0;
  for (;;) {
    // Read the request head.
    std::size_t head_end = std::string_view::npos;
    for (;;) {
      std::string_view seen(buffer.data(), have);
      head_end = seen.find("\r\n\r\n");
      if (head_end != std::string_view::npos) break;
      if (have == buffer.size()) goto done;  // head too large
      ssize_t n = ::recv(fd, buffer.data() + have, buffer.size() - have, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) goto done;
      have += static_cast<std::size_t>(n);
    }
    {
      std::string_view head(buffer.data(), head_end);
      std::size_t line_end = head.find("\r\n");
      std::string_view request_line = head.substr(0, line_end);
      std::size_t sp1 = request_line.find(' ');
      std::size_t sp2 = request_line.find(' ', sp1 + 1);
      if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) goto done;
      std::string method(request_line.substr(0, sp1));
      std::string target(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
      std::uint64_t length = 0;
      bool expect_continue = false;
      std::string_view rest = line_end == std::string_view::npos ? std::string_view()
                                                                 : head.substr(line_end + 2);
      while (!rest.empty()) {
        std::size_t e = rest.find("\r\n");
        std::string_view line = rest.substr(0, e);
        rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (ieq(name, "content-length")) {
          std::from_chars(value.data(), value.data() + value.size(), length);
        } else if (ieq(name, "transfer-encoding")) {
          goto done;  // not needed by the benchmark
        } else if (ieq(name, "expect") && ieq(value, "100-continue")) {
          expect_continue = true;
        }
      }
      // Drop the head; what follows it in the buffer is the start of the body.
      std::size_t consumed = head_end + 4;
      std::size_t buffered = have - consumed;
      std::size_t from_buffer = buffered < length ? buffered : static_cast<std::size_t>(length);
      std::memmove(buffer.data(), buffer.data() + consumed + from_buffer, buffered - from_buffer);
      have = buffered - from_buffer;
      std::uint64_t left = length - from_buffer;
      if (expect_continue && left > 0 && !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) goto done;
      // Discard the rest of the body in the kernel: MSG_TRUNC on TCP drops the bytes uncopied.
      while (left > 0) {
        std::size_t want = left < (1u << 30) ? static_cast<std::size_t>(left) : (1u << 30);
        ssize_t n = ::recv(fd, nullptr, want, MSG_TRUNC);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) goto done;
        left -= static_cast<std::uint64_t>(n);
      }
      body_bytes.fetch_add(length, std::memory_order_relaxed);
      requests.fetch_add(1, std::memory_order_relaxed);
      if (!send_all(fd, route(method, target))) goto done;
    }
  }
done:
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::string port_file;
  bool exit_with_parent = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--exit-with-parent") {
      exit_with_parent = true;
    } else if (arg == "--port-file" && i + 1 < argc) {
      port_file = argv[++i];
    } else if (arg == "--part-size" && i + 1 < argc) {
      part_size = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: upload_sink [--port-file PATH] [--part-size BYTES] [--exit-with-parent]\n");
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (exit_with_parent) {
    std::thread([parent = ::getppid()] {
      while (::getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::_Exit(0);
    }).detach();
  }
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, SOMAXCONN) != 0) {
    std::perror("upload_sink: bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  listen_port = ntohs(addr.sin_port);
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%d\n", listen_port);
      std::fclose(f);
      std::rename(tmp.c_str(), port_file.c_str());
    }
  }
  std::printf("listening on http://127.0.0.1:%d/api\n", listen_port);
  std::fflush(stdout);
  for (;;) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR) continue;
      std::perror("upload_sink: accept");
      return 1;
    }
    std::thread(serve, fd).detach();
  }
}
