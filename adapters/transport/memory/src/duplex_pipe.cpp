#include "ws/memory/duplex_pipe.hpp"

#include <algorithm>
#include <cstring>

namespace ws::memory {

DuplexPipe::DuplexPipe(const Faults& faults) : faults_(faults) {}

std::size_t DuplexPipe::cut(Side from) const noexcept {
  const std::size_t limit = from == Side::a ? faults_.max_chunk_a_to_b : faults_.max_chunk_b_to_a;
  return std::max<std::size_t>(limit, 1);  // a cut of 0 would stall every transfer
}

bool DuplexPipe::peer_gone(Side side) const noexcept {
  const Endpoint& peer = at(peer_of(side));
  return peer.write_shut || peer.closed || peer.broken;
}

std::error_code DuplexPipe::begin_operation(Side side) noexcept {
  ++operations_;
  Endpoint& endpoint = at(side);
  if (endpoint.closed || endpoint.broken) return std::make_error_code(std::errc::not_connected);
  if (operations_ == faults_.fail_operation) {
    endpoint.broken = true;
    return std::make_error_code(std::errc::io_error);
  }
  return {};
}

IoResult DuplexPipe::write(Side from, ByteView bytes) {
  const OutputBuffer buffer{bytes.data(), bytes.size()};
  return write(from, std::span<const OutputBuffer>(&buffer, 1));
}

IoResult DuplexPipe::write(Side from, std::span<const OutputBuffer> buffers) {
  IoResult result;
  result.error = begin_operation(from);
  if (result.error) return result;
  if (at(from).write_shut) {
    result.error = std::make_error_code(std::errc::broken_pipe);
    return result;
  }
  Endpoint& peer = at(peer_of(from));
  const bool drop = peer.closed || peer.broken;
  std::size_t budget = cut(from);
  for (const OutputBuffer& buffer : buffers) {
    if (budget == 0) break;
    const std::size_t n = std::min(budget, buffer.size);
    if (!drop) peer.inbox.insert(peer.inbox.end(), buffer.data, buffer.data + n);
    budget -= n;
    result.bytes += n;
  }
  return result;
}

IoResult DuplexPipe::read(Side to, MutableByteView into) {
  IoResult result;
  result.error = begin_operation(to);
  if (result.error) return result;
  Endpoint& self = at(to);
  const std::size_t waiting = self.inbox.size() - self.inbox_head;
  if (waiting == 0) {
    if (peer_gone(to)) {
      result.end_of_stream = true;
      self.end_reported = true;
    }
    return result;
  }
  const std::size_t n = std::min({waiting, into.size(), cut(peer_of(to))});
  if (n > 0) std::memcpy(into.data(), self.inbox.data() + self.inbox_head, n);
  self.inbox_head += n;
  result.bytes = n;
  // Reclaim the read part once it dominates, so long exchanges stay small.
  if (self.inbox_head == self.inbox.size()) {
    self.inbox.clear();
    self.inbox_head = 0;
  } else if (self.inbox_head >= 4096 && self.inbox_head * 2 >= self.inbox.size()) {
    self.inbox.erase(self.inbox.begin(),
                     self.inbox.begin() + static_cast<std::ptrdiff_t>(self.inbox_head));
    self.inbox_head = 0;
  }
  return result;
}

void DuplexPipe::shutdown_write(Side side) noexcept { at(side).write_shut = true; }

void DuplexPipe::close(Side side) noexcept {
  Endpoint& endpoint = at(side);
  endpoint.write_shut = true;
  endpoint.closed = true;
  endpoint.inbox.clear();
  endpoint.inbox.shrink_to_fit();
  endpoint.inbox_head = 0;
}

std::size_t DuplexPipe::available(Side side) const noexcept {
  const Endpoint& endpoint = at(side);
  return endpoint.inbox.size() - endpoint.inbox_head;
}

bool DuplexPipe::has_input(Side side) const noexcept {
  if (!is_usable(side)) return false;
  return available(side) > 0 || (peer_gone(side) && !at(side).end_reported);
}

bool DuplexPipe::is_usable(Side side) const noexcept {
  const Endpoint& endpoint = at(side);
  return !endpoint.closed && !endpoint.broken;
}

bool DuplexPipe::is_broken(Side side) const noexcept { return at(side).broken; }

bool DuplexPipe::can_write(Side side) const noexcept {
  return is_usable(side) && !at(side).write_shut;
}

}  // namespace ws::memory
