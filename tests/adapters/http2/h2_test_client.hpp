// An HTTP/2 client for tests, made with nghttp2's own client session: it
// speaks to a ws::SocketDriver in memory (no sockets), records what each
// stream received, and sends WebSocket frames as DATA.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "support/frames.hpp"
#include "ws/driver/socket_driver.hpp"

namespace ws::test {

struct H2StreamSeen {
  std::vector<std::pair<std::string, std::string>> headers;  // :status first
  std::string data;                                          // DATA received
  bool ended = false;                                        // END_STREAM
  bool closed = false;
  std::uint32_t close_code = 0;

  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "<none>";
  }
  int status() const {
    const std::string s = header(":status");
    return s == "<none>" ? 0 : std::stoi(s);
  }
  /// WebSocket frames parsed from the DATA (server frames: unmasked).
  std::vector<ParsedFrame> frames() const {
    return parse_frames(ByteView(reinterpret_cast<const std::byte*>(data.data()), data.size()));
  }
};

class H2TestClient {
 public:
  /// `auto_window`: let nghttp2 reopen windows as DATA arrives; false: the
  /// test does it (a reader that stalls).
  explicit H2TestClient(bool auto_window = true) {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    if (!auto_window) nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_session_client_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
    // A browser's connection window is large (Chromium's is 15 MiB): the
    // stream windows are what a stalled reader closes.
    if (!auto_window)
      nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 << 20);
  }
  ~H2TestClient() { nghttp2_session_del(session_); }
  H2TestClient(const H2TestClient&) = delete;
  H2TestClient& operator=(const H2TestClient&) = delete;

  nghttp2_session* session() { return session_; }
  std::map<std::int32_t, H2StreamSeen>& streams() { return streams_; }
  H2StreamSeen& stream(std::int32_t id) { return streams_[id]; }
  bool goaway_seen() const { return goaway_seen_; }
  std::uint32_t server_setting(nghttp2_settings_id id) {
    return nghttp2_session_get_remote_settings(session_, id);
  }

  /// Opens a request stream; returns its id.
  std::int32_t request(std::vector<std::pair<std::string, std::string>> fields, bool end_stream) {
    std::vector<nghttp2_nv> nv;
    for (auto& [name, value] : fields) {
      nv.push_back(nghttp2_nv{reinterpret_cast<std::uint8_t*>(name.data()),
                              reinterpret_cast<std::uint8_t*>(value.data()), name.size(),
                              value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    const std::int32_t id =
        nghttp2_submit_headers(session_, end_stream ? NGHTTP2_FLAG_END_STREAM : NGHTTP2_FLAG_NONE,
                               -1, nullptr, nv.data(), nv.size(), nullptr);
    streams_[id];
    return id;
  }
  /// An extended CONNECT for a WebSocket at `path` (RFC 8441 4).
  std::int32_t connect_websocket(std::string path = "/chat",
                                 std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> fields = {{":method", "CONNECT"},
                                                               {":protocol", "websocket"},
                                                               {":scheme", "http"},
                                                               {":path", std::move(path)},
                                                               {":authority", "server.example"},
                                                               {"sec-websocket-version", "13"}};
    for (auto& field : extra) fields.push_back(std::move(field));
    return request(std::move(fields), false);
  }
  /// Queues bytes as DATA on a stream (after what was queued before).
  void send(std::int32_t id, const Bytes& bytes, bool end_stream = false) {
    Outgoing& out = outgoing_[id];
    out.data.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    out.end = out.end || end_stream;
    if (!out.submitted) {
      out.submitted = true;
      nghttp2_data_provider provider{};
      provider.source.ptr = &out;
      provider.read_callback = read_outgoing;
      nghttp2_submit_data(session_, NGHTTP2_FLAG_END_STREAM, id, &provider);
    } else {
      nghttp2_session_resume_data(session_, id);
    }
  }
  void reset(std::int32_t id, std::uint32_t code = NGHTTP2_CANCEL) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
  }
  /// What the test's reader took: reopens the windows by `n`.
  void consume(std::int32_t id, std::size_t n) { nghttp2_session_consume(session_, id, n); }

  /// Moves bytes both ways between this client and `server` until neither
  /// has anything more, stepping the server at `now`.
  void exchange(SocketDriver& server, TimePoint now, int rounds = 64) {
    for (int i = 0; i < rounds; ++i) {
      bool moved = false;
      // Client -> server.
      while (true) {
        const std::uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n <= 0) break;
        std::size_t offset = 0;
        while (offset < static_cast<std::size_t>(n) && server.receive_room() > 0) {
          offset += server.receive(ByteView(reinterpret_cast<const std::byte*>(data) + offset,
                                            static_cast<std::size_t>(n) - offset));
        }
        pending_to_server_.append(reinterpret_cast<const char*>(data) + offset,
                                  static_cast<std::size_t>(n) - offset);
        moved = true;
      }
      while (!pending_to_server_.empty() && server.receive_room() > 0) {
        const std::size_t taken =
            server.receive(ByteView(reinterpret_cast<const std::byte*>(pending_to_server_.data()),
                                    pending_to_server_.size()));
        pending_to_server_.erase(0, taken);
        if (taken == 0) break;
        moved = true;
      }
      (void)server.step(now);
      // Server -> client.
      while (server.pending_output_size() > 0) {
        std::size_t total = 0;
        for (const OutputBuffer& piece : server.pending_output()) {
          const ssize_t used = nghttp2_session_mem_recv(
              session_,
              piece.data == nullptr ? nullptr : reinterpret_cast<const std::uint8_t*>(piece.data),
              piece.size);
          if (used < 0) client_error_ = static_cast<int>(used);
          total += piece.size;
        }
        server.consume_output(total);
        moved = true;
      }
      if (!moved) return;
    }
  }
  int client_error() const { return client_error_; }

 private:
  struct Outgoing {
    std::string data;
    std::size_t sent = 0;
    bool end = false;
    bool submitted = false;
  };

  static H2TestClient& self(void* user) { return *static_cast<H2TestClient*>(user); }

  static ssize_t read_outgoing(nghttp2_session*, std::int32_t, std::uint8_t* buffer,
                               std::size_t length, std::uint32_t* flags,
                               nghttp2_data_source* source, void*) {
    Outgoing& out = *static_cast<Outgoing*>(source->ptr);
    const std::size_t n = std::min(length, out.data.size() - out.sent);
    std::memcpy(buffer, out.data.data() + out.sent, n);
    out.sent += n;
    if (out.sent == out.data.size()) {
      if (out.end) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
      } else if (n == 0) {
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_size, const std::uint8_t* value, std::size_t value_size,
                       std::uint8_t, void* user) {
    self(user).streams_[frame->hd.stream_id].headers.emplace_back(
        std::string(reinterpret_cast<const char*>(name), name_size),
        std::string(reinterpret_cast<const char*>(value), value_size));
    return 0;
  }
  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                     std::size_t size, void* user) {
    self(user).streams_[id].data.append(reinterpret_cast<const char*>(data), size);
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_GOAWAY) self(user).goaway_seen_ = true;
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      self(user).streams_[frame->hd.stream_id].ended = true;
    }
    return 0;
  }
  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
    H2StreamSeen& seen = self(user).streams_[id];
    seen.closed = true;
    seen.close_code = code;
    return 0;
  }

  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, H2StreamSeen> streams_;
  std::map<std::int32_t, Outgoing> outgoing_;
  std::string pending_to_server_;
  bool goaway_seen_ = false;
  int client_error_ = 0;
};

}  // namespace ws::test
