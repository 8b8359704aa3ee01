#include "connection/message_assembler.hpp"

#include <utility>

namespace ws::detail {

bool MessageAssembler::park(std::size_t limit) noexcept {
  // At most one, and no larger than the input limit: a message that size
  // could have waited in the input buffer, so memory stays within the
  // documented bound. Broken text is left to the parser, which reports it.
  // Its buffer swaps roles with the parked one, so a large buffer is not
  // parked either (that would hold two of them).
  if (parked_ready_ || buffer_.size() > limit || buffer_.capacity() > 2 * limit) return false;
  if (!text_valid(/*complete=*/true)) return false;
  parked_delivered_ = false;
  std::swap(parked_, buffer_);
  buffer_.clear();
  parked_kind_ = kind_;
  parked_ready_ = true;
  open_ = false;
  return true;
}

void MessageAssembler::release_idle() noexcept {
  if (!open_) {  // a message being joined (or decoded) keeps its buffer
    buffer_.release();
    delivered_ = false;
  }
  if (!parked_ready_) {
    parked_.release();
    parked_delivered_ = false;
  }
}

}  // namespace ws::detail
