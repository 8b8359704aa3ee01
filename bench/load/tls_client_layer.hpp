// ws-load --tls: the client side of TLS for the load generator, written
// with OpenSSL directly (two memory BIOs per connection) as a ws::StreamLayer
// that ws-load's EpollClient drives. It is deliberately not ws's own TLS
// layer (ws::tls), which is what the benchmarks measure on the server side:
// the load generator's TLS is plain OpenSSL, as a browser's or a proxy's
// would be.
//
// TLS 1.3 only, OpenSSL's default groups and cipher suites, no session
// resumption (each connection makes a full handshake). Without a CA file the
// server's certificate is not checked (a load generator on loopback); with
// one (--tls-ca), the chain and the host name or IP address are checked.
//
// OpenSSL's error queue (per thread) is emptied whenever a call fails
// (fail() takes its text), so SSL_get_error() reads a clean queue without
// an ERR_clear_error() before every call (a few per cent of ws-load's CPU).
//
// Wire bytes in go into the read BIO; after every SSL call, what OpenSSL
// wrote into the write BIO is moved into one contiguous output buffer, which
// the transport writes. ws-load's transport is epoll, which writes at once:
// the output may move between calls (mark_wire_in_flight is not needed).
#pragma once

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ws/driver/stream_layer.hpp"

namespace ws_bench {

/// What every TLS connection of a run shares: the context, and what is
/// reported once (the first failure's text, the first handshake's
/// parameters).
class TlsClientShared {
 public:
  /// `ca_file`: empty for no certificate check.
  static std::shared_ptr<TlsClientShared> create(const std::string& ca_file, std::string& error) {
    auto shared = std::shared_ptr<TlsClientShared>(new TlsClientShared);
    shared->ctx_ = SSL_CTX_new(TLS_client_method());
    if (shared->ctx_ == nullptr) {
      error = "SSL_CTX_new: " + take_errors();
      return nullptr;
    }
    SSL_CTX_set_min_proto_version(shared->ctx_, TLS1_3_VERSION);
    // A peer that ends TCP without close_notify ends the stream normally;
    // the WebSocket close handshake says whether anything was lost.
    SSL_CTX_set_options(shared->ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(shared->ctx_, SSL_SESS_CACHE_OFF);
    if (!ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(shared->ctx_, ca_file.c_str(), nullptr) != 1) {
        error = "cannot load " + ca_file + ": " + take_errors();
        return nullptr;
      }
      SSL_CTX_set_verify(shared->ctx_, SSL_VERIFY_PEER, nullptr);
      shared->verify_ = true;
    } else {
      SSL_CTX_set_verify(shared->ctx_, SSL_VERIFY_NONE, nullptr);
    }
    return shared;
  }
  ~TlsClientShared() { SSL_CTX_free(ctx_); }
  TlsClientShared(const TlsClientShared&) = delete;
  TlsClientShared& operator=(const TlsClientShared&) = delete;

  SSL_CTX* ctx() const noexcept { return ctx_; }
  bool verify() const noexcept { return verify_; }

  void note_failure(const std::string& text) {
    const std::lock_guard lock(mutex_);
    if (first_failure_.empty()) first_failure_ = text;
  }
  void note_handshake(SSL* ssl) {
    const std::lock_guard lock(mutex_);
    if (!parameters_.empty()) return;
    parameters_ = std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
    const long group = SSL_get_negotiated_group(ssl);
    if (group != 0) {
      const char* name = OBJ_nid2sn(static_cast<int>(group & ~long{TLSEXT_nid_unknown}));
      parameters_ += std::string(" group ") + (name != nullptr ? name : "?");
    }
  }
  std::string first_failure() const {
    const std::lock_guard lock(mutex_);
    return first_failure_;
  }
  std::string parameters() const {
    const std::lock_guard lock(mutex_);
    return parameters_;
  }

  // The text of this thread's OpenSSL error queue, which is emptied.
  static std::string take_errors() {
    std::string text;
    while (const unsigned long code = ERR_get_error()) {
      char buffer[256];
      ERR_error_string_n(code, buffer, sizeof buffer);
      if (!text.empty()) text += "; ";
      text += buffer;
    }
    return text;
  }

 private:
  TlsClientShared() = default;

  SSL_CTX* ctx_ = nullptr;
  bool verify_ = false;
  mutable std::mutex mutex_;
  std::string first_failure_;
  std::string parameters_;
};

class TlsClientLayer final : public ws::StreamLayer {
 public:
  // The largest TLS record on the wire (header and TLS 1.2's largest
  // ciphertext; TLS 1.3's is smaller). Undecoded input is bounded by two.
  static constexpr std::size_t kMaxWireRecord = 5 + 16384 + 2048;
  static constexpr std::size_t kWireInputLimit = 2 * kMaxWireRecord;
  static constexpr std::size_t kWireBufferSize = 16 * 1024;
  static constexpr std::size_t kRecordPlaintext = 16 * 1024;
  static constexpr std::size_t kPendingWireLimit = 256 * 1024;

