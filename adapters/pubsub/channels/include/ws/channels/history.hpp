// The history of one resumable channel: every message gets a position, and
// the newest ones are kept (bounded by count and by bytes) so that a
// subscriber coming back with the position of the last message it saw can be
// given exactly what it missed, or be told that it cannot.
//
// This is the data structure and its rules only: pure and single-threaded.
// A ChannelHistory has no clock and no randomness of its own: its epoch is
// given to it (random_epoch() makes one), so tests are deterministic. Wiring it
// into the Registry, the envelope that carries positions on the wire and the
// Redis backplane are built on top of it.
//
// Thread safety: none. A ChannelHistory is owned by one channel, and the
// owner serialises every call (the Registry will call it under its lock).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ws/message/prepared_message.hpp"

namespace ws::channels {

/// Where a message sits in a channel's stream: the epoch it was published in
/// and its number within that epoch. Sequence numbers start at 1 in every
/// epoch and are never reused within one; sequence 0 means "before the first
/// message", so {E, 0} asks for everything epoch E published.
///
/// On a single node the epoch names one lifetime of the history (it changes
/// when the node restarts, see random_epoch()), so positions of different
/// epochs say nothing about each other: comparing them yields
/// std::partial_ordering::unordered (neither <, > nor ==). Do not use
/// Position as the key of an ordered container.
///
/// With the Redis backplane the position is a stream entry ID, "<ms>-<seq>",
/// read into epoch = ms and sequence = seq. Only the text form and the type
/// are shared: a stream's IDs are totally ordered by (ms, seq), so code that
/// orders Redis IDs compares that pair itself (operator<=> here orders within
/// one epoch only), and in a stream seq 0 is a real entry (the first of its
/// millisecond). The numbering rules below (1, 2, ... without holes) are
/// ChannelHistory's.
struct Position {
  std::uint64_t epoch = 0;
  std::uint64_t sequence = 0;

  friend bool operator==(const Position&, const Position&) = default;
  friend std::partial_ordering operator<=>(const Position& a, const Position& b) noexcept {
    if (a.epoch != b.epoch) return std::partial_ordering::unordered;
    return a.sequence <=> b.sequence;
  }
};

/// The longest text form of a Position: two 20-digit numbers and the dash.
inline constexpr std::size_t position_text_max = 41;

/// The wire form of `position`: "EPOCH-SEQUENCE", both in decimal without
/// leading zeros (e.g. "7302915834422-15"). It is the form of a Redis stream
/// entry ID, so a Redis ID can be handed to clients as it is. Clients should
/// treat it as opaque text and send it back unchanged.
std::string to_string(Position position);

/// Reads the form to_string writes, and only that: two unsigned decimal
/// numbers that fit 64 bits, joined by one '-'. Rejects (nullopt) an empty
/// part, signs, spaces, leading zeros ("0" itself is fine), other
/// characters, a missing or second dash, and overflow. Being this strict
/// keeps the text canonical: to_string(*parse_position(s)) == s whenever
/// parsing succeeds.
std::optional<Position> parse_position(std::string_view text);

/// An epoch for a history that starts now: random, never 0, below 2^53.
///
/// Random rather than the start time: two nodes behind one load balancer
/// without Redis can start in the same millisecond (or a restarted node's
/// clock can step back), and a shared epoch would let a client moving
/// between them be handed another node's messages as if they continued its
/// stream. Never 0, so a zero-initialised Position matches no real epoch.
/// Below 2^53 so a browser that reads it into a Number still gets it exactly
/// (Redis IDs' millisecond part is below that too).
std::uint64_t random_epoch();

/// How much one channel keeps. A message that is not kept is still numbered
/// and delivered live; it only cannot be replayed.
///
/// Defaults: 1,000 messages and 1 MiB, whichever is reached first. 1,000 is
/// the outage the resume tests ask to bridge (a client away while 1,000
/// messages are published gets every one of them). 1 MiB bounds what a busy
/// channel's history costs (a server with a thousand busy channels holds at
/// most about 1 GiB) while still fitting those 1,000 messages at about 1 KiB
/// each with their envelopes, which is generous for chat and telemetry.
/// Either may be 0: then nothing is kept, and any resume but an up-to-date
/// one is a gap.
struct HistoryLimits {
  std::size_t max_messages = 1000;
  std::size_t max_bytes = 1024 * 1024;
};

/// One kept message. `message` is the same object every subscriber is
/// sent (replay copies the pointer, never the bytes); `bytes` is what it
/// counts against HistoryLimits::max_bytes (see ChannelHistory::charged_bytes).
struct HistoryEntry {
  Position position;
  std::shared_ptr<const PreparedMessage> message;
  std::size_t bytes = 0;
};

/// Kept messages, oldest first, in consecutive sequence order: a view into
/// the history. It stays valid until the next call of a non-const member of
/// the ChannelHistory it came from (append, set_limits) or that history's
/// destruction; copy the `message` pointers out to keep messages longer.
class HistoryRange {
 public:
  using iterator = std::deque<HistoryEntry>::const_iterator;

