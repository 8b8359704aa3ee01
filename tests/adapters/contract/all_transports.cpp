#include "transport_under_test.hpp"

namespace ws::contract {

const std::vector<TransportEntry>& all_transports() {
  static const std::vector<TransportEntry> transports{
      {"epoll", make_epoll_transport},
      {"threads", make_threads_transport},
  };
  return transports;
}

}  // namespace ws::contract
