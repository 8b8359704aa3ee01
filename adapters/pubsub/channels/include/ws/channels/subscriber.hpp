// The Subscriber interface moved to the transport layer (ws/driver/subscriber.hpp).
#pragma once

#include "ws/driver/subscriber.hpp"

namespace ws::channels {
using ws::Subscriber;
}  // namespace ws::channels
