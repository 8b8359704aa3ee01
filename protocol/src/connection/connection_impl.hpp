// The state behind ws::Connection: its parts, and the routes between them.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "connection/frame_reader.hpp"
#include "connection/message_assembler.hpp"
#include "connection/sender.hpp"
#include "connection/state_machine.hpp"
#include "connection/timers.hpp"
#include "ws/connection.hpp"
#include "ws/extension/extension.hpp"
#include "ws/frame/frame_header.hpp"
#include "ws/handshake/client_handshake.hpp"
#include "ws/handshake/http_head_parser.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws {

namespace detail {

// The agreed extension of a connection and what the Connection tracks for
// it. Absent (a null pointer) on connections that agreed none.
struct ExtensionState {
  explicit ExtensionState(std::unique_ptr<ExtensionSession> s)
      : session(std::move(s)), bits(session->reserved_bits()) {}
  std::unique_ptr<ExtensionSession> session;
  std::uint8_t bits = rsv_none;
  bool receiving = false;           // the message being received had the bit
  std::uint64_t received_wire = 0;  // its payload bytes as they came on the wire
  bool sending = false;             // the message being sent is encoded
  std::vector<std::byte> encoded;   // output of the encoder, reused
};

// An event produced outside next_event() (the handshake's Opened, a timer's
// or a rejection's Closed), delivered by the next call. Rare, so it is kept
// on the heap: inline it would cost every connection 72 bytes for its whole
// life.
class PendingEvent {
 public:
  explicit operator bool() const noexcept { return box_ != nullptr; }
  PendingEvent& operator=(Event event) {
    box_ = std::make_unique<Event>(std::move(event));
    return *this;
  }
  PendingEvent& operator=(std::optional<Event> event) {
    if (event) {
      box_ = std::make_unique<Event>(std::move(*event));
    } else {
      box_.reset();
    }
    return *this;
  }
  /// The event, and nothing pending afterwards.
  std::optional<Event> take() {
    if (!box_) return std::nullopt;
    std::optional<Event> event(std::move(*box_));
    box_.reset();
    return event;
  }

 private:
  std::unique_ptr<Event> box_;
};

}  // namespace detail

// A Connection is these parts, each owning its state, and the routes
// between them (docs/design.md draws both):
//   lifecycle  - the phase and every close fact (state_machine.hpp/.cpp)
//   reader     - input buffer, frame header, mask position (frame_reader.*)
//   assembler  - the message being received, joined or parked (message_assembler.*)
//   sender     - output queue and the open outgoing message (sender.hpp)
//   timers     - the time it was given (timers.hpp, connection_timers.cpp)
//   handshake  - while the opening handshake runs (connection_handshake.cpp)
//   extension  - the agreed extension, if any (connection_extension.cpp)
// The files named connection_*.cpp are the routes: receive (bytes to
// events), send (calls to bytes), handshake, extension and timers.
struct Connection::Impl {
  /// A connection with its own copy of `config_` (a missing random source
  /// and a too-small input limit are filled in there).
  Impl(Role role_, const Config& config_);
  /// A connection using a Config shared with others, unchanged.
  Impl(Role role_, std::shared_ptr<const Config> config_);

  // The configuration: the connection's own copy, or one shared by many
  // connections (a server's), so an idle connection keeps a pointer, not
  // 150 bytes of limits and callbacks.
  std::shared_ptr<const Config> config_holder;
  const Config& config;
  // Made on first use when the Config has no random source (a shared one).
  std::unique_ptr<RandomSource> own_random;

  // ---- the parts ----
  detail::Lifecycle lifecycle;
  detail::FrameReader reader;
  detail::MessageAssembler assembler;
  detail::Sender sender;
  detail::Timers timers;
  detail::PendingEvent pending_event;  // delivered by the next next_event()
  // The largest payload the short-message route takes: 125 (the one-byte
  // length form), or less when the limits are lower.
  std::size_t short_message_limit = 125;

  Role role() const noexcept { return lifecycle.role; }
  detail::Phase phase() const noexcept { return lifecycle.phase; }
  void feed(detail::LifecycleInput input) noexcept { lifecycle = detail::next(lifecycle, input); }
  void random_fill(MutableByteView out);

