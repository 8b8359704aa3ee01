// The list of whole-buffer UTF-8 validators this CPU can run and the
// one-time choice of the fastest (utf8_kernels.hpp).
#include "base/utf8_kernels.hpp"

#include <array>

#if defined(WS_WITH_SIMDJSON)
#include "accel/simdjson_utf8.hpp"
#endif

namespace ws::detail::utf8 {
namespace {

#if defined(WS_WITH_SIMDJSON)
bool validate_simdjson(const unsigned char* data, std::size_t size) noexcept {
  return simdjson_validate_utf8(reinterpret_cast<const char*>(data), size);
}
#endif

// Slowest first; the last entry is the one Utf8Validator uses. Measured on
// 64 KiB of text with 25% non-ASCII bytes (bench/utf8_bench.cpp, AMD EPYC
// with AVX-512): DFA about 2 GB/s, simdjson about 11, AVX2 and AVX-512 here
// faster than simdjson.
struct KernelList {
  std::array<Utf8Kernel, 5> entries{};
  std::size_t count = 0;

  void add(const Utf8Kernel& entry) noexcept { entries[count++] = entry; }
};

KernelList list_kernels() noexcept {
  KernelList list;
  list.add({"dfa", &validate_dfa, nullptr});
#if defined(WS_WITH_SIMDJSON)
  list.add({"simdjson", &validate_simdjson, nullptr});
#endif
#if defined(__x86_64__)
  // The CPU model may be read before libgcc's own constructor ran (for
  // example from another static initialiser): initialise it explicitly.
  __builtin_cpu_init();
  // These checks also require the OS to save the vector registers (XCR0).
  if (__builtin_cpu_supports("avx2")) list.add({"avx2", &validate_avx2, nullptr});
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
    list.add({"avx512", &validate_avx512, nullptr});
    if (__builtin_cpu_supports("avx512vbmi")) {
      list.add({"avx512vbmi", &validate_avx512vbmi, &copy_masked_prefix_avx512vbmi});
    }
  }
#endif
  return list;
}

}  // namespace

std::span<const Utf8Kernel> utf8_kernels() noexcept {
  // Thread-safe one-time initialisation (C++11 "magic statics").
  static const KernelList list = list_kernels();
  return {list.entries.data(), list.count};
}

const Utf8Kernel& selected_utf8_kernel() noexcept {
  static const Utf8Kernel& chosen = utf8_kernels().back();
  return chosen;
}

}  // namespace ws::detail::utf8
