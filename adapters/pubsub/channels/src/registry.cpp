#include "ws/channels/registry.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <stdexcept>

#include "ws/channels/resume.hpp"

namespace ws::channels {

namespace {

std::shared_ptr<const PreparedMessage> text_message(const std::string& text) {
  return PreparedMessage::make(MessageKind::text, as_bytes(std::string_view(text)));
}

// Members that refused a message on a resumable channel are told after the
// registry's lock is released: a Session closing from inside its own handler
// may end up in leave_all, which takes that lock.
void tell_fell_behind(const std::vector<std::shared_ptr<Subscriber>>& lagging) {
  for (const auto& subscriber : lagging) subscriber->fell_behind();
}

// A broker's positions (Redis stream IDs) are ordered across "epochs" (the
// millisecond part), unlike a ChannelHistory's.
bool stream_less(Position a, Position b) noexcept {
  return a.epoch < b.epoch || (a.epoch == b.epoch && a.sequence < b.sequence);
}

}  // namespace

Registry::Registry(RegistryOptions options) : options_(options) {
  // A history holding more bytes than one replay may carry would keep
  // messages that a client coming back within the history could never be
  // given: its resume would be a gap anyway. Refused rather than wasted.
  if (options_.resumable && options_.history.max_bytes > options_.max_replay_bytes) {
    throw std::invalid_argument(
        "RegistryOptions: history.max_bytes must not exceed max_replay_bytes");
  }
}

bool Registry::positioned_locked() const noexcept {
  return options_.resumable && backplane_ != nullptr && backplane_->assigns_positions();
}

Registry::Channels::iterator Registry::create_locked(std::string_view channel) {
  auto it = channels_.find(channel);
  if (it != channels_.end()) return it;
  Channel created;
  if (options_.resumable) {
    created.order = std::make_unique<std::mutex>();
    created.history = std::make_unique<ChannelHistory>(random_epoch(), options_.history);
  }
  return channels_.emplace(std::string(channel), std::move(created)).first;
}

void Registry::note_idle_locked(Channels::iterator it) {
  if (it->second.idle) return;
  it->second.idle = true;
  ++idle_count_;
  idle_.push_back(it->first);
  while (idle_count_ > options_.max_idle_channels && !idle_.empty()) {
    const std::string name = std::move(idle_.front());
    idle_.pop_front();
    const auto oldest = channels_.find(name);
    if (oldest == channels_.end() || !oldest->second.idle) continue;
    --idle_count_;
    channels_.erase(oldest);
  }
  // Entries of channels that got members again pile up without eviction
  // when there is churn below the bound: rebuilt from the channels (losing
  // the order, which only decides which idle channel goes first).
  if (idle_.size() > 2 * options_.max_idle_channels + 64) {
    idle_.clear();
    for (const auto& [name, channel] : channels_) {
      if (channel.idle) idle_.push_back(name);
    }
  }
}

void Registry::add_member_locked(Channels::iterator it, Member member) {
  if (it->second.idle) {
    it->second.idle = false;
    --idle_count_;
  }
  std::vector<Member>& members = it->second.members;
  // Under the lock, so the backplane hears first-join and last-leave in order.
  if (members.empty() && backplane_ != nullptr) backplane_->subscribe(it->first);
  members.push_back(std::move(member));
}

bool Registry::join(std::string_view channel, const std::shared_ptr<Subscriber>& subscriber) {
  std::unique_lock lock(mutex_);
  const auto it = create_locked(channel);
  const std::vector<Member>& members = it->second.members;
  const bool present = std::any_of(members.begin(), members.end(), [&](const Member& member) {
    return member.key == subscriber.get();
  });
  if (present) return false;
  add_member_locked(it, Member{subscriber.get(), subscriber});
  return true;
}

ResumeResult Registry::join_resumable(std::string_view channel,
                                      const std::shared_ptr<Subscriber>& subscriber,
                                      std::optional<Position> since) {
  if (!options_.resumable) {
    throw std::logic_error("Registry::join_resumable: the registry is not resumable");
  }
  ResumeResult result;
  bool accepted = true;
  {
    // The unique lock keeps every publish out from the first replayed
    // message to the member's insertion: nothing published meanwhile can be
    // missed (it is not in the history yet when we read it) or doubled (it
    // would be in the history and then delivered live).
    std::unique_lock lock(mutex_);
    const auto it = create_locked(channel);
    Channel& state = it->second;
    const bool present =
        std::any_of(state.members.begin(), state.members.end(),
                    [&](const Member& member) { return member.key == subscriber.get(); });
    if (present) return result;
    result.joined = true;
    if (positioned_locked()) {
      // The broker holds the history: the member waits for its answer
      // (resume_answer), keeping what arrives live meanwhile.
      Member member{subscriber.get(), subscriber};
      member.resumable = true;
      member.ticket = next_ticket_++;
      member.since = since;
      const std::uint64_t ticket = member.ticket;
      add_member_locked(it, std::move(member));  // subscribes first for a first member
      backplane_->fetch_since(channel, ticket, since);
      return result;
    }
    ChannelHistory& history = *state.history;
    const auto send = [&](const std::shared_ptr<const PreparedMessage>& message) {
      if (accepted && !subscriber->deliver(message)) accepted = false;
    };
    if (since) {
      SinceResult answer = history.since(*since);
      std::optional<HistoryGap> gap;
      if (const HistoryGap* found = std::get_if<HistoryGap>(&answer)) {
        gap = *found;
        // Never a gap: resume_from is just before everything kept.
        answer = history.since(found->resume_from);
      }
      const HistoryRange range = std::get<HistoryRange>(answer);
      // Only the newest part that fits the replay budget is queued: a replay
      // past the member's high-water mark would close it with 1013, and it
      // would come back with the same position and be closed again, forever.
      // What is left out becomes (part of) a gap, so the client moves on.
      auto first = range.end();
      std::size_t bytes = 0;
      while (first != range.begin()) {
        const std::size_t size = std::prev(first)->message->frame().size();
        if (bytes + size > options_.max_replay_bytes) break;
        bytes += size;
        --first;
      }
      if (first != range.begin()) {
        const auto left_out = static_cast<std::uint64_t>(first - range.begin());
        const Position resume_from = std::prev(first)->position;
        if (gap) {
          if (gap->missed) *gap->missed += left_out;
          gap->resume_from = resume_from;
        } else {
          gap = HistoryGap{GapReason::too_old, left_out, resume_from};
        }
      }
      if (gap) {
        result.gap = gap;
        send(text_message(gap_envelope(*gap)));
      }
      for (auto entry = first; entry != range.end(); ++entry) {
        send(entry->message);
        if (accepted) ++result.replayed;
      }
    }
    result.live_from = history.head();
    send(text_message(live_envelope(result.live_from)));
    Member member{subscriber.get(), subscriber};
    member.resumable = true;
    member.lagged = !accepted;
    add_member_locked(it, std::move(member));
  }
  if (!accepted) subscriber->fell_behind();
  return result;
}

bool Registry::leave(std::string_view channel, const Subscriber* subscriber) {
  std::unique_lock lock(mutex_);
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return false;
  std::vector<Member>& members = it->second.members;
  const auto removed = std::remove_if(members.begin(), members.end(), [&](const Member& member) {
    return member.key == subscriber;
  });
  const bool was_member = removed != members.end();
  members.erase(removed, members.end());
  if (was_member && members.empty()) {
    if (backplane_ != nullptr) backplane_->unsubscribe(channel);
    if (!options_.resumable) {
      channels_.erase(it);
    } else {
      if (backplane_ != nullptr && !backplane_->assigns_positions()) {
        // Unsubscribed, this node stops hearing the channel: its history
        // would silently miss what other nodes publish meanwhile, so a new
        // epoch starts (a client resuming from the old one gets a gap).
        it->second.history = std::make_unique<ChannelHistory>(random_epoch(), options_.history);
      }
      note_idle_locked(it);  // may forget it, or another one
    }
  }
  return was_member;
}

void Registry::leave_all(const Subscriber* subscriber) {
  std::unique_lock lock(mutex_);
  std::vector<std::string> newly_idle;  // rare: only channels it was the last member of
  for (auto it = channels_.begin(); it != channels_.end();) {
    std::vector<Member>& members = it->second.members;
    const auto removed = std::remove_if(members.begin(), members.end(), [&](const Member& member) {
      return member.key == subscriber;
    });
    const bool was_member = removed != members.end();
    members.erase(removed, members.end());
    if (!was_member || !members.empty()) {
      ++it;
      continue;
    }
    if (backplane_ != nullptr) backplane_->unsubscribe(it->first);
    if (!options_.resumable) {
      it = channels_.erase(it);
      continue;
    }
    // Kept for resumes; see leave() for the new epoch.
    if (backplane_ != nullptr && !backplane_->assigns_positions()) {
      it->second.history = std::make_unique<ChannelHistory>(random_epoch(), options_.history);
    }
    // Noted once the loop is done: forgetting one may erase any channel.
    newly_idle.push_back(it->first);
    ++it;
  }
  for (const std::string& name : newly_idle) {
    const auto idle = channels_.find(name);
    if (idle != channels_.end() && idle->second.members.empty()) note_idle_locked(idle);
  }
}

std::size_t Registry::publish(std::string_view channel, MessageKind kind, ByteView payload) {
  return try_publish(channel, kind, payload).local_deliveries;
}

std::size_t Registry::publish(std::string_view channel,
                              const std::shared_ptr<const PreparedMessage>& message) {
  {
    std::shared_lock lock(mutex_);
    // A backplane carries the payload, not the frame: each server frames what
    // the broker hands back.
    if (backplane_ != nullptr) {
      return backplane_->publish(channel, message->kind(), message->payload()).local_deliveries;
    }
  }
  return deliver(channel, message);
}

PublishResult Registry::try_publish(std::string_view channel, MessageKind kind, ByteView payload) {
  {
    std::shared_lock lock(mutex_);
    if (backplane_ != nullptr) return backplane_->publish(channel, kind, payload);
  }
  PublishResult result;
  result.status = PublishStatus::delivered;
  // Framed even with no members: the common case has members, and framing
  // outside the lock would need a second lookup.
  result.local_deliveries = deliver(channel, PreparedMessage::make(kind, payload));
  return result;
}

std::size_t Registry::deliver_local(std::string_view channel,
                                    const std::shared_ptr<const PreparedMessage>& message) {
  return deliver(channel, message);
}

std::size_t Registry::deliver(std::string_view channel,
                              const std::shared_ptr<const PreparedMessage>& message) {
  if (!options_.resumable) {
    // Delivery happens under the shared lock, so one thread's publishes reach
    // each member in order while other threads publish at the same time.
    std::shared_lock lock(mutex_);
    const auto it = channels_.find(channel);
    return it == channels_.end() ? 0 : deliver_locked(it->second, message);
  }
  std::vector<std::shared_ptr<Subscriber>> lagging;
  std::size_t delivered = 0;
  bool found = false;
  {
    std::shared_lock lock(mutex_);
    const auto it = channels_.find(channel);
    found = it != channels_.end();
    if (found) {
      // The channel's own lock numbers its messages in the order they are
      // delivered; other channels publish meanwhile.
      std::lock_guard order(*it->second.order);
      delivered = deliver_numbered(it->second, message, lagging);
    }
  }
  if (!found) {
    // A channel never used: created (under the unique lock) so that the
    // message is numbered and kept for members that join with a position.
    std::unique_lock lock(mutex_);
    // Found or created: another thread may have created it meanwhile.
    const auto it = create_locked(channel);
    {
      std::lock_guard order(*it->second.order);
      delivered = deliver_numbered(it->second, message, lagging);
    }
    if (it->second.members.empty()) note_idle_locked(it);
  }
  tell_fell_behind(lagging);
  return delivered;
}

std::size_t Registry::deliver_locked(Channel& channel,
                                     const std::shared_ptr<const PreparedMessage>& message) {
  std::size_t delivered = 0;
  for (const Member& member : channel.members) {
    if (const std::shared_ptr<Subscriber> subscriber = member.subscriber.lock()) {
      if (subscriber->deliver(message)) ++delivered;
    }
  }
  return delivered;
}

std::size_t Registry::deliver_numbered(Channel& channel,
                                       const std::shared_ptr<const PreparedMessage>& message,
                                       std::vector<std::shared_ptr<Subscriber>>& lagging) {
  ChannelHistory& history = *channel.history;
  // One envelope for every resumable member and the history (which keeps
  // this very object, not a copy); plain members get the raw frame.
  const Position position = history.next_position();
  const auto envelope =
      text_message(message_envelope(position, message->kind(), message->payload()));
  history.append(envelope);
  std::size_t delivered = 0;
  for (Member& member : channel.members) {
    if (member.lagged) continue;
    const std::shared_ptr<Subscriber> subscriber = member.subscriber.lock();
    if (!subscriber) continue;
    if (subscriber->deliver(member.resumable ? envelope : message)) {
      ++delivered;
    } else if (member.resumable) {
      // It would miss this message and then hear the next: a hole nobody
      // sees. It hears nothing more here and is told to resume instead.
      member.lagged = true;
      lagging.push_back(subscriber);
    }
  }
  return delivered;
}

std::size_t Registry::deliver_positioned(std::string_view channel, Position position,
                                         MessageKind kind, ByteView payload) {
  std::vector<std::shared_ptr<Subscriber>> lagging;
  std::size_t delivered = 0;
  {
    std::shared_lock lock(mutex_);
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return 0;
    Channel& state = it->second;
    std::unique_lock<std::mutex> order;
    if (state.order) order = std::unique_lock(*state.order);
    // Each form is framed once, and only if some member needs it.
    std::shared_ptr<const PreparedMessage> raw;
    std::shared_ptr<const PreparedMessage> envelope;
    for (Member& member : state.members) {
      if (member.lagged) continue;
      const std::shared_ptr<Subscriber> subscriber = member.subscriber.lock();
      if (!subscriber) continue;
      if (!member.resumable) {
        if (!raw) raw = PreparedMessage::make(kind, payload);
        if (subscriber->deliver(raw)) ++delivered;
        continue;
      }
      if (!envelope) envelope = text_message(message_envelope(position, kind, payload));
      if (member.ticket != 0) {
        // Waiting for its replay: kept, bounded like a history (its count,
        // at most 1,000, at least 1) and by the replay budget (more could
        // not be sent at once anyway). Past either it resumes (1013) rather
        // than grow without bound while the broker is slow to answer.
        const std::size_t most =
            std::min<std::size_t>(std::max<std::size_t>(options_.history.max_messages, 1), 1000);
        const std::size_t size = envelope->frame().size();
        if (member.waiting.size() < most &&
            member.waiting_bytes + size <= options_.max_replay_bytes) {
          member.waiting.emplace_back(position, envelope);
          member.waiting_bytes += size;
        } else {
          member.lagged = true;
          lagging.push_back(subscriber);
        }
        continue;
      }
      // Already sent by its replay (the broker's reply and its pub/sub
      // messages travel on different connections, in either order).
      if (member.replayed_through && !stream_less(*member.replayed_through, position)) continue;
      // Any other position that does not follow the last one sent is out of
      // order (anyone may PUBLISH to Redis: one forged huge ID would move the
      // cursor past every real message). Skipping it silently would mute the
      // member for good; it is told to resume instead, and its resume from
      // the stream sorts it out (an ahead gap for a forged position).
      if (member.cursor && !stream_less(*member.cursor, position)) {
        member.lagged = true;
        lagging.push_back(subscriber);
        continue;
      }
      if (subscriber->deliver(envelope)) {
        member.cursor = position;
        ++delivered;
      } else {
        member.lagged = true;
        lagging.push_back(subscriber);
      }
    }
  }
  tell_fell_behind(lagging);
  return delivered;
}

void Registry::resume_answer(std::string_view channel, std::uint64_t ticket,
                             const BackplaneHistory* history) {
  std::shared_ptr<Subscriber> told;
  {
    std::unique_lock lock(mutex_);
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return;
    const auto member = std::find_if(it->second.members.begin(), it->second.members.end(),
                                     [&](const Member& m) { return m.ticket == ticket; });
    if (member == it->second.members.end()) return;  // it left meanwhile
    std::shared_ptr<Subscriber> subscriber = member->subscriber.lock();
    member->ticket = 0;
    const auto waiting = std::move(member->waiting);
    member->waiting.clear();
    member->waiting_bytes = 0;
    if (!subscriber) return;
    bool accepted = history != nullptr;
    const auto send = [&](const std::shared_ptr<const PreparedMessage>& message) {
      if (accepted && !subscriber->deliver(message)) accepted = false;
    };
    Position cursor;
    if (history != nullptr) {
      cursor = member->since.value_or(history->last);
      std::optional<HistoryGap> gap;
      if (member->since && history->gap) {
        // It goes on from just before the first message kept (or from the
        // newest, when none is): the broker does not say how many were lost.
        Position from = history->last;
        if (!history->entries.empty()) {
          const Position first = history->entries.front().position;
          from = first.sequence > 0 ? Position{first.epoch, first.sequence - 1}
                                    : Position{first.epoch - 1, UINT64_MAX};
        }
        gap = HistoryGap{*history->gap, std::nullopt, from};
        cursor = from;
      }
      // What it is due, oldest first: the broker's entries after the cursor,
      // then what arrived live while the broker answered, past its snapshot.
      struct Due {
        Position position;
        const BackplaneEntry* entry;  // null: `envelope` is set
        std::shared_ptr<const PreparedMessage> envelope;
      };
      std::vector<Due> due;
      Position reached = cursor;
      for (const BackplaneEntry& entry : history->entries) {
        if (!stream_less(reached, entry.position)) continue;
        due.push_back(Due{entry.position, &entry, nullptr});
        reached = entry.position;
      }
      for (const auto& [position, envelope] : waiting) {
        if (!stream_less(reached, position)) continue;
        due.push_back(Due{position, nullptr, envelope});
        reached = position;
      }
      // Only the newest part within the replay budget (see join_resumable):
      // envelopes are made newest first, and only for what is sent.
      std::size_t first = due.size();
      std::size_t bytes = 0;
      while (first > 0) {
        Due& candidate = due[first - 1];
        if (!candidate.envelope) {
          candidate.envelope = text_message(message_envelope(
              candidate.position, candidate.entry->kind, candidate.entry->payload));
        }
        const std::size_t size = candidate.envelope->frame().size();
        if (bytes + size > options_.max_replay_bytes) break;
        bytes += size;
        --first;
      }
      if (first > 0) {
        // The broker's own gaps do not say how many were lost: left unknown.
        if (!gap) gap = HistoryGap{GapReason::too_old, std::uint64_t{first}, Position{}};
        gap->resume_from = due[first - 1].position;
        cursor = gap->resume_from;
      }
      if (gap) send(text_message(gap_envelope(*gap)));
      for (std::size_t i = first; i < due.size(); ++i) {
        send(due[i].envelope);
        cursor = due[i].position;
      }
      send(text_message(live_envelope(cursor)));
    }
    member->cursor = cursor;
    member->replayed_through = cursor;
    if (!accepted) {
      member->lagged = true;
      told = std::move(subscriber);
    }
  }
  if (told) told->fell_behind();
}

void Registry::backplane_interrupted() {
  std::vector<std::shared_ptr<Subscriber>> lagging;
  {
    std::unique_lock lock(mutex_);
    for (auto& [name, channel] : channels_) {
      for (Member& member : channel.members) {
        if (!member.resumable || member.lagged) continue;
        member.lagged = true;
        if (auto subscriber = member.subscriber.lock()) lagging.push_back(std::move(subscriber));
      }
    }
  }
  tell_fell_behind(lagging);
}

void Registry::set_backplane(Backplane* backplane) {
  std::unique_lock lock(mutex_);
  backplane_ = backplane;
  if (backplane_ == nullptr) return;
  for (const auto& [name, channel] : channels_) {
    if (!channel.members.empty()) backplane_->subscribe(name);
  }
}

std::size_t Registry::member_count(std::string_view channel) const {
  std::shared_lock lock(mutex_);
  const auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.members.size();
}

std::vector<std::string> Registry::channel_names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> names;
  names.reserve(channels_.size());
  for (const auto& [name, channel] : channels_) {
    if (!channel.members.empty()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<Position> Registry::head(std::string_view channel) const {
  std::shared_lock lock(mutex_);
  const auto it = channels_.find(channel);
  if (it == channels_.end() || !it->second.history) return std::nullopt;
  std::lock_guard order(*it->second.order);
  return it->second.history->head();
}

}  // namespace ws::channels
