// Fuzzes every response decoder, the percent-decoder and the name validators with arbitrary bytes.
// Byte 0 picks the operation, bytes 1-2 the status, byte 3 whether a Location header is sent; the
// rest is the body. Nothing may crash, and a successful decode must be of the operation's success
// status.
#include <aihub/aihub.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

template <class Op>
void decode_as(const Op& op, const aihub::http::response& response) {
  auto decoded = aihub::decode_response(op, response);
  if (decoded && response.status != Op::endpoint_info.success_status) std::abort();
  if (!decoded && decoded.error().kind == aihub::error_kind::validation) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  aihub::http::response response;
  static constexpr int statuses[] = {200, 201, 202, 204, 400, 401, 403, 404, 429, 500, 503};
  response.status = statuses[data[1] % (sizeof statuses / sizeof statuses[0])];
  if (data[2] & 1)
    response.headers.add("Retry-After", std::string(reinterpret_cast<const char*>(data), 3));
  if (data[3] & 1)
    response.headers.add("Location", "http://h/api/v2/batches/multipart-upload/sessions/s");
  response.body.assign(reinterpret_cast<const char*>(data + 4), size - 4);
  std::string_view text(response.body);

  using namespace aihub;
  switch (data[0] % 20) {
    case 0:
      decode_as(create_batch{.name = "x"}, response);
      break;
    case 1:
      decode_as(list_batches{}, response);
      break;
    case 2:
      decode_as(get_batch{.batch_id = 1}, response);
      break;
    case 3:
      decode_as(delete_batch{.batch_id = 1}, response);
      break;
    case 4:
      decode_as(list_files{.batch_id = 1}, response);
      break;
    case 5:
      decode_as(poll_batches_job{.job_id = "j"}, response);
      break;
    case 6:
      decode_as(start_multipart_upload{.batch_id = 1, .name = "x", .file_size = 1}, response);
      break;
    case 7:
      decode_as(upload_part{.session_id = "s", .part_num = 1}, response);
      break;
    case 8:
      decode_as(commit_multipart_upload{.session_id = "s"}, response);
      break;
    case 9:
      decode_as(run_app{}, response);
      break;
    case 10:
      decode_as(get_run{.run_id = "r"}, response);
      break;
    case 11:
      decode_as(list_runs{}, response);
      break;
    case 12:
      decode_as(delete_run{.run_id = "r"}, response);
      break;
    case 13: {
      get_run_results op{.run_id = "r"};
      auto page = decode_response(op, response);
      if (page) {
        (void)page->custom_keys();
        (void)op.next_page(*page);
      }
      break;
    }
    case 14:
      decode_as(get_job{.job_id = "j"}, response);
      break;
    case 15:
      decode_as(upload_file{.batch_id = 1, .name = "x"}, response);
      break;
    case 16: {
      auto decoded = url::decode(text);
      if (decoded && url::decode(url::encode(*decoded)).value() != *decoded) std::abort();
      break;
    }
    case 17: {
      auto b = batch_name(text).validate();
      auto f = file_name(text).validate();
      // A valid file name is a valid batch name (the file rules are the stricter ones).
      if (f && !b) std::abort();
      break;
    }
    case 18:
      (void)parse_retry_after(text, std::chrono::system_clock::time_point{});
      break;
    default: {
      aihub::settings s;
      s.token = std::string(text.substr(0, 40));
      s.api_root = "https://h/api";
      auto r = build_request(get_batch{.batch_id = 1}, s);
      // Header injection is impossible: no built header value holds a control character.
      if (r)
        for (const auto& h : r->headers)
          for (char c : h.value)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
      break;
    }
  }
  return 0;
}
