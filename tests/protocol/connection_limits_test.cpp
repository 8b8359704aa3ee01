// The limits of ws::Limits (config.hpp): frame and message size (RFC 6455
// 7.4.1: 1009 "message too big"; 10.4: an endpoint protects itself against
// frames and messages larger than it can handle), buffered input and queued
// output.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace {

using ws::CloseCode;
using ws::Config;
using ws::Connection;
using ws::Fin;
using ws::Opcode;
using ws::Role;
using ws::State;
using ws::test::Bytes;
using ws::test::OwnedEvent;

constexpr std::uint64_t mib = 1024 * 1024;

Config limits(std::uint64_t max_frame, std::uint64_t max_message) {
  Config config;
  config.limits.max_frame_size = max_frame;
  config.limits.max_message_size = max_message;
  config.random = ws::test::counting_random_source();
  return config;
}

/// A client's data frame carrying `size` bytes of 'x'.
Bytes client_data(Opcode opcode, std::size_t size, bool fin = true) {
  return ws::test::client_frame(opcode, std::string(size, 'x'), fin);
}

/// The header of a client frame announcing `length` payload bytes.
Bytes client_header(Opcode opcode, std::uint64_t length, bool fin = true) {
  ws::test::FrameSpec spec;
  spec.opcode = opcode;
  spec.fin = fin;
  return ws::test::frame_header(spec, length);
}

/// Checks that `events` ends the connection with `error`, that no message
/// came before, and that a single close frame with 1009 went out.
void expect_failed_with_1009(Connection& c, const std::vector<OwnedEvent>& events, ws::errc error) {
  ASSERT_EQ(events.size(), 1U) << ::testing::PrintToString(events);
  const OwnedEvent& closed = events.front();
  EXPECT_EQ(closed.type, OwnedEvent::Type::closed);
  EXPECT_EQ(closed.error, error);
  EXPECT_EQ(closed.error, ws::condition::limit_exceeded);
  EXPECT_EQ(closed.code, CloseCode::abnormal);
  EXPECT_EQ(closed.sent_code, CloseCode::message_too_big);
  EXPECT_EQ(c.state(), State::closed);
  const std::vector<ws::test::ParsedFrame> frames =
      ws::test::parse_frames(ws::test::take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::close);
  EXPECT_EQ(frames[0].payload, ws::test::close_payload(1009));
}

// ---- max_frame_size --------------------------------------------------------

TEST(ConnectionLimits, FrameAtMaxFrameSizeIsAccepted) {
  Connection c = Connection::after_handshake(Role::server, limits(1000, 3000));
  const std::vector<OwnedEvent> events = ws::test::feed(c, client_data(Opcode::binary, 1000));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::message);
  EXPECT_EQ(events[0].payload.size(), 1000U);
  EXPECT_EQ(c.state(), State::open);
}

TEST(ConnectionLimits, FrameOverMaxFrameSizeFailsWith1009) {
  Connection c = Connection::after_handshake(Role::server, limits(1000, 3000));
  const std::vector<OwnedEvent> events = ws::test::feed(c, client_data(Opcode::binary, 1001));
  expect_failed_with_1009(c, events, ws::errc::frame_too_large);
}

TEST(ConnectionLimits, FrameOverMaxFrameSizeFailsOnItsHeaderAlone) {
  Connection c = Connection::after_handshake(Role::server, limits(1000, 3000));
  const std::vector<OwnedEvent> events = ws::test::feed(c, client_header(Opcode::text, 1001));
  expect_failed_with_1009(c, events, ws::errc::frame_too_large);
}

TEST(ConnectionLimits, MaxFrameSizeAppliesToEachContinuationFrame) {
  Connection c = Connection::after_handshake(Role::server, limits(1000, 100000));
  const Bytes input = ws::test::concat(
      {client_data(Opcode::binary, 10, false), client_header(Opcode::continuation, 1001)});
  const std::vector<OwnedEvent> events = ws::test::feed(c, input);
  expect_failed_with_1009(c, events, ws::errc::frame_too_large);
}

TEST(ConnectionLimits, ClientAppliesMaxFrameSizeToServerFrames) {
  Connection c = Connection::after_handshake(Role::client, limits(1000, 3000));
  const std::vector<OwnedEvent> events =
      ws::test::feed(c, ws::test::server_frame(Opcode::binary, std::string(1001, 'x')));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, ws::errc::frame_too_large);
  const std::vector<ws::test::ParsedFrame> frames =
      ws::test::parse_frames(ws::test::take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(frames[0].header.masked);  // RFC 6455 5.3: a client masks its close too
  EXPECT_EQ(frames[0].payload, ws::test::close_payload(1009));
}

