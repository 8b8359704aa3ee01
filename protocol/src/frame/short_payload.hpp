// Kernels for the payload of a short frame (at most 125 bytes, RFC 6455
// 5.2), used by the receive fast path. Inline and SSE2-only (the x86-64
// baseline), so they need no CPU dispatch: at these sizes an indirect call
// to a wider kernel costs about as much as it saves. Internal: users never
// include this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ws::detail {

namespace short_payload {

constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

// The word loop for what the vector loop does not cover (and for CPUs
// without SSE2). Returns the OR of the resulting bytes.
inline std::uint64_t unmask_words(std::byte* data, std::size_t size,
                                  std::uint32_t key_word) noexcept {
  const std::uint64_t wide_key = key_word | (std::uint64_t{key_word} << 32);
  std::uint64_t seen = 0;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, data + i, 8);
    word ^= wide_key;
    seen |= word;
    std::memcpy(data + i, &word, 8);
  }
  std::byte key[4];
  std::memcpy(key, &key_word, 4);
  for (; i < size; ++i) {
    data[i] ^= key[i & 3U];
    seen |= std::to_integer<std::uint64_t>(data[i]);
  }
  return seen;
}

inline std::uint32_t rotate_key(std::uint32_t key_word, std::size_t offset) noexcept {
  // Little-endian: the key byte at `offset` moves to the lowest address.
  const auto shift = static_cast<unsigned>((offset & 3U) * 8U);
  return shift == 0 ? key_word : (key_word >> shift) | (key_word << (32U - shift));
}

}  // namespace short_payload

/// Unmasks data[0, size) in place with the 4-byte key at `key` (RFC 6455
/// 5.3) and returns true if any unmasked byte is >= 0x80 (not ASCII). Any
/// size works; the speed is tuned for size <= 125.
inline bool unmask_short_payload(std::byte* data, std::size_t size, const std::byte* key) noexcept {
  std::uint32_t key_word = 0;
  std::memcpy(&key_word, key, 4);
#if defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (size >= 16) {
    // 16-byte blocks, the last one overlapping the one before: it is
    // computed from the masked bytes before any block is stored, and stored
    // last, so the overlap is written twice with the same value.
    const std::size_t last = size - 16;
    const auto* const last_in = reinterpret_cast<const __m128i*>(data + last);
    const __m128i last_block =
        _mm_xor_si128(_mm_loadu_si128(last_in),
                      _mm_set1_epi32(static_cast<int>(short_payload::rotate_key(key_word, last))));
    const __m128i wide_key = _mm_set1_epi32(static_cast<int>(key_word));
    __m128i seen = last_block;
    for (std::size_t i = 0; i < last; i += 16) {
      auto* const at = reinterpret_cast<__m128i*>(data + i);
      const __m128i block = _mm_xor_si128(_mm_loadu_si128(at), wide_key);
      seen = _mm_or_si128(seen, block);
      _mm_storeu_si128(at, block);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(data + last), last_block);
    return _mm_movemask_epi8(seen) != 0;
  }
#endif
  return (short_payload::unmask_words(data, size, key_word) & short_payload::high_bits) != 0;
}

/// True if any byte of data[0, size) is >= 0x80 (not ASCII).
inline bool has_non_ascii_short(const std::byte* data, std::size_t size) noexcept {
#if defined(__SSE2__)
  if (size >= 16) {
    const std::size_t last = size - 16;
    __m128i seen = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + last));
    for (std::size_t i = 0; i < last; i += 16) {
      seen = _mm_or_si128(seen, _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i)));
    }
    return _mm_movemask_epi8(seen) != 0;
  }
#endif
  std::uint64_t seen = 0;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, data + i, 8);
    seen |= word;
  }
  for (; i < size; ++i) seen |= std::to_integer<std::uint64_t>(data[i]);
  return (seen & short_payload::high_bits) != 0;
}

}  // namespace ws::detail
