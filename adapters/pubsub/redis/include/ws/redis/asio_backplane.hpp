// RedisBackplane on an Asio io_context: the hiredis connections are driven
// by the io_context's reactor (asio::posix::stream_descriptor waits and
// steady_timers), with no thread of its own. Available when ws::asio is
// built (WS_REDIS_HAVE_ASIO).
#pragma once

#include <asio/io_context.hpp>
#include <memory>

#include "ws/redis/backplane.hpp"

namespace ws::redis {

/// Runs on `io` and routes `registry`'s publishes through Redis until
/// destroyed; connecting starts when `io` runs. Every callback runs in a
/// thread running `io`: with several such threads, run the io_context's
/// work for this backplane on one of them (a single-threaded io_context).
/// Destroy the backplane on that thread or while `io` is not running.
std::unique_ptr<RedisBackplane> on_asio(asio::io_context& io, channels::Registry& registry,
                                        RedisBackplaneOptions options);

}  // namespace ws::redis
