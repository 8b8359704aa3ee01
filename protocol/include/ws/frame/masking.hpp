// Payload masking (RFC 6455 5.3): every payload byte i of a masked frame is
// XORed with byte (i mod 4) of the frame's 32-bit masking key. Masking and
// unmasking are the same operation.
//
// The functions below pick, once per process, the fastest implementation this
// CPU can run (AVX2, SSE2 or 64-bit words); every implementation gives the
// same bytes as the plain byte loop for every length, alignment and offset.
// All functions are thread-safe and never allocate.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "ws/base/bytes.hpp"

namespace ws {

/// The four masking-key bytes in wire order (RFC 6455 5.2, "Masking-key").
using MaskKey = std::array<std::byte, 4>;

/// XORs `data` in place with `key`, starting at key byte `key_offset` (0-3;
/// larger values are taken modulo 4).
///
/// Returns the key offset for the byte after `data`, so a payload that
/// arrives in pieces can be unmasked piece by piece:
///   auto offset = apply_mask(first, key);
///   offset = apply_mask(second, key, offset);
std::size_t apply_mask(MutableByteView data, const MaskKey& key,
                       std::size_t key_offset = 0) noexcept;

/// Writes `src` XOR `key` into the first `src.size()` bytes of `dst`, starting
/// at key byte `key_offset`, and returns the key offset for the byte after
/// `src`, like apply_mask().
///
/// `dst` and `src` must be either the same bytes or not overlap at all.
/// `dst.size() >= src.size()` is expected; if `dst` is shorter, only
/// `dst.size()` bytes are written and the offset returned follows them.
std::size_t copy_masked(MutableByteView dst, ByteView src, const MaskKey& key,
                        std::size_t key_offset = 0) noexcept;

namespace detail {

/// One masking implementation. `apply(data, size, key, offset)` and
/// `copy(dst, src, size, key, offset)` behave as apply_mask() and
/// copy_masked() on raw pointers; none of them throws.
struct MaskingImplementation {
  const char* name;
  std::size_t (*apply)(std::byte* data, std::size_t size, const MaskKey& key,
                       std::size_t key_offset);
  std::size_t (*copy)(std::byte* dst, const std::byte* src, std::size_t size, const MaskKey& key,
                      std::size_t key_offset);
};

/// Every implementation this CPU can run, for tests and benchmarks, from the
/// reference ("bytewise") to the fastest: "bytewise", "word", and on x86-64
/// "sse2" and, when the CPU and OS support it, "avx2". The span stays valid
/// for the life of the process.
std::span<const MaskingImplementation> masking_implementations() noexcept;

/// The implementation apply_mask() and copy_masked() use: the last of
/// masking_implementations(), chosen on first use.
const MaskingImplementation& selected_masking_implementation() noexcept;

}  // namespace detail
}  // namespace ws
