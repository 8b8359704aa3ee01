// The Driver with a StreamLayer (what TLS plugs into), over the memory
// transport. The layer here is a test double with TLS's shape: its own
// handshake before any application byte, records, a bounded input, an end
// marker like close_notify, an alert that fails the stream. What holds here
// holds for every transport, since they only move the Driver's wire bytes.
#include "ws/driver/stream_layer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ws/base/error.hpp"
#include "ws/driver/driver.hpp"
#include "ws/memory/driver_pump.hpp"
#include "ws/memory/duplex_pipe.hpp"

namespace ws {
namespace {

using namespace std::chrono_literals;
using memory::DuplexPipe;
using memory::pump_drivers;

// Wire format: records of [length 1..254][bytes xor 0xA5]; a length of 0
// ends the stream (close_notify), 255 is an alert (the stream fails). Each
// side first sends the record "HI"; no application byte goes before both
// saw it. Input is bounded by kInputLimit (wire and decoded bytes held),
// which must hold one whole record, as TLS must hold one (16 KiB and some).
class FramedLayer final : public StreamLayer {
 public:
  static constexpr std::size_t kInputLimit = 300;   // one whole record, and a bit
  static constexpr std::size_t kOutputLimit = 600;  // wire bytes held

  explicit FramedLayer(Role role) : role_(role) {
    if (role_ == Role::client) append_record("HI");
  }

  MutableByteView wire_buffer() override { return MutableByteView(scratch_.data(), wire_room()); }
  void commit_wire(std::size_t n) override {
    in_.insert(in_.end(), scratch_.data(), scratch_.data() + n);
  }
  std::size_t receive_wire(ByteView bytes) override {
    const std::size_t n = std::min(bytes.size(), wire_room());
    in_.insert(in_.end(), bytes.data(), bytes.data() + n);
    return n;
  }
  std::size_t wire_room() const noexcept override {
    const std::size_t held = in_.size() + decoded_.size();
    return held >= kInputLimit ? 0 : kInputLimit - held;
  }
  void receive_wire_eof() override {
    wire_ended_ = true;
    if (!handshake_done_) error_ = std::make_error_code(std::errc::connection_aborted);
  }

  std::size_t read(MutableByteView into) override {
    decode();
    const std::size_t n = std::min(into.size(), decoded_.size());
    if (n > 0) std::memcpy(into.data(), decoded_.data(), n);
    decoded_.erase(decoded_.begin(), decoded_.begin() + static_cast<std::ptrdiff_t>(n));
    return n;
  }
  bool read_ended() const noexcept override {
    return (end_received_ || (wire_ended_ && handshake_done_)) && decoded_.empty();
  }

  std::size_t write(std::span<const OutputBuffer> buffers) override {
    if (!handshake_done_ || shutdown_) return 0;
    std::size_t taken = 0;
    for (const OutputBuffer& buffer : buffers) {
      std::size_t offset = 0;
      while (offset < buffer.size && pending_wire_size() + 255 <= kOutputLimit) {
        const std::size_t n = std::min<std::size_t>(buffer.size - offset, 254);
        append_record(std::string(reinterpret_cast<const char*>(buffer.data) + offset, n));
        offset += n;
      }
      taken += offset;
      if (offset < buffer.size) break;
    }
    return taken;
  }
  void shutdown() override {
    if (shutdown_) return;
    shutdown_ = true;
    out_[out_end_++] = std::byte{0};
  }
  bool shutdown_started() const noexcept override { return shutdown_; }

  std::span<const OutputBuffer> pending_wire() override {
    view_ = OutputBuffer{out_.data() + out_begin_, out_end_ - out_begin_};
    return view_.size == 0 ? std::span<const OutputBuffer>()
                           : std::span<const OutputBuffer>(&view_, 1);
  }
  std::size_t pending_wire_size() const noexcept override { return out_end_ - out_begin_; }
  void consume_wire(std::size_t n) override {
    out_begin_ += n;
    in_flight_ = n >= in_flight_ ? 0 : in_flight_ - n;
    if (out_begin_ == out_end_ && in_flight_ == 0) out_begin_ = out_end_ = 0;
  }
  void mark_wire_in_flight(std::size_t n) override { in_flight_ = n; }

  std::error_code error() const noexcept override { return error_; }
  bool handshake_done() const noexcept override { return handshake_done_; }
  std::string_view selected_protocol() const noexcept override { return "test"; }

  bool end_received() const noexcept { return end_received_; }
  /// Makes the next record this layer sends an alert.
  void send_alert() { out_[out_end_++] = std::byte{255}; }

