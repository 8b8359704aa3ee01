#include "stream_glue.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

namespace ws::http2::detail {

namespace {
// An emptied stream input keeps at most this much allocated.
constexpr std::size_t kept_input_capacity = 16 * 1024;
}  // namespace

void feed_driver(nghttp2_session* session, std::int32_t stream, Driver& driver,
                 StreamInput& input) {
  while (!input.empty()) {
    const std::size_t room = driver.receive_room();
    if (room == 0) break;
    const std::size_t offered = std::min(room, input.size());
    const std::size_t given = driver.receive(
        ByteView(reinterpret_cast<const std::byte*>(input.bytes.data()) + input.taken, offered));
    if (given == 0) break;
    input.taken += given;
    nghttp2_session_consume(session, stream, given);
  }
  if (input.empty()) {
    input.bytes.clear();
    input.taken = 0;
    // A stream that once held a window's worth keeps none of it idle.
    if (input.bytes.capacity() > kept_input_capacity) input.bytes.shrink_to_fit();
  } else if (input.taken > input.bytes.size() / 2) {
    input.bytes.erase(0, input.taken);
    input.taken = 0;
  }
}

void receive_data(nghttp2_session* session, std::int32_t stream, Driver& driver, StreamInput& input,
                  ByteView data) {
  if (input.empty()) {
    const std::size_t given =
        driver.receive(data.first(std::min(data.size(), driver.receive_room())));
    if (given > 0) nghttp2_session_consume(session, stream, given);
    data = data.subspan(given);
  }
  input.bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
}

void drop_input(nghttp2_session* session, StreamInput& input) {
  // Bytes received and never taken still hold the connection's window.
  if (!input.empty()) nghttp2_session_consume_connection(session, input.size());
  input.bytes.clear();
  input.bytes.shrink_to_fit();
  input.taken = 0;
}

long read_driver_output(Driver& driver, std::uint8_t* buffer, std::size_t length,
                        std::uint32_t* flags, bool& deferred) {
  std::size_t copied = 0;
  if (!driver.finished()) {
    for (const OutputBuffer& piece : driver.pending_output()) {
      const std::size_t n = std::min(piece.size, length - copied);
      std::memcpy(buffer + copied, piece.data, n);
      copied += n;
      if (copied == length) break;
    }
    driver.consume_output(copied);
  }
  if (copied > 0) return static_cast<long>(copied);
  if (driver.finished() || driver.should_close_transport()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  deferred = true;
  return NGHTTP2_ERR_DEFERRED;
}

}  // namespace ws::http2::detail
