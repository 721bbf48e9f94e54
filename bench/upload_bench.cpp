// Benchmark 3: multipart upload of a (sparse) file over loopback.
//
//   upload_bench aihub API_ROOT FILE PARALLEL
//       aihub::client + aihub::curl::transport: client.upload_file(), PARALLEL parts in flight
//       (a transport per worker from transport_factory). Creating the batch is not timed; the
//       session start, every part and the commit are.
//   upload_bench aihub-pread API_ROOT FILE PARALLEL
//       the same through client.upload() with upload_source::from_reader over pread() on one
//       descriptor (as the raw client reads), to tell file-reading costs from the client's own.
//   upload_bench raw API_ROOT FILE PARALLEL PART_SIZE
//       libcurl alone: PARALLEL threads, each with one easy handle (keep-alive), PUT every part
//       of PART_SIZE bytes to .../multipart-upload/sessions/bench-session/parts/N from a read
//       callback that pread()s the file. Same upload buffer size as aihub's transport (256 KiB),
//       same headers, no Expect: 100-continue (aihub suppresses it too).
//
// Prints one line: mode, parallel, bytes, seconds, GB/s (1e9 bytes), the process's CPU time (user +
// system, all threads) during the upload and per GiB, peak RSS in KiB (getrusage), and the RSS just
// before the upload started. CPU per GiB is the steadier figure on a shared machine: it measures
// the client's own cost whatever the scheduler does.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aihub/aihub.hpp>
#include <aihub/curl/transport.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <curl/curl.h>
#include <string>
#include <thread>
#include <vector>

