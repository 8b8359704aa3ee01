#include "wire_output.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace ws::tls::detail {

MutableByteView WireOutput::prepare(std::size_t wanted) {
  if (blocks_.empty() || blocks_.back().end == block_size) {
    Block block;
    block.data = spare_ ? std::move(spare_) : std::make_unique<std::byte[]>(block_size);
    blocks_.push_back(std::move(block));
  }
  Block& last = blocks_.back();
  return {last.data.get() + last.end, std::min(wanted, block_size - last.end)};
}

void WireOutput::commit(std::size_t n) noexcept {
  assert(!blocks_.empty() && blocks_.back().end + n <= block_size);
  blocks_.back().end += n;
  size_ += n;
}

std::span<const OutputBuffer> WireOutput::pending() {
  views_.clear();
  for (const Block& block : blocks_) {
    if (block.end > block.begin) {
      views_.push_back({block.data.get() + block.begin, block.end - block.begin});
    }
  }
  return views_;
}

void WireOutput::consume(std::size_t n) noexcept {
  assert(n <= size_);
  n = std::min(n, size_);
  size_ -= n;
  in_flight_ -= std::min(in_flight_, n);
  while (!blocks_.empty()) {
    Block& front = blocks_.front();
    const std::size_t take = std::min(n, front.end - front.begin);
    front.begin += take;
    n -= take;
    if (front.begin < front.end) break;
    if (blocks_.size() == 1) {
      // The only block emptied: fill it from its start again. Nothing in it
      // is pending, so nothing in flight can be overwritten.
      front.begin = front.end = 0;
      break;
    }
    // An earlier (full) block emptied: keep it as the spare.
    if (!spare_) spare_ = std::move(front.data);
    blocks_.pop_front();
  }
}

void WireOutput::mark_in_flight(std::size_t n) noexcept {
  assert(n <= size_);
  in_flight_ = std::min(n, size_);
}

void WireOutput::release_if_empty() noexcept {
  if (size_ != 0) return;
  blocks_.clear();
  spare_.reset();
  std::vector<OutputBuffer>().swap(views_);
}

std::size_t WireOutput::capacity() const noexcept {
  return (blocks_.size() + (spare_ ? 1 : 0)) * block_size;
}

}  // namespace ws::tls::detail
