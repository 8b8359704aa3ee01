#include "server_connection.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string_view>
#include <utility>

#include "nghttp2_fields.hpp"
#include "stream_glue.hpp"
#include "ws/handshake/http_head_parser.hpp"

namespace ws::http2::detail {

namespace {

// RFC 9113 3.4: the client's connection preface starts with these bytes.
constexpr std::string_view client_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// nghttp2 is fed at most this much at once; between slices the frames it
// queued (acknowledgements above all) move to the output.
constexpr std::size_t feed_slice = 4 * 1024;
// ... when it holds at least this many.
constexpr std::size_t outbound_queue_mark = 64;

std::atomic<std::uint64_t> connections_made{0};

std::error_code protocol_failure() { return std::make_error_code(std::errc::protocol_error); }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// RFC 9113 8.2.2: fields HTTP/2 forbids in a message.
bool connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "content-length";
}

}  // namespace

struct ServerConnection::Stream {
  Stream(std::int32_t id_, std::size_t max_fields) : id(id_), fields(max_fields) {}

  std::int32_t id;
  RequestFields fields;
  bool headers_done = false;   // the request's header block arrived
  bool request_ended = false;  // END_STREAM from the peer
  bool dispatched = false;     // handed to on_http or made a WebSocket
  bool answered = false;       // response HEADERS submitted
  bool websocket = false;      // answered 200 to an extended CONNECT
  bool deferred = false;       // the DATA source waits for output
  bool close_handled = false;  // the Driver's end was turned into the stream's
  bool closed = false;         // nghttp2 closed the stream
  std::uint32_t close_code = NGHTTP2_NO_ERROR;
  bool eof_given = false;  // Driver::receive_eof after request_ended
  std::unique_ptr<Driver> driver;
  StreamInput input;  // DATA the Driver has not taken yet
  std::string body;   // a plain answer's body
  std::size_t body_sent = 0;
};

// nghttp2's callbacks: they record and never call the application.
struct ServerConnection::Callbacks {
  static ServerConnection& self(void* user_data) {
    return *static_cast<ServerConnection*>(user_data);
  }

