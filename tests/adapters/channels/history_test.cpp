// The history of a resumable channel: positions, their text form, bounded
// keeping, and what a subscriber coming back with a position receives.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ws/channels/history.hpp"
#include "ws/frame/frame_header.hpp"

namespace ws::channels {
namespace {

constexpr std::uint64_t kEpoch = 7302915834422;
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

// A payload under 126 bytes is framed with a 2-byte header.
std::shared_ptr<const PreparedMessage> message_of(std::size_t payload_size) {
  return PreparedMessage::make(MessageKind::binary, std::vector<std::byte>(payload_size));
}

std::vector<std::uint64_t> sequences_of(const HistoryRange& range) {
  std::vector<std::uint64_t> sequences;
  for (const HistoryEntry& entry : range) sequences.push_back(entry.position.sequence);
  return sequences;
}

// The replayed range, failing the test if since() answered with a gap.
HistoryRange range_of(const SinceResult& result) {
  const auto* range = std::get_if<HistoryRange>(&result);
  EXPECT_NE(range, nullptr) << "expected messages, got a gap";
  return range == nullptr ? HistoryRange() : *range;
}

HistoryGap gap_of(const SinceResult& result) {
  const auto* gap = std::get_if<HistoryGap>(&result);
  EXPECT_NE(gap, nullptr) << "expected a gap, got messages";
  return gap == nullptr ? HistoryGap{} : *gap;
}

// ---- Position ----

TEST(Position, OrdersBySequenceWithinAnEpoch) {
  EXPECT_LT((Position{5, 1}), (Position{5, 2}));
  EXPECT_GT((Position{5, 10}), (Position{5, 9}));
  EXPECT_EQ((Position{5, 3}), (Position{5, 3}));
}

TEST(Position, PositionsOfDifferentEpochsAreUnordered) {
  const Position a{5, 1};
  const Position b{6, 100};
  EXPECT_EQ(a <=> b, std::partial_ordering::unordered);
  EXPECT_FALSE(a < b);
  EXPECT_FALSE(a > b);
  EXPECT_FALSE(a == b);
  EXPECT_FALSE((Position{5, 1}) == (Position{6, 1}));
}

TEST(Position, TextIsEpochDashSequenceInDecimal) {
  EXPECT_EQ(to_string(Position{0, 0}), "0-0");
  EXPECT_EQ(to_string(Position{kEpoch, 15}), "7302915834422-15");
  EXPECT_EQ(to_string(Position{kMax, kMax}), "18446744073709551615-18446744073709551615");
  EXPECT_EQ(to_string(Position{kMax, kMax}).size(), position_text_max);
}

TEST(Position, ParsesWhatItWrites) {
  EXPECT_EQ(parse_position("0-0"), (Position{0, 0}));
  EXPECT_EQ(parse_position("7302915834422-15"), (Position{kEpoch, 15}));
  // A Redis stream entry ID reads as it is.
  EXPECT_EQ(parse_position("1526919030474-55"), (Position{1526919030474, 55}));
  EXPECT_EQ(parse_position("18446744073709551615-18446744073709551615"), (Position{kMax, kMax}));
}

TEST(Position, RejectsMalformedText) {
  for (const char* text : {
           "",
           "-",
           "15",                                  // no dash
           "1-",                                  // empty sequence
           "-1",                                  // empty epoch
           "1--1",                                // two dashes
           "1-2-3",                               // three parts
           "-1-1",                                // leading dash
           "01-1",                                // leading zero
           "1-01",                                // leading zero
           "00-0",                                // leading zero
           "+1-1",                                // sign
           "1-+1",                                // sign
           " 1-1",                                // space
           "1-1 ",                                // space
           "1 -1",                                // space
           "1-1\n",                               // newline
           "a-1",                                 // not a digit
           "1-1a",                                // trailing garbage
           "1_1",                                 // wrong separator
           "0x1-1",                               // hexadecimal
           "18446744073709551616-1",              // epoch overflows 64 bits
           "1-18446744073709551616",              // sequence overflows 64 bits
           "99999999999999999999999999999999-1",  // far too long
       }) {
    EXPECT_EQ(parse_position(text), std::nullopt) << '"' << text << '"';
  }
  // Not cut short at a NUL either.
  EXPECT_EQ(parse_position(std::string_view("1-1\0", 4)), std::nullopt);
}

RC_GTEST_PROP(Position, TextRoundTrips, (std::uint64_t epoch, std::uint64_t sequence)) {
  const Position position{epoch, sequence};
  const std::string text = to_string(position);
  RC_ASSERT(text.size() <= position_text_max);
  RC_ASSERT(parse_position(text) == std::optional<Position>(position));
}

// Whatever the text, parsing either fails or gives back the very same text:
// there is one spelling per position.
RC_GTEST_PROP(Position, AcceptedTextIsCanonical, ()) {
  const auto digits =
      rc::gen::container<std::string>(rc::gen::elementOf(std::string("0123456789")));
  const std::string text = *rc::gen::oneOf(
      rc::gen::arbitrary<std::string>(),
      rc::gen::container<std::string>(rc::gen::elementOf(std::string("0123456789-+ x"))),
      // Near misses: two digit runs (empty, zero-led or long) around a dash.
      rc::gen::map(rc::gen::pair(digits, digits), [](const std::pair<std::string, std::string>& p) {
        return p.first + "-" + p.second;
      }));
  const auto position = parse_position(text);
  RC_CLASSIFY(position.has_value(), "accepted");
  if (position) RC_ASSERT(to_string(*position) == text);
}

TEST(Position, RandomEpochIsNonZeroAndExactInADouble) {
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 64; ++i) {
    const std::uint64_t epoch = random_epoch();
    EXPECT_NE(epoch, 0U);
    EXPECT_LT(epoch, std::uint64_t{1} << 53);
    seen.insert(epoch);
  }
  EXPECT_GT(seen.size(), 60U);  // random, not a constant
}

// ---- ChannelHistory: numbering ----

TEST(ChannelHistory, DefaultLimitsAreAThousandMessagesAndOneMebibyte) {
  const HistoryLimits limits;
  EXPECT_EQ(limits.max_messages, 1000U);
  EXPECT_EQ(limits.max_bytes, 1024U * 1024U);
}

TEST(ChannelHistory, NumbersMessagesFromOneWithinItsEpoch) {
  ChannelHistory history(kEpoch);
  EXPECT_EQ(history.head(), (Position{kEpoch, 0}));
  EXPECT_EQ(history.next_position(), (Position{kEpoch, 1}));
  EXPECT_EQ(history.append(message_of(1)), (Position{kEpoch, 1}));
  EXPECT_EQ(history.append(message_of(1)), (Position{kEpoch, 2}));
  EXPECT_EQ(history.next_position(), (Position{kEpoch, 3}));
  EXPECT_EQ(history.append(message_of(1)), (Position{kEpoch, 3}));
  EXPECT_EQ(history.head(), (Position{kEpoch, 3}));
  EXPECT_EQ(history.size(), 3U);
  EXPECT_EQ(history.bytes(), 9U);  // three 3-byte frames
}

TEST(ChannelHistory, NumberingGoesOnAfterAGivenLastSequence) {
  ChannelHistory history(kEpoch, {}, 41);
  EXPECT_EQ(history.head(), (Position{kEpoch, 41}));
  EXPECT_EQ(history.append(message_of(1)), (Position{kEpoch, 42}));
  // 41 came before this object: not kept, so a resume from 40 lost it.
  const HistoryGap gap = gap_of(history.since(Position{kEpoch, 40}));
  EXPECT_EQ(gap.reason, GapReason::too_old);
  EXPECT_EQ(gap.missed, 1U);
  EXPECT_EQ(sequences_of(range_of(history.since(Position{kEpoch, 41}))),
            std::vector<std::uint64_t>{42});
}

TEST(ChannelHistory, SequenceNumbersAreNeverReusedAfterEviction) {
  ChannelHistory history(kEpoch, HistoryLimits{1, 1024});
  history.append(message_of(1));
  history.append(message_of(1));
  history.set_limits(HistoryLimits{0, 0});
  EXPECT_EQ(history.size(), 0U);
  EXPECT_EQ(history.append(message_of(1)), (Position{kEpoch, 3}));
  history.set_limits(HistoryLimits{});
  EXPECT_EQ(history.append(message_of(1)), (Position{kEpoch, 4}));
}

TEST(ChannelHistory, TheLastSequenceNumberIsTheLast) {
  ChannelHistory history(kEpoch, {}, kMax);
  EXPECT_THROW(history.append(message_of(1)), std::overflow_error);
  EXPECT_EQ(history.head(), (Position{kEpoch, kMax}));
  // Still answers resumes, without overflowing its own arithmetic.
  EXPECT_TRUE(range_of(history.since(Position{kEpoch, kMax})).empty());
  const HistoryGap gap = gap_of(history.since(Position{kEpoch, kMax - 5}));
  EXPECT_EQ(gap.reason, GapReason::too_old);
  EXPECT_EQ(gap.missed, 5U);
  EXPECT_EQ(gap.resume_from, (Position{kEpoch, kMax}));

  ChannelHistory nearly(kEpoch, {}, kMax - 1);
  EXPECT_EQ(nearly.append(message_of(1)), (Position{kEpoch, kMax}));
  EXPECT_EQ(sequences_of(range_of(nearly.since(Position{kEpoch, kMax - 1}))),
            std::vector<std::uint64_t>{kMax});
  EXPECT_THROW(nearly.append(message_of(1)), std::overflow_error);
  EXPECT_EQ(nearly.size(), 1U);
}

TEST(ChannelHistory, RefusesANullMessage) {
  ChannelHistory history(kEpoch);
  EXPECT_THROW(history.append(nullptr), std::invalid_argument);
  EXPECT_EQ(history.head(), (Position{kEpoch, 0}));  // no number spent
}

// ---- ChannelHistory: since ----

TEST(ChannelHistory, SinceGivesTheMessagesStrictlyAfterInOrder) {
  ChannelHistory history(kEpoch);
  std::vector<std::shared_ptr<const PreparedMessage>> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(message_of(10));
    history.append(sent.back());
  }
  const HistoryRange range = range_of(history.since(Position{kEpoch, 2}));
  EXPECT_EQ(sequences_of(range), (std::vector<std::uint64_t>{3, 4, 5}));
  // The very objects appended: replay shares them, it does not copy.
  std::size_t i = 2;
  for (const HistoryEntry& entry : range) EXPECT_EQ(entry.message.get(), sent[i++].get());
}

