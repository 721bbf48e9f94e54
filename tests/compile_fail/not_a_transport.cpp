// A type without the right send() is rejected with a readable message where a transport is
// expected.
#include <aihub/transport.hpp>

struct almost_a_transport {
#ifdef AIHUB_COMPILE_FAIL
  int send(const aihub::http::request&) {
    return 0;
  }
#else
  aihub::result<aihub::http::response> send(const aihub::http::request&,
                                            const aihub::send_options&) {
    return aihub::http::response{};
  }
#endif
};

static_assert(aihub::check_transport<almost_a_transport>());
