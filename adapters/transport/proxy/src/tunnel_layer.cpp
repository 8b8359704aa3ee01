// TunnelLayer: a proxy's handshake, then a plain pass-through. The two
// protocols differ only in their handshake (HttpConnect, Socks5 below),
// which reads the wire bytes the layer holds and says what to send; the
// layer owns the buffers, the bounds and the pass-through.
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "address.hpp"
#include "ws/base/base64.hpp"
#include "ws/handshake/http_head_parser.hpp"
#include "ws/proxy/stacked_layer.hpp"
#include "ws/proxy/tunnel.hpp"

namespace ws::proxy {
namespace {

// ---- Handshakes ---------------------------------------------------------------

class Handshake {
 public:
  enum class State { waiting, done, failed };
  virtual ~Handshake() = default;

  /// Reads from the front of `in` (what arrived and is not consumed yet);
  /// returns how many bytes belong to the handshake, and appends what to
  /// send to `out`. Bytes it does not consume once done are the stream's.
  virtual std::size_t consume(ByteView in, std::string& out) = 0;

  State state() const noexcept { return state_; }
  std::error_code error() const noexcept { return error_; }
  std::optional<Refusal>& refusal() noexcept { return refusal_; }

 protected:
  void succeed() noexcept { state_ = State::done; }
  void fail(errc error) noexcept {
    state_ = State::failed;
    error_ = error;
  }

 private:
  State state_ = State::waiting;
  std::error_code error_;
  std::optional<Refusal> refusal_;
};

// RFC 9110 9.3.6: any 2xx opens the tunnel; its Content-Length or
// Transfer-Encoding, if any, are ignored (the bytes after the head are the
// server's). 1xx interim answers are skipped. Anything else is a refusal;
// its body is not read, since the tunnel is over anyway.
class HttpConnect final : public Handshake {
 public:
  explicit HttpConnect(bool with_credentials)
      : with_credentials_(with_credentials),
        parser_(HttpHeadKind::response, HttpLimits{max_response_head, 100}) {}

  std::size_t consume(ByteView in, std::string&) override {
    const HttpFeedResult fed = parser_.feed(in);
    if (fed.state == HttpParseState::need_more) return fed.consumed;
    if (fed.state == HttpParseState::error) {
      const bool too_large =
          fed.error == ws::errc::head_too_large || fed.error == ws::errc::too_many_headers;
      fail(too_large ? errc::response_too_large : errc::malformed_reply);
      return fed.consumed;
    }
    const HttpHead& head = parser_.head();
    if (head.version_major != 1) {
      fail(errc::malformed_reply);
      return fed.consumed;
    }
    const int status = head.status_code;
    if (status >= 200 && status <= 299) {
      succeed();
      return fed.consumed;
    }
    if (status >= 100 && status <= 199 && status != 101) {
      parser_.reset();  // an interim answer; the final one follows
      return fed.consumed;
    }
    Refusal refusal;
    refusal.kind = ProxyKind::http;
    refusal.status = status;
    refusal.reason = std::string(head.reason);
    refusal.version_major = head.version_major;
    refusal.version_minor = head.version_minor;
    for (const HttpHeader& field : head.headers) {
      refusal.fields.push_back({std::string(field.name), std::string(field.value)});
    }
    this->refusal() = std::move(refusal);
    // tinyproxy answers 407 when credentials are missing and 401 when they
    // are wrong; other proxies use 407 for both. Which one it was is told
    // by whether credentials were sent.
    if (status == 401 || status == 407) {
      fail(with_credentials_ ? errc::authentication_failed : errc::authentication_required);
    } else {
      fail(errc::http_refused);
    }
    return fed.consumed;
  }

