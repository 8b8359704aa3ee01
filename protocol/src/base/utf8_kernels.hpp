// Whole-buffer UTF-8 validators ("kernels") behind Utf8Validator's long
// chunks, and the one-time choice of the fastest for this CPU. Internal:
// users never include this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ws::detail::utf8 {

/// True if data[0, size) is complete, valid UTF-8 (RFC 3629).
using ValidateFn = bool (*)(const unsigned char* data, std::size_t size) noexcept;

/// Unmasks src[0, size) into dst (which may be src) with `key_word` (the
/// four key bytes as one native word, starting at the right key offset) and
/// returns true if the result is a prefix of valid UTF-8 that starts on a
/// code point boundary. `size` is a multiple of 64. Both in one pass.
using CopyMaskedPrefixFn = bool (*)(unsigned char* dst, const unsigned char* src, std::size_t size,
                                    std::uint32_t key_word) noexcept;

struct Utf8Kernel {
  const char* name;
  ValidateFn validate;
  CopyMaskedPrefixFn copy_masked_prefix;  // nullptr if the kernel has none
};

/// Every kernel this CPU can run, slowest first ("dfa" always first).
std::span<const Utf8Kernel> utf8_kernels() noexcept;

/// The kernel Utf8Validator uses for long chunks: the last of utf8_kernels()
/// (the widest SIMD one the CPU has), chosen on first use.
const Utf8Kernel& selected_utf8_kernel() noexcept;

/// The portable DFA over a whole buffer (utf8_validator.cpp).
bool validate_dfa(const unsigned char* data, std::size_t size) noexcept;

#if defined(__x86_64__)
// utf8_kernels_x86.cpp, the lookup-table method of Keiser and Lemire
// ("Validating UTF-8 in less than one instruction per byte", 2021). Call only
// when the CPU has AVX2, respectively AVX-512BW.
bool validate_avx2(const unsigned char* data, std::size_t size) noexcept;
bool validate_avx512(const unsigned char* data, std::size_t size) noexcept;
// AVX-512BW and AVX-512VBMI.
bool validate_avx512vbmi(const unsigned char* data, std::size_t size) noexcept;
bool copy_masked_prefix_avx512vbmi(unsigned char* dst, const unsigned char* src, std::size_t size,
                                   std::uint32_t key_word) noexcept;
#endif

}  // namespace ws::detail::utf8
