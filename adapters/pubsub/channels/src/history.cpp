#include "ws/channels/history.hpp"

#include <charconv>
#include <limits>
#include <random>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace ws::channels {
namespace {

// One decimal part of a position: digits only, no leading zero unless it is
// "0", and within 64 bits (from_chars reports overflow).
std::optional<std::uint64_t> parse_part(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  // from_chars would accept neither a sign nor spaces for an unsigned type,
  // but it stops at the first non-digit: the end check below rejects the rest.
  std::uint64_t value = 0;
  const char* const end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc{} || stop != end) return std::nullopt;
  return value;
}

}  // namespace

std::string to_string(Position position) {
  char buffer[position_text_max];
  char* const end = buffer + sizeof buffer;
  // 20 digits are enough for any 64-bit value, so neither call can fail;
  // the check says so to the compiler too (g++ 12 at -O2 warns of the '-'
  // written past the end otherwise).
  const std::to_chars_result epoch = std::to_chars(buffer, end, position.epoch);
  if (epoch.ec != std::errc{} || epoch.ptr == end) return {};
  char* out = epoch.ptr;
  *out++ = '-';
  out = std::to_chars(out, end, position.sequence).ptr;
  return std::string(buffer, out);
}

std::optional<Position> parse_position(std::string_view text) {
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  // A second dash lands in the sequence part, where parse_part rejects it.
  const auto epoch = parse_part(text.substr(0, dash));
  const auto sequence = parse_part(text.substr(dash + 1));
  if (!epoch || !sequence) return std::nullopt;
  return Position{*epoch, *sequence};
}

std::uint64_t random_epoch() {
  std::random_device device;
  // random_device yields 32 bits at a time (unsigned int on every target we build).
  const std::uint64_t high = device();
  const std::uint64_t low = device();
  const std::uint64_t value = ((high << 32) | low) & ((std::uint64_t{1} << 53) - 1);
  return value == 0 ? 1 : value;
}

ChannelHistory::ChannelHistory(std::uint64_t epoch, HistoryLimits limits,
                               std::uint64_t last_sequence) noexcept
    : epoch_(epoch), last_sequence_(last_sequence), limits_(limits) {}

std::size_t ChannelHistory::charged_bytes(const PreparedMessage& message) noexcept {
  std::size_t bytes = message.frame().size();
  if (message.encoded() != nullptr) bytes += message.encoded()->frame().size();
  return bytes;
}

Position ChannelHistory::append(std::shared_ptr<const PreparedMessage> message) {
  if (message == nullptr) throw std::invalid_argument("ChannelHistory::append: null message");
  if (last_sequence_ == std::numeric_limits<std::uint64_t>::max()) {
    throw std::overflow_error("ChannelHistory::append: the epoch has no sequence numbers left");
  }
  const Position position{epoch_, last_sequence_ + 1};
  const std::size_t bytes = charged_bytes(*message);
  // Numbered even if it cannot be kept: live subscribers receive it with
  // this position, and a later resume from before it must see a gap.
  last_sequence_ = position.sequence;
  entries_.push_back(HistoryEntry{position, std::move(message), bytes});
  bytes_ += bytes;
  evict();
  return position;
}

void ChannelHistory::set_limits(HistoryLimits limits) {
  limits_ = limits;
  evict();
}

void ChannelHistory::evict() {
  while (!entries_.empty() &&
         (entries_.size() > limits_.max_messages || bytes_ > limits_.max_bytes)) {
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
  }
}

std::uint64_t ChannelHistory::evicted_through() const noexcept {
  return entries_.empty() ? last_sequence_ : entries_.front().position.sequence - 1;
}

SinceResult ChannelHistory::since(Position position) const {
  // Everything kept, for the gap cases: since(resume_from) replays it all.
  const std::uint64_t evicted = evicted_through();
  const Position resume_from{epoch_, evicted};
  if (position.epoch != epoch_) {
    return HistoryGap{GapReason::other_epoch, std::nullopt, resume_from};
  }
  if (position.sequence > last_sequence_) {
    return HistoryGap{GapReason::ahead, std::nullopt, resume_from};
  }
  // Messages up to `evicted` are gone: a subscriber that has not seen all of
  // them lost exactly the ones after its position. (Up to date is never a
  // gap: last_sequence_ is never below `evicted`.)
  if (position.sequence < evicted) {
    return HistoryGap{GapReason::too_old, evicted - position.sequence, resume_from};
  }
  // The kept messages are consecutive, so the first one wanted sits this far in.
  const auto skip = static_cast<std::ptrdiff_t>(position.sequence - evicted);
  return HistoryRange(entries_.begin() + skip, entries_.end());
}

}  // namespace ws::channels
