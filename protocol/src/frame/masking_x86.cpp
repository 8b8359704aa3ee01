// SSE2 and AVX2 masking kernels. SSE2 is part of every x86-64 CPU; the AVX2
// functions are compiled for AVX2 through a target attribute (the library is
// never built with -march=native) and are called only after a runtime check.
#if defined(__x86_64__)

#include <immintrin.h>

#include "frame/masking_kernels.hpp"

namespace ws::detail::masking {
namespace {

// Below this size, aligning the destination costs more than it saves.
constexpr std::size_t align_threshold = 256;

inline __m128i load16(const std::byte* p) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i_u*>(p));
}
inline void store16(std::byte* p, __m128i v) noexcept {
  _mm_storeu_si128(reinterpret_cast<__m128i_u*>(p), v);
}

// Masks 16-byte chunks of src into dst (which may be src itself) while at
// least 16 bytes remain; returns the count done, a multiple of 16.
inline std::size_t copy_chunks_sse2(std::byte* dst, const std::byte* src, std::size_t size,
                                    const MaskKey& key, std::size_t offset) noexcept {
  const __m128i mask = _mm_set1_epi32(static_cast<int>(key_word(key, offset)));
  std::size_t i = 0;
  for (; i + 64 <= size; i += 64) {
    const __m128i a = load16(src + i);
    const __m128i b = load16(src + i + 16);
    const __m128i c = load16(src + i + 32);
    const __m128i d = load16(src + i + 48);
    store16(dst + i, _mm_xor_si128(a, mask));
    store16(dst + i + 16, _mm_xor_si128(b, mask));
    store16(dst + i + 32, _mm_xor_si128(c, mask));
    store16(dst + i + 48, _mm_xor_si128(d, mask));
  }
  for (; i + 16 <= size; i += 16) {
    store16(dst + i, _mm_xor_si128(load16(src + i), mask));
  }
  return i;
}

__attribute__((target("avx2"))) inline __m256i load32(const std::byte* p) noexcept {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i_u*>(p));
}
__attribute__((target("avx2"))) inline void store32(std::byte* p, __m256i v) noexcept {
  _mm256_storeu_si256(reinterpret_cast<__m256i_u*>(p), v);
}

// As copy_chunks_sse2, 32 bytes at a time; returns a multiple of 32.
__attribute__((target("avx2"))) inline std::size_t copy_chunks_avx2(std::byte* dst,
                                                                    const std::byte* src,
                                                                    std::size_t size,
                                                                    const MaskKey& key,
                                                                    std::size_t offset) noexcept {
  const __m256i mask = _mm256_set1_epi32(static_cast<int>(key_word(key, offset)));
  std::size_t i = 0;
  for (; i + 128 <= size; i += 128) {
    const __m256i a = load32(src + i);
    const __m256i b = load32(src + i + 32);
    const __m256i c = load32(src + i + 64);
    const __m256i d = load32(src + i + 96);
    store32(dst + i, _mm256_xor_si256(a, mask));
    store32(dst + i + 32, _mm256_xor_si256(b, mask));
    store32(dst + i + 64, _mm256_xor_si256(c, mask));
    store32(dst + i + 96, _mm256_xor_si256(d, mask));
  }
  for (; i + 32 <= size; i += 32) {
    store32(dst + i, _mm256_xor_si256(load32(src + i), mask));
  }
  return i;
}

}  // namespace

// Each kernel: keep the last vector of input aside, align the destination
// (large inputs only), run the vector loop, then store the last vector, which
// covers the tail (see masking_kernels.hpp). Every vector chunk is a multiple
// of 4 bytes long, so only the head changes the key offset.

namespace {

// Inlined into the AVX2 kernel for its short inputs as well.
inline std::size_t copy_sse2_inline(std::byte* dst, const std::byte* src, std::size_t size,
                                    const MaskKey& key, std::size_t offset) noexcept {
  offset &= 3U;
  if (size < 16) {
    return copy_words(dst, src, size, key, offset);
  }
  const std::size_t last = size - 16;
  const __m128i last_chunk = _mm_xor_si128(
      load16(src + last), _mm_set1_epi32(static_cast<int>(key_word(key, offset + last))));
  std::size_t done = 0;
  std::size_t chunk_offset = offset;
  if (size >= align_threshold) {
    done = bytes_to_alignment(dst, 16);
    chunk_offset = copy_words(dst, src, done, key, offset);
  }
  copy_chunks_sse2(dst + done, src + done, size - done, key, chunk_offset);
  store16(dst + last, last_chunk);
  return offset_after(offset, size);
}

}  // namespace

std::size_t copy_sse2(std::byte* dst, const std::byte* src, std::size_t size, const MaskKey& key,
                      std::size_t offset) noexcept {
  return copy_sse2_inline(dst, src, size, key, offset);
}

std::size_t apply_sse2(std::byte* data, std::size_t size, const MaskKey& key,
                       std::size_t offset) noexcept {
  return copy_sse2(data, data, size, key, offset);
}

__attribute__((target("avx2"))) std::size_t copy_avx2(std::byte* dst, const std::byte* src,
                                                      std::size_t size, const MaskKey& key,
                                                      std::size_t offset) noexcept {
  offset &= 3U;
  if (size < 32) {
    return copy_sse2_inline(dst, src, size, key, offset);
  }
  const std::size_t last = size - 32;
  const __m256i last_chunk = _mm256_xor_si256(
      load32(src + last), _mm256_set1_epi32(static_cast<int>(key_word(key, offset + last))));
  std::size_t done = 0;
  std::size_t chunk_offset = offset;
  if (size >= align_threshold) {
    done = bytes_to_alignment(dst, 32);
    chunk_offset = copy_words(dst, src, done, key, offset);
  }
  copy_chunks_avx2(dst + done, src + done, size - done, key, chunk_offset);
  store32(dst + last, last_chunk);
  return offset_after(offset, size);
}

__attribute__((target("avx2"))) std::size_t apply_avx2(std::byte* data, std::size_t size,
                                                       const MaskKey& key,
                                                       std::size_t offset) noexcept {
  return copy_avx2(data, data, size, key, offset);
}

}  // namespace ws::detail::masking

#endif  // defined(__x86_64__)
