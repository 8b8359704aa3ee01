// Named channels: which connections hear what is published where.
//
// Thread safety: every member may be called from any thread at once.
// Ordering: messages published by one thread to one channel reach each
// subscriber in the order they were published. Channels never mix: a
// message reaches only the subscribers of the channel it was published to.
//
// Publishing goes through a Backplane when one is set (ws/channels/
// backplane.hpp): the message then travels through a broker shared by
// several servers and comes back to deliver_local on each of them.
// Without one, delivery is in-process.
//
// Resumable channels (RegistryOptions::resumable, off by default): every
// message published to a channel is numbered (a Position) and the newest
// ones are kept in a ChannelHistory (HistoryLimits: 1,000 messages, 1 MiB by
// default). Members that joined with join_resumable() receive envelopes
// (ws/channels/resume.hpp) carrying each message's position; a member that
// comes back with the last position it saw first receives what it missed,
// in order and once, then live messages, or is told of a gap. Plain members
// (join()) of the same channel keep receiving the raw payloads. The wire
// format and its subprotocol are described in docs/resume.md.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/channels/backplane.hpp"
#include "ws/channels/history.hpp"
#include "ws/channels/subscriber.hpp"
#include "ws/event.hpp"

namespace ws::channels {

struct RegistryOptions {
  /// Every channel of this registry is resumable: numbered, with a history.
  /// Off by default: a plain registry costs nothing per message beyond the
  /// frame, and a resumable one keeps up to `history` per channel that has
  /// ever been used (histories outlive their members, so a client that was
  /// the last one to leave can still resume; they live as long as the
  /// registry).
  bool resumable = false;
  /// Per channel, when resumable. max_bytes must not exceed
  /// max_replay_bytes (the constructor throws std::invalid_argument).
  HistoryLimits history{};
  /// The most one resume queues at once, in frame bytes of the replayed
  /// messages (gap and live markers not counted). A resume queues its whole
  /// replay at once; one past the member's BackpressureLimits::high_water
  /// (4 MiB by default) would close it with 1013, and it would come back
  /// with the same position and be closed again, forever. When the catch-up
  /// does not fit, the member gets a gap (too_old, `missed` = the messages
  /// left out) and the newest messages that fit, so every resume makes
  /// progress. Default 2 MiB: half the default high-water mark, leaving room
  /// for live traffic queued meanwhile, and twice the default
  /// history.max_bytes. Keep it under the high-water mark of your sessions.
  std::size_t max_replay_bytes = 2 * 1024 * 1024;
  /// Resumable channels without members whose histories are kept (so that
  /// their last members can come back). Past it, the channel idle longest
  /// is forgotten: a client resuming it gets an other_epoch gap. Bounds
  /// what clients that invent channel names can make a server keep (about
  /// max_idle_channels * history.max_bytes). Default 1,024.
  std::size_t max_idle_channels = 1024;
};

/// What join_resumable did.
struct ResumeResult {
  bool joined = false;            // false: already a member (nothing was sent)
  std::size_t replayed = 0;       // messages re-sent from the history
  std::optional<HistoryGap> gap;  // set when a gap envelope was sent first
  Position live_from;             // the position of the live marker sent
};

class Registry final : public ChannelMembership {
 public:
  explicit Registry(RegistryOptions options = {});

  bool resumable() const noexcept { return options_.resumable; }
  const RegistryOptions& options() const noexcept { return options_; }

  /// Adds `subscriber` to `channel` (created on first join). The registry
  /// holds it weakly: a subscriber that is destroyed simply stops hearing.
  /// Returns false if it was already a member.
  bool join(std::string_view channel, const std::shared_ptr<Subscriber>& subscriber) override;
  /// Adds `subscriber` to `channel` as a resumable member: it receives
  /// envelopes (ws/channels/resume.hpp), never raw payloads. Under the
  /// registry's lock, so that no publish falls between the replay and going
  /// live (none is lost or doubled), it is sent:
  /// - with `since` = P: the messages after P still in the history, oldest
  ///   first, each once; or, when P is of another epoch, older than the
  ///   history or ahead of it, a gap envelope (reason, how many were missed
  ///   when known, and the position it goes on from) followed by every
  ///   message kept; a replay is cut to its newest part within
  ///   max_replay_bytes, after a too_old gap counting what was left out;
  /// - without `since`: nothing to replay (it starts at the newest message);
  /// then in both cases a live marker with the position reached, then live
  /// messages. A member that refuses a message (deliver returns false: its
  /// slow-subscriber policy, or it is closing) hears nothing more on this
  /// channel and is told through Subscriber::fell_behind (a Session closes
  /// with 1013 and its client resumes from its last position): a resumable
  /// member never silently misses a message.
  /// With a backplane that assigns positions (Redis streams mode) the
  /// history is the broker's: the member is added at once, everything above
  /// happens when the broker answers (resume_answer, on the backplane's
  /// thread), and the result only says whether it joined (replayed 0, no
  /// gap, live_from unset). Until then nothing is sent to it.
  /// Precondition: resumable(); throws std::logic_error otherwise.
  ResumeResult join_resumable(std::string_view channel,
                              const std::shared_ptr<Subscriber>& subscriber,
                              std::optional<Position> since);
  /// Removes `subscriber` from `channel`; false if it was not a member.
  bool leave(std::string_view channel, const Subscriber* subscriber);
  /// Removes `subscriber` from every channel (call it when a connection ends).
  void leave_all(const Subscriber* subscriber) override;

