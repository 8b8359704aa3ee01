// The loop's provided buffers: a ring of equal buffers registered with the
// kernel (IORING_REGISTER_PBUF_RING), which multishot receives pick from.
// liburing 2.3 has no io_uring_setup_buf_ring, so the ring's memory is
// mapped here (page-aligned, as the kernel requires).
//
// Thread safety: none; the loop thread (and the loop's constructor and
// destructor).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace ws::uring::detail {

class BufferRing {
 public:
  BufferRing() = default;
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  /// Maps `count` buffers of `size` bytes and the ring, registers it as
  /// buffer group `group` of `ring`, and hands every buffer to the kernel.
  /// `count`: a power of two, at most 32768.
  std::error_code setup(io_uring& ring, std::uint16_t group, unsigned count, unsigned size);
  /// Unregisters (while the ring still exists) and unmaps.
  void teardown(io_uring& ring) noexcept;

  std::uint16_t group() const noexcept { return group_; }
  /// The first `length` bytes of buffer `id`, as the kernel filled them.
  std::span<const std::byte> bytes(std::uint16_t id, std::size_t length) const noexcept {
    return {buffers_ + static_cast<std::size_t>(id) * size_, length};
  }
  /// Gives buffer `id` back to the kernel. Call it once its bytes were used.
  void recycle(std::uint16_t id) noexcept;

 private:
  io_uring_buf_ring* ring_ = nullptr;
  std::size_t ring_bytes_ = 0;
  std::byte* buffers_ = nullptr;
  std::size_t buffers_bytes_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  std::uint16_t group_ = 0;
  bool registered_ = false;
};

}  // namespace ws::uring::detail
