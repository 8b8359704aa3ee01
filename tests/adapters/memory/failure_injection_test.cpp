// Failing the transport at any point of a whole exchange ends both sides
// cleanly: each reaches State::closed with exactly one Closed event within
// a bounded number of steps, and what each received is a prefix of what the
// other sent (in order, nothing twice).
#include <gtest/gtest.h>

#include <cstddef>

#include "cut_size_name.hpp"
#include "exchange_script.hpp"
#include "ws/memory/duplex_pipe.hpp"
#include "ws/memory/pump.hpp"

namespace ws {
namespace {

using memory::DuplexPipe;

struct Baseline {
  std::size_t operations = 0;
  std::size_t steps = 0;
};

Baseline run_without_failure(std::size_t cut) {
  Connection client = test::test_client();
  Connection server = Connection::server();
  DuplexPipe pipe(DuplexPipe::cut_to(cut));
  test::ExchangeScript script;
  const memory::PumpResult result = memory::pump(client, server, pipe, script.handler());
  EXPECT_TRUE(result.quiet);
  EXPECT_EQ(script.client_received, script.server_sent);
  EXPECT_EQ(script.client_closed.size(), 1U);
  return {pipe.operation_count(), result.steps};
}

class FailureInjection : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FailureInjection, FailingAnyOperationEndsBothSidesClosedOnceWithAPrefixDelivered) {
  const std::size_t cut = GetParam();
  const Baseline baseline = run_without_failure(cut);
  ASSERT_GT(baseline.operations, 0U);
  const std::size_t max_steps = 2 * baseline.steps + 100;

  for (std::size_t k = 1; k <= baseline.operations; ++k) {
    SCOPED_TRACE("failing operation " + std::to_string(k) + " of " +
                 std::to_string(baseline.operations));
    Connection client = test::test_client();
    Connection server = Connection::server();
    DuplexPipe::Faults faults = DuplexPipe::cut_to(cut);
    faults.fail_operation = k;
    DuplexPipe pipe(faults);
    test::ExchangeScript script;

    const memory::PumpResult result =
        memory::pump(client, server, pipe, script.handler(), max_steps);

    ASSERT_TRUE(result.quiet) << "no end after " << result.steps << " steps";
    EXPECT_TRUE(pipe.is_broken(memory::Side::a) || pipe.is_broken(memory::Side::b));
    EXPECT_EQ(client.state(), State::closed);
    EXPECT_EQ(server.state(), State::closed);
    EXPECT_EQ(script.client_closed.size(), 1U);
    EXPECT_EQ(script.server_closed.size(), 1U);
    // A lost transport is an end of stream, never a protocol error (RFC 6455 7.1.5).
    for (const auto* closed : {&script.client_closed, &script.server_closed}) {
      if (!closed->empty() && closed->front().error) {
        EXPECT_EQ(closed->front().error, errc::unexpected_eof);
        EXPECT_EQ(closed->front().code, CloseCode::abnormal);
      }
    }
    EXPECT_TRUE(test::is_prefix(script.client_received, script.server_sent));
    EXPECT_TRUE(test::is_prefix(script.server_received, script.client_sent));
    if (::testing::Test::HasFailure()) break;  // one failing K tells the story
  }
}

INSTANTIATE_TEST_SUITE_P(CutSizes, FailureInjection,
                         ::testing::Values(memory::no_cut, std::size_t{7}, std::size_t{1}),
                         test::cut_size_name);

}  // namespace
}  // namespace ws
