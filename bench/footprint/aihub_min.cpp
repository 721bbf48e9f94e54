// Footprint: the smallest useful aihub program. Builds one createBatch request and decodes the
// answer a server would give, with no transport (the bytes would come from any HTTP stack).
#include <aihub/batches.hpp>
#include <aihub/operation.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  aihub::settings s;
  s.token = argc > 1 ? argv[1] : "token";
  auto request = aihub::build_request(aihub::create_batch{.name = "footprint"}, s);
  if (!request) return std::puts(request.error().describe().c_str()), 1;
  aihub::http::response response;
  response.status = 200;
  response.body = argc > 2 ? argv[2] : R"({"id":7})";
  auto batch = aihub::decode_response(aihub::create_batch{.name = "footprint"}, response);
  if (!batch) return std::puts(batch.error().describe().c_str()), 1;
  std::printf("%s %zu %lld\n", request->target.c_str(), request->headers.size(),
              static_cast<long long>(batch->id));
  return 0;
}
