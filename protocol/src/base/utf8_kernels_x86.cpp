// AVX2 and AVX-512BW UTF-8 validation, after the lookup-table method of
// John Keiser and Daniel Lemire ("Validating UTF-8 in less than one
// instruction per byte", Software: Practice and Experience, 2021).
//
// Every error of RFC 3629 UTF-8 but one shows in a pair of adjacent bytes:
// the high and low nibble of the earlier byte and the high nibble of the
// later byte. Three 16-entry tables map each nibble to the set of error
// classes (one bit each) it may take part in; a pair is bad when the three
// sets share a bit. The one exception, a continuation byte that follows a
// continuation byte, is legal exactly when the byte two back starts a 3- or
// 4-byte sequence or the byte three back starts a 4-byte one; it gets its
// own bit, which that check flips back. Blocks of 64 bytes; each looks at the
// last three bytes of the block before it. The functions are compiled for
// AVX2/AVX-512 through target attributes (the library is never built with
// -march=native) and are called only after a runtime check.
#if defined(__x86_64__)

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "base/utf8_kernels.hpp"

namespace ws::detail::utf8 {
namespace {

// Error classes, one bit each. "Earlier" is the byte before the one tested.
constexpr std::uint8_t kTooShort = 1U << 0;   // a lead byte, then no continuation
constexpr std::uint8_t kTooLong = 1U << 1;    // ASCII, then a continuation
constexpr std::uint8_t kOverlong3 = 1U << 2;  // E0 80..9F
constexpr std::uint8_t kSurrogate = 1U << 3;  // ED A0..BF
constexpr std::uint8_t kOverlong2 = 1U << 4;  // C0 or C1, then a continuation
constexpr std::uint8_t kTooLarge = 1U << 5;   // F4 90..BF, F5..FF 90..BF
constexpr std::uint8_t kF8x = 1U << 6;        // F0 80..8F (overlong), F5..FF 80..8F
constexpr std::uint8_t kTwoConts = 1U << 7;   // continuation, continuation

struct Table {
  std::uint8_t v[16];
};

// By the earlier byte's high nibble.
constexpr Table kEarlierHigh = {{
    kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong,  // 0-7
    kTwoConts, kTwoConts, kTwoConts, kTwoConts,                                      // 8-B
    kTooShort | kOverlong2,                                                          // C
    kTooShort,                                                                       // D
    kTooShort | kOverlong3 | kSurrogate,                                             // E
    kTooShort | kTooLarge | kF8x,                                                    // F
}};

constexpr std::uint8_t kAny = kTooShort | kTooLong | kTwoConts;
// By the earlier byte's low nibble.
constexpr Table kEarlierLow = {{
    kAny | kOverlong3 | kOverlong2 | kF8x,  // 0: C0, E0, F0
    kAny | kOverlong2,                      // 1: C1
    kAny,                                   // 2
    kAny,                                   // 3
    kAny | kTooLarge,                       // 4: F4
    kAny | kTooLarge | kF8x,                // 5
    kAny | kTooLarge | kF8x,                // 6
    kAny | kTooLarge | kF8x,                // 7
    kAny | kTooLarge | kF8x,                // 8
    kAny | kTooLarge | kF8x,                // 9
    kAny | kTooLarge | kF8x,                // A
    kAny | kTooLarge | kF8x,                // B
    kAny | kTooLarge | kF8x,                // C
    kAny | kTooLarge | kF8x | kSurrogate,   // D: ED
    kAny | kTooLarge | kF8x,                // E
    kAny | kTooLarge | kF8x,                // F
}};

constexpr std::uint8_t kCont89 = kTooLong | kOverlong2 | kTwoConts;
// By the tested byte's high nibble.
constexpr Table kLaterHigh = {{
    kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort,  // 0-7
    kCont89 | kOverlong3 | kF8x,                                                             // 8
    kCont89 | kOverlong3 | kTooLarge,                                                        // 9
    kCont89 | kSurrogate | kTooLarge,                                                        // A
    kCont89 | kSurrogate | kTooLarge,                                                        // B
    kTooShort, kTooShort, kTooShort, kTooShort,                                              // C-F
}};

// Bytes at or above these in the last three positions of a buffer leave a
// code point open: >= F0 three from the end, >= E0 two, >= C0 last.
constexpr std::uint8_t kOpenLimit3 = 0xEF;
constexpr std::uint8_t kOpenLimit2 = 0xDF;
constexpr std::uint8_t kOpenLimit1 = 0xBF;

// ---------------------------------------------------------------- AVX2 ----

#define WS_AVX2 __attribute__((target("avx2")))

WS_AVX2 inline __m256i table256(const Table& t) noexcept {
  const __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i_u*>(t.v));
  return _mm256_broadcastsi128_si256(half);
}

struct Avx2State {
  __m256i earlier_high;
  __m256i earlier_low;
  __m256i later_high;
  __m256i low_nibble;
  __m256i open_limits;
  __m256i previous;  // the vector before, ASCII at first
  __m256i open;      // nonzero: `previous` ends inside a code point
  __m256i error;

