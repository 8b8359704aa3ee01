#include <algorithm>
#include <asio/ip/address.hpp>
#include <asio/write.hpp>

#include "ws/asio/tls.hpp"

namespace ws::asio::detail {
namespace {

// The largest TLS record holds 16 KiB of plaintext.
constexpr std::size_t read_chunk = 16 * 1024;
// Output handed to the TLS engine per write.
constexpr std::size_t write_chunk = 64 * 1024;

}  // namespace

TlsEngine::TlsEngine(socket_type stream, StreamOptions options)
    : AsioEngine(stream.get_executor(), std::move(options)),
      stream_(std::move(stream)),
      in_(read_chunk) {}

std::shared_ptr<TlsEngine> TlsEngine::self() {
  return std::static_pointer_cast<TlsEngine>(shared_from_this());
}

void TlsEngine::transport_start(Role role, const std::string& host) {
  SSL* ssl = stream_.native_handle();
  if (SSL_is_init_finished(ssl) == 1) {
    transport_ready({});  // the application did the TLS handshake
    return;
  }
  std::error_code not_an_address;
  (void)::asio::ip::make_address(host, not_an_address);
  if (role == Role::client && !host.empty() && not_an_address) {
    // SNI (RFC 6066 3): a host name, never an address literal.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }
  const auto type = role == Role::client ? socket_type::client : socket_type::server;
  stream_.async_handshake(type, [self = self()](std::error_code error) {
    if (self->socket_closed_) return;
    self->transport_ready(error);
  });
}

Engine::ReadStop TlsEngine::transport_read() {
  if (read_in_flight_) return ReadStop::waiting;
  Driver& driver = this->driver();
  // Bytes the Connection could not take last time go first.
  while (in_begin_ < in_end_) {
    if (!driver.wants_read()) return ReadStop::budget;
    const std::size_t taken = driver.receive(ByteView(in_.data() + in_begin_, in_end_ - in_begin_));
    if (taken == 0) return ReadStop::full;
    in_begin_ += taken;
  }
  if (!driver.wants_read()) return ReadStop::budget;
  in_begin_ = in_end_ = 0;
  read_in_flight_ = true;
  stream_.async_read_some(
      ::asio::buffer(in_), [self = self()](std::error_code error, std::size_t n) {
        self->read_in_flight_ = false;
        if (self->socket_closed_) return;
        if (self->shutting_down_) {
          self->shutdown_tls();  // the read was cancelled for the shutdown
          return;
        }
        self->in_end_ = n;
        if (n > 0) self->in_begin_ = self->driver().receive(ByteView(self->in_.data(), n));
        if (error == ::asio::error::eof) {
          self->peer_sent_close_notify_ = true;
          self->read_eof();
        } else if (error == ::asio::ssl::error::stream_truncated) {
          self->read_eof();  // no close_notify: an ordinary end
        } else if (error) {
          self->transport_failed(error);
        }
        self->turn();
      });
  return ReadStop::waiting;
}

void TlsEngine::transport_write() {
  if (write_in_flight_) return;
  Driver& driver = this->driver();
  if (driver.pending_output_size() == 0) return;
  out_.clear();
  for (const OutputBuffer& buffer : driver.pending_output()) {
    const std::size_t take = std::min(buffer.size, write_chunk - out_.size());
    out_.insert(out_.end(), buffer.data, buffer.data + take);
    if (out_.size() == write_chunk) break;
  }
  // The bytes count as written once the TLS engine took them all: until
  // then the driver's write-stall clock runs.
  write_in_flight_ = true;
  ::asio::async_write(stream_, ::asio::buffer(out_),
                      [self = self()](std::error_code error, std::size_t) {
                        self->write_in_flight_ = false;
                        if (self->socket_closed_ || self->shutting_down()) return;
                        if (error) {
                          self->transport_failed(error);
                        } else {
                          self->output_written(self->out_.size());
                        }
                        self->turn();
                      });
}

void TlsEngine::transport_shutdown(bool peer_ended) {
  shutting_down_ = true;
  if (peer_ended && !peer_sent_close_notify_) {
    close_now();  // the TCP stream ended without TLS's goodbye: nothing to exchange
    return;
  }
  if (read_in_flight_) {
    // TLS cannot read for the shutdown while a read is pending: end that
    // read first; its handler continues with shutdown_tls().
    std::error_code ignored;
    stream_.lowest_layer().cancel(ignored);
    return;
  }
  shutdown_tls();
}

void TlsEngine::shutdown_tls() {
  // Sends close_notify, then waits for the peer's (or the end of the
  // stream); the linger deadline bounds the wait.
  stream_.async_shutdown([self = self()](std::error_code) { self->close_now(); });
}

void TlsEngine::transport_abort() {
  shutting_down_ = true;
  close_now();
}

void TlsEngine::close_now() {
  if (socket_closed_) return;
  socket_closed_ = true;
  std::error_code ignored;
  stream_.lowest_layer().close(ignored);
  cancel_timer();
  transport_closed();
}

}  // namespace ws::asio::detail
