// The eleven Batches operations (twelve request types: commit and abort share one operation),
// built by the library, sent through libcurl to Prism and checked against the spec, with the
// awkward inputs real callers have: file names with spaces, '#', '%', '+', '?' and non-ASCII text,
// filters, pagination, bodies from a file slice, from bytes and from a reader.
#include <doctest/doctest.h>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "conformance.hpp"

using namespace aihub;
using aihub_conformance::conforms;

namespace {

/// File names that must survive the trip into a path segment: each is one segment on the wire.
const std::vector<std::string>& awkward_file_names() {
  static const std::vector<std::string> names{
      "plain.pdf",
      "with space.pdf",
      "hash#1.pdf",
      "100%.pdf",
      "%41%2F-already-escaped.pdf",
      "a+b.pdf",
      "what?.pdf",
      "q?x=1&y=2#frag.pdf",
      "r\xC3\xA9sum\xC3\xA9 \xE2\x82\xAC\xE6\x97\xA5\xE6\x9C\xAC\xF0\x9F\x93\x84.pdf",  // résumé
                                                                                        // €日本📄
      "  leading and trailing  ",
      ".hidden",
      "...",
      "semi;colon,comma=equals&amp@at$dollar!bang'quote\"dq(paren)[br]{cb}*star.pdf",
      "tilde~under_dash-dot.pdf",
      "back`tick^caret|pipe<lt>gt.pdf",
  };
  return names;
}

/// A scratch file of `size` pattern bytes, removed with its directory when the object goes away.
class scratch_file {
 public:
  explicit scratch_file(std::size_t size) {
    char dir_template[] = "/tmp/aihub-conformance-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr)
      throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = dir_template;
    path_ = dir_ + "/upload source.bin";
    std::ofstream out(path_, std::ios::binary);
    for (std::size_t i = 0; i < size; ++i) out.put(static_cast<char>((i * 31 + 7) & 0xFF));
    if (!out) throw std::runtime_error("cannot write " + path_);
  }
  scratch_file(const scratch_file&) = delete;
  scratch_file& operator=(const scratch_file&) = delete;
  ~scratch_file() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

/// A rewindable streamed body of `size` bytes.
class counting_reader : public http::byte_reader {
 public:
  explicit counting_reader(std::uint64_t size) : size_(size) {}
  result<std::size_t> read(std::span<std::byte> out) override {
    std::size_t n = 0;
    while (n < out.size() && position_ < size_) out[n++] = std::byte(position_++ & 0x7F);
    return n;
  }
  bool can_rewind() const noexcept override { return true; }
  result<void> rewind() override {
    position_ = 0;
    return {};
  }

