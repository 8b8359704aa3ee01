// TlsLayer: one TLS connection as a StreamLayer, over two OpenSSL memory
// BIOs. Wire bytes from the transport are written into the read BIO;
// whatever OpenSSL writes into the write BIO is moved, after every SSL
// call, into WireOutput, whose bytes never move (io_uring sends read them
// in place).
#include "tls_layer.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "wire_output.hpp"
#include "ws/tls/error.hpp"
#include "ws/tls/layer.hpp"

namespace ws::tls {
namespace detail {
namespace {

// The largest TLS record on the wire: a 5-byte header and up to 2^14 + 2048
// bytes of ciphertext (RFC 5246 6.2.3; TLS 1.3 allows only 2^14 + 256).
constexpr std::size_t max_wire_record = 5 + 16384 + 2048;
// Undecoded wire input the layer holds at most: two whole records, so one
// is always complete for read() to decode while the transport reads on.
constexpr std::size_t wire_input_limit = 2 * max_wire_record;
// What wire_buffer() offers at once.
constexpr std::size_t wire_buffer_size = 16 * 1024;
// The plaintext of one record (TLS's maximum): write() encrypts this much
// per SSL_write, gathering small pieces into one record.
constexpr std::size_t record_plaintext = 16 * 1024;
// write() takes nothing more while this much wire output is pending: the
// Connection keeps the rest, and its own backpressure works as without TLS.
constexpr std::size_t pending_wire_limit = 256 * 1024;

// The text of OpenSSL's error queue (this thread's), which is emptied.
std::string take_openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

class TlsLayer final : public StreamLayer {
 public:
  TlsLayer(std::shared_ptr<const void> contexts, SSL* ssl, BIO* rbio, BIO* wbio, Role role)
      : contexts_(std::move(contexts)), ssl_(ssl), rbio_(rbio), wbio_(wbio), role_(role) {}
  ~TlsLayer() override { SSL_free(ssl_); }
  TlsLayer(const TlsLayer&) = delete;
  TlsLayer& operator=(const TlsLayer&) = delete;

  void start() {
    if (role_ == Role::client) advance_handshake();  // the ClientHello
  }

  // ---- Wire bytes in -----------------------------------------------------

  MutableByteView wire_buffer() override {
    const std::size_t room = std::min(wire_room(), wire_buffer_size);
    if (room == 0) return {};
    if (in_.size() < wire_buffer_size) in_.resize(wire_buffer_size);
    return {in_.data(), room};
  }

  void commit_wire(std::size_t n) override { (void)receive_wire(ByteView(in_.data(), n)); }

  std::size_t receive_wire(ByteView bytes) override {
    const std::size_t take = std::min(bytes.size(), wire_room());
    if (take == 0) return 0;
    // A memory BIO write fails only when it cannot grow (out of memory):
    // the bytes are then not taken.
    const int written = BIO_write(rbio_, bytes.data(), static_cast<int>(take));
    return written > 0 ? static_cast<std::size_t>(written) : 0;
  }

  std::size_t wire_room() const noexcept override {
    if (wire_eof_ || error_) return 0;
    const std::size_t held = BIO_ctrl_pending(rbio_);
    return held >= wire_input_limit ? 0 : wire_input_limit - held;
  }

  void receive_wire_eof() override {
    if (wire_eof_) return;
    wire_eof_ = true;
    // An empty read BIO now reads as the end of the stream (0, not "retry").
    BIO_set_mem_eof_return(rbio_, 0);
  }

  // ---- Decoded bytes -----------------------------------------------------

  std::size_t read(MutableByteView into) override {
    if (error_ || read_ended_) return 0;
    if (!advance_handshake()) return 0;
    std::size_t total = 0;
    while (total < into.size()) {
      ERR_clear_error();
      std::size_t n = 0;
      const int result = SSL_read_ex(ssl_, into.data() + total, into.size() - total, &n);
      if (result == 1) {
        total += n;
        continue;
      }
      const int why = SSL_get_error(ssl_, result);
      if (why == SSL_ERROR_WANT_READ) break;
      if (why == SSL_ERROR_ZERO_RETURN) {
        // close_notify, or the end of the wire stream without it
        // (SSL_OP_IGNORE_UNEXPECTED_EOF): either way an ordinary end.
        read_ended_ = true;
        break;
      }
      fail(why);
      break;
    }
    drain();
    return total;
  }

