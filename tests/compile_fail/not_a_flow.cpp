// A type that does not answer the flow protocol is rejected where a driver takes a flow, naming
// the concept, instead of failing deep inside the driver.
#include <aihub/client.hpp>

namespace {

struct null_transport {
  aihub::result<aihub::http::response> send(const aihub::http::request&,
                                            const aihub::send_options&) {
    return aihub::http::response{};
  }
};

struct almost_a_flow {
  using value_type = int;
  aihub::flow::step next(aihub::flow::time_point) { return aihub::flow::done_step{}; }
#ifdef AIHUB_COMPILE_FAIL
  // Fed without the id of its send step: a driver with several sends in flight could not tell
  // which answer this is.
  void on_response(aihub::result<aihub::http::response>, aihub::flow::time_point) {}
#else
  void on_response(std::uint64_t, aihub::result<aihub::http::response>, aihub::flow::time_point) {}
#endif
  bool done() const {
    return true;
  }
  aihub::result<int>& outcome() {
    return value;
  }
  aihub::result<int> value = 0;
};

}  // namespace

aihub::result<int> drive_it(aihub::client<null_transport>& c) {
  almost_a_flow f;
  return c.drive(f);
}