  static Stream* find(ServerConnection& connection, std::int32_t id) {
    const auto found = connection.streams_.find(id);
    return found == connection.streams_.end() ? nullptr : found->second.get();
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    ServerConnection& connection = self(user_data);
    connection.streams_.emplace(
        frame->hd.stream_id,
        std::make_unique<Stream>(frame->hd.stream_id, connection.settings_->max_header_list_size));
    connection.idle_since_.reset();
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_size, const std::uint8_t* value, std::size_t value_size,
                       std::uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Stream* stream = find(self(user_data), frame->hd.stream_id);
    if (stream != nullptr) stream->fields.add(view(name, name_size), view(value, value_size));
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ServerConnection& connection = self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    Stream* stream = find(connection, frame->hd.stream_id);
    if (stream == nullptr) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      stream->headers_done = true;
    }
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) stream->request_ended = true;
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                                const std::uint8_t* data, std::size_t size, void* user_data) {
    ServerConnection& connection = self(user_data);
    Stream* stream = find(connection, stream_id);
    if (stream == nullptr || stream->closed) {
      nghttp2_session_consume_connection(session, size);
      return 0;
    }
    if (!stream->fields.is_connect() || (stream->answered && !stream->websocket)) {
      // A plain request's body, or DATA after a refusal: nobody reads it.
      nghttp2_session_consume(session, stream_id, size);
      return 0;
    }
    // To the WebSocket once it is answered (held until then); flow control
    // bounds what waits to the stream's window, which reopens as the
    // Driver takes bytes.
    const ByteView bytes(reinterpret_cast<const std::byte*>(data), size);
    if (stream->websocket && !stream->closed) {
      receive_data(session, stream_id, *stream->driver, stream->input, bytes);
    } else {
      stream->input.bytes.append(reinterpret_cast<const char*>(data), size);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                             void* user_data) {
    Stream* stream = find(self(user_data), stream_id);
    if (stream != nullptr) {
      stream->closed = true;
      stream->close_code = error_code;
    }
    return 0;
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) return 0;
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
    Stream* stream = find(self(user_data), frame->hd.stream_id);
    // Our side is done and the peer's is not: RFC 9113 8.1 lets a server
    // end the stream with NO_ERROR rather than keep it open for a peer
    // that may never end its side.
    if (stream != nullptr && !stream->request_ended && !stream->closed) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  // The DATA of a WebSocket stream: the Driver's output.
  static ssize_t read_websocket(nghttp2_session*, std::int32_t, std::uint8_t* buffer,
                                std::size_t length, std::uint32_t* flags,
                                nghttp2_data_source* source, void*) {
    Stream& stream = *static_cast<Stream*>(source->ptr);
    return read_driver_output(*stream.driver, buffer, length, flags, stream.deferred);
  }

  // The body of a plain answer or a refusal.
  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buffer, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void*) {
    Stream& stream = *static_cast<Stream*>(source->ptr);
    const std::size_t n = std::min(length, stream.body.size() - stream.body_sent);
    std::memcpy(buffer, stream.body.data() + stream.body_sent, n);
    stream.body_sent += n;
    if (stream.body_sent == stream.body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
};

// ---- Construction --------------------------------------------------------------

ServerConnection::ServerConnection(SocketDriverContext context,
                                   std::shared_ptr<const ServerSettings> settings)
    : context_(std::move(context)),
      settings_(std::move(settings)),
      number_(connections_made.fetch_add(1, std::memory_order_relaxed) + 1),
      layer_(std::move(context_.layer)),
      read_area_(read_area_size) {
  if (!layer_ && !settings_->cleartext_http2) become_http1({});
}

ServerConnection::~ServerConnection() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

// ---- Choosing the protocol ---------------------------------------------------

void ServerConnection::sniff(ByteView bytes) {
  // Without TLS: the HTTP/2 preface, byte for byte, or HTTP/1.1 from the
  // first byte that differs (no HTTP/1.1 request starts with "PRI *").
  std::size_t i = 0;
  while (i < bytes.size() && preface_seen_.size() < client_preface.size()) {
    const char c = static_cast<char>(bytes[i]);
    if (c != client_preface[preface_seen_.size()]) {
      std::string seen = std::move(preface_seen_);
      seen.append(reinterpret_cast<const char*>(bytes.data()) + i, bytes.size() - i);
      become_http1(ByteView(reinterpret_cast<const std::byte*>(seen.data()), seen.size()));
      return;
    }
    preface_seen_.push_back(c);
    ++i;
  }
  if (preface_seen_.size() == client_preface.size()) {
    become_http2();
    feed_http2(
        ByteView(reinterpret_cast<const std::byte*>(client_preface.data()), client_preface.size()));
    if (i < bytes.size()) feed_http2(bytes.subspan(i));
  }
}

void ServerConnection::advance_tls_handshake() {
  (void)layer_->read({});  // advances the handshake, decodes nothing
  if (const std::error_code error = layer_->error()) {
    fail(error);
    return;
  }
  if (!layer_->handshake_done()) return;
  if (layer_->selected_protocol() == "h2") {
    become_http2();
    pull_tls_plaintext();
  } else {
    become_http1({});
  }
}

void ServerConnection::become_http1(ByteView first_bytes) {
  mode_ = Mode::http1;
  http1_ = std::make_unique<Driver>(Connection::server(context_.config), context_.handler,
                                    context_.options, context_.waker, std::move(layer_));
  if (!first_bytes.empty()) (void)http1_->receive(first_bytes);
  read_area_ = {};
  read_area_.shrink_to_fit();
}

void ServerConnection::become_http2() {
  mode_ = Mode::http2;
  handshake_deadline_.reset();

  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_option* option = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0 || nghttp2_option_new(&option) != 0) {
    if (callbacks != nullptr) nghttp2_session_callbacks_del(callbacks);
    fail(std::make_error_code(std::errc::not_enough_memory));
    return;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                            Callbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, Callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, Callbacks::on_frame_send);

  // Windows reopen as the WebSockets take their input, not as nghttp2
  // receives it: that is each WebSocket's backpressure.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_outbound_ack(option, settings_->max_outbound_ack);
  nghttp2_option_set_max_settings(option, settings_->max_settings_entries);
  nghttp2_option_set_max_continuations(option, settings_->max_continuations);
  nghttp2_option_set_stream_reset_rate_limit(option, settings_->reset_burst, settings_->reset_rate);

  const int made = nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_option_del(option);
  if (made != 0) {
    session_ = nullptr;
    fail(std::make_error_code(std::errc::not_enough_memory));
    return;
  }
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_->max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_->stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_->max_header_list_size},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // RFC 8441 3
  };
  // The connection's window covers every stream's, so a stream whose
  // reader stalls never closes it for the others.
  const std::uint64_t window =
      std::min<std::uint64_t>(std::uint64_t{settings_->stream_window} *
                                  std::max<std::uint32_t>(1, settings_->max_concurrent_streams),
                              NGHTTP2_MAX_WINDOW_SIZE);
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries)) != 0 ||
      nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                            static_cast<std::int32_t>(window)) != 0) {
    fail(protocol_failure());
    return;
  }
  idle_since_ = now_;
}

