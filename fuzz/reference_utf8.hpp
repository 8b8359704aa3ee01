// A deliberately plain UTF-8 checker (RFC 3629 section 4), written
// independently of ws::Utf8Validator so the fuzzers can compare the two.
// It walks code point by code point; no tables, no tricks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "ws/base/bytes.hpp"

namespace fuzz {

struct Utf8Verdict {
  bool valid = false;  // complete, valid UTF-8
  /// The first byte that no valid UTF-8 text can continue with, if any
  /// (a text that is only cut short mid code point has none).
  std::optional<std::size_t> bad_byte;
  /// Bytes up to the end of the last complete code point (where a check of a
  /// longer text can resume).
  std::size_t complete_prefix = 0;
};

/// Checks `text`, trusting its first `start` bytes (a complete_prefix found
/// before).
inline Utf8Verdict reference_utf8(ws::ByteView text, std::size_t start = 0) {
  const std::size_t size = text.size();
  std::size_t i = start;
  while (i < size) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    std::size_t length = 0;
    // The range the second byte must fall in: it rules out overlong forms
    // (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
    std::uint8_t low = 0x80;
    std::uint8_t high = 0xBF;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return {false, i, i};  // 80-BF alone, C0, C1, F5-FF
    }
    for (std::size_t k = 1; k < length; ++k) {
      if (i + k == size) return {false, std::nullopt, i};  // cut short
      const auto byte = static_cast<std::uint8_t>(text[i + k]);
      const std::uint8_t lo = k == 1 ? low : 0x80;
      const std::uint8_t hi = k == 1 ? high : 0xBF;
      if (byte < lo || byte > hi) return {false, i + k, i};
    }
    i += length;
  }
  return {true, std::nullopt, size};
}

}  // namespace fuzz