  TlsClientLayer(std::shared_ptr<TlsClientShared> shared, SSL* ssl, BIO* rbio, BIO* wbio)
      : shared_(std::move(shared)), ssl_(ssl), rbio_(rbio), wbio_(wbio) {
    advance_handshake();  // the ClientHello, pending at once
  }
  ~TlsClientLayer() override { SSL_free(ssl_); }
  TlsClientLayer(const TlsClientLayer&) = delete;
  TlsClientLayer& operator=(const TlsClientLayer&) = delete;

  // ---- Wire bytes in -----------------------------------------------------

  ws::MutableByteView wire_buffer() override {
    const std::size_t room = std::min(wire_room(), kWireBufferSize);
    if (room == 0) return {};
    if (in_.size() < kWireBufferSize) in_.resize(kWireBufferSize);
    return {in_.data(), room};
  }
  void commit_wire(std::size_t n) override { (void)receive_wire(ws::ByteView(in_.data(), n)); }
  std::size_t receive_wire(ws::ByteView bytes) override {
    const std::size_t take = std::min(bytes.size(), wire_room());
    if (take == 0) return 0;
    const int written = BIO_write(rbio_, bytes.data(), static_cast<int>(take));
    return written > 0 ? static_cast<std::size_t>(written) : 0;
  }
  std::size_t wire_room() const noexcept override {
    if (wire_eof_ || error_) return 0;
    const std::size_t held = BIO_ctrl_pending(rbio_);
    return held >= kWireInputLimit ? 0 : kWireInputLimit - held;
  }
  void receive_wire_eof() override {
    if (wire_eof_) return;
    wire_eof_ = true;
    BIO_set_mem_eof_return(rbio_, 0);  // an empty read BIO is now the end
  }

  // ---- Decoded bytes -----------------------------------------------------

  std::size_t read(ws::MutableByteView into) override {
    if (error_ || read_ended_) return 0;
    if (!advance_handshake()) return 0;
    std::size_t total = 0;
    while (total < into.size()) {
      std::size_t n = 0;
      const int result = SSL_read_ex(ssl_, into.data() + total, into.size() - total, &n);
      if (result == 1) {
        total += n;
        continue;
      }
      const int why = SSL_get_error(ssl_, result);
      if (why == SSL_ERROR_WANT_READ) break;  // no whole record yet
      if (why == SSL_ERROR_ZERO_RETURN) {
        read_ended_ = true;  // close_notify, or the end of TCP without it
        break;
      }
      fail(why);
      break;
    }
    drain();  // a post-handshake message or an alert may have been written
    return total;
  }
  bool read_ended() const noexcept override { return read_ended_; }

  // ---- Bytes to send -----------------------------------------------------

  std::size_t write(std::span<const ws::OutputBuffer> buffers) override {
    if (error_ || shutdown_started_) return 0;
    if (!advance_handshake()) return 0;
    std::size_t taken = 0;
    std::size_t index = 0;
    std::size_t offset = 0;  // into buffers[index]
    while (pending_wire_size() < kPendingWireLimit) {
      while (index < buffers.size() && offset == buffers[index].size) {
        ++index;
        offset = 0;
      }
      if (index == buffers.size()) break;
      const std::byte* data = buffers[index].data + offset;
      std::size_t size = buffers[index].size - offset;
      if (size >= kRecordPlaintext) {
        size = kRecordPlaintext;  // a whole record from one piece
        offset += size;
      } else {
        // Small pieces (a frame header and a short payload, several
        // messages) share one record, as a TLS client library's would.
        gather_.clear();
        while (index < buffers.size() && gather_.size() < kRecordPlaintext) {
          const ws::OutputBuffer& piece = buffers[index];
          const std::size_t n = std::min(piece.size - offset, kRecordPlaintext - gather_.size());
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
      std::size_t written = 0;
      // A memory BIO takes every record: all is written, or it failed.
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
    if (error_ || !handshake_done_) return;
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);  // close_notify; the server's is not awaited
    ERR_clear_error();
    drain();
  }
  bool shutdown_started() const noexcept override { return shutdown_started_; }

  // ---- Wire bytes out ----------------------------------------------------

  std::span<const ws::OutputBuffer> pending_wire() override {
    view_ = ws::OutputBuffer{out_.data() + out_begin_, out_.size() - out_begin_};
    return view_.size == 0 ? std::span<const ws::OutputBuffer>()
                           : std::span<const ws::OutputBuffer>(&view_, 1);
  }
  std::size_t pending_wire_size() const noexcept override { return out_.size() - out_begin_; }
  void consume_wire(std::size_t n) override {
    out_begin_ += std::min(n, pending_wire_size());
    if (out_begin_ == out_.size()) {
      out_.clear();
      out_begin_ = 0;
    }
  }
  void mark_wire_in_flight(std::size_t) override {}

  // ---- State -------------------------------------------------------------

  std::error_code error() const noexcept override { return error_; }
  bool handshake_done() const noexcept override { return handshake_done_; }
  std::string_view selected_protocol() const noexcept override { return {}; }

 private:
  bool advance_handshake() {
    if (handshake_done_) return true;
    if (error_) return false;
    const int result = SSL_do_handshake(ssl_);
    if (result == 1) {
      handshake_done_ = true;
      shared_->note_handshake(ssl_);
      drain();
      return true;
    }
    const int why = SSL_get_error(ssl_, result);
    drain();
    if (why == SSL_ERROR_WANT_READ) return false;
    fail(why);
    return false;
  }

  // Moves what OpenSSL wrote into the write BIO to the output, behind what
  // is pending (the consumed front is dropped first).
  void drain() {
    const std::size_t pending = BIO_ctrl_pending(wbio_);
    if (pending == 0) return;
    if (out_begin_ > 0 && out_begin_ >= out_.size() / 2) {
      out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_begin_));
      out_begin_ = 0;
    }
    const std::size_t old_size = out_.size();
    out_.resize(old_size + pending);
    const int n = BIO_read(wbio_, out_.data() + old_size, static_cast<int>(pending));
    out_.resize(old_size + (n > 0 ? static_cast<std::size_t>(n) : 0));
  }