  WS_AVX2 Avx2State() noexcept
      : earlier_high(table256(kEarlierHigh)),
        earlier_low(table256(kEarlierLow)),
        later_high(table256(kLaterHigh)),
        low_nibble(_mm256_set1_epi8(0x0F)),
        open_limits(_mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                     -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                     static_cast<char>(kOpenLimit3), static_cast<char>(kOpenLimit2),
                                     static_cast<char>(kOpenLimit1))),
        previous(_mm256_setzero_si256()),
        open(_mm256_setzero_si256()),
        error(_mm256_setzero_si256()) {}

  // One 32-byte vector that follows `previous`.
  WS_AVX2 void check(__m256i input) noexcept {
    // The bytes 1, 2 and 3 positions back, across the 128-bit lanes.
    const __m256i spliced = _mm256_permute2x128_si256(previous, input, 0x21);
    const __m256i back1 = _mm256_alignr_epi8(input, spliced, 15);
    const __m256i back2 = _mm256_alignr_epi8(input, spliced, 14);
    const __m256i back3 = _mm256_alignr_epi8(input, spliced, 13);
    const __m256i b1_high = _mm256_and_si256(_mm256_srli_epi16(back1, 4), low_nibble);
    const __m256i b1_low = _mm256_and_si256(back1, low_nibble);
    const __m256i in_high = _mm256_and_si256(_mm256_srli_epi16(input, 4), low_nibble);
    const __m256i pair =
        _mm256_and_si256(_mm256_and_si256(_mm256_shuffle_epi8(earlier_high, b1_high),
                                          _mm256_shuffle_epi8(earlier_low, b1_low)),
                         _mm256_shuffle_epi8(later_high, in_high));
    // Bit 7 set where back2 >= E0 or back3 >= F0: a continuation is due.
    const __m256i due =
        _mm256_and_si256(_mm256_or_si256(_mm256_subs_epu8(back2, _mm256_set1_epi8(0x60)),
                                         _mm256_subs_epu8(back3, _mm256_set1_epi8(0x70))),
                         _mm256_set1_epi8(static_cast<char>(0x80)));
    error = _mm256_or_si256(error, _mm256_xor_si256(pair, due));
    previous = input;
  }

  WS_AVX2 void block(const unsigned char* p) noexcept {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i_u*>(p));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i_u*>(p + 32));
    if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) {
      // All ASCII: valid unless the block before left a code point open.
      error = _mm256_or_si256(error, open);
      previous = b;
      open = _mm256_setzero_si256();
      return;
    }
    check(a);
    check(b);
    open = _mm256_subs_epu8(b, open_limits);
  }

  // An error so far; a code point left open at the end of the last block is
  // not one yet.
  WS_AVX2 bool has_error() const noexcept { return _mm256_testz_si256(error, error) == 0; }

  // An error, or the buffer ended inside a code point.
  WS_AVX2 bool failed() const noexcept {
    return _mm256_testz_si256(_mm256_or_si256(error, open), _mm256_or_si256(error, open)) == 0;
  }
};

// ------------------------------------------------------------- AVX-512 ----

#define WS_AVX512 __attribute__((target("avx512f,avx512bw")))

// Four copies of a table, one per 128-bit lane, loaded whole: no setup
// work per call. (The broadcast intrinsic, like the unmasked alignr below,
// trips GCC 12's -Wuninitialized in its own headers.)
struct alignas(64) Table64 {
  std::uint8_t v[64];
};
constexpr Table64 four_copies(const Table& t) {
  Table64 out{};
  for (std::size_t i = 0; i < 64; ++i) out.v[i] = t.v[i % 16];
  return out;
}
constexpr Table64 kEarlierHigh64 = four_copies(kEarlierHigh);
constexpr Table64 kEarlierLow64 = four_copies(kEarlierLow);
constexpr Table64 kLaterHigh64 = four_copies(kLaterHigh);
constexpr Table64 kOpenLimits64 = [] {
  Table64 out{};
  for (std::size_t i = 0; i < 61; ++i) out.v[i] = 0xFF;
  out.v[61] = kOpenLimit3;
  out.v[62] = kOpenLimit2;
  out.v[63] = kOpenLimit1;
  return out;
}();

WS_AVX512 inline __m512i load_table(const Table64& t) noexcept { return _mm512_load_si512(t.v); }

