// The opening handshake inside a Connection (RFC 6455 4): the server reads
// and answers the upgrade request, the client sends it and checks the
// answer. The HTTP work itself is in protocol/src/handshake/.
#include <algorithm>
#include <cstring>

#include "connection/connection_impl.hpp"

namespace ws {

Connection Connection::server(const Config& config) {
  auto impl = std::make_unique<Impl>(Role::server, config);
  impl->handshake = std::make_unique<Impl::Handshake>(HttpHeadKind::request, config.http_limits);
  return Connection(std::move(impl));
}

Result<Connection> Connection::accept_upgrade(std::string_view request_head,
                                              ByteView bytes_after_head,
                                              const AcceptOptions& options, const Config& config) {
  Result<HttpHead> head = parse_http_head(request_head, HttpHeadKind::request, config.http_limits);
  if (!head) return head.error();
  Result<UpgradeRequest> request = validate_upgrade_request(*head);
  if (!request) return request.error();
  return accept_upgrade(*request, bytes_after_head, options, config);
}

Result<Connection> Connection::accept_upgrade(const UpgradeRequest& request,
                                              ByteView bytes_after_head,
                                              const AcceptOptions& options, const Config& config) {
  Result<AcceptResponse> response = build_accept_response(request, options);
  if (!response) return response.error();
  auto impl = std::make_unique<Impl>(Role::server, config);
  impl->request = std::make_unique<UpgradeRequest>(request);
  impl->output.push_raw(as_bytes(response->text));
  impl->open_with(std::move(response->subprotocol), std::move(response->extensions));
  if (!bytes_after_head.empty()) {
    // The application read these already; they are kept whatever their size.
    impl->input.reserve_exact(std::max(impl->input_limit(), bytes_after_head.size()));
    impl->input.resize(bytes_after_head.size());
    std::memcpy(impl->input.data(), bytes_after_head.data(), bytes_after_head.size());
    impl->input_since_tick = true;
  }
  return Connection(std::move(impl));
}

Result<Connection> Connection::client(std::string_view url, const ClientHandshakeOptions& options,
                                      const Config& config) {
  Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  auto impl = std::make_unique<Impl>(Role::client, config);
  // RFC 6455 4.1: the key is 16 random bytes, fresh for every connection.
  std::array<std::byte, 16> key{};
  impl->config.random(MutableByteView(key));
  Result<ClientHandshake> request = make_client_request(*parsed, options, key);
  if (!request) return request.error();
  impl->output.push_raw(as_bytes(request->request));
  impl->handshake = std::make_unique<Impl::Handshake>(HttpHeadKind::response, config.http_limits);
  impl->handshake->sent = std::move(*request);
  return Connection(std::move(impl));
}

void Connection::Impl::open_with(std::optional<std::string> agreed_subprotocol,
                                 std::string agreed_extensions) {
  subprotocol = agreed_subprotocol.value_or(std::string());
  extensions = std::move(agreed_extensions);
  transition(detail::StateInput::handshake_completed);
  pending_event = Opened{subprotocol, extensions};
}

std::optional<Event> Connection::Impl::advance_handshake() {
  if (!handshake) return std::nullopt;
  return role == Role::server ? advance_server_handshake() : advance_client_handshake();
}

std::optional<Event> Connection::Impl::fail_handshake(std::error_code error,
                                                      bool answer_with_http) {
  if (answer_with_http) output.push_raw(as_bytes(build_error_response(error)));
  std::optional<Event> closed = fail(error);
  handshake.reset();
  return closed;
}

bool Connection::Impl::read_head() {
  const ByteView available(input.data() + input_begin, input.size() - input_begin);
  const HttpFeedResult fed = handshake->parser.feed(available);
  input_begin += fed.consumed;
  return fed.state == HttpParseState::complete;
}

std::optional<Event> Connection::Impl::head_not_ready(bool answer_with_http) {
  if (handshake->parser.state() == HttpParseState::error) {
    // Only a server answers a malformed head (400, 431); a client just ends.
    return fail_handshake(handshake->parser.error(), answer_with_http);
  }
  return eof_received ? fail_handshake(errc::unexpected_eof, false) : std::nullopt;
}

std::optional<Event> Connection::Impl::advance_server_handshake() {
  if (handshake->awaiting_decision) return std::nullopt;
  if (!read_head()) return head_not_ready(/*answer_with_http=*/true);
  if (config.serve_plain_http && !is_upgrade(handshake->parser.head())) {
    handshake->awaiting_decision = true;
    handshake->plain_http = true;
    return HttpRequested{&handshake->parser.head()};
  }
  Result<UpgradeRequest> validated = validate_upgrade_request(handshake->parser.head());
  if (!validated) return fail_handshake(validated.error(), true);
  request = std::make_unique<UpgradeRequest>(std::move(*validated));
  handshake->awaiting_decision = true;
  return UpgradeRequested{request.get()};
}

std::optional<Event> Connection::Impl::advance_client_handshake() {
  if (handshake->rejected) return finish_rejection();
  if (!read_head()) return head_not_ready(/*answer_with_http=*/false);
  Result<AcceptedHandshake> accepted =
      validate_server_response(handshake->parser.head(), *handshake->sent);
  if (!accepted) {
    if (accepted.error() != errc::unexpected_status) {
      return fail_handshake(accepted.error(), false);
    }
    handshake->rejected = true;
    return finish_rejection();
  }
  std::string agreed_extensions;
  for (const std::string& value : accepted->extensions) {
    if (!agreed_extensions.empty()) agreed_extensions += ", ";
    agreed_extensions += value;
  }
  handshake.reset();
  open_with(std::move(accepted->subprotocol), std::move(agreed_extensions));
  std::optional<Event> opened = std::move(pending_event);
  pending_event.reset();
  return opened;
}

std::optional<Event> Connection::Impl::finish_rejection() {
  // The body is whatever follows the head, up to Content-Length; without
  // one, up to the end of the stream. Either way bounded by the input limit.
  const HttpHead& head = handshake->parser.head();
  const std::size_t available = input.size() - input_begin;
  const std::optional<std::uint64_t> length = content_length(head);
  const bool input_full = input.size() >= input_limit();
  const bool body_complete = length ? available >= *length : false;
  if (!body_complete && !eof_received && !input_full) return std::nullopt;
  const std::size_t body_size =
      length ? static_cast<std::size_t>(std::min<std::uint64_t>(*length, available)) : available;
  Rejected rejected{head.status_code, head.reason, head.headers,
                    ByteView(input.data() + input_begin, body_size)};
  // The views stay valid until the next call: the parser and the input are
  // released by the Closed event that follows.
  failed = true;
  peer_ended = true;
  transition(detail::StateInput::handshake_failed);
  pending_event = Closed{CloseCode::abnormal, {}, errc::unexpected_status, CloseCode::abnormal};
  return rejected;
}

std::error_code Connection::accept(const AcceptOptions& options) {
  Impl& c = *impl_;
  if (c.state != State::handshaking || !c.handshake || !c.handshake->awaiting_decision) {
    return errc::not_open;
  }
  if (c.handshake->plain_http) return errc::not_open;  // not an upgrade: answer with reject()
  Result<AcceptResponse> response = build_accept_response(*c.request, options);
  if (!response) return response.error();
  c.output.push_raw(as_bytes(response->text));
  c.handshake.reset();
  c.open_with(std::move(response->subprotocol), std::move(response->extensions));
  return {};
}

std::error_code Connection::reject(int status, std::string_view body,
                                   std::span<const HeaderField> headers) {
  Impl& c = *impl_;
  if (c.state != State::handshaking || !c.handshake || !c.handshake->awaiting_decision) {
    return errc::not_open;
  }
  Result<std::string> response = build_rejection_response(status, body, headers);
  if (!response) return response.error();
  c.output.push_raw(as_bytes(*response));
  c.pending_event =
      c.fail(c.handshake->plain_http ? errc::answered_as_http : errc::rejected_by_application);
  c.handshake.reset();
  return {};
}

const UpgradeRequest* Connection::request() const noexcept { return impl_->request.get(); }
std::string_view Connection::subprotocol() const noexcept { return impl_->subprotocol; }
std::string_view Connection::extensions() const noexcept { return impl_->extensions; }

}  // namespace ws
