// Between one HTTP/2 stream and the ws::Driver of the WebSocket it carries
// (RFC 8441 5: the stream's DATA are the WebSocket's bytes), the same on
// the server and the client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ws/driver/driver.hpp"

struct nghttp2_session;

namespace ws::http2::detail {

/// DATA the Driver has not taken yet, held within the stream's window.
struct StreamInput {
  std::string bytes;
  std::size_t taken = 0;  // the front of `bytes` already given

  bool empty() const noexcept { return taken == bytes.size(); }
  std::size_t size() const noexcept { return bytes.size() - taken; }
};

/// Gives the Driver what it has room for and reopens the stream's and the
/// connection's windows by as much: a WebSocket that reads slowly holds back
/// its own stream only.
void feed_driver(nghttp2_session* session, std::int32_t stream, Driver& driver, StreamInput& input);

/// DATA just received (nghttp2's data chunk callback): given to the Driver
/// at once when nothing older waits and it has room (no copy into the
/// stream's input), the rest kept in `input`. The Driver's events come at
/// the next step, outside nghttp2.
void receive_data(nghttp2_session* session, std::int32_t stream, Driver& driver, StreamInput& input,
                  ByteView data);

/// Drops what nobody will read, reopening the connection's window by it.
void drop_input(nghttp2_session* session, StreamInput& input);

/// The body of an nghttp2 DATA source read callback for a WebSocket: copies
/// the Driver's output; at its end, once the Driver is done, the stream's
/// end (NGHTTP2_DATA_FLAG_EOF); with nothing to send yet, sets `deferred`
/// and returns NGHTTP2_ERR_DEFERRED (resume it when output appears).
long read_driver_output(Driver& driver, std::uint8_t* buffer, std::size_t length,
                        std::uint32_t* flags, bool& deferred);

}  // namespace ws::http2::detail
