// The bounded per-connection queue moved to the transport layer
// (ws/driver/outbox.hpp); these names remain for code written against them.
#pragma once

#include "ws/driver/outbox.hpp"

namespace ws::channels {
using ws::BackpressureLimits;
using ws::SlowSubscriberPolicy;
using SubscriberQueue = ws::Outbox;
}  // namespace ws::channels
