#pragma once

#include <cstdint>

#include "ws/base/role.hpp"

namespace ws {

/// The life of a Connection (docs/design.md has the diagram).
enum class State : std::uint8_t {
  handshaking,  // opening handshake in progress; data cannot be sent yet
  open,         // data flows both ways
  closing,      // this side sent close and waits for the peer's close
  closed,       // no more events; the transport is closed when
                // Connection::should_close_transport() says so
};

}  // namespace ws
