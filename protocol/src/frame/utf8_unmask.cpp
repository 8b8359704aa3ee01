// Unmasking fused with UTF-8 validation (utf8_unmask.hpp).
#include "frame/utf8_unmask.hpp"

#include <algorithm>

#include "base/utf8_kernels.hpp"
#include "frame/masking_kernels.hpp"

namespace ws::detail {
namespace {

constexpr std::size_t kVector = 64;

// Where the last code point of the valid UTF-8 prefix [p, end) starts if it
// is incomplete, else end.
const std::byte* open_tail(const std::byte* p, const std::byte* end) noexcept {
  const std::byte* q = end;
  for (int seen = 0; seen < 3 && q > p; ++seen) {
    --q;
    const auto byte = std::to_integer<unsigned>(*q);
    if (byte < 0x80) return end;
    if (byte >= 0xC0) {
      const std::ptrdiff_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2;
      return end - q < length ? q : end;
    }
  }
  return end;
}

void mark_failed(Utf8Validator& utf8) noexcept {
  constexpr std::byte kNeverInUtf8{0xFF};  // RFC 3629 section 1
  (void)utf8.feed(ByteView(&kNeverInUtf8, 1));
}

}  // namespace

std::size_t copy_masked_and_validate(MutableByteView dst, ByteView src, const MaskKey& key,
                                     std::size_t offset, Utf8Validator& utf8) noexcept {
  const std::size_t size = std::min(dst.size(), src.size());
  const utf8::CopyMaskedPrefixFn one_pass = utf8::selected_utf8_kernel().copy_masked_prefix;
  std::size_t at = 0;
  if (one_pass != nullptr && size >= utf8_unmask_fused_min && !utf8.has_failed()) {
    // Finish a code point left open by the previous chunk (at most 3 bytes).
    while (at < size && !utf8.is_complete() && !utf8.has_failed()) {
      offset = copy_masked(dst.subspan(at, 1), src.subspan(at, 1), key, offset);
      (void)utf8.feed(dst.subspan(at, 1));
      ++at;
    }
    if (!utf8.has_failed()) {
      // Whole vectors in one pass; their length is a multiple of 4, so the
      // key offset stays. The bytes after them (and a code point left open
      // at their end) go through the validator as usual.
      const std::size_t whole = (size - at) / kVector * kVector;
      auto* out = reinterpret_cast<unsigned char*>(dst.data() + at);
      const auto* in = reinterpret_cast<const unsigned char*>(src.data() + at);
      const bool ok = one_pass(out, in, whole, masking::key_word(key, offset));
      const std::size_t tail = at + whole;
      offset =
          copy_masked(dst.subspan(tail, size - tail), src.subspan(tail, size - tail), key, offset);
      if (!ok) {
        mark_failed(utf8);
      } else {
        const std::byte* open = open_tail(dst.data() + at, dst.data() + tail);
        (void)utf8.feed(ByteView(open, dst.data() + size));
      }
      return offset;
    }
  }
  // Two passes over blocks small enough to stay in the L1 cache. A failed
  // validator returns at once: the rest is only unmasked.
  for (; at < size; at += utf8_unmask_block) {
    const std::size_t n = std::min(utf8_unmask_block, size - at);
    const MutableByteView block = dst.subspan(at, n);
    offset = copy_masked(block, src.subspan(at, n), key, offset);
    (void)utf8.feed(block);
  }
  return offset;
}

}  // namespace ws::detail
