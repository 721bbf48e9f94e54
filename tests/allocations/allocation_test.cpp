// How many heap allocations building a request costs. The library promises at most two per
// request (target inline, all headers in one buffer, the JSON body) and none when the caller
// reuses a request object, so these counts are part of its contract, not a benchmark.
#include "../support/doctest_main.hpp"

#include <aihub/aihub.hpp>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace {
thread_local std::size_t allocations = 0;
}  // namespace

// The replacements pair operator new with malloc and operator delete with free; g++ -O2 sees the
// inlined free() of a pointer from operator new and warns, although the pairing is consistent.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  std::abort();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {
using namespace aihub;

/// Allocations made by `f()` on this thread.
template <class F>
std::size_t count_allocations(F&& f) {
  std::size_t before = allocations;
  f();
  return allocations - before;
}

const validated_settings& checked() {
  static const validated_settings s = [] {
    settings raw;
    raw.token = "ibtok_7Qm2ZkR9vX4pL8sN1cT6yH3wB5dF0gJa";
    raw.ib_context = "acme-org";
    return *validated_settings::create(raw);
  }();
  return s;
}

std::vector<uploaded_part> parts(std::size_t n) {
  std::vector<uploaded_part> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(
        {static_cast<std::int64_t>(i + 1), "part-id-" + std::to_string(i + 1) + "-abcdef"});
  return out;
}

/// Fresh build: at most `limit` allocations; then the same build into a kept request: none.
template <class Op>
void check_allocations(const Op& op, std::size_t limit) {
  (void)checked();  // its one-time construction is not part of any request
  std::size_t fresh = count_allocations([&] {
    auto r = build_request(op, checked());
    REQUIRE(r);
  });
  CHECK(fresh <= limit);

  http::request reused;
  REQUIRE(build_request_into(reused, op, checked()));
  std::size_t again =
      count_allocations([&] { REQUIRE(build_request_into(reused, op, checked())); });
  CHECK(again == 0);
  // Reusing does not change what is built.
  CHECK(reused == *build_request(op, checked()));
}
}  // namespace

TEST_CASE("createBatch: at most two allocations, none when the request is reused") {
  check_allocations(create_batch{.name = "invoices 2024-Q3"}, 2);
}

TEST_CASE("uploadMultipartPart: one allocation (headers), the file path is shared, not copied") {
  upload_part op{.session_id = "ms_3f9d2c7a1b8e4f60a5d9c2b7e1f4a8d3",
                 .part_num = 42,
                 .content = http::file_slice{"/data/incoming/scans/invoice-archive-2024.tar",
                                             41 * (10ull << 20), 10ull << 20},
                 .layout = multipart_layout{1ull << 30, 10ull << 20}};
  check_allocations(op, 1);
}

TEST_CASE("commit with 100 parts: at most two allocations, none when reused") {
  commit_multipart_upload op{.session_id = "ms_3f9d2c7a1b8e4f60a5d9c2b7e1f4a8d3",
                             .parts = parts(100),
                             .layout = multipart_layout{100 * (10ull << 20), 10ull << 20}};
  check_allocations(op, 2);
}

TEST_CASE("GET operations with ids allocate only their header buffer") {
  check_allocations(get_batch{.batch_id = 123456}, 1);
  check_allocations(poll_batches_job{.job_id = "job-6a1f0b9e-3c2d-4e5f-8a7b-0c1d2e3f4a5b"}, 1);
  check_allocations(get_run{.run_id = "run-6a1f0b9e-3c2d-4e5f-8a7b-0c1d2e3f4a5b"}, 1);
}

TEST_CASE("a successful check allocates nothing, a failing one allocates its error") {
  CHECK(count_allocations([] { CHECK(check_positive("batch_id", 5)); }) == 0);
  CHECK(count_allocations([] { CHECK_FALSE(check_positive("batch_id", 0)); }) > 0);
}