 private:
  std::uint64_t size_;
  std::uint64_t position_ = 0;
};

}  // namespace

TEST_SUITE("batches") {
  TEST_CASE("createBatch") {
    SUBCASE("name only") {
      auto created = conforms(create_batch{.name = "conformance batch"});
      CHECK(created.has_value());
    }
    SUBCASE("awkward name and workspace") {
      CHECK(conforms(create_batch{.name = std::string_view(
                                      "Q3 #1: 100% a+b? r\xC3\xA9sum\xC3\xA9 \xF0\x9F\x93\x84"),
                                  .workspace = "Team Space #2 / \xE6\x97\xA5\xE6\x9C\xAC"})
                .has_value());
    }
    SUBCASE("longest name: 255 code points of multi-byte UTF-8") {
      std::string name;
      for (int i = 0; i < 255; ++i) name += "\xE2\x82\xAC";  // €
      CHECK(conforms(create_batch{.name = std::string_view(name)}).has_value());
    }
    SUBCASE("service account names its workspace") {
      settings s = aihub_conformance::user_settings();
      s.service_account = true;
      CHECK(conforms(create_batch{.name = "svc", .workspace = "shared-ws"}, {}, s).has_value());
    }
    SUBCASE("without IB-Context") {
      settings s = aihub_conformance::user_settings();
      s.ib_context.reset();
      CHECK(conforms(create_batch{.name = "no context"}, {}, s).has_value());
    }
    SUBCASE("per-call IB-Context") {
      CHECK(conforms(create_batch{.name = "ctx"}, call_options{.ib_context = "other.org_x.com"})
                .has_value());
    }
  }

  TEST_CASE("listBatches") {
    SUBCASE("no filter") {
      auto list = conforms(list_batches{});
      REQUIRE(list.has_value());
      for (const auto& b : list->batches) CHECK_FALSE(b.name.empty());
    }
    SUBCASE("workspace and username filters") {
      CHECK(conforms(list_batches{.workspace = "my workspace #1 100% a+b?",
                                  .username = "j.doe+ops@acme.com"})
                .has_value());
      CHECK(conforms(list_batches{.workspace = "\xE6\x97\xA5\xE6\x9C\xAC", .username = "\xC3\xA9"})
                .has_value());
    }
    SUBCASE("limit and offset") {
      CHECK(conforms(list_batches{.limit = 3, .offset = 6}).has_value());
      CHECK(conforms(list_batches{.limit = 0, .offset = 0}).has_value());
    }
    SUBCASE("every filter") {
      CHECK(
          conforms(list_batches{.workspace = "ws", .username = "user", .limit = 100, .offset = 200})
              .has_value());
    }
  }

  TEST_CASE("getBatch") {
    for (std::int64_t id : {std::int64_t{1}, std::int64_t{12345}, std::int64_t{9007199254740991}}) {
      CAPTURE(id);
      auto info = conforms(get_batch{.batch_id = id});
      CHECK(info.has_value());
    }
  }

  TEST_CASE("deleteBatch") {
    auto job = conforms(delete_batch{.batch_id = 12345});
    REQUIRE(job.has_value());
    CHECK_FALSE(job->job_id.empty());
  }

  TEST_CASE("addFileToBatch: every awkward file name") {
    static constexpr std::array<std::byte, 5> bytes{std::byte{'h'}, std::byte{'e'}, std::byte{'l'},
                                                    std::byte{'l'}, std::byte{'o'}};
    for (const auto& name : awkward_file_names()) {
      CAPTURE(name);
      CHECK(conforms(upload_file{.batch_id = 7,
                                 .name = std::string_view(name),
                                 .content = http::bytes_view_body{bytes}})
                .has_value());
    }
  }

  TEST_CASE("addFileToBatch: bodies") {
    scratch_file source(64 * 1024 + 17);
    SUBCASE("whole file from a file_slice") {
      CHECK(conforms(upload_file{.batch_id = 7,
                                 .name = "whole file.bin",
                                 .content = http::file_slice{source.path(), 0, 64 * 1024 + 17}})
                .has_value());
    }
    SUBCASE("middle of a file from a file_slice") {
      CHECK(conforms(upload_file{.batch_id = 7,
                                 .name = "slice #2.bin",
                                 .content = http::file_slice{source.path(), 1000, 40000}})
                .has_value());
    }
    SUBCASE("caller-owned bytes") {
      std::vector<std::byte> data(3000);
      for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i & 0xFF);
      CHECK(conforms(upload_file{.batch_id = 7,
                                 .name = "bytes+binary.bin",
                                 .content = http::bytes_view_body{data}})
                .has_value());
    }
    SUBCASE("a streamed reader") {
      CHECK(
          conforms(upload_file{
                       .batch_id = 7,
                       .name = "streamed?.txt",
                       .content = http::reader_body{5000, std::make_shared<counting_reader>(5000)}})
              .has_value());
    }
    SUBCASE("JSON-looking bytes still go as application/octet-stream") {
      static constexpr char text[] = R"({"name":"not json to the server"})";
      CHECK(conforms(upload_file{.batch_id = 7,
                                 .name = "data.json",
                                 .content = http::bytes_view_body{std::as_bytes(
                                     std::span(text, sizeof text - 1))}})
                .has_value());
    }
  }

