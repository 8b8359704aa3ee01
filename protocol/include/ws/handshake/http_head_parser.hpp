// Incremental, bounded HTTP/1.1 head parser (RFC 9112 2-5) for the opening
// handshake, in both directions: the server parses the upgrade request, the
// client the response.
//
// Policy, for the record:
// - The head is the start line, the field lines and the empty line that ends
//   them. The parser copies it into its own buffer, never more than
//   HttpLimits::max_head_size bytes, and stops consuming at its last byte:
//   what follows (the first WebSocket frame, or a response body) stays with
//   the caller.
// - Line ends: CRLF, or a bare LF (RFC 9112 2.2 allows a recipient to accept
//   it; it removes no check, since a CR anywhere else is still rejected).
// - Requests may be preceded by empty lines, which are skipped (RFC 9112 2.2).
// - A field line that starts with whitespace (obsolete line folding, RFC 9112
//   5.2) is rejected with errc::obsolete_line_folding, never unfolded.
// - Whitespace between a field name and its colon is rejected (RFC 9112 5.1).
// - Field values may hold visible ASCII, space, tab and bytes >= 0x80; any
//   other control byte is rejected.
// - Any HTTP/d.d version is accepted here; the handshake validation decides
//   which versions it takes.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/base/result.hpp"
#include "ws/handshake/http_head.hpp"

namespace ws {

/// Bounds on an incoming head. Past them parsing fails with
/// errc::head_too_large or errc::too_many_headers (HTTP 431).
struct HttpLimits {
  std::size_t max_head_size = 8192;    // bytes, the final empty line included
  std::size_t max_header_count = 100;  // field lines
};

enum class HttpParseState { need_more, complete, error };

/// What one HttpHeadParser::feed() call did.
struct HttpFeedResult {
  /// Bytes of the input that belong to the head. On an error: the bytes up
  /// to and including the faulty line, or up to the size limit; the same
  /// total whichever way the input was split.
  std::size_t consumed = 0;
  HttpParseState state = HttpParseState::need_more;
  std::error_code error;  // set when state == error
};

/// Parses a head the application has already read in full, without copying:
/// the views in the result point into `text`, which must outlive them.
/// Parsing stops at the empty line that ends the head; result.size says
/// where that was, and any bytes after it are ignored. Leniency for heads
/// handed over by other HTTP servers: the end of `text` also ends the head,
/// so the final empty line, and the line break of the last line, may be
/// missing. Errors: those of HttpHeadParser::feed().
Result<HttpHead> parse_http_head(std::string_view text, HttpHeadKind kind = HttpHeadKind::request,
                                 HttpLimits limits = {});

/// Refused at compile time: the views would point into a temporary string.
template <class Text>
requires std::same_as<Text, std::string> Result<HttpHead> parse_http_head(
    Text&& text, HttpHeadKind kind = HttpHeadKind::request, HttpLimits limits = {})
= delete;

/// Parses one head from bytes that arrive in pieces.
///
/// Every input byte is examined once: feeding a head one byte at a time
/// costs O(size of the head) in total. Errors are sticky: after an error,
/// and after completion, feed() consumes nothing until reset().
/// Not thread-safe; movable (views into the head stay valid across a move),
/// not copyable.
class HttpHeadParser {
 public:
  explicit HttpHeadParser(HttpHeadKind kind, HttpLimits limits = {});

  HttpHeadParser(HttpHeadParser&&) noexcept = default;
  HttpHeadParser& operator=(HttpHeadParser&&) noexcept = default;
  HttpHeadParser(const HttpHeadParser&) = delete;
  HttpHeadParser& operator=(const HttpHeadParser&) = delete;

  /// Consumes bytes up to and including the end of the head, or all of
  /// `bytes` if the head has not ended yet. Bytes past `consumed` are not
  /// part of the head and were not read. `bytes` need not outlive the call.
  /// Errors: head_too_large, too_many_headers, malformed_request_line,
  /// malformed_status_line, malformed_header, obsolete_line_folding.
  HttpFeedResult feed(ByteView bytes);
  HttpFeedResult feed(std::string_view text) { return feed(as_bytes(text)); }

  HttpParseState state() const noexcept { return state_; }
  std::error_code error() const noexcept { return error_; }

  /// The parsed head. Precondition: state() == complete. The views in it
  /// point into this parser and stay valid until reset() or destruction.
  const HttpHead& head() const noexcept { return head_; }

  /// Bytes held so far (the head consumed up to now).
  std::size_t buffered_size() const noexcept { return buffer_.size(); }

  /// Forgets everything, to parse another head with the same kind and limits.
  void reset();

 private:
  friend Result<HttpHead> parse_http_head(std::string_view, HttpHeadKind, HttpLimits);

  // A piece of the buffer by offsets, because the buffer may move while
  // the head is incomplete.
  struct Span {
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  struct FieldSpan {
    Span name;
    Span value;
  };
  enum class Phase { start_line, fields, done };

  // Handles the complete line base[begin, end) (without its LF).
  std::error_code on_line(std::string_view base, std::size_t begin, std::size_t end);
  std::error_code on_request_line(std::string_view line, std::size_t offset);
  std::error_code on_status_line(std::string_view line, std::size_t offset);
  std::error_code on_field_line(std::string_view line, std::size_t offset);
  void build_head(std::string_view base, std::size_t size);
  HttpFeedResult fail(std::error_code error, std::size_t consumed);
  void append(const char* data, std::size_t size);

  HttpHeadKind kind_;
  HttpLimits limits_;
  std::vector<char> buffer_;
  std::size_t line_start_ = 0;  // offset of the line being received
  Phase phase_ = Phase::start_line;
  HttpParseState state_ = HttpParseState::need_more;
  std::error_code error_;
  Span method_, target_, reason_;
  int version_major_ = 0;
  int version_minor_ = 0;
  int status_code_ = 0;
  std::vector<FieldSpan> fields_;
  HttpHead head_;
};

/// The HTTP status that answers a failed upgrade request:
/// 431 for head_too_large and too_many_headers; 405 for method_not_get;
/// 426 for unsupported_websocket_version; 403 for rejected_by_application;
/// 500 for invalid_handshake_option (the application's mistake);
/// 400 for every other ws error (malformed head, obsolete folding, HTTP
/// version below 1.1, missing Host, Upgrade, Connection or key, invalid or
/// duplicate key, invalid URL, and the malformed HTTP/2 extended CONNECTs:
/// method_not_connect, missing_protocol_websocket, invalid_pseudo_header);
/// 500 for an error of another category.
int http_status_for(std::error_code error) noexcept;

}  // namespace ws
