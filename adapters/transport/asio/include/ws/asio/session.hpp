// The thread-safe face of one live Asio connection: the same ws::Session as
// on every other transport (ws/driver/session.hpp). No Asio here.
//
// Obtained from Stream::session() once async_accept or async_handshake was
// called (or handed to Server handlers). Every member may be called from any
// thread; sends return a std::error_code (empty once queued). Called from
// one of the stream's own completion handlers run by its driver (an
// async_read's or the handshake's), a send goes straight into the Connection
// after what other threads queued, and Limits::max_queued_output bounds it;
// from anywhere else it is framed once into the session's bounded outbox
// (StreamOptions::backpressure) and the stream's executor is woken.
#pragma once

#include "ws/driver/session.hpp"

namespace ws::asio {

using Session = ws::Session;
using SessionPtr = ws::SessionPtr;

}  // namespace ws::asio
