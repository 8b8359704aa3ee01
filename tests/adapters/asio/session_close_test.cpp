// ws::asio::Session (ws::Session) close() answers at once:
// a code that may not be sent is an error, never replaced by 1000, and a
// second close is refused.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "loopback.hpp"
#include "support/frames.hpp"
#include "ws/asio/stream.hpp"

namespace {

using namespace ws::asio::test;
using ws::CloseCode;
using ws::errc;
using ws::MessageKind;

TEST(AsioSessionClose, ACodeThatMayNotBeSentIsAnErrorAndNothingIsSent) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  const auto session = pair.server.session();
  EXPECT_EQ(session->close(CloseCode::no_status), make_error_code(errc::close_code_not_sendable));
  EXPECT_EQ(session->close(CloseCode::abnormal), make_error_code(errc::close_code_not_sendable));
  EXPECT_EQ(session->close(CloseCode::normal, std::string(124, 'r')),
            make_error_code(errc::close_reason_too_long));
  // The connection is still open: a message goes through.
  EXPECT_EQ(session->send_text("still here"), std::error_code{});
  ReadOutcome read;
  read_into(pair.client, read);
  ASSERT_TRUE(run_until(io, [&] { return read.done(); }));
  EXPECT_EQ(read.error, std::error_code{});
  EXPECT_EQ(read.payload, "still here");
}

TEST(AsioSessionClose, TheCodeAskedForIsSentAndASecondCloseIsRefused) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  const auto session = pair.server.session();
  EXPECT_EQ(session->close(CloseCode::try_again_later, "later"), std::error_code{});
  EXPECT_EQ(session->close(CloseCode::normal), make_error_code(errc::not_open));
  ReadOutcome read;
  read_into(pair.client, read);
  ASSERT_TRUE(run_until(io, [&] { return read.done(); }));
  EXPECT_TRUE(read.error);
  EXPECT_EQ(pair.client.close_info().code, CloseCode::try_again_later);
  EXPECT_EQ(pair.client.close_info().reason, "later");
}

}  // namespace
