#include "ws/handshake/http_head_parser.hpp"

#include <algorithm>
#include <cstring>

#include "handshake/http_syntax.hpp"

namespace ws {
namespace {

using detail::is_digit;
using detail::is_field_char;
using detail::is_ows;
using detail::is_token;
using detail::is_vchar;

// RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
bool parse_version(std::string_view text, int& major, int& minor) noexcept {
  if (text.size() != 8 || text.substr(0, 5) != "HTTP/" || !is_digit(text[5]) || text[6] != '.' ||
      !is_digit(text[7])) {
    return false;
  }
  major = text[5] - '0';
  minor = text[7] - '0';
  return true;
}

}  // namespace

HttpHeadParser::HttpHeadParser(HttpHeadKind kind, HttpLimits limits)
    : kind_(kind), limits_(limits) {}

void HttpHeadParser::reset() {
  buffer_.clear();
  line_start_ = 0;
  phase_ = Phase::start_line;
  state_ = HttpParseState::need_more;
  error_.clear();
  method_ = target_ = reason_ = Span{};
  version_major_ = version_minor_ = status_code_ = 0;
  fields_.clear();
  head_ = HttpHead{};
}

HttpFeedResult HttpHeadParser::feed(ByteView bytes) {
  if (state_ != HttpParseState::need_more) return {0, state_, error_};
  const std::string_view input = as_text(bytes);
  std::size_t used = 0;
  while (used < input.size()) {
    // Look for the end of the current line in the new bytes only: what is
    // already buffered was searched by an earlier call.
    const char* piece = input.data() + used;
    const std::size_t available = input.size() - used;
    const void* newline = std::memchr(piece, '\n', available);
    const std::size_t take =
        newline != nullptr ? static_cast<std::size_t>(static_cast<const char*>(newline) - piece) + 1
                           : available;
    if (buffer_.size() + take > limits_.max_head_size) {
      // The head cannot end within the limit: with a line end in `take` it
      // would end past it, without one it has not ended yet. The bytes up
      // to the limit count as consumed, so the count does not depend on
      // how the input was split.
      return fail(errc::head_too_large, used + (limits_.max_head_size - buffer_.size()));
    }
    append(piece, take);
    used += take;
    if (newline == nullptr) break;

    const std::string_view base(buffer_.data(), buffer_.size());
    const std::error_code error = on_line(base, line_start_, buffer_.size() - 1);
    line_start_ = buffer_.size();
    if (error) return fail(error, used);
    if (phase_ == Phase::done) {
      build_head(base, buffer_.size());
      state_ = HttpParseState::complete;
      return {used, state_, {}};
    }
  }
  return {used, state_, {}};
}

HttpFeedResult HttpHeadParser::fail(std::error_code error, std::size_t consumed) {
  state_ = HttpParseState::error;
  error_ = error;
  return {consumed, state_, error_};
}

void HttpHeadParser::append(const char* data, std::size_t size) {
  // Grow geometrically but never past the limit, so the buffer is bounded
  // by max_head_size and appends are amortised O(1) per byte.
  const std::size_t needed = buffer_.size() + size;
  if (needed > buffer_.capacity()) {
    const std::size_t doubled = std::max<std::size_t>(256, buffer_.capacity() * 2);
    buffer_.reserve(std::max(needed, std::min(doubled, limits_.max_head_size)));
  }
  buffer_.insert(buffer_.end(), data, data + size);
}

std::error_code HttpHeadParser::on_line(std::string_view base, std::size_t begin, std::size_t end) {
  if (end > begin && base[end - 1] == '\r') --end;  // CRLF; a bare LF is accepted too
  const std::string_view line = base.substr(begin, end - begin);
  switch (phase_) {
    case Phase::start_line:
      if (kind_ == HttpHeadKind::request) {
        // RFC 9112 2.2: empty lines before a request line are ignored.
        if (line.empty()) return {};
        return on_request_line(line, begin);
      }
      return on_status_line(line, begin);
    case Phase::fields:
      if (line.empty()) {
        phase_ = Phase::done;
        return {};
      }
      return on_field_line(line, begin);
    case Phase::done:
      break;
  }
  return {};
}

// RFC 9112 3: request-line = method SP request-target SP HTTP-version
std::error_code HttpHeadParser::on_request_line(std::string_view line, std::size_t offset) {
  const std::size_t first_space = line.find(' ');
  if (first_space == std::string_view::npos) return errc::malformed_request_line;
  const std::size_t second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return errc::malformed_request_line;
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  if (!is_token(method) || target.empty() || !std::all_of(target.begin(), target.end(), is_vchar) ||
      !parse_version(line.substr(second_space + 1), version_major_, version_minor_)) {
    return errc::malformed_request_line;
  }
  method_ = {offset, method.size()};
  target_ = {offset + first_space + 1, target.size()};
  phase_ = Phase::fields;
  return {};
}

// RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
// The second SP is optional here: many servers drop it with the reason.
std::error_code HttpHeadParser::on_status_line(std::string_view line, std::size_t offset) {
  if (line.size() < 12 || !parse_version(line.substr(0, 8), version_major_, version_minor_) ||
      line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
      line[9] == '0') {
    return errc::malformed_status_line;
  }
  status_code_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (line.size() > 12) {
    const std::string_view reason = line.substr(13);
    if (line[12] != ' ' || !std::all_of(reason.begin(), reason.end(), is_field_char)) {
      return errc::malformed_status_line;
    }
    reason_ = {offset + 13, reason.size()};
  } else {
    reason_ = {offset + 12, 0};
  }
  phase_ = Phase::fields;
  return {};
}

// RFC 9112 5: field-line = field-name ":" OWS field-value OWS
std::error_code HttpHeadParser::on_field_line(std::string_view line, std::size_t offset) {
  // RFC 9112 5.2: obs-fold is rejected, not unfolded. A line that starts
  // with whitespace right after the start line (RFC 9112 2.2) goes the same way.
  if (is_ows(line.front())) return errc::obsolete_line_folding;
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return errc::malformed_header;
  // Whitespace before the colon makes the name a non-token (RFC 9112 5.1).
  const std::string_view name = line.substr(0, colon);
  if (!is_token(name)) return errc::malformed_header;
  std::string_view value = line.substr(colon + 1);
  if (!std::all_of(value.begin(), value.end(), is_field_char)) return errc::malformed_header;
  while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_ows(value.back())) value.remove_suffix(1);
  if (fields_.size() >= limits_.max_header_count) return errc::too_many_headers;
  const auto value_offset = offset + static_cast<std::size_t>(value.data() - line.data());
  fields_.push_back({{offset, name.size()}, {value_offset, value.size()}});
  return {};
}

