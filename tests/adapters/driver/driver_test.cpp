// The Driver's rules, with no transport at all: bytes are handed over by
// hand and the clock is a variable. Every transport runs on this driver, so
// what holds here holds for threads, epoll, Asio and memory alike (the
// contract suite checks the transports themselves).
#include "ws/driver/driver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/base/error.hpp"

namespace ws {
namespace {

using namespace std::chrono_literals;
using test::Bytes;
using test::client_frame;

struct CountingWaker final : Waker {
  std::atomic<int> wakes{0};
  void wake() noexcept override { wakes.fetch_add(1); }
};

// What the handler saw.
struct Seen {
  std::vector<std::string> messages;
  std::vector<bool> backpressure;
  std::optional<Closed> closed;
  std::string closed_reason;
  int opens = 0;
  int closes = 0;
  SessionPtr session;
};

std::shared_ptr<Handler> recording_handler(Seen& seen, bool echo) {
  auto handler = std::make_shared<Handler>();
  handler->on_open = [&seen](const SessionPtr& session) {
    ++seen.opens;
    seen.session = session;
  };
  handler->on_message = [&seen, echo](const SessionPtr& session, const Message& message) {
    seen.messages.emplace_back(message.text());
    if (echo) {
      EXPECT_FALSE(session->send_text(message.text()));
    }
  };
  handler->on_backpressure = [&seen](const SessionPtr&, bool high) {
    seen.backpressure.push_back(high);
  };
  handler->on_close = [&seen](const SessionPtr&, const Closed& closed) {
    ++seen.closes;
    seen.closed = closed;
    seen.closed_reason = std::string(closed.reason);
  };
  return handler;
}

// Everything the server wrote, as one string.
std::string take_output(Driver& driver) {
  std::string out;
  for (const OutputBuffer& piece : driver.pending_output()) {
    out.append(reinterpret_cast<const char*>(piece.data), piece.size);
  }
  driver.consume_output(out.size());
  return out;
}

void feed(Driver& driver, const Bytes& bytes) {
  ByteView rest(bytes);
  while (!rest.empty()) {
    const std::size_t taken = driver.receive(rest);
    ASSERT_GT(taken, 0U) << "the driver took nothing: its input is full";
    rest = rest.subspan(taken);
  }
}

class DriverTest : public ::testing::Test {
 protected:
  std::unique_ptr<Driver> server(DriverOptions options = {}, Config config = {}, bool echo = true) {
    handler_ = recording_handler(seen_, echo);
    return std::make_unique<Driver>(Connection::after_handshake(Role::server, config), handler_,
                                    options, waker_);
  }

