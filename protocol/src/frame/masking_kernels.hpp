// Masking kernels shared by the portable and the x86 translation units.
// Internal: users never include this.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ws/frame/masking.hpp"

namespace ws::detail::masking {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "masking needs a little- or big-endian CPU");

/// The four key bytes, rotated to start at key byte `offset`, as they sit in
/// memory when loaded as one native 32-bit word. Any chunk whose length is a
/// multiple of 4 leaves the offset unchanged, so one word (or a vector of it)
/// masks a whole run of chunks.
inline std::uint32_t key_word(const MaskKey& key, std::size_t offset) noexcept {
  std::uint32_t word = 0;
  std::memcpy(&word, key.data(), sizeof word);
  const auto shift = static_cast<int>((offset & 3U) * 8U);
  if constexpr (std::endian::native == std::endian::little) {
    return std::rotr(word, shift);
  } else {
    return std::rotl(word, shift);
  }
}

/// The key offset after `size` bytes that started at `offset`. Unsigned
/// wrap-around keeps the result right, as 2^64 is a multiple of 4.
inline std::size_t offset_after(std::size_t offset, std::size_t size) noexcept {
  return (offset + size) & 3U;
}

/// How many bytes to mask before `address` reaches a multiple of `alignment`
/// (a power of two).
inline std::size_t bytes_to_alignment(const void* address, std::size_t alignment) noexcept {
  const auto value = reinterpret_cast<std::uintptr_t>(address);
  return static_cast<std::size_t>((alignment - (value & (alignment - 1U))) & (alignment - 1U));
}

inline std::size_t apply_bytes(std::byte* data, std::size_t size, const MaskKey& key,
                               std::size_t offset) noexcept {
  offset &= 3U;
  for (std::size_t i = 0; i < size; ++i) {
    data[i] ^= key[(offset + i) & 3U];
  }
  return offset_after(offset, size);
}

inline std::size_t copy_bytes(std::byte* dst, const std::byte* src, std::size_t size,
                              const MaskKey& key, std::size_t offset) noexcept {
  offset &= 3U;
  for (std::size_t i = 0; i < size; ++i) {
    dst[i] = src[i] ^ key[(offset + i) & 3U];
  }
  return offset_after(offset, size);
}

inline std::uint64_t load64(const std::byte* p) noexcept {
  std::uint64_t word = 0;
  std::memcpy(&word, p, sizeof word);
  return word;
}
inline void store64(std::byte* p, std::uint64_t word) noexcept {
  std::memcpy(p, &word, sizeof word);
}
inline std::uint64_t key_word64(const MaskKey& key, std::size_t offset) noexcept {
  const std::uint64_t half = key_word(key, offset);
  return (half << 32U) | half;
}

/// Inputs shorter than 8 bytes: one 4-byte word if it fits, then bytes.
inline std::size_t copy_short(std::byte* dst, const std::byte* src, std::size_t size,
                              const MaskKey& key, std::size_t offset) noexcept {
  offset &= 3U;
  std::size_t i = 0;
  if (size >= sizeof(std::uint32_t)) {
    std::uint32_t word = 0;
    std::memcpy(&word, src, sizeof word);
    word ^= key_word(key, offset);
    std::memcpy(dst, &word, sizeof word);
    i = sizeof word;
  }
  return copy_bytes(dst + i, src + i, size - i, key, offset);
}

// The word and vector kernels below finish with one whole word (or vector)
// that ends exactly at the end of the input, loaded before anything is
// stored, so it may overlap bytes already masked: those get the same value
// again. No scalar tail loop, no access past the end, and `dst == src` works.

/// 8 bytes at a time through memcpy (no alignment or aliasing assumption).
/// Used as is and for the heads and short inputs of the SIMD code.
/// `dst` may be `src` itself.
inline std::size_t copy_words(std::byte* dst, const std::byte* src, std::size_t size,
                              const MaskKey& key, std::size_t offset) noexcept {
  offset &= 3U;
  if (size < sizeof(std::uint64_t)) {
    return copy_short(dst, src, size, key, offset);
  }
  const std::size_t last = size - sizeof(std::uint64_t);
  const std::uint64_t last_word = load64(src + last) ^ key_word64(key, offset + last);
  const std::uint64_t mask = key_word64(key, offset);
  for (std::size_t i = 0; i < last; i += sizeof mask) {
    store64(dst + i, load64(src + i) ^ mask);
  }
  store64(dst + last, last_word);
  return offset_after(offset, size);
}

/// copy_words(data, data, ...) with one pointer, which compilers optimise
/// better.
inline std::size_t apply_words(std::byte* data, std::size_t size, const MaskKey& key,
                               std::size_t offset) noexcept {
  offset &= 3U;
  if (size < sizeof(std::uint64_t)) {
    return copy_short(data, data, size, key, offset);
  }
  const std::size_t last = size - sizeof(std::uint64_t);
  const std::uint64_t last_word = load64(data + last) ^ key_word64(key, offset + last);
  const std::uint64_t mask = key_word64(key, offset);
  for (std::size_t i = 0; i < last; i += sizeof mask) {
    store64(data + i, load64(data + i) ^ mask);
  }
  store64(data + last, last_word);
  return offset_after(offset, size);
}

#if defined(__x86_64__)
// Defined in masking_x86.cpp. The avx2 ones may only run when
// __builtin_cpu_supports("avx2") says so.
std::size_t apply_sse2(std::byte* data, std::size_t size, const MaskKey& key,
                       std::size_t offset) noexcept;
std::size_t copy_sse2(std::byte* dst, const std::byte* src, std::size_t size, const MaskKey& key,
                      std::size_t offset) noexcept;
std::size_t apply_avx2(std::byte* data, std::size_t size, const MaskKey& key,
                       std::size_t offset) noexcept;
std::size_t copy_avx2(std::byte* dst, const std::byte* src, std::size_t size, const MaskKey& key,
                      std::size_t offset) noexcept;
#endif

}  // namespace ws::detail::masking
