// WireOutput: the TLS layer's encrypted bytes waiting for the transport.
//
// Bytes live in fixed-size blocks that are never reallocated or compacted,
// so a byte stays at its address from the moment it is appended until it is
// consumed: the first n bytes handed to an io_uring send (marked in flight)
// stay valid and unmoved whatever is appended meanwhile, with no rule to
// check. The price is one writev piece per block (32 KiB each, about two
// TLS records) instead of one contiguous buffer.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/output_buffer.hpp"

namespace ws::tls::detail {

class WireOutput {
 public:
  static constexpr std::size_t block_size = 32 * 1024;

  /// Writable space at the end: at least 1 byte and at most `wanted` (less
  /// when the last block is nearly full; the rest goes into the next block
  /// after commit()). `wanted` > 0.
  MutableByteView prepare(std::size_t wanted);
  /// The first n bytes of the last prepare() were filled.
  void commit(std::size_t n) noexcept;

  std::span<const OutputBuffer> pending();
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// The first n pending bytes were written. n <= size().
  void consume(std::size_t n) noexcept;
  /// The first n pending bytes are being written: they must not move. With
  /// blocks that never move that already holds; this records n (consume()
  /// of fewer bytes than in flight is a partial send and allowed).
  void mark_in_flight(std::size_t n) noexcept;
  std::size_t in_flight() const noexcept { return in_flight_; }

  /// Frees every block (the spare one too) when nothing is pending.
  void release_if_empty() noexcept;
  /// Bytes allocated, for tests.
  std::size_t capacity() const noexcept;

 private:
  struct Block {
    std::unique_ptr<std::byte[]> data;
    std::size_t begin = 0;  // first pending byte
    std::size_t end = 0;    // one past the last pending byte
  };

  std::deque<Block> blocks_;
  // A block kept after it emptied, so a steady stream of records does not
  // allocate 32 KiB per two records.
  std::unique_ptr<std::byte[]> spare_;
  std::vector<OutputBuffer> views_;
  std::size_t size_ = 0;
  std::size_t in_flight_ = 0;
};

}  // namespace ws::tls::detail
