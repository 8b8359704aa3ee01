#include "handshake/http_writer.hpp"

#include <algorithm>

#include "handshake/http_syntax.hpp"

namespace ws::detail {

bool is_valid_field(const HeaderField& field) noexcept {
  return is_token(field.name) && is_field_value(field.value);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return {};
  }
}

std::string write_response(int status, std::span<const HeaderField> fields, std::string_view body) {
  const auto has_field = [fields](std::string_view name) {
    return std::any_of(fields.begin(), fields.end(), [name](const HeaderField& field) {
      return ascii_iequals(field.name, name);
    });
  };
  std::string out;
  out.reserve(128 + body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  for (const HeaderField& field : fields) append_field(out, field.name, field.value);
  if (!body.empty() && !has_field("content-type")) {
    append_field(out, "Content-Type", "text/plain; charset=utf-8");
  }
  append_field(out, "Content-Length", std::to_string(body.size()));
  // The WebSocket side closes the connection after a rejection.
  if (!has_field("connection")) append_field(out, "Connection", "close");
  out.append("\r\n");
  out.append(body);
  return out;
}

}  // namespace ws::detail
