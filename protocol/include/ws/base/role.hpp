// Which end of a WebSocket connection a side is. The frame rules need it
// (RFC 6455 5.1: a client masks, a server does not), so it lives below the
// connection; ws/connection_state.hpp includes it.
#pragma once

#include <cstdint>

namespace ws {

enum class Role : std::uint8_t { client, server };

}  // namespace ws
