// Backplane: where a Registry's publishes go. Without one (the default) a
// Registry delivers in-process: nothing to install or start. With a remote
// backplane (ws::redis::RedisBackplane) every publish goes to a broker shared
// by several servers, and each server delivers what the broker hands back to
// its own members, the publishing server included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/channels/history.hpp"
#include "ws/event.hpp"

namespace ws::channels {

/// Why a publish was not accepted by a backplane.
enum class BackplaneErrc : int {
  unavailable = 1,  // the broker cannot be reached now (policy: reject)
  buffer_full,      // the broker cannot be reached and the outage buffer is full
  dropped,          // the broker cannot be reached; dropped (policy: drop), signalled
  shut_down,        // the backplane is being destroyed
};

const std::error_category& backplane_category() noexcept;
std::error_code make_error_code(BackplaneErrc error) noexcept;

/// What became of one publish.
enum class PublishStatus : std::uint8_t {
  delivered,  // in-process: queued for the local members now
  sent,       // handed to the broker connection; members hear it when it comes back
  buffered,   // the broker is unreachable; kept in the bounded outage buffer
  failed,     // not accepted: see PublishResult::error
};

struct PublishResult {
  PublishStatus status = PublishStatus::failed;
  std::error_code error;             // set exactly when status is failed
  std::size_t local_deliveries = 0;  // members queued now (in-process only)

  bool ok() const noexcept { return status != PublishStatus::failed; }
};

/// A channel transport shared by several Registries (usually in several
/// processes). Implementations are thread-safe: the Registry calls them from
/// any thread.
///
/// subscribe/unsubscribe are called with the Registry's lock held, in the
/// order the channel gains its first member and loses its last one; publish
/// is called with the lock held shared. None may call back into the
/// Registry on the calling thread, and none may block on I/O. Messages the
/// broker hands back go to Registry::deliver_local (from any other thread).
/// One message of a broker's history (see Backplane::fetch_since). The
/// payload is a view into the broker's reply: valid during the call it is
/// handed to only.
struct BackplaneEntry {
  Position position;
  MessageKind kind = MessageKind::text;
  ByteView payload;
};

/// A broker's answer to fetch_since. Positions are the broker's (a Redis
/// stream entry ID "ms-seq" read as {ms, seq}), totally ordered by
/// (epoch, sequence) across "epochs".
struct BackplaneHistory {
  /// The newest position the broker ever gave this channel ({0,0}: none).
  Position last;
  /// Set when the messages after `since` are not all kept (too_old; how
  /// many is unknown) or `since` is past `last` (ahead).
  std::optional<GapReason> gap;
  /// Without a gap: every message after `since`, oldest first. With one:
  /// the newest messages kept, oldest first (a broker that cannot return
  /// everything after `since` in one answer must report a gap and return
  /// the newest part, never the oldest: that would leave a silent hole
  /// before the live messages). Empty when fetched without a position.
  std::vector<BackplaneEntry> entries;
};

class Backplane {
 public:
  virtual ~Backplane() = default;

  /// True when the broker numbers the messages of a resumable Registry and
  /// keeps their history (the Redis backplane does: stream entry IDs). It
  /// then hands messages back through Registry::deliver_positioned, and a
  /// join with a position is served by fetch_since. A backplane that
  /// returns false leaves numbering to each node's own ChannelHistory.
  virtual bool assigns_positions() const noexcept { return false; }
  /// Only when assigns_positions(): asks for `channel`'s history after
  /// `since` (without a position: only `last`) and answers, later and on
  /// another thread, with Registry::resume_answer(channel, ticket, ...).
  /// It must answer only once the channel's subscription (subscribe) is in
  /// effect, so that every message after the answer's snapshot reaches
  /// deliver_positioned; and answer with a failure (null) when it cannot.
  /// Called with the Registry's lock held, after subscribe for a first member.
  virtual void fetch_since(std::string_view channel, std::uint64_t ticket,
                           std::optional<Position> since) {
    (void)channel;
    (void)ticket;
    (void)since;
  }

  /// Sends `payload` to the members of `channel` on every node, this one
  /// included. Each member hears it once, in the order this node published.
  virtual PublishResult publish(std::string_view channel, MessageKind kind, ByteView payload) = 0;
  /// This node now has members in `channel`: start hearing it.
  virtual void subscribe(std::string_view channel) = 0;
  /// This node no longer has members in `channel`.
  virtual void unsubscribe(std::string_view channel) = 0;
};

}  // namespace ws::channels

template <>
struct std::is_error_code_enum<ws::channels::BackplaneErrc> : std::true_type {};