  TimePoint now_ = TimePoint{} + 1h;
  Seen seen_;
  std::shared_ptr<Handler> handler_;
  std::shared_ptr<CountingWaker> waker_ = std::make_shared<CountingWaker>();
};

TEST_F(DriverTest, EchoesFromInsideTheHandlerStraightIntoTheConnection) {
  auto driver = server();
  feed(*driver, client_frame(Opcode::text, "hello"));
  EXPECT_EQ(driver->step(now_), Driver::Turn::done);
  ASSERT_EQ(seen_.messages, std::vector<std::string>{"hello"});
  // An unmasked text frame of 5 bytes: 0x81 0x05 "hello".
  EXPECT_EQ(take_output(*driver), std::string("\x81\x05hello", 7));
  EXPECT_EQ(waker_->wakes.load(), 0) << "a send from the handler needs no wake-up";
}

// RFC 6455 5.5.1: a close reply follows the data sent before it; messages
// other threads queued before the peer's close go out before the reply.
TEST_F(DriverTest, QueuedMessagesGoOutBeforeTheCloseReply) {
  auto driver = server({}, {}, /*echo=*/false);
  feed(*driver, client_frame(Opcode::text, "x"));
  driver->step(now_);
  ASSERT_NE(seen_.session, nullptr);
  EXPECT_FALSE(seen_.session->send_text("queued"));  // not in a handler: queued
  EXPECT_EQ(waker_->wakes.load(), 1);
  EXPECT_FALSE(seen_.session->send_text("again"));
  EXPECT_EQ(waker_->wakes.load(), 1) << "one wake-up per batch";
  feed(*driver, client_frame(Opcode::close, std::string("\x03\xe8", 2)));
  driver->step(now_);
  const std::string out = take_output(*driver);
  EXPECT_EQ(out.find("queued"), 2U);
  EXPECT_LT(out.find("again"), out.find('\x88'));
  ASSERT_TRUE(seen_.closed.has_value());
  EXPECT_EQ(seen_.closed->code, CloseCode::normal);
  EXPECT_TRUE(driver->should_close_transport());
  driver->transport_closed();
  EXPECT_EQ(seen_.closes, 1) << "on_close exactly once";
}

// The fairness budget: a peer that floods frames completing no message
// (empty continuations after a first fragment, or pings) gets at most one
// turn's worth of work before the transport lets others run.
TEST_F(DriverTest, FloodOfPingsYieldsAfterTheEventBudget) {
  DriverOptions options;
  options.fairness.events_per_turn = 16;
  auto driver = server(options, {}, false);
  int ping_count = 0;
  handler_->on_ping = [&ping_count](const SessionPtr&, const Ping&) { ++ping_count; };
  Bytes flood;
  for (int i = 0; i < 100; ++i) {
    const Bytes ping = client_frame(Opcode::ping, "p");
    flood.insert(flood.end(), ping.begin(), ping.end());
  }
  feed(*driver, flood);
  EXPECT_EQ(driver->step(now_), Driver::Turn::yield);
  EXPECT_EQ(ping_count, 16);
  int turns = 1;
  Driver::Turn turn = Driver::Turn::yield;
  while (turn == Driver::Turn::yield) {
    turn = driver->step(now_);
    ++turns;
  }
  EXPECT_EQ(ping_count, 100);
  EXPECT_EQ(turns, 7);  // 16 per turn: 6 full turns and one with the last 4
}

TEST_F(DriverTest, ReadingStopsForTheTurnOnceTheByteBudgetIsSpent) {
  DriverOptions options;
  options.fairness.bytes_per_turn = 1000;
  auto driver = server(options, {}, false);
  // Empty continuation frames after an unfinished first fragment: no event.
  Bytes flood = client_frame(Opcode::text, "a", /*fin=*/false);
  while (flood.size() < 999) {
    const Bytes more = client_frame(Opcode::continuation, "", false);
    flood.insert(flood.end(), more.begin(), more.end());
  }
  EXPECT_TRUE(driver->wants_read());
  feed(*driver, flood);
  EXPECT_FALSE(driver->wants_read()) << "past the budget: let others run";
  EXPECT_TRUE(driver->receive_buffer().empty());
  EXPECT_EQ(driver->step(now_), Driver::Turn::done);
  EXPECT_TRUE(driver->wants_read()) << "a new turn, a new budget";
  EXPECT_TRUE(seen_.messages.empty());
}

// A peer that never reads: after write_stall_timeout with no progress the
// connection ends (1006, timed_out) and the transport is told to close.
TEST_F(DriverTest, WriteStallEndsAConnectionWhosePeerDoesNotRead) {
  DriverOptions options;
  options.write_stall_timeout = 200ms;
  auto driver = server(options);
  feed(*driver, client_frame(Opcode::text, "echo me"));
  driver->step(now_);
  ASSERT_TRUE(driver->wants_write());
  ASSERT_TRUE(driver->next_deadline().has_value());
  EXPECT_EQ(*driver->next_deadline(), now_ + 200ms);
  driver->step(now_ + 199ms);
  EXPECT_FALSE(driver->should_close_transport());
  driver->step(now_ + 200ms);
  EXPECT_TRUE(driver->should_close_transport());
  driver->transport_closed();
  ASSERT_TRUE(seen_.closed.has_value());
  EXPECT_EQ(seen_.closed->code, CloseCode::abnormal);
  EXPECT_EQ(seen_.closed->error, std::errc::timed_out);
  EXPECT_EQ(driver->result(), std::errc::timed_out);
  EXPECT_EQ(seen_.session->state(), SessionState::closed);
  EXPECT_EQ(seen_.session->backlog_bytes(), 0U);
  EXPECT_EQ(seen_.session->send_text("late"), errc::not_open);
}

TEST_F(DriverTest, WriteProgressRestartsTheStallClock) {
  DriverOptions options;
  options.write_stall_timeout = 200ms;
  auto driver = server(options);
  feed(*driver, client_frame(Opcode::text, "0123456789"));
  driver->step(now_);
  driver->step(now_ + 150ms);
  driver->consume_output(3);  // the peer took a little
  driver->step(now_ + 300ms);
  EXPECT_FALSE(driver->should_close_transport());
  driver->step(now_ + 350ms);
  EXPECT_TRUE(driver->should_close_transport());
}

// RFC 6455 7.4.1 1013: past high_water a close policy closes the
// connection; its close frame cannot be written either, so the write stall
// releases it (the epoll server used to keep such connections forever).
TEST_F(DriverTest, ClosePolicyThenStallReleasesAPeerThatNeverReads) {
  DriverOptions options;
  options.backpressure.high_water = 64 * 1024;
  options.backpressure.low_water = 16 * 1024;
  options.write_stall_timeout = 100ms;
  auto driver = server(options, {}, false);
  feed(*driver, client_frame(Opcode::text, "hi"));
  driver->step(now_);
  const SessionPtr session = seen_.session;
  ASSERT_NE(session, nullptr);
  const std::string chunk(16 * 1024, 'c');
  std::error_code refused;
  int accepted = 0;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = session->send_text(chunk);
    if (!refused) ++accepted;
    driver->step(now_);  // the owner moves them into the Connection
  }
  EXPECT_EQ(refused, errc::output_queue_full);
  EXPECT_GE(accepted, 3);
  EXPECT_LE(session->backlog_bytes(), options.backpressure.high_water);
  EXPECT_TRUE(session->over_limit());
  EXPECT_EQ(session->send_text(chunk), errc::not_open);
  // The close frame (1013) is queued behind the unread output.
  const std::string tail(reinterpret_cast<const char*>(driver->pending_output().back().data),
                         driver->pending_output().back().size);
  EXPECT_EQ(tail, std::string("\x88\x02\x03\xf5", 4));
  driver->step(now_ + 100ms);
  EXPECT_TRUE(driver->should_close_transport());
  driver->transport_closed();
  EXPECT_EQ(seen_.closes, 1);
}

TEST_F(DriverTest, DropPolicyCountsAndTellsTheSender) {
  DriverOptions options;
  options.backpressure.high_water = 40 * 1024;  // two 16 KiB messages fit, not three
  options.backpressure.low_water = 8 * 1024;
  options.backpressure.policy = SlowSubscriberPolicy::drop_messages;
  auto driver = server(options, {}, false);
  feed(*driver, client_frame(Opcode::text, "hi"));
  driver->step(now_);
  const std::string chunk(16 * 1024, 'd');
  EXPECT_FALSE(seen_.session->send_text(chunk));
  driver->step(now_);
  EXPECT_FALSE(seen_.session->send_text(chunk));
  EXPECT_EQ(seen_.session->send_text(chunk), errc::output_queue_full);
  EXPECT_EQ(seen_.session->dropped_count(), 1U);
  EXPECT_TRUE(seen_.session->is_open());
}

// One pause/resume rule: stop reading halfway between the marks, resume at
// low_water, and tell the application both times.
TEST_F(DriverTest, PausesAtTheMidpointAndResumesAtLowWater) {
  DriverOptions options;
  options.backpressure.high_water = 40 * 1024;
  options.backpressure.low_water = 10 * 1024;  // pause above 25 KiB
  auto driver = server(options);
  feed(*driver, client_frame(Opcode::text, std::string(20 * 1024, 'a')));
  driver->step(now_);
  EXPECT_TRUE(driver->wants_read());
  feed(*driver, client_frame(Opcode::text, std::string(10 * 1024, 'b')));
  driver->step(now_);
  EXPECT_FALSE(driver->wants_read());
  EXPECT_EQ(seen_.backpressure, std::vector<bool>{true});
  driver->consume_output(driver->pending_output_size() - 10 * 1024);
  EXPECT_TRUE(driver->wants_read()) << "resumes as soon as the bytes are written";
  ASSERT_TRUE(driver->next_deadline().has_value());
  EXPECT_LE(*driver->next_deadline(), now_) << "the change is reported at the next step";
  driver->step(now_);
  EXPECT_EQ(seen_.backpressure, (std::vector<bool>{true, false}));
}

TEST_F(DriverTest, FreesIdleBuffersAfterTheReleaseTime) {
  DriverOptions options;
  options.release_idle_buffers_after = 1s;
  auto driver = server(options);
  feed(*driver, client_frame(Opcode::text, "hello"));
  driver->step(now_);
  take_output(*driver);
  driver->step(now_ + 10ms);
  EXPECT_FALSE(driver->take_buffers_released());
  ASSERT_TRUE(driver->next_deadline().has_value());
  EXPECT_LE(*driver->next_deadline(), now_ + 10ms + 1s);
  driver->step(now_ + 2s);
  EXPECT_FALSE(driver->next_deadline().has_value()) << "released: nothing more to wait for";
  // Told once, so the transport can hand the memory back (malloc_trim).
  EXPECT_TRUE(driver->take_buffers_released());
  EXPECT_FALSE(driver->take_buffers_released());
  // The next message still arrives whole.
  feed(*driver, client_frame(Opcode::text, "again"));
  driver->step(now_ + 3s);
  EXPECT_EQ(seen_.messages.back(), "again");
}

TEST_F(DriverTest, ACloseCodeThatMayNotBeSentIsAnErrorNotReplaced) {
  auto driver = server();
  feed(*driver, client_frame(Opcode::text, "x"));
  driver->step(now_);
  take_output(*driver);  // the echo
  EXPECT_EQ(seen_.session->close(1005), errc::close_code_not_sendable);
  EXPECT_EQ(seen_.session->close(1006), errc::close_code_not_sendable);
  EXPECT_EQ(seen_.session->close(999), errc::close_code_not_sendable);
  EXPECT_TRUE(seen_.session->is_open());
  EXPECT_FALSE(seen_.session->close(4000, "bye"));
  EXPECT_EQ(seen_.session->close(1000), errc::not_open) << "a close was already asked for";
  driver->step(now_);
  EXPECT_EQ(take_output(*driver), std::string("\x88\x05\x0f\xa0"
                                              "bye",
                                              7));
}

TEST_F(DriverTest, AbortFromAnotherThreadEndsAtTheNextStep) {
  auto driver = server();
  feed(*driver, client_frame(Opcode::text, "x"));
  driver->step(now_);
  std::thread([session = seen_.session] { session->abort(); }).join();
  EXPECT_EQ(waker_->wakes.load(), 1);
  driver->step(now_);
  EXPECT_TRUE(driver->should_close_transport());
  driver->transport_closed();
  ASSERT_TRUE(seen_.closed.has_value());
  EXPECT_EQ(seen_.closed->error, std::errc::operation_canceled);
}

// The server defaults: a silent peer gets a ping at 30 s and, if nothing at
// all comes back, is closed at 75 s (behind nginx's 60 s proxy_read_timeout
// the ping keeps a live connection open).
TEST_F(DriverTest, ServerConfigPingsASilentPeerAndClosesADeadOne) {
  const Config config = server_config();
  EXPECT_EQ(config.timeouts.keepalive_interval, 30s);
  EXPECT_EQ(config.timeouts.idle_timeout, 75s);
  EXPECT_EQ(config.timeouts.handshake_timeout, 10s);
  DriverOptions options;
  options.write_stall_timeout = Duration{0};
  auto driver = server(options, config);
  driver->step(now_);
  driver->step(now_ + 30s);
  EXPECT_EQ(take_output(*driver), std::string("\x89\x00", 2)) << "a ping";
  driver->step(now_ + 74s);
  EXPECT_FALSE(seen_.closed.has_value());
  driver->step(now_ + 75s);
  ASSERT_TRUE(seen_.closed.has_value());
  EXPECT_EQ(seen_.closed->error, errc::idle_timeout);
}

// A server whose connection is still in its opening handshake: the
// handshake timeout counts from the first step (the accept), so a peer that
// sends nothing at all is dropped.
TEST_F(DriverTest, HandshakeTimeoutCoversTheWaitForTheFirstByte) {
  handler_ = recording_handler(seen_, false);
  Config config = server_config();
  config.timeouts.handshake_timeout = 50ms;
  Driver driver(Connection::server(config), handler_, DriverOptions{}, waker_);
  driver.step(now_);
  driver.step(now_ + 49ms);
  EXPECT_FALSE(driver.should_close_transport());
  driver.step(now_ + 50ms);
  take_output(driver);
  EXPECT_TRUE(driver.should_close_transport());
  driver.transport_closed();
  EXPECT_EQ(driver.result(), errc::handshake_timeout);
  EXPECT_EQ(seen_.closes, 0) << "never opened: nothing to report to the handler";
}

TEST_F(DriverTest, UpgradeAnsweredByTheHandlerAndRequestKeptOnTheSession) {
  handler_ = recording_handler(seen_, false);
  handler_->on_upgrade = [](const UpgradeRequest& request) {
    return request.path == "/chat" ? UpgradeDecision::accept_with()
                                   : UpgradeDecision::reject(404, "no");
  };
  Driver driver(Connection::server(), handler_, DriverOptions{}, waker_);
  const std::string head = test::valid_upgrade_request();
  feed(driver, Bytes(reinterpret_cast<const std::byte*>(head.data()),
                     reinterpret_cast<const std::byte*>(head.data()) + head.size()));
  driver.step(now_);
  const std::string answer = take_output(driver);
  ASSERT_EQ(seen_.opens, 1) << answer;
  EXPECT_EQ(answer.rfind("HTTP/1.1 101 ", 0), 0U);
  ASSERT_NE(seen_.session->request(), nullptr);
  EXPECT_EQ(seen_.session->request()->path, "/chat");
}

// keep_request = false: the request is there for on_open, then freed (an
// idle connection's largest piece of memory).
TEST_F(DriverTest, RequestFreedAfterOnOpenWhenNotKept) {
  handler_ = recording_handler(seen_, false);
  std::string path_in_on_open;
  handler_->on_open = [&](const SessionPtr& session) {
    seen_.session = session;
    if (session->request() != nullptr) path_in_on_open = session->request()->path;
  };
  DriverOptions options;
  options.keep_request = false;
  Driver driver(Connection::server(), handler_, options, waker_);
  const std::string head = test::valid_upgrade_request();
  feed(driver, Bytes(reinterpret_cast<const std::byte*>(head.data()),
                     reinterpret_cast<const std::byte*>(head.data()) + head.size()));
  driver.step(now_);
  EXPECT_EQ(take_output(driver).rfind("HTTP/1.1 101 ", 0), 0U);
  EXPECT_EQ(path_in_on_open, "/chat");
  ASSERT_NE(seen_.session, nullptr);
  EXPECT_EQ(seen_.session->request(), nullptr);
}

}  // namespace
}  // namespace ws

