// One accepted socket of a server with HTTP/2 turned on: it first finds out
// which protocol the client speaks (TLS ALPN, or the HTTP/2 preface), then
// either hands the socket to one ws::Driver (HTTP/1.1, exactly as without
// HTTP/2) or runs an nghttp2 server session whose streams are WebSockets
// (a Driver each) and plain HTTP requests.
//
// No application code runs inside nghttp2's callbacks: they only record
// (fields, DATA, ends); step() then calls the handler through the drivers,
// so an exception from a handler leaves nghttp2 consistent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "request_fields.hpp"
#include "session_output.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/socket_driver.hpp"
#include "ws/http2/server.hpp"

struct nghttp2_session;

namespace ws::http2::detail {

class ServerConnection final : public SocketDriver {
 public:
  ServerConnection(SocketDriverContext context, std::shared_ptr<const ServerSettings> settings);
  ~ServerConnection() override;
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  bool wants_read() const noexcept override;
  MutableByteView receive_buffer() override;
  void commit_received(std::size_t n) noexcept override;
  std::size_t receive(ByteView bytes) override;
  std::size_t receive_room() const noexcept override;
  void receive_eof() noexcept override;
  void transport_failed(std::error_code error) noexcept override;

  bool wants_write() const noexcept override;
  std::span<const OutputBuffer> pending_output() override;
  std::size_t pending_output_size() const noexcept override;
  void consume_output(std::size_t n) noexcept override;
  void mark_output_in_flight(std::size_t n) noexcept override;

  Turn step(TimePoint now) override;
  std::optional<TimePoint> next_deadline() const noexcept override;
  bool should_close_transport() const noexcept override;
  void transport_closed() override;
  bool finished() const noexcept override { return finished_; }
  bool take_buffers_released() noexcept override;

  void close_going_away() override;
  void abort(std::error_code why) override;

  /// What nghttp2's callbacks see (server_connection.cpp).
  struct Stream;
  struct Callbacks;

 private:
  enum class Mode : std::uint8_t { sniffing, http1, http2 };

  void sniff(ByteView bytes);
  void advance_tls_handshake();
  void become_http1(ByteView first_bytes);
  void become_http2();
  void feed_http2(ByteView bytes);
  void pull_tls_plaintext();
  void fail(std::error_code error) noexcept;

  void serve_requests();
  void answer_http(Stream& stream);
  void open_websocket(Stream& stream);
  void submit_answer(Stream& stream, const StreamAnswer& answer);
  void submit_plain(Stream& stream, int status, std::string body,
                    const std::vector<HeaderField>& headers);
  Turn pump_streams(TimePoint now);
  void pump_input(Stream& stream);
  void finish_stream(Stream& stream);
  void produce_output();
  std::size_t backlog() const noexcept;
  void update_deadline() noexcept;

  SocketDriverContext context_;
  std::shared_ptr<const ServerSettings> settings_;
  std::uint64_t number_;  // for RequestSeen::connection
  Mode mode_ = Mode::sniffing;

  std::unique_ptr<StreamLayer> layer_;  // TLS, while this object reads it
  std::unique_ptr<Driver> http1_;       // Mode::http1
  nghttp2_session* session_ = nullptr;  // Mode::http2
  std::map<std::int32_t, std::unique_ptr<Stream>> streams_;

  std::string preface_seen_;          // sniffing without TLS
  std::vector<std::byte> read_area_;  // receive_buffer() while not HTTP/1.1
  SessionOutput output_;              // nghttp2's frames on their way out

  TimePoint now_{};
  bool started_ = false;
  std::optional<TimePoint> handshake_deadline_;  // TLS and preface
  std::optional<TimePoint> idle_since_;          // HTTP/2 with no stream
  std::optional<TimePoint> stalled_since_;       // output waiting, no progress
  std::optional<TimePoint> deadline_;
  std::size_t turn_bytes_ = 0;
  std::error_code error_;
  bool eof_ = false;
  bool going_away_ = false;
  bool goaway_sent_ = false;
  bool broken_ = false;  // nghttp2 found a connection error: GOAWAY, then close
  bool ended_ = false;   // close the transport once the output is gone
  bool finished_ = false;
};

}  // namespace ws::http2::detail
