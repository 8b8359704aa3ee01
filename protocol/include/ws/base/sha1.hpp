// SHA-1 (FIPS 180-4), used for the Sec-WebSocket-Accept value (RFC 6455 4.2.2).
//
// SHA-1 is broken for collision resistance; the opening handshake only uses
// it to prove that the server read the key, which it still does.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ws/base/bytes.hpp"

namespace ws {

/// A SHA-1 digest: 20 bytes, big-endian words as FIPS 180-4 prints them.
using Sha1Digest = std::array<std::byte, 20>;

/// Incremental SHA-1. Feed any number of `update` calls, then `finish`.
/// Not thread-safe; one object per computation. Holds no heap memory.
class Sha1 {
 public:
  Sha1() noexcept;

  /// Appends `data` to the message. Any split of a message over calls gives
  /// the same digest as one call with the whole message.
  void update(ByteView data) noexcept;

  /// Pads the message, returns its digest and resets the object to the state
  /// of a new one, so it can hash another message.
  Sha1Digest finish() noexcept;

 private:
  void compress(const std::byte* block) noexcept;

  std::array<std::uint32_t, 5> state_{};
  std::array<std::byte, 64> block_{};
  std::uint64_t length_ = 0;  // message bytes so far; block_ holds length_ % 64
};

/// The SHA-1 digest of `data` in one call.
Sha1Digest sha1(ByteView data) noexcept;

}  // namespace ws