// ---- max_message_size ------------------------------------------------------

TEST(ConnectionLimits, MessageAtMaxMessageSizeAcrossFragmentsIsAccepted) {
  Connection c = Connection::after_handshake(Role::server, limits(1000, 3000));
  const Bytes input = ws::test::concat({client_data(Opcode::binary, 1000, false),
                                        client_data(Opcode::continuation, 1000, false),
                                        client_data(Opcode::continuation, 1000, true)});
  const std::vector<OwnedEvent> events = ws::test::feed(c, input);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].payload.size(), 3000U);
  EXPECT_EQ(c.state(), State::open);
}

TEST(ConnectionLimits, MessageOverMaxMessageSizeAcrossFragmentsFailsWith1009) {
  Connection c = Connection::after_handshake(Role::server, limits(1000, 3000));
  const Bytes input = ws::test::concat(
      {client_data(Opcode::text, 1000, false), client_data(Opcode::continuation, 1000, false),
       client_data(Opcode::continuation, 1000, false), client_data(Opcode::continuation, 1, true)});
  const std::vector<OwnedEvent> events = ws::test::feed(c, input);
  expect_failed_with_1009(c, events, ws::errc::message_too_large);
}

TEST(ConnectionLimits, MessageOverMaxMessageSizeFailsBeforeThePayloadIsBuffered) {
  // Only the header of the fragment that goes past the limit arrives: the
  // failure comes at once, without waiting for (or keeping) its payload.
  Connection c = Connection::after_handshake(Role::server, limits(mib * 1024, 3000));
  ASSERT_TRUE(ws::test::feed(c, client_data(Opcode::binary, 2000, false)).empty());
  const std::vector<OwnedEvent> events =
      ws::test::feed(c, client_header(Opcode::continuation, 512 * mib));
  expect_failed_with_1009(c, events, ws::errc::message_too_large);
}

TEST(ConnectionLimits, SingleFrameOverMaxMessageSizeFailsOnItsHeaderAlone) {
  Connection c = Connection::after_handshake(Role::server, limits(mib * 1024, 3000));
  const std::vector<OwnedEvent> events = ws::test::feed(c, client_header(Opcode::binary, 3001));
  expect_failed_with_1009(c, events, ws::errc::message_too_large);
}

TEST(ConnectionLimits, HugeAnnouncedLengthFailsAtOnceWithDefaultLimits) {
  // A 2^62-byte frame: nothing is allocated for it and nothing is awaited.
  Connection c = Connection::after_handshake(Role::server);
  const std::vector<OwnedEvent> events =
      ws::test::feed(c, client_header(Opcode::binary, std::uint64_t{1} << 62));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, ws::condition::limit_exceeded);
  EXPECT_EQ(events[0].sent_code, CloseCode::message_too_big);
}

TEST(ConnectionLimits, StreamedDeliveryAlsoEnforcesMaxMessageSize) {
  Config config = limits(2000, 3000);
  config.delivery = ws::Delivery::streamed;
  Connection c = Connection::after_handshake(Role::server, config);
  const Bytes input = ws::test::concat(
      {client_data(Opcode::binary, 2000, false), client_data(Opcode::continuation, 2000, true)});
  const std::vector<OwnedEvent> events = ws::test::feed(c, input);
  ASSERT_FALSE(events.empty());
  std::size_t delivered = 0;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_EQ(events[i].type, OwnedEvent::Type::message);
    EXPECT_FALSE(events[i].is_last);
    delivered += events[i].payload.size();
  }
  EXPECT_LE(delivered, 3000U);
  EXPECT_EQ(events.back().type, OwnedEvent::Type::closed);
  EXPECT_EQ(events.back().error, ws::errc::message_too_large);
  EXPECT_EQ(events.back().sent_code, CloseCode::message_too_big);
}

