#pragma once

#include "common/server_options.hpp"
#include "ws/config.hpp"

namespace ws::examples {

/// The Connection configuration of ws-echo: messages up to --max-message
/// (16 MiB by default) and room to echo one back while the next arrives.
inline Config echo_config(const ServerOptions& options) {
  Config config;
  config.limits.max_message_size = options.max_message;
  config.limits.max_frame_size = options.max_message;
  config.limits.max_queued_output = 2 * options.max_message + 1024 * 1024;
  return config;
}

}  // namespace ws::examples
