// Byte views used across the protocol API.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace ws {

/// A read-only view of bytes. It never owns; every API that returns one says
/// how long the bytes stay valid.
using ByteView = std::span<const std::byte>;
/// A writable view of bytes owned by someone else.
using MutableByteView = std::span<std::byte>;

/// Views the characters of `text` as bytes (no copy).
inline ByteView as_bytes(std::string_view text) noexcept {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

/// Views `bytes` as characters (no copy, no validation).
inline std::string_view as_text(ByteView bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace ws
