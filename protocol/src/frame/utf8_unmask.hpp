// Unmasking (RFC 6455 5.3) fused with UTF-8 validation (RFC 6455 8.1) for
// received text: the payload is processed in blocks small enough for the L1
// cache, each validated right after it was unmasked, instead of two passes
// over the whole payload. Internal: the connection calls these.
#pragma once

#include <cstddef>

#include "ws/base/bytes.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/frame/masking.hpp"

namespace ws::detail {

/// Bytes per block when the CPU has no one-pass kernel: half of a 32 KiB L1
/// data cache.
inline constexpr std::size_t utf8_unmask_block = 16 * 1024;

/// Below this many bytes the fused functions simply unmask, then feed.
inline constexpr std::size_t utf8_unmask_fused_min = 256;

/// Same effect as `offset = copy_masked(dst, src, key, offset);
/// utf8.feed(dst.first(src.size()));` (`dst.size() >= src.size()`).
std::size_t copy_masked_and_validate(MutableByteView dst, ByteView src, const MaskKey& key,
                                     std::size_t offset, Utf8Validator& utf8) noexcept;

/// Same effect as `offset = apply_mask(data, key, offset); utf8.feed(data);`:
/// unmasks all of `data` in place and returns the key offset after it; the
/// validator has failed afterwards if the text cannot be UTF-8. Short data
/// (small frames) takes exactly that path, inline.
inline std::size_t unmask_and_validate(MutableByteView data, const MaskKey& key, std::size_t offset,
                                       Utf8Validator& utf8) noexcept {
  if (data.size() < utf8_unmask_fused_min) {
    offset = apply_mask(data, key, offset);
    (void)utf8.feed(data);
    return offset;
  }
  return copy_masked_and_validate(data, data, key, offset, utf8);
}

}  // namespace ws::detail
