// A growable byte array that does not zero what it grows into (the bytes are
// about to be overwritten) and keeps its capacity when cleared, so a warm
// buffer costs no allocation.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>

namespace ws::detail {

class ByteBuffer {
 public:
  std::byte* data() noexcept { return data_.get(); }
  const std::byte* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }

  void clear() noexcept { size_ = 0; }

  /// Sets the size; new bytes are uninitialised.
  void resize(std::size_t size) {
    reserve(size);
    size_ = size;
  }

  /// Sets the size within the capacity (bytes written through data()).
  void set_size(std::size_t size) noexcept { size_ = size <= capacity_ ? size : capacity_; }

  /// Makes room for `capacity` bytes without changing the size.
  void reserve(std::size_t capacity) {
    if (capacity <= capacity_) return;
    std::size_t grown = capacity_ < 256 ? 256 : capacity_ + capacity_ / 2;
    if (grown < capacity) grown = capacity;
    auto fresh = std::make_unique_for_overwrite<std::byte[]>(grown);
    if (size_ > 0) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    capacity_ = grown;
  }

  /// Makes the capacity exactly `capacity` bytes if it is smaller (for
  /// buffers with a hard limit).
  void reserve_exact(std::size_t capacity) {
    if (capacity <= capacity_) return;
    auto fresh = std::make_unique_for_overwrite<std::byte[]>(capacity);
    if (size_ > 0) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    capacity_ = capacity;
  }

  /// Releases the memory (for idle connections).
  void release() noexcept {
    data_.reset();
    size_ = 0;
    capacity_ = 0;
  }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace ws::detail
