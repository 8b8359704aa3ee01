// ws::memory::ScriptedPeer: one Connection against raw bytes. The test
// scripts the exact bytes the peer sends and reads the exact bytes the
// Connection answered with, through a DuplexPipe (so cuts and failures
// apply). The Connection sits on Side::a, the script on Side::b.
//
//   ws::Connection server = ws::Connection::after_handshake(ws::Role::server);
//   ws::memory::ScriptedPeer peer(server);
//   peer.send(masked_ping_bytes);
//   peer.run();
//   // peer.received() now holds the pong frame, byte for byte.
//
// Thread safety: none; one thread uses the peer and its Connection.
#pragma once

#include <cstddef>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/connection.hpp"
#include "ws/memory/duplex_pipe.hpp"
#include "ws/memory/pump.hpp"

namespace ws::memory {

class ScriptedPeer {
 public:
  /// `connection` must outlive the peer.
  explicit ScriptedPeer(Connection& connection, const DuplexPipe::Faults& faults = {});

  /// Queues `bytes` (copied) to be sent to the Connection by the next run().
  void send(ByteView bytes);
  /// After the queued bytes, the peer ends its stream (the Connection reads
  /// end of stream).
  void end_stream();

  /// Steps until nothing moves or `max_steps` have run. A step passes the
  /// Connection's output to the peer (one write and one read, cut), the
  /// script to the Connection (one write and one read, cut), and the
  /// Connection's events to `on_event`. A failed operation on the
  /// Connection's side gives it receive_eof(), as in pump().
  PumpResult run(const EventHandler& on_event = {}, std::size_t max_steps = 1'000'000);

  /// Every byte the Connection sent so far, in order (not yet taken).
  ByteView received() const noexcept { return received_; }
  /// received(), moved out; later bytes start a new collection.
  std::vector<std::byte> take_received();
  /// True once the Connection's side of the transport is gone (it closed it
  /// after should_close_transport(), or an operation failed) and every byte
  /// it sent was collected.
  bool saw_end_of_stream() const noexcept { return saw_end_of_stream_; }
  /// Script bytes not yet taken by the pipe.
  std::size_t unsent() const noexcept { return script_.size() - script_sent_; }

  DuplexPipe& pipe() noexcept { return pipe_; }

 private:
  bool collect();
  bool play();

  Connection* connection_;
  DuplexPipe pipe_;
  std::vector<std::byte> script_;
  std::size_t script_sent_ = 0;
  bool end_requested_ = false;
  std::vector<std::byte> received_;
  bool saw_end_of_stream_ = false;
};

}  // namespace ws::memory