namespace {

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

/// User + system CPU seconds of the whole process (every thread) so far.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long current_rss_kib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

void report(const char* mode, unsigned parallel, std::uint64_t bytes, double seconds,
            double cpu, long rss_before) {
  std::printf("mode=%s parallel=%u bytes=%llu seconds=%.4f gbps=%.3f cpu_seconds=%.4f "
              "cpu_s_per_gib=%.4f peak_rss_kib=%ld rss_before_kib=%ld\n",
              mode, parallel, static_cast<unsigned long long>(bytes), seconds,
              static_cast<double>(bytes) / seconds / 1e9, cpu,
              cpu / (static_cast<double>(bytes) / (1u << 30)), peak_rss_kib(), rss_before);
}

int run_aihub(const std::string& api_root, const std::string& path, unsigned parallel,
              bool pread_source) {
  aihub::settings settings;
  settings.api_root = api_root;
  settings.token = "test-token";
  aihub::curl::transport_options transport{.api_root = api_root};
  aihub::client_options<aihub::curl::transport> options;
  options.transport_factory = [transport] { return aihub::curl::transport(transport); };
  aihub::client hub(aihub::curl::transport(transport), settings, std::move(options));

  auto batch = hub.call(aihub::create_batch{.name = "upload benchmark"});
  if (!batch) {
    std::fprintf(stderr, "create_batch: %s\n", batch.error().describe().c_str());
    return 1;
  }
  long rss_before = current_rss_kib();
  double cpu_start = cpu_seconds();
  auto start = std::chrono::steady_clock::now();
  int fd = -1;
  aihub::result<aihub::upload_outcome> uploaded = aihub::make_error(aihub::error_kind::protocol, "");
  if (pread_source) {
    // The same upload from a positional reader over one shared descriptor (what the raw libcurl
    // client does), instead of upload_file's per-part fopen/fread file_slice bodies.
    fd = ::open(path.c_str(), O_RDONLY);
    struct stat info {};
    if (fd < 0 || ::fstat(fd, &info) != 0) {
      std::perror(path.c_str());
      return 1;
    }
    auto source = aihub::upload_source::from_reader(
        static_cast<std::uint64_t>(info.st_size),
        [fd](std::uint64_t offset, std::span<std::byte> out) -> aihub::result<std::size_t> {
          ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
          if (n < 0) return aihub::make_error(aihub::error_kind::transport, "pread failed");
          return static_cast<std::size_t>(n);
        });
    uploaded = hub.upload(batch->id, aihub::file_name(std::string_view("upload.bin")),
                          std::move(source), {.parallel_parts = parallel});
  } else {
    uploaded = hub.upload_file(batch->id, path, "upload.bin", {.parallel_parts = parallel});
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu = cpu_seconds() - cpu_start;
  if (fd >= 0) ::close(fd);
  if (!uploaded) {
    std::fprintf(stderr, "upload: %s\n", uploaded.error().describe().c_str());
    return 1;
  }
  report(pread_source ? "aihub-pread" : "aihub", parallel, uploaded->size, seconds, cpu, rss_before);
  return 0;
}

struct part_reader {
  int fd;
  std::uint64_t offset;
  std::uint64_t left;
};

std::size_t read_part(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& r = *static_cast<part_reader*>(user);
  std::size_t want = size * count;
  if (want > r.left) want = static_cast<std::size_t>(r.left);
  if (want == 0) return 0;
  ssize_t n = ::pread(r.fd, buffer, want, static_cast<off_t>(r.offset));
  if (n <= 0) return CURL_READFUNC_ABORT;
  r.offset += static_cast<std::uint64_t>(n);
  r.left -= static_cast<std::uint64_t>(n);
  return static_cast<std::size_t>(n);
}

std::size_t keep_response(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

/// POSTs a JSON body with libcurl (untimed setup); returns the response body, empty on failure.
std::string post_json(const std::string& url, const std::string& json) {
  CURL* easy = curl_easy_init();
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Authorization: Bearer test-token");
  headers = curl_slist_append(headers, "Content-Type: application/json");
  std::string body;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, json.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &keep_response);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  long status = 0;
  if (curl_easy_perform(easy) != CURLE_OK) body.clear();
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) body.clear();
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  return body;
}

/// The text of "name": value in a flat JSON object (enough for the setup answers).
std::string member(const std::string& json, const std::string& name) {
  auto at = json.find("\"" + name + "\"");
  if (at == std::string::npos) return {};
  at = json.find(':', at);
  if (at == std::string::npos) return {};
  ++at;
  while (at < json.size() && (json[at] == ' ' || json[at] == '"')) ++at;
  auto end = json.find_first_of(",}\"", at);
  return json.substr(at, end - at);
}

int run_raw(const std::string& api_root, const std::string& path, unsigned parallel,
            std::uint64_t part_size) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int fd = ::open(path.c_str(), O_RDONLY);
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    std::perror(path.c_str());
    return 1;
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  // Untimed setup, so any server (upload_sink or the simulator) accepts the parts: a batch and a
  // multipart session; the session's part size wins over PART_SIZE when the server sets one.
  std::string batch_id = member(post_json(api_root + "/v2/batches", R"({"name":"raw"})"), "id");
  std::string session = post_json(api_root + "/v2/batches/multipart-upload",
                                  "{\"batch_id\":" + batch_id +
                                      ",\"filename\":\"raw.bin\",\"file_size\":" +
                                      std::to_string(size) + "}");
  std::string session_id = member(session, "session_id");
  if (batch_id.empty() || session_id.empty()) {
    std::fprintf(stderr, "could not create a batch and a multipart session at %s\n",
                 api_root.c_str());
    return 1;
  }
  if (auto served = std::strtoull(member(session, "part_size").c_str(), nullptr, 10))
    part_size = served;
  const std::uint64_t parts = (size + part_size - 1) / part_size;
  const std::string base =
      api_root + "/v2/batches/multipart-upload/sessions/" + session_id + "/parts/";
  std::atomic<std::uint64_t> next{1};
  std::atomic<bool> failed{false};
  long rss_before = current_rss_kib();
  double cpu_start = cpu_seconds();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < parallel; ++w) {
    workers.emplace_back([&] {
      CURL* easy = curl_easy_init();
      curl_slist* headers = nullptr;
      headers = curl_slist_append(headers, "Authorization: Bearer test-token");
      headers = curl_slist_append(headers, "Accept: application/json");
      headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
      headers = curl_slist_append(headers, "Expect:");
      std::string body;
      for (;;) {
        std::uint64_t n = next.fetch_add(1);
        if (n > parts || failed) break;
        std::uint64_t offset = (n - 1) * part_size;
        std::uint64_t length = size - offset < part_size ? size - offset : part_size;
        part_reader reader{fd, offset, length};
        std::string url = base + std::to_string(n);
        body.clear();
        curl_easy_reset(easy);
        curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(length));
        curl_easy_setopt(easy, CURLOPT_READFUNCTION, &read_part);
        curl_easy_setopt(easy, CURLOPT_READDATA, &reader);
        curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024L);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &keep_response);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
        CURLcode code = curl_easy_perform(easy);
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (code != CURLE_OK || status != 201) {
          std::fprintf(stderr, "part %llu: curl %d, HTTP %ld\n",
                       static_cast<unsigned long long>(n), static_cast<int>(code), status);
          failed = true;
          break;
        }
      }
      curl_slist_free_all(headers);
      curl_easy_cleanup(easy);
    });
  }
  for (auto& t : workers) t.join();
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu = cpu_seconds() - cpu_start;
  ::close(fd);
  if (failed) return 1;
  report("raw", parallel, size, seconds, cpu, rss_before);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && (std::strcmp(argv[1], "aihub") == 0 || std::strcmp(argv[1], "aihub-pread") == 0))
    return run_aihub(argv[2], argv[3], static_cast<unsigned>(std::strtoul(argv[4], nullptr, 10)),
                     std::strcmp(argv[1], "aihub-pread") == 0);
  if (argc >= 6 && std::strcmp(argv[1], "raw") == 0)
    return run_raw(argv[2], argv[3], static_cast<unsigned>(std::strtoul(argv[4], nullptr, 10)),
                   std::strtoull(argv[5], nullptr, 10));
  std::fprintf(stderr,
               "usage: upload_bench aihub|aihub-pread API_ROOT FILE PARALLEL\n"
               "       upload_bench raw API_ROOT FILE PARALLEL PART_SIZE\n");
  return 2;
}