struct Avx512State {
  __m512i earlier_high;
  __m512i earlier_low;
  __m512i later_high;
  __m512i low_nibble;
  __m512i open_limits;
  __m512i previous;
  __m512i open;
  __m512i error;

  WS_AVX512 Avx512State() noexcept
      : earlier_high(load_table(kEarlierHigh64)),
        earlier_low(load_table(kEarlierLow64)),
        later_high(load_table(kLaterHigh64)),
        low_nibble(_mm512_set1_epi8(0x0F)),
        open_limits(load_table(kOpenLimits64)),
        previous(_mm512_setzero_si512()),
        open(_mm512_setzero_si512()),
        error(_mm512_setzero_si512()) {}

  WS_AVX512 void block(const unsigned char* p) noexcept {
    const __m512i input = _mm512_loadu_si512(p);
    if (_mm512_movepi8_mask(input) == 0) {
      error = _mm512_or_si512(error, open);
      previous = input;
      open = _mm512_setzero_si512();
      return;
    }
    // Lane i of `spliced` is lane i-1 of input (lane 0: the last of previous),
    // so alignr within lanes reaches one to three bytes back.
    const __m512i spliced = _mm512_maskz_alignr_epi64(0xFF, input, previous, 6);
    const __m512i back1 = _mm512_alignr_epi8(input, spliced, 15);
    const __m512i back2 = _mm512_alignr_epi8(input, spliced, 14);
    const __m512i back3 = _mm512_alignr_epi8(input, spliced, 13);
    const __m512i b1_high = _mm512_and_si512(_mm512_srli_epi16(back1, 4), low_nibble);
    const __m512i b1_low = _mm512_and_si512(back1, low_nibble);
    const __m512i in_high = _mm512_and_si512(_mm512_srli_epi16(input, 4), low_nibble);
    // Ternary-logic immediates: 0x80 is a & b & c, 0xA8 is (a | b) & c and
    // 0xF6 is a | (b ^ c), with a, b, c the first, second and third operand.
    const __m512i pair = _mm512_ternarylogic_epi32(_mm512_shuffle_epi8(earlier_high, b1_high),
                                                   _mm512_shuffle_epi8(earlier_low, b1_low),
                                                   _mm512_shuffle_epi8(later_high, in_high), 0x80);
    const __m512i due = _mm512_ternarylogic_epi32(_mm512_subs_epu8(back2, _mm512_set1_epi8(0x60)),
                                                  _mm512_subs_epu8(back3, _mm512_set1_epi8(0x70)),
                                                  _mm512_set1_epi8(static_cast<char>(0x80)), 0xA8);
    error = _mm512_ternarylogic_epi32(error, pair, due, 0xF6);
    previous = input;
    open = _mm512_subs_epu8(input, open_limits);
  }

  WS_AVX512 bool has_error() const noexcept { return _mm512_test_epi8_mask(error, error) != 0; }

  WS_AVX512 bool failed() const noexcept {
    return _mm512_test_epi8_mask(_mm512_or_si512(error, open), _mm512_or_si512(error, open)) != 0;
  }
};

// ------------------------------------------------ AVX-512 with VBMI ----
//
// The same tests with fewer instructions: vpermb looks up 64-entry tables
// (four copies of each) using the low six bits of the index, so no masking
// of the nibbles is needed, and the "a continuation is due" test works on
// 64-bit masks in general registers instead of shifted vectors.

#define WS_AVX512VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

// All 64 lanes (the maskz forms avoid GCC 12's -Wuninitialized, see above).
constexpr __mmask64 kAll = ~__mmask64{0};

struct VbmiState {
  __m512i earlier_high;
  __m512i earlier_low;
  __m512i later_high;
  __m512i open_limits;
  __m512i previous;
  __m512i error;
  std::uint64_t previous_e0 = 0;  // bit i: byte i of `previous` is >= E0
  std::uint64_t previous_f0 = 0;  // bit i: byte i of `previous` is >= F0

  WS_AVX512VBMI VbmiState() noexcept
      : earlier_high(load_table(kEarlierHigh64)),
        earlier_low(load_table(kEarlierLow64)),
        later_high(load_table(kLaterHigh64)),
        open_limits(load_table(kOpenLimits64)),
        previous(_mm512_setzero_si512()),
        error(_mm512_setzero_si512()) {}

