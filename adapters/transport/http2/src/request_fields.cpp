#include "request_fields.hpp"

namespace ws::http2::detail {

namespace {
// RFC 9113 6.5.2 (SETTINGS_MAX_HEADER_LIST_SIZE): each field counts its
// name and value plus 32 bytes.
constexpr std::size_t field_overhead = 32;
}  // namespace

void RequestFields::add(std::string_view name, std::string_view value) {
  size_ += name.size() + value.size() + field_overhead;
  if (size_ > max_size_) {
    too_large_ = true;
    request_.headers.clear();
    request_.headers.shrink_to_fit();
  }
  if (too_large_) return;
  if (!name.empty() && name.front() == ':') {
    if (name == ":method") {
      method_ = std::string(value);
      request_.method = method_;
    } else if (name == ":protocol") {
      request_.protocol = std::string(value);
    } else if (name == ":scheme") {
      request_.scheme = std::string(value);
    } else if (name == ":authority") {
      request_.authority = std::string(value);
    } else if (name == ":path") {
      path_ = std::string(value);
      request_.path = path_;
    }
    return;  // nghttp2 refuses unknown pseudo-headers before they get here
  }
  request_.headers.push_back(HeaderField{std::string(name), std::string(value)});
}

bool RequestFields::is_extended_connect() const noexcept {
  return is_connect() && request_.protocol.has_value();
}

HttpHead RequestFields::http_head() const {
  HttpHead head;
  head.kind = HttpHeadKind::request;
  head.method = method_;
  head.target = path_;
  head.version_major = 2;
  head.version_minor = 0;
  bool has_host = false;
  head.headers.reserve(request_.headers.size() + 1);
  for (const HeaderField& field : request_.headers) {
    if (field.name == "host") has_host = true;
    head.headers.push_back(HttpHeader{field.name, field.value});
  }
  // RFC 9113 8.3.1: :authority stands in for Host; handlers written for
  // HTTP/1.1 look for Host.
  if (!has_host && request_.authority) {
    head.headers.push_back(HttpHeader{"host", *request_.authority});
  }
  return head;
}

}  // namespace ws::http2::detail
