#include "connection/output_queue.hpp"

#include <algorithm>
#include <cstring>

#include "ws/frame/masking.hpp"

namespace ws::detail {

std::size_t OutputQueue::insertion_index(Placement placement) const noexcept {
  if (placement == Placement::back) return segments_.size();
  // A segment that has started to go out, or that a write in flight reads,
  // cannot be split or overtaken, and frames that jumped the data before
  // keep their order.
  std::size_t index = head_;
  std::size_t passed = head_offset_ + in_flight_;  // bytes from the head segment's start
  while (index < segments_.size() && passed > 0) {
    passed -= std::min(passed, segments_[index].size);
    ++index;
  }
  while (index < segments_.size() && segments_[index].jumps_data) ++index;
  return index;
}

std::size_t OutputQueue::extend_arena(std::size_t n) {
  const std::size_t offset = arena_.size();
  if (offset + n > arena_.capacity() && arena_holds_in_flight()) {
    retire_arena(n);
    return extend_arena(n);
  }
  arena_.resize(offset + n);
  return offset;
}

// Whether a byte marked in flight lies in the arena (and would move with it).
bool OutputQueue::arena_holds_in_flight() const noexcept {
  if (in_flight_ == 0) return false;
  std::size_t left = head_offset_ + in_flight_;  // bytes from the head segment's start
  for (std::size_t i = head_; i < segments_.size() && left > 0; ++i) {
    const Segment& segment = segments_[i];
    if (!segment.prepared && segment.retired == nullptr && segment.size > 0) return true;
    left -= std::min(left, segment.size);
  }
  return false;
}

// Growing the arena would move the bytes a write in flight reads: the arena
// is kept as it is, its segments point into it, and a new one starts.
void OutputQueue::retire_arena(std::size_t wanted) {
  const std::size_t capacity = std::max(wanted, arena_.capacity());
  if (!retired_) retired_ = std::make_unique<std::vector<RetiredArena>>();
  retired_->push_back(RetiredArena{std::move(arena_), 0});
  RetiredArena& retired = retired_->back();
  for (std::size_t i = head_; i < segments_.size(); ++i) {
    Segment& segment = segments_[i];
    if (segment.prepared || segment.retired != nullptr || segment.size == 0) continue;
    segment.retired = retired.bytes.data() + segment.arena_offset;
    ++retired.segments;
  }
  arena_ = ByteBuffer();
  arena_.reserve_exact(capacity);
}

// A segment in a retired arena was consumed: the arena is freed with its
// last one.
void OutputQueue::release_retired(const std::byte* consumed) noexcept {
  if (!retired_) return;
  for (RetiredArena& retired : *retired_) {
    const std::byte* begin = retired.bytes.data();
    if (consumed >= begin && consumed < begin + retired.bytes.capacity()) {
      --retired.segments;
      break;
    }
  }
  std::vector<RetiredArena>& arenas = *retired_;
  while (!arenas.empty() && arenas.front().segments == 0) arenas.erase(arenas.begin());
  if (arenas.empty()) retired_.reset();
}

void OutputQueue::push_frame(const FrameHeader& header, ByteView payload, Placement placement) {
  std::array<std::byte, max_frame_header_size> head{};
  const std::size_t head_size = encode_frame_header(header, head);
  const std::size_t total = head_size + payload.size();
  const std::size_t offset = extend_arena(total);
  std::byte* out = arena_.data() + offset;
  std::memcpy(out, head.data(), head_size);
  if (!payload.empty()) {
    if (header.masked) {
      copy_masked(MutableByteView(out + head_size, payload.size()), payload, header.mask_key);
    } else {
      std::memcpy(out + head_size, payload.data(), payload.size());
    }
  }
  Segment segment;
  segment.arena_offset = offset;
  segment.size = total;
  segment.jumps_data = placement == Placement::ahead_of_data;
  if (placement == Placement::back) {
    segments_.push_back(std::move(segment));
  } else {
    const std::size_t index = insertion_index(placement);
    segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(index), std::move(segment));
  }
  queued_bytes_ += total;
}