// ---- Bytes in ----------------------------------------------------------------

void ServerConnection::feed_http2(ByteView bytes) {
  // In slices, moving what nghttp2 owes into the output between them: the
  // acknowledgements of a peer's burst of PINGs or SETTINGS then never pile
  // up to nghttp2's flood limit (max_outbound_ack) within one read, while
  // a peer that does not read still reaches it once the output is full
  // (produce_output stops at its mark).
  while (!bytes.empty() && session_ != nullptr && !ended_) {
    const ByteView slice = bytes.first(std::min(bytes.size(), feed_slice));
    bytes = bytes.subspan(slice.size());
    const ssize_t used = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(slice.data()), slice.size());
    if (used < 0) {
      if (used == NGHTTP2_ERR_FLOODED) {
        // A peer that does not read what it asked for: nothing more goes.
        fail(std::make_error_code(std::errc::protocol_error));
      } else {
        // A connection error: nghttp2 queued its GOAWAY (RFC 9113 5.4.1),
        // which goes out before the socket closes (bounded by the write
        // stall timeout); the streams are over.
        broken_ = true;
        ended_ = true;
      }
      return;
    }
    if (nghttp2_session_get_outbound_queue_size(session_) >= outbound_queue_mark) {
      produce_output();
    }
  }
}

void ServerConnection::pull_tls_plaintext() {
  while (!ended_) {
    const std::size_t n = layer_->read(MutableByteView(read_area_.data(), read_area_.size()));
    if (n == 0) break;
    feed_http2(ByteView(read_area_.data(), n));
  }
  if (const std::error_code error = layer_->error()) {
    fail(error);
    return;
  }
  if (layer_->read_ended()) eof_ = true;
}

bool ServerConnection::wants_read() const noexcept {
  if (mode_ == Mode::http1) return http1_->wants_read();
  if (ended_ || eof_) return false;
  if (layer_ && layer_->wire_room() == 0) return false;
  if (mode_ == Mode::sniffing) return true;
  return turn_bytes_ < context_.options->fairness.bytes_per_turn && backlog() < read_stop_mark &&
         session_ != nullptr && nghttp2_session_want_read(session_) != 0;
}

std::size_t ServerConnection::receive_room() const noexcept {
  if (mode_ == Mode::http1) return http1_->receive_room();
  if (!wants_read()) return 0;
  if (layer_) return layer_->wire_room();
  if (mode_ == Mode::sniffing) return client_preface.size() - preface_seen_.size();
  return read_area_.size();
}

MutableByteView ServerConnection::receive_buffer() {
  if (mode_ == Mode::http1) return http1_->receive_buffer();
  const std::size_t room = std::min(receive_room(), read_area_.size());
  return MutableByteView(read_area_.data(), room);
}

void ServerConnection::commit_received(std::size_t n) noexcept {
  if (mode_ == Mode::http1) {
    http1_->commit_received(n);
    return;
  }
  // receive() copies out of read_area_ before anything reuses it: the
  // layer takes wire bytes by copy, sniff() keeps what it needs.
  (void)receive(ByteView(read_area_.data(), n));
}

