// The opening handshake inside a Connection (RFC 6455 4): the server reads
// and answers the upgrade request, the client sends it and checks the
// answer. The HTTP work itself is in protocol/src/handshake/.
#include <algorithm>
#include <cstring>

#include "connection/connection_impl.hpp"
#include "handshake/http_syntax.hpp"
#include "ws/handshake/http_body.hpp"

namespace ws {
namespace {

// The application's options, answering the offers with the extension's
// response (it replaces the application's own negotiate_extensions).
AcceptOptions with_extension(const AcceptOptions& options, const ExtensionElement& response) {
  AcceptOptions copy = options;
  copy.negotiate_extensions =
      [text = format_extension_element(response)](std::span<const std::string>) { return text; };
  return copy;
}

// RFC 9113 8.2.2: fields that are about an HTTP/1.1 connection make an
// HTTP/2 message malformed.
bool is_connection_specific(std::string_view lower_name) {
  return lower_name == "connection" || lower_name == "keep-alive" ||
         lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade" || lower_name == "te";
}

// A rejection over HTTP/2: the fields with lower-case names (RFC 9113
// 8.2.1), a content type for the text body unless the caller gave one.
Result<StreamAnswer> stream_rejection(int status, std::string_view body,
                                      std::span<const HeaderField> headers) {
  StreamAnswer answer{status, {}, std::string(body)};
  bool has_content_type = false;
  for (const HeaderField& field : headers) {
    answer.fields.push_back({detail::to_lower(field.name), field.value});
    if (is_connection_specific(answer.fields.back().name)) return errc::invalid_handshake_option;
    has_content_type = has_content_type || answer.fields.back().name == "content-type";
  }
  if (!has_content_type) answer.fields.push_back({"content-type", "text/plain; charset=utf-8"});
  return answer;
}

// The limits a request head has over HTTP/1.1, applied to what the HTTP/2
// layer read: the number of fields and their size (names, values and the
// pseudo-headers, counted as HPACK does: 32 bytes of overhead each).
std::error_code check_stream_limits(const ExtendedConnectRequest& request,
                                    const HttpLimits& limits) {
  if (request.headers.size() > limits.max_header_count) return errc::too_many_headers;
  std::size_t size = 0;
  for (const std::optional<std::string>* pseudo :
       {&request.method, &request.protocol, &request.scheme, &request.authority, &request.path}) {
    if (*pseudo) size += (*pseudo)->size() + 32;
  }
  for (const HeaderField& field : request.headers)
    size += field.name.size() + field.value.size() + 32;
  return size > limits.max_head_size ? std::error_code(errc::head_too_large) : std::error_code();
}

}  // namespace

Connection Connection::server(const Config& config) {
  auto impl = std::make_unique<Impl>(Role::server, config);
  impl->handshake = std::make_unique<Impl::Handshake>(HttpHeadKind::request, config.http_limits);
  return Connection(std::move(impl));
}

Connection Connection::server(std::shared_ptr<const Config> config) {
  if (!config) return server(Config{});
  auto impl = std::make_unique<Impl>(Role::server, std::move(config));
  impl->handshake =
      std::make_unique<Impl::Handshake>(HttpHeadKind::request, impl->config.http_limits);
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
  std::optional<ExtensionAgreement> agreement = negotiate_server_extension(config, request);
  Result<AcceptResponse> response =
      agreement ? build_accept_response(request, with_extension(options, agreement->response))
                : build_accept_response(request, options);
  if (!response) return response.error();
  auto impl = std::make_unique<Impl>(Role::server, config);
  impl->request = std::make_unique<UpgradeRequest>(request);
  impl->sender.queue.push_raw(as_bytes(response->text));
  if (agreement) {
    impl->extension = std::make_unique<detail::ExtensionState>(std::move(agreement->session));
  }
  impl->open_with(std::move(response->subprotocol), std::move(response->extensions));
  if (!bytes_after_head.empty()) {
    // The application read these already; they are kept whatever their size.
    impl->reader.preload(bytes_after_head, impl->input_limit());
    impl->timers.note_input();
  }
  return Connection(std::move(impl));
}

Result<Connection> Connection::server_for_stream(const ExtendedConnectRequest& request,
                                                 std::shared_ptr<const Config> config) {
  const HttpLimits& limits = config ? config->http_limits : HttpLimits{};
  if (const std::error_code error = check_stream_limits(request, limits)) return error;
  Result<UpgradeRequest> validated = validate_extended_connect(request);
  if (!validated) return validated.error();
  auto impl = config ? std::make_unique<Impl>(Role::server, std::move(config))
                     : std::make_unique<Impl>(Role::server, Config{});
  impl->handshake =
      std::make_unique<Impl::Handshake>(HttpHeadKind::request, impl->config.http_limits);
  impl->handshake->over_stream = true;
  impl->request = std::make_unique<UpgradeRequest>(std::move(*validated));
  return Connection(std::move(impl));
}

namespace {

// The application's options plus the configured extension's offers.
ClientHandshakeOptions with_extension_offers(const ClientHandshakeOptions& options,
                                             const Config& config) {
  ClientHandshakeOptions with_offers = options;
  if (config.extension) {
    for (const ExtensionElement& offer : config.extension->client_offers()) {
      with_offers.extension_offers.push_back(format_extension_element(offer));
    }
  }
  return with_offers;
}

}  // namespace

Result<Connection> Connection::client(std::string_view url, const ClientHandshakeOptions& options,
                                      const Config& config) {
  Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  auto impl = std::make_unique<Impl>(Role::client, config);
  // RFC 6455 4.1: the key is 16 random bytes, fresh for every connection.
  std::array<std::byte, 16> key{};
  impl->random_fill(MutableByteView(key));
  // The configured extension's offers go after the application's own.
  Result<ClientHandshake> request = make_client_request(
      *parsed, config.extension ? with_extension_offers(options, config) : options, key);
  if (!request) return request.error();
  impl->sender.queue.push_raw(as_bytes(request->request));
  impl->handshake = std::make_unique<Impl::Handshake>(HttpHeadKind::response, config.http_limits);
  impl->handshake->sent = std::move(*request);
  return Connection(std::move(impl));
}

Result<Connection> Connection::client_for_stream(std::string_view url,
                                                 const ClientHandshakeOptions& options,
                                                 const Config& config) {
  Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  Result<ClientConnect> connect = make_client_connect(
      *parsed, config.extension ? with_extension_offers(options, config) : options);
  if (!connect) return connect.error();
  auto impl = std::make_unique<Impl>(Role::client, config);
  impl->handshake = std::make_unique<Impl::Handshake>(HttpHeadKind::response, config.http_limits);
  impl->handshake->over_stream = true;
  impl->handshake->sent = std::move(connect->expected);
  impl->stream_request = std::make_unique<ExtendedConnectRequest>(std::move(connect->request));
  return Connection(std::move(impl));
}

std::optional<ExtendedConnectRequest> Connection::take_stream_request() {
  Impl& c = *impl_;
  if (!c.stream_request) return std::nullopt;
  std::optional<ExtendedConnectRequest> request(std::move(*c.stream_request));
  c.stream_request.reset();
  return request;
}

std::error_code Connection::receive_stream_response(int status, std::span<const HeaderField> fields,
                                                    std::string_view body) {
  Impl& c = *impl_;
  if (c.role() != Role::client || c.phase() != detail::Phase::handshaking || !c.handshake ||
      !c.handshake->over_stream || c.handshake->stream_response) {
    return errc::not_open;
  }
  auto response = std::make_unique<Impl::Handshake::StreamResponse>();
  response->status = status;
  response->fields.assign(fields.begin(), fields.end());
  response->body = std::string(body);
  c.handshake->stream_response = std::move(response);
  return {};
}

void Connection::Impl::open_with(std::optional<std::string> agreed_subprotocol,
                                 std::string agreed_extensions) {
  if ((agreed_subprotocol && !agreed_subprotocol->empty()) || !agreed_extensions.empty()) {
    agreed = std::make_unique<Agreed>(
        Agreed{agreed_subprotocol.value_or(std::string()), std::move(agreed_extensions)});
  }
  feed(detail::LifecycleInput::handshake_completed);
  pending_event = Event(agreed ? Opened{agreed->subprotocol, agreed->extensions} : Opened{});
}

std::optional<Event> Connection::Impl::advance_handshake() {
  if (!handshake) return std::nullopt;
  return role() == Role::server ? advance_server_handshake() : advance_client_handshake();
}

std::optional<Event> Connection::Impl::fail_handshake(std::error_code error,
                                                      bool answer_with_http) {
  if (answer_with_http) sender.queue.push_raw(as_bytes(build_error_response(error)));
  std::optional<Event> closed = fail(error);
  handshake.reset();
  return closed;
}

bool Connection::Impl::read_head() {
  const HttpFeedResult fed = handshake->parser.feed(reader.unparsed());
  reader.skip(fed.consumed);
  return fed.state == HttpParseState::complete;
}

std::optional<Event> Connection::Impl::head_not_ready(bool answer_with_http) {
  if (handshake->parser.state() == HttpParseState::error) {
    // Only a server answers a malformed head (400, 431); a client just ends.
    return fail_handshake(handshake->parser.error(), answer_with_http);
  }
  return lifecycle.stream_ended ? fail_handshake(errc::unexpected_eof, false) : std::nullopt;
}

std::optional<Event> Connection::Impl::advance_server_handshake() {
  if (handshake->awaiting_decision) return std::nullopt;
  if (handshake->over_stream) {
    // The HTTP/2 layer read and validated the request: it is the first event.
    handshake->awaiting_decision = true;
    return UpgradeRequested{request.get()};
  }
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

std::optional<Event> Connection::Impl::advance_client_stream_handshake() {
  const std::unique_ptr<Handshake::StreamResponse>& response = handshake->stream_response;
  if (!response) {
    // The stream ended (or was reset) before the answer.
    return lifecycle.stream_ended ? fail_handshake(errc::unexpected_eof, false) : std::nullopt;
  }
  HttpHead& head = handshake->stream_head;
  head.kind = HttpHeadKind::response;
  head.version_major = 2;
  head.version_minor = 0;
  head.status_code = response->status;
  head.headers.clear();
  for (const HeaderField& field : response->fields) {
    head.headers.push_back(HttpHeader{field.name, field.value});
  }
  Result<AcceptedHandshake> accepted = validate_connect_response(head, *handshake->sent);
  if (!accepted) {
    if (accepted.error() != errc::unexpected_status) return fail_handshake(accepted.error(), false);
    // An ordinary HTTP answer (401, 403, a redirect): told as over HTTP/1.1,
    // its views valid until the Closed event that follows is taken.
    Rejected rejected{head.status_code, {}, head.headers, as_bytes(response->body)};
    feed(detail::LifecycleInput::handshake_failed);
    pending_event =
        Event(Closed{CloseCode::abnormal, {}, errc::unexpected_status, CloseCode::abnormal});
    return rejected;
  }
  return open_client(std::move(*accepted));
}

std::optional<Event> Connection::Impl::open_client(AcceptedHandshake accepted) {
  if (const std::error_code error = agree_client_extension(accepted.extensions)) {
    return fail_handshake(error, false);
  }
  std::string agreed_extensions;
  for (const std::string& value : accepted.extensions) {
    if (!agreed_extensions.empty()) agreed_extensions += ", ";
    agreed_extensions += value;
  }
  handshake.reset();
  open_with(std::move(accepted.subprotocol), std::move(agreed_extensions));
  std::optional<Event> opened = pending_event.take();
  return opened;
}

std::optional<Event> Connection::Impl::advance_client_handshake() {
  if (handshake->over_stream) {
    // A rejection was told once; what follows is its Closed.
    if (handshake->rejected) return std::nullopt;
    std::optional<Event> event = advance_client_stream_handshake();
    if (event && std::holds_alternative<Rejected>(*event)) handshake->rejected = true;
    return event;
  }
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
  return open_client(std::move(*accepted));
}

std::optional<Event> Connection::Impl::finish_rejection() {
  // RFC 9112 6.3, bounded by the input limit: see delimit_response_body().
  const HttpHead& head = handshake->parser.head();
  const std::optional<HttpBody> body =
      delimit_response_body(head, reader.unparsed(),
                            {.stream_ended = lifecycle.stream_ended,
                             .buffer_full = reader.buffer_size() >= input_limit()});
  if (!body) return std::nullopt;
  Rejected rejected{head.status_code, head.reason, head.headers, body->data};
  // The views stay valid until the next call: the parser and the input are
  // released by the Closed event that follows.
  feed(detail::LifecycleInput::handshake_failed);
  pending_event =
      Event(Closed{CloseCode::abnormal, {}, errc::unexpected_status, CloseCode::abnormal});
  return rejected;
}

std::error_code Connection::accept(const AcceptOptions& options) {
  Impl& c = *impl_;
  if (c.phase() != detail::Phase::handshaking || !c.handshake || !c.handshake->awaiting_decision) {
    return errc::not_open;
  }
  if (c.handshake->plain_http) return errc::not_open;  // not an upgrade: answer with reject()
  std::optional<ExtensionAgreement> agreement = negotiate_server_extension(c.config, *c.request);
  std::optional<AcceptOptions> answering_offers;
  if (agreement) answering_offers = with_extension(options, agreement->response);
  const AcceptOptions& used = answering_offers ? *answering_offers : options;
  std::optional<std::string> subprotocol;
  std::string extensions;
  if (c.handshake->over_stream) {
    // RFC 8441 5: a 200 with the WebSocket fields, sent by the HTTP/2 layer.
    Result<ConnectResponse> response = build_connect_response(*c.request, used);
    if (!response) return response.error();
    c.stream_answer = std::make_unique<StreamAnswer>(
        StreamAnswer{response->status, std::move(response->fields), {}});
    subprotocol = std::move(response->subprotocol);
    extensions = std::move(response->extensions);
  } else {
    Result<AcceptResponse> response = build_accept_response(*c.request, used);
    if (!response) return response.error();
    c.sender.queue.push_raw(as_bytes(response->text));
    subprotocol = std::move(response->subprotocol);
    extensions = std::move(response->extensions);
  }
  c.handshake.reset();
  if (agreement) {
    c.extension = std::make_unique<detail::ExtensionState>(std::move(agreement->session));
  }
  c.open_with(std::move(subprotocol), std::move(extensions));
  return {};
}

std::error_code Connection::reject(int status, std::string_view body,
                                   std::span<const HeaderField> headers) {
  Impl& c = *impl_;
  if (c.phase() != detail::Phase::handshaking || !c.handshake || !c.handshake->awaiting_decision) {
    return errc::not_open;
  }
  // The same checks of status and fields either way; over HTTP/2 the text
  // is not sent, and a 2xx would open the WebSocket (RFC 8441 5).
  Result<std::string> response = build_rejection_response(status, body, headers);
  if (!response) return response.error();
  if (c.handshake->over_stream) {
    if (status < 300) return errc::invalid_handshake_option;
    Result<StreamAnswer> answer = stream_rejection(status, body, headers);
    if (!answer) return answer.error();
    c.stream_answer = std::make_unique<StreamAnswer>(std::move(*answer));
  } else {
    c.sender.queue.push_raw(as_bytes(*response));
  }
  c.pending_event =
      c.fail(c.handshake->plain_http ? errc::answered_as_http : errc::rejected_by_application);
  c.handshake.reset();
  return {};
}

std::optional<StreamAnswer> Connection::take_stream_answer() {
  Impl& c = *impl_;
  if (!c.stream_answer) return std::nullopt;
  std::optional<StreamAnswer> answer(std::move(*c.stream_answer));
  c.stream_answer.reset();
  return answer;
}

const UpgradeRequest* Connection::request() const noexcept { return impl_->request.get(); }

void Connection::release_request() noexcept {
  Impl& c = *impl_;
  if (c.handshake && c.handshake->awaiting_decision) return;  // accept() still needs it
  // Over HTTP/2 the request came with the connection and UpgradeRequested
  // is still to announce it.
  if (c.handshake && c.handshake->over_stream && c.phase() == detail::Phase::handshaking) return;
  c.request.reset();
}
std::string_view Connection::subprotocol() const noexcept {
  return impl_->agreed ? std::string_view(impl_->agreed->subprotocol) : std::string_view();
}
std::string_view Connection::extensions() const noexcept {
  return impl_->agreed ? std::string_view(impl_->agreed->extensions) : std::string_view();
}

}  // namespace ws
