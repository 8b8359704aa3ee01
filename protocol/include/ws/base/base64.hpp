// Base64 with the standard alphabet and padding (RFC 4648 section 4), used
// for Sec-WebSocket-Key and Sec-WebSocket-Accept (RFC 6455 4.1, 4.2.2).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ws/base/bytes.hpp"

namespace ws {

/// Encodes `data`; the result is padded with '=' to a multiple of 4 chars.
std::string base64_encode(ByteView data);

/// Decodes canonical base64 only: the length is a multiple of 4, '=' appears
/// only as the last one or two characters of the last group, no whitespace
/// or other characters, and the bits that padding discards are zero (so each
/// byte string has exactly one accepted encoding). Returns std::nullopt for
/// anything else. The empty string decodes to no bytes.
std::optional<std::vector<std::byte>> base64_decode(std::string_view text);

}  // namespace ws