TEST(ConnectionLimits, ControlFramesBetweenFragmentsDoNotCountTowardsTheMessage) {
  // RFC 6455 5.4: control frames may be injected in the middle of a
  // fragmented message; they are not part of it.
  Connection c = Connection::after_handshake(Role::server, limits(1000, 2000));
  const Bytes input = ws::test::concat({client_data(Opcode::binary, 1000, false),
                                        ws::test::client_frame(Opcode::ping, std::string(125, 'p')),
                                        ws::test::client_frame(Opcode::pong, std::string(125, 'p')),
                                        client_data(Opcode::continuation, 1000, true)});
  const std::vector<OwnedEvent> events = ws::test::feed(c, input);
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[2].type, OwnedEvent::Type::message);
  EXPECT_EQ(events[2].payload.size(), 2000U);
}

// ---- max_buffered_input ----------------------------------------------------

TEST(ConnectionLimits, ReceiveRefusesBytesPastMaxBufferedInputUntilEventsAreDrained) {
  Config config;
  config.limits.max_buffered_input = 1024;
  Connection c = Connection::after_handshake(Role::server, config);
  Bytes input;
  for (int i = 0; i < 20; ++i) {
    const Bytes frame = client_data(Opcode::binary, 250);
    input.insert(input.end(), frame.begin(), frame.end());
  }
  const ws::ByteView all(input);
  const std::size_t first = c.receive(all);
  EXPECT_EQ(first, 1024U);
  EXPECT_EQ(c.receive(all.subspan(first)), 0U);
  EXPECT_TRUE(c.receive_buffer().empty());

  const std::vector<OwnedEvent> drained = ws::test::drain(c);
  EXPECT_FALSE(drained.empty());
  const std::size_t second = c.receive(all.subspan(first));
  EXPECT_GT(second, 0U);
  EXPECT_LE(second, 1024U);

  // The rest, offered again after each drain, all arrives.
  std::vector<OwnedEvent> rest = ws::test::feed(c, all.subspan(first + second));
  EXPECT_EQ(drained.size() + rest.size(), 20U);
}

TEST(ConnectionLimits, ReceiveBufferNeverOffersMoreThanMaxBufferedInput) {
  Config config;
  config.limits.max_buffered_input = 1024;
  Connection c = Connection::after_handshake(Role::server, config);
  const ws::MutableByteView space = c.receive_buffer();
  EXPECT_FALSE(space.empty());
  EXPECT_LE(space.size(), 1024U);
  // Announce a long frame so that what is committed stays unparsed.
  const Bytes header = client_header(Opcode::binary, 100000);
  std::copy(header.begin(), header.end(), space.begin());
  c.commit_received(header.size());
  EXPECT_LE(c.receive_buffer().size(), 1024U - header.size());
}

TEST(ConnectionLimits, MaxBufferedInputBelow256IsRaisedTo256) {
  Config config;
  config.limits.max_buffered_input = 10;
  Connection c = Connection::after_handshake(Role::server, config);
  const Bytes input(1000, std::byte{0});
  EXPECT_EQ(c.receive(input), 256U);
  // A header and a whole control frame fit (RFC 6455 5.5: at most 125 bytes).
  Connection d = Connection::after_handshake(Role::server, config);
  const std::vector<OwnedEvent> events =
      ws::test::feed(d, ws::test::client_frame(Opcode::ping, std::string(125, 'p')));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::ping);
}

// ---- max_queued_output -----------------------------------------------------

Config small_output() {
  Config config;
  config.limits.max_queued_output = 1000;
  config.random = ws::test::counting_random_source();
  return config;
}

TEST(ConnectionLimits, SendPastMaxQueuedOutputFailsAndQueuesNothing) {
  Connection c = Connection::after_handshake(Role::server, small_output());
  EXPECT_EQ(c.send_binary(Bytes(2000, std::byte{1})), ws::errc::output_queue_full);
  EXPECT_EQ(c.send_text(std::string(2000, 'a')), ws::errc::output_queue_full);
  EXPECT_EQ(c.pending_output_size(), 0U);
  EXPECT_EQ(c.state(), State::open);

  ASSERT_FALSE(c.send_binary(Bytes(900, std::byte{1})));
  const std::size_t queued = c.pending_output_size();
  EXPECT_EQ(c.send_binary(Bytes(200, std::byte{2})), ws::errc::output_queue_full);
  EXPECT_EQ(c.ping(ws::test::bytes_of(std::string(100, 'p'))), ws::errc::output_queue_full);
  EXPECT_EQ(c.pong(ws::test::bytes_of(std::string(100, 'p'))), ws::errc::output_queue_full);
  EXPECT_EQ(c.pending_output_size(), queued);
  EXPECT_EQ(c.state(), State::open);
}