  TEST_CASE("listFiles") {
    SUBCASE("first page") {
      auto page = conforms(list_files{.batch_id = 12345});
      REQUIRE(page.has_value());
      CHECK_FALSE(page->nodes.empty());
    }
    SUBCASE("page_size and start_token") {
      auto page = conforms(
          list_files{.batch_id = 12345, .page_size = 2, .start_token = "eyJwYWdlIjogMn0="});
      REQUIRE(page.has_value());
      CHECK(
          conforms(list_files{
                       .batch_id = 12345, .page_size = 0, .start_token = "a+b/c==?&#%20 \xC3\xA9"})
              .has_value());
      if (page->next_page_token)
        CHECK(
            conforms(list_files{
                         .batch_id = 12345, .page_size = 2, .start_token = *page->next_page_token})
                .has_value());
    }
  }

  TEST_CASE("deleteFileFromBatch: every awkward file name") {
    for (const auto& name : awkward_file_names()) {
      CAPTURE(name);
      CHECK(conforms(delete_file{.batch_id = 7, .name = std::string_view(name)}).has_value());
    }
  }

  TEST_CASE("pollBatchesJob") {
    for (std::string id : {"a1b2c3d4-e5f6-7890-abcd-ef1234567890", "job with space#1?%+",
                           "\xE6\x97\xA5\xE6\x9C\xAC"}) {
      CAPTURE(id);
      auto status = conforms(poll_batches_job{.job_id = id});
      CHECK(status.has_value());
    }
  }

  TEST_CASE("multipart upload: start, three parts, commit") {
    constexpr std::uint64_t file_size = 2500;
    constexpr std::uint64_t part_size = 1024;  // a local split: Prism's part_size is an example
    scratch_file source(file_size);

    auto session = conforms(start_multipart_upload{
        .batch_id = 12345, .name = "big file #1 100%+?.pdf", .file_size = file_size});
    REQUIRE(session.has_value());
    CHECK_FALSE(session->session_id.empty());
    CHECK(session->part_size > 0);

    const multipart_layout layout{file_size, part_size};
    REQUIRE(layout.part_count() == 3);
    std::vector<uploaded_part> parts;
    for (std::uint64_t n = 1; n <= layout.part_count(); ++n) {
      CAPTURE(n);
      http::body content =
          http::file_slice{source.path(), layout.offset_of(n), layout.length_of(n)};
      auto part = conforms(upload_part{.session_id = session->session_id,
                                       .part_num = static_cast<std::int64_t>(n),
                                       .content = content,
                                       .layout = layout});
      REQUIRE(part.has_value());
      // Prism answers with an example part, not this one: keep our numbering for the commit.
      parts.push_back({static_cast<std::int64_t>(n), part->part_id + "-" + std::to_string(n)});
    }
    CHECK(conforms(commit_multipart_upload{
                       .session_id = session->session_id, .parts = parts, .layout = layout})
              .has_value());
  }

  TEST_CASE("multipart upload: a part from bytes, a non-ASCII file name, a large file size") {
    auto session = conforms(start_multipart_upload{
        .batch_id = 1,
        .name = std::string_view("\xE5\xA4\xA7\xE3\x81\x8D\xE3\x81\xAA file.pdf"),
        .file_size = std::int64_t{5} << 30});
    REQUIRE(session.has_value());
    std::vector<std::byte> bytes(4096, std::byte{0x5A});
    CHECK(conforms(upload_part{.session_id = session->session_id,
                               .part_num = 1,
                               .content = http::bytes_view_body{bytes}})
              .has_value());
    CHECK(conforms(upload_part{.session_id = "session/with?odd#chars %",
                               .part_num = 10000,
                               .content = http::bytes_view_body{bytes}})
              .has_value());
  }

  TEST_CASE("multipart upload: commit a single part, abort") {
    CHECK(conforms(commit_multipart_upload{.session_id = "s-1", .parts = {{1, "etag-1"}}})
              .has_value());
    CHECK(conforms(abort_multipart_upload{.session_id = "s-1"}).has_value());
    CHECK(
        conforms(abort_multipart_upload{.session_id = "yGLRzUtS2vHm9IdxMrsKaMEOXG7hGBU7.1Lv_lrK-"})
            .has_value());
  }
}
