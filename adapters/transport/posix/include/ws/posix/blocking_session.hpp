// The blocking adapter's session is the transport layer's Session
// (ws/driver/session.hpp): the same contract on every transport. On the
// owning thread, inside a handler call, a send goes straight into the
// ws::Connection; from any other thread it is queued and the owning thread
// is woken through an eventfd. These names remain for code written against
// the blocking adapter.
#pragma once

#include "ws/driver/session.hpp"

namespace ws::posix {

using BlockingSession = ws::Session;

}  // namespace ws::posix