TEST(ConnectionLimits, RefusedFirstFragmentLeavesNoMessageOpen) {
  Connection c = Connection::after_handshake(Role::client, small_output());
  EXPECT_EQ(c.send_text(std::string(2000, 'a'), Fin::no), ws::errc::output_queue_full);
  // The failed send started nothing: a binary message may follow.
  ASSERT_FALSE(c.send_binary(ws::test::bytes_of("b")));
  const std::vector<ws::test::ParsedFrame> frames =
      ws::test::parse_frames(ws::test::take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::binary);
  EXPECT_TRUE(frames[0].header.fin);
}

TEST(ConnectionLimits, SendWorksAgainOnceQueuedOutputIsConsumed) {
  Connection c = Connection::after_handshake(Role::server, small_output());
  ASSERT_FALSE(c.send_binary(Bytes(900, std::byte{1})));
  ASSERT_EQ(c.send_binary(Bytes(900, std::byte{2})), ws::errc::output_queue_full);
  c.consume_output(c.pending_output_size());
  ASSERT_FALSE(c.send_binary(Bytes(900, std::byte{2})));
  const std::vector<ws::test::ParsedFrame> frames =
      ws::test::parse_frames(ws::test::take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, Bytes(900, std::byte{2}));
}

TEST(ConnectionLimits, SendThatExactlyFillsMaxQueuedOutputIsQueued) {
  // Only a send that would go past the limit fails: a server's binary frame
  // of 996 bytes has a 4-byte header (RFC 6455 5.2) and fills 1000 exactly.
  Connection c = Connection::after_handshake(Role::server, small_output());
  ASSERT_FALSE(c.send_binary(Bytes(996, std::byte{1})));
  EXPECT_EQ(c.pending_output_size(), 1000U);
  EXPECT_EQ(c.send_binary(Bytes{}), ws::errc::output_queue_full);
  EXPECT_EQ(c.pending_output_size(), 1000U);
}

TEST(ConnectionLimits, CloseIsQueuedEvenWhenOutputIsFull) {
  Connection c = Connection::after_handshake(Role::server, small_output());
  ASSERT_FALSE(c.send_binary(Bytes(900, std::byte{1})));
  ASSERT_EQ(c.send_binary(Bytes(200, std::byte{1})), ws::errc::output_queue_full);
  ASSERT_EQ(c.ping(ws::test::bytes_of(std::string(125, 'p'))), ws::errc::output_queue_full);
  EXPECT_FALSE(c.close(CloseCode::going_away, "bye"));
  const std::vector<ws::test::ParsedFrame> frames =
      ws::test::parse_frames(ws::test::take_output(c));
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[1].header.opcode, Opcode::close);
  EXPECT_EQ(frames[1].payload, ws::test::close_payload(1001, "bye"));
}

// ---- defaults --------------------------------------------------------------

TEST(ConnectionLimits, DefaultLimitsAreTheDocumentedValues) {
  const ws::Limits defaults;
  EXPECT_EQ(defaults.max_frame_size, 16 * mib);
  EXPECT_EQ(defaults.max_message_size, 16 * mib);  // the issue asks for at least 16 MiB
  EXPECT_EQ(defaults.max_buffered_input, 64U * 1024U);
  EXPECT_EQ(defaults.max_queued_output, 32U * 1024U * 1024U);
  const Connection c = Connection::after_handshake(Role::server);
  EXPECT_EQ(c.config().limits.max_message_size, 16 * mib);
  EXPECT_EQ(c.config().limits.max_frame_size, 16 * mib);
}

TEST(ConnectionLimits, DefaultLimitsAcceptA16MiBMessageAndRejectOneByteMore) {
  Connection c = Connection::after_handshake(Role::server);
  const std::size_t half = static_cast<std::size_t>(8 * mib);
  const Bytes input = ws::test::concat(
      {client_data(Opcode::binary, half, false), client_data(Opcode::continuation, half, true)});
  const std::vector<OwnedEvent> events = ws::test::feed(c, input);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].payload.size(), 16 * mib);

  const Bytes too_big = ws::test::concat({client_data(Opcode::binary, half, false),
                                          client_data(Opcode::continuation, half, false),
                                          client_header(Opcode::continuation, 1)});
  const std::vector<OwnedEvent> failed = ws::test::feed(c, too_big);
  expect_failed_with_1009(c, failed, ws::errc::message_too_large);
}

}  // namespace