  void fail(int why) {
    if (error_) return;
    std::string text = TlsClientShared::take_errors();
    if (const long verdict = SSL_get_verify_result(ssl_);
        !handshake_done_ && shared_->verify() && verdict != X509_V_OK) {
      text = std::string("certificate: ") + X509_verify_cert_error_string(verdict);
    }
    if (text.empty()) text = "SSL_get_error " + std::to_string(why);
    if (!handshake_done_ && wire_eof_) text += " (the server ended TCP during the handshake)";
    shared_->note_failure((handshake_done_ ? "TLS: " : "TLS handshake: ") + text);
    error_ = std::make_error_code(handshake_done_ ? std::errc::protocol_error
                                                  : std::errc::connection_aborted);
    drain();  // an alert OpenSSL wrote goes out before the close
  }

  std::shared_ptr<TlsClientShared> shared_;
  SSL* ssl_;
  BIO* rbio_;                      // owned by ssl_
  BIO* wbio_;                      // owned by ssl_
  std::vector<std::byte> in_;      // wire_buffer()
  std::vector<std::byte> gather_;  // write(): small pieces of one record
  std::vector<std::byte> out_;     // wire output, from out_begin_
  std::size_t out_begin_ = 0;
  ws::OutputBuffer view_{};
  std::error_code error_;
  bool handshake_done_ = false;
  bool wire_eof_ = false;
  bool read_ended_ = false;
  bool shutdown_started_ = false;
};

/// ClientOptions::stream_layer for ws-load --tls.
class TlsClientFactory final : public ws::StreamLayerFactory {
 public:
  explicit TlsClientFactory(std::shared_ptr<TlsClientShared> shared) : shared_(std::move(shared)) {}

  ws::Result<std::unique_ptr<ws::StreamLayer>> make(ws::Role,
                                                    std::string_view host) const override {
    SSL* ssl = SSL_new(shared_->ctx());
    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    if (ssl == nullptr || rbio == nullptr || wbio == nullptr) {
      SSL_free(ssl);
      BIO_free(rbio);
      BIO_free(wbio);
      shared_->note_failure("SSL_new: " + TlsClientShared::take_errors());
      return std::make_error_code(std::errc::not_enough_memory);
    }
    BIO_set_mem_eof_return(rbio, -1);  // empty: "no bytes yet", until the end
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_connect_state(ssl);
    const std::string name(host);
    unsigned char address[16];
    const bool literal = ::inet_pton(AF_INET, name.c_str(), address) == 1 ||
                         ::inet_pton(AF_INET6, name.c_str(), address) == 1;
    if (!literal) {
      // SNI, for names only (SSL_set_tlsext_host_name, without its C cast).
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(name.c_str()));
    }
    if (shared_->verify()) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (literal) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      } else {
        SSL_set1_host(ssl, name.c_str());
      }
    }
    return std::unique_ptr<ws::StreamLayer>(
        std::make_unique<TlsClientLayer>(shared_, ssl, rbio, wbio));
  }

 private:
  std::shared_ptr<TlsClientShared> shared_;
};

}  // namespace ws_bench