std::size_t ServerConnection::receive(ByteView bytes) {
  if (mode_ == Mode::http1) return http1_->receive(bytes);
  if (ended_ || eof_) return 0;
  std::size_t taken = bytes.size();
  if (layer_) {
    // Wire bytes read into read_area_ are copied into the layer here,
    // before pull_tls_plaintext() reuses read_area_ for plaintext.
    taken = layer_->receive_wire(bytes);
    turn_bytes_ += taken;
    if (mode_ == Mode::sniffing) {
      advance_tls_handshake();
    } else {
      pull_tls_plaintext();
    }
    return taken;
  }
  turn_bytes_ += taken;
  if (mode_ == Mode::sniffing) {
    sniff(bytes);
  } else {
    feed_http2(bytes);
  }
  return taken;
}

void ServerConnection::receive_eof() noexcept {
  if (mode_ == Mode::http1) {
    http1_->receive_eof();
    return;
  }
  eof_ = true;
  if (mode_ == Mode::sniffing) {
    // Nothing was said yet: nothing to answer.
    ended_ = true;
    return;
  }
  // The streams the peer can no longer end are over (step() tells them).
  for (auto& [id, stream] : streams_) {
    if (!stream->closed) {
      stream->closed = true;
      stream->close_code = NGHTTP2_CANCEL;
    }
  }
}

void ServerConnection::transport_failed(std::error_code error) noexcept {
  if (mode_ == Mode::http1) {
    http1_->transport_failed(error);
    return;
  }
  if (!error_) error_ = error;
  receive_eof();
  ended_ = true;
}

// ---- Bytes out ---------------------------------------------------------------

void ServerConnection::produce_output() {
  if (session_ == nullptr || (ended_ && error_)) return;
  if (const std::error_code error = output_.produce(session_, layer_.get())) fail(error);
  if (layer_) {
    if (const std::error_code error = layer_->error()) fail(error);
  }
}

std::size_t ServerConnection::backlog() const noexcept { return output_.backlog(layer_.get()); }

bool ServerConnection::wants_write() const noexcept { return pending_output_size() > 0; }

std::span<const OutputBuffer> ServerConnection::pending_output() {
  if (mode_ == Mode::http1) return http1_->pending_output();
  return output_.pending(layer_.get());
}

std::size_t ServerConnection::pending_output_size() const noexcept {
  if (mode_ == Mode::http1) return http1_->pending_output_size();
  return output_.pending_size(layer_.get());
}

void ServerConnection::consume_output(std::size_t n) noexcept {
  if (mode_ == Mode::http1) {
    http1_->consume_output(n);
    return;
  }
  if (n > 0) stalled_since_.reset();
  output_.consume(layer_.get(), n);
  produce_output();
}

void ServerConnection::mark_output_in_flight(std::size_t n) noexcept {
  if (mode_ == Mode::http1) {
    http1_->mark_output_in_flight(n);
    return;
  }
  output_.mark_in_flight(layer_.get(), n);
}

// ---- Work --------------------------------------------------------------------