 private:
  bool with_credentials_;
  HttpHeadParser parser_;
};

constexpr std::uint8_t socks_version = 5;
constexpr std::uint8_t method_none = 0x00;
constexpr std::uint8_t method_password = 0x02;
constexpr std::uint8_t method_refused = 0xFF;
constexpr std::uint8_t atyp_ipv4 = 1;
constexpr std::uint8_t atyp_domain = 3;
constexpr std::uint8_t atyp_ipv6 = 4;

// RFC 1928 6: the text of each reply code, and its error.
std::string_view socks_reply_text(int code) noexcept {
  switch (code) {
    case 1:
      return "general SOCKS server failure";
    case 2:
      return "connection not allowed by ruleset";
    case 3:
      return "Network unreachable";
    case 4:
      return "Host unreachable";
    case 5:
      return "Connection refused";
    case 6:
      return "TTL expired";
    case 7:
      return "Command not supported";
    case 8:
      return "Address type not supported";
    default:
      return "unassigned reply code";
  }
}

errc socks_reply_error(int code) noexcept {
  if (code >= 1 && code <= 8) {
    return static_cast<errc>(static_cast<int>(errc::socks_general_failure) + code - 1);
  }
  return errc::socks_refused;
}

// RFC 1928 3-6 and RFC 1929 2: greeting, method selection, the optional
// user name and password, CONNECT, reply. A refusal is decided as soon as
// its byte arrived (some servers send a short reply, or none, before they
// close), never by waiting for the rest.
class Socks5 final : public Handshake {
 public:
  Socks5(std::string connect_request, std::optional<std::string> auth_request)
      : connect_request_(std::move(connect_request)), auth_request_(std::move(auth_request)) {}

  std::size_t consume(ByteView in, std::string& out) override {
    switch (phase_) {
      case Phase::method:
        return on_method(in, out);
      case Phase::auth:
        return on_auth(in, out);
      case Phase::reply:
        return on_reply(in);
    }
    return 0;
  }

 private:
  enum class Phase { method, auth, reply };

  static std::uint8_t at(ByteView in, std::size_t i) noexcept {
    return static_cast<std::uint8_t>(in[i]);
  }

  std::size_t on_method(ByteView in, std::string& out) {
    if (in.size() < 2) return 0;
    if (at(in, 0) != socks_version) return failed(errc::malformed_reply);
    const std::uint8_t method = at(in, 1);
    if (method == method_refused) return failed(errc::no_acceptable_method);
    if (method == method_password && auth_request_) {
      out += *auth_request_;
      phase_ = Phase::auth;
    } else if (method == method_none) {
      out += connect_request_;
      phase_ = Phase::reply;
    } else {
      // A method that was not offered.
      return failed(errc::malformed_reply);
    }
    return 2;
  }

  std::size_t on_auth(ByteView in, std::string& out) {
    if (in.size() < 2) return 0;
    // RFC 1929 2: VER is 1, the sub-negotiation's own version. Some servers
    // answer with the SOCKS version (5) instead; the STATUS is what matters.
    if (at(in, 0) != 1 && at(in, 0) != socks_version) return failed(errc::malformed_reply);
    if (const std::uint8_t status = at(in, 1); status != 0) {
      Refusal refusal;
      refusal.kind = ProxyKind::socks5;
      refusal.status = status;
      refusal.reason = "the user name and password were refused";
      this->refusal() = std::move(refusal);
      return failed(errc::authentication_failed);
    }
    out += connect_request_;
    phase_ = Phase::reply;
    return 2;
  }

  std::size_t on_reply(ByteView in) {
    if (in.size() < 2) return 0;
    if (at(in, 0) != socks_version) return failed(errc::malformed_reply);
    if (const std::uint8_t code = at(in, 1); code != 0) {
      Refusal refusal;
      refusal.kind = ProxyKind::socks5;
      refusal.status = code;
      refusal.reason = std::string(socks_reply_text(code));
      this->refusal() = std::move(refusal);
      return failed(socks_reply_error(code));
    }
    // VER REP RSV ATYP BND.ADDR BND.PORT: the address's length depends on
    // its type, so the reply's does.
    if (in.size() < 4) return 0;
    std::size_t size = 0;
    switch (at(in, 3)) {
      case atyp_ipv4:
        size = 4 + 4 + 2;
        break;
      case atyp_ipv6:
        size = 4 + 16 + 2;
        break;
      case atyp_domain:
        if (in.size() < 5) return 0;
        size = 4 + 1 + std::size_t{at(in, 4)} + 2;
        break;
      default:
        return failed(errc::malformed_reply);
    }
    if (in.size() < size) return 0;
    succeed();
    return size;
  }

