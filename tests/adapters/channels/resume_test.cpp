// Resumable channels (Registry with RegistryOptions::resumable, the envelope
// of ws/channels/resume.hpp). The rule under test: a resumable member's
// stream, across any number of rejoins with the last position it saw, is
// every message published, in order, each once, except where it was handed
// a gap envelope first; and a member that cannot take a message is never
// handed a later one (it is told to resume instead).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/channels/recording_subscriber.hpp"
#include "ws/channels/registry.hpp"
#include "ws/channels/resume.hpp"

namespace ws::channels {
namespace {

using test::RecordingSubscriber;

// A member that accepts `capacity` messages and then refuses (a slow
// subscriber), and counts fell_behind().
class LimitedSubscriber final : public Subscriber {
 public:
  explicit LimitedSubscriber(std::size_t limit = SIZE_MAX) : capacity(limit) {}
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override {
    std::lock_guard lock(mutex);
    if (received.size() >= capacity) return false;
    received.emplace_back(as_text(message->payload()));
    return true;
  }
  void fell_behind() override { fell_behind_calls.fetch_add(1); }
  std::vector<std::string> texts() const {
    std::lock_guard lock(mutex);
    return received;
  }
  mutable std::mutex mutex;
  std::size_t capacity;
  std::vector<std::string> received;
  std::atomic<int> fell_behind_calls{0};
};

// The value of "key":"..." in an envelope, or nullopt (the tests' envelopes
// have no escaped quotes in the fields they read).
std::optional<std::string> field(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  const std::size_t at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const std::size_t start = at + needle.size();
  return json.substr(start, json.find('"', start) - start);
}

Position pos_of(const std::string& json) { return *parse_position(*field(json, "pos")); }

Registry resumable_registry(HistoryLimits limits = {}) {
  RegistryOptions options{true, limits};
  // A history may not hold more than one replay carries.
  options.max_replay_bytes = std::max(options.max_replay_bytes, limits.max_bytes);
  return Registry(options);
}

void publish_texts(Registry& registry, const std::string& channel, int from, int to) {
  for (int i = from; i <= to; ++i) {
    registry.publish(channel, MessageKind::text, as_bytes("m" + std::to_string(i)));
  }
}

// The data of the message envelopes among `texts`, in order.
std::vector<std::string> data_of(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  for (const std::string& text : texts) {
    if (auto data = field(text, "data")) out.push_back(*data);
  }
  return out;
}

// ---- The envelope ----

TEST(ResumeEnvelope, MessageCarriesPositionAndEscapedText) {
  EXPECT_EQ(message_envelope({7, 3}, MessageKind::text, as_bytes("a\"b\\c\n\x01é")),
            "{\"pos\":\"7-3\",\"data\":\"a\\\"b\\\\c\\u000a\\u0001é\"}");
}

TEST(ResumeEnvelope, BinaryIsBase64) {
  EXPECT_EQ(message_envelope({1, 2}, MessageKind::binary, as_bytes("hi")),
            "{\"pos\":\"1-2\",\"data\":\"aGk=\",\"binary\":true}");
}

TEST(ResumeEnvelope, GapSaysWhyHowManyAndWhereItGoesOn) {
  EXPECT_EQ(gap_envelope(HistoryGap{GapReason::too_old, 12, {5, 20}}),
            "{\"gap\":{\"reason\":\"too_old\",\"missed\":12},\"pos\":\"5-20\"}");
  EXPECT_EQ(gap_envelope(HistoryGap{GapReason::other_epoch, std::nullopt, {5, 0}}),
            "{\"gap\":{\"reason\":\"other_epoch\",\"missed\":null},\"pos\":\"5-0\"}");
  EXPECT_EQ(live_envelope({9, 4}), "{\"pos\":\"9-4\",\"live\":true}");
}

TEST(ResumeEnvelope, SinceIsReadFromTheQuery) {
  EXPECT_EQ(since_parameter("/channel/a?since=7-3"), std::optional<std::string_view>("7-3"));
  EXPECT_EQ(since_parameter("/channel/a?x=1&since=7-3&y"), std::optional<std::string_view>("7-3"));
  EXPECT_EQ(since_parameter("/channel/a?sinc=1&xsince=2"), std::nullopt);
  EXPECT_EQ(since_parameter("/channel/a"), std::nullopt);
  EXPECT_EQ(since_parameter("/channel/a?since"), std::optional<std::string_view>(""));
}

// ---- Joining with a position ----

TEST(RegistryResume, JoinSinceReplaysWhatFollowsThenGoesLive) {
  Registry registry = resumable_registry();
  auto watcher = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", watcher, std::nullopt);
  publish_texts(registry, "c", 1, 5);
  const std::vector<std::string> first = watcher->texts();
  ASSERT_EQ(first.size(), 6U);  // the live marker, then m1..m5
  const Position after_two = pos_of(first[2]);
  EXPECT_EQ(after_two.sequence, 2U);

  auto back = std::make_shared<LimitedSubscriber>();
  const ResumeResult result = registry.join_resumable("c", back, after_two);
  EXPECT_TRUE(result.joined);
  EXPECT_EQ(result.replayed, 3U);
  EXPECT_FALSE(result.gap);
  publish_texts(registry, "c", 6, 6);
  const std::vector<std::string> texts = back->texts();
  EXPECT_EQ(data_of(texts), (std::vector<std::string>{"m3", "m4", "m5", "m6"}));
  ASSERT_EQ(texts.size(), 5U);
  EXPECT_EQ(texts[3], live_envelope(Position{after_two.epoch, 5}));
  EXPECT_EQ(pos_of(texts[4]), (Position{after_two.epoch, 6}));
  // The replay hands out the very envelopes live members got.
  EXPECT_EQ(texts[0], first[3]);
}

TEST(RegistryResume, JoinWithoutSinceStartsAtTheNewestMessage) {
  Registry registry = resumable_registry();
  publish_texts(registry, "c", 1, 3);  // nobody listens: kept anyway
  auto member = std::make_shared<LimitedSubscriber>();
  const ResumeResult result = registry.join_resumable("c", member, std::nullopt);
  EXPECT_EQ(result.replayed, 0U);
  EXPECT_EQ(result.live_from.sequence, 3U);
  publish_texts(registry, "c", 4, 4);
  ASSERT_EQ(member->texts().size(), 2U);
  EXPECT_EQ(data_of(member->texts()), std::vector<std::string>{"m4"});
  // Joining from the start of the epoch gets everything kept.
  auto everything = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", everything, Position{result.live_from.epoch, 0});
  EXPECT_EQ(data_of(everything->texts()), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
}

TEST(RegistryResume, UpToDateJoinReplaysNothing) {
  Registry registry = resumable_registry();
  publish_texts(registry, "c", 1, 2);
  const Position head = *registry.head("c");
  auto member = std::make_shared<LimitedSubscriber>();
  const ResumeResult result = registry.join_resumable("c", member, head);
  EXPECT_EQ(result.replayed, 0U);
  EXPECT_FALSE(result.gap);
  EXPECT_EQ(member->texts(), std::vector<std::string>{live_envelope(head)});
}

TEST(RegistryResume, AnotherEpochIsAGapOfUnknownSizeThenEverythingKept) {
  Registry registry = resumable_registry();
  publish_texts(registry, "c", 1, 2);
  const Position head = *registry.head("c");
  auto member = std::make_shared<LimitedSubscriber>();
  const ResumeResult result = registry.join_resumable("c", member, Position{head.epoch + 1, 1});
  ASSERT_TRUE(result.gap);
  EXPECT_EQ(result.gap->reason, GapReason::other_epoch);
  const std::vector<std::string> texts = member->texts();
  ASSERT_EQ(texts.size(), 4U);
  EXPECT_EQ(texts[0], gap_envelope(HistoryGap{GapReason::other_epoch, std::nullopt,
                                              Position{head.epoch, 0}}));
  EXPECT_EQ(data_of(texts), (std::vector<std::string>{"m1", "m2"}));
}

TEST(RegistryResume, OlderThanTheHistoryIsAGapOfKnownSize) {
  Registry registry = resumable_registry(HistoryLimits{3, 1024 * 1024});
  publish_texts(registry, "c", 1, 10);  // keeps m8..m10
  const std::uint64_t epoch = registry.head("c")->epoch;
  auto member = std::make_shared<LimitedSubscriber>();
  const ResumeResult result = registry.join_resumable("c", member, Position{epoch, 2});
  ASSERT_TRUE(result.gap);
  EXPECT_EQ(result.gap->reason, GapReason::too_old);
  EXPECT_EQ(result.gap->missed, std::optional<std::uint64_t>(5));  // m3..m7
  const std::vector<std::string> texts = member->texts();
  EXPECT_EQ(texts.front(), "{\"gap\":{\"reason\":\"too_old\",\"missed\":5},\"pos\":\"" +
                               to_string(Position{epoch, 7}) + "\"}");
  EXPECT_EQ(data_of(texts), (std::vector<std::string>{"m8", "m9", "m10"}));
}

TEST(RegistryResume, AheadOfTheHistoryIsAGap) {
  Registry registry = resumable_registry();
  publish_texts(registry, "c", 1, 2);
  const std::uint64_t epoch = registry.head("c")->epoch;
  auto member = std::make_shared<LimitedSubscriber>();
  const ResumeResult result = registry.join_resumable("c", member, Position{epoch, 99});
  ASSERT_TRUE(result.gap);
  EXPECT_EQ(result.gap->reason, GapReason::ahead);
  EXPECT_EQ(data_of(member->texts()), (std::vector<std::string>{"m1", "m2"}));
}

TEST(RegistryResume, TheHistoryOutlivesTheLastMember) {
  Registry registry = resumable_registry();
  auto member = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", member, std::nullopt);
  publish_texts(registry, "c", 1, 1);
  const Position seen = pos_of(member->texts().back());
  registry.leave_all(member.get());
  EXPECT_TRUE(registry.channel_names().empty());
  publish_texts(registry, "c", 2, 3);
  auto again = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", again, seen);
  EXPECT_EQ(data_of(again->texts()), (std::vector<std::string>{"m2", "m3"}));
}

TEST(RegistryResume, IdleHistoriesAreBoundedOldestForgottenFirst) {
  RegistryOptions options{true, {}};
  options.max_idle_channels = 2;
  Registry registry(options);
  auto member = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("a", member, std::nullopt);
  publish_texts(registry, "a", 1, 1);
  const Position a_seen = *registry.head("a");
  registry.leave_all(member.get());                    // a: idle
  publish_texts(registry, "b", 1, 1);                  // b: idle, never had members
  registry.join_resumable("c", member, std::nullopt);  // c: has a member, not idle
  publish_texts(registry, "d", 1, 1);                  // d: idle; a, the oldest, is forgotten
  EXPECT_EQ(registry.head("a"), std::nullopt);
  EXPECT_TRUE(registry.head("b"));
  EXPECT_TRUE(registry.head("c"));
  EXPECT_TRUE(registry.head("d"));
  auto back = std::make_shared<LimitedSubscriber>();
  const ResumeResult result = registry.join_resumable("a", back, a_seen);
  ASSERT_TRUE(result.gap);
  EXPECT_EQ(result.gap->reason, GapReason::other_epoch);  // told, not given a new stream as its own
}

// ---- Slow members ----

TEST(RegistryResume, ASlowResumableMemberIsToldAndHearsNothingMore) {
  Registry registry = resumable_registry();
  auto slow = std::make_shared<LimitedSubscriber>(3);  // the live marker and two messages
  registry.join_resumable("c", slow, std::nullopt);
  publish_texts(registry, "c", 1, 3);
  EXPECT_EQ(slow->fell_behind_calls.load(), 1);
  {
    std::lock_guard lock(slow->mutex);
    slow->capacity = SIZE_MAX;  // it would accept again: it must still not hear m4
  }
  publish_texts(registry, "c", 4, 4);
  EXPECT_EQ(data_of(slow->texts()), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(slow->fell_behind_calls.load(), 1);
}

TEST(RegistryResume, AReplayTooLargeForTheMemberTellsItToo) {
  Registry registry = resumable_registry();
  publish_texts(registry, "c", 1, 5);
  auto slow = std::make_shared<LimitedSubscriber>(2);
  const ResumeResult result =
      registry.join_resumable("c", slow, Position{registry.head("c")->epoch, 0});
  EXPECT_EQ(result.replayed, 2U);
  EXPECT_EQ(slow->fell_behind_calls.load(), 1);
  publish_texts(registry, "c", 6, 6);
  EXPECT_EQ(data_of(slow->texts()), (std::vector<std::string>{"m1", "m2"}));
}

// A member that refuses once `limit` bytes of frames are queued (a Session's
// high-water mark), and counts fell_behind().
class ByteLimitedSubscriber final : public Subscriber {
 public:
  explicit ByteLimitedSubscriber(std::size_t limit) : limit_(limit) {}
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override {
    if (queued_ + message->frame().size() > limit_) return false;
    queued_ += message->frame().size();
    received.emplace_back(as_text(message->payload()));
    return true;
  }
  void fell_behind() override { ++fell_behind_calls; }
  std::vector<std::string> received;
  int fell_behind_calls = 0;

 private:
  std::size_t limit_;
  std::size_t queued_ = 0;
};

TEST(RegistryResume, AHistoryLargerThanTheReplayBudgetIsRefused) {
  RegistryOptions options;
  options.resumable = true;
  options.history.max_bytes = options.max_replay_bytes + 1;
  EXPECT_THROW(Registry{options}, std::invalid_argument);
  options.resumable = false;  // no history: nothing to check
  EXPECT_NO_THROW(Registry{options});
}

TEST(RegistryResume, PlainMembersOfAResumableRegistryKeepRawPayloads) {
  Registry registry = resumable_registry();
  auto plain = std::make_shared<RecordingSubscriber>();
  auto resuming = std::make_shared<LimitedSubscriber>();
  registry.join("c", plain);
  registry.join_resumable("c", resuming, std::nullopt);
  const auto message = PreparedMessage::make(MessageKind::text, as_bytes("raw"));
  EXPECT_EQ(registry.publish("c", message), 2U);
  ASSERT_EQ(plain->received.size(), 1U);
  EXPECT_EQ(plain->received[0].get(), message.get());  // the same frame, not re-made
  EXPECT_EQ(data_of(resuming->texts()), std::vector<std::string>{"raw"});
}

TEST(RegistryResume, APlainRegistryRefusesResumableJoins) {
  Registry registry;
  EXPECT_FALSE(registry.resumable());
  auto member = std::make_shared<LimitedSubscriber>();
  EXPECT_THROW(registry.join_resumable("c", member, std::nullopt), std::logic_error);
  EXPECT_EQ(registry.head("c"), std::nullopt);
}

class CountingBackplane final : public Backplane {
 public:
  PublishResult publish(std::string_view, MessageKind, ByteView) override { return {}; }
  void subscribe(std::string_view) override { ++subscribes; }
  void unsubscribe(std::string_view) override { ++unsubscribes; }
  int subscribes = 0;
  int unsubscribes = 0;
};

// Unsubscribed from the broker, a node would not hear what other nodes
// publish: its numbering cannot go on as if nothing happened.
TEST(RegistryResume, WithABackplaneLosingTheLastMemberStartsANewEpoch) {
  Registry registry = resumable_registry();
  CountingBackplane backplane;
  registry.set_backplane(&backplane);
  auto member = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", member, std::nullopt);
  registry.deliver_local("c", PreparedMessage::make(MessageKind::text, as_bytes("m1")));
  const Position seen = pos_of(member->texts().back());
  registry.leave_all(member.get());
  EXPECT_EQ(backplane.unsubscribes, 1);
  auto again = std::make_shared<LimitedSubscriber>();
  const ResumeResult result = registry.join_resumable("c", again, seen);
  EXPECT_EQ(backplane.subscribes, 2);
  ASSERT_TRUE(result.gap);
  EXPECT_EQ(result.gap->reason, GapReason::other_epoch);
  registry.set_backplane(nullptr);
}

// A broker that numbers messages (the Redis backplane in streams mode),
// faked: the test plays its answers and its pub/sub deliveries.
class PositioningBackplane final : public Backplane {
 public:
  PublishResult publish(std::string_view, MessageKind, ByteView) override { return {}; }
  void subscribe(std::string_view) override {}
  void unsubscribe(std::string_view) override {}
  bool assigns_positions() const noexcept override { return true; }
  void fetch_since(std::string_view channel, std::uint64_t ticket,
                   std::optional<Position> since) override {
    fetches.push_back({std::string(channel), ticket, since});
  }
  struct Fetch {
    std::string channel;
    std::uint64_t ticket;
    std::optional<Position> since;
  };
  std::vector<Fetch> fetches;
};

BackplaneHistory broker_history(Position last, std::vector<std::pair<Position, const char*>> kept,
                                std::optional<GapReason> gap = std::nullopt) {
  BackplaneHistory history;
  history.last = last;
  history.gap = gap;
  for (const auto& [position, text] : kept) {
    history.entries.push_back(BackplaneEntry{position, MessageKind::text, as_bytes(text)});
  }
  return history;
}

TEST(RegistryResume, WithAPositioningBackplaneReplayAndLiveMeetWithoutLossOrDuplicate) {
  Registry registry = resumable_registry();
  PositioningBackplane backplane;
  registry.set_backplane(&backplane);
  auto member = std::make_shared<LimitedSubscriber>();
  auto plain = std::make_shared<RecordingSubscriber>();
  registry.join("c", plain);
  EXPECT_TRUE(registry.join_resumable("c", member, Position{100, 1}).joined);
  ASSERT_EQ(backplane.fetches.size(), 1U);
  EXPECT_EQ(backplane.fetches[0].since, std::optional<Position>(Position{100, 1}));
  // Live messages arrive before the answer: one the snapshot has, one after it.
  registry.deliver_positioned("c", {100, 3}, MessageKind::text, as_bytes("m3"));
  registry.deliver_positioned("c", {101, 0}, MessageKind::text, as_bytes("m4"));
  EXPECT_TRUE(member->texts().empty());
  EXPECT_EQ(plain->texts(), (std::vector<std::string>{"m3", "m4"}));
  const BackplaneHistory history = broker_history({100, 3}, {{{100, 2}, "m2"}, {{100, 3}, "m3"}});
  registry.resume_answer("c", backplane.fetches[0].ticket, &history);
  // Pub/sub may still bring one the replay covered; then the next one.
  registry.deliver_positioned("c", {101, 0}, MessageKind::text, as_bytes("m4"));
  registry.deliver_positioned("c", {101, 1}, MessageKind::text, as_bytes("m5"));
  const std::vector<std::string> texts = member->texts();
  EXPECT_EQ(data_of(texts), (std::vector<std::string>{"m2", "m3", "m4", "m5"}));
  ASSERT_EQ(texts.size(), 5U);
  EXPECT_EQ(texts[3], live_envelope(Position{101, 0}));
  EXPECT_EQ(pos_of(texts[4]), (Position{101, 1}));
  registry.set_backplane(nullptr);
}

TEST(RegistryResume, WithAPositioningBackplaneATrimmedPositionIsAGap) {
  Registry registry = resumable_registry();
  PositioningBackplane backplane;
  registry.set_backplane(&backplane);
  auto member = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", member, Position{5, 5});
  const BackplaneHistory history =
      broker_history({200, 1}, {{{200, 0}, "x"}, {{200, 1}, "y"}}, GapReason::too_old);
  registry.resume_answer("c", backplane.fetches.at(0).ticket, &history);
  const std::vector<std::string> texts = member->texts();
  ASSERT_FALSE(texts.empty());
  // It goes on from just before the first one kept.
  EXPECT_EQ(texts[0],
            gap_envelope(HistoryGap{GapReason::too_old, std::nullopt, Position{199, UINT64_MAX}}));
  EXPECT_EQ(data_of(texts), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(texts.back(), live_envelope(Position{200, 1}));
  registry.set_backplane(nullptr);
}

TEST(RegistryResume, WithAPositioningBackplaneNoAnswerMeansResumeLater) {
  Registry registry = resumable_registry();
  PositioningBackplane backplane;
  registry.set_backplane(&backplane);
  auto member = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", member, std::nullopt);
  registry.resume_answer("c", backplane.fetches.at(0).ticket, nullptr);
  EXPECT_EQ(member->fell_behind_calls.load(), 1);
  registry.deliver_positioned("c", {1, 1}, MessageKind::text, as_bytes("late"));
  EXPECT_TRUE(member->texts().empty());
  // A live member, when the backplane's subscription is lost, is told too.
  auto live = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", live, std::nullopt);
  const BackplaneHistory empty = broker_history({0, 0}, {});
  registry.resume_answer("c", backplane.fetches.at(1).ticket, &empty);
  EXPECT_EQ(live->texts(), std::vector<std::string>{live_envelope(Position{0, 0})});
  registry.backplane_interrupted();
  EXPECT_EQ(live->fell_behind_calls.load(), 1);
  registry.deliver_positioned("c", {1, 2}, MessageKind::text, as_bytes("late"));
  EXPECT_EQ(live->texts().size(), 1U);
  registry.set_backplane(nullptr);
}

// A Redis stream keeps max_messages entries of any size. Before the replay
// budget the whole catch-up was queued: past the member's mark it was told
// to resume (1013), came back with the same position and was refused again,
// forever. Now it gets a gap counting what was left out, the newest part
// that fits, and goes live.
TEST(RegistryResume, AReplayPastTheBudgetIsAGapAndTheNewestPartNotACloseLoop) {
  RegistryOptions options;
  options.resumable = true;
  options.history = HistoryLimits{1000, 1024};
  options.max_replay_bytes = 1024;
  Registry registry(options);
  PositioningBackplane backplane;
  registry.set_backplane(&backplane);
  const std::string payload(100, 'x');
  std::vector<std::string> texts;
  texts.reserve(20);
  std::vector<std::pair<Position, const char*>> kept;
  for (std::uint64_t i = 1; i <= 20; ++i) {
    texts.push_back(payload + std::to_string(i));
  }
  for (std::uint64_t i = 1; i <= 20; ++i) kept.emplace_back(Position{50, i}, texts[i - 1].c_str());
  auto member = std::make_shared<ByteLimitedSubscriber>(2048);  // < 20 * ~130 bytes
  registry.join_resumable("c", member, Position{50, 0});
  const BackplaneHistory history = broker_history({50, 20}, kept);
  registry.resume_answer("c", backplane.fetches.at(0).ticket, &history);
  EXPECT_EQ(member->fell_behind_calls, 0);
  const std::vector<std::string>& got = member->received;
  ASSERT_GE(got.size(), 3U);
  const std::vector<std::string> data = data_of(got);
  ASSERT_FALSE(data.empty());
  const std::size_t left_out = 20 - data.size();
  ASSERT_GT(left_out, 0U);
  EXPECT_EQ(got.front(),
            gap_envelope(HistoryGap{GapReason::too_old, left_out, Position{50, left_out}}));
  for (std::size_t i = 0; i < data.size(); ++i) EXPECT_EQ(data[i], texts[left_out + i]);
  EXPECT_EQ(got.back(), live_envelope(Position{50, 20}));
  registry.set_backplane(nullptr);
}

// Anyone may PUBLISH to Redis. Before the fix every position not after the
// member's cursor was skipped as "already replayed": one forged huge ID made
// the member skip every real message after it, silently and for good. Only
// what its replay covered is skipped now; anything else out of order makes
// it lag (1013), and its resume from the stream sorts it out.
TEST(RegistryResume, WithAPositioningBackplaneAnOutOfOrderPositionMakesItLagNotGoSilent) {
  Registry registry = resumable_registry();
  PositioningBackplane backplane;
  registry.set_backplane(&backplane);
  auto member = std::make_shared<LimitedSubscriber>();
  registry.join_resumable("c", member, Position{10, 1});
  const BackplaneHistory history = broker_history({10, 3}, {{{10, 2}, "m2"}, {{10, 3}, "m3"}});
  registry.resume_answer("c", backplane.fetches.at(0).ticket, &history);
  // A live copy of what the replay covered: skipped, not a lag.
  registry.deliver_positioned("c", {10, 3}, MessageKind::text, as_bytes("m3"));
  registry.deliver_positioned("c", {10, 4}, MessageKind::text, as_bytes("m4"));
  EXPECT_EQ(member->fell_behind_calls.load(), 0);
  registry.deliver_positioned("c", {9007199254740000, 0}, MessageKind::text, as_bytes("forged"));
  registry.deliver_positioned("c", {10, 5}, MessageKind::text, as_bytes("m5"));
  EXPECT_EQ(member->fell_behind_calls.load(), 1);
  registry.deliver_positioned("c", {10, 6}, MessageKind::text, as_bytes("m6"));
  EXPECT_EQ(data_of(member->texts()), (std::vector<std::string>{"m2", "m3", "m4", "forged"}));
  EXPECT_EQ(member->fell_behind_calls.load(), 1);
  registry.set_backplane(nullptr);
}

// While the broker answers, live messages wait. The bound was a floor
// (max(history.max_messages, 1000)) with no byte limit: now at most
// min(history.max_messages, 1000) messages and max_replay_bytes, past which
// the member resumes (1013) instead of growing without bound.
TEST(RegistryResume, WithAPositioningBackplaneWaitingMessagesAreBoundedByCountAndBytes) {
  {
    Registry registry = resumable_registry(HistoryLimits{5, 1024 * 1024});
    PositioningBackplane backplane;
    registry.set_backplane(&backplane);
    auto member = std::make_shared<LimitedSubscriber>();
    registry.join_resumable("c", member, Position{10, 0});
    for (std::uint64_t i = 1; i <= 5; ++i) {
      registry.deliver_positioned("c", {10, i}, MessageKind::text, as_bytes("m"));
    }
    EXPECT_EQ(member->fell_behind_calls.load(), 0);
    registry.deliver_positioned("c", {10, 6}, MessageKind::text, as_bytes("m"));
    EXPECT_EQ(member->fell_behind_calls.load(), 1);
    registry.set_backplane(nullptr);
  }
  {
    RegistryOptions options{true, HistoryLimits{1000, 1024}};
    options.max_replay_bytes = 1024;
    Registry registry(options);
    PositioningBackplane backplane;
    registry.set_backplane(&backplane);
    auto member = std::make_shared<LimitedSubscriber>();
    registry.join_resumable("c", member, Position{10, 0});
    const std::string payload(200, 'x');
    for (std::uint64_t i = 1; i <= 4; ++i) {
      registry.deliver_positioned("c", {10, i}, MessageKind::text, as_bytes(payload));
    }
    EXPECT_EQ(member->fell_behind_calls.load(), 0);
    registry.deliver_positioned("c", {10, 5}, MessageKind::text, as_bytes(payload));
    EXPECT_EQ(member->fell_behind_calls.load(), 1);
    registry.set_backplane(nullptr);
  }
}

// Joins with a position race publishers on other threads: every message
// after the position arrives once, in order (the registry's lock orders the
// replay against delivery).
TEST(RegistryResumeThreads, JoinsRacingPublishersLoseAndDoubleNothing) {
  Registry registry = resumable_registry(HistoryLimits{100000, 64 * 1024 * 1024});
  constexpr int total = 3000;
  std::thread publisher([&] { publish_texts(registry, "c", 1, total); });
  struct Joined {
    std::shared_ptr<LimitedSubscriber> member;
    std::optional<Position> since;
  };
  std::vector<Joined> joined;
  while (joined.size() < 20) {
    auto member = std::make_shared<LimitedSubscriber>();
    const std::optional<Position> head = registry.head("c");
    const std::optional<Position> since =
        head ? std::optional<Position>(Position{head->epoch, head->sequence / 2}) : std::nullopt;
    registry.join_resumable("c", member, since);
    joined.push_back(Joined{member, since});
    std::this_thread::yield();
  }
  publisher.join();
  for (const auto& [member, since] : joined) {
    const std::vector<std::string> texts = member->texts();
    // Everything is kept: never a gap, always a live marker.
    for (const std::string& text : texts) ASSERT_EQ(text.find("\"gap\""), std::string::npos);
    const auto live = std::find_if(texts.begin(), texts.end(), [](const std::string& text) {
      return text.find("\"live\":true") != std::string::npos;
    });
    ASSERT_NE(live, texts.end());
    // The first message follows the position it joined with (the replay
    // starts there) or, joined without one, the live marker's.
    const std::uint64_t after = since ? since->sequence : pos_of(*live).sequence;
    const std::vector<std::string> data = data_of(texts);
    if (after == static_cast<std::uint64_t>(total)) {
      EXPECT_TRUE(data.empty());  // nothing was published after it
      continue;
    }
    ASSERT_FALSE(data.empty()) << "joined after " << after;
    for (std::size_t i = 0; i < data.size(); ++i) {
      ASSERT_EQ(data[i], "m" + std::to_string(after + 1 + i));
    }
    EXPECT_EQ(data.back(), "m" + std::to_string(total));
  }
}

// ---- The property ----

// Any interleaving of publishes, leaves, joins with the last position seen
// (or none), slow members and trims (small random limits) gives each client
// every message in order and once, except across a gap envelope, after
// which it goes on at a later message (never an earlier one).
RC_GTEST_PROP(RegistryResume, EveryClientSeesAnInOrderDuplicateFreeStreamOrAGap, ()) {
  const HistoryLimits limits{*rc::gen::inRange<std::size_t>(0, 8),
                             *rc::gen::inRange<std::size_t>(0, 600)};
  Registry registry(RegistryOptions{true, limits});
  struct Client {
    std::shared_ptr<LimitedSubscriber> member;
    std::size_t read = 0;          // texts of `member` checked so far
    std::optional<Position> last;  // the last position seen
    std::int64_t reached = -1;     // sequence of what it has reached; -1: nothing yet
    bool gap = false;              // a gap since the last message: may skip ahead
    bool joined = false;
  };
  std::vector<Client> clients(*rc::gen::inRange<std::size_t>(1, 4));
  int published = 0;
  const auto check = [&](Client& client) {
    const std::vector<std::string> texts = client.member->texts();
    for (; client.read < texts.size(); ++client.read) {
      const std::string& text = texts[client.read];
      client.last = pos_of(text);
      if (text.find("\"gap\":") != std::string::npos) {
        client.gap = true;
        continue;
      }
      // Message m<i> has sequence i + 1; a live marker's is that of the last
      // message before the live ones.
      const auto sequence = static_cast<std::int64_t>(client.last->sequence);
      const std::optional<std::string> data = field(text, "data");
      if (data) {
        RC_ASSERT(std::stoll(data->substr(1)) + 1 == sequence);
      } else {
        RC_ASSERT(text == live_envelope(*client.last));
      }
      if (client.reached >= 0) {
        if (!client.gap) RC_ASSERT(sequence == client.reached + (data ? 1 : 0));
        RC_ASSERT(sequence >= client.reached + (data ? 1 : 0));  // never a duplicate
      }
      client.reached = sequence;
      client.gap = false;
    }
  };
  const int steps = *rc::gen::inRange(1, 60);
  for (int step = 0; step < steps; ++step) {
    const int action = *rc::gen::inRange(0, 4);
    Client& client = clients[*rc::gen::inRange<std::size_t>(0, clients.size())];
    if (action <= 1) {
      registry.publish("c", MessageKind::text, as_bytes("m" + std::to_string(published++)));
    } else if (action == 2 && !client.joined) {
      // A fresh connection each time; slow ones refuse after a few messages.
      const std::size_t capacity = *rc::gen::inRange<std::size_t>(0, 2) == 0
                                       ? *rc::gen::inRange<std::size_t>(0, 6)
                                       : SIZE_MAX;
      client.member = std::make_shared<LimitedSubscriber>(capacity);
      client.read = 0;
      registry.join_resumable("c", client.member, client.last);
      client.joined = true;
    } else if (client.joined) {
      check(client);
      registry.leave_all(client.member.get());
      client.joined = false;
    }
    for (Client& each : clients) {
      if (each.member) check(each);
      // A member told to resume leaves, as its connection would close.
      if (each.joined && each.member->fell_behind_calls.load() > 0) {
        registry.leave_all(each.member.get());
        each.joined = false;
      }
    }
  }
  // Everyone comes back one last time and catches up to the end, or is told.
  for (Client& client : clients) {
    if (client.joined) registry.leave_all(client.member.get());
    client.member = std::make_shared<LimitedSubscriber>();
    client.read = 0;
    if (!client.last) continue;
    registry.join_resumable("c", client.member, client.last);
    check(client);
    RC_ASSERT(client.reached == published);
  }
}

}  // namespace
}  // namespace ws::channels
