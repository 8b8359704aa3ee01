#pragma once

#include <string>
#include <vector>

#include "common/server_options.hpp"
#include "ws/config.hpp"
#if WS_HAVE_DEFLATE
#include "ws/deflate/deflate.hpp"
#endif

namespace ws::examples {

/// ws-echo's options: the servers' common ones and its own.
struct EchoOptions : ServerOptions {
  /// --fragment: echoes go out in frames of at most this many payload
  /// bytes (0: one frame per message). The conformance suite's group 10.
  std::size_t fragment_size = 0;
  /// --deflate: accept permessage-deflate (RFC 7692) when a client offers it.
  bool deflate = false;
  /// --zero-copy (--io uring): zero-copy sends (IORING_OP_SENDMSG_ZC).
  bool zero_copy = false;
  /// --subprotocol NAME (repeatable): accepted when a client offers it, the
  /// first given first.
  std::vector<std::string> subprotocols;
};

/// The Connection configuration of ws-echo: messages up to --max-message
/// (16 MiB by default) and room to echo one back while the next arrives.
inline Config echo_config(const EchoOptions& options) {
  Config config;
  config.limits.max_message_size = options.max_message;
  config.limits.max_frame_size = options.max_message;
  config.limits.max_queued_output = 2 * options.max_message + 1024 * 1024;
  config.auto_fragment_size = options.fragment_size;
#if WS_HAVE_DEFLATE
  if (options.deflate) config.extension = deflate::make_extension();
#endif
  return config;
}

}  // namespace ws::examples
