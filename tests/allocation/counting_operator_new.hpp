// Replaces the global operator new/delete with versions that count
// allocations, for tests that prove a path allocates nothing once warm.
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
}  // namespace ws::test

void* operator new(std::size_t size) {
  ws::test::allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
