// Two StreamLayers as one: wss:// through a proxy is TLS (upper) over the
// proxy tunnel (lower). The transport and the Driver see one layer whose
// wire side is the lower's and whose decoded side is the upper's.
#pragma once

#include <memory>

#include "ws/driver/stream_layer.hpp"

namespace ws {

/// Bytes flow wire -> lower -> upper -> Connection and back. Rules:
/// - The upper's handshake waits for the lower's: what the upper wants to
///   send (a ClientHello made at construction) goes to the lower only once
///   the lower's handshake is done; until then pending_wire() is the
///   lower's own bytes alone (the proxy request).
/// - error() and error_detail() are the lower's when it failed (the cause:
///   a refused tunnel), else the upper's. handshake_done() needs both. selected_protocol() is
///   the upper's (ALPN).
/// - End of the wire: given to the lower; once the lower's decoded stream
///   ended (all read), the upper gets receive_wire_eof(). read_ended() is
///   the upper's.
/// - shutdown(): the upper's first; its last bytes (close_notify) go
///   through the lower, then the lower is shut down. pending_wire_size()
///   counts the upper's bytes still waiting for room in the lower, so a
///   transport does not close before they went.
/// - Bounds and in-flight marks are the lower's (its wire output is what
///   the transport writes); the upper keeps its own bound above it.
class StackedLayer final : public StreamLayer {
 public:
  StackedLayer(std::unique_ptr<StreamLayer> lower, std::unique_ptr<StreamLayer> upper);

  MutableByteView wire_buffer() override;
  void commit_wire(std::size_t n) override;
  std::size_t receive_wire(ByteView bytes) override;
  std::size_t wire_room() const noexcept override;
  void receive_wire_eof() override;

  std::size_t read(MutableByteView into) override;
  bool read_ended() const noexcept override;

  std::size_t write(std::span<const OutputBuffer> buffers) override;
  void shutdown() override;
  bool shutdown_started() const noexcept override;

  std::span<const OutputBuffer> pending_wire() override;
  std::size_t pending_wire_size() const noexcept override;
  void consume_wire(std::size_t n) override;
  void mark_wire_in_flight(std::size_t n) override;

  std::error_code error() const noexcept override;
  std::string_view error_detail() const noexcept override;
  bool handshake_done() const noexcept override;
  std::string_view selected_protocol() const noexcept override;
  void release_idle_buffers() noexcept override;

  const StreamLayer& lower() const noexcept { return *lower_; }
  const StreamLayer& upper() const noexcept { return *upper_; }

 private:
  // Decoded bytes of the lower into the upper's wire side; the lower's end
  // of stream once it is all there.
  void pump_up();
  // The upper's wire bytes into the lower, once the lower's handshake is
  // done; then the lower's shutdown once the upper's last bytes went.
  void pump_down();

  std::unique_ptr<StreamLayer> lower_;
  std::unique_ptr<StreamLayer> upper_;
  bool upper_eof_given_ = false;
  bool shutdown_ = false;
};

/// One layer from two; see StackedLayer.
std::unique_ptr<StreamLayer> stack_layers(std::unique_ptr<StreamLayer> lower,
                                          std::unique_ptr<StreamLayer> upper);

}  // namespace ws
