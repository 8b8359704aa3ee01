// Reads into the message buffer: while the rest of a large data frame is
// awaited (whole-message delivery), receive_buffer() hands out space in the
// message being joined, so a read lands where the message is delivered from.
// The rules still hold: unmasking by the frame's key (RFC 6455 5.3), UTF-8
// for text (8.1), and nothing past the frame's end goes there.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstring>
#include <variant>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::client_frame;
using test::OwnedEvent;

// Reads `wire` through receive_buffer()/commit_received() in reads of at
// most `read_size` bytes, draining events after each.
std::vector<OwnedEvent> read_through_buffer(Connection& c, const Bytes& wire,
                                            std::size_t read_size) {
  std::vector<OwnedEvent> events;
  std::size_t at = 0;
  while (at < wire.size()) {
    const MutableByteView space = c.receive_buffer();
    const std::size_t n = std::min({space.size(), read_size, wire.size() - at});
    std::memcpy(space.data(), wire.data() + at, n);
    c.commit_received(n);
    at += n;
    while (auto event = c.next_event()) events.push_back(test::own(*event));
  }
  return events;
}

TEST(ConnectionDirectRead, TheRestOfALargeFrameIsReadIntoTheMessage) {
  Connection c = Connection::after_handshake(Role::server);
  const std::string payload(100000, 'm');  // more than the input limit
  const Bytes wire = client_frame(Opcode::binary, payload);
  c.receive(ByteView(wire).first(1000));
  EXPECT_EQ(c.next_event(), std::nullopt);
  // The space offered is exactly the rest of the frame's payload.
  const MutableByteView space = c.receive_buffer();
  ASSERT_EQ(space.size(), wire.size() - 1000);
  std::memcpy(space.data(), wire.data() + 1000, space.size());
  c.commit_received(space.size());
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), payload);
}

TEST(ConnectionDirectRead, ShortFramesAndFramesWithLittleLeftUseTheInputBuffer) {
  Connection c = Connection::after_handshake(Role::server);
  const Bytes wire = client_frame(Opcode::binary, std::string(3000, 'x'));
  c.receive(ByteView(wire).first(100));
  EXPECT_EQ(c.next_event(), std::nullopt);
  const MutableByteView space = c.receive_buffer();
  // The input buffer's free space, not the rest of the frame.
  EXPECT_NE(space.size(), wire.size() - 100);
}

// RFC 6455 8.1: invalid UTF-8 read straight into the message fails the
// connection (1007) at the next event.
TEST(ConnectionDirectRead, InvalidUtf8ReadIntoTheMessageFails) {
  Connection c = Connection::after_handshake(Role::server);
  std::string payload(100000, 'a');
  payload[90000] = '\xFF';
  const auto events = read_through_buffer(c, client_frame(Opcode::text, payload), 40000);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::invalid_utf8);
  EXPECT_EQ(events[0].sent_code, CloseCode::invalid_payload);
}

TEST(ConnectionDirectRead, FragmentsAreJoinedAcrossDirectReads) {
  Connection c = Connection::after_handshake(Role::server);
  const Bytes wire = test::concat({client_frame(Opcode::text, std::string(90000, 'a'), false),
                                   client_frame(Opcode::ping, "p"),
                                   client_frame(Opcode::continuation, std::string(80000, 'b'))});
  const auto events = read_through_buffer(c, wire, 15000);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::ping);
  EXPECT_EQ(events[1].text(), std::string(90000, 'a') + std::string(80000, 'b'));
}

// However the reads are sized, reading through receive_buffer() gives the
// events receive() gives.
RC_GTEST_PROP(ConnectionDirectRead, ReadsThroughTheBufferMatchCopiedInput, ()) {
  const int count = *rc::gen::inRange(1, 5);
  Bytes wire;
  for (int i = 0; i < count; ++i) {
    const std::size_t size = *rc::gen::inRange<std::size_t>(0, 100000);
    const bool text = *rc::gen::arbitrary<bool>();
    std::string payload(size, 'z');
    if (text && size > 0 && *rc::gen::inRange(0, 4) == 0) {
      payload[*rc::gen::inRange<std::size_t>(0, size)] = '\x80';  // not UTF-8
    }
    const Bytes frame = client_frame(text ? Opcode::text : Opcode::binary, payload);
    wire.insert(wire.end(), frame.begin(), frame.end());
  }
  const std::size_t read_size = *rc::gen::inRange<std::size_t>(100, 140000);
  // A small input limit, so direct reads happen often.
  Config config;
  config.limits.max_buffered_input = *rc::gen::inRange<std::size_t>(256, 20000);
  Connection direct = Connection::after_handshake(Role::server, config);
  Connection copied = Connection::after_handshake(Role::server, config);
  RC_ASSERT(read_through_buffer(direct, wire, read_size) == test::feed(copied, wire));
}

