#include "ws/handshake/http_body.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace ws {
namespace {

// The last transfer coding applied to a response's body (RFC 9112 6.1),
// without its parameters; nothing without Transfer-Encoding.
std::optional<std::string_view> find_last_coding(const HttpHead& head) {
  std::optional<std::string_view> last;
  for (const std::string_view value : header_values(head, "transfer-encoding")) {
    HttpListReader reader(value);
    while (const std::optional<std::string_view> element = reader.next()) {
      std::string_view coding = element->substr(0, element->find(';'));
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
        coding.remove_suffix(1);
      }
      last = coding;
    }
  }
  return last;
}

// A body in the chunked transfer coding (RFC 9112 7.1), decoded as far as
// it goes. With `out` null it only scans; with `out` it writes the chunk
// data there (out may equal the input: the data only moves forward).
struct ChunkedScan {
  bool complete = false;  // the last chunk and the trailer section were seen
  bool malformed = false;
  std::size_t decoded = 0;  // data bytes of the chunks seen so far
};

ChunkedScan scan_chunked(ByteView in, std::byte* out) {
  ChunkedScan scan;
  std::size_t at = 0;
  const auto char_at = [&in](std::size_t i) { return static_cast<char>(in[i]); };
  // The end of the line starting at `from` (just past its LF), or nothing.
  const auto line_end = [&](std::size_t from) -> std::optional<std::size_t> {
    for (std::size_t i = from; i < in.size(); ++i) {
      if (char_at(i) == '\n') return i + 1;
    }
    return std::nullopt;
  };
  for (;;) {
    const std::optional<std::size_t> size_end = line_end(at);
    if (!size_end) return scan;
    std::uint64_t size = 0;
    std::size_t digits = 0;
    for (std::size_t i = at; i < *size_end; ++i, ++digits) {
      const char ch = char_at(i);
      unsigned value = 0;
      if (ch >= '0' && ch <= '9') {
        value = static_cast<unsigned>(ch - '0');
      } else if (ch >= 'a' && ch <= 'f') {
        value = static_cast<unsigned>(ch - 'a' + 10);
      } else if (ch >= 'A' && ch <= 'F') {
        value = static_cast<unsigned>(ch - 'A' + 10);
      } else {
        break;  // a chunk extension (';'), white space or the line's end
      }
      if (size > (UINT64_MAX >> 4)) {
        scan.malformed = true;
        return scan;
      }
      size = size * 16 + value;
    }
    if (digits == 0) {
      scan.malformed = true;
      return scan;
    }
    at = *size_end;
    if (size == 0) {
      // The trailer section: field lines up to an empty line.
      for (;;) {
        const std::optional<std::size_t> end = line_end(at);
        if (!end) return scan;
        const std::size_t length = *end - at;
        at = *end;
        if (length == 1 || (length == 2 && char_at(at - 2) == '\r')) {
          scan.complete = true;
          return scan;
        }
      }
    }
    // The chunk's data, possibly cut short by the end of what arrived.
    const std::size_t data =
        static_cast<std::size_t>(std::min<std::uint64_t>(size, in.size() - at));
    if (out != nullptr && data > 0) std::memmove(out + scan.decoded, in.data() + at, data);
    scan.decoded += data;
    if (data < size) return scan;
    at += data;
    const std::optional<std::size_t> data_end = line_end(at);
    if (!data_end) return scan;
    if (*data_end - at > 2) {
      scan.malformed = true;  // the data is longer than its size said
      return scan;
    }
    at = *data_end;
  }
}

}  // namespace

std::optional<HttpBody> delimit_response_body(const HttpHead& head, MutableByteView after_head,
                                              HttpBodyInput input) {
  const bool no_more = input.stream_ended || input.buffer_full;
  const std::optional<std::string_view> coding = find_last_coding(head);
  if (coding && ascii_iequals(*coding, "chunked")) {
    // Scan first without writing, so that "not yet" leaves the bytes as
    // they were for the next call; decode in place only once it is final.
    const ChunkedScan scan = scan_chunked(after_head, nullptr);
    if (!scan.complete && !scan.malformed && !no_more) return std::nullopt;
    const std::size_t decoded = scan_chunked(after_head, after_head.data()).decoded;
    const HttpBodyEnd end = scan.complete    ? HttpBodyEnd::complete
                            : scan.malformed ? HttpBodyEnd::malformed
                                             : HttpBodyEnd::truncated;
    return HttpBody{ByteView(after_head.data(), decoded), end};
  }
  if (const std::optional<std::uint64_t> length = content_length(head)) {
    if (after_head.size() >= *length) {
      return HttpBody{ByteView(after_head.data(), static_cast<std::size_t>(*length)),
                      HttpBodyEnd::complete};
    }
    if (!no_more) return std::nullopt;
    return HttpBody{ByteView(after_head), HttpBodyEnd::truncated};
  }
  if (input.stream_ended) return HttpBody{ByteView(after_head), HttpBodyEnd::complete};
  if (input.buffer_full) return HttpBody{ByteView(after_head), HttpBodyEnd::truncated};
  return std::nullopt;
}

}  // namespace ws