 private:
  void append_record(const std::string& text) {
    out_[out_end_++] = static_cast<std::byte>(text.size());
    for (const char c : text) out_[out_end_++] = static_cast<std::byte>(c ^ 0xA5);
  }
  void decode() {
    while (!in_.empty() && !error_ && !end_received_) {
      const auto length = static_cast<std::size_t>(in_[0]);
      if (length == 255) {
        error_ = std::make_error_code(std::errc::protocol_error);
        return;
      }
      if (length == 0) {
        end_received_ = true;
        in_.erase(in_.begin());
        return;
      }
      if (in_.size() < 1 + length) return;
      std::string text;
      for (std::size_t i = 1; i <= length; ++i) text.push_back(static_cast<char>(in_[i]) ^ '\xA5');
      in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(1 + length));
      if (!handshake_done_) {
        if (text != "HI") {
          error_ = std::make_error_code(std::errc::protocol_error);
          return;
        }
        handshake_done_ = true;
        if (role_ == Role::server) append_record("HI");
        continue;
      }
      for (const char c : text) decoded_.push_back(static_cast<std::byte>(c));
    }
  }

  Role role_;
  std::array<std::byte, kInputLimit> scratch_{};
  std::vector<std::byte> in_;
  std::vector<std::byte> decoded_;
  std::array<std::byte, kOutputLimit + 8> out_{};
  std::size_t out_begin_ = 0;
  std::size_t out_end_ = 0;
  std::size_t in_flight_ = 0;
  OutputBuffer view_{};
  std::error_code error_;
  bool handshake_done_ = false;
  bool shutdown_ = false;
  bool end_received_ = false;
  bool wire_ended_ = false;
};

struct NoWaker final : Waker {
  void wake() noexcept override {}
};

struct Side {
  std::vector<std::string> messages;
  std::optional<Closed> closed;
  int opens = 0;
};

class DriverWithLayer : public ::testing::Test {
 protected:
  // `replies`: the client closes after this many echoes.
  void make(std::size_t replies, std::string first_message = "hello") {
    auto server_handler = std::make_shared<Handler>();
    server_handler->on_open = [this](const SessionPtr&) { ++server_side.opens; };
    server_handler->on_message = [this](const SessionPtr& session, const Message& message) {
      server_side.messages.emplace_back(message.text());
      EXPECT_FALSE(session->send_text(message.text()));
    };
    server_handler->on_close = [this](const SessionPtr&, const Closed& closed) {
      server_side.closed = closed;
    };
    auto client_handler = std::make_shared<Handler>();
    client_handler->on_open = [this, first_message](const SessionPtr& session) {
      ++client_side.opens;
      EXPECT_FALSE(session->send_text(first_message));
    };
    client_handler->on_message = [this, replies](const SessionPtr& session,
                                                 const Message& message) {
      client_side.messages.emplace_back(message.text());
      if (client_side.messages.size() == replies) {
        EXPECT_FALSE(session->close(CloseCode::normal, "done"));
      } else {
        EXPECT_FALSE(session->send_text("again"));
      }
    };
    client_handler->on_close = [this](const SessionPtr&, const Closed& closed) {
      client_side.closed = closed;
    };
    Config config;
    config.timeouts.close_timeout = 100ms;
    config.timeouts.handshake_timeout = 200ms;
    auto client_layer = std::make_unique<FramedLayer>(Role::client);
    auto server_layer = std::make_unique<FramedLayer>(Role::server);
    client_layer_ = client_layer.get();
    server_layer_ = server_layer.get();
    client = std::make_unique<Driver>(*Connection::client("ws://localhost/chat", {}, config),
                                      client_handler, DriverOptions{}, std::make_shared<NoWaker>(),
                                      std::move(client_layer));
    server = std::make_unique<Driver>(Connection::server(config), server_handler, DriverOptions{},
                                      std::make_shared<NoWaker>(), std::move(server_layer));
  }

  void run(DuplexPipe& pipe) {
    const TimePoint t0 = TimePoint{} + 1h;
    pump_drivers(*client, *server, pipe, t0);
    for (int step = 1; step <= 40 && !(client->finished() && server->finished()); ++step) {
      pump_drivers(*client, *server, pipe, t0 + 10ms * step);
    }
  }