void HttpHeadParser::build_head(std::string_view base, std::size_t size) {
  const auto view = [base](Span span) { return base.substr(span.offset, span.size); };
  head_.kind = kind_;
  head_.method = view(method_);
  head_.target = view(target_);
  head_.version_major = version_major_;
  head_.version_minor = version_minor_;
  head_.status_code = status_code_;
  head_.reason = view(reason_);
  head_.headers.clear();
  head_.headers.reserve(fields_.size());
  for (const FieldSpan& field : fields_) {
    head_.headers.push_back({view(field.name), view(field.value)});
  }
  head_.size = size;
}

Result<HttpHead> parse_http_head(std::string_view text, HttpHeadKind kind, HttpLimits limits) {
  // The same line rules as feed(), run over `text` in place: no copy.
  HttpHeadParser parser(kind, limits);
  std::size_t line_start = 0;
  while (parser.phase_ != HttpHeadParser::Phase::done) {
    const std::size_t newline = text.find('\n', line_start);
    std::size_t line_end = text.size();
    std::size_t next = text.size();
    if (newline != std::string_view::npos) {
      line_end = newline;
      next = newline + 1;
    } else if (line_start == text.size()) {
      // The text ended after a complete line: take that as the end of the
      // head (the final empty line was left out by whoever read it).
      if (parser.phase_ == HttpHeadParser::Phase::fields) break;
      return kind == HttpHeadKind::request ? errc::malformed_request_line
                                           : errc::malformed_status_line;
    }
    if (next > limits.max_head_size) return errc::head_too_large;
    if (const std::error_code error = parser.on_line(text, line_start, line_end)) return error;
    line_start = next;
  }
  parser.build_head(text, line_start);
  return std::move(parser.head_);
}

int http_status_for(std::error_code error) noexcept {
  if (error.category() != error_category()) return 500;
  switch (static_cast<errc>(error.value())) {
    case errc::head_too_large:
    case errc::too_many_headers:
      return 431;  // RFC 6585 5
    case errc::method_not_get:
      return 405;  // RFC 9110 15.5.6 (the response carries Allow: GET)
    case errc::unsupported_websocket_version:
      return 426;  // RFC 6455 4.4 (with Sec-WebSocket-Version: 13)
    case errc::rejected_by_application:
      return 403;
    case errc::invalid_handshake_option:
      return 500;  // the application's own mistake, not the client's
    default:
      return 400;
  }
}

}  // namespace ws