// Reads sized to the traffic: once a frame's header is parsed, the space
// offered holds the rest of its payload and the next frame's header (within
// the input limit), so a 16 KiB message costs one read, not four 4 KiB ones.
TEST(ConnectionReadSize, TheSpaceOfferedHoldsTheRestOfTheFrameInProgress) {
  Connection c = Connection::after_handshake(Role::server);
  const Bytes wire = client_frame(Opcode::binary, std::string(16384, 'q'));
  // A first read of 4 KiB: the header and the start of the payload.
  MutableByteView space = c.receive_buffer();
  ASSERT_GE(space.size(), 4096U);
  std::memcpy(space.data(), wire.data(), 4096);
  c.commit_received(4096);
  EXPECT_EQ(c.next_event(), std::nullopt);
  space = c.receive_buffer();
  EXPECT_GE(space.size(), wire.size() - 4096 + max_frame_header_size);
  std::memcpy(space.data(), wire.data() + 4096, wire.size() - 4096);
  c.commit_received(wire.size() - 4096);
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text().size(), 16384U);
}

TEST(ConnectionReadSize, ReadsThatFillTheSpaceGrowItUpToTheInputLimit) {
  Config config;
  config.limits.max_buffered_input = 40000;
  Connection c = Connection::after_handshake(Role::server, config);
  const Bytes frame = client_frame(Opcode::binary, std::string(20, 's'));
  std::size_t largest = 0;
  std::size_t delivered = 0;
  for (int read = 0; read < 12; ++read) {
    const MutableByteView space = c.receive_buffer();
    largest = std::max(largest, space.size());
    ASSERT_LE(space.size(), config.limits.max_buffered_input);
    // Fill it: whole frames, then the start of one more.
    for (std::size_t at = 0; at < space.size(); at += frame.size()) {
      std::memcpy(space.data() + at, frame.data(), std::min(frame.size(), space.size() - at));
    }
    c.commit_received(space.size());
    while (auto event = c.next_event()) {
      ASSERT_TRUE(std::holds_alternative<Message>(*event));
      ++delivered;
    }
    // The partial frame at the end is dropped from the test's stream: start
    // again on a fresh connection state by feeding its rest.
    const std::size_t partial = space.size() % frame.size();
    if (partial != 0) {
      ASSERT_EQ(c.receive(ByteView(frame).subspan(partial)), frame.size() - partial);
      while (auto event = c.next_event()) ++delivered;
    }
  }
  EXPECT_EQ(largest, config.limits.max_buffered_input);
  EXPECT_GT(delivered, 0U);
}

// receive_room(): what receive() takes in full now, so a transport that
// reads into its own buffer never reads more than the connection can keep.
RC_GTEST_PROP(ConnectionReadSize, ReceiveTakesAllThatReceiveRoomSays, ()) {
  Config config;
  config.limits.max_buffered_input = *rc::gen::inRange<std::size_t>(256, 20000);
  Connection c = Connection::after_handshake(Role::server, config);
  Bytes wire;
  const int count = *rc::gen::inRange(1, 6);
  for (int i = 0; i < count; ++i) {
    const Bytes frame =
        client_frame(Opcode::binary, std::string(*rc::gen::inRange<std::size_t>(0, 30000), 'r'));
    wire.insert(wire.end(), frame.begin(), frame.end());
  }
  std::size_t at = 0;
  while (at < wire.size()) {
    const std::size_t room = c.receive_room();
    RC_ASSERT(room > 0U);
    const std::size_t n = std::min(room, wire.size() - at);
    RC_ASSERT(c.receive(ByteView(wire).subspan(at, n)) == n);
    at += n;
    RC_ASSERT(c.receive_room() <= config.limits.max_buffered_input);
    while (auto event = c.next_event()) RC_ASSERT(std::holds_alternative<Message>(*event));
  }
}

// A transport reading into its own buffer, fed by a hostile client whose
// request head never ends: it reads at most receive_room() each time, every
// byte read is taken, and the connection answers 431 (RFC 6585 5) before
// its room runs out; afterwards (closed) it takes and drops everything.
TEST(ConnectionReadSize, AnEndlessHeadIsRefusedWithinTheRoomOffered) {
  Connection c = Connection::server();
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\n";
  while (head.size() < 200000) head += "X-Filler: " + std::string(50, 'f') + "\r\n";
  std::size_t at = 0;
  bool refused = false;
  while (at < head.size() && !refused) {
    const std::size_t room = c.receive_room();
    ASSERT_GT(room, 0U) << "stuck: no room and no answer, after " << at << " bytes";
    const std::size_t n = std::min(room, head.size() - at);
    ASSERT_EQ(c.receive(as_bytes(std::string_view(head).substr(at, n))), n);
    at += n;
    while (auto event = c.next_event()) {
      if (const auto* closed = std::get_if<Closed>(&*event)) {
        EXPECT_TRUE(closed->error == condition::handshake_failed) << closed->error.message();
        refused = true;
      }
    }
  }
  ASSERT_TRUE(refused);
  EXPECT_LE(at, Config{}.http_limits.max_head_size + Config{}.limits.max_buffered_input);
  EXPECT_EQ(test::text_of(test::take_output(c)).rfind("HTTP/1.1 431 ", 0), 0U);
  EXPECT_EQ(c.state(), State::closed);
  EXPECT_GT(c.receive_room(), head.size());
  EXPECT_EQ(c.receive(as_bytes(std::string_view(head))), head.size());
}

}  // namespace
}  // namespace ws
