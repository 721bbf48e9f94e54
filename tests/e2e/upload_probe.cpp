// Uploads one file through the client and the libcurl transport, then prints the process's peak
// resident memory. The e2e memory test runs it on sparse files of different sizes: peak memory must
// not grow with the file size. Usage: upload_probe API_ROOT TOKEN FILE PARALLEL
#include <sys/resource.h>

#include <aihub/aihub.hpp>
#include <aihub/curl/transport.hpp>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: upload_probe API_ROOT TOKEN FILE PARALLEL\n");
    return 2;
  }
  aihub::settings settings;
  settings.api_root = argv[1];
  settings.token = argv[2];
  aihub::curl::transport_options transport{.api_root = settings.api_root};
  aihub::client_options<aihub::curl::transport> options;
  options.transport_factory = [transport] { return aihub::curl::transport(transport); };
  aihub::client hub(aihub::curl::transport(transport), settings, std::move(options));

  auto batch = hub.call(aihub::create_batch{.name = "memory probe"});
  if (!batch) return std::fprintf(stderr, "%s\n", batch.error().describe().c_str()), 1;
  auto uploaded = hub.upload_file(batch->id, argv[3], "probe.bin",
                                  {.parallel_parts = std::strtoull(argv[4], nullptr, 10)});
  if (!uploaded) return std::fprintf(stderr, "%s\n", uploaded.error().describe().c_str()), 1;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%llu %ld\n", static_cast<unsigned long long>(uploaded->size), usage.ru_maxrss);
  return 0;
}
