#include "transport_under_test.hpp"

namespace ws::contract {

const std::vector<TransportEntry>& all_transports() {
  static const std::vector<TransportEntry> transports = [] {
    std::vector<TransportEntry> all{
        {"epoll", make_epoll_transport},
        {"threads", make_threads_transport},
        // wss://: the same contract through the TLS layer.
        {"epoll_tls", [] { return with_tls(make_epoll_transport()); }},
        {"threads_tls", [] { return with_tls(make_threads_transport()); }},
    };
#if WS_CONTRACT_URING
    all.push_back({"uring", make_uring_transport});
    all.push_back({"uring_tls", [] { return with_tls(make_uring_transport()); }});
#endif
#if WS_CONTRACT_ASIO
    all.push_back({"asio", make_asio_transport});
#endif
    return all;
  }();
  return transports;
}

}  // namespace ws::contract