void OutputQueue::push_raw(ByteView bytes) {
  const std::size_t offset = extend_arena(bytes.size());
  if (!bytes.empty()) std::memcpy(arena_.data() + offset, bytes.data(), bytes.size());
  Segment segment;
  segment.arena_offset = offset;
  segment.size = bytes.size();
  // RFC 6455 4.2.2: the handshake's HTTP head precedes every frame. Marked
  // like a frame that jumped the data, it is never overtaken by one.
  segment.jumps_data = true;
  segments_.push_back(std::move(segment));
  queued_bytes_ += bytes.size();
}

void OutputQueue::push_prepared(std::shared_ptr<const PreparedMessage> message) {
  Segment segment;
  segment.size = message->frame().size();
  segment.prepared = std::move(message);
  queued_bytes_ += segment.size;
  segments_.push_back(std::move(segment));
}

const std::byte* OutputQueue::segment_data(const Segment& segment) const noexcept {
  if (segment.prepared) return segment.prepared->frame().data();
  return segment.retired != nullptr ? segment.retired : arena_.data() + segment.arena_offset;
}

std::span<const OutputBuffer> OutputQueue::buffers() {
  view_.clear();
  for (std::size_t i = head_; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    const std::size_t skip = i == head_ ? head_offset_ : 0;
    const std::byte* data = segment_data(segment) + skip;
    const std::size_t size = segment.size - skip;
    // Frames framed one after another into the arena are contiguous: hand
    // them out as one buffer, so a burst of small frames is one iovec.
    if (!view_.empty() && !segment.prepared && view_.back().data + view_.back().size == data) {
      view_.back().size += size;
    } else {
      view_.push_back(OutputBuffer{data, size});
    }
  }
  return view_;
}

void OutputQueue::consume(std::size_t n) noexcept {
  if (n > queued_bytes_) n = queued_bytes_;
  queued_bytes_ -= n;
  in_flight_ -= std::min(in_flight_, n);
  while (n > 0) {
    Segment& segment = segments_[head_];
    const std::size_t left = segment.size - head_offset_;
    if (n < left) {
      head_offset_ += n;
      return;
    }
    n -= left;
    segment.prepared.reset();
    if (segment.retired != nullptr && segment.size > 0) {
      release_retired(segment.retired);
      segment.retired = nullptr;
    }
    ++head_;
    head_offset_ = 0;
  }
  if (queued_bytes_ == 0) {
    // Everything went out: keep the capacity, drop the contents.
    segments_.clear();
    arena_.clear();
    retired_.reset();
    head_ = 0;
    head_offset_ = 0;
  } else if (head_ > 64 && head_ * 2 > segments_.size()) {
    compact_arena();
  }
}

void OutputQueue::compact_arena() {
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(head_));
  head_ = 0;
  // The records of consumed segments go; the bytes stay put while a write
  // in flight may read them.
  if (arena_holds_in_flight()) return;
  std::size_t lowest = arena_.size();
  for (const Segment& segment : segments_) {
    if (!segment.prepared && segment.retired == nullptr && segment.arena_offset < lowest) {
      lowest = segment.arena_offset;
    }
  }
  if (lowest == 0) return;
  std::memmove(arena_.data(), arena_.data() + lowest, arena_.size() - lowest);
  arena_.resize(arena_.size() - lowest);
  for (Segment& segment : segments_) {
    if (!segment.prepared && segment.retired == nullptr) segment.arena_offset -= lowest;
  }
}

void OutputQueue::release_if_empty() noexcept {
  if (queued_bytes_ != 0) return;
  arena_.release();
  retired_.reset();
  std::vector<Segment>().swap(segments_);
  std::vector<OutputBuffer>().swap(view_);
  head_ = 0;
  head_offset_ = 0;
}

}  // namespace ws::detail