namespace ws {
namespace {

class DriverSendTest : public DriverTest {};

// The transport's own sends (an Asio async_write) get the Connection's
// errors and no policy: the caller is told and the connection goes on.
TEST_F(DriverSendTest, TransportSendsReturnTheConnectionsErrorsWithoutPolicy) {
  Config config;
  config.limits.max_queued_output = 1024;
  auto driver = server({}, config, false);
  driver->step(now_);
  EXPECT_FALSE(driver->send(MessageKind::text, as_bytes(std::string_view("hi"))));
  EXPECT_EQ(driver->send(MessageKind::binary, test::bytes_of(std::string(2048, 'x'))),
            errc::output_queue_full);
  EXPECT_FALSE(seen_.session->over_limit()) << "no policy for the transport's own sends";
  EXPECT_FALSE(driver->ping(as_bytes(std::string_view("p"))));
  // A control frame may go ahead of queued data (RFC 6455 5.4).
  EXPECT_EQ(take_output(*driver), std::string("\x89\x01p\x81\x02hi", 7));
  EXPECT_EQ(driver->close(1005), errc::close_code_not_sendable);
  EXPECT_TRUE(seen_.session->is_open());
}

// Once the close handshake started, a send from another thread is refused
// at once (errc::not_open) instead of being queued and dropped later.
TEST_F(DriverSendTest, SendsAfterACloseBeganAreRefusedNotDropped) {
  auto driver = server({}, {}, false);
  driver->step(now_);
  ASSERT_NE(seen_.session, nullptr);
  EXPECT_FALSE(seen_.session->send_text("before"));
  EXPECT_FALSE(driver->close(1000));
  EXPECT_EQ(seen_.session->send_text("after"), errc::not_open);
  driver->step(now_);
  const std::string out = take_output(*driver);
  EXPECT_EQ(out.find("before"), 2U) << "queued before the close: sent before it";
  EXPECT_EQ(out.find("after"), std::string::npos);
}

TEST_F(DriverSendTest, GoingAwayFlushesWhatWasQueuedAndRefusesTheRest) {
  auto driver = server({}, {}, false);
  driver->step(now_);
  EXPECT_FALSE(seen_.session->send_text("queued"));
  driver->close_going_away();
  EXPECT_EQ(seen_.session->send_text("late"), errc::not_open);
  driver->step(now_);
  const std::string out = take_output(*driver);
  EXPECT_EQ(out.find("queued"), 2U);
  EXPECT_NE(out.find(std::string("\x88\x02\x03\xe9", 4)), std::string::npos) << "1001";
}

}  // namespace
}  // namespace ws

namespace ws {
namespace {

// Output written right after the step that produced it counts as traffic at
// that step's time: the buffers go one release time after the last write,
// not after a second wait.
TEST_F(DriverTest, IdleReleaseCountsFromTheLastWrite) {
  DriverOptions options;
  options.release_idle_buffers_after = 1s;
  auto driver = server(options);
  feed(*driver, client_frame(Opcode::text, "hello"));
  driver->step(now_);
  take_output(*driver);  // the echo, written at once
  ASSERT_TRUE(driver->next_deadline().has_value());
  EXPECT_EQ(*driver->next_deadline(), now_ + 1s);
  driver->step(now_ + 1s);
  EXPECT_FALSE(driver->next_deadline().has_value()) << "released one second after the write";
}

}  // namespace
}  // namespace ws
