// Every transition of a connection's lifecycle (docs/design.md draws the
// same table): RFC 6455 5.5.1 (a close received while open completes the
// handshake for this side, the reply being queued at once) and 7.1.1 (the
// server ends the TCP connection first, so a client that finished the close
// handshake waits for the end of the stream).
#include <gtest/gtest.h>

#include "connection/state_machine.hpp"

namespace ws::detail {
namespace {

using In = LifecycleInput;

Lifecycle at(Phase phase, Role role = Role::server, bool stream_ended = false) {
  Lifecycle lifecycle;
  lifecycle.phase = phase;
  lifecycle.role = role;
  lifecycle.stream_ended = stream_ended;
  return lifecycle;
}

TEST(StateMachine, FollowsTheDocumentedTable) {
  struct Row {
    Lifecycle from;
    In input;
    Phase to;
  };
  const Role client = Role::client;
  const Row table[] = {
      {at(Phase::handshaking), In::handshake_completed, Phase::open},
      {at(Phase::handshaking), In::handshake_failed, Phase::failed},
      {at(Phase::handshaking), In::failed, Phase::failed},
      {at(Phase::handshaking), In::close_sent, Phase::handshaking},
      {at(Phase::handshaking), In::close_received, Phase::handshaking},
      {at(Phase::handshaking), In::stream_ended, Phase::handshaking},
      {at(Phase::open), In::close_sent, Phase::closing},
      {at(Phase::open), In::close_received, Phase::done},
      {at(Phase::open, client), In::close_received, Phase::draining},
      {at(Phase::open, client, true), In::close_received, Phase::done},
      {at(Phase::open), In::failed, Phase::failed},
      {at(Phase::open), In::handshake_completed, Phase::open},
      {at(Phase::open), In::stream_ended, Phase::open},  // buffered bytes still parse
      {at(Phase::open), In::wait_expired, Phase::open},
      {at(Phase::closing), In::close_received, Phase::done},
      {at(Phase::closing, client), In::close_received, Phase::draining},
      {at(Phase::closing, client, true), In::close_received, Phase::done},
      {at(Phase::closing), In::failed, Phase::failed},
      {at(Phase::closing), In::close_sent, Phase::closing},
      {at(Phase::closing), In::stream_ended, Phase::closing},
      {at(Phase::draining, client), In::stream_ended, Phase::done},
      {at(Phase::draining, client), In::wait_expired, Phase::done},
      {at(Phase::draining, client), In::failed, Phase::draining},
      {at(Phase::draining, client), In::close_received, Phase::draining},
      {at(Phase::done), In::failed, Phase::done},
      {at(Phase::done), In::handshake_completed, Phase::done},
      {at(Phase::done), In::stream_ended, Phase::done},
      {at(Phase::failed), In::close_received, Phase::failed},
      {at(Phase::failed), In::handshake_completed, Phase::failed},
      {at(Phase::failed), In::stream_ended, Phase::failed},
  };
  for (const Row& row : table) {
    EXPECT_EQ(next(row.from, row.input).phase, row.to)
        << static_cast<int>(row.from.phase) << " + " << static_cast<int>(row.input);
  }
}

TEST(StateMachine, RecordsTheEndOfTheStreamInEveryPhase) {
  for (const Phase phase : {Phase::handshaking, Phase::open, Phase::closing, Phase::draining,
                            Phase::done, Phase::failed}) {
    EXPECT_TRUE(next(at(phase), In::stream_ended).stream_ended) << static_cast<int>(phase);
    EXPECT_FALSE(next(at(phase), In::failed).stream_ended) << static_cast<int>(phase);
  }
}

TEST(StateMachine, MapsEachPhaseToThePublicState) {
  EXPECT_EQ(at(Phase::handshaking).state(), State::handshaking);
  EXPECT_EQ(at(Phase::open).state(), State::open);
  EXPECT_EQ(at(Phase::closing).state(), State::closing);
  EXPECT_EQ(at(Phase::draining).state(), State::closed);
  EXPECT_EQ(at(Phase::done).state(), State::closed);
  EXPECT_EQ(at(Phase::failed).state(), State::closed);
}

TEST(StateMachine, SaysWhatEachPhaseWaitsFor) {
  // The close timeout runs while the peer's close (closing) or, for a
  // client, the end of its stream (draining) is awaited.
  EXPECT_TRUE(at(Phase::closing).awaits_peer());
  EXPECT_TRUE(at(Phase::draining).awaits_peer());
  EXPECT_FALSE(at(Phase::open).awaits_peer());
  EXPECT_FALSE(at(Phase::done).awaits_peer());
  // The transport closes once nothing more is awaited.
  EXPECT_TRUE(at(Phase::done).finished());
  EXPECT_TRUE(at(Phase::failed).finished());
  EXPECT_FALSE(at(Phase::draining).finished());
  EXPECT_FALSE(at(Phase::closing).finished());
}

}  // namespace
}  // namespace ws::detail
