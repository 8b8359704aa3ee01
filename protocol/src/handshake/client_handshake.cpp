#include "ws/handshake/client_handshake.hpp"

#include <algorithm>

#include "handshake/http_syntax.hpp"
#include "handshake/http_writer.hpp"
#include "ws/base/base64.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws {
namespace {

bool is_host_char(char c) noexcept {
  return detail::is_alpha(c) || detail::is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_hex(char c) noexcept {
  return detail::is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_reserved_request_field(std::string_view name) noexcept {
  return ascii_iequals(name, "host") || ascii_iequals(name, "upgrade") ||
         ascii_iequals(name, "connection") || ascii_iequals(name, "origin") ||
         (name.size() >= 14 && ascii_iequals(name.substr(0, 14), "sec-websocket-")) ||
         ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding");
}

// The extension-token of one element of Sec-WebSocket-Extensions
// (RFC 6455 9.1): the part before the first ';'.
std::string_view extension_name(std::string_view element) noexcept {
  return detail::trim_ows(element.substr(0, element.find(';')));
}

std::string join(std::span<const std::string> items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out.append(", ");
    out.append(item);
  }
  return out;
}

}  // namespace

std::string WsUrl::resource() const {
  if (query.empty()) return path;
  return path + '?' + query;
}

std::string WsUrl::host_header() const {
  std::string out = host.find(':') != std::string::npos ? '[' + host + ']' : host;
  const std::uint16_t default_port = secure ? 443 : 80;
  if (port != default_port) {
    out.push_back(':');
    out.append(std::to_string(port));
  }
  return out;
}

Result<WsUrl> parse_ws_url(std::string_view url) {
  // Only visible ASCII: spaces, control and non-ASCII bytes must arrive
  // percent-encoded. A fragment is meaningless here (RFC 6455 3).
  if (!std::all_of(url.begin(), url.end(), detail::is_vchar) ||
      url.find('#') != std::string_view::npos) {
    return errc::invalid_url;
  }
  WsUrl result;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return errc::invalid_url;
  const std::string_view scheme = url.substr(0, scheme_end);
  if (ascii_iequals(scheme, "wss")) {
    result.secure = true;
  } else if (!ascii_iequals(scheme, "ws")) {
    return errc::invalid_url;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const std::size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  rest.remove_prefix(authority_end);
  if (authority.find('@') != std::string_view::npos) return errc::invalid_url;  // userinfo

  std::string_view host;
  if (!authority.empty() && authority.front() == '[') {
    // RFC 3986 3.2.2: IP-literal = "[" IPv6address "]"
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return errc::invalid_url;
    host = authority.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos ||
        !std::all_of(host.begin(), host.end(),
                     [](char c) { return is_hex(c) || c == ':' || c == '.'; })) {
      return errc::invalid_url;
    }
    authority.remove_prefix(close + 1);
  } else {
    const std::size_t colon = std::min(authority.find(':'), authority.size());
    host = authority.substr(0, colon);
    if (!std::all_of(host.begin(), host.end(), is_host_char)) return errc::invalid_url;
    authority.remove_prefix(colon);
  }
  if (host.empty()) return errc::invalid_url;
  result.host = detail::to_lower(host);

  result.port = result.secure ? 443 : 80;
  if (!authority.empty()) {
    if (authority.front() != ':') return errc::invalid_url;
    const std::string_view digits = authority.substr(1);
    // RFC 3986 3.2.3: an empty port means the default one.
    if (!digits.empty()) {
      std::uint32_t port = 0;
      for (const char c : digits) {
        if (!detail::is_digit(c)) return errc::invalid_url;
        port = port * 10 + static_cast<std::uint32_t>(c - '0');
        if (port > 65535) return errc::invalid_url;
      }
      if (port == 0) return errc::invalid_url;
      result.port = static_cast<std::uint16_t>(port);
    }
  }

  // RFC 6455 3: the resource name is the path ("/" if empty) and the query.
  const std::size_t question = rest.find('?');
  result.path.assign(rest.substr(0, question));
  if (result.path.empty()) result.path = "/";
  if (question != std::string_view::npos) result.query.assign(rest.substr(question + 1));
  return result;
}

namespace {

// The options' checks, shared by the HTTP/1.1 request and the extended
// CONNECT; fills what the answer is checked against.
std::error_code check_options(const ClientHandshakeOptions& options, ClientHandshake& handshake) {
  if (options.origin && (options.origin->empty() || !detail::is_field_value(*options.origin))) {
    return errc::invalid_handshake_option;
  }
  // RFC 6455 4.1 item 10: tokens, each unique.
  for (auto it = options.subprotocols.begin(); it != options.subprotocols.end(); ++it) {
    if (!detail::is_token(*it) || std::find(options.subprotocols.begin(), it, *it) != it) {
      return errc::invalid_handshake_option;
    }
  }
  for (const std::string& offer : options.extension_offers) {
    if (!detail::is_field_value(offer)) return errc::invalid_handshake_option;
    HttpListReader reader(offer);
    bool any = false;
    while (const auto element = reader.next()) {
      const std::string_view name = extension_name(*element);
      if (!detail::is_token(name)) return errc::invalid_handshake_option;
      handshake.extension_names.push_back(detail::to_lower(name));
      any = true;
    }
    if (!any) return errc::invalid_handshake_option;
  }
  for (const HeaderField& field : options.extra_headers) {
    if (!detail::is_valid_field(field) || is_reserved_request_field(field.name)) {
      return errc::invalid_handshake_option;
    }
  }
  handshake.subprotocols = options.subprotocols;
  return {};
}

// RFC 6455 4.1, the response's subprotocol and extensions: what both
// carriages check once the status said yes.
Result<AcceptedHandshake> check_agreement(const HttpHead& head, const ClientHandshake& handshake) {
  AcceptedHandshake accepted;
  // RFC 6455 4.1 item 6 of the response checks: one of the offered values.
  const std::size_t protocol_count = count_headers(head, "sec-websocket-protocol");
  if (protocol_count > 1) return errc::unexpected_subprotocol;
  if (protocol_count == 1) {
    const std::string_view chosen = *find_header(head, "sec-websocket-protocol");
    if (!chosen.empty()) {
      if (std::find(handshake.subprotocols.begin(), handshake.subprotocols.end(), chosen) ==
          handshake.subprotocols.end()) {
        return errc::unexpected_subprotocol;
      }
      accepted.subprotocol.emplace(chosen);
    }
  }
  // Item 5: every extension in use was requested (names compare
  // case-insensitively, as tokens do).
  for (const std::string_view value : header_values(head, "sec-websocket-extensions")) {
    HttpListReader reader(value);
    bool names_any = false;  // a value of only commas and spaces names none
    while (const auto element = reader.next()) {
      const std::string_view name = extension_name(*element);
      const bool offered = std::any_of(
          handshake.extension_names.begin(), handshake.extension_names.end(),
          [name](const std::string& offered_name) { return ascii_iequals(offered_name, name); });
      if (!offered) return errc::unexpected_extension;
      names_any = true;
    }
    if (names_any) accepted.extensions.emplace_back(value);
  }
  return accepted;
}

// RFC 9113 8.2.2: fields that have no meaning in HTTP/2 (and make a
// request malformed there) besides those a handshake sets itself.
bool forbidden_in_http2(std::string_view name) {
  return ascii_iequals(name, "keep-alive") || ascii_iequals(name, "proxy-connection") ||
         ascii_iequals(name, "te");
}

}  // namespace

Result<ClientHandshake> make_client_request(const WsUrl& url, const ClientHandshakeOptions& options,
                                            std::span<const std::byte, 16> key_bytes) {
  ClientHandshake handshake;
  if (const std::error_code error = check_options(options, handshake)) return error;

  handshake.key = base64_encode(key_bytes);
  handshake.expected_accept = compute_accept_key(handshake.key);

  std::string& text = handshake.request;
  text.reserve(256);
  text.append("GET ");
  text.append(url.resource());
  text.append(" HTTP/1.1\r\n");
  detail::append_field(text, "Host", url.host_header());
  detail::append_field(text, "Upgrade", "websocket");
  detail::append_field(text, "Connection", "Upgrade");
  detail::append_field(text, "Sec-WebSocket-Key", handshake.key);
  detail::append_field(text, "Sec-WebSocket-Version", "13");
  if (options.origin) detail::append_field(text, "Origin", *options.origin);
  if (!options.subprotocols.empty()) {
    detail::append_field(text, "Sec-WebSocket-Protocol", join(options.subprotocols));
  }
  if (!options.extension_offers.empty()) {
    detail::append_field(text, "Sec-WebSocket-Extensions", join(options.extension_offers));
  }
  for (const HeaderField& field : options.extra_headers) {
    detail::append_field(text, field.name, field.value);
  }
  text.append("\r\n");
  return handshake;
}

Result<AcceptedHandshake> validate_server_response(const HttpHead& head,
                                                   const ClientHandshake& handshake) {
  // RFC 6455 4.1, "the client MUST validate the server's response".
  if (head.kind != HttpHeadKind::response) return errc::malformed_status_line;
  if (head.status_code != 101) return errc::unexpected_status;
  if (!has_token(head, "upgrade", "websocket")) return errc::missing_upgrade_websocket;
  if (!has_token(head, "connection", "upgrade")) return errc::missing_connection_upgrade;
  const std::size_t accept_count = count_headers(head, "sec-websocket-accept");
  if (accept_count == 0) return errc::missing_accept;
  if (accept_count > 1 || find_header(head, "sec-websocket-accept") != handshake.expected_accept) {
    return errc::accept_mismatch;
  }
  return check_agreement(head, handshake);
}

Result<ClientConnect> make_client_connect(const WsUrl& url, const ClientHandshakeOptions& options) {
  ClientConnect connect;
  if (const std::error_code error = check_options(options, connect.expected)) return error;
  for (const HeaderField& field : options.extra_headers) {
    if (forbidden_in_http2(field.name)) return errc::invalid_handshake_option;
  }
  ExtendedConnectRequest& request = connect.request;
  // RFC 8441 4: CONNECT with :protocol, and :scheme and :path as for GET.
  request.method = "CONNECT";
  request.protocol = "websocket";
  request.scheme = url.secure ? "https" : "http";
  request.authority = url.host_header();
  request.path = url.resource();
  // RFC 8441 5: the version field as over HTTP/1.1; no key (the stream is
  // the proof that the server understood).
  request.headers.push_back(HeaderField{"sec-websocket-version", "13"});
  if (options.origin) request.headers.push_back(HeaderField{"origin", *options.origin});
  if (!options.subprotocols.empty()) {
    request.headers.push_back(HeaderField{"sec-websocket-protocol", join(options.subprotocols)});
  }
  if (!options.extension_offers.empty()) {
    request.headers.push_back(
        HeaderField{"sec-websocket-extensions", join(options.extension_offers)});
  }
  // RFC 9113 8.2.1: field names in lower case.
  for (const HeaderField& field : options.extra_headers) {
    request.headers.push_back(HeaderField{detail::to_lower(field.name), field.value});
  }
  return connect;
}

Result<AcceptedHandshake> validate_connect_response(const HttpHead& head,
                                                    const ClientHandshake& expected) {
  // RFC 8441 5 with RFC 9110 9.3.6: a 2xx answer to the CONNECT opens it.
  if (head.kind != HttpHeadKind::response) return errc::malformed_status_line;
  if (head.status_code < 200 || head.status_code > 299) return errc::unexpected_status;
  return check_agreement(head, expected);
}

}  // namespace ws