  std::size_t failed(errc error) {
    fail(error);
    return 0;
  }

  std::string connect_request_;
  std::optional<std::string> auth_request_;
  Phase phase_ = Phase::method;
};

bool has_control(std::string_view text) noexcept {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7F;
  });
}

// ---- The layer ----------------------------------------------------------------

class TunnelLayer final : public StreamLayer {
 public:
  TunnelLayer(std::unique_ptr<Handshake> handshake, std::string_view first_bytes)
      : handshake_(std::move(handshake)) {
    append(as_bytes(first_bytes));
  }

  // ---- Wire bytes in -----------------------------------------------------

  MutableByteView wire_buffer() override {
    const std::size_t room = wire_room();
    if (room == 0) return {};
    compact_input();
    return {in_.data() + in_end_, room};
  }

  void commit_wire(std::size_t n) override { in_end_ += std::min(n, wire_room()); }

  std::size_t receive_wire(ByteView bytes) override {
    const std::size_t take = std::min(bytes.size(), wire_room());
    if (take == 0) return 0;
    compact_input();
    std::memcpy(in_.data() + in_end_, bytes.data(), take);
    in_end_ += take;
    return take;
  }

  std::size_t wire_room() const noexcept override {
    if (wire_eof_ || error_) return 0;
    return tunnel_input_limit - held();
  }

  void receive_wire_eof() override { wire_eof_ = true; }

  // ---- Decoded bytes -----------------------------------------------------

  std::size_t read(MutableByteView into) override {
    advance();
    if (!handshake_done_ || error_) return 0;
    const std::size_t n = std::min(into.size(), held());
    if (n == 0) return 0;
    std::memcpy(into.data(), in_.data() + in_begin_, n);
    in_begin_ += n;
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    return n;
  }

  bool read_ended() const noexcept override {
    return handshake_done_ && !error_ && wire_eof_ && held() == 0;
  }

  // ---- Bytes to send -----------------------------------------------------

  std::size_t write(std::span<const OutputBuffer> buffers) override {
    advance();
    if (!handshake_done_ || error_ || shutdown_) return 0;
    std::size_t taken = 0;
    for (const OutputBuffer& buffer : buffers) {
      const std::size_t n = append({buffer.data, buffer.size});
      taken += n;
      if (n < buffer.size) break;
    }
    return taken;
  }

  // A tunnel has no end marker of its own: the transport's close ends it.
  void shutdown() override { shutdown_ = true; }
  bool shutdown_started() const noexcept override { return shutdown_; }

  // ---- Wire bytes out ----------------------------------------------------

  std::span<const OutputBuffer> pending_wire() override {
    if (out_end_ == out_begin_) return {};
    view_ = {out_.data() + out_begin_, out_end_ - out_begin_};
    return {&view_, 1};
  }

  std::size_t pending_wire_size() const noexcept override { return out_end_ - out_begin_; }

  void consume_wire(std::size_t n) override {
    n = std::min(n, pending_wire_size());
    out_begin_ += n;
    in_flight_ -= std::min(in_flight_, n);
    if (out_begin_ == out_end_) out_begin_ = out_end_ = 0;
  }

  void mark_wire_in_flight(std::size_t n) override {
    in_flight_ = std::min(n, pending_wire_size());
  }

  // ---- State -------------------------------------------------------------

  std::error_code error() const noexcept override { return error_; }
  std::string_view error_detail() const noexcept override { return detail_; }
  bool handshake_done() const noexcept override { return handshake_done_; }
  // A tunnel negotiates no application protocol.
  std::string_view selected_protocol() const noexcept override { return {}; }

