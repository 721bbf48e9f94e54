// The end-to-end batch workflow, as a user would script it: create a batch, upload a set of documents
// (a large one through a multipart session, streamed from disk), list every file page by page, delete
// a file, then delete the batch and wait for the deletion job.
//
// Settings come from the environment: AIHUB_API_ROOT, AIHUB_API_TOKEN, AIHUB_IB_CONTEXT (see
// tools/main-job, which starts the local simulator when no API root is configured).
#include <aihub/aihub.hpp>
#include <aihub/curl/transport.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

int fail(const char* step, const aihub::error& e) {
  std::fprintf(stderr, "%s failed: %s\n", step, e.describe().c_str());
  return e.kind == aihub::error_kind::validation ? 2 : 1;
}

/// Writes `size` bytes of a repeating pattern (stands in for the user's documents).
std::string make_document(const std::filesystem::path& dir, const std::string& name, std::uint64_t size) {
  auto path = (dir / name).string();
  std::ofstream out(path, std::ios::binary);
  std::string block(1 << 16, '\0');
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>('A' + i % 26);
  for (std::uint64_t left = size; left > 0;) {
    auto n = static_cast<std::streamsize>(left < block.size() ? left : block.size());
    out.write(block.data(), n);
    left -= static_cast<std::uint64_t>(n);
  }
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t large_size = 50ull << 20;
  if (argc > 1) large_size = std::strtoull(argv[1], nullptr, 10);

  aihub::settings settings = aihub::settings::from_environment();
  if (settings.token.empty()) {
    std::fprintf(stderr, "Set AIHUB_API_TOKEN (and AIHUB_API_ROOT for a tenant other than the default).\n");
    return 2;
  }
  aihub::curl::transport_options transport_options{.api_root = settings.api_root};
  aihub::client_options<aihub::curl::transport> options;
  options.transport_factory = [transport_options] { return aihub::curl::transport(transport_options); };
  aihub::client hub(aihub::curl::transport(transport_options), settings, std::move(options));

  std::printf("API root: %s\n", settings.api_root.c_str());
  auto batch = hub.call(aihub::create_batch{.name = "aihub-cpp workflow"});
  if (!batch) return fail("create batch", batch.error());
  std::printf("created batch %lld\n", static_cast<long long>(batch->id));

  auto dir = std::filesystem::temp_directory_path() / ("aihub-workflow-" + std::to_string(batch->id));
  std::filesystem::create_directories(dir);
  std::vector<std::string> documents = {
      make_document(dir, "invoice 2026-001.pdf", 120'000),
      make_document(dir, "receipt#42.png", 64'000),
      make_document(dir, "contract (signed).docx", 300'000),
      make_document(dir, "scan-large.tiff", large_size),
  };
  for (const auto& path : documents) {
    auto uploaded = hub.upload_file(batch->id, path, std::nullopt,
                                    {.on_progress = [](std::uint64_t done, std::uint64_t total) {
                                       if (total > 10'000'000)
                                         std::printf("  %llu / %llu bytes\n",
                                                     static_cast<unsigned long long>(done),
                                                     static_cast<unsigned long long>(total));
                                     }});
    if (!uploaded) return fail("upload", uploaded.error());
    std::printf("uploaded %-26s %10llu bytes%s\n", uploaded->name.c_str(),
                static_cast<unsigned long long>(uploaded->size),
                uploaded->multipart
                    ? (" in " + std::to_string(uploaded->parts) + " parts").c_str()
                    : "");
  }

  int page_number = 0;
  for (auto& page : hub.file_pages({.batch_id = batch->id, .page_size = 2})) {
    if (!page) return fail("list files", page.error());
    ++page_number;
    for (const auto& node : page->nodes)
      std::printf("page %d: %-26s %10lld bytes\n", page_number, node.name.c_str(),
                  static_cast<long long>(node.size().value_or(-1)));
  }

  auto removed = hub.call(aihub::delete_file{.batch_id = batch->id, .name = "receipt#42.png"});
  if (!removed) return fail("delete file", removed.error());
  std::printf("deleted receipt#42.png\n");

  auto deletion = hub.call(aihub::delete_batch{.batch_id = batch->id});
  if (!deletion) return fail("delete batch", deletion.error());
  auto finished = hub.wait_for_batches_job(deletion->job_id);
  if (!finished) return fail("wait for the deletion job", finished.error());
  std::printf("batch %lld deleted (job %s %s)\n", static_cast<long long>(batch->id),
              deletion->job_id.c_str(), std::string(aihub::to_string(finished->state)).c_str());
  std::filesystem::remove_all(dir);
  return 0;
}
