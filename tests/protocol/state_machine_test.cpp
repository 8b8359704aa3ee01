// Every transition of the connection state (docs/design.md draws the same table).
#include <gtest/gtest.h>

#include "connection/state_machine.hpp"

namespace ws::detail {
namespace {

TEST(StateMachine, FollowsTheDocumentedTable) {
  using I = StateInput;
  struct Row {
    State from;
    StateInput input;
    State to;
  };
  const Row table[] = {
      {State::handshaking, I::handshake_completed, State::open},
      {State::handshaking, I::handshake_failed, State::closed},
      {State::handshaking, I::failed, State::closed},
      {State::handshaking, I::close_sent, State::handshaking},
      {State::open, I::close_sent, State::closing},
      {State::open, I::close_received, State::closed},
      {State::open, I::failed, State::closed},
      {State::open, I::handshake_completed, State::open},
      {State::closing, I::close_received, State::closed},
      {State::closing, I::failed, State::closed},
      {State::closing, I::close_sent, State::closing},
      {State::closed, I::handshake_completed, State::closed},
      {State::closed, I::close_received, State::closed},
      {State::closed, I::failed, State::closed},
  };
  for (const Row& row : table) {
    EXPECT_EQ(next_state(row.from, row.input), row.to)
        << static_cast<int>(row.from) << " + " << static_cast<int>(row.input);
  }
}

}  // namespace
}  // namespace ws::detail
