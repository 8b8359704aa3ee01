// The client side of ws::http2 (ws/http2/client.hpp): an nghttp2 client
// session whose streams are WebSockets, each with a Driver of its own.
// As on the server, nghttp2's callbacks only record; step() runs the
// drivers, and so the application.
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nghttp2_fields.hpp"
#include "session_output.hpp"
#include "stream_glue.hpp"
#include "ws/http2/client.hpp"
#include "ws/http2/error.hpp"

namespace ws::http2 {

namespace {

using detail::drop_input;
using detail::feed_driver;
using detail::read_driver_output;
using detail::receive_data;
using detail::StreamInput;

using detail::field;
using detail::read_area_size;
using detail::read_stop_mark;
using detail::view;

class ClientConnectionImpl final : public ClientConnection {
 public:
  ClientConnectionImpl(SocketDriverContext context, ClientSettings settings)
      : context_(std::move(context)),
        settings_(settings),
        layer_(std::move(context_.layer)),
        read_area_(read_area_size) {}

  ~ClientConnectionImpl() override {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  std::error_code start() {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) {
      return std::make_error_code(std::errc::not_enough_memory);
    }
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) {
      nghttp2_session_callbacks_del(callbacks);
      return std::make_error_code(std::errc::not_enough_memory);
    }
    // As on the server: windows reopen as each WebSocket takes its input.
    nghttp2_option_set_no_auto_window_update(option, 1);
    const int made = nghttp2_session_client_new2(&session_, callbacks, this, option);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_option_del(option);
    if (made != 0) {
      session_ = nullptr;
      return std::make_error_code(std::errc::not_enough_memory);
    }
    const nghttp2_settings_entry entries[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.stream_window},
    };
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries)) != 0 ||
        nghttp2_session_set_local_window_size(
            session_, NGHTTP2_FLAG_NONE, 0,
            static_cast<std::int32_t>(std::min<std::uint32_t>(settings_.connection_window,
                                                              NGHTTP2_MAX_WINDOW_SIZE))) != 0) {
      return std::make_error_code(std::errc::protocol_error);
    }
    produce_output();
    return {};
  }

  // ---- Opening WebSockets ------------------------------------------------------

  Result<SessionPtr> open(std::string_view url, const ClientHandshakeOptions& options,
                          std::shared_ptr<const Handler> handler) override {
    if (ended_ || going_away_) return ws::errc::not_open;
    Result<Connection> connection = Connection::client_for_stream(url, options, *context_.config);
    if (!connection) return connection.error();
    auto stream = std::make_unique<Stream>();
    stream->driver = std::make_unique<Driver>(std::move(*connection),
                                              handler ? std::move(handler) : context_.handler,
                                              context_.options, context_.waker);
    SessionPtr session = stream->driver->session();
    waiting_.push_back(std::move(stream));
    ever_opened_ = true;
    if (settings_seen_) submit_waiting();
    context_.waker->wake();  // the transport's turn sends it
    return session;
  }

  std::size_t websocket_count() const noexcept override {
    return waiting_.size() + streams_.size();
  }

  // ---- Bytes in ---------------------------------------------------------------

  bool wants_read() const noexcept override {
    if (ended_ || eof_) return false;
    if (layer_ && layer_->wire_room() == 0) return false;
    return turn_bytes_ < context_.options->fairness.bytes_per_turn &&
           output_.backlog(layer_.get()) < read_stop_mark;
  }
  std::size_t receive_room() const noexcept override {
    if (!wants_read()) return 0;
    return layer_ ? layer_->wire_room() : read_area_.size();
  }
  MutableByteView receive_buffer() override {
    return MutableByteView(read_area_.data(), std::min(receive_room(), read_area_.size()));
  }
  void commit_received(std::size_t n) noexcept override {
    (void)receive(ByteView(read_area_.data(), n));
  }
  std::size_t receive(ByteView bytes) override {
    if (ended_ || eof_) return 0;
    if (!layer_) {
      turn_bytes_ += bytes.size();
      feed(bytes);
      return bytes.size();
    }
    const std::size_t taken = layer_->receive_wire(bytes);
    turn_bytes_ += taken;
    pull_tls();
    return taken;
  }
  void receive_eof() noexcept override {
    eof_ = true;
    if (layer_ && !error_) {
      layer_->receive_wire_eof();
      pull_tls();
    }
    for (auto& [id, stream] : streams_) {
      if (!stream->closed) {
        stream->closed = true;
        stream->close_code = NGHTTP2_CANCEL;
      }
    }
  }
  void transport_failed(std::error_code error) noexcept override {
    fail(error);
    receive_eof();
  }

  // ---- Bytes out --------------------------------------------------------------

  bool wants_write() const noexcept override { return pending_output_size() > 0; }
  std::span<const OutputBuffer> pending_output() override { return output_.pending(layer_.get()); }
  std::size_t pending_output_size() const noexcept override {
    return output_.pending_size(layer_.get());
  }
  void consume_output(std::size_t n) noexcept override {
    if (n > 0) stalled_since_.reset();
    output_.consume(layer_.get(), n);
    produce_output();
  }
  void mark_output_in_flight(std::size_t n) noexcept override {
    output_.mark_in_flight(layer_.get(), n);
  }

  // ---- Work -------------------------------------------------------------------

  Turn step(TimePoint now) override {
    if (finished_) return Turn::done;
    now_ = now;
    turn_bytes_ = 0;
    if (!started_) {
      started_ = true;
      const Duration limit = context_.config->timeouts.handshake_timeout;
      if (limit.count() > 0) setup_deadline_ = now + limit;
    }
    if (layer_ && layer_->handshake_done() && !alpn_checked_) {
      alpn_checked_ = true;
      // RFC 9113 3.2: over TLS, HTTP/2 only when ALPN chose it.
      if (layer_->selected_protocol() != "h2") fail(errc::not_negotiated);
    }
    if (settings_seen_) setup_deadline_.reset();
    if (setup_deadline_ && now >= *setup_deadline_) {
      fail(std::make_error_code(std::errc::timed_out));
    }
    Turn turn = Turn::done;
    if (error_) {
      end_all(error_);
    } else {
      turn = pump_streams(now);
      if (close_when_done() && !goaway_sent_) {
        nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
        goaway_sent_ = true;
        ended_ = true;
      }
      if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
        ended_ = true;  // the session is over (a GOAWAY both ways, an error)
        end_all(errc::connection_failed);
      }
      if (eof_) ended_ = true;
      produce_output();
    }
    if (output_.backlog(layer_.get()) > 0) {
      if (!stalled_since_) stalled_since_ = now;
      const Duration stall = context_.options->write_stall_timeout;
      if (stall.count() > 0 && now - *stalled_since_ >= stall) {
        fail(std::make_error_code(std::errc::timed_out));
        end_all(error_);
      }
    } else {
      stalled_since_.reset();
    }
    if (ended_ && !error_ && layer_ && !layer_->shutdown_started() && output_.all_encoded()) {
      layer_->shutdown();  // close_notify after the last frame
    }
    update_deadline();
    return turn;
  }

  std::optional<TimePoint> next_deadline() const noexcept override { return deadline_; }

  bool should_close_transport() const noexcept override {
    if (!ended_) return false;
    if (error_) return true;
    return output_.backlog(layer_.get()) == 0 && (!layer_ || layer_->shutdown_started());
  }

  void transport_closed() override {
    if (finished_) return;
    finished_ = true;
    end_all(error_ ? error_ : std::make_error_code(std::errc::connection_reset));
  }

  bool finished() const noexcept override { return finished_; }
  bool take_buffers_released() noexcept override { return false; }

  void close_going_away() override {
    going_away_ = true;
    for (auto& [id, stream] : streams_) stream->driver->close_going_away();
    for (auto& stream : waiting_) stream->driver->close_going_away();
  }

  void abort(std::error_code why) override {
    for (auto& [id, stream] : streams_) stream->driver->abort(why);
    for (auto& stream : waiting_) stream->driver->abort(why);
    fail(why);
  }

 private:
  struct Stream {
    std::int32_t id = 0;
    std::unique_ptr<Driver> driver;
    int status = 0;
    std::vector<HeaderField> fields;
    bool answered = false;  // the response went to the Connection
    bool ended = false;     // END_STREAM from the server
    bool eof_given = false;
    bool deferred = false;
    bool close_handled = false;
    bool closed = false;
    std::uint32_t close_code = NGHTTP2_NO_ERROR;
    StreamInput input;  // a WebSocket's DATA, or a rejection's body
  };

  static ClientConnectionImpl& self(void* user_data) {
    return *static_cast<ClientConnectionImpl*>(user_data);
  }
  Stream* find(std::int32_t id) {
    const auto found = streams_.find(id);
    return found == streams_.end() ? nullptr : found->second.get();
  }

  // ---- nghttp2's callbacks: they record ----------------------------------------

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_size, const std::uint8_t* value, std::size_t value_size,
                       std::uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE) return 0;
    Stream* stream = self(user_data).find(frame->hd.stream_id);
    if (stream == nullptr) return 0;
    const std::string_view n = view(name, name_size);
    if (n == ":status") {
      const std::string_view v = view(value, value_size);
      int status = 0;
      for (const char c : v) status = status * 10 + (c - '0');  // nghttp2 checked: 3 digits
      stream->status = status;
    } else {
      stream->fields.push_back(HeaderField{std::string(n), std::string(view(value, value_size))});
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ClientConnectionImpl& connection = self(user_data);
    if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
      connection.settings_arrived_ = true;
      return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    Stream* stream = connection.find(frame->hd.stream_id);
    if (stream == nullptr) return 0;
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) stream->ended = true;
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                                const std::uint8_t* data, std::size_t size, void* user_data) {
    ClientConnectionImpl& connection = self(user_data);
    Stream* stream = connection.find(stream_id);
    const bool rejection =
        stream != nullptr && stream->status != 0 && (stream->status < 200 || stream->status > 299);
    if (stream == nullptr || stream->closed ||
        (rejection && stream->input.size() + size > connection.settings_.max_rejection_body)) {
      nghttp2_session_consume(session, stream_id, size);
      return 0;
    }
    if (stream->answered && !rejection) {
      receive_data(session, stream_id, *stream->driver, stream->input,
                   ByteView(reinterpret_cast<const std::byte*>(data), size));
      return 0;
    }
    stream->input.bytes.append(reinterpret_cast<const char*>(data), size);
    // A rejection's body is kept whole (bounded above), not read by a
    // WebSocket: its window reopens at once.
    if (rejection) nghttp2_session_consume(session, stream_id, size);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                             void* user_data) {
    Stream* stream = self(user_data).find(stream_id);
    if (stream != nullptr) {
      stream->closed = true;
      stream->close_code = error_code;
    }
    return 0;
  }

  static ssize_t read_websocket(nghttp2_session*, std::int32_t, std::uint8_t* buffer,
                                std::size_t length, std::uint32_t* flags,
                                nghttp2_data_source* source, void*) {
    Stream& stream = *static_cast<Stream*>(source->ptr);
    return read_driver_output(*stream.driver, buffer, length, flags, stream.deferred);
  }

  // ---- Moving bytes -------------------------------------------------------------

  void feed(ByteView bytes) {
    if (session_ == nullptr || error_) return;
    const ssize_t used = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    if (used < 0) fail(errc::connection_failed);
    if (settings_arrived_ && !settings_seen_) {
      settings_seen_ = true;
      submit_waiting();
    }
  }

  void pull_tls() {
    while (!error_) {
      const std::size_t n = layer_->read(MutableByteView(read_area_.data(), read_area_.size()));
      if (n == 0) break;
      feed(ByteView(read_area_.data(), n));
    }
    if (const std::error_code error = layer_->error()) fail(error);
    if (layer_->read_ended()) eof_ = true;
  }

  void produce_output() {
    if (session_ == nullptr || error_) return;
    if (output_.produce(session_, layer_.get())) fail(errc::connection_failed);
    if (layer_) {
      if (const std::error_code error = layer_->error()) fail(error);
    }
  }

  // The server's SETTINGS arrived: the extended CONNECTs that waited go,
  // or fail when the server takes none (RFC 8441 3).
  void submit_waiting() {
    const bool allowed = nghttp2_session_get_remote_settings(
                             session_, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1;
    std::vector<std::unique_ptr<Stream>> waiting = std::move(waiting_);
    waiting_.clear();
    for (std::unique_ptr<Stream>& stream : waiting) {
      if (!allowed) {
        refused_.push_back(Refusal{std::move(stream), errc::extended_connect_unsupported});
        continue;
      }
      std::optional<ExtendedConnectRequest> request = stream->driver->take_stream_request();
      if (!request) continue;
      std::vector<nghttp2_nv> fields;
      fields.reserve(request->headers.size() + 5);
      // RFC 9113 8.3: the pseudo-headers first.
      fields.push_back(field(":method", *request->method));
      fields.push_back(field(":protocol", *request->protocol));
      fields.push_back(field(":scheme", *request->scheme));
      fields.push_back(field(":path", *request->path));
      fields.push_back(field(":authority", *request->authority));
      for (const HeaderField& header : request->headers) {
        fields.push_back(field(header.name, header.value));
      }
      nghttp2_data_provider provider{};
      provider.source.ptr = stream.get();
      provider.read_callback = read_websocket;
      const std::int32_t id = nghttp2_submit_request(session_, nullptr, fields.data(),
                                                     fields.size(), &provider, nullptr);
      if (id < 0) {
        refused_.push_back(Refusal{std::move(stream), errc::stream_refused});
        continue;
      }
      stream->id = id;
      streams_.emplace(id, std::move(stream));
    }
  }

  // ---- The drivers --------------------------------------------------------------

  Turn pump_streams(TimePoint now) {
    Turn turn = Turn::done;
    for (Refusal& refusal : std::exchange(refused_, {})) {
      Driver& driver = *refusal.stream->driver;
      driver.abort(refusal.why);  // on_close says why
      (void)driver.step(now);
      driver.transport_closed();
    }
    for (auto it = streams_.begin(); it != streams_.end();) {
      Stream& stream = *it->second;
      Driver& driver = *stream.driver;
      if (!stream.answered && stream.status != 0) answer(stream);
      if (stream.answered) feed_driver(session_, stream.id, driver, stream.input);
      if (stream.answered && stream.ended && stream.input.empty() && !stream.eof_given) {
        stream.eof_given = true;
        driver.receive_eof();
      }
      if (stream.closed) {
        finish(stream, now);
        it = streams_.erase(it);
        continue;
      }
      if (driver.step(now) == Turn::yield) turn = Turn::yield;
      if (driver.should_close_transport() && !stream.close_handled) {
        stream.close_handled = true;
        if (driver.pending_output_size() > 0 || !driver.opened()) {
          nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_CANCEL);
        }
      }
      if (stream.deferred &&
          (driver.pending_output_size() > 0 || driver.should_close_transport())) {
        stream.deferred = false;
        nghttp2_session_resume_data(session_, stream.id);
      }
      ++it;
    }
    return turn;
  }

  // The answer's HEADERS arrived: a 2xx now; another status once its body
  // is complete (END_STREAM), so Rejected carries it.
  void answer(Stream& stream) {
    const bool success = stream.status >= 200 && stream.status <= 299;
    if (!success && !stream.ended && !stream.closed) return;
    stream.answered = true;
    std::string body;
    if (!success) body = std::move(stream.input.bytes);
    stream.input = StreamInput{};
    (void)stream.driver->receive_stream_response(stream.status, stream.fields, body);
    stream.fields.clear();
    stream.fields.shrink_to_fit();
  }

  void finish(Stream& stream, TimePoint now) {
    drop_input(session_, stream.input);
    Driver& driver = *stream.driver;
    if (!driver.should_close_transport()) {
      if (stream.close_code == NGHTTP2_REFUSED_STREAM) {
        driver.abort(errc::stream_refused);
      } else if (stream.close_code != NGHTTP2_NO_ERROR) {
        driver.transport_failed(std::make_error_code(std::errc::connection_reset));
      } else {
        driver.receive_eof();
      }
      (void)driver.step(now);
    }
    driver.transport_closed();
  }

  // Every WebSocket still here ends with `why` (on_close says so).
  void end_all(std::error_code why) {
    std::map<std::int32_t, std::unique_ptr<Stream>> streams = std::move(streams_);
    streams_.clear();
    std::vector<std::unique_ptr<Stream>> waiting = std::move(waiting_);
    waiting_.clear();
    for (Refusal& refusal : std::exchange(refused_, {}))
      waiting.push_back(std::move(refusal.stream));
    const auto end = [&](Driver& driver) {
      if (driver.finished()) return;
      // abort(): on_close reports the carriage's failure itself.
      if (!driver.should_close_transport()) driver.abort(why);
      (void)driver.step(now_);
      driver.transport_closed();
    };
    for (auto& [id, stream] : streams) end(*stream->driver);
    for (auto& stream : waiting) end(*stream->driver);
  }

  bool close_when_done() const noexcept {
    return (settings_.close_when_idle || going_away_) && ever_opened_ && streams_.empty() &&
           waiting_.empty() && refused_.empty();
  }

  void update_deadline() noexcept {
    std::optional<TimePoint> next = setup_deadline_;
    const auto consider = [&next](std::optional<TimePoint> when) {
      if (when && (!next || *when < *next)) next = when;
    };
    if (stalled_since_ && context_.options->write_stall_timeout.count() > 0) {
      consider(*stalled_since_ + context_.options->write_stall_timeout);
    }
    for (const auto& [id, stream] : streams_) consider(stream->driver->next_deadline());
    for (const auto& stream : waiting_) consider(stream->driver->next_deadline());
    deadline_ = next;
  }

  void fail(std::error_code error) noexcept {
    if (!error_) error_ = error;
    ended_ = true;
  }

  struct Refusal {
    std::unique_ptr<Stream> stream;
    std::error_code why;
  };

  SocketDriverContext context_;
  ClientSettings settings_;
  std::unique_ptr<StreamLayer> layer_;
  nghttp2_session* session_ = nullptr;
  detail::SessionOutput output_;
  std::vector<std::byte> read_area_;
  std::map<std::int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<Stream>> waiting_;  // until the server's SETTINGS
  std::vector<Refusal> refused_;                  // told at the next step

  TimePoint now_{};
  std::optional<TimePoint> setup_deadline_;  // TLS, preface and SETTINGS
  std::optional<TimePoint> stalled_since_;
  std::optional<TimePoint> deadline_;
  std::size_t turn_bytes_ = 0;
  std::error_code error_;
  bool started_ = false;
  bool alpn_checked_ = false;
  bool settings_arrived_ = false;  // set in a callback
  bool settings_seen_ = false;     // and acted on
  bool ever_opened_ = false;
  bool going_away_ = false;
  bool goaway_sent_ = false;
  bool eof_ = false;
  bool ended_ = false;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<ClientConnection>> ClientConnection::make(SocketDriverContext context,
                                                                 ClientSettings settings) {
  auto connection = std::make_unique<ClientConnectionImpl>(std::move(context), settings);
  if (const std::error_code error = connection->start()) return error;
  return std::unique_ptr<ClientConnection>(std::move(connection));
}

}  // namespace ws::http2