  bool read_ended() const noexcept override { return read_ended_; }

  // ---- Bytes to send -----------------------------------------------------

  std::size_t write(std::span<const OutputBuffer> buffers) override {
    if (error_ || shutdown_started_) return 0;
    if (!advance_handshake()) return 0;
    std::size_t taken = 0;
    std::size_t index = 0;
    std::size_t offset = 0;  // into buffers[index]
    while (output_.size() < pending_wire_limit) {
      while (index < buffers.size() && offset == buffers[index].size) {
        ++index;
        offset = 0;
      }
      if (index == buffers.size()) break;
      const std::byte* data = buffers[index].data + offset;
      std::size_t size = buffers[index].size - offset;
      if (size >= record_plaintext) {
        // A whole record from one piece: encrypted in place, no copy.
        size = record_plaintext;
        offset += size;
      } else {
        // Smaller pieces (a frame header, a short payload, the tail of a
        // long one) are gathered so that they share a record.
        gather_.clear();
        while (index < buffers.size() && gather_.size() < record_plaintext) {
          const OutputBuffer& piece = buffers[index];
          const std::size_t n = std::min(piece.size - offset, record_plaintext - gather_.size());
          gather_.insert(gather_.end(), piece.data + offset, piece.data + offset + n);
          offset += n;
          if (offset == piece.size) {
            ++index;
            offset = 0;
          }
        }
        data = gather_.data();
        size = gather_.size();
      }
      ERR_clear_error();
      std::size_t written = 0;
      // A memory BIO always takes the whole record, so SSL_write_ex either
      // writes everything or fails (there is no "retry later").
      const int result = SSL_write_ex(ssl_, data, size, &written);
      if (result != 1) {
        fail(SSL_get_error(ssl_, result));
        break;
      }
      taken += written;
      drain();
    }
    return taken;
  }

  void shutdown() override {
    if (shutdown_started_) return;
    shutdown_started_ = true;
    // Before the handshake completed there is no session to close: the
    // transport just closes.
    if (error_ || !handshake_done_) return;
    ERR_clear_error();
    // Sends close_notify; the peer's is not waited for (the Driver closes
    // once this is written, as a TCP close after the WebSocket close).
    (void)SSL_shutdown(ssl_);
    ERR_clear_error();
    drain();
  }

  bool shutdown_started() const noexcept override { return shutdown_started_; }

  // ---- Wire bytes out ----------------------------------------------------

  std::span<const OutputBuffer> pending_wire() override { return output_.pending(); }
  std::size_t pending_wire_size() const noexcept override { return output_.size(); }
  void consume_wire(std::size_t n) override { output_.consume(n); }
  void mark_wire_in_flight(std::size_t n) override { output_.mark_in_flight(n); }

  // ---- State -------------------------------------------------------------

  std::error_code error() const noexcept override { return error_; }
  bool handshake_done() const noexcept override { return handshake_done_; }
  std::string_view selected_protocol() const noexcept override { return protocol_; }

  void release_idle_buffers() noexcept override {
    output_.release_if_empty();
    // (Not `in_ = {}`, which keeps the capacity.)
    std::vector<std::byte>().swap(in_);
    std::vector<std::byte>().swap(gather_);
    if (!handshake_done_ || error_) return;
    // OpenSSL's own record buffers (about 17 KiB each way), when they hold
    // nothing.
    (void)SSL_free_buffers(ssl_);
    // A memory BIO never gives back the memory it grew to (up to the wire
    // input limit for the read BIO, a record for the write BIO): empty
    // ones are replaced by fresh ones, which allocate only when written.
    if (BIO_ctrl_pending(rbio_) == 0 && !wire_eof_) {
      if (BIO* fresh = BIO_new(BIO_s_mem())) {
        SSL_set0_rbio(ssl_, fresh);  // frees the old one
        rbio_ = fresh;
      }
    }
    if (BIO_ctrl_pending(wbio_) == 0) {
      if (BIO* fresh = BIO_new(BIO_s_mem())) {
        SSL_set0_wbio(ssl_, fresh);
        wbio_ = fresh;
      }
    }
  }