SocketDriver::Turn ServerConnection::step(TimePoint now) {
  if (mode_ == Mode::http1) return http1_->step(now);
  if (finished_) return Turn::done;
  now_ = now;
  turn_bytes_ = 0;
  if (!started_) {
    started_ = true;
    const Duration limit = context_.config->timeouts.handshake_timeout;
    if (mode_ == Mode::sniffing && limit.count() > 0) handshake_deadline_ = now + limit;
    if (mode_ == Mode::http2) idle_since_ = now;
  }
  if (mode_ == Mode::sniffing) {
    if (handshake_deadline_ && now >= *handshake_deadline_) {
      fail(std::make_error_code(std::errc::timed_out));
    }
    update_deadline();
    return Turn::done;
  }

  Turn turn = Turn::done;
  if (session_ != nullptr && !(ended_ && error_)) {
    if (!broken_) {
      serve_requests();
      turn = pump_streams(now);
    }
    produce_output();  // a broken connection's GOAWAY too
  }

  // The connection's own timers: output that does not move, and an idle
  // connection with no stream.
  if (backlog() > 0) {
    if (!stalled_since_) stalled_since_ = now;
    const Duration stall = context_.options->write_stall_timeout;
    if (stall.count() > 0 && now - *stalled_since_ >= stall) {
      fail(std::make_error_code(std::errc::timed_out));
    }
  } else {
    stalled_since_.reset();
  }
  if (streams_.empty() && !ended_) {
    if (!idle_since_) idle_since_ = now;
    const Duration idle = context_.config->timeouts.idle_timeout;
    if (going_away_ || (idle.count() > 0 && now - *idle_since_ >= idle)) {
      if (!goaway_sent_) {
        nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                              nullptr, 0);
        goaway_sent_ = true;
        produce_output();
      }
      ended_ = true;
    }
  }
  if (session_ != nullptr && !ended_ && nghttp2_session_want_read(session_) == 0 &&
      nghttp2_session_want_write(session_) == 0) {
    ended_ = true;  // nghttp2 ended the session (GOAWAY, a limit)
  }
  if (eof_ && !ended_ && streams_.empty()) ended_ = true;
  if (ended_ && !error_ && layer_ && !layer_->shutdown_started() && output_.all_encoded()) {
    layer_->shutdown();  // close_notify after the last frame
  }
  update_deadline();
  return turn;
}

void ServerConnection::serve_requests() {
  for (auto& [id, stream] : streams_) {
    if (stream->dispatched || !stream->headers_done || stream->closed) continue;
    stream->dispatched = true;
    if (settings_->on_request) {
      const std::optional<std::string>& protocol = stream->fields.protocol();
      settings_->on_request(RequestSeen{number_, id, stream->fields.method(),
                                        protocol ? std::string_view(*protocol) : std::string_view(),
                                        stream->fields.path()});
    }
    if (stream->fields.too_large()) {
      submit_plain(*stream, 431, "request header fields too large\n", {});
    } else if (stream->fields.is_connect()) {
      open_websocket(*stream);
    } else {
      answer_http(*stream);
    }
  }
}

void ServerConnection::answer_http(Stream& stream) {
  const Handler& handler = *context_.handler;
  const HttpHead head = stream.fields.http_head();
  HttpAnswer answer{404, "not found\n", {}};
  if (handler.on_http && context_.config->serve_plain_http) answer = handler.on_http(head);
  if (answer.status < 200 || answer.status > 599) {
    answer = HttpAnswer{500, "the server's HTTP answer is invalid\n", {}};
  }
  if (stream.fields.method() == "HEAD") answer.body.clear();
  submit_plain(stream, answer.status, std::move(answer.body), answer.headers);
}

void ServerConnection::open_websocket(Stream& stream) {
  Result<Connection> connection =
      Connection::server_for_stream(stream.fields.connect_request(), context_.config);
  if (!connection) {
    // Not a WebSocket we serve (a plain CONNECT, another :protocol, a
    // missing field): this stream is refused, the others go on.
    const std::error_code error = connection.error();
    std::vector<HeaderField> headers;
    const int status = http_status_for(error);
    if (status == 426) headers.push_back(HeaderField{"sec-websocket-version", "13"});
    submit_plain(stream, status, error.message() + "\n", headers);
    return;
  }
  stream.driver = std::make_unique<Driver>(std::move(*connection), context_.handler,
                                           context_.options, context_.waker);
}

void ServerConnection::submit_plain(Stream& stream, int status, std::string body,
                                    const std::vector<HeaderField>& headers) {
  drop_input(session_, stream.input);  // nobody reads what came before the refusal
  stream.body = std::move(body);
  const std::string status_text = std::to_string(status);
  const std::string length_text = std::to_string(stream.body.size());
  std::vector<std::string> names;
  names.reserve(headers.size());
  std::vector<nghttp2_nv> fields;
  fields.reserve(headers.size() + 2);
  fields.push_back(field(":status", status_text));
  for (const HeaderField& header : headers) {
    names.push_back(lower(header.name));
    if (connection_specific(names.back())) continue;
    fields.push_back(field(names.back(), header.value));
  }
  fields.push_back(field("content-length", length_text));
  nghttp2_data_provider provider{};
  provider.source.ptr = &stream;
  provider.read_callback = Callbacks::read_body;
  const bool has_body = !stream.body.empty();
  stream.answered = true;
  if (nghttp2_submit_response(session_, stream.id, fields.data(), fields.size(),
                              has_body ? &provider : nullptr) != 0) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_INTERNAL_ERROR);
  }
}

