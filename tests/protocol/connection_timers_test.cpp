// Time in a Connection (config.hpp Timeouts, connection.hpp advance_time and
// next_deadline): keepalive pings (RFC 6455 5.5.2: a ping "may serve as a
// keepalive"), the idle timeout, the close-handshake timeout (7.1.1: the
// client waits for the server to close the TCP connection) and what happens
// with no time passed in at all. The connection never reads a clock.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace {

using namespace std::chrono_literals;
using ws::CloseCode;
using ws::Config;
using ws::Connection;
using ws::Opcode;
using ws::Role;
using ws::State;
using ws::TimePoint;
using ws::test::Bytes;
using ws::test::OwnedEvent;

const TimePoint t0 = TimePoint{} + 1000h;

Config timers(ws::Duration keepalive, ws::Duration idle, ws::Duration close = 5s) {
  Config config;
  config.timeouts.keepalive_interval = keepalive;
  config.timeouts.idle_timeout = idle;
  config.timeouts.close_timeout = close;
  config.random = ws::test::counting_random_source();
  return config;
}

std::vector<ws::test::ParsedFrame> written_frames(Connection& c) {
  return ws::test::parse_frames(ws::test::take_output(c));
}

/// A frame as the peer of `receiver` sends it (masked towards a server).
Bytes from_peer(Role receiver, Opcode opcode, std::string_view payload) {
  return receiver == Role::server ? ws::test::client_frame(opcode, payload)
                                  : ws::test::server_frame(opcode, payload);
}

Bytes close_from_peer(Role receiver, std::uint16_t code) {
  const Bytes payload = ws::test::close_payload(code);
  return from_peer(receiver, Opcode::close, ws::as_text(payload));
}

// ---- no time, no action -------------------------------------------------

TEST(ConnectionTimers, NothingHappensWithoutAdvanceTime) {
  // Every timer is far shorter than the real time that passes here: only
  // advance_time() moves the connection's clock.
  for (const Role role : {Role::server, Role::client}) {
    Connection c = Connection::after_handshake(role, timers(1ms, 2ms, 3ms));
    Connection closing = Connection::after_handshake(role, timers(1ms, 2ms, 3ms));
    ASSERT_FALSE(closing.close());
    const std::size_t close_size = closing.pending_output_size();
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(c.pending_output_size(), 0U);
    EXPECT_FALSE(c.next_event().has_value());
    EXPECT_EQ(c.state(), State::open);
    EXPECT_EQ(closing.pending_output_size(), close_size);
    EXPECT_FALSE(closing.next_event().has_value());
    EXPECT_EQ(closing.state(), State::closing);
    EXPECT_FALSE(closing.should_close_transport());
  }
}

// ---- next_deadline --------------------------------------------------------

TEST(ConnectionTimers, NoTimerRunsBeforeTheFirstAdvanceTime) {
  // docs/protocol.md: the first advance_time() starts the timers.
  Connection c = Connection::after_handshake(Role::server, timers(1s, 2s));
  EXPECT_FALSE(c.next_deadline().has_value());
  c.advance_time(t0 + 1h);  // the first time given is the start, not a timeout
  EXPECT_EQ(c.pending_output_size(), 0U);
  EXPECT_FALSE(c.next_event().has_value());
  EXPECT_EQ(c.next_deadline(), t0 + 1h + 1s);
}

TEST(ConnectionTimers, NoDeadlineWhenNoTimerRuns) {
  Connection c = Connection::after_handshake(Role::server, timers(0ms, 0ms));
  c.advance_time(t0);
  EXPECT_FALSE(c.next_deadline().has_value());
}

TEST(ConnectionTimers, NextDeadlineIsTheKeepaliveInterval) {
  Connection c = Connection::after_handshake(Role::server, timers(30s, 0ms));
  c.advance_time(t0);
  EXPECT_EQ(c.next_deadline(), t0 + 30s);
}

TEST(ConnectionTimers, NextDeadlineIsTheIdleTimeout) {
  Connection c = Connection::after_handshake(Role::server, timers(0ms, 45s));
  c.advance_time(t0);
  EXPECT_EQ(c.next_deadline(), t0 + 45s);
}