  void release_idle_buffers() noexcept override {
    if (held() == 0) {
      in_begin_ = in_end_ = 0;
      std::vector<std::byte>().swap(in_);
    }
    if (pending_wire_size() == 0) {
      out_begin_ = out_end_ = 0;
      std::vector<std::byte>().swap(out_);
    }
  }

  const Refusal* refusal() const noexcept { return refusal_ ? &*refusal_ : nullptr; }

 private:
  std::size_t held() const noexcept { return in_end_ - in_begin_; }

  // Moves unread input to the front, so wire_buffer() offers all the room.
  // Nothing outside holds a view into the input, so this is always safe.
  void compact_input() {
    if (in_.size() < tunnel_input_limit) in_.resize(tunnel_input_limit);
    if (in_begin_ == 0) return;
    std::memmove(in_.data(), in_.data() + in_begin_, held());
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }

  // Appends to the wire output as much as fits below tunnel_output_limit;
  // returns how much. Pending bytes move to the front only when none is in
  // flight (an io_uring send may be reading them).
  std::size_t append(ByteView bytes) {
    if (bytes.empty()) return 0;
    if (out_.size() < tunnel_output_limit) out_.resize(tunnel_output_limit);
    if (out_begin_ > 0 && in_flight_ == 0 && out_end_ + bytes.size() > tunnel_output_limit) {
      const std::size_t pending = pending_wire_size();
      std::memmove(out_.data(), out_.data() + out_begin_, pending);
      out_begin_ = 0;
      out_end_ = pending;
    }
    const std::size_t n = std::min(bytes.size(), tunnel_output_limit - out_end_);
    if (n > 0) std::memcpy(out_.data() + out_end_, bytes.data(), n);
    out_end_ += n;
    return n;
  }

  // Runs the handshake over what arrived; the bytes it does not consume
  // once done are the server's first bytes, read() hands them on.
  void advance() {
    if (handshake_done_ || error_) return;
    while (handshake_->state() == Handshake::State::waiting) {
      std::string out;
      const std::size_t consumed = handshake_->consume({in_.data() + in_begin_, held()}, out);
      in_begin_ += consumed;
      if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
      // Handshake messages are a few hundred bytes and the output is empty
      // or nearly so while the proxy answers: they always fit.
      append(as_bytes(out));
      if (consumed == 0) break;
    }
    switch (handshake_->state()) {
      case Handshake::State::done:
        handshake_done_ = true;
        handshake_.reset();  // its parser's buffer
        return;
      case Handshake::State::failed:
        error_ = handshake_->error();
        refusal_ = std::move(handshake_->refusal());
        if (refusal_) detail_ = describe(*refusal_, error_);
        return;
      case Handshake::State::waiting:
        if (wire_eof_) error_ = errc::eof_in_handshake;
        return;
    }
  }

  // The proxy's answer in one line: what a person needs to see (the status
  // line as sent; the SOCKS code and its meaning).
  static std::string describe(const Refusal& refusal, std::error_code error) {
    if (refusal.kind == ProxyKind::http) {
      return "HTTP/" + std::to_string(refusal.version_major) + "." +
             std::to_string(refusal.version_minor) + " " + std::to_string(refusal.status) +
             (refusal.reason.empty() ? "" : " " + refusal.reason);
    }
    // RFC 1929's STATUS and RFC 1928's REP are different fields.
    const bool auth = error == errc::authentication_failed;
    return std::string(auth ? "SOCKS5 authentication status " : "SOCKS5 reply ") +
           std::to_string(refusal.status) + ": " + refusal.reason;
  }