  /// In-process: frames `payload` once (an unmasked server frame) and
  /// queues the same bytes for every member of `channel`. Returns how many
  /// members it was queued for; it returns before anything is written.
  /// With a backplane: hands the message to it and returns 0 (members hear
  /// it when it comes back); use try_publish to learn of a failure.
  std::size_t publish(std::string_view channel, MessageKind kind, ByteView payload);
  /// Queues an already prepared message for every member of `channel` (or
  /// hands its payload to the backplane, as above).
  std::size_t publish(std::string_view channel,
                      const std::shared_ptr<const PreparedMessage>& message);
  /// publish, telling what became of the message: delivered (in-process,
  /// with the count), sent or buffered (backplane), or failed with the
  /// backplane's error (BackplaneErrc) when the broker cannot be reached.
  PublishResult try_publish(std::string_view channel, MessageKind kind, ByteView payload);

  /// Queues `message` for this node's members of `channel` only. A backplane
  /// calls it with what the broker hands back. Returns the members reached.
  /// On a resumable registry the message is numbered by this node's history
  /// of the channel (each node has its own epoch: a client that moves to
  /// another node gets a gap, never another node's numbers as its own).
  std::size_t deliver_local(std::string_view channel,
                            const std::shared_ptr<const PreparedMessage>& message);

  /// A backplane that assigns positions (Backplane::assigns_positions, the
  /// Redis backplane of a resumable registry) hands back a message with the
  /// position the broker gave it. Plain members get the raw payload,
  /// resumable ones an envelope with that position; a resumable member whose
  /// replay covered this position is skipped, so the boundary between replay
  /// and live doubles nothing. Any other position that does not follow the
  /// last one a resumable member was sent (out of order, or after a forged
  /// larger one) makes it lag (fell_behind, 1013) rather than silently skip
  /// messages. Returns the members reached.
  std::size_t deliver_positioned(std::string_view channel, Position position, MessageKind kind,
                                 ByteView payload);
  /// The broker's answer to fetch_since (null: it could not answer). The
  /// member waiting for it is sent: a gap envelope when the broker reports
  /// one (history->gap: ahead, too_old or other_epoch, missed unknown) or
  /// when the catch-up does not fit max_replay_bytes (too_old, missed = the
  /// messages left out), the entries and the messages that arrived live
  /// meanwhile and are newer (only the newest part within the budget), the
  /// live marker; then it is live. On a failure it is told to resume
  /// (Subscriber::fell_behind).
  void resume_answer(std::string_view channel, std::uint64_t ticket,
                     const BackplaneHistory* history);
  /// The backplane may have missed live messages (its subscription to the
  /// broker was lost): every resumable member is told to resume
  /// (fell_behind) and hears nothing more, rather than see a hole.
  void backplane_interrupted();

  /// Routes publishes through `backplane` (nullptr: in-process again) and
  /// tells it every channel that has members now. The backplane must stay
  /// alive until it is replaced; this waits for publishes in progress.
  void set_backplane(Backplane* backplane);

  /// Members of `channel` now.
  std::size_t member_count(std::string_view channel) const;
  /// Names of the channels with at least one member.
  std::vector<std::string> channel_names() const;
  /// Resumable: the position of the newest message published to `channel`
  /// (nullopt if it was never used).
  std::optional<Position> head(std::string_view channel) const;

 private:
  struct Member {
    const Subscriber* key;
    std::weak_ptr<Subscriber> subscriber;
    bool resumable = false;  // receives envelopes
    bool lagged = false;     // refused a message: skipped from then on (channel lock)
    // With a positioning backplane: the fetch it waits for (0: live), the
    // messages that arrived meanwhile, and the newest position it was sent.
    std::uint64_t ticket = 0;
    std::vector<std::pair<Position, std::shared_ptr<const PreparedMessage>>> waiting{};
    std::size_t waiting_bytes = 0;  // frames in `waiting`
    std::optional<Position> cursor{};
    // The last position its replay covered: live copies at or before it are
    // skipped as duplicates; any other position not after `cursor` is out
    // of order and makes it lag.
    std::optional<Position> replayed_through{};
    std::optional<Position> since{};
  };
  // One channel: its members and, when resumable, its history and the lock
  // that orders its publishes against joins-with-since (taken under the
  // registry's shared lock; plain channels deliver under that lock alone).
  struct Channel {
    std::vector<Member> members;
    bool idle = false;  // resumable, without members, counted in idle_count_
    std::unique_ptr<std::mutex> order;
    std::unique_ptr<ChannelHistory> history;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>{}(name);
    }
  };
  using Channels = std::unordered_map<std::string, Channel, NameHash, std::equal_to<>>;

  Channels::iterator create_locked(std::string_view channel);
  void add_member_locked(Channels::iterator it, Member member);
  std::size_t deliver_locked(Channel& channel,
                             const std::shared_ptr<const PreparedMessage>& message);
  std::size_t deliver_numbered(Channel& channel,
                               const std::shared_ptr<const PreparedMessage>& message,
                               std::vector<std::shared_ptr<Subscriber>>& lagging);
  std::size_t deliver(std::string_view channel,
                      const std::shared_ptr<const PreparedMessage>& message);

  bool positioned_locked() const noexcept;
  void note_idle_locked(Channels::iterator it);

  // Resumable channels that lost their members (or never had any), oldest
  // first; may name channels that got members again or were forgotten
  // (skipped when reached). Guarded by mutex_ (unique).
  std::deque<std::string> idle_;
  std::size_t idle_count_ = 0;

  const RegistryOptions options_;
  std::uint64_t next_ticket_ = 1;  // guarded by mutex_ (unique)
  mutable std::shared_mutex mutex_;
  Channels channels_;
  Backplane* backplane_ = nullptr;  // guarded by mutex_
};

}  // namespace ws::channels