TEST(ConnectionTimers, NextDeadlineIsTheEarliestRunningTimer) {
  Connection a = Connection::after_handshake(Role::server, timers(30s, 10s));
  a.advance_time(t0);
  EXPECT_EQ(a.next_deadline(), t0 + 10s);
  Connection b = Connection::after_handshake(Role::client, timers(10s, 30s));
  b.advance_time(t0);
  EXPECT_EQ(b.next_deadline(), t0 + 10s);
}

TEST(ConnectionTimers, NextDeadlineMovesWithInput) {
  Connection c = Connection::after_handshake(Role::server, timers(0ms, 10s));
  c.advance_time(t0);
  ws::test::feed(c, from_peer(Role::server, Opcode::binary, "data"));
  c.advance_time(t0 + 4s);  // the input counts as received now
  EXPECT_EQ(c.next_deadline(), t0 + 14s);
}

TEST(ConnectionTimers, NextDeadlineIsTheCloseTimeoutAfterClose) {
  Connection c = Connection::after_handshake(Role::server, timers(0ms, 0ms, 5s));
  c.advance_time(t0);
  ASSERT_FALSE(c.close());
  // The close counts as sent at the next advance_time (as input counts as
  // received then), which is wanted at once.
  EXPECT_EQ(c.next_deadline(), t0);
  c.advance_time(t0 + 1ms);
  EXPECT_EQ(c.next_deadline(), t0 + 1ms + 5s);
}

TEST(ConnectionTimers, CloseAfterALongSilenceStillWaitsTheWholeCloseTimeout) {
  // The last advance_time was long ago (no timer ran, so the transport had
  // no reason to pass the time in); the close wait starts when the time is
  // next given, not at that stale time, so the peer gets its 5 s to answer.
  for (const Role role : {Role::server, Role::client}) {
    Connection c = Connection::after_handshake(role, timers(0ms, 0ms, 5s));
    c.advance_time(t0);
    ASSERT_FALSE(c.close(CloseCode::normal, "bye"));
    c.advance_time(t0 + 1h);
    EXPECT_FALSE(c.next_event().has_value());
    EXPECT_EQ(c.state(), State::closing);
    EXPECT_EQ(c.next_deadline(), t0 + 1h + 5s);
    const std::vector<OwnedEvent> events = ws::test::feed(c, close_from_peer(role, 1000));
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].type, OwnedEvent::Type::closed);
    EXPECT_FALSE(events[0].error);
    EXPECT_EQ(events[0].code, CloseCode::normal);
  }
}

TEST(ConnectionTimers, ClientAnsweringACloseAfterALongSilenceWaitsTheWholeCloseTimeout) {
  // 7.1.1: after the close handshake the client waits for the server to
  // end the stream, from when it learns the time, not from a stale tick.
  Connection c = Connection::after_handshake(Role::client, timers(0ms, 0ms, 5s));
  c.advance_time(t0);
  ASSERT_EQ(ws::test::feed(c, close_from_peer(Role::client, 1000)).size(), 1U);
  c.advance_time(t0 + 1h);
  EXPECT_EQ(c.next_deadline(), t0 + 1h + 5s);
  EXPECT_FALSE(c.should_close_transport());
}

// ---- keepalive -------------------------------------------------------------

TEST(ConnectionTimers, KeepalivePingIsSentAfterAnIntervalOfSilence) {
  for (const Role role : {Role::server, Role::client}) {
    Connection c = Connection::after_handshake(role, timers(1s, 0ms));
    c.advance_time(t0);
    c.advance_time(t0 + 999ms);
    EXPECT_EQ(c.pending_output_size(), 0U);
    c.advance_time(t0 + 1s);
    const std::vector<ws::test::ParsedFrame> frames = written_frames(c);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].header.opcode, Opcode::ping);
    EXPECT_EQ(frames[0].header.masked, role == Role::client);  // RFC 6455 5.1
    EXPECT_FALSE(c.next_event().has_value());                  // no event for our own ping
    EXPECT_EQ(c.state(), State::open);
  }
}

