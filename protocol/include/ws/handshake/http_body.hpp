// Where the body of an HTTP/1.1 response ends (RFC 9112 6.3), for a client
// whose upgrade the server answered with another status than 101 and that
// wants the body (an error page, a JSON reason) before it closes.
//
// A pure function over bytes the caller already holds: no I/O, no state,
// safe from any thread. ws::Connection uses it for its Rejected event.
#pragma once

#include <cstdint>
#include <optional>

#include "ws/base/bytes.hpp"
#include "ws/handshake/http_head.hpp"

namespace ws {

/// Whether the bytes after the head can still grow.
struct HttpBodyInput {
  bool stream_ended = false;  // the server ended the stream: nothing more will come
  bool buffer_full = false;   // the caller's buffer takes no more: the body is cut here
};

/// How the body found ends.
enum class HttpBodyEnd : std::uint8_t {
  complete,   // where the framing said, or (with no framing) at the end of the stream
  truncated,  // the stream ended or the buffer filled before the framing's end
  malformed,  // the chunked coding broke off; the data is what was decoded before
};

/// A response body found by delimit_response_body().
struct HttpBody {
  /// The body's bytes: a prefix of the bytes given to delimit_response_body,
  /// valid while they are. For a chunked body, the decoded chunk data.
  ByteView data;
  HttpBodyEnd end = HttpBodyEnd::complete;
};

/// Finds the body of the response `head` in `after_head` (the bytes that
/// followed the head, as far as they arrived), by the rules of RFC 9112 6.3:
///   1. Transfer-Encoding whose last coding is "chunked" (case-insensitive,
///      parameters aside): the chunked coding of RFC 9112 7.1 ends the body
///      (the last chunk and the trailer section, whose fields are skipped;
///      chunk extensions are ignored; a bare LF ends a line as CRLF does).
///      Malformed chunked data (a chunk-size that is not hex or exceeds 64
///      bits, data longer than its size) ends the body at once, as
///      HttpBodyEnd::malformed with the data decoded before it.
///   2. Otherwise a valid Content-Length gives the body's length; bytes
///      past it are not part of it.
///   3. Otherwise the body lasts until the stream ends (this includes a
///      Transfer-Encoding whose last coding is not chunked).
/// Every case is bounded: when `input.stream_ended` or `input.buffer_full`
/// and the body is not complete, the body is what arrived
/// (HttpBodyEnd::truncated).
///
/// Returns std::nullopt when the body is not complete and more bytes may
/// come ("not yet"): then `after_head` is untouched, and the caller calls
/// again with the same bytes and what arrived since.
///
/// When it returns a chunked body, it has REWRITTEN `after_head`: the chunk
/// data is moved to its start, over the chunk-size lines (the decoding
/// happens in place, with no allocation), and `data` views that prefix. The
/// bytes after the decoded data are then unspecified. Bodies delimited
/// otherwise are not modified.
///
/// Does not check the status code: a 1xx, 204 or 304 response has no body
/// (RFC 9112 6.3 item 1), and the caller knows whether it asked with HEAD.
std::optional<HttpBody> delimit_response_body(const HttpHead& head, MutableByteView after_head,
                                              HttpBodyInput input);

}  // namespace ws