  Side client_side;
  Side server_side;
  std::unique_ptr<Driver> client;
  std::unique_ptr<Driver> server;
  FramedLayer* client_layer_ = nullptr;
  FramedLayer* server_layer_ = nullptr;
};

TEST_F(DriverWithLayer, CarriesTheWholeExchangeThroughTheLayerAndEndsItsStreamBeforeClosing) {
  make(3);
  ASSERT_NE(client->stream_layer(), nullptr);
  DuplexPipe pipe(DuplexPipe::cut_to(7));
  run(pipe);
  EXPECT_EQ(server_side.messages, (std::vector<std::string>{"hello", "again", "again"}));
  EXPECT_EQ(client_side.messages.size(), 3U);
  ASSERT_TRUE(client_side.closed && server_side.closed);
  // RFC 6455 7.1.1: a clean close handshake; the layers' end markers went
  // out before the transports closed (else the peer would see an error).
  EXPECT_FALSE(client_side.closed->error) << client_side.closed->error.message();
  EXPECT_FALSE(server_side.closed->error) << server_side.closed->error.message();
  EXPECT_EQ(client_side.closed->code, CloseCode::normal);
  EXPECT_TRUE(client->finished() && server->finished());
  EXPECT_TRUE(client_layer_->shutdown_started() && server_layer_->shutdown_started());
  EXPECT_TRUE(client_layer_->end_received()) << "the server closed before its layer's end went out";
}

TEST_F(DriverWithLayer, AMessageLargerThanEveryLayerBoundArrivesWhole) {
  // 200 KiB through a layer that holds at most 300 input bytes and 600
  // output bytes: every bound applies many times over.
  make(1, std::string(200 * 1024, 'x'));
  DuplexPipe pipe;
  run(pipe);
  ASSERT_EQ(server_side.messages.size(), 1U);
  EXPECT_EQ(server_side.messages[0].size(), 200U * 1024);
  ASSERT_EQ(client_side.messages.size(), 1U);
  EXPECT_EQ(client_side.messages[0], server_side.messages[0]);
  ASSERT_TRUE(client_side.closed);
  EXPECT_FALSE(client_side.closed->error);
}

TEST_F(DriverWithLayer, NoApplicationByteGoesOutBeforeTheLayersHandshake) {
  make(1);
  DuplexPipe pipe;
  const TimePoint t0 = TimePoint{} + 1h;
  (void)client->step(t0);
  // The client's upgrade request waits inside its Connection: the only
  // wire bytes are the layer's own hello (1 + 2 bytes).
  EXPECT_EQ(client->pending_output_size(), 3U);
  EXPECT_FALSE(client_layer_->handshake_done());
}

TEST_F(DriverWithLayer, ALayerErrorEndsTheConnectionAndOnCloseSaysWhy) {
  make(100);
  DuplexPipe pipe;
  const TimePoint t0 = TimePoint{} + 1h;
  pump_drivers(*client, *server, pipe, t0, 6);  // open, some echoes
  ASSERT_EQ(client_side.opens, 1);
  server_layer_->send_alert();
  run(pipe);
  ASSERT_TRUE(client_side.closed);
  EXPECT_EQ(client_side.closed->error, std::make_error_code(std::errc::protocol_error));
  EXPECT_EQ(client_side.closed->code, CloseCode::abnormal);
  EXPECT_TRUE(client->finished());
}

TEST_F(DriverWithLayer, AStreamCutWithoutTheLayersEndIsAnOrdinaryEndOfStream) {
  make(100);
  DuplexPipe pipe;
  const TimePoint t0 = TimePoint{} + 1h;
  pump_drivers(*client, *server, pipe, t0, 6);
  ASSERT_EQ(client_side.opens, 1);
  // The server's transport goes away with no end marker (TLS: no
  // close_notify): the WebSocket says what was lost, 1006 unexpected_eof.
  pipe.close(memory::Side::b);
  server->transport_closed();
  run(pipe);
  ASSERT_TRUE(client_side.closed);
  EXPECT_EQ(client_side.closed->error, make_error_code(errc::unexpected_eof));
}

TEST_F(DriverWithLayer, AStreamCutDuringTheLayersHandshakeFailsWithTheLayersError) {
  make(1);
  DuplexPipe pipe;
  const TimePoint t0 = TimePoint{} + 1h;
  (void)client->step(t0);
  pipe.close(memory::Side::b);
  client->receive_eof();
  (void)client->step(t0);
  EXPECT_TRUE(client->should_close_transport());
  client->transport_closed();
  ASSERT_TRUE(client_side.closed);
  EXPECT_EQ(client_side.closed->error, std::make_error_code(std::errc::connection_aborted));
}

TEST_F(DriverWithLayer, OutputMarkedInFlightIsTheLayersAndStaysInPlace) {
  make(1);
  const TimePoint t0 = TimePoint{} + 1h;
  (void)client->step(t0);
  const std::span<const OutputBuffer> output = client->pending_output();
  ASSERT_EQ(output.size(), 1U);
  const std::byte* first = output[0].data;
  const std::string before(reinterpret_cast<const char*>(first), output[0].size);
  client->mark_output_in_flight(output[0].size);
  (void)client->step(t0 + 1ms);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(first), before.size()), before);
  client->consume_output(before.size());
  EXPECT_EQ(client->pending_output_size(), 0U);
}