TEST(ConnectionTimers, KeepalivePingIsRepeatedWhileSilenceLasts) {
  Connection c = Connection::after_handshake(Role::server, timers(1s, 0ms));
  c.advance_time(t0);
  c.advance_time(t0 + 1s);
  EXPECT_EQ(written_frames(c).size(), 1U);
  EXPECT_EQ(c.next_deadline(), t0 + 2s);
  c.advance_time(t0 + 2s);
  const std::vector<ws::test::ParsedFrame> frames = written_frames(c);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::ping);
}

TEST(ConnectionTimers, KeepalivePingIsNotSentWhileInputKeepsArriving) {
  Connection c = Connection::after_handshake(Role::server, timers(1s, 0ms));
  c.advance_time(t0);
  for (int i = 1; i <= 10; ++i) {
    ws::test::feed(c, from_peer(Role::server, Opcode::pong, ""));
    c.advance_time(t0 + i * 600ms);
    EXPECT_EQ(c.pending_output_size(), 0U) << "at " << i * 600 << " ms";
  }
  EXPECT_EQ(c.next_deadline(), t0 + 6s + 1s);
}

TEST(ConnectionTimers, PeersPongToKeepalivePingResetsTheInterval) {
  Connection c = Connection::after_handshake(Role::client, timers(1s, 0ms));
  c.advance_time(t0);
  c.advance_time(t0 + 1s);
  const std::vector<ws::test::ParsedFrame> ping = written_frames(c);
  ASSERT_EQ(ping.size(), 1U);
  const std::vector<OwnedEvent> events =
      ws::test::feed(c, from_peer(Role::client, Opcode::pong, ws::test::text_of(ping[0].payload)));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::pong);
  c.advance_time(t0 + 1500ms);
  EXPECT_EQ(c.next_deadline(), t0 + 2500ms);
  c.advance_time(t0 + 2s);
  EXPECT_EQ(c.pending_output_size(), 0U);
}

// ---- idle timeout ----------------------------------------------------------

TEST(ConnectionTimers, IdleTimeoutFailsTheConnectionWith1001) {
  for (const Role role : {Role::server, Role::client}) {
    Connection c = Connection::after_handshake(role, timers(0ms, 2s));
    c.advance_time(t0);
    c.advance_time(t0 + 1999ms);
    EXPECT_FALSE(c.next_event().has_value());
    c.advance_time(t0 + 2s);
    const std::vector<OwnedEvent> events = ws::test::drain(c);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].type, OwnedEvent::Type::closed);
    EXPECT_EQ(events[0].error, ws::errc::idle_timeout);
    EXPECT_EQ(events[0].error, ws::condition::transport_failure);
    EXPECT_EQ(events[0].code, CloseCode::abnormal);  // no close frame came from the peer
    EXPECT_EQ(events[0].sent_code, CloseCode::going_away);
    EXPECT_EQ(c.state(), State::closed);
    // The close frame goes out first; then the transport is closed.
    EXPECT_FALSE(c.should_close_transport());
    const std::vector<ws::test::ParsedFrame> frames = written_frames(c);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].header.opcode, Opcode::close);
    EXPECT_EQ(frames[0].payload, ws::test::close_payload(1001));
    EXPECT_TRUE(c.should_close_transport());
    EXPECT_FALSE(c.next_deadline().has_value());
    c.advance_time(t0 + 1h);
    EXPECT_FALSE(c.next_event().has_value());
  }
}

TEST(ConnectionTimers, IdleTimeoutIsPostponedByInput) {
  Connection c = Connection::after_handshake(Role::server, timers(0ms, 2s));
  c.advance_time(t0);
  ws::test::feed(c, from_peer(Role::server, Opcode::text, "still here"));
  c.advance_time(t0 + 1500ms);
  c.advance_time(t0 + 3s);
  EXPECT_FALSE(c.next_event().has_value());
  EXPECT_EQ(c.state(), State::open);
  c.advance_time(t0 + 3500ms);
  const std::optional<ws::Event> event = c.next_event();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(ws::test::own(*event).error, ws::errc::idle_timeout);
}