TEST(ChannelHistory, SinceZeroIsTheWholeEpochWhileItIsKept) {
  ChannelHistory history(kEpoch);
  for (int i = 0; i < 3; ++i) history.append(message_of(1));
  EXPECT_EQ(sequences_of(range_of(history.since(Position{kEpoch, 0}))),
            (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(ChannelHistory, SinceTheNewestIsUpToDate) {
  ChannelHistory history(kEpoch);
  EXPECT_TRUE(range_of(history.since(history.head())).empty());  // nothing published yet
  history.append(message_of(1));
  history.append(message_of(1));
  EXPECT_TRUE(range_of(history.since(Position{kEpoch, 2})).empty());
  // Up to date even when nothing is kept: nothing was missed.
  history.set_limits(HistoryLimits{0, 0});
  EXPECT_TRUE(range_of(history.since(Position{kEpoch, 2})).empty());
}

TEST(ChannelHistory, AnotherEpochIsAGapOfUnknownSize) {
  ChannelHistory history(kEpoch, HistoryLimits{2, 1024});
  for (int i = 0; i < 4; ++i) history.append(message_of(1));
  // The same sequence in another epoch (the node restarted) means nothing here.
  const HistoryGap gap = gap_of(history.since(Position{kEpoch + 1, 3}));
  EXPECT_EQ(gap.reason, GapReason::other_epoch);
  EXPECT_EQ(gap.missed, std::nullopt);
  EXPECT_EQ(gap.resume_from, (Position{kEpoch, 2}));
  EXPECT_EQ(sequences_of(range_of(history.since(gap.resume_from))),
            (std::vector<std::uint64_t>{3, 4}));
}

TEST(ChannelHistory, APositionBeyondTheNewestIsAGap) {
  ChannelHistory history(kEpoch);
  history.append(message_of(1));
  const HistoryGap gap = gap_of(history.since(Position{kEpoch, 2}));
  EXPECT_EQ(gap.reason, GapReason::ahead);
  EXPECT_EQ(gap.missed, std::nullopt);
  EXPECT_EQ(gap.resume_from, (Position{kEpoch, 0}));
  EXPECT_EQ(gap_of(history.since(Position{kEpoch, kMax})).reason, GapReason::ahead);
}

TEST(ChannelHistory, OlderThanTheHistoryIsAGapCountingWhatWasLost) {
  ChannelHistory history(kEpoch, HistoryLimits{3, 1024});
  for (int i = 0; i < 10; ++i) history.append(message_of(1));
  ASSERT_EQ(sequences_of(history.held()), (std::vector<std::uint64_t>{8, 9, 10}));

  HistoryGap gap = gap_of(history.since(Position{kEpoch, 5}));
  EXPECT_EQ(gap.reason, GapReason::too_old);
  EXPECT_EQ(gap.missed, 2U);  // 6 and 7
  EXPECT_EQ(gap.resume_from, (Position{kEpoch, 7}));
  EXPECT_EQ(sequences_of(range_of(history.since(gap.resume_from))),
            (std::vector<std::uint64_t>{8, 9, 10}));

  gap = gap_of(history.since(Position{kEpoch, 6}));
  EXPECT_EQ(gap.missed, 1U);
  gap = gap_of(history.since(Position{kEpoch, 0}));
  EXPECT_EQ(gap.missed, 7U);
  // Just before the oldest kept: nothing lost.
  EXPECT_EQ(sequences_of(range_of(history.since(Position{kEpoch, 7}))),
            (std::vector<std::uint64_t>{8, 9, 10}));
}

TEST(ChannelHistory, EmptyAfterTrimmingEverySinceButTheNewestIsAGap) {
  ChannelHistory history(kEpoch);
  for (int i = 0; i < 4; ++i) history.append(message_of(1));
  history.set_limits(HistoryLimits{0, 1024});
  EXPECT_EQ(history.size(), 0U);
  EXPECT_EQ(history.bytes(), 0U);
  EXPECT_TRUE(history.held().empty());
  const HistoryGap gap = gap_of(history.since(Position{kEpoch, 1}));
  EXPECT_EQ(gap.reason, GapReason::too_old);
  EXPECT_EQ(gap.missed, 3U);
  EXPECT_EQ(gap.resume_from, history.head());
  EXPECT_TRUE(range_of(history.since(gap.resume_from)).empty());
}

TEST(ChannelHistory, WithTheDefaultsAThousandMissedMessagesComeBackInOrderOnce) {
  ChannelHistory history(kEpoch);
  history.append(message_of(100));
  const Position away = history.head();  // the last message the client saw
  for (int i = 0; i < 1000; ++i) history.append(message_of(1000));
  const HistoryRange range = range_of(history.since(away));
  ASSERT_EQ(range.size(), 1000U);
  std::uint64_t expected = away.sequence;
  for (const HistoryEntry& entry : range) EXPECT_EQ(entry.position.sequence, ++expected);
  // One more and the oldest of them is gone: a gap of one, not 999 messages.
  history.append(message_of(1000));
  const HistoryGap gap = gap_of(history.since(away));
  EXPECT_EQ(gap.reason, GapReason::too_old);
  EXPECT_EQ(gap.missed, 1U);
}

// ---- ChannelHistory: limits ----

TEST(ChannelHistory, KeepsTheNewestByCount) {
  ChannelHistory history(kEpoch, HistoryLimits{3, 1024 * 1024});
  for (int i = 0; i < 5; ++i) history.append(message_of(1));
  EXPECT_EQ(history.size(), 3U);
  EXPECT_EQ(sequences_of(history.held()), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_EQ(history.bytes(), 9U);
}

TEST(ChannelHistory, KeepsTheNewestByBytes) {
  // 100-byte payloads make 102-byte frames: 250 bytes hold two.
  ChannelHistory history(kEpoch, HistoryLimits{1000, 250});
  for (int i = 0; i < 4; ++i) history.append(message_of(100));
  EXPECT_EQ(sequences_of(history.held()), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(history.bytes(), 204U);
  // A small one fits beside them only once the oldest goes: 204 + 48 > 250.
  history.append(message_of(46));
  EXPECT_EQ(sequences_of(history.held()), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_EQ(history.bytes(), 150U);
  // Exactly at the limit is within it.
  history.append(message_of(98));
  EXPECT_EQ(sequences_of(history.held()), (std::vector<std::uint64_t>{4, 5, 6}));
  EXPECT_EQ(history.bytes(), 250U);
}

TEST(ChannelHistory, AMessageLargerThanTheByteLimitIsNumberedButNotKept) {
  ChannelHistory history(kEpoch, HistoryLimits{1000, 100});
  history.append(message_of(10));
  EXPECT_EQ(history.append(message_of(200)), (Position{kEpoch, 2}));
  // It pushed out everything, itself included.
  EXPECT_EQ(history.size(), 0U);
  EXPECT_EQ(history.bytes(), 0U);
  EXPECT_EQ(gap_of(history.since(Position{kEpoch, 1})).missed, 1U);
  EXPECT_TRUE(range_of(history.since(Position{kEpoch, 2})).empty());
  EXPECT_EQ(history.append(message_of(10)), (Position{kEpoch, 3}));
  EXPECT_EQ(sequences_of(range_of(history.since(Position{kEpoch, 2}))),
            std::vector<std::uint64_t>{3});
}

TEST(ChannelHistory, LoweringTheLimitsTrimsAtOnceAndRaisingThemBringsNothingBack) {
  ChannelHistory history(kEpoch);
  for (int i = 0; i < 6; ++i) history.append(message_of(1));
  history.set_limits(HistoryLimits{2, 1024});
  EXPECT_EQ(sequences_of(history.held()), (std::vector<std::uint64_t>{5, 6}));
  history.set_limits(HistoryLimits{});
  EXPECT_EQ(history.limits().max_messages, 1000U);
  EXPECT_EQ(sequences_of(history.held()), (std::vector<std::uint64_t>{5, 6}));
  EXPECT_EQ(gap_of(history.since(Position{kEpoch, 3})).missed, 1U);
}

TEST(ChannelHistory, CountsTheEncodedVariantToo) {
  const std::vector<std::byte> plain(20);
  const std::vector<std::byte> encoded(5);
  const auto message = PreparedMessage::make_with_encoding(MessageKind::text, plain,
                                                           "permessage-deflate", rsv1, encoded);
  EXPECT_EQ(ChannelHistory::charged_bytes(*message), 22U + 7U);
  ChannelHistory history(kEpoch);
  history.append(message);
  EXPECT_EQ(history.bytes(), 29U);
}

// ---- The property: any interleaving ----
//
// Publishes of random sizes, limit changes (trims), subscribers that join
// with a position taken from earlier (or from a past epoch, the future, or
// nowhere), leave, and come back with the last position they saw, and node
// restarts (a new history with a new epoch). Every subscriber follows live
// messages while connected, as the Registry will deliver them.
//
// Checked as it goes, against a model that keeps every message published in
// the epoch and the index of the oldest one that should still be kept (the
// longest suffix within the limits, never readmitted): since() reports a gap
// exactly when a message the subscriber asked for is no longer kept or the
// epoch differs, with the right reason and count; otherwise it replays
// exactly the messages after the position, as the very objects published.
//
// Checked at the end, from each subscriber's log alone: it is in order,
// without duplicates, and contiguous from each position it joined with,
// except right after a gap signal.

struct Published {
  std::shared_ptr<const PreparedMessage> message;
  std::size_t bytes = 0;
};

// What the history should hold, specified the plain way.
struct Model {
  std::uint64_t epoch = 0;
  std::uint64_t base = 0;  // the last sequence issued before `all` began
  std::vector<Published> all;
  std::size_t first_kept = 0;  // index into `all`
  std::size_t kept_bytes = 0;
  HistoryLimits limits;

  std::uint64_t last() const { return base + all.size(); }
  // Every message at or below this sequence is gone.
  std::uint64_t gone_through() const { return base + first_kept; }
  const Published& at(std::uint64_t sequence) const { return all[sequence - base - 1]; }

  void publish(Published message) {
    kept_bytes += message.bytes;
    all.push_back(std::move(message));
    trim();
  }
  void trim() {
    while (first_kept < all.size() &&
           (all.size() - first_kept > limits.max_messages || kept_bytes > limits.max_bytes)) {
      kept_bytes -= all[first_kept++].bytes;
    }
  }
};

// One line of a subscriber's log.
struct Event {
  enum class Kind { join, gap, message } kind;
  Position position;  // join: the position it asked from; gap: resume_from
};

struct TestSubscriber {
  bool connected = true;
  Position cursor;  // the last message it received, or where it resumes from
  std::vector<Event> log;
};

HistoryLimits draw_limits() {
  // Mostly tight, so trimming happens often; sometimes the defaults.
  if (*rc::gen::inRange(0, 5) == 0) return HistoryLimits{};
  return HistoryLimits{*rc::gen::inRange<std::size_t>(0, 12),
                       *rc::gen::inRange<std::size_t>(0, 2500)};
}

// Hands the message at `position` to `subscriber`, which must be expecting
// exactly that one.
void deliver(TestSubscriber& subscriber, const Model& model, Position position,
             const std::shared_ptr<const PreparedMessage>& message) {
  RC_ASSERT(position.epoch == subscriber.cursor.epoch);
  RC_ASSERT(position.sequence == subscriber.cursor.sequence + 1);
  RC_ASSERT(message.get() == model.at(position.sequence).message.get());
  subscriber.cursor = position;
  subscriber.log.push_back(Event{Event::Kind::message, position});
}

// Which outcomes one run of the property reached (reported, so a change
// that stops the generator from reaching one shows up).
struct Reached {
  bool replay = false;  // since() handed back at least one message
  bool too_old = false;
  bool other_epoch = false;
  bool ahead = false;
};

// Joins (or rejoins) `subscriber` with `since`, checking since() against the
// model, and replays what it is owed.
void join_since(TestSubscriber& subscriber, const ChannelHistory& history, const Model& model,
                Position since, Reached& reached) {
  subscriber.connected = true;
  subscriber.cursor = since;
  subscriber.log.push_back(Event{Event::Kind::join, since});
  const SinceResult result = history.since(since);

  std::optional<GapReason> expected;
  std::optional<std::uint64_t> missed;
  if (since.epoch != model.epoch) {
    expected = GapReason::other_epoch;
  } else if (since.sequence > model.last()) {
    expected = GapReason::ahead;
  } else if (since.sequence < model.gone_through()) {
    expected = GapReason::too_old;
    missed = model.gone_through() - since.sequence;
  }

  if (!expected) {
    RC_ASSERT(std::holds_alternative<HistoryRange>(result));
    const HistoryRange range = std::get<HistoryRange>(result);
    RC_ASSERT(range.size() == model.last() - since.sequence);
    reached.replay = reached.replay || !range.empty();
    for (const HistoryEntry& entry : range)
      deliver(subscriber, model, entry.position, entry.message);
    return;
  }
  RC_ASSERT(std::holds_alternative<HistoryGap>(result));
  const HistoryGap gap = std::get<HistoryGap>(result);
  RC_ASSERT(gap.reason == *expected);
  reached.too_old = reached.too_old || gap.reason == GapReason::too_old;
  reached.other_epoch = reached.other_epoch || gap.reason == GapReason::other_epoch;
  reached.ahead = reached.ahead || gap.reason == GapReason::ahead;
  RC_ASSERT(gap.missed == missed);
  RC_ASSERT(gap.resume_from == (Position{model.epoch, model.gone_through()}));
  subscriber.log.push_back(Event{Event::Kind::gap, gap.resume_from});
  subscriber.cursor = gap.resume_from;
  // Going on from resume_from is never a gap: the caller can always recover.
  const SinceResult rest = history.since(gap.resume_from);
  RC_ASSERT(std::holds_alternative<HistoryRange>(rest));
  for (const HistoryEntry& entry : std::get<HistoryRange>(rest)) {
    deliver(subscriber, model, entry.position, entry.message);
  }
}

// The property the issue states, from the log alone.
void check_log(const std::vector<Event>& log) {
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
  std::optional<Position> expected_after;  // the message before the next one
  std::map<std::uint64_t, std::uint64_t> last_in_epoch;
  for (std::size_t i = 0; i < log.size(); ++i) {
    const Event& event = log[i];
    switch (event.kind) {
      case Event::Kind::join:
        expected_after = event.position;
        break;
      case Event::Kind::gap:
        RC_ASSERT(i > 0 && log[i - 1].kind == Event::Kind::join);  // told at once, before anything
        expected_after = event.position;
        break;
      case Event::Kind::message:
        RC_ASSERT(expected_after.has_value());
        RC_ASSERT(event.position.epoch == expected_after->epoch);
        RC_ASSERT(event.position.sequence == expected_after->sequence + 1);
        // In order and once: later than anything seen in its epoch.
        if (const auto last = last_in_epoch.find(event.position.epoch);
            last != last_in_epoch.end()) {
          RC_ASSERT(event.position.sequence > last->second);
        }
        RC_ASSERT(seen.insert({event.position.epoch, event.position.sequence}).second);
        last_in_epoch[event.position.epoch] = event.position.sequence;
        expected_after = event.position;
        break;
    }
  }
}

RC_GTEST_PROP(ChannelHistory, AnyInterleavingGivesEachSubscriberAnInOrderStreamOrAGap, ()) {
  std::set<std::uint64_t> epochs;
  const auto new_epoch = [&epochs] {
    // Distinct by stepping past a collision: a suchThat filter would keep a
    // reference to `epochs` for shrinking, after this run has ended.
    std::uint64_t epoch = *rc::gen::arbitrary<std::uint64_t>();
    while (epochs.count(epoch) != 0) ++epoch;
    epochs.insert(epoch);
    return epoch;
  };

  Model model;
  model.epoch = new_epoch();
  model.base = *rc::gen::weightedElement<std::uint64_t>({{3, 0}, {1, 1000}});
  model.limits = draw_limits();
  auto history = std::make_unique<ChannelHistory>(model.epoch, model.limits, model.base);
  std::vector<Position> past_positions;  // heads of epochs that ended
  std::vector<TestSubscriber> subscribers;
  Reached reached;

  enum class Op { publish, limits, join, leave, resume, restart };
  const int steps = *rc::gen::inRange(1, 200);
  for (int step = 0; step < steps; ++step) {
    const Op op = *rc::gen::weightedElement<Op>({{12, Op::publish},
                                                 {2, Op::limits},
                                                 {3, Op::join},
                                                 {2, Op::leave},
                                                 {2, Op::resume},
                                                 {1, Op::restart}});
    switch (op) {
      case Op::publish: {
        const auto size = *rc::gen::inRange<std::size_t>(0, 400);
        const auto message = message_of(size);
        const Position position = history->append(message);
        model.publish(Published{message, message->frame().size()});
        RC_ASSERT(position == (Position{model.epoch, model.last()}));
        for (TestSubscriber& subscriber : subscribers) {
          if (subscriber.connected) deliver(subscriber, model, position, message);
        }
        break;
      }
      case Op::limits:
        model.limits = draw_limits();
        model.trim();
        history->set_limits(model.limits);
        break;
      case Op::join: {
        if (subscribers.size() >= 8) break;
        TestSubscriber& subscriber = subscribers.emplace_back();
        const std::uint64_t last = model.last();
        switch (*rc::gen::inRange(0, 6)) {
          case 0:  // no position: live only
            subscriber.cursor = history->head();
            subscriber.log.push_back(Event{Event::Kind::join, subscriber.cursor});
            break;
          case 1:  // anywhere earlier in this epoch
            join_since(subscriber, *history, model,
                       Position{model.epoch, *rc::gen::inRange<std::uint64_t>(0, last + 1)},
                       reached);
            break;
          case 2:  // a little earlier: what a briefly disconnected client asks for
            join_since(subscriber, *history, model,
                       Position{model.epoch,
                                last - std::min(last, *rc::gen::inRange<std::uint64_t>(0, 15))},
                       reached);
            break;
          case 3:  // from a past epoch, or one that never was
            join_since(subscriber, *history, model,
                       past_positions.empty()
                           ? Position{new_epoch(), *rc::gen::inRange<std::uint64_t>(0, 50)}
                           : *rc::gen::elementOf(past_positions),
                       reached);
            break;
          case 4:  // from this epoch's future
            join_since(subscriber, *history, model,
                       Position{model.epoch, last + *rc::gen::inRange<std::uint64_t>(1, 1000)},
                       reached);
            break;
          default:  // anything at all
            join_since(subscriber, *history, model,
                       Position{*rc::gen::elementOf(std::vector<std::uint64_t>{
                                    model.epoch, *rc::gen::arbitrary<std::uint64_t>()}),
                                *rc::gen::arbitrary<std::uint64_t>()},
                       reached);
            break;
        }
        break;
      }
      case Op::leave:
        if (!subscribers.empty())
          subscribers[*rc::gen::inRange<std::size_t>(0, subscribers.size())].connected = false;
        break;
      case Op::resume: {
        if (subscribers.empty()) break;
        TestSubscriber& subscriber =
            subscribers[*rc::gen::inRange<std::size_t>(0, subscribers.size())];
        if (!subscriber.connected)
          join_since(subscriber, *history, model, subscriber.cursor, reached);
        break;
      }
      case Op::restart:
        // Without a shared store everything held dies with the node.
        past_positions.push_back(history->head());
        for (TestSubscriber& subscriber : subscribers) subscriber.connected = false;
        model = Model{new_epoch(), 0, {}, 0, 0, model.limits};
        history = std::make_unique<ChannelHistory>(model.epoch, model.limits);
        break;
    }

    // The limits hold after every step, and what is kept is the model's suffix.
    RC_ASSERT(history->size() <= model.limits.max_messages);
    RC_ASSERT(history->bytes() <= model.limits.max_bytes);
    RC_ASSERT(history->size() == model.all.size() - model.first_kept);
    RC_ASSERT(history->bytes() == model.kept_bytes);
    RC_ASSERT(history->head() == (Position{model.epoch, model.last()}));
  }

  RC_CLASSIFY(reached.replay, "replayed");
  RC_CLASSIFY(reached.too_old, "gap: too old");
  RC_CLASSIFY(reached.other_epoch, "gap: other epoch");
  RC_CLASSIFY(reached.ahead, "gap: ahead");

  for (const TestSubscriber& subscriber : subscribers) check_log(subscriber.log);
  // A subscriber that was never told of a gap received every message from
  // its first position on, through its last one.
  for (const TestSubscriber& subscriber : subscribers) {
    const bool gapless =
        std::none_of(subscriber.log.begin(), subscriber.log.end(),
                     [](const Event& event) { return event.kind == Event::Kind::gap; });
    if (!gapless) continue;
    const Position start = subscriber.log.front().position;
    std::uint64_t count = 0;
    for (const Event& event : subscriber.log) count += event.kind == Event::Kind::message ? 1 : 0;
    RC_ASSERT(subscriber.cursor.epoch == start.epoch);
    RC_ASSERT(count == subscriber.cursor.sequence - start.sequence);
  }
}

}  // namespace
}  // namespace ws::channels
