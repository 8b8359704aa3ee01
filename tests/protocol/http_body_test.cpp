// Where the body of an HTTP/1.1 response ends (RFC 9112 6.3), as a client
// whose upgrade was refused reads it: the chunked coding when it is the last
// transfer coding (RFC 9112 7.1), else Content-Length, else the end of the
// stream; bounded by the caller's buffer.
#include "ws/handshake/http_body.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ws/handshake/http_head_parser.hpp"

namespace ws {
namespace {

// A response head with `fields` (each "Name: value\r\n") and the bytes after
// it, owned together so the head's views stay valid.
struct Response {
  std::string head_text;
  HttpHead head;
  std::vector<std::byte> after;

  Response(std::string_view fields, std::string_view after_head)
      : head_text("HTTP/1.1 403 Forbidden\r\n" + std::string(fields) + "\r\n") {
    Result<HttpHead> parsed = parse_http_head(head_text, HttpHeadKind::response);
    EXPECT_TRUE(parsed.has_value()) << parsed.error().message();
    if (parsed) head = std::move(*parsed);
    const ByteView bytes = as_bytes(after_head);
    after.assign(bytes.begin(), bytes.end());
  }
};

std::string text_of(ByteView bytes) { return std::string(as_text(bytes)); }

constexpr std::string_view kChunked = "Transfer-Encoding: chunked\r\n";

struct Row {
  const char* rule;                      // what the row states, with its RFC section
  std::string_view fields;               // header field lines of the response
  std::string_view after;                // the bytes after the head
  HttpBodyInput input;                   // whether more can come
  std::optional<std::string_view> body;  // nothing: "not yet"
  HttpBodyEnd end = HttpBodyEnd::complete;
};

const Row kRows[] = {
    // RFC 9112 7.1: chunk-size in hex, CRLF, the data, CRLF; a last chunk of
    // size 0 and the (empty) trailer section end the body.
    {"7.1 two chunks and the last chunk",
     kChunked,
     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
     {},
     "hello world"},
    {"7.1 hex digits in either case",
     kChunked,
     "a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n",
     {},
     "0123456789abcdefghijk"},
    {"7.1 the bytes after the body are not part of it",
     kChunked,
     "3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n",
     {},
     "abc"},
    // RFC 9112 7.1.1: a recipient ignores chunk extensions it does not know.
    {"7.1.1 chunk extensions are ignored",
     kChunked,
     "4;name=value\r\nnope\r\n3 ; a=\"b;c\"\r\n!!!\r\n0;last\r\n\r\n",
     {},
     "nope!!!"},
    // RFC 9112 7.1.2: trailer fields follow the last chunk; they are skipped.
    {"7.1.2 trailer fields are skipped",
     kChunked,
     "2\r\nok\r\n0\r\nX-Trailer: yes\r\nX-Other: no\r\n\r\n",
     {},
     "ok"},
    {"7.1.2 the body waits for the end of the trailer section",
     kChunked,
     "2\r\nok\r\n0\r\nX-Trailer: yes\r\n",
     {},
     std::nullopt},
    // RFC 9112 2.2: a recipient may take a bare LF as a line terminator.
    {"2.2 bare LF ends every line", kChunked, "5\nhello\n1\n!\n0\n\n", {}, "hello!"},
    {"7.1 the body waits for its last chunk", kChunked, "5\r\nhello\r\n", {}, std::nullopt},
    {"7.1 a chunk cut short waits", kChunked, "5\r\nhel", {}, std::nullopt},
    {"7.1 a chunk-size line cut short waits", kChunked, "5\r\nhello\r\n1", {}, std::nullopt},
    {"7.1 the end of the stream keeps what arrived",
     kChunked,
     "5\r\nhello\r\n3\r\nab",
     {.stream_ended = true},
     "helloab",
     HttpBodyEnd::truncated},
    {"7.1 a full buffer keeps what arrived",
     kChunked,
     "5\r\nhello\r\n3\r\nab",
     {.buffer_full = true},
     "helloab",
     HttpBodyEnd::truncated},
    // Malformed chunked data is reported at once with what was decoded.
    {"7.1 a chunk-size that is not hex",
     kChunked,
     "5\r\nhello\r\nzz\r\nmore\r\n",
     {},
     "hello",
     HttpBodyEnd::malformed},
    {"7.1 a chunk-size over 64 bits",
     kChunked,
     "2\r\nok\r\n10000000000000000\r\nx\r\n",
     {},
     "ok",
     HttpBodyEnd::malformed},
    {"7.1 the largest 64-bit chunk-size is not malformed",
     kChunked,
     "FFFFFFFFFFFFFFFF\r\nabc",
     {},
     std::nullopt},
    {"7.1 data longer than its chunk-size",
     kChunked,
     "3\r\nabcdef\r\n0\r\n\r\n",
     {},
     "abc",
     HttpBodyEnd::malformed},
    // RFC 9112 6.3 item 6: Content-Length gives the body's length.
    {"6.3 Content-Length short of the body waits",
     "Content-Length: 10\r\n",
     "deny",
     {},
     std::nullopt},
    {"6.3 Content-Length exact", "Content-Length: 4\r\n", "deny", {}, "deny"},
    {"6.3 Content-Length shorter than the bytes",
     "Content-Length: 4\r\n",
     "deny and more",
     {},
     "deny"},
    {"6.3 Content-Length 0", "Content-Length: 0\r\n", "", {}, ""},
    {"6.3 Content-Length cut by the end of the stream",
     "Content-Length: 10\r\n",
     "deny",
     {.stream_ended = true},
     "deny",
     HttpBodyEnd::truncated},
    {"6.3 Content-Length cut by a full buffer",
     "Content-Length: 10\r\n",
     "deny",
     {.buffer_full = true},
     "deny",
     HttpBodyEnd::truncated},
    // RFC 9112 6.3 item 8: otherwise the body lasts until the stream ends.
    {"6.3 no framing waits for the end of the stream", "", "partial", {}, std::nullopt},
    {"6.3 no framing ends with the stream", "", "partial", {.stream_ended = true}, "partial"},
    {"6.3 no framing cut by a full buffer",
     "",
     "partial",
     {.buffer_full = true},
     "partial",
     HttpBodyEnd::truncated},
    // RFC 9112 6.3 item 4: chunked not the final coding leaves the stream's
    // end as the only delimiter.
    {"6.3 chunked before another coding is not decoded",
     "Transfer-Encoding: chunked, gzip\r\n",
     "5\r\nhello\r\n0\r\n\r\n",
     {},
     std::nullopt},
    {"6.3 chunked before another coding ends with the stream",
     "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
     "5\r\nhello\r\n0\r\n\r\n",
     {.stream_ended = true},
     "5\r\nhello\r\n0\r\n\r\n"},
    {"6.3 the last coding decides, parameters and case aside",
     "Transfer-Encoding: gzip, CHUNKED ; x=1\r\n",
     "2\r\nok\r\n0\r\n\r\n",
     {},
     "ok"},
};

TEST(HttpBody, RowsOfRfc9112) {
  for (const Row& row : kRows) {
    SCOPED_TRACE(row.rule);
    Response response(row.fields, row.after);
    const std::optional<HttpBody> body =
        delimit_response_body(response.head, MutableByteView(response.after), row.input);
    ASSERT_EQ(body.has_value(), row.body.has_value());
    if (!body) continue;
    EXPECT_EQ(text_of(body->data), *row.body);
    EXPECT_EQ(body->end, row.end);
    // The body lies at the start of the bytes given (decoded in place).
    if (!body->data.empty()) {
      EXPECT_EQ(body->data.data(), response.after.data());
    }
  }
}

// "Not yet" leaves the bytes as they were, so the caller can append more
// and ask again: feed every prefix of a chunked body (RFC 9112 7.1).
TEST(HttpBody, ChunkedAcrossPiecesWaitsUntouchedThenDecodes) {
  const std::string wire = "3\r\nabc\r\n1;e=1\r\nd\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n";
  for (std::size_t size = 0; size < wire.size(); ++size) {
    SCOPED_TRACE(size);
    Response response(kChunked, wire.substr(0, size));
    const std::vector<std::byte> before = response.after;
    EXPECT_FALSE(delimit_response_body(response.head, MutableByteView(response.after), {}));
    EXPECT_EQ(response.after, before);
  }
  Response response(kChunked, wire);
  const std::optional<HttpBody> body =
      delimit_response_body(response.head, MutableByteView(response.after), {});
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(text_of(body->data), "abcd0123456789abcdef");
  EXPECT_EQ(body->end, HttpBodyEnd::complete);
}

// Content-Length and the end of the stream never rewrite the bytes.
TEST(HttpBody, UnchunkedBodiesAreNotRewritten) {
  Response response("Content-Length: 3\r\n", "abcdef");
  const std::vector<std::byte> before = response.after;
  const auto body = delimit_response_body(response.head, MutableByteView(response.after), {});
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(response.after, before);
  EXPECT_EQ(body->data.size(), 3U);
}

}  // namespace
}  // namespace ws