  WS_AVX512VBMI void check(__m512i input) noexcept {
    if (_mm512_movepi8_mask(input) == 0) {
      // All ASCII: valid unless `previous` left a code point open.
      error = _mm512_or_si512(error, _mm512_subs_epu8(previous, open_limits));
      previous = input;
      previous_e0 = 0;
      previous_f0 = 0;
      return;
    }
    const __m512i spliced = _mm512_maskz_alignr_epi64(0xFF, input, previous, 6);
    const __m512i back1 = _mm512_alignr_epi8(input, spliced, 15);
    // Shifting 16-bit words leaves the next byte's low bits in bits 4-7 of
    // each byte; the tables repeat every 16 entries, so they do not matter.
    const __m512i pair = _mm512_ternarylogic_epi32(
        _mm512_maskz_permutexvar_epi8(kAll, _mm512_srli_epi16(back1, 4), earlier_high),
        _mm512_maskz_permutexvar_epi8(kAll, back1, earlier_low),
        _mm512_maskz_permutexvar_epi8(kAll, _mm512_srli_epi16(input, 4), later_high),
        0x80);  // a & b & c
    const std::uint64_t e0 =
        _mm512_cmpge_epu8_mask(input, _mm512_set1_epi8(static_cast<char>(0xE0)));
    const std::uint64_t f0 =
        _mm512_cmpge_epu8_mask(input, _mm512_set1_epi8(static_cast<char>(0xF0)));
    const std::uint64_t due = (e0 << 2U) | (previous_e0 >> 62U) | (f0 << 3U) | (previous_f0 >> 61U);
    // Where a continuation is due, flip the two-continuations bit (adding
    // 0x80 to a byte flips its top bit).
    const __m512i flipped =
        _mm512_mask_add_epi8(pair, due, pair, _mm512_set1_epi8(static_cast<char>(0x80)));
    error = _mm512_or_si512(error, flipped);
    previous = input;
    previous_e0 = e0;
    previous_f0 = f0;
  }

  WS_AVX512VBMI bool has_error() const noexcept { return _mm512_test_epi8_mask(error, error) != 0; }

  WS_AVX512VBMI bool failed() const noexcept {
    const __m512i all = _mm512_or_si512(error, _mm512_subs_epu8(previous, open_limits));
    return _mm512_test_epi8_mask(all, all) != 0;
  }
};

// Both kernels run their State over the buffer in 64-byte blocks, checking
// for an error every kCheckEvery blocks so that a bad buffer is not read to
// its end; the last partial block is padded with ASCII zeros.
constexpr std::size_t kBlock = 64;
constexpr std::size_t kCheckEvery = 64;  // 4 KiB

inline std::size_t stretch_end(std::size_t i, std::size_t size) noexcept {
  return size - i >= kBlock * kCheckEvery ? i + kBlock * kCheckEvery
                                          : i + (size - i) / kBlock * kBlock;
}

}  // namespace

WS_AVX2 bool validate_avx2(const unsigned char* data, std::size_t size) noexcept {
  Avx2State state;
  std::size_t i = 0;
  while (size - i >= kBlock) {
    for (const std::size_t stop = stretch_end(i, size); i < stop; i += kBlock) {
      state.block(data + i);
    }
    if (state.has_error()) return false;
  }
  if (i < size) {
    alignas(64) unsigned char last[kBlock] = {};
    std::memcpy(last, data + i, size - i);
    state.block(last);
  }
  return !state.failed();
}

WS_AVX512VBMI bool validate_avx512vbmi(const unsigned char* data, std::size_t size) noexcept {
  VbmiState state;
  std::size_t i = 0;
  while (size - i >= kBlock) {
    for (const std::size_t stop = stretch_end(i, size); i < stop; i += kBlock) {
      state.check(_mm512_loadu_si512(data + i));
    }
    if (state.has_error()) return false;
  }
  if (i < size) {
    alignas(64) unsigned char last[kBlock] = {};
    std::memcpy(last, data + i, size - i);
    state.check(_mm512_load_si512(last));
  }
  return !state.failed();
}

WS_AVX512VBMI bool copy_masked_prefix_avx512vbmi(unsigned char* dst, const unsigned char* src,
                                                 std::size_t size,
                                                 std::uint32_t key_word) noexcept {
  VbmiState state;
  const __m512i key = _mm512_set1_epi32(static_cast<int>(key_word));
  for (std::size_t i = 0; i + kBlock <= size; i += kBlock) {
    const __m512i input = _mm512_xor_si512(_mm512_loadu_si512(src + i), key);
    _mm512_storeu_si512(dst + i, input);
    state.check(input);
  }
  return !state.has_error();
}

WS_AVX512 bool validate_avx512(const unsigned char* data, std::size_t size) noexcept {
  Avx512State state;
  std::size_t i = 0;
  while (size - i >= kBlock) {
    for (const std::size_t stop = stretch_end(i, size); i < stop; i += kBlock) {
      state.block(data + i);
    }
    if (state.has_error()) return false;
  }
  if (i < size) {
    alignas(64) unsigned char last[kBlock] = {};
    std::memcpy(last, data + i, size - i);
    state.block(last);
  }
  return !state.failed();
}

}  // namespace ws::detail::utf8

#endif  // defined(__x86_64__)