// A peer that writes a large message, its close frame and its layer's end,
// then ends the stream at once (it does not wait for the close reply): the
// end of the wire arrives while the layer still holds bytes the Connection
// had no room for. Nothing of it may be lost (RFC 6455 7.1.1 only asks the
// server to wait; the client must still read what came before the end).
// One run of the scenario below: the client's input holds `input` bytes,
// the server sends `size` bytes, a close, its layer's end, then ends.
void run_end_of_wire_case(std::size_t input, std::size_t size) {
  SCOPED_TRACE("input " + std::to_string(input) + ", message " + std::to_string(size));
  Side client_side;
  auto client_handler = std::make_shared<Handler>();
  client_handler->on_open = [&](const SessionPtr&) { ++client_side.opens; };
  client_handler->on_message = [&](const SessionPtr&, const Message& message) {
    client_side.messages.emplace_back(message.text());
  };
  client_handler->on_close = [&](const SessionPtr&, const Closed& closed) {
    client_side.closed = closed;
  };
  auto server_handler = std::make_shared<Handler>();
  server_handler->on_open = [size](const SessionPtr& session) {
    EXPECT_FALSE(session->send_text(std::string(size, 'm')));
    EXPECT_FALSE(session->close(CloseCode::normal, "bye"));
  };
  Config client_config;
  client_config.timeouts.close_timeout = 100ms;
  client_config.limits.max_buffered_input = input;
  Config server_config;
  server_config.timeouts.close_timeout = 100ms;
  Driver client(*Connection::client("ws://localhost/chat", {}, client_config), client_handler,
                DriverOptions{}, std::make_shared<NoWaker>(),
                std::make_unique<FramedLayer>(Role::client));
  Driver server(Connection::server(server_config), server_handler, DriverOptions{},
                std::make_shared<NoWaker>(), std::make_unique<FramedLayer>(Role::server));
  DuplexPipe pipe;
  const TimePoint t0 = TimePoint{} + 1h;
  // The handshake, both ways, until the server opened and queued it all.
  for (int round = 0; round < 20 && client_side.opens == 0; ++round) {
    pump_drivers(client, server, pipe, t0, 1);
  }
  ASSERT_EQ(client_side.opens, 1);
  // The server writes everything it has, then its transport ends.
  for (int round = 0; round < 100000 && server.pending_output_size() > 0; ++round) {
    const memory::IoResult written = pipe.write(memory::Side::b, server.pending_output());
    ASSERT_FALSE(written.error);
    server.consume_output(written.bytes);
    (void)server.step(t0);
  }
  pipe.shutdown_write(memory::Side::b);
  // The client reads as its transport would: all it may, then the end.
  for (int round = 0; round < 100000 && !client.finished(); ++round) {
    while (client.wants_read()) {
      const MutableByteView space = client.receive_buffer();
      if (space.empty()) break;
      const memory::IoResult read = pipe.read(memory::Side::a, space);
      if (read.end_of_stream) {
        client.receive_eof();
        break;
      }
      if (read.bytes == 0) break;
      client.commit_received(read.bytes);
    }
    (void)client.step(t0);
    if (client.pending_output_size() > 0) {
      const memory::IoResult written = pipe.write(memory::Side::a, client.pending_output());
      if (!written.error) client.consume_output(written.bytes);
    }
    if (client.should_close_transport()) client.transport_closed();
  }
  ASSERT_EQ(client_side.messages.size(), 1U);
  EXPECT_EQ(client_side.messages[0].size(), size);
  ASSERT_TRUE(client_side.closed);
  EXPECT_EQ(client_side.closed->code, CloseCode::normal) << client_side.closed->error.message();
}

// A peer that writes a message, its close frame and its layer's end, then
// ends the stream at once (it does not wait for the close reply): the end
// of the wire can arrive while the layer still holds bytes the Connection
// had no room for yet. Nothing of them may be lost: the message and the
// close are delivered, as without a layer.
TEST(DriverWithLayerEnd, BytesHeldInTheLayerAtTheEndOfTheWireAreAllDelivered) {
  for (const std::size_t input : {std::size_t{64}, std::size_t{200}, std::size_t{64 * 1024}}) {
    for (std::size_t size = 1000; size < 1300; size += 37) run_end_of_wire_case(input, size);
    run_end_of_wire_case(input, 200 * 1024);
  }
}

}  // namespace
}  // namespace ws
