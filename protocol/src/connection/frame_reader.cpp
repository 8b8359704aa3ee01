#include "connection/frame_reader.hpp"

#include <algorithm>
#include <cstring>

#include "frame/utf8_unmask.hpp"
#include "ws/frame/masking.hpp"

namespace ws::detail {

namespace {

// Moves the unparsed bytes to the front, so the free space is at the end.
void compact(ByteBuffer& input, std::size_t& begin) noexcept {
  if (begin == 0) return;
  const std::size_t left = input.size() - begin;
  if (left > 0) std::memmove(input.data(), input.data() + begin, left);
  input.resize(left);
  begin = 0;
}

}  // namespace

void FrameReader::preload(ByteView bytes, std::size_t limit) {
  input_.reserve_exact(std::max(limit, bytes.size()));
  input_.resize(bytes.size());
  std::memcpy(input_.data(), bytes.data(), bytes.size());
  begin_ = 0;
}

std::size_t FrameReader::append(ByteView bytes, std::size_t limit) {
  compact(input_, begin_);
  const std::size_t used = input_.size();
  const std::size_t room = limit - std::min(limit, used + taken_directly);
  const std::size_t take = std::min(bytes.size(), room);
  if (take == 0) return 0;
  if (used + take > input_.capacity()) {
    input_.reserve_exact(std::min(limit, std::max(used + take, 2 * input_.capacity())));
  }
  input_.resize(used + take);
  std::memcpy(input_.data() + used, bytes.data(), take);
  return take;
}

MutableByteView FrameReader::offer(std::size_t limit) {
  compact(input_, begin_);
  const std::size_t used = input_.size();
  const std::size_t room = limit - std::min(limit, used + taken_directly);
  const std::size_t capacity = input_.capacity();
  // Sized to the traffic, within the limit: the rest of the frame in
  // progress and the next header in one read; twice the buffer after a read
  // filled it, or when what waits parsed takes most of it (4 KiB at first).
  std::size_t wanted = capacity - used;
  if (in_payload_) {
    const std::uint64_t rest = frame_remaining_ + max_frame_header_size;
    if (rest > wanted) wanted = static_cast<std::size_t>(std::min<std::uint64_t>(rest, room));
  }
  if (read_filled_offer_ || wanted < capacity / 4 + 1) {
    wanted = std::max(wanted, std::max<std::size_t>(4096, 2 * capacity) - used);
  }
  wanted = std::min(wanted, room);
  if (used + wanted > capacity) input_.reserve_exact(used + wanted);
  read_filled_offer_ = false;
  offered_ = wanted;
  return {input_.data() + used, wanted};
}

MutableByteView FrameReader::offer_for_discard() {
  discard();
  input_.reserve_exact(256);
  return {input_.data(), input_.capacity()};
}

void FrameReader::commit(std::size_t n) noexcept {
  read_filled_offer_ = n > 0 && n >= offered_;
  input_.resize(std::min(input_.size() + n, input_.capacity()));
}

void FrameReader::release_if_drained() noexcept {
  if (!drained()) return;
  input_.release();
  begin_ = 0;
}

void FrameReader::unmask_payload(MutableByteView to, ByteView from, Utf8Validator* text) noexcept {
  const bool in_place = to.data() == from.data();
  if (frame_.masked) {
    if (text != nullptr) {
      // Masked text is unmasked and validated in one pass while in cache.
      mask_offset_ = in_place
                         ? unmask_and_validate(to, frame_.mask_key, mask_offset_, *text)
                         : copy_masked_and_validate(to, from, frame_.mask_key, mask_offset_, *text);
    } else {
      mask_offset_ = in_place ? apply_mask(to, frame_.mask_key, mask_offset_)
                              : copy_masked(to, from, frame_.mask_key, mask_offset_);
    }
  } else {
    if (!in_place && !to.empty()) std::memcpy(to.data(), from.data(), to.size());
    if (text != nullptr) (void)text->feed(to);
  }
  frame_remaining_ -= to.size();
}

}  // namespace ws::detail
