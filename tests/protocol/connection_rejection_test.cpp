// A client whose upgrade the server refuses with another status (RFC 6455
// 4.1: "If the status code received from the server is not 101, the client
// handles the response per HTTP procedures"): the Rejected event carries the
// body, delimited as HTTP delimits it (RFC 9112 6.3), and comes as soon as
// the body is complete rather than when the server closes.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::bytes_of;
using test::OwnedEvent;

Connection client_waiting_for_answer() {
  Result<Connection> made = Connection::client("ws://localhost/chat");
  EXPECT_TRUE(made.has_value());
  (void)test::take_output(*made);
  return std::move(*made);
}

constexpr std::string_view chunked_head =
    "HTTP/1.1 403 Forbidden\r\n"
    "Content-Type: text/plain\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";

void expect_rejection(const std::vector<OwnedEvent>& events, int status, std::string_view body) {
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::rejected);
  EXPECT_EQ(events[0].status, status);
  EXPECT_EQ(events[0].text(), body);
  EXPECT_EQ(events[1].type, OwnedEvent::Type::closed);
  EXPECT_EQ(events[1].error, errc::unexpected_status);
}

// RFC 9112 7.1: the last chunk (size 0) and the empty line end the body, so
// the rejection is complete without the end of the stream.
TEST(ConnectionRejection, ChunkedBodyIsDecodedAndReportedWithoutWaitingForTheEnd) {
  Connection c = client_waiting_for_answer();
  const auto events =
      test::feed(c, bytes_of(std::string(chunked_head) + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  expect_rejection(events, 403, "hello world");
  EXPECT_TRUE(c.should_close_transport());
}

// RFC 9112 7.1.1, 7.1.2: chunk extensions are ignored, trailer fields skipped.
TEST(ConnectionRejection, ChunkExtensionsAndTrailersAreSkipped) {
  Connection c = client_waiting_for_answer();
  const auto events = test::feed(
      c, bytes_of(std::string(chunked_head) + "4;name=value\r\nnope\r\nA\r\n, go away\n\r\n"
                                              "0\r\nX-Trailer: yes\r\n\r\n"));
  expect_rejection(events, 403, "nope, go away\n");
}

TEST(ConnectionRejection, IncompleteChunkedBodyWaitsForMore) {
  Connection c = client_waiting_for_answer();
  EXPECT_TRUE(test::feed(c, bytes_of(std::string(chunked_head) + "5\r\nhello\r\n")).empty());
  EXPECT_TRUE(test::feed(c, bytes_of("0\r\n")).empty());
  expect_rejection(test::feed(c, bytes_of("\r\n")), 403, "hello");
}

TEST(ConnectionRejection, ChunkedBodyCutByTheEndOfStreamKeepsWhatArrived) {
  Connection c = client_waiting_for_answer();
  EXPECT_TRUE(test::feed(c, bytes_of(std::string(chunked_head) + "5\r\nhello\r\n3\r\nab")).empty());
  c.receive_eof();
  expect_rejection(test::drain(c), 403, "helloab");
}

TEST(ConnectionRejection, MalformedChunkedBodyIsReportedAtOnceWithWhatWasDecoded) {
  Connection c = client_waiting_for_answer();
  const auto events =
      test::feed(c, bytes_of(std::string(chunked_head) + "5\r\nhello\r\nzz\r\nmore\r\n"));
  expect_rejection(events, 403, "hello");
}

TEST(ConnectionRejection, ContentLengthDelimitsTheBody) {
  Connection c = client_waiting_for_answer();
  const auto events = test::feed(
      c, bytes_of("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\ndeny and more"));
  expect_rejection(events, 401, "deny");
}

TEST(ConnectionRejection, WithoutLengthOrChunkingTheBodyEndsWithTheStream) {
  Connection c = client_waiting_for_answer();
  EXPECT_TRUE(test::feed(c, bytes_of("HTTP/1.1 500 Oops\r\n\r\npartial")).empty());
  c.receive_eof();
  expect_rejection(test::drain(c), 500, "partial");
}

// However the chunked answer is cut into reads, the same rejection results.
RC_GTEST_PROP(ConnectionRejection, AnyChunkingOfAChunkedAnswerGivesTheSameRejection, ()) {
  const std::string wire =
      std::string(chunked_head) + "3\r\nabc\r\n1;e=1\r\nd\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
  const auto cuts =
      *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, wire.size()));
  Connection c = client_waiting_for_answer();
  std::vector<OwnedEvent> events;
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    if (cut <= at) continue;
    auto more = test::feed(c, bytes_of(wire.substr(at, cut - at)));
    events.insert(events.end(), more.begin(), more.end());
    at = cut;
  }
  auto more = test::feed(c, bytes_of(wire.substr(at)));
  events.insert(events.end(), more.begin(), more.end());
  RC_ASSERT(events.size() == 2U);
  RC_ASSERT(events[0].text() == "abcd0123456789abcdef");
}

}  // namespace
}  // namespace ws
