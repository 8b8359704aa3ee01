// The ChaCha20 block function (RFC 8439 2.3), the keystream behind the
// default random source: masking keys must be unpredictable (RFC 6455
// 10.3), and one system CSPRNG call per key costs a microsecond, more than
// framing the message.
#pragma once

#include <array>
#include <cstdint>

namespace ws::detail {

struct ChaCha20Key {
  std::array<std::uint32_t, 8> key{};
  std::array<std::uint32_t, 3> nonce{};
};

// Writes the 64-byte block number `counter` of the keystream, serialized
// little-endian as RFC 8439 2.3 specifies.
void chacha20_block(const ChaCha20Key& key, std::uint32_t counter,
                    std::array<std::uint8_t, 64>& out) noexcept;

}  // namespace ws::detail
