// The HTTP head parser (RFC 9112 2-5) on arbitrary bytes, as a request and
// as a response. Checks that:
//  - fed whole, in two pieces (byte 0 says where to cut) or one byte at a
//    time, it reaches the same state, error and consumed count (documented
//    to be the same however the input is split, errors included);
//  - it never holds more than its size limit, never consumes past the end of
//    a complete head, and fails only with the errors its contract lists;
//  - a complete head is well formed: tokens where RFC 9112 wants tokens,
//    field values trimmed and free of CR, LF and NUL, at most the configured
//    number of fields, a status code of three digits;
//  - the one-shot parse_http_head on the consumed bytes gives the same head.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "check.hpp"
#include "ws/base/error.hpp"
#include "ws/handshake/http_head_parser.hpp"

namespace {

using fuzz::check;

// RFC 9110 5.6.2: tchar.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(ch) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool has_line_break_or_nul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_documented_error(std::error_code e) {
  return e == ws::errc::head_too_large || e == ws::errc::too_many_headers ||
         e == ws::errc::malformed_request_line || e == ws::errc::malformed_status_line ||
         e == ws::errc::malformed_header || e == ws::errc::obsolete_line_folding;
}

void check_well_formed(const ws::HttpHead& head, ws::HttpHeadKind kind,
                       const ws::HttpLimits& limits) {
  check(head.kind == kind);
  check(head.size <= limits.max_head_size);
  check(head.headers.size() <= limits.max_header_count);
  check(head.version_major >= 0 && head.version_major <= 9);
  check(head.version_minor >= 0 && head.version_minor <= 9);
  if (kind == ws::HttpHeadKind::request) {
    check(is_token(head.method));
    check(!head.target.empty() && !has_line_break_or_nul(head.target));
    check(head.target.find(' ') == std::string_view::npos);
  } else {
    check(head.status_code >= 100 && head.status_code <= 999);
    check(!has_line_break_or_nul(head.reason));
  }
  for (const ws::HttpHeader& field : head.headers) {
    check(is_token(field.name));
    check(!has_line_break_or_nul(field.value));
    if (!field.value.empty()) {
      check(field.value.front() != ' ' && field.value.front() != '\t');
      check(field.value.back() != ' ' && field.value.back() != '\t');
    }
  }
}

bool same_head(const ws::HttpHead& a, const ws::HttpHead& b) {
  if (a.kind != b.kind || a.method != b.method || a.target != b.target ||
      a.version_major != b.version_major || a.version_minor != b.version_minor ||
      a.status_code != b.status_code || a.reason != b.reason || a.size != b.size ||
      a.headers.size() != b.headers.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.headers.size(); ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) {
      return false;
    }
  }
  return true;
}

void run(ws::HttpHeadKind kind, const std::uint8_t* data, std::size_t size) {
  const ws::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  ws::HttpLimits limits;
  limits.max_head_size = 1024;
  limits.max_header_count = 16;

  ws::HttpHeadParser whole(kind, limits);
  const ws::HttpFeedResult one = whole.feed(input);
  check(one.consumed <= size);
  check(whole.buffered_size() <= limits.max_head_size);
  check(one.state == whole.state() && one.error == whole.error());
  check((one.state == ws::HttpParseState::error) == static_cast<bool>(one.error));
  if (one.error) check(is_documented_error(one.error));
  // Only a complete or failed head stops short of the end of the input.
  if (one.state == ws::HttpParseState::need_more) check(one.consumed == size);

  // Two pieces.
  ws::HttpHeadParser split(kind, limits);
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  ws::HttpFeedResult last = split.feed(input.first(cut));
  std::size_t consumed = last.consumed;
  if (last.state == ws::HttpParseState::need_more) {
    last = split.feed(input.subspan(cut));
    consumed += last.consumed;
  }
  check(last.state == one.state && last.error == one.error && consumed == one.consumed);

  // One byte at a time.
  ws::HttpHeadParser bytewise(kind, limits);
  consumed = 0;
  for (std::size_t i = 0; i < size && bytewise.state() == ws::HttpParseState::need_more; ++i) {
    const ws::HttpFeedResult r = bytewise.feed(input.subspan(i, 1));
    check(r.consumed <= 1);
    consumed += r.consumed;
    check(bytewise.buffered_size() <= limits.max_head_size);
  }
  check(bytewise.state() == one.state && bytewise.error() == one.error && consumed == one.consumed);

  // Sticky: a finished parser takes nothing more.
  if (one.state != ws::HttpParseState::need_more) {
    const ws::HttpFeedResult again = whole.feed(input);
    check(again.consumed == 0 && again.state == one.state);
  }

  if (one.state != ws::HttpParseState::complete) return;
  const ws::HttpHead& head = whole.head();
  check(head.size == one.consumed);
  check_well_formed(head, kind, limits);
  check(same_head(head, split.head()) && same_head(head, bytewise.head()));

  // The one-shot parser agrees on the same bytes.
  const std::string_view text(reinterpret_cast<const char*>(data), one.consumed);
  const ws::Result<ws::HttpHead> shot = ws::parse_http_head(text, kind, limits);
  check(shot.has_value());
  check(same_head(head, *shot));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run(ws::HttpHeadKind::request, data, size);
  run(ws::HttpHeadKind::response, data, size);
  return 0;
}
