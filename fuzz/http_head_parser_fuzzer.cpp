// The HTTP head parser on arbitrary bytes, for requests and responses: fed
// in two pieces it reaches the same state as fed whole, never consumes past
// the end of a complete head, and never holds more than its limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ws/handshake/http_head_parser.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
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

  ws::HttpHeadParser split(kind, limits);
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  ws::HttpFeedResult first = split.feed(input.first(cut));
  std::size_t consumed = first.consumed;
  if (first.state == ws::HttpParseState::need_more) {
    const ws::HttpFeedResult second = split.feed(input.subspan(cut));
    consumed += second.consumed;
    first = second;
  }
  check(first.state == one.state);
  check(first.error == one.error);
  if (one.state == ws::HttpParseState::complete) {
    check(consumed == one.consumed);
    check(whole.head().headers.size() == split.head().headers.size());
    check(whole.head().size == one.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run(ws::HttpHeadKind::request, data, size);
  run(ws::HttpHeadKind::response, data, size);
  return 0;
}