  HistoryRange() = default;
  HistoryRange(iterator first, iterator last) : begin_(first), end_(last) {}

  iterator begin() const noexcept { return begin_; }
  iterator end() const noexcept { return end_; }
  std::size_t size() const noexcept { return static_cast<std::size_t>(end_ - begin_); }
  bool empty() const noexcept { return begin_ == end_; }
  const HistoryEntry& front() const { return *begin_; }
  const HistoryEntry& back() const { return *(end_ - 1); }

 private:
  iterator begin_{};
  iterator end_{};
};

enum class GapReason : std::uint8_t {
  /// The position is from another epoch: another lifetime of this node (it
  /// restarted) or another node. Nothing is known of how much was missed.
  other_epoch,
  /// The position is from this epoch, but messages after it are no longer
  /// kept. `missed` says exactly how many.
  too_old,
  /// The position is from this epoch but later than anything published in
  /// it. This history never handed it out, so the client's state does not
  /// match this stream (a forged or corrupted position, or an epoch that
  /// collided). Treated as a gap rather than an error: an error would make
  /// a reconnecting client retry the same position forever, while a gap
  /// sends it down the same recovery path as a restart.
  ahead,
};

/// The answer to a resume that cannot be served without a hole.
struct HistoryGap {
  GapReason reason = GapReason::other_epoch;
  /// How many messages the subscriber lost, when known: for too_old, those
  /// from just after its position to just before the oldest one kept
  /// (everything up to the newest, when nothing is kept). Unknown (nullopt)
  /// for other_epoch and ahead.
  std::optional<std::uint64_t> missed;
  /// Where to go on from: since(resume_from) returns every message kept,
  /// never a gap (until the history changes). A caller that prefers to skip
  /// to live messages uses head() instead.
  Position resume_from;
};

/// since() gives either the whole continuation or a gap, never a part.
using SinceResult = std::variant<HistoryRange, HistoryGap>;

class ChannelHistory {
 public:
  /// A history for `epoch` (from random_epoch() in production; any value
  /// in tests), keeping up to `limits`. `last_sequence` is the newest
  /// sequence this epoch already issued before this object existed (0:
  /// none); numbering goes on after it and older positions are too_old.
  explicit ChannelHistory(std::uint64_t epoch, HistoryLimits limits = {},
                          std::uint64_t last_sequence = 0) noexcept;

  std::uint64_t epoch() const noexcept { return epoch_; }

  /// The position of the newest message appended ({epoch, last_sequence}
  /// before any). A subscriber that joins without a position starts here:
  /// it gets live messages only, the ones appended after this.
  Position head() const noexcept { return Position{epoch_, last_sequence_}; }

  /// The position append() will give the next message, so the caller can
  /// put it inside the message (the envelope) before appending. Meaningless
  /// once the epoch is exhausted (append then throws).
  Position next_position() const noexcept { return Position{epoch_, last_sequence_ + 1}; }

  /// Numbers `message` (next_position()), keeps it, and evicts the oldest
  /// messages until both limits hold again; a message larger than max_bytes
  /// is therefore numbered but not kept. Returns its position.
  ///
  /// Throws std::invalid_argument for a null message, and
  /// std::overflow_error when the epoch has issued its last sequence number
  /// (2^64 - 1; unreachable in practice, numbers never wrap).
  Position append(std::shared_ptr<const PreparedMessage> message);

  /// What a subscriber whose last seen message is `position` should receive
  /// before live messages:
  /// - position == head(): an empty range (it is up to date);
  /// - this epoch, and every message after it still kept: those messages,
  ///   strictly after `position`, oldest first, each once;
  /// - this epoch, but some of them evicted: a too_old gap;
  /// - this epoch, beyond head(): an ahead gap;
  /// - another epoch: an other_epoch gap.
  /// A subscriber with no position at all does not call this: it starts at
  /// head(). Any value of `position` is accepted; nothing throws.
  SinceResult since(Position position) const;

  /// Every message kept, oldest first (what since(resume_from) replays).
  HistoryRange held() const noexcept { return HistoryRange(entries_.begin(), entries_.end()); }

  /// Replaces the limits and evicts at once to meet them. Raising a limit
  /// does not bring evicted messages back.
  void set_limits(HistoryLimits limits);
  HistoryLimits limits() const noexcept { return limits_; }

  /// Messages kept and the bytes they count.
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }

  /// What one message counts against max_bytes: its frame, plus the frame
  /// of its encoded variant (permessage-deflate) when it carries one, since
  /// the history keeps both alive. Allocator overhead is not counted;
  /// max_messages bounds it.
  static std::size_t charged_bytes(const PreparedMessage& message) noexcept;

 private:
  void evict();
  /// The sequence just before the oldest message kept (last_sequence_ when
  /// none is): every message up to it is gone, every one after it is kept.
  /// Computed this way round so that it cannot overflow.
  std::uint64_t evicted_through() const noexcept;

  std::uint64_t epoch_;
  std::uint64_t last_sequence_;
  HistoryLimits limits_;
  std::deque<HistoryEntry> entries_;
  std::size_t bytes_ = 0;
};

}  // namespace ws::channels
