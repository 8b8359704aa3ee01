// Replaces the global operator new/delete with versions that count
// allocations and the bytes allocated and not yet freed, for tests that
// prove a path allocates nothing once warm or that memory is given back.
// Include it from exactly one translation unit of a test binary of its own:
// the replacement applies to the whole program.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace ws::test {
// Allocations through operator new since the program started.
inline std::atomic<std::size_t> allocation_count{0};
// Bytes allocated through operator new and not deleted yet.
inline std::atomic<std::size_t> live_bytes{0};

// Each block starts with its size, in a header as large as the strictest
// fundamental alignment so that what follows stays aligned.
inline constexpr std::size_t block_header = alignof(std::max_align_t);
}  // namespace ws::test

void* operator new(std::size_t size) {
  ws::test::allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* block = std::malloc(ws::test::block_header + size)) {
    *static_cast<std::size_t*>(block) = size;
    ws::test::live_bytes.fetch_add(size, std::memory_order_relaxed);
    return static_cast<char*>(block) + ws::test::block_header;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  void* block = static_cast<char*>(p) - ws::test::block_header;
  ws::test::live_bytes.fetch_sub(*static_cast<std::size_t*>(block), std::memory_order_relaxed);
  std::free(block);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
