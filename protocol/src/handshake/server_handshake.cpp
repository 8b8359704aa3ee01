#include "ws/handshake/server_handshake.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "handshake/http_syntax.hpp"
#include "handshake/http_writer.hpp"
#include "ws/base/base64.hpp"
#include "ws/base/sha1.hpp"
#include "ws/handshake/http_head_parser.hpp"

namespace ws {
namespace {

// RFC 6455 1.3: the GUID appended to the key before hashing.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool starts_with_ci(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && ascii_iequals(text.substr(0, prefix.size()), prefix);
}

// Splits a request-target into host override, path and query. Accepts
// origin-form "/p?q" and absolute-form "http://host/p?q" (RFC 6455 4.1 and
// 4.2.1 allow an absolute URI; RFC 9112 3.2.2 says its authority replaces
// Host). Fragments never belong in a request-target.
bool split_target(std::string_view target, std::string& host, std::string& path,
                  std::string& query) {
  if (target.find('#') != std::string_view::npos) return false;
  std::string_view rest = target;
  if (rest.empty() || rest.front() != '/') {
    const std::size_t scheme_end = rest.find("://");
    if (scheme_end == std::string_view::npos) return false;
    const std::string_view scheme = rest.substr(0, scheme_end);
    if (!ascii_iequals(scheme, "http") && !ascii_iequals(scheme, "https") &&
        !ascii_iequals(scheme, "ws") && !ascii_iequals(scheme, "wss")) {
      return false;
    }
    rest.remove_prefix(scheme_end + 3);
    const std::size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
    const std::string_view authority = rest.substr(0, authority_end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
    host.assign(authority);
    rest.remove_prefix(authority_end);
  }
  const std::size_t question = rest.find('?');
  path.assign(rest.substr(0, question));
  if (path.empty()) path = "/";
  query.clear();
  if (question != std::string_view::npos) query.assign(rest.substr(question + 1));
  return true;
}

// A serialized origin (RFC 6454 6.2): scheme "://" host [ ":" port ].
struct OriginParts {
  std::string scheme;
  std::string host;
  std::uint32_t port = 0;
};

std::optional<OriginParts> parse_origin(std::string_view text) {
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
  OriginParts parts;
  parts.scheme = detail::to_lower(text.substr(0, scheme_end));
  std::string_view rest = text.substr(scheme_end + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // "https://a.example/"
  std::size_t host_end = 0;
  if (!rest.empty() && rest.front() == '[') {
    host_end = rest.find(']');
    if (host_end == std::string_view::npos) return std::nullopt;
    ++host_end;
  } else {
    host_end = std::min(rest.find(':'), rest.size());
  }
  const std::string_view host = rest.substr(0, host_end);
  if (host.empty() || host.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  parts.host = detail::to_lower(host);
  rest.remove_prefix(host_end);
  if (rest.empty()) {
    if (parts.scheme == "http" || parts.scheme == "ws") parts.port = 80;
    if (parts.scheme == "https" || parts.scheme == "wss") parts.port = 443;
    return parts;
  }
  if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
  for (const char c : rest.substr(1)) {
    if (!detail::is_digit(c)) return std::nullopt;
    parts.port = parts.port * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return parts;
}

bool origins_equal(std::string_view a, std::string_view b) {
  const auto parts_a = parse_origin(a);
  const auto parts_b = parse_origin(b);
  if (!parts_a || !parts_b) return ascii_iequals(a, b);
  return parts_a->scheme == parts_b->scheme && parts_a->host == parts_b->host &&
         parts_a->port == parts_b->port;
}

bool is_reserved_accept_field(std::string_view name) noexcept {
  return ascii_iequals(name, "upgrade") || ascii_iequals(name, "connection") ||
         starts_with_ci(name, "sec-websocket-") || ascii_iequals(name, "content-length") ||
         ascii_iequals(name, "transfer-encoding");
}

std::optional<std::string> choose_subprotocol(const UpgradeRequest& request,
                                              const AcceptOptions& options) {
  if (request.subprotocols.empty()) return std::nullopt;
  const auto offered = [&request](std::string_view name) {
    return std::find(request.subprotocols.begin(), request.subprotocols.end(), name) !=
           request.subprotocols.end();
  };
  // RFC 6455 4.2.2 step 5.4: the server picks one of the client's values
  // (compared exactly: subprotocol names are case-sensitive).
  for (const std::string& preferred : options.subprotocols) {
    if (offered(preferred)) return preferred;
  }
  if (options.select_subprotocol) {
    std::optional<std::string> chosen = options.select_subprotocol(request.subprotocols);
    if (chosen && offered(*chosen)) return chosen;
  }
  return std::nullopt;
}

// What both answers (the 101 and the HTTP/2 200) agree to, after checking
// the application's extra headers: one code path, so both choose alike.
struct Agreement {
  std::optional<std::string> subprotocol;
  std::string extensions;  // the Sec-WebSocket-Extensions value; empty: none
};

Result<Agreement> agree(const UpgradeRequest& request, const AcceptOptions& options) {
  for (const HeaderField& field : options.extra_headers) {
    if (!detail::is_valid_field(field) || is_reserved_accept_field(field.name)) {
      return errc::invalid_handshake_option;
    }
  }
  Agreement agreement;
  agreement.subprotocol = choose_subprotocol(request, options);
  if (!request.extension_offers.empty() && options.negotiate_extensions) {
    agreement.extensions = options.negotiate_extensions(request.extension_offers);
    if (!detail::is_field_value(agreement.extensions)) return errc::invalid_handshake_option;
    agreement.extensions.assign(detail::trim_ows(agreement.extensions));
  }
  return agreement;
}

// RFC 6455 4.2.1 item 6 (and RFC 8441 5 over HTTP/2): one
// Sec-WebSocket-Version field, of value 13.
bool asks_version_13(const HttpHead& head) noexcept {
  return count_headers(head, "sec-websocket-version") == 1 &&
         find_header(head, "sec-websocket-version") == "13";
}

// What a request of either carriage hands on from its header fields: the
// Origin, the offered subprotocols and extensions, every field line.
void copy_fields(const HttpHead& head, UpgradeRequest& request) {
  if (const auto origin = find_header(head, "origin")) request.origin.emplace(*origin);
  for (const std::string_view value : header_values(head, "sec-websocket-protocol")) {
    HttpListReader reader(value);
    while (const auto element = reader.next()) request.subprotocols.emplace_back(*element);
  }
  for (const std::string_view value : header_values(head, "sec-websocket-extensions")) {
    request.extension_offers.emplace_back(value);
  }
  request.headers.reserve(head.headers.size());
  for (const HttpHeader& header : head.headers) {
    request.headers.push_back({std::string(header.name), std::string(header.value)});
  }
}

}  // namespace

bool is_upgrade(const HttpHead& head) noexcept {
  return head.kind == HttpHeadKind::request && has_token(head, "upgrade", "websocket") &&
         has_token(head, "connection", "upgrade");
}

bool is_upgrade(std::string_view request_head) noexcept {
  try {
    // No size limits here: the application already holds the whole head,
    // and an oversized upgrade should get its 431 from the handshake proper
    // rather than be served as plain HTTP.
    const HttpLimits unbounded{request_head.size(), request_head.size()};
    const Result<HttpHead> head = parse_http_head(request_head, HttpHeadKind::request, unbounded);
    return head.has_value() && is_upgrade(*head);
  } catch (...) {
    return false;  // only std::bad_alloc can get here
  }
}

std::optional<std::string_view> UpgradeRequest::header(std::string_view name) const noexcept {
  for (const HeaderField& field : headers) {
    if (ascii_iequals(field.name, name)) return std::string_view(field.value);
  }
  return std::nullopt;
}

Result<UpgradeRequest> validate_upgrade_request(const HttpHead& head) {
  // RFC 6455 4.2.1, items 1-6, then 4.2.2 for the version.
  if (head.kind != HttpHeadKind::request) return errc::malformed_request_line;
  if (head.method != "GET") return errc::method_not_get;
  if (head.version_major < 1 || (head.version_major == 1 && head.version_minor < 1)) {
    return errc::unsupported_http_version;
  }
  // RFC 9112 3.2: exactly one Host line.
  const std::size_t host_count = count_headers(head, "host");
  if (host_count > 1) return errc::malformed_header;
  const std::optional<std::string_view> host = find_header(head, "host");
  if (!host || host->empty()) return errc::missing_host;
  if (!has_token(head, "upgrade", "websocket")) return errc::missing_upgrade_websocket;
  if (!has_token(head, "connection", "upgrade")) return errc::missing_connection_upgrade;
  // Checked before the key so that a client of another version gets the 426
  // that tells it which version to retry with (RFC 6455 4.4).
  if (!asks_version_13(head)) return errc::unsupported_websocket_version;
  const std::size_t key_count = count_headers(head, "sec-websocket-key");
  if (key_count == 0) return errc::missing_key;
  const std::string_view key = *find_header(head, "sec-websocket-key");
  // RFC 6455 11.3.1: the key appears once; a comma is two keys folded into
  // one line by an intermediary.
  if (key_count > 1 || key.find(',') != std::string_view::npos) return errc::duplicate_key;
  // 16 bytes are always 24 base64 characters; the decoder is canonical.
  if (key.size() != 24) return errc::invalid_key;
  const auto decoded = base64_decode(key);
  if (!decoded || decoded->size() != 16) return errc::invalid_key;

  UpgradeRequest request;
  request.host.assign(*host);
  if (!split_target(head.target, request.host, request.path, request.query)) {
    return errc::malformed_request_line;
  }
  request.target.assign(head.target);
  request.key.assign(key);
  copy_fields(head, request);
  return request;
}

Result<UpgradeRequest> validate_extended_connect(const ExtendedConnectRequest& connect) {
  // RFC 8441 5: CONNECT with :protocol "websocket" replaces RFC 6455's GET.
  if (connect.method != "CONNECT") return errc::method_not_connect;
  if (connect.protocol != "websocket") return errc::missing_protocol_websocket;
  // RFC 8441 4: :scheme and :path are required with :protocol; :path is an
  // origin-form target (RFC 9113 8.3.1). RFC 8441 5: :authority carries
  // what Host did, and an http(s) URI's host is never empty (RFC 9110 4.2.1).
  if (!connect.scheme || connect.scheme->empty()) return errc::invalid_pseudo_header;
  UpgradeRequest request;
  request.carriage = HandshakeCarriage::http2_extended_connect;
  // An origin-form target leaves the host alone; split_target checks the
  // fragment.
  if (!connect.path || connect.path->empty() || connect.path->front() != '/' ||
      !split_target(*connect.path, request.host, request.path, request.query)) {
    return errc::invalid_pseudo_header;
  }
  if (!connect.authority || connect.authority->empty()) return errc::invalid_pseudo_header;
  request.host.assign(*connect.authority);
  request.target.assign(*connect.path);
  // The regular fields, viewed as a head, go through the HTTP/1.1 code.
  HttpHead head;
  head.method = *connect.method;
  head.target = *connect.path;
  head.version_major = 2;
  head.version_minor = 0;
  head.headers.reserve(connect.headers.size());
  for (const HeaderField& field : connect.headers) {
    head.headers.push_back({field.name, field.value});
  }
  if (!asks_version_13(head)) return errc::unsupported_websocket_version;
  // RFC 8441 5: no Sec-WebSocket-Key processing; request.key stays empty.
  copy_fields(head, request);
  return request;
}

std::string compute_accept_key(std::string_view key) {
  Sha1 hash;
  hash.update(as_bytes(key));
  hash.update(as_bytes(kAcceptGuid));
  const Sha1Digest digest = hash.finish();
  return base64_encode(std::as_bytes(std::span(digest)));
}

bool origin_allowed(const UpgradeRequest& request, std::span<const std::string> allowed) {
  if (!request.origin) return false;
  return std::any_of(allowed.begin(), allowed.end(), [&request](const std::string& entry) {
    return origins_equal(*request.origin, entry);
  });
}

Result<AcceptResponse> build_accept_response(const UpgradeRequest& request,
                                             const AcceptOptions& options) {
  Result<Agreement> agreement = agree(request, options);
  if (!agreement) return agreement.error();
  AcceptResponse response;
  response.subprotocol = std::move(agreement->subprotocol);
  response.extensions = std::move(agreement->extensions);

  // RFC 6455 4.2.2 step 5.
  std::string& text = response.text;
  text.reserve(160);
  text.append("HTTP/1.1 101 Switching Protocols\r\n");
  detail::append_field(text, "Upgrade", "websocket");
  detail::append_field(text, "Connection", "Upgrade");
  detail::append_field(text, "Sec-WebSocket-Accept", compute_accept_key(request.key));
  if (response.subprotocol) {
    detail::append_field(text, "Sec-WebSocket-Protocol", *response.subprotocol);
  }
  if (!response.extensions.empty()) {
    detail::append_field(text, "Sec-WebSocket-Extensions", response.extensions);
  }
  for (const HeaderField& field : options.extra_headers) {
    detail::append_field(text, field.name, field.value);
  }
  text.append("\r\n");
  return response;
}

Result<ConnectResponse> build_connect_response(const UpgradeRequest& request,
                                               const AcceptOptions& options) {
  Result<Agreement> agreement = agree(request, options);
  if (!agreement) return agreement.error();
  // RFC 8441 5: a 200 with the WebSocket fields; HTTP/2 field names are
  // lower case (RFC 9113 8.2.1).
  ConnectResponse response;
  response.status = 200;
  response.subprotocol = std::move(agreement->subprotocol);
  response.extensions = std::move(agreement->extensions);
  response.fields.reserve(options.extra_headers.size() + 2);
  if (response.subprotocol) {
    response.fields.push_back({"sec-websocket-protocol", *response.subprotocol});
  }
  if (!response.extensions.empty()) {
    response.fields.push_back({"sec-websocket-extensions", response.extensions});
  }
  for (const HeaderField& field : options.extra_headers) {
    response.fields.push_back({detail::to_lower(field.name), field.value});
  }
  return response;
}

Result<std::string> build_rejection_response(int status, std::string_view body,
                                             std::span<const HeaderField> headers) {
  if (status < 200 || status > 599) return errc::invalid_handshake_option;
  for (const HeaderField& field : headers) {
    if (!detail::is_valid_field(field) || ascii_iequals(field.name, "content-length") ||
        ascii_iequals(field.name, "transfer-encoding")) {
      return errc::invalid_handshake_option;
    }
  }
  return detail::write_response(status, headers, body);
}

std::string build_error_response(std::error_code error) {
  const int status = http_status_for(error);
  std::string body = error.message();
  body.push_back('\n');
  if (status == 426) {
    const std::array<HeaderField, 3> fields{{{"Sec-WebSocket-Version", "13"},
                                             {"Upgrade", "websocket"},
                                             {"Connection", "Upgrade, close"}}};
    return detail::write_response(status, fields, body);
  }
  if (status == 405) {
    const std::array<HeaderField, 1> fields{{{"Allow", "GET"}}};
    return detail::write_response(status, fields, body);
  }
  return detail::write_response(status, {}, body);
}

}  // namespace ws
