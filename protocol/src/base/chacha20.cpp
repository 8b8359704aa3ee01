#include "base/chacha20.hpp"

namespace ws::detail {
namespace {

constexpr std::uint32_t rotate_left(std::uint32_t v, int n) noexcept {
  return (v << n) | (v >> (32 - n));
}

// RFC 8439 2.1.
constexpr void quarter_round(std::array<std::uint32_t, 16>& s, int a, int b, int c,
                             int d) noexcept {
  auto& x = s;
  const auto i = [](int k) { return static_cast<std::size_t>(k); };
  x[i(a)] += x[i(b)];
  x[i(d)] = rotate_left(x[i(d)] ^ x[i(a)], 16);
  x[i(c)] += x[i(d)];
  x[i(b)] = rotate_left(x[i(b)] ^ x[i(c)], 12);
  x[i(a)] += x[i(b)];
  x[i(d)] = rotate_left(x[i(d)] ^ x[i(a)], 8);
  x[i(c)] += x[i(d)];
  x[i(b)] = rotate_left(x[i(b)] ^ x[i(c)], 7);
}

}  // namespace

void chacha20_block(const ChaCha20Key& key, std::uint32_t counter,
                    std::array<std::uint8_t, 64>& out) noexcept {
  // "expand 32-byte k", then key, block counter and nonce (RFC 8439 2.3).
  std::array<std::uint32_t, 16> initial{0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (std::size_t i = 0; i < 8; ++i) initial[4 + i] = key.key[i];
  initial[12] = counter;
  for (std::size_t i = 0; i < 3; ++i) initial[13 + i] = key.nonce[i];
  std::array<std::uint32_t, 16> state = initial;
  for (int round = 0; round < 10; ++round) {
    quarter_round(state, 0, 4, 8, 12);
    quarter_round(state, 1, 5, 9, 13);
    quarter_round(state, 2, 6, 10, 14);
    quarter_round(state, 3, 7, 11, 15);
    quarter_round(state, 0, 5, 10, 15);
    quarter_round(state, 1, 6, 11, 12);
    quarter_round(state, 2, 7, 8, 13);
    quarter_round(state, 3, 4, 9, 14);
  }
  for (std::size_t i = 0; i < 16; ++i) {
    const std::uint32_t word = state[i] + initial[i];
    for (std::size_t b = 0; b < 4; ++b) out[4 * i + b] = static_cast<std::uint8_t>(word >> (8 * b));
  }
}

}  // namespace ws::detail
