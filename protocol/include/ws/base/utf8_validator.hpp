// Incremental UTF-8 validation (RFC 3629), for text messages and close
// reasons (RFC 6455 5.6, 8.1): a message may arrive in any number of frames
// and reads, so a code point may be split anywhere.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ws/base/bytes.hpp"

namespace ws {

namespace detail {
/// Which implementation validates long chunks. Tests use `builtin` to compare
/// the accelerated path against the table-driven one.
enum class Utf8Backend : std::uint8_t {
  automatic,  // the fastest SIMD kernel the CPU has, for long chunks
  builtin,    // the table-driven validator only
};

/// True when a SIMD kernel was selected at run time (AVX2, AVX-512BW or
/// AVX-512 VBMI on x86-64; simdjson's validator when built with
/// WS_WITH_SIMDJSON and nothing faster is available).
bool utf8_accelerator_available() noexcept;

/// Chunks at least this long go to the accelerator when it is available.
/// Measured: at 64 bytes a SIMD kernel already validates mixed text faster
/// than the DFA (3.8 against 2.9 GB/s); shorter chunks do not pay for the call.
inline constexpr std::size_t utf8_accelerator_min_chunk = 64;
}  // namespace detail

/// Validates a byte stream as UTF-8, one chunk at a time.
///
/// Accepts exactly RFC 3629 UTF-8: no overlong forms, no surrogates
/// (U+D800..U+DFFF), nothing above U+10FFFF. Fails fast: the `feed` call whose
/// chunk holds the first byte that no valid UTF-8 text can continue with
/// returns false (so `E0 80`, `ED A0` and `F4 90` fail at their second byte,
/// `F5`..`FF`, `C0`, `C1` and a stray continuation byte at once). The result
/// does not depend on how the stream is cut into chunks.
///
/// The state is two bytes and no heap memory. Not thread-safe: one object
/// per stream.
class Utf8Validator {
 public:
  Utf8Validator() noexcept = default;
  explicit Utf8Validator(detail::Utf8Backend backend) noexcept : backend_(backend) {}

  /// Feeds the next bytes; returns false once the stream so far cannot be a
  /// prefix of valid UTF-8 (and stays false thereafter until reset).
  bool feed(ByteView bytes) noexcept;

  /// True if the bytes fed so far are valid and end on a code point boundary.
  bool is_complete() const noexcept;

  bool has_failed() const noexcept;

  /// Starts a new stream (the backend is kept).
  void reset() noexcept;

 private:
  std::uint8_t state_ = 0;  // 0 is the DFA's accept state (utf8_validator.cpp)
  detail::Utf8Backend backend_ = detail::Utf8Backend::automatic;
};

/// True if `bytes` is complete, valid UTF-8.
bool is_valid_utf8(ByteView bytes) noexcept;

}  // namespace ws
