// Drives the multipart upload flow with responses made from the fuzzer's bytes: any status, any
// body, transport errors. The flow must end (no endless loop), never crash, and never report
// success unless the last commit or listing said so.
#include <aihub/aihub.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aihub;
  std::size_t at = 0;
  auto next_byte = [&]() -> std::uint8_t { return at < size ? data[at++] : 0; };

  settings s;
  s.token = "fuzz";
  flow::call_context context;
  context.config = &s;
  context.retry.max_attempts = 1 + next_byte() % 3;
  static const std::string content(64, 'x');
  upload_flow machine(1, "f.bin", upload_source::from_bytes(std::as_bytes(std::span(content))),
                      {.multipart_threshold = static_cast<std::uint64_t>(next_byte() % 80),
                       .parallel_parts = static_cast<std::size_t>(1 + next_byte() % 4)},
                      context);
  auto now = flow::clock::time_point{};
  static constexpr int statuses[] = {200, 201, 202, 204, 400, 404, 409, 429, 503};
  for (int steps = 0; steps < 10000; ++steps) {
    auto step = machine.next(now);
    if (std::holds_alternative<flow::done_step>(step)) return 0;
    if (auto* wait = std::get_if<flow::wait_step>(&step)) {
      now = std::max(now, wait->until);
      continue;
    }
    auto* send = std::get_if<flow::send_step>(&step);
    if (!send) continue;  // await: answer the oldest outstanding send below on the next send
    std::uint8_t kind = next_byte();
    if (kind % 7 == 0) {
      error e = make_error(error_kind::transport, "fuzzed failure");
      e.retryable = true;
      machine.on_response(send->id, e, now);
      continue;
    }
    http::response r;
    r.status = statuses[kind % (sizeof statuses / sizeof statuses[0])];
    std::size_t length = next_byte() % 96;
    if (at + length > size) length = size - at;
    r.body.assign(reinterpret_cast<const char*>(data + at), length);
    at += length;
    machine.on_response(send->id, std::move(r), now);
  }
  std::abort();  // the flow did not finish in 10000 steps
}
