#include "support/handshake_text.hpp"

#include <algorithm>
#include <utility>

#include "ws/handshake/http_head_parser.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws::test {

std::vector<HeaderField> upgrade_fields() {
  return {{"Host", "server.example.com"},  {"Upgrade", "websocket"},
          {"Connection", "Upgrade"},       {"Sec-WebSocket-Key", std::string(kRfcKey)},
          {"Sec-WebSocket-Version", "13"}, {"Origin", "http://example.com"}};
}

std::string head_text(std::string_view start_line, const std::vector<HeaderField>& fields) {
  std::string out(start_line);
  out.append("\r\n");
  for (const HeaderField& field : fields) {
    out.append(field.name).append(": ").append(field.value).append("\r\n");
  }
  out.append("\r\n");
  return out;
}

std::vector<HeaderField> without(std::vector<HeaderField> fields, std::string_view name) {
  std::erase_if(fields,
                [name](const HeaderField& field) { return ascii_iequals(field.name, name); });
  return fields;
}

std::vector<HeaderField> with(std::vector<HeaderField> fields, std::string_view name,
                              std::string_view value) {
  const auto it = std::find_if(fields.begin(), fields.end(), [name](const HeaderField& field) {
    return ascii_iequals(field.name, name);
  });
  if (it == fields.end()) {
    fields.push_back({std::string(name), std::string(value)});
  } else {
    it->value = std::string(value);
  }
  return fields;
}

std::string valid_upgrade_request() {
  return head_text("GET /chat?room=1 HTTP/1.1", upgrade_fields());
}

std::error_code upgrade_outcome(std::string_view text) {
  HttpHeadParser parser(HttpHeadKind::request);
  const HttpFeedResult fed = parser.feed(text);
  if (fed.state == HttpParseState::error) return fed.error;
  if (fed.state == HttpParseState::need_more) return errc::unexpected_eof;
  return validate_upgrade_request(parser.head()).error();
}

ExtendedConnectRequest extended_connect(std::vector<HeaderField> fields) {
  ExtendedConnectRequest request;
  request.method = "CONNECT";
  request.protocol = "websocket";
  request.scheme = "https";
  request.authority = "server.example.com";
  request.path = "/chat";
  request.headers = std::move(fields);
  return request;
}

}  // namespace ws::test