TEST(ConnectionTimers, IdleTimeoutFiresWhenKeepalivePingsGoUnanswered) {
  Connection c = Connection::after_handshake(Role::server, timers(1s, 3s));
  c.advance_time(t0);
  c.advance_time(t0 + 1s);
  c.advance_time(t0 + 2s);
  std::vector<ws::test::ParsedFrame> frames = written_frames(c);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::ping);
  EXPECT_EQ(frames[1].header.opcode, Opcode::ping);
  EXPECT_FALSE(c.next_event().has_value());
  c.advance_time(t0 + 3s);
  const std::vector<OwnedEvent> events = ws::test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, ws::errc::idle_timeout);
  frames = written_frames(c);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, ws::test::close_payload(1001));
}

TEST(ConnectionTimers, LateAdvanceTimeFiresTheOverdueTimeout) {
  Connection c = Connection::after_handshake(Role::server, timers(0ms, 2s));
  c.advance_time(t0);
  c.advance_time(t0 + 1h);
  const std::vector<OwnedEvent> events = ws::test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, ws::errc::idle_timeout);
}

// ---- close timeout ---------------------------------------------------------

TEST(ConnectionTimers, CloseTimeoutEndsTheConnectionWhenThePeerNeverAnswersClose) {
  for (const Role role : {Role::server, Role::client}) {
    Connection c = Connection::after_handshake(role, timers(0ms, 0ms, 5s));
    c.advance_time(t0);
    ASSERT_FALSE(c.close(CloseCode::normal, "bye"));
    ASSERT_EQ(written_frames(c).size(), 1U);
    c.advance_time(t0);  // the close wait starts here
    c.advance_time(t0 + 4999ms);
    EXPECT_FALSE(c.next_event().has_value());
    EXPECT_EQ(c.state(), State::closing);
    EXPECT_FALSE(c.should_close_transport());
    c.advance_time(t0 + 5s);
    const std::vector<OwnedEvent> events = ws::test::drain(c);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].type, OwnedEvent::Type::closed);
    EXPECT_EQ(events[0].error, ws::errc::close_timeout);
    EXPECT_EQ(events[0].error, ws::condition::transport_failure);
    EXPECT_EQ(events[0].code, CloseCode::abnormal);
    EXPECT_EQ(events[0].sent_code, CloseCode::normal);
    EXPECT_EQ(c.state(), State::closed);
    EXPECT_EQ(c.pending_output_size(), 0U);  // the close already went out
    EXPECT_TRUE(c.should_close_transport());
    EXPECT_FALSE(c.next_deadline().has_value());
  }
}

TEST(ConnectionTimers, ClientAfterCleanCloseWaitsForTheServerToEndTheStream) {
  // RFC 6455 7.1.1: the server closes the TCP connection first.
  Connection c = Connection::after_handshake(Role::client, timers(0ms, 0ms, 5s));
  c.advance_time(t0);
  ASSERT_FALSE(c.close());
  ws::test::take_output(c);
  const std::vector<OwnedEvent> events = ws::test::feed(c, close_from_peer(Role::client, 1000));
  c.advance_time(t0 + 1s);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_FALSE(events[0].error);
  EXPECT_EQ(events[0].code, CloseCode::normal);
  EXPECT_EQ(c.state(), State::closed);
  EXPECT_FALSE(c.should_close_transport());
  EXPECT_TRUE(c.next_deadline().has_value());

  c.receive_eof();
  EXPECT_FALSE(c.next_event().has_value());
  EXPECT_TRUE(c.should_close_transport());
  EXPECT_FALSE(c.next_deadline().has_value());
}

TEST(ConnectionTimers, ClientWhoseStreamEndedRightAfterTheServersCloseNeedsNoTimer) {
  // The server's close and its end of stream arrive in one read, before
  // next_event() has parsed the close (connection.hpp: "Buffered bytes are
  // still processed"). The end of stream the client waits for (RFC 6455
  // 7.1.1) has already come: nothing is left to wait for.
  Connection c = Connection::after_handshake(Role::client, timers(0ms, 0ms, 5s));
  c.advance_time(t0);
  const Bytes close = close_from_peer(Role::client, 1000);
  ASSERT_EQ(c.receive(close), close.size());
  c.receive_eof();
  const std::vector<OwnedEvent> events = ws::test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_FALSE(events[0].error);
  EXPECT_EQ(events[0].code, CloseCode::normal);
  ws::test::take_output(c);  // the reply, written or not: the stream is gone
  EXPECT_TRUE(c.should_close_transport());
  EXPECT_FALSE(c.next_deadline().has_value());
}

