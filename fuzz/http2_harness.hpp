// What the HTTP/2 fuzzers share: a waker nobody needs (one thread, steps
// driven by the harness) and a peer that reads everything at once.
#pragma once

#include <cstddef>
#include <cstdlib>

#include "ws/driver/session.hpp"
#include "ws/driver/socket_driver.hpp"

namespace ws_fuzz {

class NoWake final : public ws::Waker {
 public:
  void wake() noexcept override {}
};

/// Takes all the output; aborts if what waited at once was unbounded (the
/// connections produce a piece at a time: nghttp2's mark, TLS's bound).
inline void drain(ws::SocketDriver& driver) {
  while (driver.pending_output_size() > 0) {
    std::size_t total = 0;
    for (const ws::OutputBuffer& piece : driver.pending_output()) total += piece.size;
    if (total > 4 * 1024 * 1024) std::abort();
    driver.consume_output(total);
  }
}

}  // namespace ws_fuzz
