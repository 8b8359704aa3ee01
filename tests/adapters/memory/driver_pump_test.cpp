// The memory transport of the one driver: two Drivers over a DuplexPipe.
// The same exchange is run with every cut and with a failure injected at
// every operation it makes: the handlers must hear exactly one on_close per
// session that should get one, and both drivers must finish.
#include "ws/memory/driver_pump.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ws/base/error.hpp"

namespace ws::memory {
namespace {

using namespace std::chrono_literals;

struct NoWaker final : Waker {
  void wake() noexcept override {}
};

struct Side {
  std::vector<std::string> messages;
  int opens = 0;
  int closes = 0;
  std::optional<Closed> closed;
};

struct Exchange {
  Side client_side;
  Side server_side;
  std::unique_ptr<Driver> client;
  std::unique_ptr<Driver> server;

  Exchange() {
    auto server_handler = std::make_shared<Handler>();
    server_handler->on_open = [this](const SessionPtr&) { ++server_side.opens; };
    server_handler->on_message = [this](const SessionPtr& session, const Message& message) {
      server_side.messages.emplace_back(message.text());
      (void)session->send_text(message.text());  // echo
    };
    server_handler->on_close = [this](const SessionPtr&, const Closed& closed) {
      ++server_side.closes;
      server_side.closed = closed;
    };
    auto client_handler = std::make_shared<Handler>();
    client_handler->on_open = [this](const SessionPtr& session) {
      ++client_side.opens;
      (void)session->send_text("one");
      (void)session->send_text(std::string(300, 't'));  // a 16-bit length
    };
    client_handler->on_message = [this](const SessionPtr& session, const Message& message) {
      client_side.messages.emplace_back(message.text());
      if (client_side.messages.size() == 2) (void)session->close(CloseCode::normal, "done");
    };
    client_handler->on_close = [this](const SessionPtr&, const Closed& closed) {
      ++client_side.closes;
      client_side.closed = closed;
    };
    Config config;
    config.timeouts.close_timeout = 100ms;
    config.timeouts.handshake_timeout = 200ms;
    auto made = Connection::client("ws://localhost/chat", {}, config);
    client = std::make_unique<Driver>(std::move(*made), client_handler, DriverOptions{},
                                      std::make_shared<NoWaker>());
    server = std::make_unique<Driver>(Connection::server(config), server_handler, DriverOptions{},
                                      std::make_shared<NoWaker>());
  }

  // Runs at t0, then lets the timers act (close and handshake timeouts,
  // write stall) until both are finished.
  void run(DuplexPipe& pipe) {
    const TimePoint t0 = TimePoint{} + 1h;
    pump_drivers(*client, *server, pipe, t0);
    for (int second = 1; second <= 40 && !(client->finished() && server->finished()); ++second) {
      pump_drivers(*client, *server, pipe, t0 + std::chrono::seconds(second));
    }
  }
};

TEST(DriverPump, EchoAndCleanCloseOverEveryCut) {
  for (std::size_t cut : {no_cut, std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
    SCOPED_TRACE(cut);
    Exchange exchange;
    DuplexPipe pipe(DuplexPipe::cut_to(cut));
    exchange.run(pipe);
    EXPECT_EQ(exchange.client_side.messages.size(), 2U);
    EXPECT_EQ(exchange.server_side.messages.size(), 2U);
    ASSERT_EQ(exchange.client_side.closes, 1);
    ASSERT_EQ(exchange.server_side.closes, 1);
    EXPECT_EQ(exchange.client_side.closed->code, CloseCode::normal);
    EXPECT_FALSE(exchange.client_side.closed->error);
    EXPECT_FALSE(exchange.server_side.closed->error);
    EXPECT_TRUE(exchange.client->finished());
    EXPECT_TRUE(exchange.server->finished());
  }
}

// RFC 6455 7.1.5/7.4.1: a transport that fails is an abnormal close (1006);
// wherever it fails, each session hears exactly one on_close (the client's
// always, the server's once it opened) and both drivers finish.
TEST(DriverPump, FailureAtEveryOperationEndsBothSidesOnce) {
  std::size_t operations = 0;
  {
    Exchange exchange;
    DuplexPipe pipe(DuplexPipe::cut_to(7));
    exchange.run(pipe);
    operations = pipe.operation_count();
  }
  ASSERT_GT(operations, 20U);
  ASSERT_LT(operations, 2000U) << "keep the sweep short";
  for (std::size_t failing = 1; failing <= operations; ++failing) {
    SCOPED_TRACE(failing);
    Exchange exchange;
    PipeFaults faults = DuplexPipe::cut_to(7);
    faults.fail_operation = failing;
    DuplexPipe pipe(faults);
    exchange.run(pipe);
    EXPECT_TRUE(exchange.client->finished());
    EXPECT_TRUE(exchange.server->finished());
    EXPECT_EQ(exchange.client_side.closes, 1);
    EXPECT_EQ(exchange.server_side.closes, exchange.server_side.opens);
    EXPECT_LE(exchange.server_side.opens, 1);
    if (exchange.client_side.closed && exchange.client_side.messages.size() < 2) {
      EXPECT_TRUE(exchange.client_side.closed->error) << "an unfinished exchange is not clean";
    }
  }
}

}  // namespace
}  // namespace ws::memory