  // ---- receive routes (connection_receive.cpp) ----
  // Frames with at least this much payload left, and no less than the input
  // limit, are read into the assembler's buffer (receive_buffer): a read
  // into the input buffer would then hold nothing but this frame's payload
  // too, so no extra reads are made.
  static constexpr std::size_t direct_read_threshold = 4096;
  std::size_t input_limit() const noexcept;
  // receive(): frames with at least this much payload (4 KiB, or the input
  // limit when that is smaller) are copied, and unmasked, from the caller's
  // bytes straight into the assembler's buffer.
  std::size_t large_frame_threshold() const noexcept {
    return input_limit() < 4096 ? input_limit() : 4096;
  }
  bool receiving_encoded() const noexcept;
  std::size_t copy_large_frames(ByteView bytes);
  bool can_copy_into_message() const noexcept;
  std::size_t take_large_frame_header(ByteView bytes) noexcept;
  std::size_t copy_into_message(ByteView bytes);
  bool can_read_into_message() const noexcept;
  MutableByteView offer_message_space();
  void commit_into_message(std::size_t n) noexcept;
  bool park_finished_message();
  std::optional<Event> next_event_unsettled();
  std::optional<Event> next_frame_event();
  std::size_t short_message_size() const noexcept;
  std::optional<Event> take_short_message(std::size_t frame_size);
  std::optional<Event> parse_frames();
  std::error_code check_new_frame(const FrameHeader& header) const noexcept;
  void begin_frame(const FrameHeader& header) noexcept;
  std::optional<Event> read_control_payload();
  std::optional<Event> read_data_payload();
  std::optional<Event> handle_close_frame(ByteView payload);
  std::optional<Event> end_of_input();
  std::optional<Event> fail(std::error_code error);

  // ---- extension (connection_extension.cpp) ----
  std::unique_ptr<detail::ExtensionState> extension;  // null unless one was agreed
  std::optional<Event> read_encoded_payload();
  std::error_code decode_piece(ByteView piece, bool last);
  std::error_code agree_client_extension(std::span<const std::string> response_values);
  std::error_code send_encoded(MessageKind kind, ByteView payload, Fin fin);

  // ---- opening handshake (connection_handshake.cpp) ----
  // Present while the handshake runs; freed when it ends.
  struct Handshake {
    explicit Handshake(HttpHeadKind kind, HttpLimits limits) : parser(kind, limits) {}
    HttpHeadParser parser;
    bool awaiting_decision = false;       // server: UpgradeRequested went out
    bool plain_http = false;              // server: HttpRequested went out
    std::optional<ClientHandshake> sent;  // client: what was asked for
    bool rejected = false;                // client: non-101 head parsed, body pending
    bool over_stream = false;             // an HTTP/2 extended CONNECT (RFC 8441)
    // Client over HTTP/2: the answer the HTTP/2 layer handed over, and the
    // head whose views a Rejected event points into.
    struct StreamResponse {
      int status = 0;
      std::vector<HeaderField> fields;
      std::string body;
    };
    std::unique_ptr<StreamResponse> stream_response;
    HttpHead stream_head;
  };
  std::unique_ptr<Handshake> handshake;
  std::unique_ptr<UpgradeRequest> request;  // server: kept for the application
  // What the handshake agreed, when it agreed anything (most connections
  // agree nothing: a null pointer then, not two empty strings).
  struct Agreed {
    std::string subprotocol;
    std::string extensions;
  };
  std::unique_ptr<Agreed> agreed;
  // Over HTTP/2: the answer accept() or reject() made, until taken.
  std::unique_ptr<StreamAnswer> stream_answer;
  // Client over HTTP/2: the extended CONNECT to send, until taken.
  std::unique_ptr<ExtendedConnectRequest> stream_request;

  std::optional<Event> advance_handshake();
  std::optional<Event> advance_client_stream_handshake();
  std::optional<Event> open_client(AcceptedHandshake accepted);
  bool read_head();  // true once the head is complete
  std::optional<Event> head_not_ready(bool answer_with_http);
  std::optional<Event> advance_server_handshake();
  std::optional<Event> advance_client_handshake();
  std::optional<Event> finish_rejection();
  std::optional<Event> fail_handshake(std::error_code error, bool answer_with_http);
  void open_with(std::optional<std::string> agreed_subprotocol, std::string agreed_extensions);

  // ---- send route (connection_send.cpp) ----
  std::error_code check_can_send(std::size_t payload_size) const noexcept;
  // Bytes a data message of this size takes once framed (auto_fragment_size).
  std::size_t framed_size(std::size_t payload_size) const noexcept;
  std::error_code send_data(MessageKind kind, ByteView payload, Fin fin);
  void queue_data_frames(Opcode opcode, std::uint8_t first_reserved_bits, ByteView payload,
                         bool fin);
  std::error_code send_control(Opcode opcode, ByteView payload);
  void queue_frame(Opcode opcode, bool fin, ByteView payload,
                   detail::OutputQueue::Placement placement, std::uint8_t reserved_bits = rsv_none);
  void queue_close(CloseCode code, std::string_view reason);

  // ---- time (connection_timers.cpp) ----
  // A close counts as sent (or received) at the next advance_time, as input
  // does: the last one may be long past when no timer ran, and a wait dated
  // from it would end before the peer could answer.
  void start_close_wait() noexcept { timers.close_wait_pending = true; }
  std::optional<TimePoint> deadline() const noexcept;
};

/// Server: runs config.extension's choice among the request's offers.
/// Nothing when no extension is configured, none was offered or all were
/// declined.
std::optional<ExtensionAgreement> negotiate_server_extension(const Config& config,
                                                             const UpgradeRequest& request);

/// RFC 6455 7.4.1: the code this side sends when it fails the connection.
CloseCode close_code_for(std::error_code error) noexcept;

}  // namespace ws
