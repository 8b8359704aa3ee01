// The bytes a Connection has queued for the transport, handed out as a
// scatter-gather list. Frames written by this side are framed into one
// reusable arena; prepared messages shared between connections are queued by
// reference. Once warm (the arena and the segment list have grown to their
// working size) queueing a frame allocates nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "base/byte_buffer.hpp"
#include "ws/base/bytes.hpp"
#include "ws/frame/frame_header.hpp"
#include "ws/message/prepared_message.hpp"
#include "ws/output_buffer.hpp"

namespace ws::detail {

class OutputQueue {
 public:
  /// Where a frame goes in the queue.
  enum class Placement : bool {
    // After everything queued: data frames and close.
    back,
    // Ahead of data frames not yet started, behind earlier such frames:
    // pings and pongs, so they need not wait for a long message. Never inside
    // a frame that has begun to go out.
    ahead_of_data,
  };

  /// Queues `header` followed by `payload`. When header.masked, the payload
  /// is masked with header.mask_key while it is copied.
  void push_frame(const FrameHeader& header, ByteView payload, Placement placement);
  /// Queues bytes as they are (the HTTP head of the opening handshake).
  /// Frames queued later with Placement::ahead_of_data stay behind them.
  void push_raw(ByteView bytes);
  /// Queues a reference to a frame framed elsewhere.
  void push_prepared(std::shared_ptr<const PreparedMessage> message);

  /// The queued bytes in order. The list is valid until the next non-const
  /// call; the bytes it points to until the next call too, unless they are
  /// marked in flight.
  std::span<const OutputBuffer> buffers();
  /// The first n queued bytes were handed to a write that reads them later
  /// (an io_uring send): until consume() drops them they stay where
  /// buffers() showed them, and nothing is queued ahead of them. A later
  /// call replaces the mark; at most size().
  void mark_in_flight(std::size_t n) noexcept {
    in_flight_ = n < queued_bytes_ ? n : queued_bytes_;
  }
  /// Drops the first n queued bytes (n <= size()).
  void consume(std::size_t n) noexcept;
  std::size_t size() const noexcept { return queued_bytes_; }
  bool empty() const noexcept { return queued_bytes_ == 0; }
  /// Frees the arena and the segment lists when nothing is queued.
  void release_if_empty() noexcept;

 private:
  struct Segment {
    std::size_t arena_offset = 0;  // used when prepared and retired are null
    std::size_t size = 0;
    std::shared_ptr<const PreparedMessage> prepared;
    // Its bytes in an arena retired while they were in flight.
    const std::byte* retired = nullptr;
    bool jumps_data = false;  // queued with Placement::ahead_of_data, or raw
  };

  std::size_t insertion_index(Placement placement) const noexcept;
  const std::byte* segment_data(const Segment& segment) const noexcept;
  // n more bytes at the end of the arena; returns their offset.
  std::size_t extend_arena(std::size_t n);
  bool arena_holds_in_flight() const noexcept;
  void retire_arena(std::size_t wanted);
  void compact_arena();

  ByteBuffer arena_;
  // Arenas that held bytes in flight when more room was needed: each is kept
  // whole (a write still reads it) until its last segment is consumed.
  struct RetiredArena {
    ByteBuffer bytes;
    std::size_t segments = 0;  // not yet consumed
  };
  // Rare (a write in flight while the arena fills), so kept on the heap.
  std::unique_ptr<std::vector<RetiredArena>> retired_;
  void release_retired(const std::byte* consumed) noexcept;
  std::size_t in_flight_ = 0;
  std::vector<Segment> segments_;
  std::size_t head_ = 0;         // first segment not fully consumed
  std::size_t head_offset_ = 0;  // bytes of segments_[head_] already consumed
  std::size_t queued_bytes_ = 0;
  std::vector<OutputBuffer> view_;
};

}  // namespace ws::detail