void ServerConnection::submit_answer(Stream& stream, const StreamAnswer& answer) {
  if (answer.status != 200) {
    submit_plain(stream, answer.status, answer.body, answer.fields);
    return;
  }
  const std::string status_text = std::to_string(answer.status);
  std::vector<nghttp2_nv> fields;
  fields.reserve(answer.fields.size() + 1);
  fields.push_back(field(":status", status_text));
  for (const HeaderField& header : answer.fields)
    fields.push_back(field(header.name, header.value));
  nghttp2_data_provider provider{};
  provider.source.ptr = &stream;
  provider.read_callback = Callbacks::read_websocket;
  stream.answered = true;
  stream.websocket = true;
  if (nghttp2_submit_response(session_, stream.id, fields.data(), fields.size(), &provider) != 0) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_INTERNAL_ERROR);
  }
}

void ServerConnection::pump_input(Stream& stream) {
  if (!stream.websocket || stream.closed) return;
  feed_driver(session_, stream.id, *stream.driver, stream.input);
  if (stream.request_ended && stream.input.empty() && !stream.eof_given) {
    stream.eof_given = true;
    stream.driver->receive_eof();  // the peer ended its side (END_STREAM)
  }
}

SocketDriver::Turn ServerConnection::pump_streams(TimePoint now) {
  Turn turn = Turn::done;
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream& stream = *it->second;
    if (!stream.driver) {
      // A plain request or a refusal: gone once nghttp2 closed it.
      if (stream.closed) {
        it = streams_.erase(it);
        continue;
      }
      ++it;
      continue;
    }
    Driver& driver = *stream.driver;
    if (stream.closed) {
      finish_stream(stream);
      it = streams_.erase(it);
      continue;
    }
    pump_input(stream);
    if (driver.step(now) == Turn::yield) turn = Turn::yield;
    if (!stream.answered) {
      if (std::optional<StreamAnswer> answer = driver.take_stream_answer()) {
        submit_answer(stream, *answer);
        if (stream.websocket && !stream.input.empty()) {
          // DATA that came with the CONNECT, before the answer: the
          // WebSocket reads it now, not at the next wake-up.
          pump_input(stream);
          if (driver.step(now) == Turn::yield) turn = Turn::yield;
        }
      }
    }
    if (stream.websocket && !stream.input.empty() && driver.receive_room() > 0) {
      turn = Turn::yield;  // the WebSocket has room again: feed it soon
    }
    if (driver.should_close_transport() && !stream.close_handled) {
      stream.close_handled = true;
      if (!stream.answered || (stream.websocket && driver.pending_output_size() > 0)) {
        // No answer to send (the handshake timed out), or output that can
        // never go (the driver gave up on it): the stream is cancelled.
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_CANCEL);
      }
    }
    if (stream.deferred && stream.websocket &&
        (driver.pending_output_size() > 0 || driver.should_close_transport())) {
      stream.deferred = false;
      nghttp2_session_resume_data(session_, stream.id);
    }
    ++it;
  }
  if (streams_.empty() && !idle_since_) idle_since_ = now;
  return turn;
}

void ServerConnection::finish_stream(Stream& stream) {
  drop_input(session_, stream.input);
  Driver& driver = *stream.driver;
  if (!driver.should_close_transport()) {
    // Reset before the WebSocket ended (RFC 8441: the stream's end is the
    // transport's): an abnormal close for this WebSocket alone.
    if (stream.close_code != NGHTTP2_NO_ERROR || !stream.request_ended) {
      driver.transport_failed(std::make_error_code(std::errc::connection_reset));
    } else {
      driver.receive_eof();
    }
    (void)driver.step(now_);
  }
  driver.transport_closed();
}

