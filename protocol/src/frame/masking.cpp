// Portable masking kernels, the list of implementations, and the one-time
// choice of the fastest for this CPU (RFC 6455 5.3).
#include "ws/frame/masking.hpp"

#include <algorithm>

#include "frame/masking_kernels.hpp"

namespace ws {
namespace detail {
namespace {

std::size_t apply_bytewise(std::byte* data, std::size_t size, const MaskKey& key,
                           std::size_t offset) noexcept {
  return masking::apply_bytes(data, size, key, offset);
}

std::size_t copy_bytewise(std::byte* dst, const std::byte* src, std::size_t size,
                          const MaskKey& key, std::size_t offset) noexcept {
  return masking::copy_bytes(dst, src, size, key, offset);
}

// Word loads are unaligned-safe through memcpy, but aligning the destination
// first keeps them fast on CPUs that split unaligned accesses.
constexpr std::size_t word_align_threshold = 64;

std::size_t apply_word(std::byte* data, std::size_t size, const MaskKey& key,
                       std::size_t offset) noexcept {
  std::size_t head = 0;
  if (size >= word_align_threshold) {
    head = masking::bytes_to_alignment(data, sizeof(std::uint64_t));
    offset = masking::apply_bytes(data, head, key, offset);
  }
  return masking::apply_words(data + head, size - head, key, offset);
}

std::size_t copy_word(std::byte* dst, const std::byte* src, std::size_t size, const MaskKey& key,
                      std::size_t offset) noexcept {
  std::size_t head = 0;
  if (size >= word_align_threshold) {
    head = masking::bytes_to_alignment(dst, sizeof(std::uint64_t));
    offset = masking::copy_bytes(dst, src, head, key, offset);
  }
  return masking::copy_words(dst + head, src + head, size - head, key, offset);
}

// Slowest first; the last entry is the one the dispatcher uses.
struct ImplementationList {
  std::array<MaskingImplementation, 4> entries{};
  std::size_t count = 0;

  void add(const MaskingImplementation& entry) noexcept { entries[count++] = entry; }
};

ImplementationList list_implementations() noexcept {
  ImplementationList list;
  list.add({"bytewise", &apply_bytewise, &copy_bytewise});
  list.add({"word", &apply_word, &copy_word});
#if defined(__x86_64__)
  list.add({"sse2", &masking::apply_sse2, &masking::copy_sse2});
  // The CPU model may be read before libgcc's own constructor ran (for
  // example from another static initialiser): initialise it explicitly.
  __builtin_cpu_init();
  // This check also requires the OS to save the AVX registers (XCR0).
  if (__builtin_cpu_supports("avx2")) {
    list.add({"avx2", &masking::apply_avx2, &masking::copy_avx2});
  }
#endif
  return list;
}

}  // namespace

std::span<const MaskingImplementation> masking_implementations() noexcept {
  // Thread-safe one-time initialisation (C++11 "magic statics").
  static const ImplementationList list = list_implementations();
  return {list.entries.data(), list.count};
}

const MaskingImplementation& selected_masking_implementation() noexcept {
  static const MaskingImplementation& selected = masking_implementations().back();
  return selected;
}

}  // namespace detail

// Short payloads (small messages, every control frame) are masked with the
// inline word loop: below this size the dispatched SIMD call (a one-time
// initialisation check and an indirect call) costs more than it saves
// (bench/compare, B1 at 16 bytes).
constexpr std::size_t inline_mask_limit = 64;

std::size_t apply_mask(MutableByteView data, const MaskKey& key, std::size_t key_offset) noexcept {
  if (data.size() < inline_mask_limit) {
    return detail::masking::apply_words(data.data(), data.size(), key, key_offset);
  }
  return detail::selected_masking_implementation().apply(data.data(), data.size(), key, key_offset);
}

std::size_t copy_masked(MutableByteView dst, ByteView src, const MaskKey& key,
                        std::size_t key_offset) noexcept {
  const std::size_t size = std::min(dst.size(), src.size());
  if (size < inline_mask_limit) {
    return detail::masking::copy_words(dst.data(), src.data(), size, key, key_offset);
  }
  return detail::selected_masking_implementation().copy(dst.data(), src.data(), size, key,
                                                        key_offset);
}

}  // namespace ws
