#pragma once
// Heap allocation counting for the benchmarks. alloc_counter.cpp interposes malloc/calloc/realloc
// (and the aligned forms) and routes every global operator new/delete through them, so every heap
// allocation of the process is counted, whether it comes from operator new or straight from malloc
// (as RapidJSON's does). Link it into a benchmark binary and read the counters around the code under
// test. Counters are relaxed atomics: exact when one thread
// allocates, still coherent when several do.

#include <atomic>
#include <cstdint>

namespace bench {

struct alloc_totals {
  std::uint64_t calls = 0;  ///< operator new calls (every form)
  std::uint64_t bytes = 0;  ///< bytes requested from them
};

extern std::atomic<std::uint64_t> g_alloc_calls;
extern std::atomic<std::uint64_t> g_alloc_bytes;

inline alloc_totals alloc_snapshot() noexcept {
  return {g_alloc_calls.load(std::memory_order_relaxed), g_alloc_bytes.load(std::memory_order_relaxed)};
}

/// Allocations made between construction and delta().
class alloc_scope {
 public:
  alloc_scope() noexcept : start_(alloc_snapshot()) {}
  alloc_totals delta() const noexcept {
    alloc_totals now = alloc_snapshot();
    return {now.calls - start_.calls, now.bytes - start_.bytes};
  }

 private:
  alloc_totals start_;
};

}  // namespace bench
