#include "buffer_ring.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace ws::uring::detail {

namespace {

std::size_t round_to_pages(std::size_t bytes) {
  const long page = ::sysconf(_SC_PAGESIZE);
  const auto size = static_cast<std::size_t>(page > 0 ? page : 4096);
  return (bytes + size - 1) / size * size;
}

void* map(std::size_t bytes) {
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? nullptr : memory;
}

}  // namespace

BufferRing::~BufferRing() {
  // teardown() unregistered it; only memory may be left (a failed setup).
  if (ring_ != nullptr) ::munmap(ring_, ring_bytes_);
  if (buffers_ != nullptr) ::munmap(buffers_, buffers_bytes_);
}

std::error_code BufferRing::setup(io_uring& ring, std::uint16_t group, unsigned count,
                                  unsigned size) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0 || size == 0) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  count_ = count;
  size_ = size;
  group_ = group;
  ring_bytes_ = round_to_pages(sizeof(io_uring_buf) * count);
  buffers_bytes_ = round_to_pages(static_cast<std::size_t>(count) * size);
  ring_ = static_cast<io_uring_buf_ring*>(map(ring_bytes_));
  if (ring_ == nullptr) return {errno, std::system_category()};
  // The pages of the buffers are touched only when the kernel fills them.
  buffers_ = static_cast<std::byte*>(map(buffers_bytes_));
  if (buffers_ == nullptr) return {errno, std::system_category()};

  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<std::uintptr_t>(ring_);
  registration.ring_entries = count;
  registration.bgid = group;
  const int registered = io_uring_register_buf_ring(&ring, &registration, 0);
  if (registered != 0) return {-registered, std::system_category()};
  registered_ = true;

  io_uring_buf_ring_init(ring_);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(ring_, buffers_ + static_cast<std::size_t>(i) * size, size,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(ring_, static_cast<int>(count));
  return {};
}

void BufferRing::teardown(io_uring& ring) noexcept {
  if (registered_) io_uring_unregister_buf_ring(&ring, group_);
  registered_ = false;
  if (ring_ != nullptr) ::munmap(ring_, ring_bytes_);
  if (buffers_ != nullptr) ::munmap(buffers_, buffers_bytes_);
  ring_ = nullptr;
  buffers_ = nullptr;
}

void BufferRing::recycle(std::uint16_t id) noexcept {
  io_uring_buf_ring_add(ring_, buffers_ + static_cast<std::size_t>(id) * size_, size_, id,
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(ring_, 1);
}

}  // namespace ws::uring::detail
