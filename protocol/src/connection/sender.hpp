// The sender's state: the output queue and the outgoing data message that
// is still open (sent with Fin::no). Framing and fragmentation are in
// connection_send.cpp; what may be sent when is the lifecycle's business.
#pragma once

#include <cstddef>

#include "connection/output_queue.hpp"
#include "ws/event.hpp"
#include "ws/frame/frame_header.hpp"

namespace ws::detail {

struct Sender {
  OutputQueue queue;
  MessageKind kind = MessageKind::binary;  // of the last data message sent (the open one)
  bool message_open = false;               // a message was started and not finished

  /// The opcode of the next data frame of a `kind` message.
  Opcode next_opcode(MessageKind next_kind) const noexcept {
    if (message_open) return Opcode::continuation;
    return next_kind == MessageKind::text ? Opcode::text : Opcode::binary;
  }
  /// A data frame (or frames) of a `sent_kind` message went into the queue.
  void sent(MessageKind sent_kind, bool fin) noexcept {
    message_open = !fin;
    kind = sent_kind;
  }
};

}  // namespace ws::detail