TEST(ConnectionTimers, ClientAfterCleanCloseGivesUpWaitingAtTheCloseTimeout) {
  Connection c = Connection::after_handshake(Role::client, timers(0ms, 0ms, 5s));
  c.advance_time(t0);
  ASSERT_FALSE(c.close());
  ws::test::take_output(c);
  c.advance_time(t0 + 1s);
  const std::vector<OwnedEvent> events = ws::test::feed(c, close_from_peer(Role::client, 1000));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_FALSE(events[0].error);
  c.advance_time(t0 + 1s);

  // The wait is bounded by the close timeout (counted from the close sent or
  // received; either reading of the contract fits).
  const std::optional<TimePoint> deadline = c.next_deadline();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_LE(*deadline, t0 + 1s + 5s);
  c.advance_time(*deadline - 1ms);
  EXPECT_FALSE(c.should_close_transport());
  c.advance_time(*deadline);
  EXPECT_TRUE(c.should_close_transport());
  EXPECT_FALSE(c.next_event().has_value());  // the Closed event was the last one
  EXPECT_FALSE(c.next_deadline().has_value());
}

TEST(ConnectionTimers, ClientAnsweringServerCloseWaitsAtMostTheCloseTimeout) {
  Connection c = Connection::after_handshake(Role::client, timers(0ms, 0ms, 5s));
  c.advance_time(t0);
  const std::vector<OwnedEvent> events = ws::test::feed(c, close_from_peer(Role::client, 1001));
  c.advance_time(t0 + 2s);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_FALSE(events[0].error);
  EXPECT_EQ(events[0].code, CloseCode::going_away);
  const std::vector<ws::test::ParsedFrame> reply = written_frames(c);
  ASSERT_EQ(reply.size(), 1U);
  EXPECT_EQ(reply[0].header.opcode, Opcode::close);
  EXPECT_FALSE(c.should_close_transport());

  const std::optional<TimePoint> deadline = c.next_deadline();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_LE(*deadline, t0 + 2s + 5s);
  c.advance_time(*deadline);
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionTimers, ServerAfterCleanCloseNeedsNoTimer) {
  // RFC 6455 7.1.1: the server closes the transport as soon as the close
  // handshake is done, whoever started it.
  {
    Connection c = Connection::after_handshake(Role::server, timers(1s, 2s, 5s));
    c.advance_time(t0);
    const std::vector<OwnedEvent> events = ws::test::feed(c, close_from_peer(Role::server, 1000));
    ASSERT_EQ(events.size(), 1U);
    EXPECT_FALSE(events[0].error);
    EXPECT_FALSE(c.should_close_transport());  // the reply is not written yet
    ASSERT_EQ(written_frames(c).size(), 1U);
    EXPECT_TRUE(c.should_close_transport());
    EXPECT_FALSE(c.next_deadline().has_value());
  }
  {
    Connection c = Connection::after_handshake(Role::server, timers(1s, 2s, 5s));
    c.advance_time(t0);
    ASSERT_FALSE(c.close());
    ws::test::take_output(c);
    const std::vector<OwnedEvent> events = ws::test::feed(c, close_from_peer(Role::server, 1000));
    ASSERT_EQ(events.size(), 1U);
    EXPECT_FALSE(events[0].error);
    EXPECT_EQ(c.pending_output_size(), 0U);  // the handshake is done: nothing to answer
    EXPECT_TRUE(c.should_close_transport());
    EXPECT_FALSE(c.next_deadline().has_value());
  }
}

TEST(ConnectionTimers, NoKeepaliveOrIdleTimeoutOnceClosed) {
  Connection c = Connection::after_handshake(Role::server, timers(1s, 2s, 5s));
  c.advance_time(t0);
  ws::test::feed(c, close_from_peer(Role::server, 1000));
  ws::test::take_output(c);
  c.advance_time(t0 + 1h);
  EXPECT_EQ(c.pending_output_size(), 0U);
  EXPECT_FALSE(c.next_event().has_value());
}

}  // namespace
