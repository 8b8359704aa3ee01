// The kind of a data message (RFC 6455 5.6): text (UTF-8) or binary. Used
// by PreparedMessage, the extension interface and the Message event
// (ws/event.hpp includes it).
#pragma once

#include <cstdint>

namespace ws {

enum class MessageKind : std::uint8_t { text, binary };

}  // namespace ws
