// wss://: ws::asio::TlsStream, a Stream over asio::ssl::stream<tcp::socket>.
//
// The Stream does the TLS handshake itself when it was not done yet
// (async_accept as the TLS server, async_handshake as the TLS client, with
// SNI set to the URL's host name), within Config::timeouts.handshake_timeout.
// Certificate checks are the ssl::context's business (set_verify_mode,
// host_name_verification on the ssl::stream before the handshake).
//
// Closing sends close_notify. A peer that ends the TCP stream without
// close_notify (asio::ssl::error::stream_truncated) is treated as an
// ordinary end of stream: after a completed close handshake nothing was
// lost, and before it the Connection reports errc::unexpected_eof.
//
// Reads and writes go through the TLS engine, which copies by nature: the
// Stream reads decrypted bytes 16 KiB at a time and hands up to 64 KiB of
// output to the engine per write.
#pragma once

#include <asio/ssl/stream.hpp>

#include "ws/asio/stream.hpp"

namespace ws::asio {
namespace detail {

class TlsEngine final : public AsioEngine {
 public:
  using socket_type = ::asio::ssl::stream<::asio::ip::tcp::socket>;

  TlsEngine(socket_type stream, StreamOptions options);
  socket_type& next_layer() noexcept { return stream_; }

 private:
  void transport_start(Role role, const std::string& host) override;
  ReadStop transport_read() override;
  void transport_write() override;
  void transport_shutdown(bool peer_ended) override;
  void transport_abort() override;

  void shutdown_tls();
  void close_now();
  std::shared_ptr<TlsEngine> self();

  socket_type stream_;
  std::vector<std::byte> in_;  // decrypted bytes not yet taken by the Connection
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::vector<std::byte> out_;  // bytes being handed to the TLS engine
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool shutting_down_ = false;
  bool peer_sent_close_notify_ = false;
};

template <>
struct EngineFor<::asio::ssl::stream<::asio::ip::tcp::socket>> {
  using type = TlsEngine;
};

}  // namespace detail

/// wss:// over TLS over TCP.
using TlsStream = Stream<::asio::ssl::stream<::asio::ip::tcp::socket>>;

}  // namespace ws::asio