  std::unique_ptr<Handshake> handshake_;
  std::optional<Refusal> refusal_;
  std::string detail_;
  std::vector<std::byte> in_;  // [in_begin_, in_end_) not yet consumed or read
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::vector<std::byte> out_;  // [out_begin_, out_end_) pending
  std::size_t out_begin_ = 0;
  std::size_t out_end_ = 0;
  std::size_t in_flight_ = 0;
  OutputBuffer view_{};
  std::error_code error_;
  bool handshake_done_ = false;
  bool wire_eof_ = false;
  bool shutdown_ = false;
};

void put_port(std::string& out, std::uint16_t port) {
  out.push_back(static_cast<char>(port >> 8));
  out.push_back(static_cast<char>(port & 0xFF));
}

}  // namespace

Result<std::unique_ptr<StreamLayer>> tunnel_layer(const ProxySettings& settings,
                                                  std::string_view host, std::uint16_t port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto ipv4 = detail::parse_ipv4(host);
  const auto ipv6 = detail::parse_ipv6(host);
  if (!ipv6 && !detail::is_reg_name(host)) return make_error_code(errc::invalid_target);

  if (settings.kind == ProxyKind::http) {
    // RFC 7617 2: the user-id cannot hold ':', and neither part control
    // characters.
    if (settings.username && (settings.username->find(':') != std::string::npos ||
                              has_control(*settings.username) || has_control(settings.password))) {
      return make_error_code(errc::invalid_credentials);
    }
    std::string authority = ipv6 ? "[" + std::string(host) + "]" : std::string(host);
    authority += ':';
    authority += std::to_string(port);
    std::string request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
    if (settings.username) {
      const std::string user_pass = *settings.username + ":" + settings.password;
      request += "Proxy-Authorization: Basic " + base64_encode(as_bytes(user_pass)) + "\r\n";
    }
    request += "\r\n";
    return std::unique_ptr<StreamLayer>(std::make_unique<TunnelLayer>(
        std::make_unique<HttpConnect>(settings.username.has_value()), request));
  }

  // SOCKS5.
  std::string greeting{static_cast<char>(socks_version)};
  std::optional<std::string> auth;
  if (settings.username) {
    // RFC 1929 2: ULEN and PLEN are one byte each, ULEN at least 1. An
    // empty password is sent as PLEN 0, which servers take (curl does so).
    if (settings.username->empty() || settings.username->size() > 255 ||
        settings.password.size() > 255) {
      return make_error_code(errc::invalid_credentials);
    }
    greeting += {'\x02', static_cast<char>(method_none), static_cast<char>(method_password)};
    auth = std::string{'\x01', static_cast<char>(settings.username->size())} + *settings.username +
           static_cast<char>(settings.password.size()) + settings.password;
  } else {
    greeting += {'\x01', static_cast<char>(method_none)};
  }
  // VER CMD=CONNECT RSV ATYP DST.ADDR DST.PORT (RFC 1928 4).
  std::string connect{static_cast<char>(socks_version), '\x01', '\x00'};
  if (ipv4) {
    connect.push_back(static_cast<char>(atyp_ipv4));
    for (const std::uint8_t byte : *ipv4) connect.push_back(static_cast<char>(byte));
  } else if (ipv6) {
    connect.push_back(static_cast<char>(atyp_ipv6));
    for (const std::uint8_t byte : *ipv6) connect.push_back(static_cast<char>(byte));
  } else {
    if (host.size() > 255) return make_error_code(errc::invalid_target);
    connect.push_back(static_cast<char>(atyp_domain));
    connect.push_back(static_cast<char>(host.size()));
    connect += host;
  }
  put_port(connect, port);
  return std::unique_ptr<StreamLayer>(std::make_unique<TunnelLayer>(
      std::make_unique<Socks5>(std::move(connect), std::move(auth)), greeting));
}

const Refusal* refusal(const StreamLayer& layer) noexcept {
  if (const auto* tunnel = dynamic_cast<const TunnelLayer*>(&layer)) return tunnel->refusal();
  if (const auto* stacked = dynamic_cast<const StackedLayer*>(&layer)) {
    return refusal(stacked->lower());
  }
  return nullptr;
}

}  // namespace ws::proxy