  // ---- For error_detail() and native_handle() ----------------------------

  std::string_view detail() const noexcept { return detail_; }
  SSL* ssl() const noexcept { return ssl_; }

 private:
  // Runs the handshake until it is done (true) or waits for wire input.
  bool advance_handshake() {
    if (handshake_done_) return true;
    if (error_) return false;
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_);
    if (result == 1) {
      handshake_done_ = true;
      const unsigned char* protocol = nullptr;
      unsigned int length = 0;
      SSL_get0_alpn_selected(ssl_, &protocol, &length);
      // Owned by the SSL's session, which no renegotiation replaces.
      if (protocol != nullptr) protocol_ = {reinterpret_cast<const char*>(protocol), length};
      drain();
      return true;
    }
    const int why = SSL_get_error(ssl_, result);
    if (why == SSL_ERROR_WANT_READ) {
      drain();
      return false;
    }
    fail(why);
    return false;
  }

  // Moves what OpenSSL wrote into the write BIO to the wire output.
  void drain() {
    while (const std::size_t pending = BIO_ctrl_pending(wbio_)) {
      const MutableByteView space = output_.prepare(pending);
      const int n = BIO_read(wbio_, space.data(), static_cast<int>(space.size()));
      if (n <= 0) break;
      output_.commit(static_cast<std::size_t>(n));
    }
  }

  // A fatal result of an SSL call (`why`: SSL_get_error). The alert OpenSSL
  // wrote, if any, stays pending for the transport to send.
  void fail(int why) {
    if (error_) return;
    if (!handshake_done_ && wire_eof_ && BIO_ctrl_pending(rbio_) == 0 &&
        (why == SSL_ERROR_ZERO_RETURN || why == SSL_ERROR_SYSCALL ||
         ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
      error_ = errc::eof_in_handshake;
      detail_ = "the stream ended during the TLS handshake";
    } else if (const long verdict = SSL_get_verify_result(ssl_);
               role_ == Role::client && !handshake_done_ && verdict != X509_V_OK &&
               (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) != 0) {
      // (An insecure client records a verdict too, but never fails on it:
      // its failure is something else.)
      error_ = errc::certificate_verify_failed;
      detail_ = X509_verify_cert_error_string(verdict);
    } else {
      error_ = handshake_done_ ? errc::protocol_error : errc::handshake_failed;
      detail_ = take_openssl_errors();
      if (detail_.empty()) detail_ = "SSL_get_error " + std::to_string(why);
    }
    // Another connection on this thread must not see these errors.
    ERR_clear_error();
    drain();
  }

  std::shared_ptr<const void> contexts_;
  SSL* ssl_;
  BIO* rbio_;  // owned by ssl_
  BIO* wbio_;  // owned by ssl_
  Role role_;
  std::vector<std::byte> in_;      // wire_buffer()
  std::vector<std::byte> gather_;  // write(): small pieces of one record
  WireOutput output_;
  std::error_code error_;
  std::string detail_;
  std::string_view protocol_;
  bool handshake_done_ = false;
  bool wire_eof_ = false;
  bool read_ended_ = false;
  bool shutdown_started_ = false;
};

}  // namespace

Result<std::unique_ptr<StreamLayer>> make_layer(std::shared_ptr<const void> contexts, SSL* ssl,
                                                Role role) {
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    return make_error_code(errc::context_failed);
  }
  // An empty read BIO means "no bytes yet" until receive_wire_eof().
  BIO_set_mem_eof_return(rbio, -1);
  SSL_set_bio(ssl, rbio, wbio);
  auto layer = std::make_unique<TlsLayer>(std::move(contexts), ssl, rbio, wbio, role);
  layer->start();
  return std::unique_ptr<StreamLayer>(std::move(layer));
}

}  // namespace detail

std::string_view error_detail(const StreamLayer& layer) noexcept {
  const auto* tls = dynamic_cast<const detail::TlsLayer*>(&layer);
  return tls != nullptr ? tls->detail() : std::string_view{};
}

ssl_st* native_handle(const StreamLayer& layer) noexcept {
  const auto* tls = dynamic_cast<const detail::TlsLayer*>(&layer);
  return tls != nullptr ? tls->ssl() : nullptr;
}

}  // namespace ws::tls
