// A handler that throws: the documented contract of the blocking adapter is
// that the exception ends the connection without on_close and leaves the
// serve() call, and that no other handler runs on the way out (a second
// throw there would terminate the process).
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "blocking_test_support.hpp"
#include "support/frames.hpp"

namespace ws::posix::test {
namespace {

TEST(BlockingException, AThrowingHandlerEndsTheConnectionWithoutOtherCallbacks) {
  Listener listener;
  std::atomic<int> messages{0};
  std::atomic<int> closes{0};
  std::atomic<bool> threw_out{false};
  BlockingCallbacks handler;
  handler.open = [](const BlockingSessionPtr&) {};
  handler.message = [&messages](const BlockingSessionPtr&, const Message&) {
    ++messages;
    throw std::runtime_error("the application failed");  // every time
  };
  handler.close = [&closes](const BlockingSessionPtr&, const Closed&) { ++closes; };
  std::thread server([&] {
    FileDescriptor fd = listener.accept_one();
    try {
      (void)serve(fd.get(), handler);
    } catch (const std::runtime_error&) {
      threw_out = true;
    }
  });
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  // Two messages in one write: the second is still buffered when the first
  // handler throws, and must not be handed over on the way out.
  Bytes both = ws::test::client_frame(Opcode::text, "one");
  const Bytes second = ws::test::client_frame(Opcode::text, "two");
  both.insert(both.end(), second.begin(), second.end());
  client.send(ByteView(both));
  EXPECT_TRUE(client.wait_for_eof());  // the server shut the socket down
  server.join();
  EXPECT_TRUE(threw_out);
  EXPECT_EQ(messages.load(), 1);
  EXPECT_EQ(closes.load(), 0);
}

}  // namespace
}  // namespace ws::posix::test