std::optional<TimePoint> ServerConnection::next_deadline() const noexcept {
  if (mode_ == Mode::http1) return http1_->next_deadline();
  return deadline_;
}

void ServerConnection::update_deadline() noexcept {
  std::optional<TimePoint> next = handshake_deadline_;
  const auto consider = [&next](std::optional<TimePoint> when) {
    if (when && (!next || *when < *next)) next = when;
  };
  if (stalled_since_ && context_.options->write_stall_timeout.count() > 0) {
    consider(*stalled_since_ + context_.options->write_stall_timeout);
  }
  if (mode_ == Mode::http2 && streams_.empty() && idle_since_ &&
      context_.config->timeouts.idle_timeout.count() > 0) {
    consider(*idle_since_ + context_.config->timeouts.idle_timeout);
  }
  for (const auto& [id, stream] : streams_) {
    if (stream->driver) consider(stream->driver->next_deadline());
  }
  deadline_ = next;
}

bool ServerConnection::should_close_transport() const noexcept {
  if (mode_ == Mode::http1) return http1_->should_close_transport();
  if (!ended_) return false;
  if (error_) return true;
  return backlog() == 0 && (!layer_ || layer_->shutdown_started() || mode_ == Mode::sniffing);
}

void ServerConnection::transport_closed() {
  if (finished_) return;
  finished_ = true;
  if (mode_ == Mode::http1) {
    http1_->transport_closed();
    return;
  }
  // Every WebSocket still open lost its transport.
  std::map<std::int32_t, std::unique_ptr<Stream>> streams = std::move(streams_);
  for (auto& [id, stream] : streams) {
    if (!stream->driver || stream->driver->finished()) continue;
    if (!stream->driver->should_close_transport()) {
      stream->driver->transport_failed(error_ ? error_
                                       : broken_
                                           ? protocol_failure()
                                           : std::make_error_code(std::errc::connection_reset));
    }
    stream->driver->transport_closed();
  }
}

bool ServerConnection::take_buffers_released() noexcept {
  if (mode_ == Mode::http1) return http1_->take_buffers_released();
  return false;  // nothing of its own to give back yet; the streams' drivers trim themselves
}

void ServerConnection::close_going_away() {
  if (mode_ == Mode::http1) {
    http1_->close_going_away();
    return;
  }
  if (mode_ == Mode::sniffing) {
    fail(std::make_error_code(std::errc::operation_canceled));
    return;
  }
  if (going_away_) return;
  going_away_ = true;
  // New streams are refused; open WebSockets close with 1001 (below) and
  // the connection ends once they are all gone (step()).
  if (session_ != nullptr) {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    goaway_sent_ = true;
  }
  for (auto& [id, stream] : streams_) {
    if (stream->driver) stream->driver->close_going_away();
  }
}

void ServerConnection::abort(std::error_code why) {
  if (mode_ == Mode::http1) {
    http1_->abort(why);
    return;
  }
  for (auto& [id, stream] : streams_) {
    if (stream->driver) stream->driver->abort(why);
  }
  fail(why);
}

void ServerConnection::fail(std::error_code error) noexcept {
  if (!error_) error_ = error;
  ended_ = true;
}

// ---- The factory -------------------------------------------------------------

namespace {

class ServerProtocols final : public SocketDriverFactory {
 public:
  explicit ServerProtocols(ServerSettings settings)
      : settings_(std::make_shared<const ServerSettings>(std::move(settings))) {}

  Result<std::unique_ptr<SocketDriver>> make(SocketDriverContext context) const override {
    return std::unique_ptr<SocketDriver>(
        std::make_unique<ServerConnection>(std::move(context), settings_));
  }

 private:
  std::shared_ptr<const ServerSettings> settings_;
};

}  // namespace

}  // namespace ws::http2::detail

namespace ws::http2 {

std::shared_ptr<const SocketDriverFactory> server_protocols(ServerSettings settings) {
  return std::make_shared<const detail::ServerProtocols>(std::move(settings));
}

}  // namespace ws::http2
